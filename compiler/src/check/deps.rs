//! Protocol dependencies: before a statement that reads a header, insert the matches that
//! make sure the header is there (`meta l4proto 6` before `tcp dport` in `inet`, `meta
//! nfproto ipv4` before `ip saddr`, `icmp type { echo-request, echo-reply }` before `icmp
//! id`), exactly where and as nft's evaluator does; and give link-layer fields of stacked
//! headers their real offsets. The guards come from [`crate::proto::deps::ProtoCtx`]; the
//! context also learns from the rule's own protocol matches, so a dependency the user wrote
//! is not inserted twice and running this again inserts nothing.

use crate::ir::{Expr, ExprKind, Family, Match, MatchOp, Rule, SetElem, SetLit, Stmt, StmtKind};
use crate::proto::deps::{Guard, GuardKey, ProtoCtx};
use crate::proto::{IcmpDep, Proto};
use crate::types::{ByteOrder, Type};
use nftvm_grammar::{Diagnostic, Span};
use nftvm_vm::keys::{MetaKey, PayloadBase};

/// A match statement for a guard (implicit until [`super::hide`] decides).
pub fn guard_stmt(g: &Guard, span: Span) -> Stmt {
    let left = match g.key {
        GuardKey::Meta(k) => {
            let m = crate::proto::meta::info(k);
            Expr::new(ExprKind::Meta(k), m.ty, m.bits, m.order)
        }
        GuardKey::Payload { proto, field } => crate::ir::build::payload_field(proto, *field),
    }
    .at(span);
    let right = match g.values.as_slice() {
        [one] => left.constant(one.clone()),
        many => {
            let elems = many.iter().map(|v| SetElem::new(left.constant(v.clone()).at(span))).collect();
            Expr::new(
                ExprKind::Set(Box::new(SetLit { elems, interval: false })),
                left.ty,
                left.bits,
                left.order,
            )
        }
    }
    .at(span);
    let mut s = Stmt::matches(left, MatchOp::Eq, right).at(span);
    s.implicit = true;
    s
}

/// A guard read inside `tunnel`: meta keys as inner meta loads, header fields as fields of
/// the inner packet.
fn inner_guard_stmt(g: &Guard, tunnel: Proto, span: Span) -> Stmt {
    let mut s = guard_stmt(g, span);
    if let StmtKind::Match(m) = &mut s.kind {
        match &mut m.left.kind {
            ExprKind::Meta(key) => m.left.kind = ExprKind::InnerMeta { tunnel, key: *key },
            ExprKind::Payload(p) => p.inner = Some(tunnel),
            _ => {}
        }
    }
    s
}

/// What the walk tracks besides the protocol context.
struct State {
    ctx: ProtoCtx,
    /// The ICMP/ICMPv6 type the rule has pinned (nft's `th_dep.icmp.type`).
    icmp_type: Option<u8>,
    /// Several transport protocols are possible (`meta l4proto { tcp, udp }`): raw
    /// transport payloads read as `th` fields.
    th_any: bool,
    /// A set of protocols was matched (`ip protocol { tcp, udp }`): the base it decides and
    /// its first protocol; a later specific protocol at that base conflicts (as in nft).
    ambiguous: Option<(PayloadBase, Proto)>,
    /// Protocol-key payload fields the rule compared with one value (`ether type ip`).
    keys: Vec<(Proto, &'static str, u64)>,
    /// What the rule knows of the packet inside each tunnel it reads.
    inner: Vec<(Proto, ProtoCtx)>,
}

impl State {
    /// The context of the packet inside `tunnel`: as a bridge sees a frame when the tunnel
    /// carries Ethernet (`gretap`, `vxlan`, `geneve`), as a netdev hook sees a packet of
    /// unknown link layer otherwise (`gre`) — nft's dependencies inside tunnels are theirs.
    fn inner_ctx(&mut self, tunnel: Proto) -> &mut ProtoCtx {
        let at = match self.inner.iter().position(|(t, _)| *t == tunnel) {
            Some(i) => i,
            None => {
                let ll = tunnel.desc().inner.is_some_and(|i| i.flags & crate::proto::tunnel::INNER_LL != 0);
                let family = if ll { Family::Bridge } else { Family::Netdev };
                self.inner.push((tunnel, ProtoCtx::new(family)));
                self.inner.len() - 1
            }
        };
        &mut self.inner[at].1
    }
}

/// Insert dependencies into a rule. Errors (conflicting protocols) name the statement.
pub fn insert(family: Family, rule: &mut Rule) -> Vec<Diagnostic> {
    let mut st = State {
        ctx: ProtoCtx::new(family),
        icmp_type: None,
        th_any: false,
        ambiguous: None,
        keys: Vec::new(),
        inner: Vec::new(),
    };
    let mut diags = Vec::new();
    let old = std::mem::take(&mut rule.stmts);
    let mut out: Vec<Stmt> = Vec::with_capacity(old.len() + 2);
    for mut stmt in old {
        let span = stmt.span;
        let mut guards: Vec<Stmt> = Vec::new();
        let mut errors: Vec<(Span, String)> = Vec::new();
        // Reject statements put their dependency at the start of the rule.
        if let StmtKind::Reject(r) = &stmt.kind {
            let needed = match r.kind {
                crate::ir::RejectKind::TcpReset => {
                    (st.ctx.get(PayloadBase::Transport).is_none()).then_some(Proto::Tcp)
                }
                crate::ir::RejectKind::Icmp if !matches!(family, Family::Ip | Family::Ip6) => {
                    st.ctx.get(PayloadBase::Network).is_none().then_some(Proto::Ip)
                }
                crate::ir::RejectKind::Icmpv6 if !matches!(family, Family::Ip | Family::Ip6) => {
                    st.ctx.get(PayloadBase::Network).is_none().then_some(Proto::Ip6)
                }
                _ => None,
            };
            if let Some(p) = needed {
                match st.ctx.dependencies(p) {
                    Ok(gs) => {
                        let mut front: Vec<Stmt> = gs.iter().map(|g| guard_stmt(g, span)).collect();
                        front.append(&mut out);
                        out = front;
                    }
                    Err(e) => errors.push((span, e.message)),
                }
            }
        }
        if let StmtKind::Match(m) = &mut stmt.kind {
            let before = m.left.ty;
            complete_raw(&mut m.left, &st);
            if m.left.ty != before {
                let (ty, order) = (m.left.ty, m.left.order);
                retype(&mut m.right, ty, order);
            }
        }
        visit_loads_mut(&mut stmt, &mut |e| {
            complete_raw(e, &st);
            load_deps(e, &mut st, span, &mut guards, &mut errors);
        });
        for (at, m) in errors {
            // nft says "conflicting protocols specified" whatever the layer.
            let m = m
                .replace("link layer protocols", "protocols")
                .replace("network layer protocols", "protocols")
                .replace("transport layer protocols", "protocols");
            diags.push(Diagnostic::error(at, m));
        }
        out.extend(guards);
        if let StmtKind::Match(m) = &stmt.kind {
            learn(&mut st, m);
        }
        out.push(stmt);
    }
    rule.stmts = out;
    diags
}

/// The guards one load needs (appended to `guards`), updating the state; fixes stacked
/// link-layer offsets.
fn load_deps(
    e: &mut Expr,
    st: &mut State,
    span: Span,
    guards: &mut Vec<Stmt>,
    errors: &mut Vec<(Span, String)>,
) {
    let at = if e.span == Span::default() { span } else { e.span };
    match &mut e.kind {
        ExprKind::Payload(p) if p.inner.is_none() => {
            let Some(proto) = p.proto else { return };
            if let Some((base, first)) = st.ambiguous
                && proto.base() == base
                && proto != Proto::Th
            {
                errors.push((
                    at,
                    format!("conflicting protocols specified: {} vs. {}", first.name(), proto.name()),
                ));
                return;
            }
            match st.ctx.dependencies(proto) {
                Ok(gs) => {
                    for g in &gs {
                        if let GuardKey::Payload { proto: gp, field } = g.key
                            && let [v] = g.values.as_slice()
                            && let Some(v) = v.to_u64()
                            && let Some(&(_, _, have)) =
                                st.keys.iter().find(|(kp, kf, _)| *kp == gp && *kf == field.name)
                            && have != v
                        {
                            errors.push((
                                at,
                                format!(
                                    "conflicting protocols specified: {} {} {have:#x} vs. {}",
                                    gp.name(),
                                    field.name,
                                    proto.name()
                                ),
                            ));
                        }
                    }
                    guards.extend(gs.iter().map(|g| {
                        let mut s = guard_stmt(g, span);
                        fix_ll_offset(&mut s, &st.ctx);
                        s
                    }));
                }
                Err(err) => errors.push((at, err.message)),
            }
            if p.base == PayloadBase::Link {
                p.offset = p.field.offset + st.ctx.ll_offset_of(proto);
            }
            if let Some(dep) = p.field.icmp_dep {
                match icmp_guard(dep, st.icmp_type) {
                    Ok(Some(g)) => {
                        st.icmp_type = Some(dep_type(dep));
                        guards.push(guard_stmt(&g, span));
                    }
                    Ok(None) => {}
                    Err(msg) => errors.push((at, msg)),
                }
            }
        }
        // A field inside a tunnel needs the tunnel itself first (`meta l4proto gre` before
        // `gre ip saddr`): the kernel's `inner` parses whatever follows the outer UDP or GRE
        // header as the tunnel it was told. Then the inner packet's own guards, read inside
        // the tunnel (`gre meta protocol ip` before `gre ip saddr`).
        ExprKind::Payload(p) => {
            let Some(tunnel) = p.inner else { return };
            match st.ctx.dependencies(tunnel.carrier()) {
                Ok(gs) => guards.extend(gs.iter().map(|g| guard_stmt(g, span))),
                Err(err) => errors.push((at, err.message)),
            }
            let Some(proto) = p.proto else { return };
            let ctx = st.inner_ctx(tunnel);
            match ctx.dependencies(proto) {
                Ok(gs) => guards.extend(gs.iter().map(|g| {
                    let mut s = inner_guard_stmt(g, tunnel, span);
                    fix_ll_offset(&mut s, ctx);
                    s
                })),
                Err(err) => errors.push((at, err.message)),
            }
            // (Link-layer fields inside a tunnel count from the inner frame.)
            if matches!(p.base, PayloadBase::Link | PayloadBase::Inner) {
                p.offset = p.field.offset + ctx.ll_offset_of(proto);
            }
        }
        ExprKind::Exthdr(x) => match st.ctx.exthdr_dependencies(x.op) {
            Ok(gs) => guards.extend(gs.iter().map(|g| guard_stmt(g, span))),
            Err(err) => errors.push((at, err.message)),
        },
        _ => {}
    }
}

/// A link-layer guard's field sits behind the headers stacked below its protocol.
fn fix_ll_offset(s: &mut Stmt, ctx: &ProtoCtx) {
    if let StmtKind::Match(m) = &mut s.kind
        && let ExprKind::Payload(p) = &mut m.left.kind
        && p.base == PayloadBase::Link
        && let Some(proto) = p.proto
    {
        p.offset = p.field.offset + ctx.ll_offset_of(proto);
    }
}

/// Give constants the datatype of what they are compared with (after a raw payload was
/// named).
fn retype(e: &mut Expr, ty: Type, order: ByteOrder) {
    match &mut e.kind {
        ExprKind::Value(_) | ExprKind::Range { .. } | ExprKind::Prefix { .. } => {
            e.ty = ty;
            e.order = order;
        }
        ExprKind::Set(s) => {
            e.ty = ty;
            for el in &mut s.elems {
                retype(&mut el.key, ty, order);
            }
        }
        _ => {}
    }
}

/// A raw payload at a known protocol's header names that protocol's field when one sits
/// exactly there (`meta l4proto tcp @th,16,16 22` is `tcp dport 22`), as nft's listing
/// completes it.
fn complete_raw(e: &mut Expr, st: &State) {
    let ExprKind::Payload(p) = &e.kind else { return };
    if p.proto.is_some() || p.inner.is_some() {
        return;
    }
    let proto = match st.ctx.get(p.base) {
        Some(pr) if !pr.desc().is_dummy() => pr,
        _ if p.base == PayloadBase::Transport && st.th_any => Proto::Th,
        _ => return,
    };
    let Some(field) = proto.desc().fields.iter().find(|f| f.offset == p.offset && f.len == p.len) else {
        return;
    };
    if field.icmp_dep.is_some() {
        return;
    }
    let field = *field;
    if let ExprKind::Payload(p) = &mut e.kind {
        p.proto = Some(proto);
        p.field = field;
    }
    e.ty = field.ty;
    e.order = field.order;
}

/// The type an ICMP dependency pins (echo → echo-request, as nft records it).
fn dep_type(dep: IcmpDep) -> u8 {
    match dep {
        IcmpDep::Echo => 8,
        IcmpDep::V6Echo => 128,
        IcmpDep::V6Address => 135,
        other => other.types().first().copied().unwrap_or(0),
    }
}

/// nft's `payload_gen_icmp_dependency`: the type guard a field needs given the type the
/// rule already pinned; an error when they are incompatible.
fn icmp_guard(dep: IcmpDep, known: Option<u8>) -> Result<Option<Guard>, String> {
    let ok = match (dep, known) {
        (_, None) => false,
        (IcmpDep::Echo, Some(t)) => t == 8,
        (IcmpDep::V6Echo, Some(t)) => t == 128 || t == 129,
        (IcmpDep::V6Address, Some(t)) => dep.types().contains(&t),
        (d, Some(t)) => dep_type(d) == t,
    };
    if ok {
        return Ok(None);
    }
    if let Some(t) = known {
        return Err(format!("incompatible icmp match: rule has {t}, need {}", dep_type(dep)));
    }
    let proto = if dep.type_datatype() == Type::IcmpType { Proto::Icmp } else { Proto::Icmpv6 };
    let Some(field) = proto.desc().field("type") else { return Ok(None) };
    let values = dep
        .types()
        .iter()
        .filter_map(|&t| crate::types::Value::from_uint(8, ByteOrder::Network, t.into()).ok())
        .collect();
    Ok(Some(Guard { key: GuardKey::Payload { proto, field }, ty: dep.type_datatype(), values }))
}

/// A protocol key compared with one value (`ip protocol 6`, `ether type ip`): the protocol
/// above is known; a link layer stacked on another (`ether type 8021q`) puts later
/// link-layer fields behind it.
fn learn_key(ctx: &mut ProtoCtx, proto: Proto, v: u32) {
    match proto {
        Proto::Ip | Proto::Ip6 => ctx.learn_meta(MetaKey::L4proto, v),
        _ => {
            if proto.base() == PayloadBase::Link
                && proto.desc().upper(v).is_some_and(|u| u.base() == PayloadBase::Link)
                && !ctx.stacked_ll.contains(&proto)
            {
                ctx.stacked_ll.push(proto);
            }
            ctx.learn(proto, v)
        }
    }
}

/// Learn protocol facts from a match (`meta l4proto 6`, `ip protocol tcp`, `ether type
/// 8021q`, `icmp type echo-request`), inside tunnels too.
fn learn(st: &mut State, m: &Match) {
    if m.op != MatchOp::Eq {
        return;
    }
    let values: Vec<u64> = match &m.right.kind {
        ExprKind::Value(v) => v.to_u64().into_iter().collect(),
        ExprKind::Set(s) => {
            s.elems.iter().filter_map(|e| e.key.as_value().and_then(|v| v.to_u64())).collect()
        }
        _ => return,
    };
    let single = matches!(m.right.kind, ExprKind::Value(_));
    match &m.left.kind {
        ExprKind::Meta(k) if single => {
            if let Some(&v) = values.first() {
                st.ctx.learn_meta(*k, v as u32);
            }
        }
        // Inside a tunnel: what its guards (or the rule) established about the inner packet.
        ExprKind::InnerMeta { tunnel, key } if single => {
            if let Some(&v) = values.first() {
                st.inner_ctx(*tunnel).learn_meta(*key, v as u32);
            }
        }
        ExprKind::Payload(p) if p.inner.is_some() => {
            if let (Some(tunnel), Some(proto), true, Some(&v)) = (p.inner, p.proto, single, values.first())
                && super::hide::is_protocol_key(proto, p.field.name)
            {
                learn_key(st.inner_ctx(tunnel), proto, v as u32);
            }
        }
        ExprKind::Payload(p) if p.inner.is_none() => {
            let Some(proto) = p.proto else { return };
            if matches!(proto, Proto::Icmp | Proto::Icmpv6) && p.field.name == "type" {
                // nft keeps the last type it saw (of a value or a set).
                st.icmp_type = values.last().map(|&t| {
                    let t = t as u8;
                    match (proto, t) {
                        (Proto::Icmp, 0) => 8,
                        (Proto::Icmpv6, 129) => 128,
                        _ => t,
                    }
                });
                return;
            }
            if single
                && super::hide::is_protocol_key(proto, p.field.name)
                && let Some(&v) = values.first()
            {
                st.keys.push((proto, p.field.name, v));
                learn_key(&mut st.ctx, proto, v as u32);
            }
            if !single && super::hide::is_protocol_key(proto, p.field.name) && values.len() > 1 {
                st.th_any = true;
                let first = values.first().and_then(|&v| match proto {
                    Proto::Ip | Proto::Ip6 => {
                        crate::proto::IP_UPPER.iter().find(|&&(n, _)| u64::from(n) == v).map(|&(_, p)| p)
                    }
                    _ => proto.desc().upper(v as u32),
                });
                if let Some(f) = first {
                    st.ambiguous = Some((f.base(), f));
                }
            }
        }
        ExprKind::Meta(MetaKey::L4proto) if !single && values.len() > 1 => {
            st.th_any = true;
            let first = values.first().and_then(|&v| {
                crate::proto::IP_UPPER.iter().find(|&&(n, _)| u64::from(n) == v).map(|&(_, p)| p)
            });
            if let Some(f) = first {
                st.ambiguous = Some((PayloadBase::Transport, f));
            }
        }
        _ => {}
    }
}

/// Visit, mutably and in evaluation order, every load expression of a statement.
pub fn visit_loads_mut(stmt: &mut Stmt, f: &mut dyn FnMut(&mut Expr)) {
    match &mut stmt.kind {
        StmtKind::Match(m) => walk_mut(&mut m.left, f),
        StmtKind::VerdictMap(e) | StmtKind::OptStrip(e) => walk_mut(e, f),
        StmtKind::Write(w) => {
            walk_mut(&mut w.target, f);
            walk_mut(&mut w.value, f);
        }
        StmtKind::Nat(n) => {
            if let Some(a) = &mut n.addr {
                walk_mut(a, f);
            }
            if let Some(p) = &mut n.port {
                walk_mut(p, f);
            }
        }
        StmtKind::Queue(q) => {
            if let Some(n) = &mut q.num {
                walk_mut(n, f);
            }
        }
        StmtKind::DynSet(d) => {
            walk_mut(&mut d.key, f);
            if let Some(x) = &mut d.data {
                walk_mut(x, f);
            }
        }
        StmtKind::Meter(m) => walk_mut(&mut m.key, f),
        StmtKind::ObjRef(o) => walk_mut(&mut o.name, f),
        _ => {}
    }
}

/// Loads inside an expression (map keys, concatenation members, binary operands, hash
/// inputs), in order; constants are skipped.
fn walk_mut(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    if e.is_load() && !matches!(e.kind, ExprKind::Hash(_)) {
        f(e);
        return;
    }
    match &mut e.kind {
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_mut(lhs, f);
            walk_mut(rhs, f);
        }
        ExprKind::Concat(parts) => parts.iter_mut().for_each(|p| walk_mut(p, f)),
        ExprKind::Map(m) => walk_mut(&mut m.key, f),
        ExprKind::Hash(h) => {
            if let Some(x) = &mut h.expr {
                walk_mut(x, f);
            }
        }
        _ => {}
    }
}
