//! `match name rt rev 0` — ip6tables' `-m rt`, run as ip6tables-nft runs it: the kernel's
//! match (`ip6t_rt`). It tests the packet's routing header, found as `ipv6_find_hdr` finds
//! it: the segments left (always, a range), the routing type and the header's length in
//! bytes (each perhaps inverted), and for type 0 the reserved field (zero) and the addresses
//! — the listed ones exactly (`strict`), or in order among the header's (`--rt-0-not-strict`).
//! A packet without a routing header does not match; one whose header chain is cut short
//! before it, or whose routing header claims more bytes than the packet has, is dropped (the
//! kernel's hotdrop — for the second since Linux 6.18; older kernels answered "no"). (nft's `rt type`/`rt seg-left` read the same fields but know none of this.)

use super::xt::{Tests, num_range, on_ipv6_ext};
use crate::interp::Eval;
use crate::interp::headers::ROUTING;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;
use std::net::Ipv6Addr;

/// `IP6T_RT_*`: the tests the match makes; the inversions are those of the first three.
pub mod test_bits {
    pub const TYPE: u16 = 0x01;
    pub const SEGSLEFT: u16 = 0x02;
    pub const LEN: u16 = 0x04;
    pub const RES: u16 = 0x08;
    /// The addresses, strictly.
    pub const ADDRS: u16 = 0x10;
    /// The addresses, in order among others.
    pub const ADDRS_NOT_STRICT: u16 = 0x20;
    pub const ALL: u16 = 0x3f;
    /// What may be inverted.
    pub const INVERTIBLE: u16 = 0x07;
}

/// Most addresses (`IP6T_RT_HOPS`).
pub const MAX_ADDRS: usize = 16;

/// One `-m rt` match (the kernel's `ip6t_rt`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RtMatch {
    pub rt_type: u32,
    pub segsleft: (u32, u32),
    /// The header's length in bytes.
    pub hdrlen: u32,
    pub addrs: Vec<Ipv6Addr>,
    pub tests: Tests,
}

impl Default for RtMatch {
    fn default() -> RtMatch {
        RtMatch { rt_type: 0, segsleft: (0, u32::MAX), hdrlen: 0, addrs: Vec::new(), tests: Tests::default() }
    }
}

impl RtMatch {
    fn inverted(&self, which: u16) -> bool {
        self.tests.inverted & which != 0
    }

    /// The answer for the packet `rh` from its routing header on: `None` drops it.
    fn holds(&self, rh: &[u8]) -> Option<bool> {
        use test_bits::*;
        let fixed = rh.get(..4)?;
        let hdrlen = (usize::from(fixed[1]) + 1) * 8;
        if rh.len() < hdrlen {
            return None;
        }
        let made = self.tests.made;
        let segs = u32::from(fixed[3]);
        let mut ret = ((self.segsleft.0..=self.segsleft.1).contains(&segs) ^ self.inverted(SEGSLEFT))
            && (made & LEN == 0 || (self.hdrlen as usize == hdrlen) ^ self.inverted(LEN))
            && (made & TYPE == 0 || (self.rt_type == u32::from(fixed[2])) ^ self.inverted(TYPE));
        if ret && made & RES != 0 {
            ret = rh.get(4..8)? == [0; 4];
        }
        if made & (ADDRS | ADDRS_NOT_STRICT) == 0 {
            return Some(ret);
        }
        let room = (hdrlen - 8) / 16;
        if self.addrs.len() > room {
            return Some(false);
        }
        let nth = |k: usize| -> Option<[u8; 16]> { rh.get(8 + 16 * k..24 + 16 * k)?.try_into().ok() };
        if made & ADDRS_NOT_STRICT != 0 {
            let mut i = 0;
            for k in 0..room {
                let found = nth(k)?;
                if self.addrs.get(i).is_some_and(|a| a.octets() == found) {
                    i += 1;
                }
                if i == self.addrs.len() {
                    break;
                }
            }
            Some(i == self.addrs.len() && ret)
        } else {
            let same = (0..self.addrs.len()).take_while(|&k| nth(k) == Some(self.addrs[k].octets())).count();
            Some(same == self.addrs.len() && same == room && ret)
        }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name rt rev 0 type {} segsleft {}-{} len {} ",
            self.rt_type, self.segsleft.0, self.segsleft.1, self.hdrlen
        );
        self.tests.print(o, 2);
        if !self.addrs.is_empty() {
            let list: Vec<String> = self.addrs.iter().map(Ipv6Addr::to_string).collect();
            let _ = write!(o, " addrs {}", list.join(","));
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<RtMatch> {
        c.expect_all(&["name", "rt", "rev", "0"])?;
        let rt_type = c.keyed_num::<u32>("type")?;
        c.expect("segsleft")?;
        let segsleft = num_range(c, "rt segsleft")?;
        let hdrlen = c.keyed_num::<u32>("len")?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        let mut addrs = Vec::new();
        if c.eat("addrs") {
            for a in c.next()?.split(',') {
                addrs.push(a.parse().map_err(|_| format!("rt: bad address `{a}`"))?);
            }
        }
        Ok(RtMatch { rt_type, segsleft, hdrlen, addrs, tests })
    }

    /// `rt_mt6_check`: known inversions; type-0 tests only with `--rt-type 0`, not inverted;
    /// at most [`MAX_ADDRS`] addresses.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        use test_bits::*;
        if c.family != Family::Ip6 {
            return Err("rt: only in ip6 tables".into());
        }
        if self.tests.inverted & !INVERTIBLE != 0 {
            return Err("rt: unknown inversion".into());
        }
        let type0 = self.tests.made & (RES | ADDRS | ADDRS_NOT_STRICT) != 0;
        if type0 && (self.tests.made & TYPE == 0 || self.rt_type != 0 || self.inverted(TYPE)) {
            return Err("rt: `--rt-type 0' required before `--rt-0-*'".into());
        }
        if (self.tests.made & (ADDRS | ADDRS_NOT_STRICT) != 0) == self.addrs.is_empty() {
            return Err("rt: addresses exactly when testing them".into());
        }
        if self.addrs.len() > MAX_ADDRS {
            return Err(format!("rt: more than {MAX_ADDRS} addresses"));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_ipv6_ext(e, ROUTING, |rh| self.holds(rh));
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::test_bits::*;
    use super::*;

    /// A type-0 routing header (at offset 0) listing `hops`, segments left 1.
    fn rh0(hops: &[Ipv6Addr]) -> Vec<u8> {
        let mut h = vec![17, (2 * hops.len()) as u8, 0, 1, 0, 0, 0, 0];
        hops.iter().for_each(|a| h.extend_from_slice(&a.octets()));
        h
    }

    fn addrs(list: &[Ipv6Addr], made: u16) -> RtMatch {
        RtMatch {
            addrs: list.to_vec(),
            tests: Tests { made: TYPE | made, inverted: 0 },
            ..RtMatch::default()
        }
    }

    #[test]
    fn addresses_strictly_or_in_order() {
        let a: Vec<Ipv6Addr> = (1..=3).map(|k| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, k)).collect();
        let h = rh0(&a);
        assert_eq!(addrs(&a, ADDRS).holds(&h), Some(true), "all of them, in order");
        assert_eq!(addrs(&a[..2], ADDRS).holds(&h), Some(false), "strict: every address");
        assert_eq!(addrs(&[a[0], a[2]], ADDRS_NOT_STRICT).holds(&h), Some(true));
        assert_eq!(addrs(&[a[2], a[0]], ADDRS_NOT_STRICT).holds(&h), Some(false), "out of order");
        // A header claiming more than the packet holds is dropped.
        assert_eq!(addrs(&a, ADDRS).holds(&h[..40]), None);
    }
}
