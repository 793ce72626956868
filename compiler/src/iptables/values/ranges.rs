//! Ports and numeric ranges, in the argument syntaxes extensions share.
//!
//! - `a[:b]` integer ranges (`XTTYPE_UINT*RC`): a missing bound defaults to the type's
//!   limits (`:4` is `0:4`, `4:` is `4:MAX`), the second bound must not be below the first.
//! - ports by number or service name, as `xtables_parse_port` (base-0 number, then
//!   `/etc/services` for the given protocol) and as `XTTYPE_PORT(RC)` (`getaddrinfo`: decimal
//!   number, then any service) read them.

use super::num::{parse_uint, parse_uint_prefix};
use super::services;
use std::fmt;

/// An inclusive range of 16-bit values (ports, lengths, MSS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { lo: 0, hi: u16::MAX };

    pub fn single(p: u16) -> PortRange {
        PortRange { lo: p, hi: p }
    }

    pub fn is_all(&self) -> bool {
        *self == PortRange::ALL
    }

    pub fn is_single(&self) -> bool {
        self.lo == self.hi
    }
}

impl Default for PortRange {
    fn default() -> PortRange {
        PortRange::ALL
    }
}

impl fmt::Display for PortRange {
    /// `lo` when single, else `lo:hi` (iptables-save's form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi { write!(f, "{}", self.lo) } else { write!(f, "{}:{}", self.lo, self.hi) }
    }
}

/// An inclusive range of 32/64-bit values (SPIs, expiry times, byte counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range64 {
    pub lo: u64,
    pub hi: u64,
}

impl fmt::Display for Range64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi { write!(f, "{}", self.lo) } else { write!(f, "{}:{}", self.lo, self.hi) }
    }
}

/// Which services a port name may resolve to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceProto {
    Tcp,
    Udp,
    Sctp,
    Dccp,
    /// `getaddrinfo(NULL, name)`: any protocol.
    Any,
}

impl ServiceProto {
    fn bits(self) -> Option<u8> {
        match self {
            ServiceProto::Tcp => Some(services::TCP),
            ServiceProto::Udp => Some(services::UDP),
            ServiceProto::Sctp => Some(services::SCTP),
            // /etc/services has no dccp entries: getservbyname(…, "dccp") finds nothing.
            ServiceProto::Dccp => Some(0),
            ServiceProto::Any => None,
        }
    }

    /// The service protocol of an IP protocol number, as extensions pick it.
    pub fn of_proto(proto: Option<u8>) -> ServiceProto {
        match proto {
            Some(6) => ServiceProto::Tcp,
            Some(17) => ServiceProto::Udp,
            Some(132) => ServiceProto::Sctp,
            Some(33) => ServiceProto::Dccp,
            _ => ServiceProto::Any,
        }
    }
}

/// `xtables_parse_port`: a number 0–65535 (C integer syntax) or a service name.
pub fn parse_port(s: &str, proto: ServiceProto) -> Result<u16, String> {
    if let Some(n) = parse_uint(s, 0, 65535) {
        return Ok(n as u16);
    }
    lookup_service(s, proto).ok_or_else(|| format!("invalid port/service `{s}' specified"))
}

fn lookup_service(s: &str, proto: ServiceProto) -> Option<u16> {
    match proto.bits() {
        Some(0) => None,
        bits => services::lookup(s, bits),
    }
}

/// `getaddrinfo`-style port: a decimal number or any service name.
pub fn parse_port_gai(s: &str) -> Result<u16, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u32>()
            .ok()
            .filter(|&v| v <= 65535)
            .map(|v| v as u16)
            .ok_or_else(|| format!("Port \"{s}\" does not resolve to anything"));
    }
    services::lookup(s, None).ok_or_else(|| format!("Port \"{s}\" does not resolve to anything"))
}

/// `port[:port]` as the tcp/udp-style matches read it (`:` alone is everything).
pub fn parse_port_range(s: &str, proto: ServiceProto) -> Result<PortRange, String> {
    match s.split_once(':') {
        None => parse_port(s, proto).map(PortRange::single),
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { parse_port(a, proto)? };
            let hi = if b.is_empty() { u16::MAX } else { parse_port(b, proto)? };
            if lo > hi {
                return Err("invalid portrange (min > max)".into());
            }
            Ok(PortRange { lo, hi })
        }
    }
}

/// `XTTYPE_PORTRC`: `port[:port]` with getaddrinfo resolution; a missing bound is 0/65535.
pub fn parse_port_range_gai(s: &str) -> Result<PortRange, String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 2 {
        return Err(format!("too many components in \"{s}\" (max: 2)"));
    }
    let mut r = PortRange::ALL;
    let mut prev = 0u16;
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        let v = parse_port_gai(p)?;
        if v < prev {
            return Err(format!("Port range {prev}-{v} is negative"));
        }
        prev = v;
        if i == 0 {
            r.lo = v;
        } else {
            r.hi = v;
        }
    }
    if parts.len() == 1 {
        r.hi = r.lo;
    }
    Ok(r)
}

/// `XTTYPE_UINT*RC`: one or two `:`-separated bounds within `min..=max`; missing bounds take
/// the defaults and the second may not be smaller than the first. Returns the components.
pub fn parse_mint(s: &str, min: u64, max: u64) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    let mut lmin = min;
    let mut rest = s;
    loop {
        if out.len() == 2 {
            return Err(format!("too many components in \"{s}\" (max: 2)"));
        }
        let value;
        if rest.is_empty() || rest.starts_with(':') {
            value = if out.len() == 1 { max } else { min };
        } else {
            let (v, after) = parse_uint_prefix(rest, lmin, max)
                .ok_or_else(|| format!("bad value near \"{rest}\", or out of range ({lmin}-{max})"))?;
            if !after.is_empty() && !after.starts_with(':') {
                return Err(format!("unexpected characters near \"{after}\""));
            }
            value = v;
            lmin = v;
            rest = after;
        }
        out.push(value);
        match rest.strip_prefix(':') {
            Some(r) => rest = r,
            None => break,
        }
    }
    Ok(out)
}

/// [`parse_mint`] as a range: one component means `lo == hi`.
pub fn parse_range64(s: &str, min: u64, max: u64) -> Result<Range64, String> {
    let v = parse_mint(s, min, max)?;
    let lo = v.first().copied().unwrap_or(min);
    Ok(Range64 { lo, hi: v.get(1).copied().unwrap_or(lo) })
}

/// [`parse_range64`] for 16-bit values.
pub fn parse_range16(s: &str) -> Result<PortRange, String> {
    let r = parse_range64(s, 0, u16::MAX as u64)?;
    Ok(PortRange { lo: r.lo as u16, hi: r.hi as u16 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        let t = |s| parse_port_range(s, ServiceProto::Tcp);
        assert_eq!(t("1024:"), Ok(PortRange { lo: 1024, hi: 65535 }));
        assert_eq!(t(":"), Ok(PortRange::ALL));
        assert_eq!(t("ssh"), Ok(PortRange::single(22)));
        assert_eq!(t("0x16"), Ok(PortRange::single(22)));
        assert!(t("4:3").is_err());
        assert!(t("65536").is_err());
        assert!(t("-1").is_err());
        assert_eq!(parse_port_range_gai("http"), Ok(PortRange::single(80)));
        assert_eq!(parse_port_range_gai(":4"), Ok(PortRange { lo: 0, hi: 4 }));
        assert!(parse_port_range_gai("4:3").is_err());
    }

    #[test]
    fn mint() {
        assert_eq!(parse_mint("3", 0, 10), Ok(vec![3]));
        assert_eq!(parse_mint(":", 0, 10), Ok(vec![0, 10]));
        assert_eq!(parse_mint("4:", 0, 10), Ok(vec![4, 10]));
        assert!(parse_mint("4:3", 0, 10).is_err());
        assert!(parse_mint("-1", 0, 10).is_err());
        assert!(parse_mint("1:2:3", 0, 10).is_err());
        assert_eq!(parse_range64("0:4294967295", 0, u32::MAX as u64), Ok(Range64 { lo: 0, hi: 4294967295 }));
    }
}
