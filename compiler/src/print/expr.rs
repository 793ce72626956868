//! Expressions as nft lists them: selectors by their canonical names, constants by their
//! datatypes (flag lists with `,` after an implicit flag match and ` | ` elsewhere), ranges
//! numerically, anonymous sets sorted and (for interval sets) decomposed into the prefixes,
//! ranges and single values the kernel hands back.

use super::ListOpts;
use crate::ir::{BinOp, Expr, ExprKind, SetElem, Verdict};
use crate::proto::rt::RtKey;
use crate::types::{ByteOrder, PrintOpts, Type, Value};
use nftvm_vm::keys::{CtDir, CtKey, PayloadBase};

/// How a bitmask constant with several bits prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flags {
    /// By its datatype (`0xff`).
    Plain,
    /// `established,related` (implicit flag matches).
    List,
    /// `syn | ack` (binary operands, comparison values, set elements).
    Binop,
}

/// Printing context: options and the rule's table.
#[derive(Clone, Copy)]
pub(super) struct Printer<'a> {
    pub opts: ListOpts,
    pub table: Option<&'a crate::ir::Table>,
    /// Map data are intervals (`: interval ipv4_addr`): single addresses list as `/32`.
    pub interval_data: bool,
}

impl Printer<'_> {
    fn vopts(&self) -> PrintOpts {
        self.opts.values
    }

    /// Any expression, in the default context.
    pub fn expr(&self, e: &Expr) -> String {
        self.expr_in(e, Flags::Binop)
    }

    /// An expression with a given flag style for bitmask constants.
    pub fn expr_in(&self, e: &Expr, flags: Flags) -> String {
        match &e.kind {
            ExprKind::Value(v) => self.value(e.ty, v, flags, self.vopts()),
            ExprKind::Prefix { value, len } => self.prefix(e.ty, value, *len),
            ExprKind::Range { low, high } => {
                let o = numeric(self.vopts());
                format!(
                    "{}-{}",
                    self.value(e.ty, low, Flags::Plain, o),
                    self.value(e.ty, high, Flags::Plain, o)
                )
            }
            ExprKind::CatchAll => "*".into(),
            ExprKind::Verdict(v) => self.verdict(v),
            ExprKind::Concat(parts) => {
                parts.iter().map(|p| self.expr_in(p, flags)).collect::<Vec<_>>().join(" . ")
            }
            ExprKind::Set(s) => {
                self.set_lit(&s.elems, s.interval || s.elems.iter().any(|e| is_interval(&e.key)), true)
            }
            ExprKind::SetRef(name) => format!("@{name}"),
            ExprKind::Map(m) => {
                let kw = if e.ty == Type::Verdict { "vmap" } else { "map" };
                let inner = Printer { interval_data: map_has_interval_data(&m.map), ..*self };
                format!("{} {kw} {}", self.expr(&m.key), inner.expr(&m.map))
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            _ => self.load(e),
        }
    }

    fn binary(&self, op: BinOp, lhs: &Expr, rhs: &Expr) -> String {
        let arg = |x: &Expr| {
            let s = self.expr_in(x, Flags::Binop);
            let child = match &x.kind {
                ExprKind::Binary { op: o, .. } => Some(o.precedence()),
                ExprKind::Value(v)
                    if x.ty.is_flag_set() && v.to_u128().is_some_and(|n| n.count_ones() > 1) =>
                {
                    Some(BinOp::Or.precedence())
                }
                _ => None,
            };
            match child {
                Some(c) if op.precedence() < c => format!("({s})"),
                _ => s,
            }
        };
        format!("{} {} {}", arg(lhs), op.symbol(), arg(rhs))
    }

    /// A constant.
    pub fn value(&self, ty: Type, v: &Value, flags: Flags, opts: PrintOpts) -> String {
        if ty.is_flag_set() && v.to_u128().is_some_and(|n| n.count_ones() > 1) {
            return match flags {
                Flags::Plain => ty.print(v, &opts),
                Flags::List => ty.print_flags(v, ",", &opts),
                Flags::Binop => ty.print_flags(v, " | ", &opts),
            };
        }
        if ty == Type::Invalid {
            return crate::types::Type::XInteger.print(v, &opts);
        }
        ty.print(v, &opts)
    }

    fn prefix(&self, ty: Type, v: &Value, len: u32) -> String {
        if ty.is_string() {
            let text = v.to_str_lossy();
            let head: String = text.chars().take((len / 8) as usize).collect();
            return format!("\"{head}*\"");
        }
        format!("{}/{len}", self.value(ty, v, Flags::Plain, self.vopts()))
    }

    pub fn verdict(&self, v: &Verdict) -> String {
        v.text()
    }

    /// A load's canonical selector text.
    pub fn load(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Payload(p) => p.name(),
            ExprKind::Meta(k) => crate::proto::meta::info(*k).printed(),
            ExprKind::InnerMeta { tunnel, key } => {
                format!("{} {}", tunnel.name(), crate::proto::meta::info(*key).printed())
            }
            ExprKind::Ct(c) => ct_name(c.key, c.dir, e.bits),
            ExprKind::Exthdr(x) => {
                let sel = crate::proto::selector::Selector::Exthdr {
                    op: x.op,
                    header: x.header,
                    kind: x.kind,
                    field: x.field,
                    index: x.index,
                };
                sel.canonical()
            }
            ExprKind::Rt(k) => match k {
                RtKey::Nexthop4 => "rt ip nexthop".into(),
                RtKey::Nexthop6 => "rt ip6 nexthop".into(),
                RtKey::Classid => "rt classid".into(),
                RtKey::TcpMss => "rt mtu".into(),
                RtKey::Xfrm => "rt ipsec".into(),
            },
            ExprKind::Fib(f) => {
                let flags = f.flags & !crate::proto::fib::flags::PRESENT;
                format!("fib {} {}", crate::proto::fib::print_flags(flags), f.result.token())
            }
            ExprKind::Socket { key, level } => {
                let info = crate::proto::socket::SOCKET_KEYS.iter().find(|k| k.key == *key);
                let tok = info.map_or("?", |k| k.token);
                if info.is_some_and(|k| k.takes_level) {
                    format!("socket {tok} level {level}")
                } else {
                    format!("socket {tok}")
                }
            }
            ExprKind::Osf { ttl, version } => {
                let sel = crate::proto::selector::Selector::Osf { ttl: *ttl, version: *version };
                sel.canonical()
            }
            ExprKind::Numgen(n) => {
                let mut s = format!("numgen {} mod {}", n.mode.token(), n.modulus);
                if n.offset != 0 {
                    s.push_str(&format!(" offset {}", n.offset));
                }
                s
            }
            ExprKind::Hash(h) => {
                let mut s = h.kind.token().to_string();
                if let Some(x) = &h.expr {
                    s.push(' ');
                    s.push_str(&self.expr(x));
                }
                s.push_str(&format!(" mod {}", h.modulus));
                if let Some(seed) = h.seed {
                    s.push_str(&format!(" seed 0x{seed:x}"));
                }
                if h.offset != 0 {
                    s.push_str(&format!(" offset {}", h.offset));
                }
                s
            }
            ExprKind::Ipsec { dir, spnum, key } => {
                let sel = crate::proto::selector::Selector::Ipsec { dir: *dir, spnum: *spnum, key: *key };
                sel.canonical()
            }
            ExprKind::Tunnel(k) => format!("tunnel {}", k.token()),
            _ => self.expr(e),
        }
    }

    /// `{ a, b }` with nft's element order and interval decomposition.
    pub fn set_lit(&self, elems: &[SetElem], interval: bool, anonymous: bool) -> String {
        let items = self.set_items(elems, interval, anonymous);
        format!("{{ {} }}", items.join(", "))
    }

    /// The printed elements, in listing order.
    pub fn set_items(&self, elems: &[SetElem], interval: bool, merge: bool) -> Vec<String> {
        let ordered = order_elems(elems, interval, merge);
        ordered.iter().map(|e| self.elem(e)).collect()
    }

    /// One element: key, statements, timeout, expiry, comment, data.
    pub fn elem(&self, e: &SetElem) -> String {
        let mut s = self.expr_in(&e.key, Flags::Binop);
        for st in &e.stmts {
            s.push(' ');
            s.push_str(&super::stmt::stmt_text(self, st, &crate::ir::Rule::new(Vec::new())));
        }
        if let Some(t) = e.timeout {
            s.push_str(" timeout ");
            if t == u64::MAX {
                s.push_str("never");
            } else {
                s.push_str(&crate::types::format_relative_ms(t, &self.vopts()));
            }
        }
        if let (Some(x), false) = (e.expires, self.opts.stateless)
            && e.timeout != Some(u64::MAX)
        {
            s.push_str(" expires ");
            s.push_str(&crate::types::format_relative_ms(x, &self.vopts()));
        }
        if let Some(c) = &e.comment {
            s.push_str(&format!(" comment \"{c}\""));
        }
        if let Some(d) = &e.data {
            s.push_str(" : ");
            if self.interval_data {
                s.push_str(&self.interval_value(d));
            } else {
                s.push_str(&self.expr_in(d, Flags::Binop));
            }
        }
        s
    }
}

impl Printer<'_> {
    /// A value of interval map data: single addresses as full-length prefixes, aligned
    /// address ranges as prefixes (members of concatenations keep single values).
    fn interval_value(&self, d: &Expr) -> String {
        match &d.kind {
            ExprKind::Concat(parts) => parts
                .iter()
                .map(|m| match bounds(m) {
                    Some((lo, hi)) if lo != hi => self.expr(&interval_key(m, lo, hi)),
                    _ => self.expr(m),
                })
                .collect::<Vec<_>>()
                .join(" . "),
            _ => match bounds(d) {
                Some((lo, hi)) if d.ty.takes_prefix() && lo == hi => {
                    format!("{}/{}", self.expr(d), d.bits)
                }
                Some((lo, hi)) => self.expr(&interval_key(d, lo, hi)),
                None => self.expr(d),
            },
        }
    }
}

/// Whether an anonymous map's data are intervals (ranges or prefixes).
pub(super) fn map_has_interval_data(map: &Expr) -> bool {
    let ExprKind::Set(s) = &map.kind else { return false };
    s.elems.iter().any(|e| e.data.as_ref().is_some_and(is_interval))
}

/// The canonical form of an address range: a prefix when it is one.
pub(super) fn range_to_prefix(e: &Expr) -> Expr {
    match (&e.kind, bounds(e)) {
        (ExprKind::Range { .. }, Some((lo, hi))) => interval_key(e, lo, hi),
        _ => e.clone(),
    }
}

/// `-nnn`-style options for range bounds (nft prints ranges numerically).
fn numeric(_base: PrintOpts) -> PrintOpts {
    PrintOpts {
        numeric_proto: true,
        numeric_symbol: true,
        numeric_time: true,
        service_names: false,
        guid_names: false,
    }
}

/// The listed name of a ct key (`ct original ip saddr`, `ct protocol`, `ct reply zone`).
pub(super) fn ct_name(key: CtKey, dir: Option<CtDir>, bits: u32) -> String {
    let info = crate::proto::ct::info(key);
    let token = match key {
        CtKey::Src | CtKey::Dst => {
            let fam = if bits == 128 { "ip6" } else { "ip" };
            format!("{fam} {}", info.token)
        }
        _ => info.token.to_string(),
    };
    match (dir, info.dir) {
        (Some(d), crate::proto::ct::DirRule::Optional | crate::proto::ct::DirRule::Required) => {
            format!("ct {} {token}", d.name())
        }
        _ => format!("ct {token}"),
    }
}

pub(super) fn is_interval(k: &Expr) -> bool {
    match &k.kind {
        ExprKind::Range { .. } => true,
        ExprKind::Prefix { .. } => !k.ty.is_string(),
        ExprKind::Concat(m) => m.iter().any(is_interval),
        _ => false,
    }
}

/// nft's element sort key (`expr_msort_value`): numbers as big-endian bytes, strings by
/// their bytes, concatenations member by member, ranges by their low end; catch-all last.
/// A bitmask of several flags is listed as `a | b | …` (an OR expression, sorted by its
/// left operand): its key is its lowest flag, and flags with the same lowest flag keep
/// their order.
fn sort_key(e: &Expr) -> Vec<u8> {
    match &e.kind {
        ExprKind::Value(v) if e.ty.is_bitmask() => {
            let lowest = v.to_u128().map(|n| n & n.wrapping_neg());
            match lowest.and_then(|n| Value::from_uint(v.bits(), v.order(), n).ok()) {
                Some(flag) => num_key(e.ty, &flag),
                None => num_key(e.ty, v),
            }
        }
        ExprKind::Value(v) | ExprKind::Prefix { value: v, .. } | ExprKind::Range { low: v, .. } => {
            num_key(e.ty, v)
        }
        ExprKind::Concat(m) => m.iter().flat_map(sort_key).collect(),
        ExprKind::CatchAll => vec![0xff; 64],
        ExprKind::Binary { lhs, .. } => sort_key(lhs),
        _ => Vec::new(),
    }
}

fn num_key(ty: Type, v: &Value) -> Vec<u8> {
    if ty.is_string() || v.order() == ByteOrder::Network {
        return v.bytes().to_vec();
    }
    let mut b = v.bytes().to_vec();
    b.reverse();
    b
}

/// The elements in listing order; interval keys decomposed into canonical pieces and, for
/// `merge` (anonymous and auto-merge sets), overlapping or adjacent intervals joined.
pub(super) fn order_elems(elems: &[SetElem], interval: bool, merge: bool) -> Vec<SetElem> {
    let concat = elems.iter().any(|e| matches!(e.key.kind, ExprKind::Concat(_)));
    if interval && concat {
        // Concatenated interval sets (pipapo) list in insertion order.
        return elems.iter().map(|e| canonical_elem(e.clone())).collect();
    }
    if !interval || concat {
        let mut v: Vec<SetElem> = elems.iter().map(|e| canonical_elem(e.clone())).collect();
        v.sort_by_key(|e| sort_key(&e.key));
        return v;
    }
    // Single-field interval set: work on [low, high] numbers.
    let mut spans: Vec<(u128, u128, SetElem)> = Vec::new();
    let mut others: Vec<SetElem> = Vec::new();
    for e in elems {
        match bounds(&e.key) {
            Some((lo, hi)) => spans.push((lo, hi, e.clone())),
            None => others.push(e.clone()),
        }
    }
    spans.sort_by_key(|(lo, hi, _)| (*lo, *hi));
    if merge {
        let mut merged: Vec<(u128, u128, SetElem)> = Vec::new();
        for (lo, hi, e) in spans {
            if let Some(last) = merged.last_mut()
                && e.data == last.2.data
                && lo <= last.1.saturating_add(1)
            {
                last.1 = last.1.max(hi);
                continue;
            }
            merged.push((lo, hi, e));
        }
        spans = merged;
    }
    let mut out: Vec<SetElem> = spans
        .into_iter()
        .map(|(lo, hi, mut e)| {
            e.key = interval_key(&e.key, lo, hi);
            e
        })
        .collect();
    others.sort_by_key(|e| sort_key(&e.key));
    out.extend(others);
    out
}

/// `[low, high]` of an interval-set key as numbers.
pub(super) fn bounds(k: &Expr) -> Option<(u128, u128)> {
    match &k.kind {
        ExprKind::Value(v) if !k.ty.is_string() => {
            let n = v.to_u128()?;
            Some((n, n))
        }
        ExprKind::Range { low, high } => Some((low.to_u128()?, high.to_u128()?)),
        ExprKind::Prefix { value, len } if !k.ty.is_string() => {
            let lo = value.to_u128()?;
            let hi = value.prefix_last(*len).ok()?.to_u128()?;
            Some((lo, hi))
        }
        _ => None,
    }
}

/// The canonical key for `[lo, hi]`: a value, an address prefix, or a range.
pub(super) fn interval_key(k: &Expr, lo: u128, hi: u128) -> Expr {
    let mk = |n: u128| Value::from_uint(k.bits, k.order, n);
    let (Ok(l), Ok(h)) = (mk(lo), mk(hi)) else { return k.clone() };
    if lo == hi {
        return k.constant(l);
    }
    let size = hi - lo;
    let is_prefix = size.checked_add(1).is_some_and(|n| n.is_power_of_two()) && lo & size == 0
        || (lo == 0 && hi == crate::types::value::max_for(k.bits));
    if is_prefix && k.ty.takes_prefix() {
        let host = (size.count_ones()).min(k.bits);
        return k.prefix(l, k.bits - host);
    }
    k.range(l, h)
}

/// Canonical forms of a non-interval element key (address prefixes of full length are
/// plain values; concatenated members decomposed like interval keys).
fn canonical_elem(mut e: SetElem) -> SetElem {
    if let ExprKind::Concat(members) = &mut e.key.kind {
        for m in members.iter_mut() {
            if let Some((lo, hi)) = bounds(m)
                && matches!(m.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. })
            {
                *m = interval_key(m, lo, hi);
            }
        }
    }
    e
}

/// Whether a payload is read at a base the listing names (used by callers for raw forms).
#[allow(dead_code)]
pub(super) fn is_raw_base(b: PayloadBase) -> bool {
    matches!(b, PayloadBase::Inner | PayloadBase::Tunnel)
}
