//! An ipset as the nft named set a rule looks up, and the key the rule looks up with.
//!
//! `-m set --match-set S src,dst` on a `hash:ip,port` set becomes
//! `ip saddr . meta l4proto . th dport @S`, with `S` declared in the rule's table with the
//! same members. What the kernel's set types do is kept exactly:
//!
//! - **networks** (`hash:net…`): the most specific stored prefix decides, so a `nomatch`
//!   prefix carves its addresses out of the wider ones around it; the set lists the
//!   addresses left, as intervals (`--return-nomatch` turns every entry around: the
//!   match holds exactly where the most specific entry is a `nomatch` one);
//! - **ports**: ipset reads the port of TCP, UDP, SCTP and UDPLITE by direction, ICMP's
//!   type and code (the header's first two bytes, `th sport`) whatever the direction, and 0
//!   for other protocols. The key reads the port as the set's entries need it; a set that
//!   mixes protocols with ports and protocols without, or ICMP with a destination port, is
//!   refused by name. `bitmap:port` holds ports of TCP and UDP;
//! - a match with fewer directions than the set has dimensions, or on a set of the other
//!   address family, never matches (and `!` always does);
//! - `netmask` stores and looks up masked addresses: the masked blocks;
//! - timeouts become element timeouts (the set gets `flags timeout`).

use super::entry::cover;
use super::{AddrFamily, Dim, Ipset, Part, continued};
use crate::ir::build::concat;
use crate::ir::{Expr, Family, KeyField, Set, SetElem};
use crate::types::Value;
use std::collections::BTreeMap;

/// What a set match becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// No packet is ever in the set for this match (why).
    Never(String),
    /// `key @set`: the set to declare in the rule's table.
    Member { key: Expr, set: Box<Set> },
}

/// One value of a key component: a number range or an interface name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Comp {
    Num(u128, u128),
    Name(String),
}

/// How the set's port dimension is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortRead {
    /// Source or destination port by the match's direction; `icmp`: the set holds ICMP
    /// entries too, whose type and code sit where TCP's source port does.
    ByDirection { icmp: bool },
    /// The transport header's first two bytes (ICMP type and code).
    First,
    /// Not read: every entry is of a protocol without ports (port 0).
    None,
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132 | 136)
}

/// How `set`'s ports are read, from the protocols of its entries.
fn port_read(set: &Ipset) -> Result<PortRead, String> {
    let protos = set.entries.iter().flat_map(|e| &e.parts).filter_map(|p| match p {
        Part::Port { proto, .. } => Some(proto.unwrap_or(TCP)),
        _ => None,
    });
    let (mut ports, mut icmp, mut other) = (false, false, None);
    for p in protos {
        match p {
            _ if has_ports(p) => ports = true,
            ICMP | ICMPV6 => icmp = true,
            _ => other = Some(p),
        }
    }
    match (ports || icmp, other) {
        (true, Some(p)) => Err(format!(
            "set {} holds entries of protocol {p}, which has no ports, beside entries with ports; nftvm cannot read both in one lookup",
            set.name
        )),
        (false, Some(_)) => Ok(PortRead::None),
        _ if icmp && !ports => Ok(PortRead::First),
        _ => Ok(PortRead::ByDirection { icmp }),
    }
}

/// The key for `set` looked up with directions `src` (true: source) in a `family` table,
/// and its fields.
fn key(set: &Ipset, src: &[bool], family: Family, read: PortRead) -> Result<Vec<Expr>, String> {
    let ip = if set.family == AddrFamily::V4 { "ip" } else { "ip6" };
    let sel = |w: &str| crate::iptables::lower::selector(w, family).map_err(|e| e.reason);
    let mut out = Vec::new();
    for (dim, &s) in set.ty.dims.iter().zip(src) {
        match dim {
            Dim::Ip | Dim::Net => out.push(sel(&format!("{ip} {}", if s { "saddr" } else { "daddr" }))?),
            Dim::Port => {
                out.push(sel("meta l4proto")?);
                match read {
                    PortRead::None => {}
                    PortRead::First => out.push(sel("th sport")?),
                    PortRead::ByDirection { icmp } => {
                        if icmp && !s {
                            return Err(format!(
                                "set {} holds ICMP entries (type and code, read whatever the direction) beside ports: nftvm matches it only with `src` for its port",
                                set.name
                            ));
                        }
                        out.push(sel(if s { "th sport" } else { "th dport" })?);
                    }
                }
            }
            _ => out.push(sel(if s { "meta iifname" } else { "meta oifname" })?),
        }
    }
    Ok(out)
}

/// The key values of one entry (several for a `bitmap:port` entry: TCP and UDP).
fn rows(set: &Ipset, parts: &[Part], read: PortRead) -> Result<Vec<Vec<Comp>>, String> {
    let mut out: Vec<Vec<Comp>> = vec![Vec::new()];
    for p in parts {
        let choices: Vec<Vec<Comp>> = match p {
            Part::Addr { lo, hi, .. } => vec![vec![Comp::Num(*lo, *hi)]],
            Part::Port { proto, lo, hi } => {
                let protos = match proto {
                    Some(p) => vec![*p],
                    None => vec![TCP, UDP],
                };
                protos
                    .into_iter()
                    .map(|p| {
                        let mut v = vec![Comp::Num(p.into(), p.into())];
                        if read != PortRead::None {
                            v.push(Comp::Num((*lo).into(), (*hi).into()));
                        }
                        v
                    })
                    .collect()
            }
            Part::Iface { name, physdev: false } => vec![vec![Comp::Name(name.clone())]],
            Part::Iface { physdev: true, name } => {
                return Err(format!(
                    "set {}: bridge port entries (physdev:{name}) are not supported yet",
                    set.name
                ));
            }
            Part::Raw(_) | Part::Member(_) => {
                return Err(format!("set {}: entries of this type are not supported", set.name));
            }
        };
        out = continued(out, &choices);
    }
    Ok(out)
}

/// A stored row: key values, whether it matches (not `nomatch`), its prefix length in the
/// interval component (most specific wins), its timeout in seconds.
struct Row {
    comps: Vec<Comp>,
    matches: bool,
    len: u8,
    timeout: Option<u32>,
}

/// The rows with the interval component `at` reduced to the addresses that match, as
/// disjoint intervals: per group of equal other components, the most specific prefix
/// decides (`nomatch` carves out). `hash:net,iface` groups differently — the kernel stops
/// at the most specific prefix stored for the address with *any* interface, and matches
/// only if the packet's interface is one stored with it there.
fn settle(rows: Vec<Row>, at: usize, set: &Ipset) -> Result<Vec<Element>, String> {
    let by_prefix_first = set.ty.dims.contains(&Dim::Iface);
    let mut groups: BTreeMap<Vec<Comp>, Vec<Item>> = BTreeMap::new();
    for r in rows {
        let Some(Comp::Num(lo, hi)) = r.comps.get(at).cloned() else {
            return Err("internal: interval component".into());
        };
        let mut rest = r.comps;
        rest.remove(at);
        let (key, label) = if by_prefix_first { (Vec::new(), rest) } else { (rest, Vec::new()) };
        groups.entry(key).or_default().push(Item {
            lo,
            hi,
            len: r.len,
            matches: r.matches,
            timeout: r.timeout,
            label,
        });
    }
    let mut out = Vec::new();
    for (rest, mut items) in groups {
        if !by_prefix_first && items.iter().all(|i| i.matches) {
            for (lo, hi, t) in union(items, set)? {
                out.push((with(&rest, at, lo, hi), t));
            }
            continue;
        }
        items.sort_by_key(|i| (i.len, i.lo));
        // Each prefix with every item stored at it (several interfaces).
        let mut prefixes: Vec<(u128, u128, u8)> = items.iter().map(|i| (i.lo, i.hi, i.len)).collect();
        prefixes.dedup();
        let mut merged: Vec<(Vec<Comp>, u128, u128, Option<u32>)> = Vec::new();
        for (lo, hi, which) in paint(&prefixes, set)? {
            let (plo, phi, plen) = prefixes[which];
            for i in items.iter().filter(|i| (i.lo, i.hi, i.len) == (plo, phi, plen) && i.matches) {
                let key = if by_prefix_first { i.label.clone() } else { rest.clone() };
                match merged.iter_mut().rev().find(|m| m.0 == key) {
                    Some(m) if m.2.checked_add(1) == Some(lo) && m.3 == i.timeout => m.2 = hi,
                    _ => merged.push((key, lo, hi, i.timeout)),
                }
            }
        }
        for (key, lo, hi, t) in merged {
            out.push((with(&key, at, lo, hi), t));
        }
    }
    Ok(out)
}

/// A stored element: its key values and its timeout.
type Element = (Vec<Comp>, Option<u32>);

/// The elements of `rows`: settled along the interval component `at` when there is one,
/// else each distinct key once.
fn elements_of(rows: Vec<Row>, at: Option<usize>, set: &Ipset) -> Result<Vec<Element>, String> {
    match at {
        Some(at) => settle(rows, at, set),
        None => Ok(distinct(rows.into_iter().map(|r| (r.comps, r.timeout)).collect())),
    }
}

/// Each key once (the first timeout), in key order.
fn distinct(mut v: Vec<Element>) -> Vec<Element> {
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// One stored entry as [`settle`] sees it.
struct Item {
    lo: u128,
    hi: u128,
    len: u8,
    matches: bool,
    timeout: Option<u32>,
    /// The other components, when they do not group (`hash:net,iface`).
    label: Vec<Comp>,
}

/// `rest` with `lo..=hi` put back at `at`.
fn with(rest: &[Comp], at: usize, lo: u128, hi: u128) -> Vec<Comp> {
    let mut comps = rest.to_vec();
    comps.insert(at, Comp::Num(lo, hi));
    comps
}

/// Items that all match, merged where they overlap or touch (and their timeouts agree).
fn union(mut items: Vec<Item>, set: &Ipset) -> Result<Vec<(u128, u128, Option<u32>)>, String> {
    items.sort_by_key(|i| (i.lo, i.hi));
    let mut merged: Vec<(u128, u128, Option<u32>)> = Vec::new();
    for i in items {
        match merged.last_mut() {
            Some(last) if last.1 >= i.lo && last.2 != i.timeout => {
                return Err(format!(
                    "set {}: overlapping entries with different timeouts cannot be one nft set element",
                    set.name
                ));
            }
            Some(last) if last.1.saturating_add(1) >= i.lo => last.1 = last.1.max(i.hi),
            _ => merged.push((i.lo, i.hi, i.timeout)),
        }
    }
    Ok(merged)
}

/// Prefixes (least specific first, each nested in another or apart) painted one over the
/// other: the disjoint segments of the addresses they cover, each with the index of the
/// most specific prefix covering it.
fn paint(prefixes: &[(u128, u128, u8)], set: &Ipset) -> Result<Vec<(u128, u128, usize)>, String> {
    let mut segs: BTreeMap<u128, (u128, usize)> = BTreeMap::new();
    for (k, &(lo, hi, _)) in prefixes.iter().enumerate() {
        let around = segs.range(..=lo).next_back().map(|(&s, &v)| (s, v));
        if let Some((s, (e, owner))) = around
            && e >= lo
        {
            if hi > e {
                return Err(format!("set {}: prefixes overlap without nesting", set.name));
            }
            segs.remove(&s);
            if s < lo {
                segs.insert(s, (lo - 1, owner));
            }
            if hi < e {
                segs.insert(hi + 1, (e, owner));
            }
        } else if segs.range(lo..=hi).next().is_some() {
            return Err(format!("set {}: prefixes overlap without nesting", set.name));
        }
        segs.insert(lo, (hi, k));
    }
    Ok(segs.into_iter().map(|(lo, (hi, k))| (lo, hi, k)).collect())
}

/// A set's lookup before it becomes an nft set: the key's components and the elements.
struct Prepared {
    key_parts: Vec<Expr>,
    elements: Vec<Element>,
    /// The interval component (the first address), if any.
    at: Option<usize>,
}

/// `set` looked up with directions `src` in a `family` table (`dynamic`: a set
/// [`check_dynamic`] accepted): `Err(Ok(why))` when the lookup can never succeed,
/// `Err(Err(message))` when nftvm cannot express it.
fn prepare(
    set: &Ipset,
    src: &[bool],
    family: Family,
    return_nomatch: bool,
    dynamic: bool,
) -> Result<Prepared, Result<String, String>> {
    if !set.ty.supported() {
        return Err(Err(format!(
            "set {} is of type {}, which nftvm cannot match yet",
            set.name,
            set.ty.name()
        )));
    }
    let want = match family {
        Family::Ip6 => AddrFamily::V6,
        _ => AddrFamily::V4,
    };
    if set.has_addresses() && set.family != want {
        return Err(Ok(format!("set {} is of the other address family", set.name)));
    }
    if src.len() < set.ty.dims.len() {
        return Err(Ok(format!(
            "set {} has {} dimensions and the match names {}",
            set.name,
            set.ty.dims.len(),
            src.len()
        )));
    }
    let read = if dynamic { PortRead::ByDirection { icmp: false } } else { port_read(set).map_err(Err)? };
    let key_parts = key(set, src, family, read).map_err(Err)?;
    let elements =
        if dynamic { single_values(set, read) } else { members(set, read, return_nomatch) }.map_err(Err)?;
    Ok(Prepared { key_parts, elements, at: interval_at(set, read) })
}

/// `-m set [!] --match-set NAME FLAGS` on `set` (of `ipsets`) in a `family` table, or the key
/// and set of `-j SET` (`dynamic`: rules add and delete members, so they stay single values,
/// as the packets will store them; see [`check_dynamic`]). With `--return-nomatch` on a set
/// whose entries it turns around, the nft set holds other members and gets another name.
pub fn lookup(
    set: &Ipset,
    ipsets: &super::Ipsets,
    src: &[bool],
    family: Family,
    return_nomatch: bool,
    dynamic: bool,
) -> Result<Lookup, String> {
    if dynamic {
        check_dynamic(set)?;
    }
    let list = set.ty.method == super::Method::List;
    let mut found = if list {
        lookup_list(set, ipsets, src, family, return_nomatch)?
    } else {
        match prepare(set, src, family, return_nomatch, dynamic) {
            Ok(p) => {
                let bits = set.family.bits();
                let shape = Shape { timeout: set.timeout, dynamic, maxelem: set.maxelem, addr_bits: bits };
                build(&set.name, set.span, p.key_parts, p.elements, &shape)?
            }
            Err(Ok(why)) => Lookup::Never(why),
            Err(Err(e)) => return Err(e),
        }
    };
    if let Lookup::Member { set: nft, .. } = &mut found
        && return_nomatch
        && (list || set.ty.dims.contains(&Dim::Net))
    {
        nft.name = format!("{}.return-nomatch", nft.name);
    }
    Ok(found)
}

/// A `list:set` looked up: the union of what its members (in `ipsets`) hold for this
/// lookup — the kernel tests each member in turn, and a member of the other family, or with
/// more dimensions than the match names, holds nothing. The members must be looked up with
/// the same key (`hash:ip` and `hash:net`, not `hash:ip` and `hash:ip,port`).
fn lookup_list(
    list: &Ipset,
    ipsets: &super::Ipsets,
    src: &[bool],
    family: Family,
    return_nomatch: bool,
) -> Result<Lookup, String> {
    let mut parts: Option<(Vec<Expr>, Option<usize>)> = None;
    let mut rows = Vec::new();
    let mut timeout = None;
    let mut addr_bits = 32;
    for m in list.entries.iter().flat_map(|e| &e.parts) {
        let Part::Member(name) = m else { continue };
        let Some(member) = ipsets.get(name) else { return Err(format!("list {}: no set {name}", list.name)) };
        let p = match prepare(member, src, family, return_nomatch, false) {
            Ok(p) => p,
            Err(Ok(_)) => continue,
            Err(Err(e)) => return Err(e),
        };
        match &parts {
            Some((k, _)) if *k != p.key_parts => {
                return Err(format!(
                    "list {}: its members are looked up with different keys; nftvm matches a list of sets of one kind",
                    list.name
                ));
            }
            Some(_) => {}
            None => parts = Some((p.key_parts.clone(), p.at)),
        }
        timeout = timeout.or(member.timeout.map(|_| 0));
        addr_bits = member.family.bits();
        rows.extend(p.elements.into_iter().map(|(comps, t)| Row {
            comps,
            matches: true,
            len: 0,
            timeout: t,
        }));
    }
    let Some((key_parts, at)) = parts else {
        return Ok(Lookup::Never(format!("no member of list {} can hold such a packet", list.name)));
    };
    let elements = elements_of(rows, at, list)?;
    let shape = Shape { timeout, dynamic: false, maxelem: None, addr_bits };
    build(&list.name, list.span, key_parts, elements, &shape)
}

/// What the nft set is besides its key and elements.
struct Shape {
    /// `Some`: entries time out (the default, seconds; 0: none).
    timeout: Option<u32>,
    dynamic: bool,
    maxelem: Option<u32>,
    addr_bits: u32,
}

/// The nft set `name` with these key components and elements, and the lookup's key.
fn build(
    name: &str,
    span: nftvm_grammar::Span,
    key_parts: Vec<Expr>,
    elements: Vec<Element>,
    shape: &Shape,
) -> Result<Lookup, String> {
    let mut nft = Set::new(name, key_parts.iter().map(|e| KeyField::new(e.ty, e.bits, e.order)).collect());
    nft.span = span;
    if shape.dynamic {
        nft.flags.dynamic = true;
        nft.size = shape.maxelem.or(Some(DEFAULT_MAXELEM));
    }
    if let Some(t) = shape.timeout {
        nft.flags.timeout = true;
        if t > 0 {
            nft.timeout = Some(u64::from(t) * 1000);
        }
    }
    for (comps, timeout) in elements {
        let mut parts = Vec::new();
        for (c, part) in comps.iter().zip(&key_parts) {
            parts.push(constant(c, part, shape.addr_bits)?);
        }
        nft.flags.interval |= parts.iter().any(|p| !matches!(p.kind, crate::ir::ExprKind::Value(_)));
        let key = if parts.len() == 1 { parts.remove(0) } else { concat(parts) };
        let mut elem = SetElem::new(key);
        // The time each entry has left (`ipset save` writes it); 0 in a set whose default is
        // not is a permanent entry.
        elem.timeout = match timeout {
            Some(0) if shape.timeout.is_some_and(|d| d > 0) => Some(u64::MAX),
            Some(t) if t > 0 => Some(u64::from(t) * 1000),
            _ => None,
        };
        nft.elems.push(elem);
    }
    let key = match <[Expr; 1]>::try_from(key_parts) {
        Ok([one]) => one,
        Err(parts) => concat(parts),
    };
    Ok(Lookup::Member { key, set: Box::new(nft) })
}

/// `ipset create`'s default `maxelem`.
const DEFAULT_MAXELEM: u32 = 65536;

/// Most single values one entry may expand to in a set rules change.
const MAX_EXPANSION: u128 = 1 << 16;

/// Can rules add to and delete from `set` (`-j SET`) as the kernel does? Packets store
/// single addresses and ports; networks (whose added prefix length depends on the set's
/// other entries), `netmask` and bitmaps (whose range bounds what may be stored) are not
/// supported yet, nor entries of protocols whose ports ipset reads otherwise than TCP's.
pub fn check_dynamic(set: &Ipset) -> Result<(), String> {
    if set.ty.method != super::Method::Hash || set.netmask.is_some() || set.ty.dims.contains(&Dim::Net) {
        let what =
            if set.netmask.is_some() { format!("{} with netmask", set.ty.name()) } else { set.ty.name() };
        return Err(format!(
            "-j SET on set {} ({what}) is not supported yet: only hash:ip, hash:ip,port and hash:ip,port,ip, without netmask",
            set.name
        ));
    }
    let odd = set.entries.iter().flat_map(|e| &e.parts).find_map(|p| match p {
        Part::Port { proto: Some(p), .. } if !has_ports(*p) => Some(*p),
        _ => None,
    });
    if let Some(p) = odd {
        return Err(format!(
            "-j SET on set {}: it holds entries of protocol {p}, whose ports ipset reads otherwise than TCP's",
            set.name
        ));
    }
    Ok(())
}

/// Every entry as single values (ranges written in the file expanded, as `ipset add` does).
fn single_values(set: &Ipset, read: PortRead) -> Result<Vec<Element>, String> {
    let mut out: Vec<Element> = Vec::new();
    for e in &set.entries {
        for comps in rows(set, &e.parts, read)? {
            let mut expanded: Vec<Vec<Comp>> = vec![Vec::new()];
            for c in comps {
                let values: Vec<Vec<Comp>> = match c {
                    Comp::Num(lo, hi) if hi - lo >= MAX_EXPANSION => {
                        return Err(format!(
                            "set {}: an entry of more than {MAX_EXPANSION} values",
                            set.name
                        ));
                    }
                    Comp::Num(lo, hi) => (lo..=hi).map(|v| vec![Comp::Num(v, v)]).collect(),
                    other => vec![vec![other]],
                };
                expanded = continued(expanded, &values);
                if expanded.len() as u128 > MAX_EXPANSION {
                    return Err(format!("set {}: an entry of more than {MAX_EXPANSION} values", set.name));
                }
            }
            out.extend(expanded.into_iter().map(|c| (c, e.timeout)));
        }
    }
    Ok(distinct(out))
}

/// The interval component of `set`'s key: the first address dimension's (ranges elsewhere
/// stay as written).
fn interval_at(set: &Ipset, read: PortRead) -> Option<usize> {
    let mut k = 0;
    for dim in &set.ty.dims {
        if matches!(dim, Dim::Ip | Dim::Net) {
            return Some(k);
        }
        k += match dim {
            Dim::Port if read != PortRead::None => 2,
            _ => 1,
        };
    }
    None
}

/// The members of a set rules only read: per element, the addresses that match, merged.
fn members(set: &Ipset, read: PortRead, return_nomatch: bool) -> Result<Vec<Element>, String> {
    let at = interval_at(set, read);
    let nets = set.ty.dims.iter().filter(|d| **d == Dim::Net).count();
    // `--return-nomatch` on a type with nomatch entries (a net dimension) turns every
    // entry around: the match holds where the most specific entry is a `nomatch` one.
    let flip = return_nomatch && nets > 0;
    let any_match = set.entries.iter().any(|e| e.nomatch == flip);
    let mut all = Vec::new();
    for e in &set.entries {
        let len = e.parts.iter().find_map(|p| match p {
            Part::Addr { prefix, .. } => Some(prefix.unwrap_or(128)),
            _ => None,
        });
        let matches = e.nomatch == flip;
        if !matches && any_match && nets != 1 {
            return Err(format!(
                "set {}: nomatch entries are supported in sets with one net dimension",
                set.name
            ));
        }
        for comps in rows(set, &e.parts, read)? {
            all.push(Row { comps, matches, len: len.unwrap_or(0), timeout: e.timeout });
        }
    }
    elements_of(all, at, set)
}

/// One key component's constant: a value, a prefix (an aligned address block) or a range.
fn constant(c: &Comp, shape: &Expr, addr_bits: u32) -> Result<Expr, String> {
    let num =
        |n: u128| shape.number(n).map_err(|e| format!("value {n} does not fit {}: {e:?}", shape.ty.name()));
    match c {
        Comp::Name(n) => Value::padded_string(n, (shape.bits / 8) as usize)
            .map(|v| shape.constant(v))
            .map_err(|e| format!("interface name {n}: {e:?}")),
        Comp::Num(lo, hi) if lo == hi => num(*lo),
        Comp::Num(lo, hi) => {
            let (crate::ir::ExprKind::Value(l), crate::ir::ExprKind::Value(h)) =
                (num(*lo)?.kind, num(*hi)?.kind)
            else {
                return Err("internal: constant".into());
            };
            if matches!(shape.ty, crate::types::Type::Ipv4Addr | crate::types::Type::Ipv6Addr)
                && let [(_, _, len)] = cover(*lo, *hi, addr_bits)[..]
            {
                return Ok(shape.prefix(l, u32::from(len)));
            }
            Ok(shape.range(l, h))
        }
    }
}
