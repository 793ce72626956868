//! One entry of an ipset file (`10.0.0.0/8,tcp:80`), read part by part as the set type's
//! dimensions say, in `ipset save`'s notation: addresses with an optional `/LEN` or
//! `-LAST`, `[PROTO:]PORT[-PORT]` (ICMP by name or `TYPE/CODE`), `[physdev:]IFACE`.
//!
//! A range of networks is stored as the prefixes that cover it (as `ipset add` does), so
//! one written entry may become several.

use super::{AddrFamily, Dim, Method, Part, SetType, continued};
use crate::types::Type;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The ICMP types and codes `ipset save` prints by name.
const ICMP_NAMES: &[(&str, u8, u8)] = &[
    ("echo-reply", 0, 0),
    ("pong", 0, 0),
    ("network-unreachable", 3, 0),
    ("host-unreachable", 3, 1),
    ("protocol-unreachable", 3, 2),
    ("port-unreachable", 3, 3),
    ("fragmentation-needed", 3, 4),
    ("source-route-failed", 3, 5),
    ("network-unknown", 3, 6),
    ("host-unknown", 3, 7),
    ("network-prohibited", 3, 9),
    ("host-prohibited", 3, 10),
    ("TOS-network-unreachable", 3, 11),
    ("TOS-host-unreachable", 3, 12),
    ("communication-prohibited", 3, 13),
    ("host-precedence-violation", 3, 14),
    ("precedence-cutoff", 3, 15),
    ("source-quench", 4, 0),
    ("network-redirect", 5, 0),
    ("host-redirect", 5, 1),
    ("TOS-network-redirect", 5, 2),
    ("TOS-host-redirect", 5, 3),
    ("echo-request", 8, 0),
    ("ping", 8, 0),
    ("router-advertisement", 9, 0),
    ("router-solicitation", 10, 0),
    ("ttl-zero-during-transit", 11, 0),
    ("ttl-zero-during-reassembly", 11, 1),
    ("ip-header-bad", 12, 0),
    ("required-option-missing", 12, 1),
    ("timestamp-request", 13, 0),
    ("timestamp-reply", 14, 0),
    ("address-mask-request", 17, 0),
    ("address-mask-reply", 18, 0),
];

/// The ICMPv6 types and codes `ipset save` prints by name.
const ICMPV6_NAMES: &[(&str, u8, u8)] = &[
    ("no-route", 1, 0),
    ("communication-prohibited", 1, 1),
    ("address-unreachable", 1, 3),
    ("port-unreachable", 1, 4),
    ("packet-too-big", 2, 0),
    ("ttl-zero-during-transit", 3, 0),
    ("ttl-zero-during-reassembly", 3, 1),
    ("bad-header", 4, 0),
    ("unknown-header-type", 4, 1),
    ("unknown-option", 4, 2),
    ("echo-request", 128, 0),
    ("ping", 128, 0),
    ("echo-reply", 129, 0),
    ("pong", 129, 0),
    ("router-solicitation", 133, 0),
    ("router-advertisement", 134, 0),
    ("neighbour-solicitation", 135, 0),
    ("neigbour-solicitation", 135, 0),
    ("neighbour-advertisement", 136, 0),
    ("neigbour-advertisement", 136, 0),
    ("redirect", 137, 0),
];

const TCP: u8 = 6;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// The parts of `text` for a set of type `ty` and `family` (one list per stored entry),
/// addresses masked to `netmask`.
pub fn parse_entry(
    text: &str,
    ty: &SetType,
    family: AddrFamily,
    netmask: Option<u8>,
) -> Result<Vec<Vec<Part>>, String> {
    if ty.method == Method::List {
        return Ok(vec![vec![Part::Member(text.to_string())]]);
    }
    if !ty.supported() {
        return Ok(vec![vec![Part::Raw(text.to_string())]]);
    }
    let words: Vec<&str> = text.split(',').collect();
    if words.len() != ty.dims.len() {
        return Err(format!(
            "entry \"{text}\" has {} part(s); a {} entry has {}",
            words.len(),
            ty.name(),
            ty.dims.len()
        ));
    }
    let mut out: Vec<Vec<Part>> = vec![Vec::new()];
    for (word, dim) in words.iter().zip(&ty.dims) {
        let choices = match dim {
            Dim::Ip => vec![ip(word, family, netmask)?],
            Dim::Net => net(word, family)?,
            Dim::Port if ty.method == Method::Bitmap => {
                let (lo, hi) = port_range(word)?;
                vec![Part::Port { proto: None, lo, hi }]
            }
            Dim::Port => vec![proto_port(word, family)?],
            _ => vec![iface(word)?],
        };
        let tails: Vec<Vec<Part>> = choices.into_iter().map(|c| vec![c]).collect();
        out = continued(out, &tails);
    }
    Ok(out)
}

/// An address of `family`.
fn addr(text: &str, family: AddrFamily) -> Result<u128, String> {
    match family {
        AddrFamily::V4 => text
            .parse::<Ipv4Addr>()
            .map(|a| u128::from(u32::from(a)))
            .map_err(|_| format!("\"{text}\" is not an IPv4 address")),
        AddrFamily::V6 => {
            text.parse::<Ipv6Addr>().map(u128::from).map_err(|_| format!("\"{text}\" is not an IPv6 address"))
        }
    }
}

/// The addresses `lo..=hi` of `text`: `A`, `A/LEN` or `A-B`.
fn addr_span(text: &str, family: AddrFamily) -> Result<(u128, u128, Option<u8>), String> {
    let bits = family.bits();
    if let Some((a, len)) = text.split_once('/') {
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| u32::from(*l) <= bits)
            .ok_or_else(|| format!("\"{len}\" is not a prefix length of 0 to {bits}"))?;
        let (lo, hi) = prefix_bounds(addr(a, family)?, len, bits);
        return Ok((lo, hi, Some(len)));
    }
    if let Some((a, b)) = text.split_once('-') {
        let (lo, hi) = (addr(a, family)?, addr(b, family)?);
        if lo > hi {
            return Err(format!("range \"{text}\" ends before it starts"));
        }
        return Ok((lo, hi, None));
    }
    let a = addr(text, family)?;
    Ok((a, a, None))
}

/// The first and last address of `a/len`.
pub(super) fn prefix_bounds(a: u128, len: u8, bits: u32) -> (u128, u128) {
    let host = if u32::from(len) >= bits { 0 } else { (u128::MAX >> (128 - bits)) >> len };
    (a & !host, a | host)
}

/// An `ip` part: the addresses, each masked to `netmask` bits when the set has one.
fn ip(text: &str, family: AddrFamily, netmask: Option<u8>) -> Result<Part, String> {
    let (mut lo, mut hi, _) = addr_span(text, family)?;
    if let Some(m) = netmask {
        lo = prefix_bounds(lo, m, family.bits()).0;
        hi = prefix_bounds(hi, m, family.bits()).1;
    }
    Ok(Part::Addr { lo, hi, prefix: None })
}

/// A `net` part: one prefix, or the prefixes covering a range.
fn net(text: &str, family: AddrFamily) -> Result<Vec<Part>, String> {
    let bits = family.bits();
    let (lo, hi, prefix) = addr_span(text, family)?;
    if text.contains('-') {
        return Ok(cover(lo, hi, bits)
            .into_iter()
            .map(|(lo, hi, len)| Part::Addr { lo, hi, prefix: Some(len) })
            .collect());
    }
    Ok(vec![Part::Addr { lo, hi, prefix: Some(prefix.unwrap_or(bits as u8)) }])
}

/// The fewest prefixes that cover `lo..=hi` exactly, in order.
pub(super) fn cover(mut lo: u128, hi: u128, bits: u32) -> Vec<(u128, u128, u8)> {
    let mut out = Vec::new();
    loop {
        // The largest block that starts at `lo` and ends at or before `hi`.
        let mut len = bits;
        while len > 0 {
            let (first, last) = prefix_bounds(lo, (len - 1) as u8, bits);
            if first != lo || last > hi {
                break;
            }
            len -= 1;
        }
        let (_, last) = prefix_bounds(lo, len as u8, bits);
        out.push((lo, last, len as u8));
        if last >= hi {
            return out;
        }
        lo = last + 1;
    }
}

/// `[PROTO:]PORT[-PORT]`, `icmp:NAME`, `icmp:TYPE/CODE`.
fn proto_port(text: &str, family: AddrFamily) -> Result<Part, String> {
    let (proto, port) = match text.split_once(':') {
        Some((p, rest)) => (protocol(p)?, rest),
        None => (TCP, text),
    };
    match proto {
        ICMP | ICMPV6 => {
            if (proto == ICMP) != (family == AddrFamily::V4) {
                return Err(format!(
                    "protocol {} does not belong to this set's family",
                    text.split(':').next().unwrap_or("")
                ));
            }
            let v = icmp(port, proto)?;
            Ok(Part::Port { proto: Some(proto), lo: v, hi: v })
        }
        6 | 17 | 132 | 136 => {
            let (lo, hi) = port_range(port)?;
            Ok(Part::Port { proto: Some(proto), lo, hi })
        }
        _ if port == "0" => Ok(Part::Port { proto: Some(proto), lo: 0, hi: 0 }),
        _ => Err(format!("protocol {proto} has no ports: write PROTO:0, not \"{text}\"")),
    }
}

/// A protocol name (as `/etc/protocols` and nft know them) or number.
fn protocol(name: &str) -> Result<u8, String> {
    let name = match name {
        "icmpv6" => "ipv6-icmp",
        n => n,
    };
    let v = Type::InetProto.parse(name).map_err(|_| format!("unknown protocol \"{name}\""))?;
    v.to_u128().and_then(|n| u8::try_from(n).ok()).ok_or_else(|| format!("unknown protocol \"{name}\""))
}

/// ICMP `NAME` or `TYPE/CODE` as ipset's port value (`type << 8 | code`).
fn icmp(text: &str, proto: u8) -> Result<u16, String> {
    let names = if proto == ICMP { ICMP_NAMES } else { ICMPV6_NAMES };
    if let Some((_, t, c)) = names.iter().find(|(n, _, _)| *n == text) {
        return Ok(u16::from(*t) << 8 | u16::from(*c));
    }
    let (t, c) = text.split_once('/').ok_or_else(|| format!("unknown ICMP type \"{text}\""))?;
    match (t.parse::<u8>(), c.parse::<u8>()) {
        (Ok(t), Ok(c)) => Ok(u16::from(t) << 8 | u16::from(c)),
        _ => Err(format!("\"{text}\" is not an ICMP TYPE/CODE")),
    }
}

/// `PORT` or `PORT-PORT`, numbers or service names.
fn port_range(text: &str) -> Result<(u16, u16), String> {
    let one = |p: &str| -> Result<u16, String> {
        if let Ok(n) = p.parse::<u16>() {
            return Ok(n);
        }
        Type::InetService
            .parse(p)
            .ok()
            .and_then(|v| v.to_u128())
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("\"{p}\" is not a port number or service name"))
    };
    let (lo, hi) = match text.split_once('-') {
        Some((a, b)) => (one(a)?, one(b)?),
        None => {
            let p = one(text)?;
            (p, p)
        }
    };
    if lo > hi {
        return Err(format!("port range \"{text}\" ends before it starts"));
    }
    Ok((lo, hi))
}

/// `IFACE` or `physdev:IFACE`.
fn iface(text: &str) -> Result<Part, String> {
    let (name, physdev) = match text.strip_prefix("physdev:") {
        Some(n) => (n, true),
        None => (text, false),
    };
    if name.is_empty() || name.len() >= 16 {
        return Err(format!("\"{name}\" is not an interface name (1 to 15 characters)"));
    }
    Ok(Part::Iface { name: name.to_string(), physdev })
}
