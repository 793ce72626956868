//! Statements in nft's JSON schema (`{"match": {"op", "left", "right"}}`, `{"counter": …}`,
//! `{"snat": {"family", "addr", "port", "flags"}}`, `{"mangle": {"key", "value"}}`, …),
//! listed with the text printer's normalizations: flag tests as `in`/`!`, masks of all ones
//! dropped, prefixes of non-address types as masks, NAT ranges as prefixes where they are one.

use super::expr::{Ctx, verdict};
use super::value::Json;
use crate::ir::stmt::{LOG_LEVELS, log_flags};
use crate::ir::{BinOp, Expr, ExprKind, Family, LimitUnit, Match, MatchOp, RejectKind, Stmt, StmtKind};
use crate::print::expr::{Flags, map_has_interval_data, range_to_prefix};
use crate::print::listed_match::{cross_day_hours, raw_as_covering_bytes, without_mask};
use crate::print::stmt::rate;
use crate::types::{ByteOrder, Type, Value};

/// One statement.
pub(super) fn stmt(c: &Ctx, st: &Stmt) -> Json {
    let stateless = c.opts.stateless;
    match &st.kind {
        StmtKind::Match(m) => match_json(c, m),
        // `jump { … }` to a chain binding has no JSON form in nft: it prints the text.
        StmtKind::Verdict(v)
            if v.target()
                .is_some_and(|t| c.table.and_then(|tb| tb.chain(t)).is_some_and(|ch| ch.binding)) =>
        {
            let p = crate::print::expr::Printer { opts: c.opts, table: c.table, interval_data: false };
            Json::str(crate::print::stmt::stmt_text(&p, st, &crate::ir::Rule::new(Vec::new())))
        }
        StmtKind::Verdict(v) => verdict(v),
        StmtKind::VerdictMap(e) => c.expr(e),
        StmtKind::Counter(k) => {
            if stateless {
                Json::single("counter", Json::Null)
            } else {
                Json::single(
                    "counter",
                    Json::object([("packets", Json::int(k.packets)), ("bytes", Json::int(k.bytes))]),
                )
            }
        }
        StmtKind::Limit(l) => Json::single("limit", limit(l, true)),
        StmtKind::Quota(q) => {
            let (b, u) = rate(q.bytes);
            let mut o = Json::object([("val", Json::int(b)), ("val_unit", Json::str(u))]);
            if q.over {
                o.push("inv", Json::Bool(true));
            }
            if !stateless && q.used != 0 {
                let (ub, uu) = rate(q.used);
                o.push("used", Json::int(ub));
                o.push("used_unit", Json::str(uu));
            }
            Json::single("quota", o)
        }
        StmtKind::Last(l) => match l.used {
            Some(ms) if !stateless => Json::single("last", Json::object([("used", Json::int(ms))])),
            _ => Json::single("last", Json::Null),
        },
        StmtKind::ConnLimit(k) => {
            let mut o = Json::object([("val", Json::int(k.count))]);
            if k.over {
                o.push("inv", Json::Bool(true));
            }
            Json::single("ct count", o)
        }
        StmtKind::Log(l) => Json::single("log", log(l)),
        StmtKind::Reject(r) => Json::single("reject", reject(c, r)),
        StmtKind::Nat(n) => Json::single(n.kind.name(), nat(c, n)),
        StmtKind::Queue(q) => {
            let mut o = Json::object::<&str>([]);
            let num = match &q.num {
                Some(e) => c.expr(e),
                None => Json::int(0),
            };
            o.push("num", num);
            let mut flags = Vec::new();
            if q.bypass {
                flags.push(Json::str("bypass"));
            }
            if q.fanout {
                flags.push(Json::str("fanout"));
            }
            o.push_nonempty("flags", flags);
            Json::single("queue", o)
        }
        StmtKind::Notrack => Json::single("notrack", Json::Null),
        StmtKind::Write(w) => {
            let flags = match &w.target.kind {
                ExprKind::Ct(ct) if ct.key == nftvm_vm::keys::CtKey::EventMask => Flags::List,
                _ => Flags::Binop,
            };
            Json::single(
                "mangle",
                Json::object([
                    ("key", c.load(&w.target, false)),
                    ("value", c.expr_in(&w.value, flags, false)),
                ]),
            )
        }
        StmtKind::DynSet(d) => {
            let sc = Ctx { opts: crate::print::ListOpts { stateless: true, ..c.opts }, ..*c };
            let stmts: Vec<Json> = d.stmts.iter().map(|x| stmt(&sc, x)).collect();
            let mut elem = c.expr(&d.key);
            if d.timeout.is_some() || d.expires.is_some() {
                let mut e = Json::object([("val", elem)]);
                if let Some(t) = d.timeout {
                    e.push("timeout", Json::int(t / 1000));
                }
                if let Some(x) = d.expires {
                    e.push("expires", Json::int(x / 1000));
                }
                elem = Json::single("elem", e);
            }
            let mut o = Json::object([("op", Json::str(d.op.name())), ("elem", elem)]);
            match &d.data {
                Some(v) => {
                    o.push("data", c.expr(v));
                    o.push("map", Json::str(format!("@{}", d.set)));
                }
                None => o.push("set", Json::str(format!("@{}", d.set))),
            }
            o.push_nonempty("stmt", stmts);
            Json::single(if d.data.is_some() { "map" } else { "set" }, o)
        }
        StmtKind::Meter(m) => {
            let sc = Ctx { opts: crate::print::ListOpts { stateless: true, ..c.opts }, ..*c };
            Json::single(
                "meter",
                Json::object([
                    ("key", c.expr(&m.key)),
                    ("stmt", stmt(&sc, &m.stmt)),
                    ("size", Json::int(m.size)),
                    ("name", Json::str(m.name.clone())),
                ]),
            )
        }
        StmtKind::ObjRef(o) => Json::single(o.ty.name(), c.expr(&o.name)),
        StmtKind::Dup { addr, dev } => match addr {
            Some(a) => {
                let mut o = Json::object([("addr", c.expr(a))]);
                if let Some(d) = dev {
                    o.push("dev", c.expr(d));
                }
                Json::single("dup", o)
            }
            // netdev: nft names the device `addr` too.
            None => match dev {
                Some(d) => Json::single("dup", Json::object([("addr", c.expr(d))])),
                None => Json::single("dup", Json::Null),
            },
        },
        StmtKind::Fwd { family, addr, dev } => {
            let mut o = Json::object([("dev", c.expr(dev))]);
            if let Some(a) = addr {
                let fam = match family {
                    Some(Family::Ip6) => "ip6",
                    Some(Family::Ip) => "ip",
                    _ => "unknown",
                };
                o.push("family", Json::str(fam));
                o.push("addr", c.expr(a));
            }
            Json::single("fwd", o)
        }
        StmtKind::Tproxy(t) => {
            let mut o = Json::object::<&str>([]);
            if table_family(c) == Family::Inet
                && let Some(f) = t.family
            {
                o.push("family", Json::str(f.name()));
            }
            if let Some(a) = &t.addr {
                o.push("addr", c.expr(a));
            }
            if let Some(p) = &t.port {
                o.push("port", c.expr(p));
            }
            Json::single("tproxy", o)
        }
        StmtKind::Synproxy(s) => {
            let mut o = Json::object::<&str>([]);
            if let Some(m) = s.mss {
                o.push("mss", Json::int(m));
            }
            if let Some(w) = s.wscale {
                o.push("wscale", Json::int(w));
            }
            o.push_nonempty("flags", synproxy_flags(s.timestamp, s.sack_perm));
            Json::single("synproxy", o.or_null())
        }
        StmtKind::FlowOffload { flowtable } => Json::single(
            "flow",
            Json::object([("op", Json::str("add")), ("flowtable", Json::str(format!("@{flowtable}")))]),
        ),
        StmtKind::OptStrip(e) => match &e.kind {
            ExprKind::Exthdr(x) => Json::single("reset", super::expr::exthdr(x, true)),
            _ => Json::single("reset", c.load(e, false)),
        },
        StmtKind::XtMatch(m) => {
            Json::single("xt", Json::object([("type", Json::str("match")), ("name", Json::str(m.name()))]))
        }
        StmtKind::XtTarget(t) => {
            Json::single("xt", Json::object([("type", Json::str("target")), ("name", Json::str(t.name()))]))
        }
        StmtKind::Xt(t) => {
            let (kind, name) = xt_parts(t);
            Json::single("xt", Json::object([("type", Json::str(kind)), ("name", Json::str(name))]))
        }
    }
}

fn table_family(c: &Ctx) -> Family {
    c.table.map_or(Family::Ip, |t| t.family)
}

/// `xt match "foo"` / `xt target "FOO"` text split into the kind and the name.
fn xt_parts(text: &str) -> (String, String) {
    let mut words = text.split_whitespace().skip(1);
    let kind = words.next().unwrap_or("match").to_string();
    let name = words.collect::<Vec<_>>().join(" ").trim_matches('"').to_string();
    (kind, name)
}

/// `synproxy` flag words.
pub(super) fn synproxy_flags(timestamp: bool, sack_perm: bool) -> Vec<Json> {
    let mut flags = Vec::new();
    if timestamp {
        flags.push(Json::str("timestamp"));
    }
    if sack_perm {
        flags.push(Json::str("sack-perm"));
    }
    flags
}

/// The body of a `limit` statement (`with_burst`: statements always carry `burst`; limit
/// objects only when it is not zero).
pub(super) fn limit(l: &crate::ir::Limit, statement: bool) -> Json {
    let per = LimitUnit::word_of(l.unit);
    let (rate_v, rate_unit) = if l.bytes { rate(l.rate) } else { (l.rate, "") };
    let (burst_v, burst_unit) = if l.bytes { rate(u64::from(l.burst)) } else { (u64::from(l.burst), "") };
    let mut o = Json::object([("rate", Json::int(rate_v))]);
    if statement {
        o.push("burst", Json::int(burst_v));
        o.push("per", Json::str(per));
        if l.over {
            o.push("inv", Json::Bool(true));
        }
        if l.bytes {
            o.push("rate_unit", Json::str(rate_unit));
            o.push("burst_unit", Json::str(burst_unit));
        }
    } else {
        o.push("per", Json::str(per));
        if l.over {
            o.push("inv", Json::Bool(true));
        }
        if l.bytes {
            o.push("rate_unit", Json::str(rate_unit));
        }
        if burst_v != 0 {
            o.push("burst", Json::int(burst_v));
            if l.bytes {
                o.push("burst_unit", Json::str(burst_unit));
            }
        }
    }
    o
}

fn log(l: &crate::ir::Log) -> Json {
    let mut o = Json::object::<&str>([]);
    if let Some(p) = &l.prefix {
        o.push("prefix", Json::str(p.clone()));
    }
    if let Some(g) = l.group {
        o.push("group", Json::int(g));
    }
    if let Some(s) = l.snaplen {
        o.push("snaplen", Json::int(s));
    }
    if let Some(q) = l.queue_threshold {
        o.push("queue-threshold", Json::int(q));
    }
    if let Some(lv) = l.level
        && lv != 4
    {
        o.push("level", Json::str(LOG_LEVELS.get(lv as usize).copied().unwrap_or("unknown")));
    }
    let mut flags = Vec::new();
    if l.flags & log_flags::ALL == log_flags::ALL {
        flags.push(Json::str("all"));
    } else {
        for (bit, word) in [
            (log_flags::TCPSEQ, "tcp sequence"),
            (log_flags::TCPOPT, "tcp options"),
            (log_flags::IPOPT, "ip options"),
            (log_flags::UID, "skuid"),
            (log_flags::MACDECODE, "ether"),
        ] {
            if l.flags & bit != 0 {
                flags.push(Json::str(word));
            }
        }
    }
    o.push_nonempty("flags", flags);
    o.or_null()
}

fn reject(c: &Ctx, r: &crate::ir::Reject) -> Json {
    let code = |ty: Type| {
        Value::from_uint(8, ByteOrder::Network, r.code.into()).map_or(Json::int(r.code), |v| c.scalar(ty, &v))
    };
    match r.kind {
        RejectKind::TcpReset => Json::object([("type", Json::str("tcp reset"))]),
        RejectKind::Icmpx => {
            Json::object([("type", Json::str("icmpx")), ("expr", code(Type::RejectIcmpxCode))])
        }
        RejectKind::Icmp => Json::object([("type", Json::str("icmp")), ("expr", code(Type::RejectIcmpCode))]),
        RejectKind::Icmpv6 => {
            Json::object([("type", Json::str("icmpv6")), ("expr", code(Type::RejectIcmpv6Code))])
        }
    }
}

/// The body of `snat`/`dnat`/`masquerade`/`redirect` (null without options).
fn nat(c: &Ctx, n: &crate::ir::Nat) -> Json {
    let mut o = Json::object::<&str>([]);
    let interval_map = match &n.addr {
        Some(Expr { kind: ExprKind::Map(m), .. }) => {
            map_has_interval_data(&m.map)
                || matches!(&m.map.kind, ExprKind::SetRef(name) if c.table.and_then(|t| t.set(name)).is_some_and(|s| matches!(s.data, Some(crate::ir::SetData::Value { interval: true, .. }))))
        }
        _ => false,
    };
    if n.addr.is_some() || n.port.is_some() {
        let show_family = table_family(c) == Family::Inet || n.concat || interval_map;
        if show_family && let Some(f @ (Family::Ip | Family::Ip6)) = n.family {
            o.push("family", Json::str(f.name()));
        }
    }
    if let Some(a) = &n.addr {
        o.push("addr", c.expr(&range_to_prefix(a)));
    }
    if let Some(p) = &n.port {
        o.push("port", c.expr(p));
    }
    let mut flags = Vec::new();
    if n.random {
        flags.push(Json::str("random"));
    }
    if n.fully_random {
        flags.push(Json::str("fully-random"));
    }
    if n.persistent {
        flags.push(Json::str("persistent"));
    }
    if n.prefix {
        flags.push(Json::str("netmap"));
    }
    o.push_nonempty("flags", flags);
    if n.prefix {
        o.push("type_flags", Json::Array(vec![Json::str("prefix")]));
    }
    o.or_null()
}

fn op_word(op: MatchOp) -> &'static str {
    match op {
        MatchOp::Eq => "==",
        MatchOp::Ne => "!=",
        MatchOp::Lt => "<",
        MatchOp::Gt => ">",
        MatchOp::Le => "<=",
        MatchOp::Ge => ">=",
        MatchOp::Flags => "in",
        MatchOp::NoFlags => "!",
    }
}

fn match_obj(op: &str, left: Json, right: Json) -> Json {
    Json::single("match", Json::object([("op", Json::str(op)), ("left", left), ("right", right)]))
}

/// `{"match": {"op", "left", "right"}}` after the listing's normalizations.
pub(super) fn match_json(c: &Ctx, m: &Match) -> Json {
    // `tcp flags & (syn | ack) != 0` lists as the flag test `tcp flags syn,ack`.
    if let ExprKind::Binary { op: BinOp::And, lhs, rhs } = &m.left.kind
        && matches!(m.op, MatchOp::Ne | MatchOp::Eq)
        && m.right.ty.is_flag_set()
        && m.right.as_value().is_some_and(|v| v.is_zero())
        && let Some(v) = rhs.as_value()
    {
        let flags = c.value(rhs.ty, v, Flags::List);
        let op = if m.op == MatchOp::Ne { "in" } else { "!" };
        return match_obj(op, c.expr_in(lhs, Flags::Binop, true), flags);
    }
    // Cross-day hour ranges are stored as the complement; they list as written, with `in`.
    if let Some(written) = cross_day_hours(m) {
        return match_obj("in", c.expr_in(&m.left, Flags::Binop, true), c.expr(&written));
    }
    if let Some(plain) = without_mask(m) {
        return match_json(c, &plain);
    }
    if let Some(bytes) = raw_as_covering_bytes(m) {
        return match_json(c, &bytes);
    }
    // Prefixes of non-address types list as a mask: `meta mark & 0xffffff00 == …`.
    if let ExprKind::Prefix { value, len } = &m.right.kind
        && !m.right.ty.takes_prefix()
        && !m.right.ty.is_string()
        && let Ok(mask) = Value::prefix_mask(value.bits(), value.order(), *len)
    {
        let left = Json::single(
            "&",
            Json::Array(vec![
                c.expr_in(&m.left, Flags::Binop, true),
                c.value(m.left.ty, &mask, Flags::Binop),
            ]),
        );
        let op = if m.op == MatchOp::Ne { "!=" } else { "==" };
        return match_obj(op, left, c.value(m.right.ty, value, Flags::Binop));
    }
    let left_is_binop = matches!(m.left.kind, ExprKind::Binary { .. });
    let right_flags = match m.op {
        MatchOp::Flags | MatchOp::NoFlags => Flags::List,
        _ if !left_is_binop && matches!(m.left.kind, ExprKind::Payload(_)) => Flags::Plain,
        _ => Flags::Binop,
    };
    match_obj(op_word(m.op), c.expr_in(&m.left, Flags::Binop, true), c.expr_in(&m.right, right_flags, false))
}
