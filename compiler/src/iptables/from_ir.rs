//! IR → typed iptables rules, the way iptables-nft reads back rules it did not write: for
//! `nftvm list --format iptables-save` of an nft ruleset.
//!
//! Only what iptables can say is mapped: tables `ip`/`ip6` named like iptables tables, base
//! chains registered where iptables-nft registers them, and rules made of the statements
//! iptables has an option for (addresses, interfaces, protocol, fragments, tcp/udp ports and
//! flags, icmp types, conntrack state/status, marks, counters, verdicts, jumps, LOG/NFLOG,
//! REJECT, NAT, MARK/CONNMARK, limit, notrack, comments). Everything else is reported, with
//! its place, as not expressible; such rules (and chains and tables) are left out.

use crate::iptables::Family;
use crate::iptables::check::builtin_chains;
use crate::iptables::ip::{Iface, Inv, IpPart};
use crate::iptables::lower::chain_registration;
use crate::iptables::matches::Match;
use crate::iptables::matches::comment::Comment;
use crate::iptables::matches::conntrack::{Conntrack, ct_state};
use crate::iptables::matches::icmp::{Icmp, Icmp6};
use crate::iptables::matches::limit::{LIMIT_SCALE, Limit as XtLimit};
use crate::iptables::matches::mark::{Connmark, MarkMatch};
use crate::iptables::matches::multiport::{Multiport, MultiportKind};
use crate::iptables::matches::tcpudp::{Tcp, TcpFlags, Udp};
use crate::iptables::rule::{Action, Counters, MatchEntry, Name, Rule, Verdict as IptVerdict};
use crate::iptables::ruleset::{Chain as IptChain, Policy as IptPolicy, Ruleset, Table as IptTable};
use crate::iptables::targets::Target;
use crate::iptables::targets::ct::Ct;
use crate::iptables::targets::log::{DEFAULT_LOG_LEVEL, Log as XtLog, Nflog};
use crate::iptables::targets::mark::{ConnmarkTarget, MarkTarget};
use crate::iptables::targets::nat::{Nat as XtNat, NatKind as XtNatKind, NatRange};
use crate::iptables::targets::reject::{Reject as XtReject, RejectWith};
use crate::iptables::values::addr::{Addr, AddrMask};
use crate::iptables::values::ranges::PortRange;
use crate::ir::{self, BinOp, Expr, ExprKind, MatchOp, MetaKey, Stmt, StmtKind};
use crate::proto::Proto;
use nftvm_grammar::{Diagnostic, Span};
use nftvm_vm::expr::xt::XtMatch;
use nftvm_vm::keys::{CtKey, ct_state as nft_state};

type R<T> = Result<T, String>;

/// The iptables rulesets (IPv4 and IPv6) an IR ruleset can be listed as, and a warning for
/// everything left out.
pub fn from_ir(rs: &ir::Ruleset) -> (Ruleset, Ruleset, Vec<Diagnostic>) {
    let mut v4 = Ruleset::new(Family::Ipv4);
    let mut v6 = Ruleset::new(Family::Ipv6);
    let mut notes = Vec::new();
    for t in &rs.tables {
        let (family, out) = match t.family {
            ir::Family::Ip => (Family::Ipv4, &mut v4),
            ir::Family::Ip6 => (Family::Ipv6, &mut v6),
            f => {
                notes.push(Diagnostic::warning(
                    t.span,
                    format!("table {} {}: iptables has no {} family", f.name(), t.name, f.name()),
                ));
                continue;
            }
        };
        if builtin_chains(&t.name).is_none() {
            notes.push(Diagnostic::warning(
                t.span,
                format!(
                    "table {} {}: not an iptables table (filter, nat, mangle, raw, security)",
                    t.family.name(),
                    t.name
                ),
            ));
            continue;
        }
        if !t.sets.is_empty() || !t.objects.is_empty() || !t.flowtables.is_empty() {
            notes.push(Diagnostic::warning(
                t.span,
                format!(
                    "table {} {}: its sets, objects and flowtables have no iptables form",
                    t.family.name(),
                    t.name
                ),
            ));
        }
        let mut table = IptTable { name: t.name.clone(), chains: Vec::new() };
        for c in &t.chains {
            let policy = match (&c.base, chain_registration(&t.name, &c.name)) {
                (None, None) => None,
                (Some(b), Some(reg))
                    if b.chain_type == reg.chain_type && b.hook == reg.hook && b.priority == reg.priority =>
                {
                    Some(if b.policy == ir::Policy::Drop { IptPolicy::Drop } else { IptPolicy::Accept })
                }
                _ => {
                    notes.push(Diagnostic::warning(
                        c.span,
                        format!(
                            "chain {} {} {}: not registered as iptables registers it (type, hook, priority)",
                            t.family.name(),
                            t.name,
                            c.name
                        ),
                    ));
                    continue;
                }
            };
            let mut chain = IptChain {
                name: c.name.clone(),
                policy,
                counters: Counters::default(),
                rules: vec![],
                span: c.span,
            };
            for r in &c.rules {
                match rule(r, family) {
                    Ok(x) => chain.rules.push(x),
                    Err(why) => notes.push(Diagnostic::warning(
                        r.span,
                        format!(
                            "rule in {} {} {} has no iptables form: {why}",
                            t.family.name(),
                            t.name,
                            c.name
                        ),
                    )),
                }
            }
            table.chains.push(chain);
        }
        out.tables.push(table);
    }
    (v4, v6, notes)
}

/// The value of a constant as a number.
fn uint(e: &Expr) -> R<u128> {
    e.as_value().and_then(|v| v.to_u128()).ok_or_else(|| "expected a number".to_string())
}

/// A constant or range as a port range.
fn ports(e: &Expr) -> R<PortRange> {
    match &e.kind {
        ExprKind::Value(v) => {
            let p = v.to_u128().ok_or("port")? as u16;
            Ok(PortRange::single(p))
        }
        ExprKind::Range { low, high } => Ok(PortRange {
            lo: low.to_u128().ok_or("port")? as u16,
            hi: high.to_u128().ok_or("port")? as u16,
        }),
        _ => Err("expected a port or port range".into()),
    }
}

fn addr_of(bytes: &[u8]) -> R<Addr> {
    match bytes.len() {
        4 => Ok(Addr::V4(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            Ok(Addr::V6(std::net::Ipv6Addr::from(a)))
        }
        _ => Err("expected an address".into()),
    }
}

/// Builds one rule from statements.
struct Builder {
    family: Family,
    ip: IpPart,
    matches: Vec<MatchEntry>,
    action: Option<Action>,
    counters: Option<Counters>,
    /// The protocol an implicit dependency pins (`tcp dport` in nft implies `meta l4proto`).
    dep_proto: Option<u8>,
}

impl Builder {
    fn push(&mut self, name: &'static str, m: Match) {
        self.matches.push(MatchEntry { name, m, span: Span::default(), implicit: false });
    }

    fn set_proto(&mut self, p: u8, invert: bool) -> R<()> {
        match self.ip.proto {
            Some(old) if old.value != p || old.invert != invert => Err("two protocol tests".into()),
            _ => {
                self.ip.proto = Some(Inv::new(p, invert));
                Ok(())
            }
        }
    }

    /// The protocol match `-p P` needs for `-m tcp`/`-m udp` options.
    fn need_proto(&mut self, p: u8) -> R<()> {
        match self.ip.proto {
            Some(x) if x.value == p && !x.invert => Ok(()),
            Some(_) => Err("protocol test contradicts the port test".into()),
            None => self.set_proto(p, false),
        }
    }

    /// The rule's `-m tcp` match, added on first use.
    fn tcp(&mut self) -> R<&mut Tcp> {
        let i = match self.matches.iter().position(|m| matches!(m.m, Match::Tcp(_))) {
            Some(i) => i,
            None => {
                self.push("tcp", Match::Tcp(Tcp::default()));
                self.matches.len() - 1
            }
        };
        match self.matches.get_mut(i).map(|m| &mut m.m) {
            Some(Match::Tcp(t)) => Ok(t),
            _ => Err("internal: tcp match".into()),
        }
    }

    /// The rule's `-m udp` match, added on first use.
    fn udp(&mut self) -> R<&mut Udp> {
        let i = match self.matches.iter().position(|m| matches!(m.m, Match::Udp(_))) {
            Some(i) => i,
            None => {
                self.push("udp", Match::Udp(Udp::default()));
                self.matches.len() - 1
            }
        };
        match self.matches.get_mut(i).map(|m| &mut m.m) {
            Some(Match::Udp(t)) => Ok(t),
            _ => Err("internal: udp match".into()),
        }
    }
}

fn rule(r: &ir::Rule, family: Family) -> R<Rule> {
    let mut b = Builder {
        family,
        ip: IpPart::default(),
        matches: vec![],
        action: None,
        counters: None,
        dep_proto: None,
    };
    for s in &r.stmts {
        if b.action.is_some() && !matches!(s.kind, StmtKind::Counter(_)) {
            return Err("statements after the verdict".into());
        }
        if s.implicit {
            if let StmtKind::Match(m) = &s.kind
                && m.op == MatchOp::Eq
                && proto_left(&m.left)
            {
                b.dep_proto = uint(&m.right).ok().map(|v| v as u8);
            }
            continue;
        }
        stmt(s, &mut b)?;
    }
    if let Some(c) = &r.comment {
        b.push("comment", Match::Comment(Comment { text: c.clone() }));
    }
    Ok(Rule { ip: b.ip, matches: b.matches, action: b.action, counters: b.counters, span: r.span })
}

/// `meta l4proto` or `ip protocol` / `ip6 nexthdr`.
fn proto_left(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Meta(MetaKey::L4proto) => true,
        ExprKind::Payload(p) => {
            p.proto == Some(Proto::Ip) && p.field.name == "protocol"
                || p.proto == Some(Proto::Ip6) && p.field.name == "nexthdr"
        }
        _ => false,
    }
}

fn stmt(s: &Stmt, b: &mut Builder) -> R<()> {
    match &s.kind {
        StmtKind::Match(m) => match_stmt(m, b),
        StmtKind::Counter(c) => {
            b.counters = Some(Counters { packets: c.packets, bytes: c.bytes });
            Ok(())
        }
        StmtKind::Verdict(v) => {
            b.action = Some(match v {
                ir::Verdict::Accept => Action::Verdict(IptVerdict::Accept, Span::default()),
                ir::Verdict::Drop => Action::Verdict(IptVerdict::Drop, Span::default()),
                ir::Verdict::Return => Action::Verdict(IptVerdict::Return, Span::default()),
                ir::Verdict::Jump(c) => Action::Jump(Name { text: c.clone(), span: Span::default() }),
                ir::Verdict::Goto(c) => Action::Goto(Name { text: c.clone(), span: Span::default() }),
                ir::Verdict::Continue => return Err("continue".into()),
            });
            Ok(())
        }
        StmtKind::Log(l) => {
            let t = if let Some(g) = l.group {
                Target::Nflog(Nflog {
                    group: g,
                    prefix: l.prefix.clone().unwrap_or_default(),
                    size: l.snaplen,
                    range: None,
                    threshold: l.queue_threshold.unwrap_or(0),
                })
            } else {
                let level = match l.level {
                    None => DEFAULT_LOG_LEVEL,
                    Some(x) if x <= 7 => x as u8,
                    Some(_) => return Err("log level audit".into()),
                };
                let prefix = l.prefix.clone().unwrap_or_default();
                if prefix.len() > crate::iptables::targets::log::LOG_PREFIX_MAX {
                    return Err("log prefix longer than 29 bytes".into());
                }
                Target::Log(XtLog { level, prefix, flags: (l.flags & 0x2f) as u8 })
            };
            target(b, if matches!(t, Target::Nflog(_)) { "NFLOG" } else { "LOG" }, t)
        }
        StmtKind::Reject(r) => {
            use RejectWith::*;
            let with = match (r.kind, r.code, b.family) {
                (ir::RejectKind::TcpReset, _, _) => TcpReset,
                (ir::RejectKind::Icmp, 0, Family::Ipv4) => IcmpNetUnreachable,
                (ir::RejectKind::Icmp, 1, Family::Ipv4) => IcmpHostUnreachable,
                (ir::RejectKind::Icmp, 2, Family::Ipv4) => IcmpProtoUnreachable,
                (ir::RejectKind::Icmp, 3, Family::Ipv4) => IcmpPortUnreachable,
                (ir::RejectKind::Icmp, 9, Family::Ipv4) => IcmpNetProhibited,
                (ir::RejectKind::Icmp, 10, Family::Ipv4) => IcmpHostProhibited,
                (ir::RejectKind::Icmp, 13, Family::Ipv4) => IcmpAdminProhibited,
                (ir::RejectKind::Icmpv6, 0, Family::Ipv6) => Icmp6NoRoute,
                (ir::RejectKind::Icmpv6, 1, Family::Ipv6) => Icmp6AdmProhibited,
                (ir::RejectKind::Icmpv6, 3, Family::Ipv6) => Icmp6AddrUnreachable,
                (ir::RejectKind::Icmpv6, 4, Family::Ipv6) => Icmp6PortUnreachable,
                (ir::RejectKind::Icmpv6, 5, Family::Ipv6) => Icmp6PolicyFail,
                (ir::RejectKind::Icmpv6, 6, Family::Ipv6) => Icmp6RejectRoute,
                _ => return Err("reject code".into()),
            };
            target(b, "REJECT", Target::Reject(XtReject { with }))
        }
        StmtKind::Nat(n) => nat(n, b),
        StmtKind::Notrack => target(b, "CT", Target::Ct(Ct { notrack: true, ..Ct::default() })),
        StmtKind::Write(w) => write(w, b),
        StmtKind::Limit(l) if !l.bytes && !l.over && l.rate > 0 => {
            let avg = u64::from(LIMIT_SCALE) * l.unit / l.rate;
            let avg = u32::try_from(avg).map_err(|_| "limit rate")?;
            b.push("limit", Match::Limit(XtLimit { avg, burst: l.burst }));
            Ok(())
        }
        StmtKind::XtMatch(XtMatch::Icmp(i)) => {
            let (code_min, code_max) = i.codes;
            if i.v6 {
                b.need_proto(58)?;
                let m = Icmp6 { typ: i.typ, code_min, code_max, invert: i.invert };
                b.push("icmp6", Match::Icmp6(m));
            } else {
                b.need_proto(1)?;
                b.push("icmp", Match::Icmp(Icmp { typ: i.typ, code_min, code_max, invert: i.invert }));
            }
            Ok(())
        }
        other => Err(format!("statement {}", kind_name(other))),
    }
}

fn kind_name(k: &StmtKind) -> String {
    let d = format!("{k:?}");
    d.split(['(', ' ', '{']).next().unwrap_or("?").to_lowercase()
}

fn target(b: &mut Builder, name: &'static str, t: Target) -> R<()> {
    b.action = Some(Action::Target { name, t, span: Span::default() });
    Ok(())
}

/// A mark expression `(load & ~mask) ^ value` in any of its nft spellings.
fn xmark(value: &Expr, load: &dyn Fn(&Expr) -> bool) -> R<(u32, u32)> {
    match &value.kind {
        ExprKind::Value(_) => Ok((uint(value)? as u32, u32::MAX)),
        ExprKind::Binary { op, lhs, rhs } => {
            let c = uint(rhs)? as u32;
            match (op, &lhs.kind) {
                (BinOp::And, _) if load(lhs) => Ok((0, !c)),
                (BinOp::Or, _) if load(lhs) => Ok((c, c)),
                (BinOp::Xor, _) if load(lhs) => Ok((c, 0)),
                (BinOp::Xor, ExprKind::Binary { op: BinOp::And, lhs: l2, rhs: m }) if load(l2) => {
                    Ok((c, !(uint(m)? as u32)))
                }
                _ => Err("mark arithmetic".into()),
            }
        }
        _ => Err("mark value".into()),
    }
}

fn write(w: &ir::Write, b: &mut Builder) -> R<()> {
    let is_meta_mark = |e: &Expr| matches!(e.kind, ExprKind::Meta(MetaKey::Mark));
    let is_ct_mark = |e: &Expr| matches!(&e.kind, ExprKind::Ct(c) if c.key == CtKey::Mark && c.dir.is_none());
    if is_meta_mark(&w.target) {
        if is_ct_mark(&w.value) {
            return target(
                b,
                "CONNMARK",
                Target::Connmark(ConnmarkTarget {
                    mode: crate::iptables::targets::mark::ConnmarkMode::Restore,
                    ..Default::default()
                }),
            );
        }
        let (mark, mask) = xmark(&w.value, &is_meta_mark)?;
        return target(b, "MARK", Target::Mark(MarkTarget { mark, mask }));
    }
    if is_ct_mark(&w.target) {
        if is_meta_mark(&w.value) {
            return target(
                b,
                "CONNMARK",
                Target::Connmark(ConnmarkTarget {
                    mode: crate::iptables::targets::mark::ConnmarkMode::Save,
                    ..Default::default()
                }),
            );
        }
        let (ctmark, ctmask) = xmark(&w.value, &is_ct_mark)?;
        return target(
            b,
            "CONNMARK",
            Target::Connmark(ConnmarkTarget { ctmark, ctmask, ..Default::default() }),
        );
    }
    Err("this assignment".into())
}

fn nat(n: &ir::Nat, b: &mut Builder) -> R<()> {
    if n.prefix || n.concat {
        return Err("prefix or map NAT".into());
    }
    let mut range = NatRange {
        random: n.random,
        random_fully: n.fully_random,
        persistent: n.persistent,
        ..Default::default()
    };
    if let Some(a) = &n.addr {
        range.addrs = Some(match &a.kind {
            ExprKind::Value(v) => {
                let x = addr_of(v.bytes())?;
                (x, x)
            }
            ExprKind::Range { low, high } => (addr_of(low.bytes())?, addr_of(high.bytes())?),
            _ => return Err("NAT address".into()),
        });
    }
    if let Some(p) = &n.port {
        range.ports = Some(ports(p)?);
    }
    let (kind, name) = match n.kind {
        ir::NatKind::Snat => (XtNatKind::Snat, "SNAT"),
        ir::NatKind::Dnat => (XtNatKind::Dnat, "DNAT"),
        ir::NatKind::Masquerade => (XtNatKind::Masquerade, "MASQUERADE"),
        ir::NatKind::Redirect => (XtNatKind::Redirect, "REDIRECT"),
    };
    target(b, name, Target::Nat(XtNat { kind, range }))
}

/// An address test: value, prefix, or masked value.
fn addr_mask(m: &ir::Match) -> R<AddrMask> {
    let family = |a: &Addr| a.family();
    match (&m.left.kind, &m.right.kind) {
        (ExprKind::Payload(_), ExprKind::Value(v)) => {
            let a = addr_of(v.bytes())?;
            Ok(AddrMask { addr: a, mask: Addr::prefix_mask(family(&a), family(&a).addr_bits()) })
        }
        (ExprKind::Payload(_), ExprKind::Prefix { value, len }) => {
            let a = addr_of(value.bytes())?;
            let mask = Addr::prefix_mask(family(&a), *len as u8);
            Ok(AddrMask { addr: a.and(&mask), mask })
        }
        (ExprKind::Binary { op: BinOp::And, rhs, .. }, ExprKind::Value(v)) => {
            let a = addr_of(v.bytes())?;
            let mask = addr_of(rhs.as_value().ok_or("mask")?.bytes())?;
            Ok(AddrMask { addr: a, mask })
        }
        _ => Err("address test".into()),
    }
}

fn invert_of(op: MatchOp) -> R<bool> {
    match op {
        MatchOp::Eq => Ok(false),
        MatchOp::Ne => Ok(true),
        _ => Err("comparison operator".into()),
    }
}

/// The field a match reads, as `proto field`.
fn field_of(e: &Expr) -> Option<(Proto, &'static str)> {
    let inner = match &e.kind {
        ExprKind::Binary { lhs, .. } => lhs.as_ref(),
        _ => e,
    };
    match &inner.kind {
        ExprKind::Payload(p) => p.proto.map(|pr| (pr, p.field.name)),
        _ => None,
    }
}

fn match_stmt(m: &ir::Match, b: &mut Builder) -> R<()> {
    if proto_left(&m.left) {
        return b.set_proto(uint(&m.right)? as u8, invert_of(m.op)?);
    }
    if let ExprKind::Meta(k @ (MetaKey::IifName | MetaKey::OifName)) = &m.left.kind {
        let name = match &m.right.kind {
            ExprKind::Value(v) => v.to_str_lossy().trim_end_matches('\0').to_string(),
            ExprKind::Prefix { value, len } => {
                let s = value.to_str_lossy();
                format!("{}+", &s[..(*len as usize / 8).min(s.len())])
            }
            _ => return Err("interface set".into()),
        };
        let v = Some(Inv::new(Iface(name), invert_of(m.op)?));
        if *k == MetaKey::IifName {
            b.ip.iniface = v
        } else {
            b.ip.outiface = v
        }
        return Ok(());
    }
    if let Some((proto, field)) = field_of(&m.left) {
        return payload_match(proto, field, m, b);
    }
    match &m.left.kind {
        ExprKind::Ct(c) if c.key == CtKey::State && c.dir.is_none() => {
            let invert = match m.op {
                MatchOp::Flags | MatchOp::Eq => false,
                MatchOp::NoFlags => true,
                _ => return Err("ct state comparison".into()),
            };
            let v = uint(&m.right)? as u32;
            let mut xt = 0u16;
            for (n, x) in [
                (nft_state::INVALID, ct_state::INVALID),
                (nft_state::ESTABLISHED, ct_state::ESTABLISHED),
                (nft_state::RELATED, ct_state::RELATED),
                (nft_state::NEW, ct_state::NEW),
                (nft_state::UNTRACKED, ct_state::UNTRACKED),
            ] {
                if v & n != 0 {
                    xt |= x;
                }
            }
            b.push(
                "conntrack",
                Match::Conntrack(Conntrack { state: Some(Inv::new(xt, invert)), ..Default::default() }),
            );
            Ok(())
        }
        ExprKind::Ct(c) if c.key == CtKey::Status && c.dir.is_none() => {
            let invert = match m.op {
                MatchOp::Flags => false,
                MatchOp::NoFlags => true,
                _ => return Err("ct status comparison".into()),
            };
            let v = uint(&m.right)? as u16;
            if v & !0xf != 0 {
                return Err("ct status bits iptables does not know".into());
            }
            b.push(
                "conntrack",
                Match::Conntrack(Conntrack { status: Some(Inv::new(v, invert)), ..Default::default() }),
            );
            Ok(())
        }
        ExprKind::Meta(MetaKey::Mark) => {
            b.push(
                "mark",
                Match::Mark(MarkMatch {
                    mark: uint(&m.right)? as u32,
                    mask: u32::MAX,
                    invert: invert_of(m.op)?,
                }),
            );
            Ok(())
        }
        ExprKind::Ct(c) if c.key == CtKey::Mark && c.dir.is_none() => {
            let mm = MarkMatch { mark: uint(&m.right)? as u32, mask: u32::MAX, invert: invert_of(m.op)? };
            b.push("connmark", Match::Connmark(Connmark(mm)));
            Ok(())
        }
        ExprKind::Binary { op: BinOp::And, lhs, rhs } => {
            let mask = uint(rhs)? as u32;
            let mm = MarkMatch { mark: uint(&m.right)? as u32, mask, invert: invert_of(m.op)? };
            match &lhs.kind {
                ExprKind::Meta(MetaKey::Mark) => b.push("mark", Match::Mark(mm)),
                ExprKind::Ct(c) if c.key == CtKey::Mark && c.dir.is_none() => {
                    b.push("connmark", Match::Connmark(Connmark(mm)))
                }
                _ => return Err("masked test".into()),
            }
            Ok(())
        }
        _ => Err(format!("match on {}", describe(&m.left))),
    }
}

fn payload_match(proto: Proto, field: &'static str, m: &ir::Match, b: &mut Builder) -> R<()> {
    let family_ok = |fam: Family| b.family == fam;
    match (proto, field) {
        (Proto::Ip, "saddr" | "daddr") if family_ok(Family::Ipv4) => addr_part(field, m, b),
        (Proto::Ip6, "saddr" | "daddr") if family_ok(Family::Ipv6) => addr_part(field, m, b),
        (Proto::Ip, "frag-off") => {
            let ExprKind::Binary { rhs, .. } = &m.left.kind else {
                return Err("fragment offset test".into());
            };
            if uint(rhs)? != 0x1fff || uint(&m.right)? != 0 {
                return Err("fragment offset test".into());
            }
            b.ip.frag = Some(m.op == MatchOp::Eq);
            Ok(())
        }
        (Proto::Tcp | Proto::Udp, "sport" | "dport") => {
            let pnum = if proto == Proto::Tcp { 6 } else { 17 };
            b.need_proto(pnum)?;
            let invert = invert_of(m.op)?;
            if let ExprKind::Set(lit) = &m.right.kind {
                let list = lit.elems.iter().map(|e| ports(&e.key)).collect::<R<Vec<_>>>()?;
                if list.len() > 15 {
                    return Err("more than 15 ports".into());
                }
                let kind = if field == "sport" { MultiportKind::Source } else { MultiportKind::Destination };
                b.push("multiport", Match::Multiport(Multiport { kind, ports: list, invert }));
                return Ok(());
            }
            let p = Inv::new(ports(&m.right)?, invert);
            match (proto, field) {
                (Proto::Tcp, "sport") => b.tcp()?.sport = p,
                (Proto::Tcp, _) => b.tcp()?.dport = p,
                (_, "sport") => b.udp()?.sport = p,
                _ => b.udp()?.dport = p,
            }
            Ok(())
        }
        (Proto::Tcp, "flags") => {
            b.need_proto(6)?;
            let ExprKind::Binary { op: BinOp::And, rhs, .. } = &m.left.kind else {
                return Err("tcp flags test".into());
            };
            let flags = TcpFlags { mask: uint(rhs)? as u8, cmp: uint(&m.right)? as u8 };
            b.tcp()?.flags = Some(Inv::new(flags, invert_of(m.op)?));
            Ok(())
        }
        (Proto::Icmp, "type") if family_ok(Family::Ipv4) => {
            b.need_proto(1)?;
            let typ = uint(&m.right)? as u8;
            b.push("icmp", Match::Icmp(Icmp { typ, code_min: 0, code_max: 0xFF, invert: invert_of(m.op)? }));
            Ok(())
        }
        (Proto::Icmpv6, "type") if family_ok(Family::Ipv6) => {
            b.need_proto(58)?;
            let typ = uint(&m.right)? as u8;
            b.push(
                "icmp6",
                Match::Icmp6(Icmp6 { typ, code_min: 0, code_max: 0xFF, invert: invert_of(m.op)? }),
            );
            Ok(())
        }
        _ => Err(format!("match on {} {field}", proto.name())),
    }
}

fn addr_part(field: &str, m: &ir::Match, b: &mut Builder) -> R<()> {
    let a = Some(Inv::new(addr_mask(m)?, invert_of(m.op)?));
    let slot = if field == "saddr" { &mut b.ip.src } else { &mut b.ip.dst };
    if slot.is_some() {
        return Err(format!("two {field} tests"));
    }
    *slot = a;
    Ok(())
}

/// What an expression reads, for messages.
fn describe(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Meta(k) => format!("meta {}", k.name()),
        ExprKind::Ct(c) => format!("ct {}", c.key.name()),
        ExprKind::Payload(p) => p.name(),
        ExprKind::Binary { lhs, .. } => describe(lhs),
        other => kind_name_expr(other),
    }
}

fn kind_name_expr(k: &ExprKind) -> String {
    let d = format!("{k:?}");
    d.split(['(', ' ', '{']).next().unwrap_or("?").to_lowercase()
}
