//! Expressions in nft's JSON schema: loads as `{"payload": {"protocol", "field"}}`,
//! `{"meta": {"key"}}`, `{"ct": {"key", "dir"}}`, …; constants by their datatypes (numbers,
//! symbol names, address strings, booleans); `{"prefix": …}`, `{"range": [lo, hi]}`,
//! `{"concat": […]}`, `{"set": […]}`, `{"map"|"vmap": {"key", "data"}}`, binary operators as
//! `{"&": [a, b, …]}`, verdicts as `{"accept": null}` / `{"jump": {"target": …}}`.
//!
//! The values and their order are the text printer's ([`super::super::expr`]): set elements
//! sorted and interval sets decomposed by the same helpers, so both listings agree.

use super::value::Json;
use crate::ir::{BinOp, Expr, ExprKind, SetElem, Table, Verdict};
use crate::print::ListOpts;
use crate::print::expr::{Flags, bounds, interval_key, is_interval, map_has_interval_data, order_elems};
use crate::proto::exthdr::ExthdrOp;
use crate::proto::fib::FibResult;
use crate::proto::rt::RtKey;
use crate::types::{Type, Value};
use nftvm_vm::keys::PayloadBase;

/// Printing context: listing options and the rule's table.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub opts: ListOpts,
    pub table: Option<&'a Table>,
}

impl Ctx<'_> {
    /// Any expression (bitmask constants as `{"|": […]}`).
    pub fn expr(&self, e: &Expr) -> Json {
        self.expr_in(e, Flags::Binop, false)
    }

    /// An expression with a flag style for bitmask constants; `relational` is set on a
    /// match's left side (`fib … check` lists as `oif` there).
    pub fn expr_in(&self, e: &Expr, flags: Flags, relational: bool) -> Json {
        match &e.kind {
            ExprKind::Value(v) => self.value(e.ty, v, flags),
            ExprKind::Prefix { value, len } => self.prefix(e.ty, value, *len),
            ExprKind::Range { low, high } => {
                let o = ListOpts {
                    values: crate::types::PrintOpts {
                        numeric_proto: true,
                        service_names: false,
                        ..self.opts.values
                    },
                    ..self.opts
                };
                let c = Ctx { opts: o, ..*self };
                Json::single("range", Json::Array(vec![c.scalar(e.ty, low), c.scalar(e.ty, high)]))
            }
            ExprKind::CatchAll => Json::str("*"),
            ExprKind::Verdict(v) => verdict(v),
            ExprKind::Concat(parts) => Json::single(
                "concat",
                Json::Array(parts.iter().map(|p| self.expr_in(p, flags, relational)).collect()),
            ),
            ExprKind::Set(s) => {
                let interval = s.interval || s.elems.iter().any(|x| is_interval(&x.key));
                self.set_lit(&s.elems, interval, true, false)
            }
            ExprKind::SetRef(name) => Json::str(format!("@{name}")),
            ExprKind::Map(m) => {
                let kw = if e.ty == Type::Verdict { "vmap" } else { "map" };
                let data = match &m.map.kind {
                    ExprKind::Set(s) => {
                        let interval = s.interval || s.elems.iter().any(|x| is_interval(&x.key));
                        self.set_lit(&s.elems, interval, true, map_has_interval_data(&m.map))
                    }
                    _ => self.expr(&m.map),
                };
                Json::single(
                    kw,
                    Json::object([("key", self.expr_in(&m.key, Flags::Binop, false)), ("data", data)]),
                )
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let mut items = Vec::new();
                self.flatten(*op, lhs, &mut items);
                self.flatten(*op, rhs, &mut items);
                Json::single(op.symbol(), Json::Array(items))
            }
            _ => self.load(e, relational),
        }
    }

    /// Operands of a chain of the same binary operator, flattened (`{"|": [a, b, c]}`).
    fn flatten(&self, op: BinOp, e: &Expr, out: &mut Vec<Json>) {
        match &e.kind {
            ExprKind::Binary { op: o, lhs, rhs } if *o == op => {
                self.flatten(op, lhs, out);
                self.flatten(op, rhs, out);
            }
            _ => out.push(self.expr_in(e, Flags::Binop, false)),
        }
    }

    /// A constant, with bitmask values of several bits as a list (`["established",
    /// "related"]`), an OR (`{"|": ["syn", "ack"]}`) or a number.
    pub fn value(&self, ty: Type, v: &Value, flags: Flags) -> Json {
        if ty.is_flag_set()
            && let Some(n) = v.to_u128()
            && n.count_ones() > 1
        {
            let bits: Vec<Json> = (0..v.bits().min(128))
                .filter(|b| n & (1u128 << b) != 0)
                .filter_map(|b| Value::from_uint(v.bits(), v.order(), 1u128 << b).ok())
                .map(|bit| self.scalar(ty, &bit))
                .collect();
            return match flags {
                Flags::Plain => integer(v),
                Flags::List => Json::Array(bits),
                Flags::Binop => Json::single("|", Json::Array(bits)),
            };
        }
        self.scalar(ty, v)
    }

    /// One constant as nft's datatype JSON callbacks print it: numbers for integers, ports,
    /// marks, times (seconds), ids; names for protocols (unless `-n`) and symbolic
    /// constants; booleans; strings for everything printed as text (addresses, interface
    /// names, hours).
    pub fn scalar(&self, ty: Type, v: &Value) -> Json {
        let vo = &self.opts.values;
        match ty {
            Type::Integer
            | Type::XInteger
            | Type::Queue
            | Type::Bitmask
            | Type::Invalid
            | Type::Uid
            | Type::Gid => integer(v),
            Type::Boolean => Json::Bool(!v.is_zero()),
            Type::Time => v.to_u64().map_or_else(|| integer(v), |ms| Json::int(ms / 1000)),
            Type::InetService => {
                if vo.service_names
                    && let Some(port) = v.to_u64().and_then(|n| u16::try_from(n).ok())
                    && let Some(name) = crate::types::service_name(port)
                {
                    return Json::str(name);
                }
                integer(v)
            }
            Type::InetProto => {
                if !vo.numeric_proto
                    && let Some(n) = v.to_u64().and_then(|n| u8::try_from(n).ok())
                    && let Some(name) = crate::types::protocol_name(n)
                {
                    return Json::str(name);
                }
                integer(v)
            }
            Type::String | Type::IfName => Json::str(unquote(&ty.print(v, vo))),
            Type::CtLabel => match unquote(&ty.print(v, vo)) {
                name if name.parse::<u64>().is_ok() => integer_text(&name),
                name => Json::str(name),
            },
            _ => match ty.symbols() {
                Some(table) => match v.to_u64().and_then(|n| table.name_of(n)) {
                    Some(name) if !vo.numeric_symbol && ty.info().print_symbols => Json::str(name),
                    _ => integer(v),
                },
                None => Json::str(unquote(&ty.print(v, vo))),
            },
        }
    }

    fn prefix(&self, ty: Type, v: &Value, len: u32) -> Json {
        if ty.is_string() {
            let head: String = v.to_str_lossy().chars().take((len / 8) as usize).collect();
            return Json::str(format!("{head}*"));
        }
        Json::single("prefix", Json::object([("addr", self.scalar(ty, v)), ("len", Json::int(len))]))
    }

    /// An anonymous set `{"set": [...]}` in listing order; `interval_data` lists map data
    /// as intervals (single addresses as full-length prefixes).
    pub fn set_lit(&self, elems: &[SetElem], interval: bool, merge: bool, interval_data: bool) -> Json {
        Json::single("set", Json::Array(self.set_items(elems, interval, merge, interval_data)))
    }

    /// The elements in listing order.
    pub fn set_items(
        &self,
        elems: &[SetElem],
        interval: bool,
        merge: bool,
        interval_data: bool,
    ) -> Vec<Json> {
        order_elems(elems, interval, merge).iter().map(|e| self.elem(e, interval_data)).collect()
    }

    /// One element: the key (or `{"elem": {"val": key, "timeout", …}}` when it has options),
    /// paired with its data as `[key, data]` in maps.
    pub fn elem(&self, e: &SetElem, interval_data: bool) -> Json {
        let mut key = self.expr_in(&e.key, Flags::Binop, false);
        let expires = e.expires.filter(|_| !self.opts.stateless && e.timeout != Some(u64::MAX));
        if e.timeout.is_some() || expires.is_some() || e.comment.is_some() || !e.stmts.is_empty() {
            let mut obj = Json::object([("val", key)]);
            if let Some(t) = e.timeout {
                obj.push("timeout", Json::int(t / 1000));
            }
            if let Some(x) = expires {
                obj.push("expires", Json::int(x / 1000));
            }
            if let Some(c) = &e.comment {
                obj.push("comment", Json::str(c.clone()));
            }
            for st in &e.stmts {
                if let Json::Object(pairs) = super::stmt::stmt(self, st) {
                    for (k, v) in pairs {
                        if obj.get(&k).is_none() {
                            obj.push(k, v);
                        }
                    }
                }
            }
            key = Json::single("elem", obj);
        }
        match &e.data {
            Some(d) => {
                let data = if interval_data { self.interval_value(d) } else { self.expr(d) };
                Json::Array(vec![key, data])
            }
            None => key,
        }
    }

    /// Interval map data: single addresses as full-length prefixes, address ranges as
    /// prefixes where they are one (members of concatenations keep single values).
    fn interval_value(&self, d: &Expr) -> Json {
        match &d.kind {
            ExprKind::Concat(parts) => Json::single(
                "concat",
                Json::Array(
                    parts
                        .iter()
                        .map(|m| match bounds(m) {
                            Some((lo, hi)) if lo != hi => self.expr(&interval_key(m, lo, hi)),
                            _ => self.expr(m),
                        })
                        .collect(),
                ),
            ),
            _ => match (bounds(d), &d.kind) {
                (Some((lo, hi)), ExprKind::Value(v)) if d.ty.takes_prefix() && lo == hi => {
                    self.prefix(d.ty, v, d.bits)
                }
                (Some((lo, hi)), _) => self.expr(&interval_key(d, lo, hi)),
                (None, _) => self.expr(d),
            },
        }
    }

    /// A load expression.
    pub fn load(&self, e: &Expr, relational: bool) -> Json {
        match &e.kind {
            ExprKind::Payload(p) => {
                let body = match p.proto {
                    Some(proto) => {
                        let mut o = Json::object::<&str>([]);
                        // Inner matches name their tunnel; so do a UDP tunnel's own fields,
                        // which the kernel reads at the tunnel header base.
                        match p.inner {
                            Some(t) => o.push("tunnel", Json::str(t.name())),
                            None if p.base == PayloadBase::Tunnel => {
                                o.push("tunnel", Json::str(proto.name()))
                            }
                            None => {}
                        }
                        o.push("protocol", Json::str(proto.name()));
                        o.push("field", Json::str(p.field.name));
                        o
                    }
                    None => Json::object([
                        ("base", Json::str(raw_base(p.base))),
                        ("offset", Json::int(p.offset)),
                        ("len", Json::int(p.len)),
                    ]),
                };
                Json::single("payload", body)
            }
            ExprKind::Exthdr(x) => exthdr(x, false),
            ExprKind::Meta(k) => {
                Json::single("meta", Json::object([("key", Json::str(crate::proto::meta::info(*k).token))]))
            }
            ExprKind::InnerMeta { tunnel, key } => Json::single(
                "meta",
                Json::object([
                    ("key", Json::str(crate::proto::meta::info(*key).token)),
                    ("inner", Json::str(tunnel.name())),
                ]),
            ),
            ExprKind::Ct(c) => {
                let info = crate::proto::ct::info(c.key);
                let mut o = Json::object([("key", Json::str(info.token))]);
                if let Some(d) = c.dir
                    && matches!(
                        info.dir,
                        crate::proto::ct::DirRule::Optional | crate::proto::ct::DirRule::Required
                    )
                {
                    o.push("dir", Json::str(d.name()));
                }
                Json::single("ct", o)
            }
            ExprKind::Rt(k) => {
                let info = crate::proto::rt::info(*k);
                let mut o = Json::object([("key", Json::str(info.token))]);
                match k {
                    RtKey::Nexthop4 => o.push("family", Json::str("ip")),
                    RtKey::Nexthop6 => o.push("family", Json::str("ip6")),
                    _ => {}
                }
                Json::single("rt", o)
            }
            ExprKind::Fib(f) => {
                let result = match f.result {
                    FibResult::Check if relational => "oif",
                    r => r.token(),
                };
                let mut o = Json::object([("result", Json::str(result))]);
                let flags = f.flags & !crate::proto::fib::flags::PRESENT;
                let words: Vec<Json> = crate::proto::fib::FLAG_WORDS
                    .iter()
                    .filter(|(_, bit)| flags & bit != 0)
                    .map(|(w, _)| Json::str(*w))
                    .collect();
                o.push_nonempty("flags", words);
                Json::single("fib", o)
            }
            ExprKind::Socket { key, .. } => {
                let tok =
                    crate::proto::socket::SOCKET_KEYS.iter().find(|k| k.key == *key).map_or("?", |k| k.token);
                Json::single("socket", Json::object([("key", Json::str(tok))]))
            }
            ExprKind::Osf { ttl, version } => {
                let mut o = Json::object([("key", Json::str(if *version { "version" } else { "name" }))]);
                if let Some((w, _)) = crate::proto::osf::TTL_WORDS.iter().find(|(_, v)| v == ttl) {
                    o.push("ttl", Json::str(*w));
                }
                Json::single("osf", o)
            }
            ExprKind::Numgen(n) => Json::single(
                "numgen",
                Json::object([
                    ("mode", Json::str(n.mode.token())),
                    ("mod", Json::int(n.modulus)),
                    ("offset", Json::int(n.offset)),
                ]),
            ),
            ExprKind::Hash(h) => {
                let mut o = Json::object([("mod", Json::int(h.modulus))]);
                if let Some(seed) = h.seed {
                    o.push("seed", Json::int(seed));
                }
                if h.offset != 0 {
                    o.push("offset", Json::int(h.offset));
                }
                if let Some(x) = &h.expr {
                    o.push("expr", self.expr(x));
                }
                Json::single(h.kind.token(), o)
            }
            ExprKind::Ipsec { dir, spnum, key } => {
                let tok = key.token();
                let (family, key_word) = match tok.split_once(' ') {
                    Some((f, k)) => (Some(f), k),
                    None => (None, tok),
                };
                let mut o = Json::object([("key", Json::str(key_word))]);
                if let Some(f) = family {
                    o.push("family", Json::str(f));
                }
                let d = if *dir == crate::proto::xfrm::XfrmDir::In { "in" } else { "out" };
                o.push("dir", Json::str(d));
                o.push("spnum", Json::int(*spnum));
                Json::single("ipsec", o)
            }
            ExprKind::Tunnel(k) => Json::single("tunnel", Json::object([("key", Json::str(k.token()))])),
            _ => self.expr(e),
        }
    }
}

/// `{"accept": null}`, `{"jump": {"target": "c"}}`.
pub(super) fn verdict(v: &Verdict) -> Json {
    match v {
        Verdict::Accept => Json::single("accept", Json::Null),
        Verdict::Drop => Json::single("drop", Json::Null),
        Verdict::Continue => Json::single("continue", Json::Null),
        Verdict::Return => Json::single("return", Json::Null),
        Verdict::Jump(c) => Json::single("jump", Json::object([("target", Json::str(c.clone()))])),
        Verdict::Goto(c) => Json::single("goto", Json::object([("target", Json::str(c.clone()))])),
    }
}

/// nft's integer JSON: a number when it fits 64 bits, else a `"0x…"` string.
pub(super) fn integer(v: &Value) -> Json {
    match v.to_u64() {
        Some(n) => Json::int(n),
        None => Json::str(crate::types::Type::XInteger.print(v, &Default::default())),
    }
}

/// A decimal number already printed.
fn integer_text(text: &str) -> Json {
    text.parse::<i128>().map_or_else(|_| Json::str(text), Json::Int)
}

/// A printed constant without the quotes nft's text form puts around strings.
fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => s.to_string(),
    }
}

fn raw_base(b: PayloadBase) -> &'static str {
    crate::proto::selector::RAW_BASES.iter().find(|(_, pb)| *pb == b).map_or("ll", |(w, _)| *w)
}

/// `{"exthdr": {"name", "field"}}`, `{"tcp option": …}`, `{"ip option": …}`,
/// `{"sctp chunk": …}`, `{"dccp option": {"type": n}}`; without `field` for presence tests.
pub(super) fn exthdr(x: &crate::ir::Exthdr, reset: bool) -> Json {
    if x.op == ExthdrOp::Dccp {
        return Json::single("dccp option", Json::object([("type", Json::int(x.kind))]));
    }
    let key = match x.op {
        ExthdrOp::TcpOpt => "tcp option",
        ExthdrOp::Ipv4 => "ip option",
        ExthdrOp::Sctp => "sctp chunk",
        _ => "exthdr",
    };
    // Raw options (`@kind,off,len`, and TCP options known only by number) list as
    // `{"base": kind, "offset", "len"}`; a presence test reads one byte, a reset none.
    let raw = x.field.as_ref().is_some_and(|f| f.name.is_empty());
    if raw || (x.op == ExthdrOp::TcpOpt && x.header.name.is_empty()) {
        let (offset, len) = match &x.field {
            Some(f) => (f.offset, f.len),
            None if reset => (0, 0),
            None => (0, 8),
        };
        return Json::single(
            key,
            Json::object([
                ("base", Json::int(x.kind)),
                ("offset", Json::int(offset)),
                ("len", Json::int(len)),
            ]),
        );
    }
    let name = if x.header.name.is_empty() { x.kind.to_string() } else { x.header.name.to_string() };
    let mut o = Json::object([("name", Json::str(name))]);
    match (&x.field, x.index) {
        (Some(f), Some(i)) => o.push("field", Json::str(format!("{}[{i}]", f.name))),
        (Some(f), None) => o.push("field", Json::str(f.name)),
        (None, _) => {}
    }
    Json::single(key, o)
}
