//! `fib`: routing lookup for the packet's source or destination (nft_fib.c); the runtime
//! answers from its host model.

use crate::data::ByteOrder;
use crate::interp::{Eval, FibQuery};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFTA_FIB_F_*`.
pub mod flags {
    pub const SADDR: u32 = 1;
    pub const DADDR: u32 = 2;
    pub const MARK: u32 = 4;
    pub const IIF: u32 = 8;
    pub const OIF: u32 = 16;
    pub const PRESENT: u32 = 32;
}

/// `NFT_FIB_RESULT_*`.
pub mod result {
    pub const OIF: u32 = 1;
    pub const OIFNAME: u32 = 2;
    pub const ADDRTYPE: u32 = 3;
}

const FLAG_NAMES: [(u32, &str); 5] = [
    (flags::SADDR, "saddr"),
    (flags::DADDR, "daddr"),
    (flags::MARK, "mark"),
    (flags::IIF, "iif"),
    (flags::OIF, "oif"),
];
const RESULT_NAMES: [(u32, &str); 3] =
    [(result::OIF, "oif"), (result::OIFNAME, "oifname"), (result::ADDRTYPE, "type")];

#[derive(Clone, Debug, PartialEq)]
pub struct Fib {
    pub flags: u32,
    pub result: u32,
    pub dreg: Reg,
}

impl Fib {
    /// Register length of the result (1 with `present`).
    pub fn len(&self) -> usize {
        if self.flags & flags::PRESENT != 0 {
            1
        } else if self.result == result::OIFNAME {
            16
        } else {
            4
        }
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let names: Vec<&str> =
            FLAG_NAMES.iter().filter(|(b, _)| self.flags & b != 0).map(|(_, n)| *n).collect();
        let res = RESULT_NAMES.iter().find(|(r, _)| *r == self.result).map_or("unknown", |(_, n)| *n);
        let present = if self.flags & flags::PRESENT != 0 { " present" } else { "" };
        let _ = write!(o, "{} {res}{present} => reg {}", names.join(" . "), self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Fib> {
        let mut f = 0u32;
        loop {
            let t = c.next()?;
            let bit = FLAG_NAMES.iter().find(|(_, n)| *n == t).map(|(b, _)| *b);
            match bit {
                Some(b) => f |= b,
                None => return Err(format!("unknown fib flag `{t}`")),
            }
            if !c.eat(".") {
                break;
            }
        }
        let t = c.next()?;
        let result = RESULT_NAMES
            .iter()
            .find(|(_, n)| *n == t)
            .map(|(r, _)| *r)
            .ok_or(format!("unknown fib result `{t}`"))?;
        if c.eat("present") {
            f |= flags::PRESENT;
        }
        c.expect("=>")?;
        let dreg = c.kw_reg()?;
        let fib = Fib { flags: f, result, dreg };
        let order = if result == result::OIFNAME { ByteOrder::Network } else { ByteOrder::Host };
        a.wrote(dreg, fib.len(), order);
        Ok(fib)
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.flags & (flags::SADDR | flags::DADDR) == 0
            || self.flags & flags::SADDR & (self.flags >> 1) != 0
        {
            return Err("fib needs exactly one of saddr and daddr".into());
        }
        if !(1..=3).contains(&self.result) {
            return Err(format!("unknown fib result {}", self.result));
        }
        c.write(self.dreg, self.len())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = self.len();
        let mut buf = [0u8; 16];
        if !e.env.fib(FibQuery { flags: self.flags, result: self.result }, &mut buf[..len]) {
            return e.brk();
        }
        if !e.regs.store(self.dreg, &buf[..len]) {
            e.brk();
        }
    }
}
