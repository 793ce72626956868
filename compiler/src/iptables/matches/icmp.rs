//! `icmp` (IPv4) and `icmp6` (IPv6): ICMP type and code matches.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint_prefix;

/// A named ICMP type or type/code range, as iptables' `libxt_icmp.h` lists them.
pub struct IcmpName {
    pub name: &'static str,
    pub typ: u8,
    pub code_min: u8,
    pub code_max: u8,
}

const fn n(name: &'static str, typ: u8, code_min: u8, code_max: u8) -> IcmpName {
    IcmpName { name, typ, code_min, code_max }
}

/// ICMP (v4) names; type 255 with all codes is `any`.
pub static ICMP_NAMES: &[IcmpName] = &[
    n("any", 0xFF, 0, 0xFF),
    n("echo-reply", 0, 0, 0xFF),
    n("pong", 0, 0, 0xFF),
    n("destination-unreachable", 3, 0, 0xFF),
    n("network-unreachable", 3, 0, 0),
    n("host-unreachable", 3, 1, 1),
    n("protocol-unreachable", 3, 2, 2),
    n("port-unreachable", 3, 3, 3),
    n("fragmentation-needed", 3, 4, 4),
    n("source-route-failed", 3, 5, 5),
    n("network-unknown", 3, 6, 6),
    n("host-unknown", 3, 7, 7),
    n("network-prohibited", 3, 9, 9),
    n("host-prohibited", 3, 10, 10),
    n("TOS-network-unreachable", 3, 11, 11),
    n("TOS-host-unreachable", 3, 12, 12),
    n("communication-prohibited", 3, 13, 13),
    n("host-precedence-violation", 3, 14, 14),
    n("precedence-cutoff", 3, 15, 15),
    n("source-quench", 4, 0, 0xFF),
    n("redirect", 5, 0, 0xFF),
    n("network-redirect", 5, 0, 0),
    n("host-redirect", 5, 1, 1),
    n("TOS-network-redirect", 5, 2, 2),
    n("TOS-host-redirect", 5, 3, 3),
    n("echo-request", 8, 0, 0xFF),
    n("ping", 8, 0, 0xFF),
    n("router-advertisement", 9, 0, 0xFF),
    n("router-solicitation", 10, 0, 0xFF),
    n("time-exceeded", 11, 0, 0xFF),
    n("ttl-exceeded", 11, 0, 0xFF),
    n("ttl-zero-during-transit", 11, 0, 0),
    n("ttl-zero-during-reassembly", 11, 1, 1),
    n("parameter-problem", 12, 0, 0xFF),
    n("ip-header-bad", 12, 0, 0),
    n("required-option-missing", 12, 1, 1),
    n("timestamp-request", 13, 0, 0xFF),
    n("timestamp-reply", 14, 0, 0xFF),
    n("info-request", 15, 0, 0xFF),
    n("info-reply", 16, 0, 0xFF),
    n("address-mask-request", 17, 0, 0xFF),
    n("address-mask-reply", 18, 0, 0xFF),
];

/// ICMPv6 names.
pub static ICMPV6_NAMES: &[IcmpName] = &[
    n("destination-unreachable", 1, 0, 0xFF),
    n("no-route", 1, 0, 0),
    n("communication-prohibited", 1, 1, 1),
    n("beyond-scope", 1, 2, 2),
    n("address-unreachable", 1, 3, 3),
    n("port-unreachable", 1, 4, 4),
    n("failed-policy", 1, 5, 5),
    n("reject-route", 1, 6, 6),
    n("packet-too-big", 2, 0, 0xFF),
    n("time-exceeded", 3, 0, 0xFF),
    n("ttl-exceeded", 3, 0, 0xFF),
    n("ttl-zero-during-transit", 3, 0, 0),
    n("ttl-zero-during-reassembly", 3, 1, 1),
    n("parameter-problem", 4, 0, 0xFF),
    n("bad-header", 4, 0, 0),
    n("unknown-header-type", 4, 1, 1),
    n("unknown-option", 4, 2, 2),
    n("echo-request", 128, 0, 0xFF),
    n("ping", 128, 0, 0xFF),
    n("echo-reply", 129, 0, 0xFF),
    n("pong", 129, 0, 0xFF),
    n("mld-listener-query", 130, 0, 0xFF),
    n("mld-listener-report", 131, 0, 0xFF),
    n("mld-listener-done", 132, 0, 0xFF),
    n("mld-listener-reduction", 132, 0, 0xFF),
    n("router-solicitation", 133, 0, 0xFF),
    n("router-advertisement", 134, 0, 0xFF),
    n("neighbour-solicitation", 135, 0, 0xFF),
    n("neighbor-solicitation", 135, 0, 0xFF),
    n("neighbour-advertisement", 136, 0, 0xFF),
    n("neighbor-advertisement", 136, 0, 0xFF),
    n("redirect", 137, 0, 0xFF),
];

/// `a[:b]` with 0–255 bounds; returns the range and the unparsed rest.
fn parse_small_range(s: &str) -> Option<((u8, u8), &str)> {
    let (a, rest) = parse_uint_prefix(s, 0, 255)?;
    match rest.strip_prefix(':') {
        Some(r) => {
            let (b, rest) = parse_uint_prefix(r, 0, 255)?;
            Some(((a as u8, b as u8), rest))
        }
        None => Some(((a as u8, a as u8), rest)),
    }
}

/// A type name (any unambiguous case-insensitive prefix), `TYPE`, or `TYPE/CODE[:CODE]`.
/// Returns the type and code range.
pub fn parse_icmp_type(table: &[IcmpName], what: &str, s: &str) -> Result<(u8, (u8, u8)), String> {
    let mut found: Option<&IcmpName> = None;
    for e in table {
        if e.name.len() >= s.len() && e.name.as_bytes()[..s.len()].eq_ignore_ascii_case(s.as_bytes()) {
            if let Some(prev) = found {
                return Err(format!("Ambiguous {what} type `{s}': `{}' or `{}'?", prev.name, e.name));
            }
            found = Some(e);
        }
    }
    if let Some(e) = found {
        return Ok((e.typ, (e.code_min, e.code_max)));
    }
    let ((t0, t1), rest) = parse_small_range(s)
        .ok_or_else(|| format!("Unknown {what} type `{s}': expecting a name or TYPE[/CODE]"))?;
    if t0 != t1 {
        return Err(format!("{what} type range not supported"));
    }
    if rest.is_empty() {
        return Ok((t0, (0, 0xFF)));
    }
    let code = rest
        .strip_prefix('/')
        .ok_or_else(|| format!("unknown character {}", rest.chars().next().unwrap_or(' ')))?;
    let (codes, rest) = parse_small_range(code).ok_or_else(|| format!("Unknown {what} code `{s}'"))?;
    if let Some(c) = rest.chars().next() {
        return Err(format!("unknown character {c}"));
    }
    Ok((t0, codes))
}

/// The icmp match (`--icmp-type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// 255 with all codes means `any`.
    pub typ: u8,
    pub code_min: u8,
    pub code_max: u8,
    pub invert: bool,
}

impl Default for Icmp {
    fn default() -> Icmp {
        Icmp { typ: 0xFF, code_min: 0, code_max: 0xFF, invert: false }
    }
}

impl Icmp {
    /// `--icmp-type any`.
    pub fn is_any(&self) -> bool {
        self.typ == 0xFF && self.code_min == 0 && self.code_max == 0xFF
    }
}

static ICMP_OPTS: [OptSpec; 1] = [OptSpec::arg("icmp-type", 0).inv().mand()];
static ICMP6_OPTS: [OptSpec; 1] = [OptSpec::arg("icmpv6-type", 0).inv().mand()];

impl Extension for Icmp {
    fn options(&self) -> &'static [OptSpec] {
        &ICMP_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let (t, (lo, hi)) = parse_icmp_type(ICMP_NAMES, "ICMP", call.arg)?;
        *self = Icmp { typ: t, code_min: lo, code_max: hi, invert: call.invert };
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.bang(self.invert);
        if self.is_any() {
            out.push(" --icmp-type any");
        } else {
            out.push(&format!(" --icmp-type {}", self.typ));
            if self.code_min != 0 || self.code_max != 0xFF {
                out.push(&format!("/{}", self.code_min));
            }
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[1], "icmp match")
    }
}

/// The icmp6 match (`--icmpv6-type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp6 {
    pub typ: u8,
    pub code_min: u8,
    pub code_max: u8,
    pub invert: bool,
}

impl Default for Icmp6 {
    fn default() -> Icmp6 {
        Icmp6 { typ: 0, code_min: 0, code_max: 0xFF, invert: false }
    }
}

impl Extension for Icmp6 {
    fn options(&self) -> &'static [OptSpec] {
        &ICMP6_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let (t, (lo, hi)) = parse_icmp_type(ICMPV6_NAMES, "ICMPv6", call.arg)?;
        *self = Icmp6 { typ: t, code_min: lo, code_max: hi, invert: call.invert };
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.bang(self.invert);
        out.push(&format!(" --icmpv6-type {}", self.typ));
        if self.code_min != 0 || self.code_max != 0xFF {
            out.push(&format!("/{}", self.code_min));
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[58], "icmp6 match")
    }
}
