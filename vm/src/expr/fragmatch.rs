//! `match name frag rev 0` — ip6tables' `-m frag`, run as ip6tables-nft runs it: the
//! kernel's match (`ip6t_frag`). The fragment header is found as `ipv6_find_hdr` finds it;
//! its identification within a range (perhaps inverted), and each of four flag tests when
//! asked: both reserved fields zero (`--fragres`), offset zero (`--fragfirst`), more
//! fragments follow (`--fragmore`), none follow (`--fraglast`). `--fraglen` is kept for
//! listings but, as in the kernel, never tested. A packet whose header chain is cut short on
//! the way, or whose fragment header is shorter than its 8 bytes, is dropped (the kernel's
//! hotdrop) — nft's `frag` expressions would only not match.

use super::xt::{num_range, on_ipv6_ext};
use crate::interp::Eval;
use crate::interp::headers::FRAGMENT;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// The fragment header's length.
const LEN: usize = 8;
/// The "more fragments" bit of the offset field.
const MORE: u16 = 1;

/// One `-m frag` match (the kernel's `ip6t_frag`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FragMatch {
    pub ids: (u32, u32),
    pub invert_ids: bool,
    /// `--fraglen`: listed, never tested (`ip6t_frag` ignores it).
    pub len: Option<u32>,
    pub res: bool,
    pub first: bool,
    pub more: bool,
    pub last: bool,
}

impl Default for FragMatch {
    fn default() -> FragMatch {
        FragMatch {
            ids: (0, u32::MAX),
            invert_ids: false,
            len: None,
            res: false,
            first: false,
            more: false,
            last: false,
        }
    }
}

impl FragMatch {
    /// The answer for a fragment header `fh` (as much of it as the packet holds): `None`
    /// drops the packet.
    pub fn holds(&self, fh: &[u8]) -> Option<bool> {
        let fh = fh.get(..LEN)?;
        let off = u16::from_be_bytes([fh[2], fh[3]]);
        let id = u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]);
        let id_ok = (self.ids.0..=self.ids.1).contains(&id) != self.invert_ids;
        let res_ok = !self.res || (fh[1] == 0 && off & 0x6 == 0);
        let first_ok = !self.first || off & !0x7 == 0;
        let more_ok = !self.more || off & MORE != 0;
        let last_ok = !self.last || off & MORE == 0;
        Some(id_ok && res_ok && first_ok && more_ok && last_ok)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name frag rev 0 ids {}-{}", self.ids.0, self.ids.1);
        if self.invert_ids {
            o.push_str(" invert");
        }
        if let Some(len) = self.len {
            let _ = write!(o, " len {len}");
        }
        for (on, word) in [(self.res, "res"), (self.first, "first"), (self.more, "more"), (self.last, "last")]
        {
            if on {
                let _ = write!(o, " {word}");
            }
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<FragMatch> {
        c.expect_all(&["name", "frag", "rev", "0", "ids"])?;
        let ids = num_range(c, "frag ids")?;
        let invert_ids = c.eat("invert");
        let len = if c.eat("len") { Some(c.num()?) } else { None };
        Ok(FragMatch {
            ids,
            invert_ids,
            len,
            res: c.eat("res"),
            first: c.eat("first"),
            more: c.eat("more"),
            last: c.eat("last"),
        })
    }

    /// An ip6 table (`ip6t_frag` is registered for IPv6 only).
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if c.family != Family::Ip6 {
            return Err("frag: only in ip6 tables".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_ipv6_ext(e, FRAGMENT, |fh| self.holds(fh));
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fragment header: offset field `off`, identification `id`, reserved byte `res`.
    fn fh(off: u16, id: u32, res: u8) -> Vec<u8> {
        let mut h = vec![17, res];
        h.extend_from_slice(&off.to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h
    }

    #[test]
    fn the_flag_tests_are_the_kernels() {
        let any = FragMatch::default();
        assert_eq!(any.holds(&fh(0, 9, 0)), Some(true));
        let first = FragMatch { first: true, ..any.clone() };
        assert_eq!(first.holds(&fh(MORE, 9, 0)), Some(true));
        assert_eq!(first.holds(&fh(8 << 3, 9, 0)), Some(false));
        let more = FragMatch { more: true, ..any.clone() };
        assert_eq!(more.holds(&fh(8 << 3 | MORE, 9, 0)), Some(true));
        assert_eq!(more.holds(&fh(8 << 3, 9, 0)), Some(false));
        let last = FragMatch { last: true, ..any.clone() };
        assert_eq!(last.holds(&fh(8 << 3, 9, 0)), Some(true));
        let res = FragMatch { res: true, ..any.clone() };
        assert_eq!(res.holds(&fh(0, 9, 1)), Some(false), "reserved byte");
        assert_eq!(res.holds(&fh(2, 9, 0)), Some(false), "reserved offset bits");
        let ids = FragMatch { ids: (5, 9), invert_ids: true, ..any.clone() };
        assert_eq!(ids.holds(&fh(0, 9, 0)), Some(false));
        assert_eq!(ids.holds(&fh(0, 10, 0)), Some(true));
    }

    #[test]
    fn a_short_fragment_header_drops_the_packet() {
        let any = FragMatch { len: Some(8), ..FragMatch::default() };
        assert_eq!(any.holds(&fh(0, 9, 0)[..7]), None);
    }
}
