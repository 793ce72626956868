//! Statements as nft lists them (`statement.c`'s printers, after the delinearizer's
//! normalizations).

use super::expr::{Flags, Printer};
use super::listed_match::{cross_day_hours, raw_as_covering_bytes, without_mask};
use crate::ir::stmt::{LOG_LEVELS, log_flags};
use crate::ir::{
    Expr, ExprKind, Family, LimitUnit, Match, MatchOp, ObjectType, RejectKind, Rule, Stmt, StmtKind,
};
use crate::types::Type;

/// `n` bytes with the largest unit that divides them (`get_rate`).
pub(super) fn rate(bytes: u64) -> (u64, &'static str) {
    if bytes == 0 {
        return (0, "bytes");
    }
    let mut v = bytes;
    let units = ["bytes", "kbytes", "mbytes"];
    let mut i = 0;
    while i + 1 < units.len() && v.is_multiple_of(1024) {
        v /= 1024;
        i += 1;
    }
    (v, units[i])
}

/// A rule's visible statements and comment, as one line.
pub(super) fn rule_text(p: &Printer, rule: &Rule) -> String {
    let mut parts: Vec<String> = Vec::new();
    for st in rule.visible() {
        parts.push(stmt_text(p, st, rule));
    }
    let mut s = parts.join(" ");
    if let Some(c) = &rule.comment {
        s.push_str(&format!(" comment \"{c}\""));
    }
    if p.opts.handles {
        s.push_str(&format!(" # handle {}", rule.handle));
    }
    s
}

fn family(p: &Printer) -> Family {
    p.table.map_or(Family::Ip, |t| t.family)
}

/// One statement.
pub(super) fn stmt_text(p: &Printer, st: &Stmt, rule: &Rule) -> String {
    let stateless = p.opts.stateless;
    match &st.kind {
        StmtKind::Match(m) => match_text(p, m),
        StmtKind::Verdict(v) => match v.target().and_then(|t| binding(p, t)) {
            Some(chain) => {
                let kw = if matches!(v, crate::ir::Verdict::Jump(_)) { "jump" } else { "goto" };
                let mut s = format!("{kw} {{\n");
                for r in &chain.rules {
                    s.push_str("\t\t\t");
                    s.push_str(&rule_text(p, r));
                    s.push('\n');
                }
                s.push_str("\t\t}");
                s
            }
            None => v.text(),
        },
        StmtKind::VerdictMap(e) => p.expr(e),
        StmtKind::Counter(c) => {
            if stateless {
                "counter".into()
            } else {
                format!("counter packets {} bytes {}", c.packets, c.bytes)
            }
        }
        StmtKind::Limit(l) => {
            let over = if l.over { "over " } else { "" };
            let unit = LimitUnit::word_of(l.unit);
            if l.bytes {
                let (r, u) = rate(l.rate);
                let mut s = format!("limit rate {over}{r} {u}/{unit}");
                if l.burst != 0 {
                    let (b, bu) = rate(u64::from(l.burst));
                    s.push_str(&format!(" burst {b} {bu}"));
                }
                s
            } else {
                format!("limit rate {over}{}/{unit} burst {} packets", l.rate, l.burst)
            }
        }
        StmtKind::Quota(q) => {
            let (b, u) = rate(q.bytes);
            let mut s = format!("quota {}{b} {u}", if q.over { "over " } else { "" });
            if !stateless && q.used != 0 {
                let (ub, uu) = rate(q.used);
                s.push_str(&format!(" used {ub} {uu}"));
            }
            s
        }
        StmtKind::Last(l) => {
            if stateless {
                "last".into()
            } else {
                match l.used {
                    Some(ms) => format!("last used {}", crate::types::format_relative_ms(ms, &p.opts.values)),
                    None => "last used never".into(),
                }
            }
        }
        StmtKind::ConnLimit(c) => format!("ct count {}{}", if c.over { "over " } else { "" }, c.count),
        StmtKind::Log(l) => {
            let mut s = String::from("log");
            if let Some(x) = &l.prefix {
                s.push_str(&format!(" prefix \"{x}\""));
            }
            if let Some(g) = l.group {
                s.push_str(&format!(" group {g}"));
            }
            if let Some(x) = l.snaplen {
                s.push_str(&format!(" snaplen {x}"));
            }
            if let Some(x) = l.queue_threshold {
                s.push_str(&format!(" queue-threshold {x}"));
            }
            if let Some(lv) = l.level
                && lv != 4
            {
                s.push_str(&format!(" level {}", LOG_LEVELS.get(lv as usize).copied().unwrap_or("unknown")));
            }
            if l.flags & log_flags::ALL == log_flags::ALL {
                s.push_str(" flags all");
            } else {
                if l.flags & (log_flags::TCPSEQ | log_flags::TCPOPT) != 0 {
                    s.push_str(" flags tcp");
                    let mut d = " ";
                    if l.flags & log_flags::TCPSEQ != 0 {
                        s.push_str(" sequence");
                        d = ",";
                    }
                    if l.flags & log_flags::TCPOPT != 0 {
                        s.push_str(&format!("{d}options"));
                    }
                }
                if l.flags & log_flags::IPOPT != 0 {
                    s.push_str(" flags ip options");
                }
                if l.flags & log_flags::UID != 0 {
                    s.push_str(" flags skuid");
                }
                if l.flags & log_flags::MACDECODE != 0 {
                    s.push_str(" flags ether");
                }
            }
            s
        }
        StmtKind::Reject(r) => reject_text(p, r, rule),
        StmtKind::Nat(n) => nat_text(p, n),
        StmtKind::Queue(q) => {
            let mut s = String::from("queue");
            let mut d = " flags ";
            if q.bypass {
                s.push_str(d);
                s.push_str("bypass");
                d = ",";
            }
            if q.fanout {
                s.push_str(d);
                s.push_str("fanout");
            }
            match &q.num {
                Some(e) => {
                    s.push_str(" to ");
                    s.push_str(&p.expr(e));
                }
                None => s.push_str(" to 0"),
            }
            s
        }
        StmtKind::Notrack => "notrack".into(),
        StmtKind::Write(w) => write_text(p, &w.target, &w.value),
        StmtKind::DynSet(d) => {
            let mut s = format!("{} @{} {{ {}", d.op.name(), d.set, p.expr(&d.key));
            if let Some(t) = d.timeout {
                s.push_str(&format!(" timeout {}", crate::types::format_relative_ms(t, &p.opts.values)));
            }
            if let Some(x) = d.expires {
                s.push_str(&format!(" expires {}", crate::types::format_relative_ms(x, &p.opts.values)));
            }
            let sp = Printer {
                opts: super::ListOpts { stateless: true, ..p.opts },
                table: p.table,
                interval_data: false,
            };
            for x in &d.stmts {
                s.push(' ');
                s.push_str(&stmt_text(&sp, x, rule));
            }
            if let Some(v) = &d.data {
                s.push_str(" : ");
                s.push_str(&p.expr(v));
            }
            s.push_str(" }");
            s
        }
        StmtKind::Meter(m) => {
            let sp = Printer {
                opts: super::ListOpts { stateless: true, ..p.opts },
                table: p.table,
                interval_data: false,
            };
            format!(
                "meter {} size {} {{ {} {} }}",
                m.name,
                m.size,
                p.expr(&m.key),
                stmt_text(&sp, &m.stmt, rule)
            )
        }
        StmtKind::ObjRef(o) => {
            let head = match o.ty {
                ObjectType::CtHelper => "ct helper set ".to_string(),
                ObjectType::CtTimeout => "ct timeout set ".to_string(),
                ObjectType::CtExpect => "ct expectation set ".to_string(),
                ObjectType::Secmark => "meta secmark set ".to_string(),
                t => format!("{} name ", t.name()),
            };
            format!("{head}{}", p.expr(&o.name))
        }
        StmtKind::Dup { addr, dev } => match (addr, dev) {
            (Some(a), Some(d)) => format!("dup to {} device {}", p.expr(a), p.expr(d)),
            (Some(a), None) => format!("dup to {}", p.expr(a)),
            // netdev: the device alone.
            (None, Some(d)) => format!("dup to {}", p.expr(d)),
            (None, None) => "dup".to_string(),
        },
        StmtKind::Fwd { family: f, addr, dev } => match addr {
            Some(a) => {
                let fam = match f {
                    Some(Family::Ip6) => "ip6",
                    Some(Family::Ip) => "ip",
                    _ => "unknown",
                };
                format!("fwd {fam} to {} device {}", p.expr(a), p.expr(dev))
            }
            None => format!("fwd to {}", p.expr(dev)),
        },
        StmtKind::Tproxy(t) => {
            let mut s = String::from("tproxy");
            if family(p) == Family::Inet
                && let Some(f) = t.family
            {
                s.push_str(if f == Family::Ip6 { " ip6" } else { " ip" });
            }
            s.push_str(" to");
            if let Some(a) = &t.addr {
                s.push(' ');
                if a.ty == Type::Ipv6Addr && matches!(a.kind, ExprKind::Value(_)) {
                    s.push_str(&format!("[{}]", p.expr(a)));
                } else {
                    s.push_str(&p.expr(a));
                }
            }
            if let Some(port) = &t.port {
                if t.addr.is_none() {
                    s.push(' ');
                }
                s.push(':');
                s.push_str(&p.expr(port));
            }
            s
        }
        StmtKind::Synproxy(sp) => {
            let ts = if sp.timestamp { " timestamp" } else { "" };
            let sack = if sp.sack_perm { " sack-perm" } else { "" };
            match (sp.mss, sp.wscale) {
                (Some(m), Some(w)) => format!("synproxy mss {m} wscale {w}{ts}{sack}"),
                (Some(m), None) => format!("synproxy mss {m}{ts}{sack}"),
                (None, Some(w)) => format!("synproxy wscale {w}{ts}{sack}"),
                (None, None) => format!("synproxy{ts}{sack}"),
            }
        }
        StmtKind::FlowOffload { flowtable } => format!("flow add @{flowtable}"),
        StmtKind::OptStrip(e) => format!("reset {}", p.load(e)),
        StmtKind::Xt(t) => t.clone(),
        // As nft lists the xt match iptables-nft adds.
        StmtKind::XtMatch(m) => format!("xt match \"{}\"", m.name()),
        StmtKind::XtTarget(t) => format!("xt target \"{}\"", t.name()),
    }
}

fn binding<'a>(p: &'a Printer, name: &str) -> Option<&'a crate::ir::Chain> {
    p.table.and_then(|t| t.chain(name)).filter(|c| c.binding)
}

/// `left [op] right`.
pub(super) fn match_text(p: &Printer, m: &Match) -> String {
    let left_is_binop = matches!(m.left.kind, ExprKind::Binary { .. });
    // `tcp flags & (syn | ack) != 0` lists as the flag match `tcp flags syn,ack`.
    if let ExprKind::Binary { op: crate::ir::BinOp::And, lhs, rhs } = &m.left.kind
        && matches!(m.op, MatchOp::Ne | MatchOp::Eq)
        && m.right.ty.is_flag_set()
        && m.right.as_value().is_some_and(|v| v.is_zero())
        && rhs.as_value().is_some()
    {
        let flags = p.expr_in(rhs, Flags::List);
        return if m.op == MatchOp::Ne {
            format!("{} {flags}", p.expr(lhs))
        } else {
            format!("{} ! {flags}", p.expr(lhs))
        };
    }
    if let Some(bytes) = raw_as_covering_bytes(m) {
        return match_text(p, &bytes);
    }
    // Cross-day hour ranges are stored as the complement; list them as written.
    if let Some(written) = cross_day_hours(m) {
        return format!("{} {}", p.expr(&m.left), p.expr(&written));
    }
    if let Some(plain) = without_mask(m) {
        return match_text(p, &plain);
    }
    // Prefixes of non-address types list as a mask match: `meta mark & 0xffffff00 == …`.
    if let ExprKind::Prefix { value, len } = &m.right.kind
        && !m.right.ty.takes_prefix()
        && !m.right.ty.is_string()
        && let Ok(mask) = crate::types::Value::prefix_mask(value.bits(), value.order(), *len)
    {
        let mask_s = p.value(m.left.ty, &mask, Flags::Binop, p.opts.values);
        let val_s = p.value(m.right.ty, value, Flags::Binop, p.opts.values);
        let op = if m.op == MatchOp::Ne { "!=" } else { "==" };
        return format!("{} & {mask_s} {op} {val_s}", p.expr(&m.left));
    }
    let left = p.expr(&m.left);
    let right_flags = match m.op {
        MatchOp::Flags | MatchOp::NoFlags => Flags::List,
        _ if !left_is_binop && matches!(m.left.kind, ExprKind::Payload(_)) => Flags::Plain,
        _ => Flags::Binop,
    };
    let right = p.expr_in(&m.right, right_flags);
    let op = match m.op {
        MatchOp::Eq => {
            let must =
                (m.right.ty.is_flag_set() && matches!(m.right.kind, ExprKind::Value(_))) || left_is_binop;
            if must { " == " } else { " " }
        }
        MatchOp::Flags => " ",
        MatchOp::NoFlags => " ! ",
        MatchOp::Ne => " != ",
        MatchOp::Lt => " < ",
        MatchOp::Gt => " > ",
        MatchOp::Le => " <= ",
        MatchOp::Ge => " >= ",
    };
    format!("{left}{op}{right}")
}

fn write_text(p: &Printer, target: &Expr, value: &Expr) -> String {
    let flags = match &target.kind {
        ExprKind::Ct(c) if c.key == nftvm_vm::keys::CtKey::EventMask => Flags::List,
        _ => Flags::Binop,
    };
    format!("{} set {}", p.load(target), p.expr_in(value, flags))
}

fn reject_text(p: &Printer, r: &crate::ir::Reject, _rule: &Rule) -> String {
    let fam = family(p);
    let verbose = matches!(fam, Family::Inet | Family::Bridge | Family::Netdev);
    match r.kind {
        RejectKind::TcpReset => "reject with tcp reset".into(),
        RejectKind::Icmpx => {
            if r.code == 1 {
                "reject".into()
            } else {
                let v = crate::types::Value::from_uint(8, crate::types::ByteOrder::Network, r.code.into());
                let name = v.map(|v| Type::RejectIcmpxCode.print(&v, &p.opts.values)).unwrap_or_default();
                format!("reject with icmpx {name}")
            }
        }
        RejectKind::Icmp | RejectKind::Icmpv6 => {
            let (default, ty, word) = match r.kind {
                RejectKind::Icmp => (3, Type::RejectIcmpCode, "icmp"),
                _ => (4, Type::RejectIcmpv6Code, "icmpv6"),
            };
            if !verbose && r.code == default {
                return "reject".into();
            }
            let v = crate::types::Value::from_uint(8, crate::types::ByteOrder::Network, r.code.into());
            let name = v.map(|v| ty.print(&v, &p.opts.values)).unwrap_or_default();
            format!("reject with {word} {name}")
        }
    }
}

fn nat_text(p: &Printer, n: &crate::ir::Nat) -> String {
    let mut s = n.kind.name().to_string();
    let fam = family(p);
    let interval_map = match &n.addr {
        Some(Expr { kind: ExprKind::Map(m), .. }) => {
            super::expr::map_has_interval_data(&m.map)
                || matches!(&m.map.kind, ExprKind::SetRef(name) if p.table.and_then(|t| t.set(name)).is_some_and(|s| matches!(s.data, Some(crate::ir::SetData::Value { interval: true, .. }))))
        }
        _ => false,
    };
    if n.addr.is_some() || n.port.is_some() {
        let show_family = fam == Family::Inet || n.concat || interval_map;
        if show_family {
            match n.family {
                Some(Family::Ip) => s.push_str(" ip"),
                Some(Family::Ip6) => s.push_str(" ip6"),
                _ => {}
            }
        }
        if n.prefix {
            s.push_str(" prefix");
        }
        s.push_str(" to");
    }
    if let Some(a) = &n.addr {
        s.push(' ');
        let a = &super::expr::range_to_prefix(a);
        let text = p.expr(a);
        if n.port.is_some() && a.ty == Type::Ipv6Addr {
            match &a.kind {
                ExprKind::Value(_) => s.push_str(&format!("[{text}]")),
                ExprKind::Range { low, high } => {
                    let l = p.value(a.ty, low, Flags::Plain, p.opts.values);
                    let h = p.value(a.ty, high, Flags::Plain, p.opts.values);
                    s.push_str(&format!("[{l}]-[{h}]"));
                }
                _ => s.push_str(&text),
            }
        } else {
            s.push_str(&text);
        }
    }
    if let Some(port) = &n.port {
        if n.addr.is_none() {
            s.push(' ');
        }
        s.push(':');
        s.push_str(&p.expr(port));
    }
    let mut d = " ";
    if n.random {
        s.push_str(d);
        s.push_str("random");
        d = ",";
    }
    if n.fully_random {
        s.push_str(d);
        s.push_str("fully-random");
        d = ",";
    }
    if n.persistent {
        s.push_str(d);
        s.push_str("persistent");
    }
    s
}
