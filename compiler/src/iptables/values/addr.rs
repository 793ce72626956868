//! IPv4/IPv6 addresses and masks as iptables parses and prints them.
//!
//! Parsing follows libxtables: IPv4 dotted quads whose parts are C integers (`010` is octal)
//! and which may be shortened (`10` is `10.0.0.0`, `10.1` is `10.1.0.0`); IPv6 as `inet_pton`
//! reads it; masks as a prefix length or a dotted/colon mask (which may be non-contiguous);
//! the address is ANDed with its mask. Host names are not resolved (nftvm runs offline).
//! Printing follows `inet_ntop` (glibc's IPv6 zero compression and embedded-IPv4 forms).

use super::num::parse_uint;
use crate::iptables::Family;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address of either family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addr {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Addr {
    pub fn family(&self) -> Family {
        match self {
            Addr::V4(_) => Family::Ipv4,
            Addr::V6(_) => Family::Ipv6,
        }
    }

    /// The all-zero address of a family.
    pub fn zero(family: Family) -> Addr {
        match family {
            Family::Ipv4 => Addr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => Addr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// The mask with the first `len` bits set.
    pub fn prefix_mask(family: Family, len: u8) -> Addr {
        match family {
            Family::Ipv4 => {
                Addr::V4(Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) }))
            }
            Family::Ipv6 => Addr::V6(Ipv6Addr::from(if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            })),
        }
    }

    /// Big-endian bytes (4 or 16).
    pub fn octets(&self) -> Vec<u8> {
        match self {
            Addr::V4(a) => a.octets().to_vec(),
            Addr::V6(a) => a.octets().to_vec(),
        }
    }

    /// The address as a number (IPv4 in the low 32 bits).
    pub fn to_u128(&self) -> u128 {
        match self {
            Addr::V4(a) => u128::from(u32::from(*a)),
            Addr::V6(a) => u128::from(*a),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.octets().iter().all(|&b| b == 0)
    }

    /// Bitwise AND of two addresses of the same family.
    pub fn and(&self, mask: &Addr) -> Addr {
        match (self, mask) {
            (Addr::V4(a), Addr::V4(m)) => Addr::V4(Ipv4Addr::from(u32::from(*a) & u32::from(*m))),
            (Addr::V6(a), Addr::V6(m)) => Addr::V6(Ipv6Addr::from(u128::from(*a) & u128::from(*m))),
            _ => *self,
        }
    }

    /// Length of the prefix this mask stands for, or `None` for a non-contiguous mask.
    pub fn mask_to_prefix_len(&self) -> Option<u8> {
        let (bits, width) = match self {
            Addr::V4(m) => (u128::from(u32::from(*m)) << 96, 32u32),
            Addr::V6(m) => (u128::from(*m), 128),
        };
        let ones = bits.leading_ones();
        (bits.checked_shl(ones).unwrap_or(0) == 0 && ones <= width).then_some(ones as u8)
    }
}

impl From<Addr> for std::net::IpAddr {
    fn from(a: Addr) -> std::net::IpAddr {
        match a {
            Addr::V4(a) => std::net::IpAddr::V4(a),
            Addr::V6(a) => std::net::IpAddr::V6(a),
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::V4(a) => write!(f, "{a}"),
            Addr::V6(a) => f.write_str(&ntop6(a)),
        }
    }
}

/// An address with its mask (as in `-s 10.0.0.0/8` or `10.0.12.0/255.0.255.0`); the address
/// is already ANDed with the mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrMask {
    pub addr: Addr,
    pub mask: Addr,
}

impl AddrMask {
    pub fn family(&self) -> Family {
        self.addr.family()
    }

    /// Prefix length when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        self.mask.mask_to_prefix_len()
    }

    /// Matches every address (`0.0.0.0/0`, `::/0`).
    pub fn is_any(&self) -> bool {
        self.mask.is_zero()
    }

    /// The form iptables-save prints: `addr/len` (always with a length), or `addr/mask` for
    /// non-contiguous masks.
    pub fn save_form(&self) -> String {
        match self.prefix_len() {
            Some(len) => format!("{}/{}", self.addr, len),
            None => format!("{}/{}", self.addr, self.mask),
        }
    }
}

/// glibc `inet_ntop(AF_INET6)`: the longest run (≥ 2) of zero groups becomes `::` (the first
/// of equally long runs), and `::a.b.c.d` / `::ffff:a.b.c.d` keep the embedded IPv4 form.
pub fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best, mut cur): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, &g) in w.iter().enumerate() {
        if g == 0 {
            let c = cur.get_or_insert((i, 0));
            c.1 += 1;
            if c.1 > best.1 {
                best = *c;
            }
        } else {
            cur = None;
        }
    }
    if best.1 < 2 {
        best = (usize::MAX, 0);
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best.0 {
            out.push(':');
            if i == 0 {
                out.push(':');
            }
            i += best.1;
            continue;
        }
        if i == 6 && best.0 == 0 && (best.1 == 6 || (best.1 == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            out.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return out;
        }
        out.push_str(&format!("{:x}", w[i]));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out
}

/// IPv4 dotted form as libxtables reads it; `autocomplete` allows `10` / `10.1` (addresses,
/// not masks).
fn parse_v4_dotted(s: &str, autocomplete: bool) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 || (parts.len() < 4 && !autocomplete) {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        bytes[i] = parse_uint(p, 0, 255)? as u8;
    }
    Some(Ipv4Addr::from(bytes))
}

/// A numeric address of `family` (no mask, no host names).
pub fn parse_addr(s: &str, family: Family) -> Option<Addr> {
    match family {
        Family::Ipv4 => parse_v4_dotted(s, true).map(Addr::V4),
        Family::Ipv6 => s.parse::<Ipv6Addr>().ok().map(Addr::V6),
    }
}

/// A mask: dotted/colon form or a prefix length.
pub fn parse_mask(s: &str, family: Family) -> Option<Addr> {
    let dotted = match family {
        Family::Ipv4 => parse_v4_dotted(s, false).map(Addr::V4),
        Family::Ipv6 => s.parse::<Ipv6Addr>().ok().map(Addr::V6),
    };
    if dotted.is_some() {
        return dotted;
    }
    let len = parse_uint(s, 0, family.addr_bits() as u64)?;
    Some(Addr::prefix_mask(family, len as u8))
}

/// `addr[/mask]`, as `xtables_ipparse_any` reads one element. A zero mask makes the address
/// irrelevant (`anything/0` is `0.0.0.0/0`).
pub fn parse_addr_mask(s: &str, family: Family) -> Result<AddrMask, String> {
    let (host, mask) = match s.rfind('/') {
        Some(i) => {
            let m = &s[i + 1..];
            (&s[..i], parse_mask(m, family).ok_or_else(|| format!("invalid mask `{m}' specified"))?)
        }
        None => (s, Addr::prefix_mask(family, family.addr_bits())),
    };
    let addr = if mask.is_zero() {
        Addr::zero(family)
    } else {
        parse_addr(host, family).ok_or_else(|| format!("host/network `{host}' not found"))?
    };
    Ok(AddrMask { addr: addr.and(&mask), mask })
}

/// A comma-separated list of `addr[/mask]` (`-s a,b,c`), as `xtables_ipparse_multiple`.
pub fn parse_addr_mask_list(s: &str, family: Family) -> Result<Vec<AddrMask>, String> {
    s.split(',').map(|item| parse_addr_mask(item.trim_start(), family)).collect()
}

/// `inet_aton`: one to four parts in C integer syntax, the last part filling the remaining
/// bytes (`10` is `0.0.0.10`, `10.1` is `10.0.0.1`) — what `getaddrinfo` accepts numerically.
pub fn parse_inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut value: u32 = 0;
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let max: u64 = if last { u64::from(u32::MAX >> (8 * i)) } else { 255 };
        let v = super::num::parse_uint(p, 0, max)? as u32;
        if last {
            value |= v;
        } else {
            value |= v << (24 - 8 * i);
        }
    }
    Some(Ipv4Addr::from(value))
}

/// A single numeric host as `getaddrinfo` resolves it (`XTTYPE_HOST`).
pub fn parse_host(s: &str, family: Family) -> Result<Addr, String> {
    let parsed = match family {
        Family::Ipv4 => parse_inet_aton(s).map(Addr::V4),
        Family::Ipv6 => s.parse::<Ipv6Addr>().ok().map(Addr::V6),
    };
    parsed.ok_or_else(|| format!("host `{s}' is not a numeric {} address", family.addr_name()))
}

/// `host[/plen|/mask]` without applying the mask to the address (`XTTYPE_HOSTMASK`).
pub fn parse_host_mask(s: &str, family: Family) -> Result<AddrMask, String> {
    match s.split_once('/') {
        None => {
            Ok(AddrMask { addr: parse_host(s, family)?, mask: Addr::prefix_mask(family, family.addr_bits()) })
        }
        Some((h, m)) => {
            let addr = parse_host(h, family)?;
            let mask = parse_mask(m, family).ok_or_else(|| {
                format!(
                    "bad mask \"{m}\": neither a valid network mask nor a valid CIDR (0-{})",
                    family.addr_bits()
                )
            })?;
            Ok(AddrMask { addr, mask })
        }
    }
}

impl AddrMask {
    /// `addr` followed by nothing for a full mask, `/len`, or `/mask` (what
    /// `xtables_ip[6]mask_to_numeric` appends).
    pub fn numeric_form(&self) -> String {
        let full = self.family().addr_bits();
        match self.prefix_len() {
            Some(len) if len == full => self.addr.to_string(),
            Some(len) => format!("{}/{}", self.addr, len),
            None => format!("{}/{}", self.addr, self.mask),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(s: &str, f: Family) -> String {
        parse_addr_mask(s, f).unwrap().save_form()
    }

    #[test]
    fn ipv4_forms() {
        assert_eq!(save("10.11.12.13/8", Family::Ipv4), "10.0.0.0/8");
        assert_eq!(save("10.11.12.13/255.0.255.0", Family::Ipv4), "10.0.12.0/255.0.255.0");
        assert_eq!(save("10.11.12.13/255.128.0.0", Family::Ipv4), "10.0.0.0/9");
        assert_eq!(save("1.2.3.4", Family::Ipv4), "1.2.3.4/32");
        assert_eq!(save("10", Family::Ipv4), "10.0.0.0/32");
        assert_eq!(save("010.1", Family::Ipv4), "8.1.0.0/32");
        assert_eq!(save("foo/0", Family::Ipv4), "0.0.0.0/0");
        assert!(parse_addr_mask("1.2.3.4/33", Family::Ipv4).is_err());
        assert!(parse_addr_mask("1.2.3.256", Family::Ipv4).is_err());
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(save("feed:babe::1/ffff:ff00::", Family::Ipv6), "feed:ba00::/24");
        assert_eq!(save("::", Family::Ipv6), "::/128");
        assert_eq!(save("2001:db8::1/64", Family::Ipv6), "2001:db8::/64");
        assert_eq!(
            save("feed:babe:c0ff:ee00:c0be:1234:5678:90ab/0:ffff:0:ffff:0:ffff:0:ffff", Family::Ipv6),
            "0:babe:0:ee00:0:1234:0:90ab/0:ffff:0:ffff:0:ffff:0:ffff"
        );
    }

    #[test]
    fn ntop6_like_glibc() {
        let p = |s: &str| ntop6(&s.parse().unwrap());
        assert_eq!(p("::1"), "::1");
        assert_eq!(p("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(p("::1:2"), "::0.1.0.2");
        assert_eq!(p("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(p("1:0:2:0:3:0:4:0"), "1:0:2:0:3:0:4:0");
        assert_eq!(p("ab12:a1:1112:acba::"), "ab12:a1:1112:acba::");
    }
}
