//! `match name mh rev 0` — ip6tables' `-m mh`, run as ip6tables-nft runs it: the kernel's
//! match (`ip6t_mh`), for `-p mobility-header` rules: the Mobility Header's type within a
//! range, perhaps inverted. The kernel drops (hotdrop) a packet whose Mobility Header is
//! shorter than its 6 fixed bytes, and one whose payload protocol field is not "no next
//! header" (59), as RFC 6275 says a Mobility Header must have — nft's `mh type` would match
//! both. Non-first fragments never match.

use super::xt::{num_range, on_transport};
use crate::interp::Eval;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// The Mobility Header's protocol number.
pub const MH: u8 = 135;
/// Its fixed part: payload protocol, length, type, reserved, checksum.
const FIXED: usize = 6;
/// "No next header".
const NONE: u8 = 59;

/// One `-m mh` match (the kernel's `ip6t_mh`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MhMatch {
    pub types: (u8, u8),
    pub invert: bool,
}

impl MhMatch {
    /// The answer for a Mobility Header `mh` (as much of it as the packet holds): `None`
    /// drops the packet.
    pub fn holds(&self, mh: &[u8]) -> Option<bool> {
        let fixed = mh.get(..FIXED)?;
        if fixed[0] != NONE {
            return None;
        }
        Some((self.types.0..=self.types.1).contains(&fixed[2]) != self.invert)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name mh rev 0 types {}-{}", self.types.0, self.types.1);
        if self.invert {
            o.push_str(" invert");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<MhMatch> {
        c.expect_all(&["name", "mh", "rev", "0", "types"])?;
        let types = num_range(c, "mh types")?;
        let invert = c.eat("invert");
        Ok(MhMatch { types, invert })
    }

    /// An ip6 table (`ip6t_mh` is registered for IPv6 only).
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if c.family != Family::Ip6 {
            return Err("mh: only in ip6 tables".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_transport(e, MH, |mh| self.holds(mh));
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mobility_header_needs_no_next_header_and_six_bytes() {
        let m = MhMatch { types: (4, 123), invert: false };
        assert_eq!(m.holds(&[59, 1, 5, 0, 0, 0, 1, 2]), Some(true));
        assert_eq!(m.holds(&[59, 1, 3, 0, 0, 0]), Some(false));
        assert_eq!(MhMatch { invert: true, ..m.clone() }.holds(&[59, 1, 3, 0, 0, 0]), Some(true));
        assert_eq!(m.holds(&[17, 1, 5, 0, 0, 0]), None, "payload protocol not 59");
        assert_eq!(m.holds(&[59, 1, 5, 0, 0]), None, "cut short");
    }
}
