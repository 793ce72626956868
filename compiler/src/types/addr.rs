//! Addresses: IPv4 (dotted quad), IPv6 (printed exactly as glibc's `inet_ntop`, which is what
//! nft shows) and link-layer addresses (`00:0f:54:0c:11:04`).
//!
//! Host names are not resolved: a ruleset means the same on every machine.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::value::{ByteOrder, Value};
use super::{ParsedNum, TypeError};

/// nft's wording when `getaddrinfo` refuses an address of the other family.
const WRONG_FAMILY: &str = "Could not resolve hostname: Address family for hostname not supported";

pub(super) fn parse_ipv4(text: &str) -> Result<ParsedNum, TypeError> {
    if let Ok(addr) = text.parse::<Ipv4Addr>() {
        return Ok(ParsedNum::Val(Value::from_bytes(32, ByteOrder::Network, &addr.octets())?));
    }
    // A bare number is an address too, as inet_aton reads it (`0xff` is 0.0.0.255).
    if let Some(n) = super::integer::parse_number(text).and_then(|n| u32::try_from(n).ok()) {
        return Ok(ParsedNum::Val(Value::from_bytes(32, ByteOrder::Network, &n.to_be_bytes())?));
    }
    if text.contains(':') {
        return Err(TypeError::new(WRONG_FAMILY));
    }
    Err(TypeError::new("Invalid IPv4 address"))
}

pub(super) fn parse_ipv6(text: &str) -> Result<ParsedNum, TypeError> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    match inner.parse::<Ipv6Addr>() {
        Ok(addr) => Ok(ParsedNum::Val(Value::from_bytes(128, ByteOrder::Network, &addr.octets())?)),
        Err(_) if inner.parse::<Ipv4Addr>().is_ok() => Err(TypeError::new(WRONG_FAMILY)),
        Err(_) => Err(TypeError::new("Invalid IPv6 address")),
    }
}

/// Hex bytes separated by single delimiters; `bits` (if non-zero) fixes the length.
pub(super) fn parse_lladdr(text: &str, bits: u32) -> Result<ParsedNum, TypeError> {
    let invalid = || TypeError::new("Invalid LL address");
    let mut bytes = Vec::new();
    for part in text.split([':', '-', '.']) {
        if part.is_empty() || part.len() > 2 {
            return Err(invalid());
        }
        bytes.push(u8::from_str_radix(part, 16).map_err(|_| invalid())?);
    }
    if bits != 0 && bytes.len() * 8 != bits as usize {
        return Err(invalid());
    }
    Ok(ParsedNum::Val(Value::from_bytes((bytes.len() * 8) as u32, ByteOrder::Network, &bytes)?))
}

fn network_bytes(value: &Value) -> Vec<u8> {
    match value.order() {
        ByteOrder::Network => value.bytes().to_vec(),
        ByteOrder::Host => value.bytes().iter().rev().copied().collect(),
    }
}

pub(super) fn print_ipv4(value: &Value) -> String {
    match <[u8; 4]>::try_from(network_bytes(value).as_slice()) {
        Ok(b) => Ipv4Addr::from(b).to_string(),
        Err(_) => super::integer::print_hex(value, 0),
    }
}

/// IPv6 text as glibc prints it: the longest run (≥ 2) of zero groups becomes `::` (first
/// run on ties); `::a.b.c.d` and `::ffff:a.b.c.d` keep the dotted quad.
pub fn format_ipv6(bytes: &[u8; 16]) -> String {
    let words: Vec<u16> = bytes.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_base = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = usize::MAX;
        best_len = 0;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best_base {
            out.push(':');
            if i == 0 {
                out.push(':');
            }
            i += best_len;
            if i == 8 {
                break;
            }
            continue;
        }
        if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            out.push_str(&Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]).to_string());
            return out;
        }
        out.push_str(&format!("{:x}", words[i]));
        if i < 7 {
            out.push(':');
        }
        i += 1;
    }
    out
}

pub(super) fn print_ipv6(value: &Value) -> String {
    match <[u8; 16]>::try_from(network_bytes(value).as_slice()) {
        Ok(b) => format_ipv6(&b),
        Err(_) => super::integer::print_hex(value, 0),
    }
}

pub(super) fn print_lladdr(value: &Value) -> String {
    network_bytes(value).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::super::{PrintOpts, Type};
    use super::*;

    fn v6(text: &str) -> String {
        let addr: Ipv6Addr = text.parse().unwrap();
        format_ipv6(&addr.octets())
    }

    #[test]
    fn ipv6_text_matches_glibc() {
        // Expected strings are what glibc's inet_ntop prints for these addresses.
        assert_eq!(v6("::2"), "::2");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("1::"), "1::");
        assert_eq!(v6("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(v6("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(v6("1:0:0:1:0:0:0:1"), "1:0:0:1::1");
        assert_eq!(v6("0:0:1::"), "0:0:1::");
        assert_eq!(v6("::ffff:0:1.2.3.4"), "::ffff:0:102:304");
        assert_eq!(v6("::1234:1234:1234:1234:1234:1234:1234"), "0:1234:1234:1234:1234:1234:1234:1234");
        assert_eq!(v6("2001:838:35f:1::"), "2001:838:35f:1::");
    }

    #[test]
    fn addresses_round_trip() {
        let o = PrintOpts::default();
        let a = Type::Ipv4Addr.parse("192.168.2.1").unwrap();
        assert_eq!(a.bytes(), &[192, 168, 2, 1]);
        assert_eq!(Type::Ipv4Addr.print(&a, &o), "192.168.2.1");
        assert!(Type::Ipv4Addr.parse("192.168.2").is_err());
        let b = Type::Ipv6Addr.parse("[dead::beef]").unwrap();
        assert_eq!(Type::Ipv6Addr.print(&b, &o), "dead::beef");
        let e = Type::EtherAddr.parse("00:0f:54:0c:11:4").unwrap();
        assert_eq!(Type::EtherAddr.print(&e, &o), "00:0f:54:0c:11:04");
        assert!(Type::EtherAddr.parse("00:0f:54:0c:11").is_err());
        assert!(Type::EtherAddr.parse("00:0f:54:0c:11:100").is_err());
    }
}
