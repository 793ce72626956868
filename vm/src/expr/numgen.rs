//! `numgen`: a number from an incrementing counter or at random, modulo `mod`, plus an
//! offset (nft_numgen.c).

use crate::data::ByteOrder;
use crate::interp::{Eval, Slot};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumgenKind {
    Inc,
    Random,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Numgen {
    pub dreg: Reg,
    pub kind: NumgenKind,
    pub modulus: u32,
    pub offset: u32,
    pub slot: u32,
}

impl Numgen {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let k = if self.kind == NumgenKind::Inc { "inc" } else { "random" };
        let _ = write!(o, "reg {} = {k} mod {}", self.dreg, self.modulus);
        if self.offset != 0 {
            let _ = write!(o, " offset {}", self.offset);
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Numgen> {
        let dreg = c.kw_reg()?;
        c.expect("=")?;
        let kind = match c.next()? {
            "inc" => NumgenKind::Inc,
            "random" => NumgenKind::Random,
            t => return Err(format!("unknown numgen type `{t}`")),
        };
        c.expect("mod")?;
        let modulus = c.num()?;
        let offset = if c.eat("offset") { c.num()? } else { 0 };
        a.wrote(dreg, 4, ByteOrder::Host);
        Ok(Numgen { dreg, kind, modulus, offset, slot: 0 })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.modulus == 0 {
            return Err("numgen modulus is zero".into());
        }
        if self.offset.checked_add(self.modulus - 1).is_none() {
            return Err("numgen offset + modulus overflows".into());
        }
        c.write(self.dreg, 4)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let v = match self.kind {
            NumgenKind::Inc => {
                let step = |slot: &mut Slot| {
                    let Slot::Numgen { counter } = slot else { return None };
                    *counter = if counter.wrapping_add(1) < self.modulus { *counter + 1 } else { 0 };
                    Some(*counter)
                };
                let Some(next) = e.state.meter(self.slot as usize, step).flatten() else {
                    return e.brk();
                };
                next
            }
            NumgenKind::Random => scale(e.env.random_u32(), self.modulus),
        };
        if !e.regs.store_u32(self.dreg, v.wrapping_add(self.offset)) {
            e.brk();
        }
    }
}

/// The kernel's `reciprocal_scale`: maps a 32-bit value into `[0, n)`.
pub fn scale(v: u32, n: u32) -> u32 {
    ((v as u64 * n as u64) >> 32) as u32
}
