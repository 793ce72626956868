//! `quota`: match until a byte budget is used up (nft_quota.c). Every packet is added to
//! the consumed bytes; once they reach the quota the rule breaks (flag 0x1 inverts: `quota
//! over`, only packets past the budget match).

use crate::interp::{Eval, Slot};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_QUOTA_F_INV`.
pub const F_INV: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Quota {
    pub bytes: u64,
    pub consumed: u64,
    pub flags: u32,
    pub slot: u32,
}

impl Quota {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "bytes {} consumed {} flags {}", self.bytes, self.consumed, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Quota> {
        c.expect("bytes")?;
        let bytes = c.num()?;
        c.expect("consumed")?;
        let consumed = c.num()?;
        c.expect("flags")?;
        let flags = c.num()?;
        Ok(Quota { bytes, consumed, flags, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = e.packet_len();
        if e.state.meter(self.slot as usize, |slot| over_quota(self, slot, len)) == Some(true) {
            e.brk();
        }
    }
}

/// Adds `len` bytes; true when the rule must break.
pub(crate) fn over_quota(q: &Quota, slot: &mut Slot, len: u64) -> bool {
    let Slot::Quota { consumed } = slot else { return false };
    *consumed = consumed.saturating_add(len);
    (*consumed > q.bytes) ^ (q.flags & F_INV != 0)
}
