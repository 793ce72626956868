//! Which protocol matches `nft list` leaves out: the rules of nft's delinearizer
//! (`payload_dependency_store`/`_kill`, `ct_meta_common_postprocess`,
//! `stmt_reject_postprocess`), applied to the IR's statement list — inserted guards and
//! user-written matches alike.
//!
//! A protocol-key match (`meta l4proto 6`, `ip protocol tcp`, `meta nfproto ipv4`, `ether
//! type 8021q`, `icmp type 3`) is remembered as a possible dependency of the next layer; a
//! later match on that layer (`tcp dport 22`) makes it redundant and it is hidden. Any
//! statement other than a match resets what is remembered (`ip protocol tcp meta mark set 1
//! tcp dport 22` keeps its `ip protocol tcp`). The result is [`Stmt::implicit`]: set exactly
//! on the hidden matches.

use crate::ir::{Expr, ExprKind, Family, Match, MatchOp, RejectKind, Rule, Stmt, StmtKind};
use crate::proto::deps::ProtoCtx;
use crate::proto::{IcmpDep, Proto, ProtoKey};
use nftvm_vm::keys::{CtKey, MetaKey, PayloadBase};

/// nft's `proto_bases`: 0 invalid, 1 link, 2 network, 3 transport, 4 inner.
fn base_index(b: PayloadBase) -> usize {
    match b {
        PayloadBase::Link => 1,
        PayloadBase::Network => 2,
        PayloadBase::Transport => 3,
        PayloadBase::Inner | PayloadBase::Tunnel => 4,
    }
}

/// Whether a payload field is its protocol's key (nft's `EXPR_F_PROTOCOL`).
pub fn is_protocol_key(proto: Proto, field: &str) -> bool {
    match (proto, field) {
        (Proto::Ip, "protocol") | (Proto::Ip6, "nexthdr") => true,
        _ => matches!(proto.desc().protocol_key, Some(ProtoKey::Field(f)) if f == field),
    }
}

/// The protocol a protocol-key value selects above `proto`.
fn upper_of(proto: Proto, value: u32) -> Option<Proto> {
    match proto {
        Proto::Ip | Proto::Ip6 => crate::proto::IP_UPPER.iter().find(|&&(n, _)| n == value).map(|&(_, p)| p),
        _ => proto.desc().upper(value),
    }
}

struct Deps {
    /// Remembered dependency statement per base index (`pdeps`).
    pdeps: [Option<usize>; 5],
    /// The ICMP type the listing has seen (`icmp_type`).
    icmp_type: Option<u8>,
}

impl Deps {
    fn reset(&mut self) {
        self.pdeps = [None; 5];
        self.icmp_type = None;
    }

    fn get(&self, base: usize) -> Option<usize> {
        if let Some(i) = self.pdeps.get(base).copied().flatten() {
            return Some(i);
        }
        if base == 3 { self.pdeps[4] } else { None }
    }

    fn release(&mut self, base: usize, killed: &mut [bool]) {
        if let Some(i) = self.pdeps.get(base).copied().flatten() {
            killed[i] = true;
            self.pdeps[base] = None;
        } else if base == 3
            && let Some(i) = self.pdeps[4]
        {
            killed[i] = true;
            self.pdeps[4] = None;
        }
    }
}

/// Set [`Stmt::implicit`] on the matches the listing omits.
pub fn mark(family: Family, rule: &mut Rule) {
    let mut killed = vec![false; rule.stmts.len()];
    let mut deps = Deps { pdeps: [None; 5], icmp_type: None };
    let mut pctx = ProtoCtx::new(family);
    for i in 0..rule.stmts.len() {
        let stmt = &rule.stmts[i];
        match &stmt.kind {
            StmtKind::Match(m) => match_pp(family, &rule.stmts, i, m, &mut deps, &mut pctx, &mut killed),
            StmtKind::VerdictMap(e) => kill_in(family, &rule.stmts, e, &mut deps, &mut killed),
            StmtKind::Reject(r) => {
                reject_pp(family, r.kind, &mut deps, &pctx, &mut killed);
                deps.reset();
            }
            StmtKind::Tproxy(t) => {
                if let Some(a) = &t.addr {
                    kill_in(family, &rule.stmts, a, &mut deps, &mut killed);
                }
                deps.reset();
                if let Some(p) = &t.port {
                    kill_in(family, &rule.stmts, p, &mut deps, &mut killed);
                }
                deps.reset();
            }
            _ => {
                let mut exprs: Vec<&Expr> = Vec::new();
                match &stmt.kind {
                    StmtKind::Write(w) => {
                        exprs.push(&w.target);
                        exprs.push(&w.value);
                    }
                    StmtKind::Nat(n) => exprs.extend(n.addr.iter().chain(n.port.iter())),
                    StmtKind::DynSet(d) => {
                        exprs.push(&d.key);
                        exprs.extend(d.data.iter());
                    }
                    StmtKind::Meter(m) => exprs.push(&m.key),
                    StmtKind::ObjRef(o) => exprs.push(&o.name),
                    StmtKind::Queue(q) => exprs.extend(q.num.iter()),
                    StmtKind::Dup { addr, dev } => exprs.extend(addr.iter().chain(dev.iter())),
                    StmtKind::Fwd { addr, dev, .. } => {
                        exprs.push(dev);
                        exprs.extend(addr.iter());
                    }
                    _ => {}
                }
                for e in exprs {
                    kill_in(family, &rule.stmts, e, &mut deps, &mut killed);
                }
                deps.reset();
            }
        }
    }
    inner_guards(&rule.stmts, &mut killed);
    for (s, k) in rule.stmts.iter_mut().zip(killed) {
        s.implicit = matches!(s.kind, StmtKind::Match(_)) && k;
    }
}

/// The guards of a tunnel's inner packet (`gre meta protocol ip`, `gretap ether type ip`)
/// are left out when a later match, before any other statement, reads inside the same
/// tunnel — the field they guard.
fn inner_guards(stmts: &[Stmt], killed: &mut [bool]) {
    for (i, s) in stmts.iter().enumerate() {
        let Some(m) = s.as_match() else { continue };
        let tunnel = match &m.left.kind {
            ExprKind::InnerMeta { tunnel, .. } => *tunnel,
            ExprKind::Payload(p) if p.proto.is_some_and(|pr| is_protocol_key(pr, p.field.name)) => {
                match p.inner {
                    Some(t) if m.op == MatchOp::Eq => t,
                    _ => continue,
                }
            }
            _ => continue,
        };
        let reads_inside = |e: &Expr| {
            let mut found = false;
            e.walk(&mut |x| {
                found |= matches!(&x.kind, ExprKind::Payload(p) if p.inner == Some(tunnel));
            });
            found
        };
        for later in stmts.iter().skip(i + 1) {
            let Some(lm) = later.as_match() else { break };
            if reads_inside(&lm.left) {
                if let Some(k) = killed.get_mut(i) {
                    *k = true;
                }
                break;
            }
        }
    }
}

/// `payload_dependency_kill` for every payload/exthdr load inside `e`.
fn kill_in(family: Family, stmts: &[Stmt], e: &Expr, deps: &mut Deps, killed: &mut [bool]) {
    e.walk(&mut |x| match &x.kind {
        ExprKind::Payload(_) => payload_kill(family, stmts, x, deps, killed),
        ExprKind::Exthdr(h) => exthdr_kill(h.op, deps, killed),
        _ => {}
    });
}

fn exthdr_kill(op: crate::proto::exthdr::ExthdrOp, deps: &mut Deps, killed: &mut [bool]) {
    use crate::proto::exthdr::ExthdrOp;
    match op {
        ExthdrOp::TcpOpt if deps.get(3).is_some() => deps.release(3, killed),
        ExthdrOp::Ipv6 | ExthdrOp::Ipv4 if deps.get(2).is_some() => deps.release(2, killed),
        _ => {}
    }
}

/// The remembered dependency statement's match.
fn dep_match(stmts: &[Stmt], i: usize) -> Option<&Match> {
    stmts.get(i).and_then(Stmt::as_match)
}

fn payload_kill(family: Family, stmts: &[Stmt], expr: &Expr, deps: &mut Deps, killed: &mut [bool]) {
    let ExprKind::Payload(p) = &expr.kind else { return };
    let Some(proto) = p.proto else { return };
    // A field inside a tunnel depends on the tunnel (`meta l4proto gre` before `gre ip
    // saddr`), at the tunnel's own layer.
    let (proto, base) = match p.inner {
        Some(tunnel) => (tunnel.carrier(), base_index(tunnel.base())),
        None => (proto, base_index(p.base)),
    };
    let Some(di) = deps.get(base) else { return };
    let Some(dep) = dep_match(stmts, di) else { return };
    if may_kill(family, deps, dep, proto, &p.field, base) {
        deps.release(base, killed);
    }
}

/// `payload_may_dependency_kill`.
fn may_kill(
    family: Family,
    deps: &Deps,
    dep: &Match,
    proto: Proto,
    field: &crate::proto::Field,
    base: usize,
) -> bool {
    let dep_payload = dep.left.as_payload().and_then(|dp| dp.proto.map(|pr| (pr, dp)));
    if matches!(family, Family::Bridge | Family::Netdev | Family::Inet) {
        if let Some((dproto, dp)) = dep_payload
            && base_index(dp.base) == 2
            && matches!(dproto, Proto::Ip | Proto::Ip6)
            && base == 3
        {
            return false;
        }
        if let Some((dproto, dp)) = dep_payload
            && dep.op == MatchOp::Eq
            && base == base_index(dp.base)
        {
            if is_protocol_key(proto, field.name) {
                return false;
            }
            if base == 1 {
                if dproto == Proto::Vlan {
                    return false;
                }
                if dproto == Proto::Ether
                    && let Some(v) = dep.right.as_value()
                    && v.bits() == 16
                {
                    return v.to_u64() == Some(0x8100);
                }
                return true;
            }
        }
    }
    if base != 3 {
        return true;
    }
    if proto == Proto::Th {
        return false;
    }
    let Some((dproto, dp)) = dep_payload else { return true };
    if base_index(dp.base) != 3 {
        return true;
    }
    if matches!(dproto, Proto::Icmp | Proto::Icmpv6) {
        let Some(icmp_dep) = field.icmp_dep else { return false };
        if dproto != proto {
            return false;
        }
        if matches!(icmp_dep, IcmpDep::Echo | IcmpDep::V6Echo | IcmpDep::V6Address) {
            return false;
        }
        let want = match icmp_dep {
            IcmpDep::V6Address => 135,
            d => d.types().first().copied().unwrap_or(0),
        };
        return deps.icmp_type == Some(want);
    }
    true
}

/// `payload_dependency_store`, with its ICMP special case.
fn store(deps: &mut Deps, i: usize, m: &Match, base: usize) {
    if let Some(p) = m.left.as_payload()
        && let (Some(proto), Some(v)) = (p.proto, m.right.as_value())
        && v.bits() == 8
    {
        let t = v.to_u64().unwrap_or(0) as u8;
        if proto == Proto::Icmp {
            let t = if t == 0 { 8 } else { t };
            deps.icmp_type = Some(t);
            if t == 8 {
                return;
            }
        } else if proto == Proto::Icmpv6 {
            deps.icmp_type = Some(t);
            if t == 128 || t == 129 {
                return;
            }
        }
    }
    if let Some(slot) = deps.pdeps.get_mut(base + 1) {
        *slot = Some(i);
    }
}

fn match_pp(
    family: Family,
    stmts: &[Stmt],
    i: usize,
    m: &Match,
    deps: &mut Deps,
    pctx: &mut ProtoCtx,
    killed: &mut [bool],
) {
    match &m.left.kind {
        ExprKind::Payload(p) if p.inner.is_some() => payload_kill(family, stmts, &m.left, deps, killed),
        ExprKind::Payload(p) if p.proto.is_some() => {
            let proto = p.proto.unwrap_or(Proto::Th);
            let base = base_index(p.base);
            payload_kill(family, stmts, &m.left, deps, killed);
            let value = m.right.as_value().and_then(|v| v.to_u64());
            if matches!(m.op, MatchOp::Eq)
                && let Some(v) = value
                && is_protocol_key(proto, p.field.name)
            {
                let stacked = upper_of(proto, v as u32).is_some_and(|u| u.base() == proto.base());
                let b = if stacked { base - 1 } else { base };
                store(deps, i, m, b);
                learn_payload(pctx, proto, v as u32);
            }
        }
        ExprKind::Meta(k) => {
            let base = match k {
                MetaKey::Nfproto | MetaKey::Protocol => 1,
                MetaKey::L4proto => 2,
                _ => 0,
            };
            let protocol =
                matches!(k, MetaKey::Nfproto | MetaKey::Protocol | MetaKey::L4proto | MetaKey::IifType);
            ct_meta_pp(family, stmts, i, m, base, protocol, deps, pctx, killed);
        }
        ExprKind::Ct(c) => {
            let (base, protocol) = match c.key {
                CtKey::Src | CtKey::Dst | CtKey::SrcIp | CtKey::DstIp | CtKey::SrcIp6 | CtKey::DstIp6 => {
                    (2, false)
                }
                CtKey::ProtoSrc | CtKey::ProtoDst => (3, false),
                CtKey::Protocol => (2, true),
                CtKey::L3Protocol => (1, true),
                _ => (0, false),
            };
            ct_meta_pp(family, stmts, i, m, base, protocol, deps, pctx, killed);
        }
        _ => {
            kill_in(family, stmts, &m.left, deps, killed);
        }
    }
}

fn learn_payload(pctx: &mut ProtoCtx, proto: Proto, v: u32) {
    match proto {
        Proto::Ip | Proto::Ip6 => pctx.learn_meta(MetaKey::L4proto, v),
        _ => pctx.learn(proto, v),
    }
}

#[allow(clippy::too_many_arguments)]
fn ct_meta_pp(
    family: Family,
    stmts: &[Stmt],
    i: usize,
    m: &Match,
    base: usize,
    protocol: bool,
    deps: &mut Deps,
    pctx: &mut ProtoCtx,
    killed: &mut [bool],
) {
    if m.op != MatchOp::Eq {
        return;
    }
    if matches!(m.right.kind, ExprKind::Range { .. } | ExprKind::Set(_) | ExprKind::SetRef(_)) {
        return;
    }
    if let (ExprKind::Meta(k), Some(v)) = (&m.left.kind, m.right.as_value().and_then(|v| v.to_u64())) {
        pctx.learn_meta(*k, v as u32);
    }
    if base < 3 {
        if deps.pdeps[base].is_some() && ct_meta_may_kill(family, stmts, deps, m) {
            deps.release(base, killed);
        }
        if protocol {
            store(deps, i, m, base);
        }
    }
}

/// The nfproto a network dependency pins (`meta nfproto`, `meta protocol`, `ether type`).
fn dep_nfproto(dep: &Match) -> Option<Option<u8>> {
    let v = dep.right.as_value()?.to_u64()?;
    let from_ether = |v: u64| match v {
        0x0800 => Some(2u8),
        0x86dd => Some(10u8),
        _ => None,
    };
    match &dep.left.kind {
        ExprKind::Meta(MetaKey::Nfproto) => Some(Some(v as u8)),
        ExprKind::Meta(MetaKey::Protocol) => Some(from_ether(v)),
        ExprKind::Payload(p)
            if p.base == PayloadBase::Link && dep.left.ty == crate::types::Type::EtherType =>
        {
            Some(from_ether(v))
        }
        _ => None,
    }
}

/// `ct_meta_may_dependency_kill`.
fn ct_meta_may_kill(family: Family, stmts: &[Stmt], deps: &Deps, m: &Match) -> bool {
    let Some(di) = deps.pdeps[2] else { return true };
    let Some(dep) = dep_match(stmts, di) else { return true };
    let Some(nfproto) = dep_nfproto(dep) else { return true };
    match family {
        Family::Inet | Family::Netdev | Family::Bridge => {}
        Family::Ip => return nfproto == Some(2),
        Family::Ip6 => return nfproto == Some(10),
        _ => return true,
    }
    match &m.left.kind {
        ExprKind::Meta(k) => {
            if *k != MetaKey::L4proto {
                return true;
            }
            let Some(v) = m.right.as_value().filter(|v| v.bits() == 8).and_then(|v| v.to_u64()) else {
                return false;
            };
            match v {
                1 => nfproto == Some(2),
                58 => nfproto == Some(10),
                _ => false,
            }
        }
        ExprKind::Ct(c) => match c.key {
            CtKey::Src | CtKey::Dst => match m.left.bits {
                32 => nfproto == Some(2),
                128 => nfproto == Some(10),
                _ => false,
            },
            CtKey::SrcIp | CtKey::DstIp => nfproto == Some(2),
            CtKey::SrcIp6 | CtKey::DstIp6 => nfproto == Some(10),
            _ => false,
        },
        _ => true,
    }
}

/// `stmt_reject_postprocess`: the dependencies a reject statement makes redundant.
fn reject_pp(family: Family, kind: RejectKind, deps: &mut Deps, _pctx: &ProtoCtx, killed: &mut [bool]) {
    match family {
        Family::Ip | Family::Ip6 if kind == RejectKind::TcpReset && deps.get(3).is_some() => {
            deps.release(3, killed);
        }
        Family::Inet | Family::Bridge | Family::Netdev => {
            if kind == RejectKind::Icmpx {
                return;
            }
            if deps.pdeps[2].is_some() {
                deps.release(2, killed);
            }
        }
        _ => {}
    }
}
