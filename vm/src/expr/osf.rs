//! `osf`: passive OS fingerprint of a SYN (nft_osf.c); the runtime's fingerprint database
//! answers with the OS name.

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_OSF_MAXGENRELEN`.
pub const NAME_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Osf {
    pub dreg: Reg,
    /// TTL handling option and flags (not printed).
    pub ttl: u8,
    pub flags: u32,
}

impl Osf {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "dreg {}", self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Osf> {
        c.expect("dreg")?;
        let dreg = c.reg()?;
        a.wrote(dreg, NAME_LEN, ByteOrder::Network);
        Ok(Osf { dreg, ttl: 0, flags: 0 })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        c.write(self.dreg, NAME_LEN)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let mut buf = [0u8; NAME_LEN];
        if !e.env.osf_get(self.ttl, self.flags, &mut buf) || !e.regs.store(self.dreg, &buf) {
            e.brk();
        }
    }
}
