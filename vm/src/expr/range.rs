//! `range`: is a register within [from, to] (`eq`) or outside it (`neq`)? (nft_range.c)

use crate::data::Data;
use crate::interp::Eval;
use crate::keys::CmpOp;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::cmp::Ordering;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// `Eq` (inside) or `Neq` (outside).
    pub op: CmpOp,
    pub sreg: Reg,
    pub from: Data,
    pub to: Data,
}

impl Range {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "{} reg {} ", self.op, self.sreg);
        self.from.write_words(o, true);
        o.push(' ');
        self.to.write_words(o, true);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Range> {
        let t = c.next()?;
        let op = match t {
            "eq" => CmpOp::Eq,
            "neq" => CmpOp::Neq,
            _ => return Err(format!("expected `eq` or `neq`, found `{t}`")),
        };
        let sreg = c.kw_reg()?;
        let words = c.rest();
        if words.is_empty() || !words.len().is_multiple_of(2) {
            return Err("range needs two values of the same length".into());
        }
        let (lo, hi) = words.split_at(words.len() / 2);
        let order = a.order(sreg);
        let from = Data::parse_words(lo, order, true)?;
        let to = Data::parse_words(hi, order, true)?;
        Ok(Range { op, sreg, from, to })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.from.len() != self.to.len() {
            return Err("range bounds differ in length".into());
        }
        if !matches!(self.op, CmpOp::Eq | CmpOp::Neq) {
            return Err("range operator must be eq or neq".into());
        }
        c.read(self.sreg, self.from.len())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(v) = e.regs.get(self.sreg, self.from.len()) else { return e.brk() };
        let d1 = v.cmp(self.from.bytes());
        let d2 = v.cmp(self.to.bytes());
        let inside = d1 != Ordering::Less && d2 != Ordering::Greater;
        let ok = match self.op {
            CmpOp::Neq => !inside,
            _ => inside,
        };
        if !ok {
            e.brk();
        }
    }
}
