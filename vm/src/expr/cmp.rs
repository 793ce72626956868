//! `cmp`: compare a register with a constant; a mismatch breaks the rule (nft_cmp.c).
//! The comparison is `memcmp`, so `lt`/`gt` order values as big-endian numbers.

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
pub struct Cmp {
    pub op: CmpOp,
    pub sreg: Reg,
    pub data: Data,
}

impl Cmp {
    pub fn new(op: CmpOp, sreg: Reg, data: Data) -> Cmp {
        Cmp { op, sreg, data }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "{} reg {} ", self.op, self.sreg);
        self.data.write_words(o, true);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Cmp> {
        let t = c.next()?;
        let op = CmpOp::from_name(t).ok_or_else(|| format!("unknown comparison `{t}`"))?;
        let sreg = c.kw_reg()?;
        let words = c.rest();
        let data = Data::parse_words(&words, a.order(sreg), true)?;
        Ok(Cmp { op, sreg, data })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        c.read(self.sreg, self.data.len())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(v) = e.regs.get(self.sreg, self.data.len()) else { return e.brk() };
        if !matches(self.op, memcmp(v, self.data.bytes())) {
            e.brk();
        }
    }
}

/// `memcmp` of two equal-length byte strings; up to 8 bytes as one big-endian integer
/// compare (the same order), without the library call.
fn memcmp(a: &[u8], b: &[u8]) -> Ordering {
    fn be(x: &[u8]) -> u64 {
        x.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b))
    }
    if a.len() == b.len() && a.len() <= 8 { be(a).cmp(&be(b)) } else { a.cmp(b) }
}

/// Does a `memcmp` result satisfy the operator?
pub fn matches(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Neq => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Lte => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Gte => ord != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_compares_order_like_memcmp() {
        let values: [&[u8]; 8] = [
            &[0],
            &[0xff],
            &[0x01, 0x00],
            &[0x00, 0xff],
            &[1, 2, 3, 4],
            &[1, 2, 3, 5],
            &[0xff, 0, 0, 0, 0, 0, 0, 1],
            &[0xff, 0, 0, 0, 0, 0, 1, 0],
        ];
        for a in values {
            for b in values.iter().filter(|b| b.len() == a.len()) {
                assert_eq!(memcmp(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
        let long = [7u8; 16];
        assert_eq!(memcmp(&long, &[7u8; 16]), Ordering::Equal);
    }
}
