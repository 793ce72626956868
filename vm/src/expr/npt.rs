//! `target name SNPT rev 0` / `target name DNPT rev 0` — ip6tables' `-j SNPT` and `-j DNPT`,
//! IPv6-to-IPv6 network prefix translation (RFC 6296), run as iptables-nft runs them: the
//! kernel's targets (`ip6t_NPT`). nft has no statement for it; its `snat`/`dnat` with a
//! prefix are stateful NAT, where NPTv6 is stateless: each address is mapped on its own,
//! in both directions, and the mapping leaves every transport checksum valid.
//!
//! As the kernel: the first `max(source, destination prefix length)` bits of the address
//! become the destination prefix's, and one 16-bit word of the rest takes the difference
//! of the two prefixes' one's-complement sums — word 3 for prefixes up to /48, else the
//! first of words 4–7 that is not 0xffff (a result of 0xffff is written 0). An address whose
//! words 4–7 are all 0xffff cannot be mapped: the packet, its prefix already rewritten, is
//! dropped with an ICMPv6 parameter problem pointing at the address. The target maps every
//! packet that reaches it — `-s`/`-d` say which ones should.

use crate::interp::{Eval, IcmpErrorRequest, csum};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;
use std::net::Ipv6Addr;

/// The longest prefix the kernel accepts.
pub const MAX_PREFIX: u8 = 64;

/// An IPv6 prefix: its address (host bits zero) and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: Ipv6Addr,
    pub len: u8,
}

/// One `-j SNPT` (the source address) or `-j DNPT` (the destination address).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Npt {
    /// DNPT, else SNPT.
    pub destination: bool,
    /// `--src-pfx`: the prefix addresses are mapped from.
    pub from: Prefix,
    /// `--dst-pfx`: the prefix they are mapped to.
    pub to: Prefix,
}

/// ICMPv6 parameter problem, "erroneous header field encountered".
const PARAM_PROBLEM: u8 = 4;
const HEADER_FIELD: u8 = 0;

impl Npt {
    pub fn name(&self) -> &'static str {
        if self.destination { "DNPT" } else { "SNPT" }
    }

    /// Offset of the address the target maps in the IPv6 header.
    fn field(&self) -> usize {
        if self.destination { 24 } else { 8 }
    }

    /// The 16-bit one's-complement difference of the two prefixes (the kernel's
    /// `adjustment`, computed when the rule is loaded).
    fn adjustment(&self) -> u16 {
        let from = csum::partial(&self.from.addr.octets());
        let to = csum::partial(&self.to.addr.octets());
        !csum::fold(csum::add(from, !to))
    }

    /// Maps `addr` in place; false when no word can take the adjustment (the prefix is
    /// rewritten all the same, as in the kernel).
    pub fn map(&self, addr: &mut [u8; 16]) -> bool {
        let len = usize::from(self.from.len.max(self.to.len));
        let to = self.to.addr.octets();
        for bit in (0..len).step_by(8) {
            let i = bit / 8;
            let keep = if len - bit >= 8 { 0 } else { 0xff >> (len - bit) };
            addr[i] = (addr[i] & keep) | (to[i] & !keep);
        }
        let word = |a: &[u8; 16], w: usize| u16::from_be_bytes([a[2 * w], a[2 * w + 1]]);
        let at = if len <= 48 {
            3
        } else {
            match (4..8).find(|&w| word(addr, w) != 0xffff) {
                Some(w) => w,
                None => return false,
            }
        };
        let sum = !csum::fold(csum::add(u32::from(word(addr, at)), u32::from(self.adjustment())));
        let sum = if sum == 0xffff { 0 } else { sum };
        addr[2 * at..2 * at + 2].copy_from_slice(&sum.to_be_bytes());
        true
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name {} rev 0 src {}/{} dst {}/{}",
            self.name(),
            self.from.addr,
            self.from.len,
            self.to.addr,
            self.to.len
        );
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Npt> {
        c.expect("name")?;
        let destination = match c.next()? {
            "SNPT" => false,
            "DNPT" => true,
            w => return Err(format!("expected SNPT or DNPT, found `{w}`")),
        };
        c.expect_all(&["rev", "0", "src"])?;
        let from = parse_prefix(c.next()?)?;
        c.expect("dst")?;
        let to = parse_prefix(c.next()?)?;
        Ok(Npt { destination, from, to })
    }

    /// What the kernel's `checkentry` refuses: an IPv4 table, a prefix longer than /64 or
    /// with host bits set.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if c.family != Family::Ip6 {
            return Err(format!("target {} runs in ip6 tables only", self.name()));
        }
        for p in [self.from, self.to] {
            if p.len > MAX_PREFIX {
                return Err(format!("{}: prefix /{} is longer than /{MAX_PREFIX}", self.name(), p.len));
            }
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            if u128::from(p.addr) & !mask != 0 {
                return Err(format!("{}: prefix {}/{} has host bits set", self.name(), p.addr, p.len));
            }
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let at = e.pkt.network_off + self.field();
        let Some(bytes) = e.pkt.data.get_mut(at..at + 16) else { return e.brk() };
        let mut addr = [0u8; 16];
        addr.copy_from_slice(bytes);
        let mapped = self.map(&mut addr);
        bytes.copy_from_slice(&addr);
        if !mapped {
            let pointer = self.field() as u32;
            e.env.icmp_error(IcmpErrorRequest { kind: PARAM_PROBLEM, code: HEADER_FIELD, rest: pointer });
            e.regs.verdict = Verdict::Drop;
        }
    }
}

/// `ADDR/LEN`.
fn parse_prefix(word: &str) -> PResult<Prefix> {
    let (addr, len) = word.split_once('/').ok_or_else(|| format!("expected ADDR/LEN, found `{word}`"))?;
    let addr = addr.parse().map_err(|_| format!("bad IPv6 address `{addr}`"))?;
    let len = len.parse().ok().filter(|l| *l <= 128).ok_or_else(|| format!("bad prefix length `{len}`"))?;
    Ok(Prefix { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npt(from: &str, to: &str) -> Npt {
        let p = |s: &str| parse_prefix(s).unwrap();
        Npt { destination: false, from: p(from), to: p(to) }
    }

    fn mapped(n: &Npt, addr: &str) -> Option<Ipv6Addr> {
        let mut a = addr.parse::<Ipv6Addr>().unwrap().octets();
        n.map(&mut a).then(|| Ipv6Addr::from(a))
    }

    #[test]
    fn the_rfc_6296_example_maps_both_ways() {
        // RFC 6296 section 3.1: fd01:0203:0405:0001::1234 inside is 2001:0db8:0001:d550::1234
        // outside.
        let out = npt("fd01:203:405::/48", "2001:db8:1::/48");
        let back = npt("2001:db8:1::/48", "fd01:203:405::/48");
        assert_eq!(mapped(&out, "fd01:203:405:1::1234"), Some("2001:db8:1:d550::1234".parse().unwrap()));
        assert_eq!(mapped(&back, "2001:db8:1:d550::1234"), Some("fd01:203:405:1::1234".parse().unwrap()));
    }

    #[test]
    fn mapping_keeps_the_address_sum() {
        // Checksum neutrality: the one's-complement sum of the address does not change (a
        // transport checksum over the pseudo header stays valid).
        let n = npt("fd00:1::/64", "2001:db8:aa:bb::/64");
        for a in ["fd00:1::2", "fd00:1::1:2:3:4", "fd00:1::ffff:ffff:ffff:fffe"] {
            let before = a.parse::<Ipv6Addr>().unwrap().octets();
            let mut after = before;
            assert!(n.map(&mut after));
            assert_eq!(csum::fold(csum::partial(&before)), csum::fold(csum::partial(&after)), "{a}");
            assert_eq!(after[..8], "2001:db8:aa:bb::".parse::<Ipv6Addr>().unwrap().octets()[..8]);
        }
    }

    #[test]
    fn long_prefixes_adjust_the_first_word_that_is_not_all_ones() {
        let n = npt("fd00:1:2:3::/64", "2001:db8:1:2::/64");
        let a = mapped(&n, "fd00:1:2:3:ffff:ffff:1::").unwrap();
        assert_eq!(a.segments()[4..6], [0xffff, 0xffff]);
        assert_ne!(a.segments()[6], 1);
        // Words 4-7 all ones: nothing can take the difference.
        assert_eq!(mapped(&n, "fd00:1:2:3:ffff:ffff:ffff:ffff"), None);
        // Up to /48 the word after the prefix takes it, whatever the rest holds.
        assert!(mapped(&npt("fd00:1::/48", "2001:db8::/48"), "fd00:1:0:ffff:ffff:ffff:ffff:ffff").is_some());
    }

    #[test]
    fn unequal_prefixes_rewrite_the_longer_one() {
        let n = npt("fd00::/32", "2001:db8:1::/48");
        let a = mapped(&n, "fd00:0:7:9::1").unwrap();
        assert_eq!(a.segments()[..3], [0x2001, 0x0db8, 0x0001]);
        assert_eq!(a.segments()[4..], [0, 0, 0, 1]);
    }

    #[test]
    fn text_round_trips_and_bad_prefixes_are_named() {
        let text = "table ip6 t\nchain ip6 t c\nip6 t c\n  [ target name DNPT rev 0 src 2001:db8:1::/48 dst fd00:1::/48 ]\n";
        let p = crate::text::assemble(text).unwrap();
        assert!(
            crate::text::disassemble(&p)
                .contains("[ target name DNPT rev 0 src 2001:db8:1::/48 dst fd00:1::/48 ]")
        );
        for (bad, why) in
            [("fd00::/129", "prefix length"), ("fd00::", "ADDR/LEN"), ("fd00::g/48", "IPv6 address")]
        {
            assert!(parse_prefix(bad).unwrap_err().contains(why), "{bad}");
        }
        let checked = |src: &str| {
            let text = format!(
                "table ip6 t\nchain ip6 t c\nip6 t c\n  [ target name SNPT rev 0 src {src} dst fd00:1::/48 ]\n"
            );
            crate::verify::verify(crate::text::assemble(&text).unwrap())
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(checked("2001:db8:1::/48").is_ok());
        assert!(checked("2001:db8:1::/65").unwrap_err().contains("longer than /64"));
        assert!(checked("2001:db8:1::1/48").unwrap_err().contains("host bits"));
    }
}
