//! The selector resolver: from a word path the grammar read (`tcp dport`, `ct original ip
//! saddr`, `iifname`, `tcp option maxseg size`, `fib saddr . iif oif`) to a structured
//! [`Selector`], taking the longest match and saying how many words it used, so the
//! evaluator knows where the selector ends and the value begins.
//!
//! Errors name the word (by index) and what was expected (`unknown ct key`, …).

use super::ct::{self, CtInfo, DirRule};
use super::exthdr::{self, ExtDesc, ExthdrOp};
use super::fib::{self, FibResult};
use super::meta::{self, MetaInfo};
use super::misc::{HashKind, NumgenType};
use super::rt::{self, RtInfo};
use super::socket::{self, SocketInfo};
use super::xfrm::{SPNUM_MAX, XfrmDir, XfrmKey};
use super::{Field, Proto, ipopt, osf, sctp_chunk, tcpopt};
use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::{CtDir, CtKey, Family, PayloadBase};

/// What a selector reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Selector {
    /// A header field (`tcp dport`).
    Payload { proto: Proto, field: Field },
    /// A field of a tunnelled packet (`vxlan ip saddr`, `gre ip protocol`).
    Inner { tunnel: Proto, inner: Box<Selector> },
    /// `meta <key>` or its unqualified form.
    Meta(&'static MetaInfo),
    /// `ct [original|reply] <key>`.
    Ct { key: &'static CtInfo, dir: Option<CtDir> },
    /// An extension header, option or chunk; `field: None` tests presence (`exists`).
    Exthdr { op: ExthdrOp, header: &'static ExtDesc, kind: u32, field: Option<Field>, index: Option<u32> },
    /// `rt [ip|ip6] <key>`; `family` is the protocol word if one was written.
    Rt { key: &'static RtInfo, family: Option<Family> },
    /// `fib <flags> <result>`.
    Fib { flags: u32, result: FibResult },
    /// `socket <key> [level N]`.
    Socket { key: &'static SocketInfo, level: Option<u32> },
    /// `osf [ttl loose|skip] name|version`.
    Osf { ttl: u8, version: bool },
    /// `numgen inc|random` (the grammar reads `mod N [offset M]`).
    Numgen(NumgenType),
    /// `jhash`/`symhash` (the grammar reads the rest).
    Hash(HashKind),
    /// `ipsec in|out [spnum N] <key>`.
    Ipsec { dir: XfrmDir, spnum: u32, key: XfrmKey },
    /// A raw payload `@ll|nh|th|ih,offset,length` (bits); the field is unnamed.
    Raw { base: PayloadBase, field: Field },
    /// `tunnel path|id` (metadata of the tunnel a packet arrived on).
    Tunnel(TunnelKey),
}

/// `NFT_TUNNEL_*` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKey {
    /// Whether the packet came through a tunnel (boolean).
    Path = 0,
    /// The tunnel id (32-bit host order).
    Id = 1,
}

impl TunnelKey {
    pub fn token(self) -> &'static str {
        match self {
            TunnelKey::Path => "path",
            TunnelKey::Id => "id",
        }
    }
}

/// Raw payload bases and the words that name them.
pub static RAW_BASES: &[(&str, PayloadBase)] = &[
    ("ll", PayloadBase::Link),
    ("nh", PayloadBase::Network),
    ("th", PayloadBase::Transport),
    ("ih", PayloadBase::Inner),
];

/// Largest raw payload / raw option, in bits.
pub const RAW_MAX_BITS: u32 = 128;

/// Largest raw payload offset, in bits (64 KiB into the header).
pub const RAW_MAX_OFFSET: u32 = 0xffff * 8;

/// Parse `@base,offset,len` (`base` None for raw tcp options: `@kind,offset,len`).
fn parse_raw(word: &str) -> Option<(&str, u32, u32)> {
    let body = word.strip_prefix('@')?;
    let mut parts = body.split(',');
    let (b, off, len) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (off, len): (u32, u32) = (off.parse().ok()?, len.parse().ok()?);
    (off <= RAW_MAX_OFFSET).then_some((b, off, len))
}

/// A resolved selector and the number of words it used.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub selector: Selector,
    pub consumed: usize,
}

/// A word that does not continue a selector: its index in the path and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub word: usize,
    pub message: String,
}

fn fail<T>(word: usize, message: impl Into<String>) -> Result<T, SelectorError> {
    Err(SelectorError { word, message: message.into() })
}

impl Selector {
    /// Datatype, width in bits and byte order of what the selector yields; None when it
    /// depends on the rule's network protocol (`ct original saddr`, `rt nexthop` in inet).
    pub fn value_type(&self) -> Option<(Type, u32, ByteOrder)> {
        match self {
            Selector::Payload { field, .. } => Some((field.ty, field.len, field.order)),
            Selector::Inner { inner, .. } => inner.value_type(),
            Selector::Meta(m) => Some((m.ty, m.bits, m.order)),
            Selector::Ct { key, .. } => key.ty.map(|t| (t, key.bits, key.order)),
            Selector::Exthdr { field: Some(f), .. } => Some((f.ty, f.len, f.order)),
            Selector::Exthdr { field: None, .. } => Some((Type::Boolean, 1, ByteOrder::Host)),
            Selector::Rt { key, .. } => Some((key.ty, key.bits, key.order)),
            Selector::Fib { result, .. } => Some(result.value_type()),
            Selector::Socket { key, .. } => Some((key.ty, key.bits, key.order)),
            Selector::Osf { .. } => Some(osf::TYPE),
            Selector::Numgen(_) | Selector::Hash(_) => Some(super::misc::RESULT),
            Selector::Ipsec { key, .. } => Some(key.value_type()),
            Selector::Raw { field, .. } => Some((field.ty, field.len, field.order)),
            Selector::Tunnel(TunnelKey::Path) => Some((Type::Boolean, 8, ByteOrder::Host)),
            Selector::Tunnel(TunnelKey::Id) => Some((Type::Integer, 32, ByteOrder::Host)),
        }
    }

    /// The largest value a match may use when it is below what the width allows (`socket
    /// transparent` is a byte holding 0 or 1); the evaluator reports "Value N exceeds valid
    /// range 0-MAX".
    pub fn max_value(&self) -> Option<u128> {
        match self {
            Selector::Socket { key, .. } => key.max_value,
            _ => None,
        }
    }

    /// The text nft lists once the rule's network protocol is known: `ct original saddr`
    /// lists as `ct original ip saddr` (ip) or `ct original ip6 saddr` (ip6), `rt nexthop`
    /// as `rt ip6 nexthop` in ip6.
    pub fn canonical_in(&self, network: Option<Family>) -> String {
        match (self, network) {
            (Selector::Ct { key, dir: Some(d) }, Some(f @ (Family::Ip | Family::Ip6)))
                if matches!(key.key, CtKey::Src | CtKey::Dst) =>
            {
                format!("ct {} {} {}", d.name(), f.name(), key.token)
            }
            (Selector::Rt { key, family: None }, Some(Family::Ip6)) if key.needs_nfproto => {
                format!("rt ip6 {}", key.token)
            }
            _ => self.canonical(),
        }
    }

    /// The text nft lists for the selector.
    pub fn canonical(&self) -> String {
        match self {
            Selector::Payload { proto, field } => format!("{} {}", proto.name(), field.name),
            Selector::Inner { tunnel, inner } => format!("{} {}", tunnel.name(), inner.canonical()),
            Selector::Meta(m) => m.printed(),
            Selector::Ct { key, dir } => match (dir, key.dir) {
                (Some(d), DirRule::Optional | DirRule::Required) => format!("ct {} {}", d.name(), key.token),
                _ => format!("ct {}", key.token),
            },
            Selector::Exthdr { op, header, kind, field, index } => {
                let head = op.listing_prefix(field.is_none());
                let name = if header.name.is_empty() { kind.to_string() } else { header.name.to_string() };
                if let Some(f) = field
                    && f.name.is_empty()
                {
                    return format!("{head}@{kind},{},{}", f.offset, f.len);
                }
                match (field, index) {
                    (Some(f), Some(i)) => format!("{head}{name} {}[{i}]", f.name),
                    (Some(f), None) => format!("{head}{name} {}", f.name),
                    (None, _) => format!("{head}{name}"),
                }
            }
            Selector::Rt { key, family } => match (family, key.needs_nfproto) {
                (Some(Family::Ip6), true) => format!("rt ip6 {}", key.token),
                (_, true) if key.key == rt::RtKey::Nexthop6 => format!("rt ip6 {}", key.token),
                (_, true) => format!("rt ip {}", key.token),
                _ => format!("rt {}", key.token),
            },
            Selector::Fib { flags, result } => format!("fib {} {}", fib::print_flags(*flags), result.token()),
            Selector::Socket { key, level } => match level {
                Some(l) => format!("socket {} level {l}", key.token),
                None => format!("socket {}", key.token),
            },
            Selector::Osf { ttl, version } => {
                let ttl = osf::TTL_WORDS.iter().find(|&&(_, v)| v == *ttl).map(|(w, _)| format!("ttl {w} "));
                format!("osf {}{}", ttl.unwrap_or_default(), if *version { "version" } else { "name" })
            }
            Selector::Numgen(t) => format!("numgen {}", t.token()),
            Selector::Hash(h) => h.token().to_string(),
            Selector::Ipsec { dir, spnum, key } => {
                let dir = if *dir == XfrmDir::In { "in" } else { "out" };
                let sp = if *spnum != 0 { format!(" spnum {spnum}") } else { String::new() };
                format!("ipsec {dir}{sp} {}", key.token())
            }
            Selector::Raw { base, field } => {
                let b = RAW_BASES.iter().find(|(_, pb)| pb == base).map(|(w, _)| *w).unwrap_or("ll");
                format!("@{b},{},{}", field.offset, field.len)
            }
            Selector::Tunnel(k) => format!("tunnel {}", k.token()),
        }
    }
}

/// Resolve the longest selector at the start of `words`.
pub fn resolve(words: &[&str]) -> Result<Resolved, SelectorError> {
    let Some(&first) = words.first() else {
        return fail(0, "expected a selector");
    };
    let ok = |selector, consumed| Ok(Resolved { selector, consumed });
    match first {
        "meta" => {
            let Some(&w) = words.get(1) else { return fail(1, "expected a meta key") };
            match meta::by_token(w) {
                Some(m) => ok(Selector::Meta(m), 2),
                None => fail(1, format!("unknown meta key `{w}`")),
            }
        }
        "ct" => resolve_ct(words),
        "exthdr" => {
            let Some(&w) = words.get(1) else { return fail(1, "expected an IPv6 extension header name") };
            match exthdr::ipv6_header(w) {
                Some(h) => ok(
                    Selector::Exthdr {
                        op: ExthdrOp::Ipv6,
                        header: h,
                        kind: h.kind,
                        field: None,
                        index: None,
                    },
                    2,
                ),
                None => fail(1, format!("unknown IPv6 extension header `{w}`")),
            }
        }
        "rt" if words
            .get(1)
            .is_some_and(|w| matches!(*w, "classid" | "nexthop" | "mtu" | "ipsec" | "ip" | "ip6")) =>
        {
            resolve_rt(words)
        }
        "fib" => resolve_fib(words),
        "socket" => resolve_socket(words),
        "osf" => resolve_osf(words),
        "numgen" => match words.get(1).and_then(|w| NumgenType::from_token(w)) {
            Some(t) => ok(Selector::Numgen(t), 2),
            None => fail(1, "expected `inc` or `random` after numgen"),
        },
        "jhash" | "symhash" => match HashKind::from_token(first) {
            Some(h) => ok(Selector::Hash(h), 1),
            None => fail(0, "expected a hash"),
        },
        "ipsec" => resolve_ipsec(words),
        "tunnel" => match words.get(1) {
            Some(&"path") => ok(Selector::Tunnel(TunnelKey::Path), 2),
            Some(&"id") => ok(Selector::Tunnel(TunnelKey::Id), 2),
            _ => fail(1, "expected `path` or `id` after tunnel"),
        },
        raw if raw.starts_with('@') => {
            let Some((b, offset, len)) = parse_raw(raw) else {
                return fail(0, "expected a raw payload `@base,offset,length`");
            };
            let Some(&(_, base)) = RAW_BASES.iter().find(|(w, _)| *w == b) else {
                return fail(0, format!("unknown payload base `{b}`, expected ll, nh, th or ih"));
            };
            if len == 0 || len > RAW_MAX_BITS {
                return fail(0, format!("raw payload length {len} out of range 1-{RAW_MAX_BITS}"));
            }
            ok(Selector::Raw { base, field: Field::new("", Type::XInteger, offset, len) }, 1)
        }
        "tcp" if words.get(1) == Some(&"option") => resolve_option(words, ExthdrOp::TcpOpt),
        "ip" if words.get(1) == Some(&"option") => resolve_option(words, ExthdrOp::Ipv4),
        "sctp" if words.get(1) == Some(&"chunk") => resolve_option(words, ExthdrOp::Sctp),
        "dccp" if words.get(1) == Some(&"option") => resolve_option(words, ExthdrOp::Dccp),
        _ => {
            if let Some(proto) = Proto::from_name(first) {
                return resolve_payload(proto, words);
            }
            if let Some(h) = exthdr::ipv6_header(first) {
                return resolve_ipv6_exthdr(h, words);
            }
            if let Some(m) = meta::by_unqualified_token(first) {
                return ok(Selector::Meta(m), 1);
            }
            fail(0, format!("unknown selector `{first}`"))
        }
    }
}

fn field_names(fields: &[Field]) -> String {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

fn resolve_payload(proto: Proto, words: &[&str]) -> Result<Resolved, SelectorError> {
    let desc = proto.desc();
    let Some(&w) = words.get(1) else {
        return fail(1, format!("expected a {} field", proto.name()));
    };
    if let Some(inner) = desc.inner
        && let Some(inner_proto) = Proto::from_name(w)
        && inner_proto.desc().inner.is_none()
    {
        if inner.flags & super::tunnel::INNER_LL == 0 && inner_proto.base() == PayloadBase::Link {
            return fail(1, format!("{} does not carry a link layer header", proto.name()));
        }
        let inner =
            resolve_payload(inner_proto, &words[1..]).map_err(|e| SelectorError { word: e.word + 1, ..e })?;
        return Ok(Resolved {
            selector: Selector::Inner { tunnel: proto, inner: Box::new(inner.selector) },
            consumed: inner.consumed + 1,
        });
    }
    if let Some(&w2) = words.get(2) {
        let joined = format!("{w} {w2}");
        if let Some(field) = desc.field(&joined) {
            return Ok(Resolved { selector: Selector::Payload { proto, field: *field }, consumed: 3 });
        }
    }
    match desc.field(w) {
        Some(field) => Ok(Resolved { selector: Selector::Payload { proto, field: *field }, consumed: 2 }),
        None if desc.fields.iter().any(|f| f.name.starts_with(&format!("{w} "))) => {
            fail(2, format!("expected `ether` or `ip` after {} {w}", proto.name()))
        }
        None => fail(
            1,
            format!("unknown {} field `{w}`, expected one of: {}", proto.name(), field_names(desc.fields)),
        ),
    }
}

fn resolve_ipv6_exthdr(h: &'static ExtDesc, words: &[&str]) -> Result<Resolved, SelectorError> {
    let Some(&w) = words.get(1) else {
        return fail(1, format!("expected a {} field", h.name));
    };
    if let Some(f) = h.field(w) {
        return Ok(Resolved {
            selector: Selector::Exthdr {
                op: ExthdrOp::Ipv6,
                header: h,
                kind: h.kind,
                field: Some(*f),
                index: None,
            },
            consumed: 2,
        });
    }
    if let Some(ix) = h.indexed {
        let (name, n, consumed) = match exthdr::split_index(w) {
            Some((name, n)) => (name, Some(n), 2),
            None => {
                let n = words
                    .get(2)
                    .and_then(|s| s.strip_prefix('[').and_then(|s| s.strip_suffix(']')))
                    .and_then(|s| s.parse().ok());
                (w, n, 3)
            }
        };
        if name == ix.name {
            let Some(n) = n else { return fail(2, format!("expected `{}[N]`", ix.name)) };
            let Some(field) = ix.at(n) else {
                return fail(1, format!("{} index {n} out of range 1-{}", ix.name, ix.max));
            };
            return Ok(Resolved {
                selector: Selector::Exthdr {
                    op: ExthdrOp::Ipv6,
                    header: h,
                    kind: h.kind,
                    field: Some(field),
                    index: Some(n),
                },
                consumed,
            });
        }
    }
    fail(1, format!("unknown {} field `{w}`, expected one of: {}", h.name, field_names(h.fields)))
}

fn resolve_option(words: &[&str], op: ExthdrOp) -> Result<Resolved, SelectorError> {
    let what = match op {
        ExthdrOp::TcpOpt => "tcp option",
        ExthdrOp::Ipv4 => "ip option",
        ExthdrOp::Sctp => "sctp chunk",
        _ => "dccp option",
    };
    let Some(&w) = words.get(2) else { return fail(2, format!("expected a {what} name")) };
    if op == ExthdrOp::TcpOpt
        && let Some((kind, offset, len)) = parse_raw(w)
    {
        let kind: u32 = match kind.parse() {
            Ok(k) if k <= 255 => k,
            _ => return fail(2, "expected a raw tcp option `@kind,offset,length`"),
        };
        if len == 0 || len > RAW_MAX_BITS {
            return fail(2, format!("raw option length {len} out of range 1-{RAW_MAX_BITS}"));
        }
        let field = Field::new("", Type::Integer, offset, len);
        return Ok(Resolved {
            selector: Selector::Exthdr {
                op,
                header: &tcpopt::FALLBACK,
                kind,
                field: Some(field),
                index: None,
            },
            consumed: 3,
        });
    }
    let numeric = crate::types::parse_number(w);
    let header: &'static ExtDesc = match (op, numeric) {
        (ExthdrOp::TcpOpt, Some(n)) if n <= 255 => tcpopt::by_kind(n as u32).unwrap_or(&tcpopt::FALLBACK),
        (ExthdrOp::Dccp, Some(n)) if n <= 255 => &tcpopt::FALLBACK,
        (ExthdrOp::TcpOpt | ExthdrOp::Dccp, Some(n)) => {
            return fail(2, format!("Value {n} exceeds valid range 0-255"));
        }
        (ExthdrOp::TcpOpt, None) => tcpopt::by_name(w)
            .ok_or_else(|| SelectorError { word: 2, message: format!("unknown tcp option `{w}`") })?,
        (ExthdrOp::Ipv4, _) => ipopt::by_name(w)
            .ok_or_else(|| SelectorError { word: 2, message: format!("unknown ip option `{w}`") })?,
        (ExthdrOp::Sctp, _) => sctp_chunk::by_name(w)
            .ok_or_else(|| SelectorError { word: 2, message: format!("unknown sctp chunk `{w}`") })?,
        _ => return fail(2, format!("expected a {what} number")),
    };
    let kind = match numeric {
        Some(n) if header.name.is_empty() => n as u32,
        _ => header.kind,
    };
    let (field, consumed) = match words.get(3).and_then(|f| header.field(f)) {
        Some(f) => (Some(*f), 4),
        None => (None, 3),
    };
    if field.is_none()
        && let Some(&next) = words.get(3)
        && next.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !matches!(next, "exists" | "missing" | "set")
        && !header.fields.is_empty()
        && op != ExthdrOp::Dccp
    {
        let name = if header.name.is_empty() { w } else { header.name };
        return fail(
            3,
            format!("unknown {what} {name} field `{next}`, expected one of: {}", field_names(header.fields)),
        );
    }
    Ok(Resolved { selector: Selector::Exthdr { op, header, kind, field, index: None }, consumed })
}

fn resolve_ct(words: &[&str]) -> Result<Resolved, SelectorError> {
    let mut i = 1;
    let dir = match words.get(1) {
        Some(&"original") => Some(CtDir::Original),
        Some(&"reply") => Some(CtDir::Reply),
        Some(_) => None,
        None => return fail(1, "expected a ct key"),
    };
    if dir.is_some() {
        i = 2;
    }
    let Some(&w) = words.get(i) else { return fail(i, "expected a ct key") };
    let (key, consumed) = if matches!(w, "ip" | "ip6") {
        match words.get(i + 1).and_then(|f| ct::by_proto_field(w, f)) {
            Some(k) => (k, i + 2),
            None => return fail(i + 1, format!("expected `saddr` or `daddr` after ct {w}")),
        }
    } else {
        match ct::by_token(w) {
            Some(k) => (k, i + 1),
            None if dir.is_none() => {
                return fail(i, format!("unknown ct key `{w}`, expected a key or `original`/`reply`"));
            }
            None => return fail(i, format!("unknown ct key `{w}`")),
        }
    };
    match (key.dir, dir) {
        (DirRule::Forbidden, Some(_)) => fail(1, format!("ct {} does not take a direction", key.token)),
        (DirRule::Required, None) => {
            fail(i, format!("ct {} needs a direction: original or reply", key.token))
        }
        _ => Ok(Resolved { selector: Selector::Ct { key, dir }, consumed }),
    }
}

fn resolve_rt(words: &[&str]) -> Result<Resolved, SelectorError> {
    let (family, i) = match words.get(1) {
        Some(&"ip") => (Some(Family::Ip), 2),
        Some(&"ip6") => (Some(Family::Ip6), 2),
        _ => (None, 1),
    };
    let Some(&w) = words.get(i) else { return fail(i, "expected an rt key") };
    match rt::by_token(w, family) {
        Some(k) if family.is_some() && !k.needs_nfproto => {
            fail(1, format!("rt {w} does not take a protocol"))
        }
        Some(k) => Ok(Resolved { selector: Selector::Rt { key: k, family }, consumed: i + 1 }),
        None => fail(i, format!("unknown rt key `{w}`")),
    }
}

fn resolve_fib(words: &[&str]) -> Result<Resolved, SelectorError> {
    let mut flags = 0;
    let mut i = 1;
    loop {
        let Some(&w) = words.get(i) else {
            return fail(i, "expected a fib flag (saddr, daddr, mark, iif, oif)");
        };
        let Some(f) = fib::flag(w) else { return fail(i, format!("unknown fib flag `{w}`")) };
        flags |= f;
        i += 1;
        if words.get(i) == Some(&".") {
            i += 1;
            continue;
        }
        // A flag word directly followed by another flag word (no dot) is accepted when the
        // grammar hands concatenations over as separate words.
        if words.get(i).and_then(|w| fib::flag(w)).is_some() && words.get(i + 1).is_some() {
            let next_is_result = words.get(i).and_then(|w| FibResult::from_token(w)).is_some();
            if !next_is_result || words.get(i + 1).and_then(|w| fib::flag(w)).is_some() {
                continue;
            }
        }
        break;
    }
    let Some(&w) = words.get(i) else { return fail(i, "expected a fib result (oif, oifname, type, check)") };
    let Some(result) = FibResult::from_token(w) else { return fail(i, format!("unknown fib result `{w}`")) };
    if let Err(msg) = fib::validate(flags, result) {
        return fail(1, msg);
    }
    Ok(Resolved { selector: Selector::Fib { flags, result }, consumed: i + 1 })
}

fn resolve_socket(words: &[&str]) -> Result<Resolved, SelectorError> {
    let Some(&w) = words.get(1) else { return fail(1, "expected a socket key") };
    let Some(key) = socket::by_token(w) else { return fail(1, format!("unknown socket key `{w}`")) };
    if !key.takes_level {
        return Ok(Resolved { selector: Selector::Socket { key, level: None }, consumed: 2 });
    }
    if words.get(2) != Some(&"level") {
        return fail(2, "expected `level`");
    }
    match words.get(3).and_then(|n| n.parse::<u32>().ok()) {
        Some(level) => Ok(Resolved { selector: Selector::Socket { key, level: Some(level) }, consumed: 4 }),
        None => fail(3, "expected a cgroup level number"),
    }
}

fn resolve_osf(words: &[&str]) -> Result<Resolved, SelectorError> {
    let mut i = 1;
    let mut ttl = 0;
    if words.get(1) == Some(&"ttl") {
        let Some(t) = words.get(2).and_then(|w| osf::ttl(w)) else {
            return fail(2, "expected `loose` or `skip` after osf ttl");
        };
        ttl = t;
        i = 3;
    }
    match words.get(i) {
        Some(&"name") => Ok(Resolved { selector: Selector::Osf { ttl, version: false }, consumed: i + 1 }),
        Some(&"version") => Ok(Resolved { selector: Selector::Osf { ttl, version: true }, consumed: i + 1 }),
        _ => fail(i, "expected `name` or `version`"),
    }
}

fn resolve_ipsec(words: &[&str]) -> Result<Resolved, SelectorError> {
    let Some(dir) = words.get(1).and_then(|w| XfrmDir::from_token(w)) else {
        return fail(1, "expected `in` or `out` after ipsec");
    };
    let mut i = 2;
    let mut spnum = 0;
    if words.get(2) == Some(&"spnum") {
        let n = words.get(3).and_then(|w| crate::types::parse_number(w));
        match n {
            Some(n) if n <= u128::from(SPNUM_MAX) => spnum = n as u32,
            Some(_) => return fail(3, "value too large"),
            None => return fail(3, "expected an spnum number"),
        }
        i = 4;
    }
    let key = match words.get(i) {
        Some(&"spi") => (XfrmKey::Spi, i + 1),
        Some(&"reqid") => (XfrmKey::Reqid, i + 1),
        Some(&p @ ("ip" | "ip6")) => {
            let family = if p == "ip" { Family::Ip } else { Family::Ip6 };
            match words.get(i + 1).and_then(|f| XfrmKey::address(family, f)) {
                Some(k) => (k, i + 2),
                None => return fail(i + 1, format!("expected `saddr` or `daddr` after ipsec {p}")),
            }
        }
        _ => return fail(i, "expected an ipsec key (spi, reqid, ip/ip6 saddr/daddr)"),
    };
    Ok(Resolved { selector: Selector::Ipsec { dir, spnum, key: key.0 }, consumed: key.1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nftvm_vm::keys::MetaKey;

    fn r(path: &str) -> Resolved {
        let words: Vec<&str> = path.split_whitespace().collect();
        resolve(&words).unwrap_or_else(|e| panic!("{path}: {e:?}"))
    }

    fn e(path: &str) -> SelectorError {
        let words: Vec<&str> = path.split_whitespace().collect();
        resolve(&words).expect_err(path)
    }

    #[test]
    fn payload_fields_stop_before_the_value() {
        let x = r("tcp dport ssh");
        assert_eq!(x.consumed, 2);
        assert_eq!(x.selector.canonical(), "tcp dport");
        assert_eq!(x.selector.value_type(), Some((Type::InetService, 16, ByteOrder::Network)));
        assert_eq!(r("ip6 nexthdr").consumed, 2);
        assert_eq!(r("arp saddr ip 1.2.3.4").consumed, 3);
        assert_eq!(r("arp daddr ether 1:2:3:4:5:6").selector.canonical(), "arp daddr ether");
        assert_eq!(r("vlan id 1").selector.canonical(), "vlan id");
        assert!(e("ip foo").message.contains("unknown ip field `foo`"));
        assert_eq!(e("tcp").word, 1);
    }

    #[test]
    fn meta_and_unqualified_keys() {
        let x = r("iifname \"eth0\"");
        assert_eq!(x.consumed, 1);
        assert!(matches!(x.selector, Selector::Meta(m) if m.key == MetaKey::IifName));
        assert_eq!(r("meta mark 1").selector.canonical(), "meta mark");
        assert_eq!(r("mark 1").selector.canonical(), "meta mark");
        assert_eq!(r("meta iif lo").selector.canonical(), "iif");
        assert_eq!(r("meta l4proto tcp").consumed, 2);
        assert!(e("meta foo").message.contains("unknown meta key"));
        assert!(e("l4proto 6").message.contains("unknown selector"));
    }

    #[test]
    fn ct_keys_and_directions() {
        let x = r("ct original ip saddr 1.2.3.4");
        assert_eq!(x.consumed, 4);
        assert!(
            matches!(x.selector, Selector::Ct { key, dir: Some(CtDir::Original) } if key.key == CtKey::SrcIp)
        );
        assert_eq!(r("ct state new").consumed, 2);
        assert_eq!(r("ct reply zone 1").selector.canonical(), "ct reply zone");
        assert_eq!(r("ct original protocol 17").selector.canonical(), "ct protocol");
        let s = r("ct original saddr 1.2.3.4");
        assert_eq!(s.selector.value_type(), None);
        assert_eq!(s.selector.canonical_in(Some(Family::Ip)), "ct original ip saddr");
        assert_eq!(r("rt nexthop fd00::1").selector.canonical_in(Some(Family::Ip6)), "rt ip6 nexthop");
        assert!(e("ct original mark 42").message.contains("does not take a direction"));
        assert!(e("ct both bytes gt 1").message.contains("unknown ct key `both`"));
        assert!(e("ct ip saddr 1.2.3.4").message.contains("needs a direction"));
        assert!(e("ct invalid").message.contains("unknown ct key"));
        // `ct mark original`: the selector ends at `mark`; `original` is then a bad mark value.
        assert_eq!(r("ct mark original").consumed, 2);
    }

    #[test]
    fn options_chunks_and_extension_headers() {
        let x = r("tcp option maxseg size 1");
        assert_eq!(x.consumed, 4);
        assert_eq!(x.selector.value_type(), Some((Type::Integer, 16, ByteOrder::Network)));
        assert_eq!(r("tcp option sack0 left 1").selector.canonical(), "tcp option sack left");
        let p = r("tcp option eol exists");
        assert_eq!(p.consumed, 3);
        assert_eq!(p.selector.value_type(), Some((Type::Boolean, 1, ByteOrder::Host)));
        assert_eq!(r("tcp option 6 exists").selector.canonical(), "tcp option 6");
        assert_eq!(r("tcp option 2 exists").selector.canonical(), "tcp option maxseg");
        assert!(e("tcp option foobar").message.contains("unknown tcp option"));
        assert!(e("tcp option sack window 1").message.contains("unknown tcp option sack field"));
        assert!(e("tcp option 256 exists").message.contains("0-255"));
        assert_eq!(r("sctp chunk init num-inbound-streams 1").consumed, 4);
        assert_eq!(r("sctp chunk data exists").consumed, 3);
        assert_eq!(r("ip option rr ptr 1").consumed, 4);
        assert_eq!(r("exthdr hbh exists").selector.canonical(), "exthdr hbh");
        assert_eq!(r("frag more-fragments 1").selector.canonical(), "frag more-fragments");
        assert_eq!(r("srh sid[2] dead::beef").selector.canonical(), "srh sid[2]");
        assert_eq!(r("rt0 addr[1] ::1").consumed, 2);
        assert_eq!(r("rt type 0").selector.canonical(), "rt type");
        assert_eq!(r("mh type 1").selector.value_type(), Some((Type::MhType, 8, ByteOrder::Network)));
    }

    #[test]
    fn routing_fib_socket_osf_ipsec() {
        assert_eq!(r("rt nexthop 1.2.3.4").selector.canonical(), "rt ip nexthop");
        assert_eq!(r("rt ip6 nexthop fd00::1").selector.canonical(), "rt ip6 nexthop");
        assert_eq!(r("rt classid \"cosmos\"").selector.canonical(), "rt classid");
        assert!(e("rt ip classid 1").message.contains("does not take a protocol"));
        let f = r("fib saddr . iif oif 0");
        assert_eq!(f.consumed, 5);
        assert_eq!(f.selector.canonical(), "fib saddr . iif oif");
        assert_eq!(r("fib daddr check exists").selector.canonical(), "fib daddr check");
        assert!(e("fib saddr . daddr oif lo").message.contains("mutually exclusive"));
        assert!(e("fib mark oif lo").message.contains("need either saddr or daddr"));
        assert_eq!(r("socket cgroupv2 level 1 \"x\"").consumed, 4);
        assert_eq!(r("socket transparent 1").consumed, 2);
        assert_eq!(r("socket transparent 1").selector.max_value(), Some(1));
        assert_eq!(r("osf ttl loose name \"Linux\"").selector.canonical(), "osf ttl loose name");
        assert!(e("osf ttl nottl name").message.contains("loose"));
        assert_eq!(r("ipsec in spnum 2 ip saddr 1.2.3.4").consumed, 6);
        assert_eq!(r("ipsec in spnum 0 reqid 1").selector.canonical(), "ipsec in reqid");
        assert!(e("ipsec in spnum 256 reqid 1").message.contains("too large"));
        assert!(e("ipsec i reqid 1").message.contains("`in` or `out`"));
        assert_eq!(r("numgen inc mod 2").consumed, 2);
        assert_eq!(r("jhash ip saddr mod 2").consumed, 1);
    }

    #[test]
    fn raw_payloads_and_tunnel_metadata() {
        let x = r("@nh,8,8 0xff");
        assert_eq!(x.consumed, 1);
        assert_eq!(x.selector.canonical(), "@nh,8,8");
        assert_eq!(x.selector.value_type(), Some((Type::XInteger, 8, ByteOrder::Network)));
        assert!(e("@ll,0,0 2").message.contains("out of range"));
        assert!(e("@xx,0,8 1").message.contains("unknown payload base"));
        assert!(e("@nh,4294967295,8 1").message.contains("expected a raw payload"));
        let (ty, bits, order) = r("@th,16,1 2").selector.value_type().unwrap();
        assert!(ty.parse_as("2", bits, order).is_err());
        assert_eq!(r("tcp option @255,8,8 255").selector.canonical(), "tcp option @255,8,8");
        assert_eq!(r("tunnel id 10").selector.canonical(), "tunnel id");
        assert_eq!(r("meta secpath exists").selector.canonical(), "meta ipsec");
    }

    #[test]
    fn any_word_sequence_resolves_or_errors() {
        let vocab = [
            "ct", "original", "reply", "ip", "ip6", "saddr", "tcp", "option", "sack", "left", "meta", "mark",
            "fib", ".", "oif", "check", "socket", "cgroupv2", "level", "osf", "ttl", "ipsec", "in", "spnum",
            "rt", "srh", "sid[99]", "addr", "[1]", "@nh,1,2", "@", "vxlan", "gre", "exthdr", "numgen", "",
            "tunnel", "sctp", "chunk",
        ];
        let mut words = Vec::new();
        for a in vocab {
            for b in vocab {
                for c in ["saddr", "1", "exists", "."] {
                    words.clear();
                    words.extend([a, b, c]);
                    if let Ok(r) = resolve(&words) {
                        assert!(r.consumed >= 1 && r.consumed <= words.len());
                        let _ = (r.selector.canonical(), r.selector.value_type());
                    }
                }
            }
        }
        assert!(resolve(&[]).is_err());
    }

    #[test]
    fn tunnels_wrap_inner_selectors() {
        let x = r("vxlan ip saddr 10.0.0.1");
        assert_eq!(x.consumed, 3);
        assert_eq!(x.selector.canonical(), "vxlan ip saddr");
        assert_eq!(r("vxlan vni 10").selector.canonical(), "vxlan vni");
        assert_eq!(r("gre ip protocol 1").consumed, 3);
        assert_eq!(r("gre version 0").consumed, 2);
        assert!(e("gre ether saddr 62:87:4d:d6:19:05").message.contains("link layer"));
        assert_eq!(r("gretap ether saddr 62:87:4d:d6:19:05").consumed, 3);
    }
}
