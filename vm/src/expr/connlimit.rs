//! `connlimit`: match while the number of tracked connections counted here is at most
//! `count` (flag 0x1 inverts: `ct count over`) (nft_connlimit.c). The runtime keeps the
//! connection lists, one per expression slot.

use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Connlimit {
    pub count: u32,
    pub flags: u32,
    pub slot: u32,
}

impl Connlimit {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "count {} flags {:x}", self.count, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Connlimit> {
        c.expect("count")?;
        let count = c.num()?;
        c.expect("flags")?;
        let flags = c.bare_hex()? as u32;
        Ok(Connlimit { count, flags, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let over = match e.env.connlimit_count(self.slot) {
            Some(n) => (n > self.count) ^ (self.flags & 1 != 0),
            None => true,
        };
        if over {
            e.brk();
        }
    }
}
