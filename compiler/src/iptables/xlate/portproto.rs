//! Layer-4 protocol matches: `tcp`, `udp`, `multiport`, `sctp`, `dccp`, `icmp`, `icmp6`
//! (libxt_tcp, libxt_udp, libxt_multiport, libxt_sctp, libxt_dccp, libipt_icmp,
//! libip6t_icmp6).

use super::buf::{Xl, xadd};
use super::rule::proto_name;
use super::{Cx, NoXlate, XResult};
use crate::iptables::ip::Inv;
use crate::iptables::matches::dccp::Dccp;
use crate::iptables::matches::icmp::{ICMP_NAMES, ICMPV6_NAMES, Icmp, Icmp6, IcmpName};
use crate::iptables::matches::multiport::{Multiport, MultiportKind};
use crate::iptables::matches::sctp::{ChunkMatch, SCTP_CHUNKS, Sctp};
use crate::iptables::matches::tcpudp::{Tcp, Udp};
use crate::iptables::values::ranges::PortRange;

/// `N` or `N-M`.
pub fn range_text<T: std::fmt::Display + PartialEq>(lo: T, hi: T) -> String {
    if lo == hi { format!("{lo}") } else { format!("{lo}-{hi}") }
}

/// `PROTO sport|dport [!= ]N[-M]` unless it is the match-everything default.
fn ports(xl: &mut Xl, proto: &str, dir: &str, p: &Inv<PortRange>) -> bool {
    if p.value.is_all() && !p.invert {
        return false;
    }
    let op = if p.invert { "!= " } else { "" };
    xadd!(xl, "{proto} {dir} {op}{}", range_text(p.value.lo, p.value.hi));
    true
}

const TCP_FLAG_NAMES: [(&str, u8); 6] =
    [("fin", 0x01), ("syn", 0x02), ("rst", 0x04), ("psh", 0x08), ("ack", 0x10), ("urg", 0x20)];

/// `print_tcp_xlate`: flags by name, comma-separated; `0x0` when none. (Bits 0x40 and 0x80
/// have no name in iptables' table: such masks are not produced by its option parser.)
fn tcp_flags(xl: &mut Xl, flags: u8) {
    let mut first = true;
    for (name, bit) in TCP_FLAG_NAMES {
        if flags & bit != 0 {
            xadd!(xl, "{}{name}", if first { "" } else { "," });
            first = false;
        }
    }
    if first {
        xl.add("0x0");
    }
}

pub fn tcp(t: &Tcp, xl: &mut Xl) -> XResult {
    let mut done = ports(xl, "tcp", "sport", &t.sport);
    done |= ports(xl, "tcp", "dport", &t.dport);
    if let Some(o) = &t.option {
        xadd!(xl, "tcp option {} {}", o.value, if o.invert { "missing" } else { "exists" });
        done = true;
    }
    if let Some(f) = &t.flags
        && (f.value.mask != 0 || f.invert)
    {
        xadd!(xl, "tcp flags {}", if f.invert { "!= " } else { "" });
        tcp_flags(xl, f.value.cmp);
        xl.add(" / ");
        tcp_flags(xl, f.value.mask);
        done = true;
    }
    if !done {
        xl.add("meta l4proto tcp");
    }
    Ok(())
}

pub fn udp(u: &Udp, xl: &mut Xl) -> XResult {
    let mut done = ports(xl, "udp", "sport", &u.sport);
    done |= ports(xl, "udp", "dport", &u.dport);
    if !done {
        xl.add("meta l4proto udp");
    }
    Ok(())
}

/// The kernel's `xt_multiport_v1` arrays: each range takes two slots with `pflags` set on
/// the first.
fn multiport_arrays(ports: &[PortRange]) -> (Vec<u16>, Vec<bool>) {
    let (mut p, mut f) = (Vec::new(), Vec::new());
    for r in ports {
        if r.lo == r.hi {
            p.push(r.lo);
            f.push(false);
        } else {
            p.extend([r.lo, r.hi]);
            f.extend([true, false]);
        }
    }
    (p, f)
}

pub fn multiport(m: &Multiport, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let proto = cx.ip.proto.and_then(|p| proto_name(p.value)).unwrap_or("(null)");
    xl.add(proto);
    let (ports, pflags) = multiport_arrays(&m.ports);
    match m.kind {
        MultiportKind::Source => xl.add(" sport "),
        MultiportKind::Destination => xl.add(" dport "),
        MultiportKind::Either => {
            xadd!(xl, " sport . {proto} dport {{ ");
            for (i, p) in ports.iter().enumerate() {
                if i != 0 {
                    xl.add(", ");
                }
                xadd!(xl, "0-65535 . {p}, {p} . 0-65535");
            }
            xl.add(" }");
            if m.invert {
                xl.note("iptables-translate drops the negation of `! --ports`: the translation matches the listed ports instead of excluding them");
            }
            if pflags.iter().any(|&f| f) {
                xl.note("iptables-translate lists the ends of `--ports` ranges as single ports");
            }
            return Ok(());
        }
    }
    if m.invert {
        xl.add("!= ");
    }
    let braces = ports.len() > 2 || (ports.len() > 1 && !pflags.first().copied().unwrap_or(false));
    if braces {
        xl.add("{ ");
    }
    let mut i = 0;
    while i < ports.len() {
        xadd!(xl, "{}{}", if i > 0 { ", " } else { "" }, ports[i]);
        if pflags[i] {
            i += 1;
            if let Some(hi) = ports.get(i) {
                xadd!(xl, "-{hi}");
            }
        }
        i += 1;
    }
    if braces {
        xl.add("}");
    }
    Ok(())
}

pub fn sctp(s: &Sctp, xl: &mut Xl) -> XResult {
    if s.sport.is_none() && s.dport.is_none() && s.chunks.is_none() {
        xl.add("meta l4proto sctp");
        return Ok(());
    }
    for (dir, p) in [("sport", &s.sport), ("dport", &s.dport)] {
        if let Some(p) = p {
            let op = if p.invert { " !=" } else { "" };
            xadd!(xl, "sctp {dir}{op} {}", range_text(p.value.lo, p.value.hi));
        }
    }
    if let Some(Inv { value: c, invert }) = &s.chunks {
        if c.mode == ChunkMatch::Any {
            return Err(NoXlate::new("sctp: `--chunk-types any' has no nft translation"));
        }
        let inv = *invert;
        // libxt_sctp's chunk types in its table's order (the order the translation lists
        // them in), by nft's names.
        let named =
            SCTP_CHUNKS.iter().filter_map(|&(_, ty, _)| Some((ty, crate::proto::sctp_chunk::name_of(ty)?)));
        for (ty, name) in named {
            let present = c.all || c.types.contains(&ty);
            if !present {
                if c.mode == ChunkMatch::Only {
                    xadd!(xl, "sctp chunk {name} {}", if inv { "exists" } else { "missing" });
                }
                continue;
            }
            match c.flags.iter().find(|f| f.chunk_type == ty) {
                None => xadd!(xl, "sctp chunk {name} {}", if inv { "missing" } else { "exists" }),
                Some(f) => xadd!(
                    xl,
                    "sctp chunk {name} flags & 0x{:x} {} 0x{:x}",
                    f.mask,
                    if inv { "!=" } else { "==" },
                    f.value
                ),
            }
        }
    }
    Ok(())
}

const DCCP_TYPE_NAMES: [&str; 11] = [
    "request", "response", "data", "ack", "dataack", "closereq", "close", "reset", "sync", "syncack", "10-15",
];

pub fn dccp(d: &Dccp, xl: &mut Xl) -> XResult {
    for (dir, p) in [("sport", &d.sport), ("dport", &d.dport)] {
        if let Some(p) = p {
            let op = if p.invert { " !=" } else { "" };
            xadd!(xl, "dccp {dir}{op} {}", p.value.lo);
            if p.value.lo != p.value.hi {
                xadd!(xl, "-{}", p.value.hi);
            }
        }
    }
    if let Some(t) = &d.types
        && t.value != 0
    {
        xadd!(xl, "dccp type{} ", if t.invert { " !=" } else { "" });
        let mut types = t.value;
        if types & 0xf800 != 0 {
            types = (types & !0xf800) | (1 << 10);
        }
        let set = types.count_ones() > 1;
        if set {
            xl.add("{");
        }
        let mut first = true;
        for (i, name) in DCCP_TYPE_NAMES.iter().enumerate() {
            if types & (1 << i) != 0 {
                if !first {
                    xl.add(", ");
                }
                first = false;
                xl.add(name);
            }
        }
        if set {
            xl.add("}");
        }
    }
    if d.option.is_some() {
        return Err(NoXlate::new("dccp: `--dccp-option' has no nft translation"));
    }
    Ok(())
}

/// The first name iptables lists for a type with exactly this code range.
fn icmp_name(table: &'static [IcmpName], typ: u8, lo: u8, hi: u8) -> Option<&'static str> {
    table.iter().find(|n| n.typ == typ && n.code_min == lo && n.code_max == hi).map(|n| n.name)
}

pub fn icmp(i: &Icmp, xl: &mut Xl) -> XResult {
    if i.typ == 0xFF {
        xl.add("ip protocol icmp");
        return Ok(());
    }
    xadd!(xl, "icmp type{} ", if i.invert { " !=" } else { "" });
    match (i.code_min != i.code_max).then(|| icmp_name(ICMP_NAMES, i.typ, i.code_min, i.code_max)).flatten() {
        Some(n) => xl.put(n),
        None => Err(NoXlate::new(format!(
            "icmp: type {}{} has no nft translation in iptables-translate",
            i.typ,
            if i.code_min == i.code_max { format!(" code {}", i.code_min) } else { String::new() }
        ))),
    }
}

/// Neighbour discovery types, which nft names differently from iptables.
fn icmp6_nd_name(typ: u8) -> Option<&'static str> {
    Some(match typ {
        133 => "nd-router-solicit",
        134 => "nd-router-advert",
        135 => "nd-neighbor-solicit",
        136 => "nd-neighbor-advert",
        137 => "nd-redirect",
        _ => return None,
    })
}

pub fn icmp6(i: &Icmp6, xl: &mut Xl) -> XResult {
    xadd!(xl, "icmpv6 type{} ", if i.invert { " !=" } else { "" });
    let name = if i.code_min == i.code_max {
        None
    } else {
        icmp6_nd_name(i.typ).or_else(|| icmp_name(ICMPV6_NAMES, i.typ, i.code_min, i.code_max))
    };
    match name {
        Some(n) => xl.put(n),
        None => Err(NoXlate::new(format!(
            "icmp6: type {}{} has no nft translation in iptables-translate",
            i.typ,
            if i.code_min == i.code_max { format!(" code {}", i.code_min) } else { String::new() }
        ))),
    }
}
