//! ClassBench filter sets and traces (`../shared/classbench/SOURCES.md` documents both).
//!
//! A filter line is `@SRC/LEN DST/LEN SPLO : SPHI DPLO : DPHI PROTO/MASK [FLAGS/MASK]`; line
//! order is priority, first match wins. A trace line is `SRC DST SPORT DPORT PROTO MATCH` with
//! addresses as host-order integers and `MATCH` the 1-based line of the first matching filter.
//! [`to_nft`] renders a filter set as an nft ruleset in which filter *i* sets `meta mark` to *i*
//! and accepts, so "which rule matched" is observable as the packet's mark.

use nftvm_compiler::codegen::Origins;
use nftvm_compiler::ir::Ruleset;
use nftvm_vm::Program;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// One ClassBench filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub src: (Ipv4Addr, u8),
    pub dst: (Ipv4Addr, u8),
    pub sport: (u16, u16),
    pub dport: (u16, u16),
    /// `(value, mask)`; mask 0 is "any protocol".
    pub proto: (u8, u8),
    /// The db_generator variant's 16-bit flags field `(value, mask)`; `(0, 0)` when absent.
    pub flags: (u16, u16),
}

/// One trace packet with the filter it must match (1-based line number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracePacket {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub expected: u32,
}

/// A parse error: the 1-based line and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError { line, message: message.into() }
}

fn parse_prefix(text: &str, line: usize) -> Result<(Ipv4Addr, u8), ParseError> {
    let (addr, len) =
        text.split_once('/').ok_or_else(|| err(line, format!("expected ADDR/LEN, got '{text}'")))?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| err(line, format!("bad IPv4 address '{addr}'")))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|&l| l <= 32)
        .ok_or_else(|| err(line, format!("bad prefix length '{len}'")))?;
    Ok((addr, len))
}

fn parse_hex_pair(text: &str, line: usize, what: &str) -> Result<(u32, u32), ParseError> {
    let bad = || err(line, format!("expected {what} as 0xVALUE/0xMASK, got '{text}'"));
    let (v, m) = text.split_once('/').ok_or_else(bad)?;
    let hex = |s: &str| {
        s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    Ok((hex(v).ok_or_else(bad)?, hex(m).ok_or_else(bad)?))
}

fn parse_port(text: &str, line: usize) -> Result<u16, ParseError> {
    text.parse().map_err(|_| err(line, format!("bad port '{text}'")))
}

/// Parse a filter file (wustl 5-field or db_generator 6-field form; any whitespace).
pub fn parse_filters(text: &str) -> Result<Vec<Filter>, ParseError> {
    let mut filters = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let body = raw.strip_prefix('@').ok_or_else(|| err(line, "a filter must start with '@'"))?;
        let t: Vec<&str> = body.split_whitespace().collect();
        if t.len() != 9 && t.len() != 10 {
            return Err(err(line, format!("expected 9 or 10 fields, found {}", t.len())));
        }
        if t[3] != ":" || t[6] != ":" {
            return Err(err(line, "port ranges must be written 'LO : HI'"));
        }
        let (pv, pm) = parse_hex_pair(t[8], line, "protocol")?;
        let flags = if t.len() == 10 { parse_hex_pair(t[9], line, "flags")? } else { (0, 0) };
        if pv > 0xff || pm > 0xff || flags.0 > 0xffff || flags.1 > 0xffff {
            return Err(err(line, "protocol or flags value out of range"));
        }
        filters.push(Filter {
            src: parse_prefix(t[0], line)?,
            dst: parse_prefix(t[1], line)?,
            sport: (parse_port(t[2], line)?, parse_port(t[4], line)?),
            dport: (parse_port(t[5], line)?, parse_port(t[7], line)?),
            proto: (pv as u8, pm as u8),
            flags: (flags.0 as u16, flags.1 as u16),
        });
    }
    Ok(filters)
}

/// Parse a trace file.
pub fn parse_trace(text: &str) -> Result<Vec<TracePacket>, ParseError> {
    let mut packets = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t: Vec<&str> = raw.split_whitespace().collect();
        if t.is_empty() {
            continue;
        }
        if t.len() < 6 {
            return Err(err(line, format!("expected 6 fields, found {}", t.len())));
        }
        let num = |s: &str, max: u64| {
            s.parse::<u64>().ok().filter(|&v| v <= max).ok_or_else(|| err(line, format!("bad number '{s}'")))
        };
        packets.push(TracePacket {
            src: Ipv4Addr::from(num(t[0], u32::MAX as u64)? as u32),
            dst: Ipv4Addr::from(num(t[1], u32::MAX as u64)? as u32),
            sport: num(t[2], 65535)? as u16,
            dport: num(t[3], 65535)? as u16,
            proto: num(t[4], 255)? as u8,
            expected: num(t[5], u32::MAX as u64)? as u32,
        });
    }
    Ok(packets)
}

fn network(prefix: (Ipv4Addr, u8)) -> Ipv4Addr {
    let mask = if prefix.1 == 0 { 0 } else { u32::MAX << (32 - prefix.1) };
    Ipv4Addr::from(u32::from(prefix.0) & mask)
}

fn port_match(out: &mut String, proto: &str, field: &str, (lo, hi): (u16, u16)) {
    if (lo, hi) == (0, 65535) {
        return;
    }
    if lo == hi {
        let _ = write!(out, " {proto} {field} {lo}");
    } else {
        let _ = write!(out, " {proto} {field} {lo}-{hi}");
    }
}

/// What each filter's rule does once it matches ([`to_nft_with`]), and so how a packet shows
/// which filters matched it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Action {
    /// `meta mark set i accept`: the mark names the first matching filter.
    #[default]
    MarkAccept,
    /// `accept`, or `drop` for every third filter: the verdict (the policy accepts the rest).
    AcceptDrop,
    /// `jump` to one of four chains, each setting mark 1–4 and accepting: the mark names the
    /// first matching filter modulo four.
    Jump,
    /// `meta mark set i`, then on to the next rule: every matching filter's rule runs, the
    /// mark names the last.
    Mark,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::MarkAccept, Action::AcceptDrop, Action::Jump, Action::Mark];

    pub fn name(self) -> &'static str {
        match self {
            Action::MarkAccept => "mark-accept",
            Action::AcceptDrop => "accept-drop",
            Action::Jump => "jump",
            Action::Mark => "mark",
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The statements of filter `i`'s rule (0-based).
    fn statements(self, i: usize) -> String {
        match self {
            Action::MarkAccept => format!("meta mark set {} accept", i + 1),
            Action::AcceptDrop if (i + 1).is_multiple_of(3) => "drop".into(),
            Action::AcceptDrop => "accept".into(),
            Action::Jump => format!("jump mark{}", i % 4),
            Action::Mark => format!("meta mark set {}", i + 1),
        }
    }

    /// What a packet leaves with, `(mark, dropped)`, when the first filter it matches is
    /// `first` and the last `last` (1-based; 0: none).
    pub fn outcome(self, first: u32, last: u32) -> (u32, bool) {
        match self {
            Action::MarkAccept => (first, false),
            Action::AcceptDrop => (0, first != 0 && first.is_multiple_of(3)),
            Action::Jump => (if first == 0 { 0 } else { (first - 1) % 4 + 1 }, false),
            Action::Mark => (last, false),
        }
    }
}

/// [`to_nft_with`] the default action: filter *i* sets `meta mark` to *i* and accepts.
pub fn to_nft(filters: &[Filter]) -> String {
    to_nft_with(filters, Action::MarkAccept)
}

/// The filter set as an nft ruleset (table `ip classbench`, base chain `filter` on
/// prerouting, policy accept), filter *i* a rule doing `action`.
pub fn to_nft_with(filters: &[Filter], action: Action) -> String {
    let mut out = String::from("table ip classbench {\n");
    if action == Action::Jump {
        for k in 0..4 {
            let _ = writeln!(out, "\tchain mark{k} {{\n\t\tmeta mark set {} accept\n\t}}", k + 1);
        }
    }
    out.push_str("\tchain filter {\n\t\ttype filter hook prerouting priority filter; policy accept;\n");
    for (i, f) in filters.iter().enumerate() {
        let mut rule = String::new();
        for (field, prefix) in [("saddr", f.src), ("daddr", f.dst)] {
            match prefix.1 {
                0 => {}
                32 => {
                    let _ = write!(rule, " ip {field} {}", prefix.0);
                }
                len => {
                    let _ = write!(rule, " ip {field} {}/{len}", network(prefix));
                }
            }
        }
        let has_ports = f.sport != (0, 65535) || f.dport != (0, 65535);
        let proto_name = match f.proto {
            (6, 0xff) => Some("tcp"),
            (17, 0xff) => Some("udp"),
            _ => None,
        };
        match (f.proto.1, proto_name, has_ports) {
            (0, _, _) => {}
            (_, Some(name), true) => {
                port_match(&mut rule, name, "sport", f.sport);
                port_match(&mut rule, name, "dport", f.dport);
            }
            (0xff, _, false) => {
                let _ = write!(rule, " meta l4proto {}", f.proto.0);
            }
            (mask, _, _) => {
                let _ = write!(rule, " meta l4proto & 0x{mask:02x} == 0x{:02x}", f.proto.0 & mask);
                port_match(&mut rule, "th", "sport", f.sport);
                port_match(&mut rule, "th", "dport", f.dport);
            }
        }
        if f.flags.1 != 0 {
            let _ = write!(rule, " @th,96,16 & 0x{:04x} == 0x{:04x}", f.flags.1, f.flags.0 & f.flags.1);
        }
        let _ = write!(rule, " {}", action.statements(i));
        let _ = writeln!(out, "\t\t{}", rule.trim_start());
    }
    out.push_str("\t}\n}\n");
    out
}

/// The 1-based filter number (what traces name) of each rule of the base chain of a program
/// compiled from a [`to_nft`] or [`to_nft_with`] ruleset (the chains a `jump` action
/// targets are not base chains): with rules dropped as dead or merged by the
/// optimizer, a rule's index in the program is no longer its filter's. `source` is the
/// ruleset before optimization; rules are matched by where they were written.
pub fn filter_numbers(source: &Ruleset, prog: &Program, origins: &Origins) -> Vec<Option<u32>> {
    let written: HashMap<(u32, u32), u32> = source
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .filter(|c| c.base.is_some())
        .flat_map(|c| &c.rules)
        .enumerate()
        .map(|(i, r)| ((r.span.start, r.span.end), i as u32 + 1))
        .collect();
    let Some(chain) = prog.chains.iter().find(|c| c.base.is_some()) else { return Vec::new() };
    chain
        .rules
        .iter()
        .map(|r| origins.span(r.source).and_then(|s| written.get(&(s.start, s.end)).copied()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_filter_forms() {
        let wustl = "@209.161.198.176/28 209.161.198.160/28 88 : 88 80 : 80 0x11/0xFF\n@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00\n";
        let f = parse_filters(wustl).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].sport, (88, 88));
        assert_eq!(f[0].proto, (0x11, 0xff));
        let dbgen =
            "@176.19.181.33/32\t90.145.23.162/32\t0 : 65535\t1550 : 1550\t0x06/0xFF\t0x0000/0x0200\t\n";
        let f = parse_filters(dbgen).unwrap();
        assert_eq!(f[0].flags, (0, 0x200));
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        let e = parse_filters("@1.2.3.4/33 0.0.0.0/0 0 : 1 0 : 1 0x00/0x00\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("prefix length"));
        assert_eq!(parse_trace("1 2 3\n").unwrap_err().line, 1);
    }

    #[test]
    fn renders_rules_in_priority_order() {
        let f = parse_filters("@10.0.0.1/24 0.0.0.0/0 0 : 65535 22 : 22 0x06/0xFF\n@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00\n").unwrap();
        let text = to_nft(&f);
        assert!(text.contains("\t\tip saddr 10.0.0.0/24 tcp dport 22 meta mark set 1 accept\n"));
        assert!(text.contains("\t\tmeta mark set 2 accept\n"));
    }

    #[test]
    fn filter_numbers_follow_the_base_chain_when_jump_targets_come_first() {
        let f = parse_filters("@10.0.0.1/24 0.0.0.0/0 0 : 65535 22 : 22 0x06/0xFF\n@10.0.1.0/24 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00\n@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00\n").unwrap();
        let text = to_nft_with(&f, Action::Jump);
        let mut sources = nftvm_grammar::SourceMap::new();
        let file = nftvm_grammar::nft::parse_str(&mut sources, "jump", &text).expect("parses");
        let rs = nftvm_compiler::eval::load(&file).expect("evaluates");
        let options = nftvm_compiler::opt::Options::level(nftvm_compiler::opt::Level::O0);
        let (prog, origins, _) = nftvm_compiler::opt::compile_verified(&rs, &options).expect("compiles");
        assert!(prog.chains.first().is_some_and(|c| c.base.is_none()), "a jump target is written first");
        assert_eq!(filter_numbers(&rs, &prog, &origins), [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn trace_addresses_are_host_order_integers() {
        let t = parse_trace("3271393328 1600753409 65535 21 6 413\n").unwrap();
        assert_eq!(t[0].src, Ipv4Addr::new(194, 253, 128, 48));
        assert_eq!(t[0].expected, 413);
    }
}
