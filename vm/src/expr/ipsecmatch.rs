//! `match name esp rev 0` and `match name ah rev 0` — iptables' `-m esp` and `-m ah`, run as
//! iptables-nft runs them: the kernel's matches (`xt_esp`, `ipt_ah`, `ip6t_ah`). Each tests
//! the header's SPI within a range, perhaps inverted; IPv6's `ah` also its length in bytes
//! (`--ahlen`, perhaps inverted; 0 tests nothing) and that its reserved field is zero
//! (`--ahres`). ESP and IPv4's AH are the packet's transport header (the rule says `-p esp`
//! or `-p ah`) and a later fragment never matches; IPv6's AH is found in the extension
//! header chain as `ipv6_find_hdr` finds it. A header shorter than the match reads (ESP 8
//! bytes, AH 12), or an IPv6 header chain cut short on the way to AH, drops the packet (the
//! kernel's hotdrop) — nft's `esp spi`/`ah spi` would only not match.

use super::xt::{num_range, on_ipv6_ext, on_transport};
use crate::interp::Eval;
use crate::interp::headers::AUTH;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

const ESP: u8 = 50;
/// The bytes of the headers the kernel reads (`struct ip_esp_hdr`, `struct ip_auth_hdr`).
const ESP_LEN: usize = 8;
const AH_LEN: usize = 12;

/// An SPI range, perhaps inverted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Spis {
    pub range: (u32, u32),
    pub invert: bool,
}

impl Default for Spis {
    fn default() -> Spis {
        Spis { range: (0, u32::MAX), invert: false }
    }
}

impl Spis {
    /// Does the SPI in the four bytes at `at` of `header` pass?
    fn hold(&self, header: &[u8], at: usize) -> bool {
        let b = &header[at..at + 4];
        let spi = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (self.range.0..=self.range.1).contains(&spi) != self.invert
    }

    fn print(&self, o: &mut String) {
        let _ = write!(o, " spis {}-{}", self.range.0, self.range.1);
        if self.invert {
            o.push_str(" invert");
        }
    }

    fn parse(c: &mut Cursor, what: &str) -> PResult<Spis> {
        c.expect("spis")?;
        let range = num_range(c, what)?;
        Ok(Spis { range, invert: c.eat("invert") })
    }
}

/// One `-m esp` match (the kernel's `xt_esp`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EspMatch {
    pub spis: Spis,
}

impl EspMatch {
    /// The answer for an ESP header `esp` (as much of it as the packet holds): `None` drops
    /// the packet.
    pub fn holds(&self, esp: &[u8]) -> Option<bool> {
        Some(self.spis.hold(esp.get(..ESP_LEN)?, 0))
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name esp rev 0");
        self.spis.print(o);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<EspMatch> {
        c.expect_all(&["name", "esp", "rev", "0"])?;
        Ok(EspMatch { spis: Spis::parse(c, "esp spis")? })
    }

    /// An ip or ip6 table (`xt_esp` is registered for both).
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if !matches!(c.family, Family::Ip | Family::Ip6) {
            return Err("esp: only in ip and ip6 tables".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_transport(e, ESP, |esp| self.holds(esp));
        e.match_answer(answer);
    }
}

/// One `-m ah` match (the kernel's `ipt_ah` in ip tables, `ip6t_ah` in ip6 tables).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AhMatch {
    pub spis: Spis,
    /// IPv6: the header's length in bytes, perhaps inverted (0: not tested).
    pub len: (u32, bool),
    /// IPv6: the reserved field must be zero.
    pub res: bool,
}

impl AhMatch {
    /// The answer for an AH header `ah` (as much of it as the packet holds): `None` drops
    /// the packet. (`len` and `res` are zero in an ip table, so IPv4's match tests the SPI
    /// only.)
    pub fn holds(&self, ah: &[u8]) -> Option<bool> {
        let ah = ah.get(..AH_LEN)?;
        let len = (u32::from(ah[1]) + 2) * 4;
        let len_ok = self.len.0 == 0 || (self.len.0 == len) != self.len.1;
        let res_ok = !self.res || ah[2..4] == [0, 0];
        Some(self.spis.hold(ah, 4) && len_ok && res_ok)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name ah rev 0");
        self.spis.print(o);
        if self.len != (0, false) {
            let _ = write!(o, " len {}{}", self.len.0, if self.len.1 { " invert" } else { "" });
        }
        if self.res {
            o.push_str(" res");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<AhMatch> {
        c.expect_all(&["name", "ah", "rev", "0"])?;
        let spis = Spis::parse(c, "ah spis")?;
        let len = if c.eat("len") { (c.num()?, c.eat("invert")) } else { (0, false) };
        Ok(AhMatch { spis, len, res: c.eat("res") })
    }

    /// An ip or ip6 table; the length and reserved-field tests only in ip6 (`ipt_ah` has
    /// neither).
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match c.family {
            Family::Ip6 => Ok(()),
            Family::Ip if self.len == (0, false) && !self.res => Ok(()),
            Family::Ip => Err("ah: no length or reserved-field test in ip tables".into()),
            _ => Err("ah: only in ip and ip6 tables".into()),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = match e.pkt.nfproto {
            Family::Ip => on_transport(e, AUTH, |ah| self.holds(ah)),
            Family::Ip6 => on_ipv6_ext(e, AUTH, |ah| self.holds(ah)),
            _ => Some(false),
        };
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AH header with `words` (its length byte), reserved field `res` and SPI `spi`.
    fn ah(words: u8, res: u16, spi: u32) -> Vec<u8> {
        let mut h = vec![17, words];
        h.extend_from_slice(&res.to_be_bytes());
        h.extend_from_slice(&spi.to_be_bytes());
        h.extend_from_slice(&[0; 4]);
        h
    }

    #[test]
    fn spi_length_and_reserved_tests() {
        let m = AhMatch { spis: Spis { range: (5, 9), invert: false }, len: (16, false), res: true };
        assert_eq!(m.holds(&ah(2, 0, 7)), Some(true), "(2 + 2) * 4 = 16 bytes");
        assert_eq!(m.holds(&ah(1, 0, 7)), Some(false));
        assert_eq!(m.holds(&ah(2, 1, 7)), Some(false), "reserved");
        assert_eq!(m.holds(&ah(2, 0, 10)), Some(false), "spi");
        let inv = AhMatch { len: (16, true), res: false, ..m.clone() };
        assert_eq!(inv.holds(&ah(1, 3, 7)), Some(true));
        let no_len = AhMatch { len: (0, true), ..inv };
        assert_eq!(no_len.holds(&ah(1, 3, 7)), Some(true), "length 0 is not tested, inverted or not");
    }

    #[test]
    fn short_headers_drop_the_packet() {
        assert_eq!(AhMatch::default().holds(&ah(1, 0, 7)[..11]), None);
        let esp = EspMatch { spis: Spis { range: (7, 7), invert: true } };
        assert_eq!(esp.holds(&[0, 0, 0, 7, 0, 0, 0]), None);
        assert_eq!(esp.holds(&[0, 0, 0, 7, 0, 0, 0, 1]), Some(false));
        assert_eq!(esp.holds(&[0, 0, 0, 8, 0, 0, 0, 1]), Some(true));
    }
}
