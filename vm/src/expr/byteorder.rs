//! `byteorder`: convert `len` bytes between host and network order in `size`-byte units
//! (nft_byteorder.c).

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteorderOp {
    Ntoh,
    Hton,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Byteorder {
    pub dreg: Reg,
    pub sreg: Reg,
    pub op: ByteorderOp,
    pub len: u8,
    /// Unit size: 2, 4 or 8.
    pub size: u8,
}

impl Byteorder {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let op = match self.op {
            ByteorderOp::Ntoh => "ntoh",
            ByteorderOp::Hton => "hton",
        };
        let _ = write!(o, "reg {} = {op}(reg {}, {}, {})", self.dreg, self.sreg, self.size, self.len);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Byteorder> {
        let dreg = c.kw_reg()?;
        c.expect("=")?;
        let t = c.next()?;
        let op = match t {
            "hton(reg" => ByteorderOp::Hton,
            "ntoh(reg" => ByteorderOp::Ntoh,
            _ => return Err(format!("expected `hton(reg` or `ntoh(reg`, found `{t}`")),
        };
        let num = |s: &str, end: char| -> PResult<u8> {
            s.strip_suffix(end)
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad byteorder operand `{s}`"))
        };
        let sreg = Reg(num(c.next()?, ',')?);
        let size = num(c.next()?, ',')?;
        let len = num(c.next()?, ')')?;
        let order = match op {
            ByteorderOp::Hton => ByteOrder::Network,
            ByteorderOp::Ntoh => ByteOrder::Host,
        };
        a.wrote(dreg, len as usize, order);
        Ok(Byteorder { dreg, sreg, op, len, size })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if !matches!(self.size, 2 | 4 | 8) {
            return Err(format!("byteorder unit size {} (must be 2, 4 or 8)", self.size));
        }
        if !(self.len as usize).is_multiple_of(self.size as usize) {
            return Err(format!("byteorder length {} is not a multiple of {}", self.len, self.size));
        }
        c.read(self.sreg, self.len as usize)?;
        c.write(self.dreg, self.len as usize)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = self.len as usize;
        let Some(src) = e.regs.get(self.sreg, len) else { return e.brk() };
        let mut buf = [0u8; 64];
        buf[..len].copy_from_slice(src);
        // Host order is little-endian: both directions swap each unit.
        for unit in buf[..len].chunks_mut(self.size as usize) {
            unit.reverse();
        }
        if !e.regs.store(self.dreg, &buf[..len]) {
            e.brk();
        }
    }
}
