//! `bitwise`: mask-and-xor with constants, shifts of host-order 32-bit words, and
//! and/or/xor of two registers (nft_bitwise.c).

use crate::data::{ByteOrder, Data};
use crate::interp::Eval;
use crate::interp::regs::le_word;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::is_hex_word};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Bitwise {
    pub dreg: Reg,
    pub sreg: Reg,
    /// Bytes operated on (not printed by nft: the assembler takes the length of what the
    /// source register holds, the compiler sets it).
    pub len: u8,
    pub op: BitwiseOp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BitwiseOp {
    /// `dst = (src & mask) ^ xor`.
    MaskXor {
        mask: Data,
        xor: Data,
    },
    /// Shift of each host-order 32-bit word, carrying bits across words.
    Lshift(u32),
    Rshift(u32),
    And(Reg),
    Or(Reg),
    Xor(Reg),
}

impl Bitwise {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "reg {} = ( reg {} ", self.dreg, self.sreg);
        match &self.op {
            BitwiseOp::MaskXor { mask, xor } => {
                o.push_str("& ");
                mask.write_words(o, true);
                o.push_str(" ) ^ ");
                xor.write_words(o, true);
            }
            BitwiseOp::Lshift(n) | BitwiseOp::Rshift(n) => {
                let op = if matches!(self.op, BitwiseOp::Lshift(_)) { "<<" } else { ">>" };
                let _ = write!(o, "{op} 0x{n:08x} )");
            }
            BitwiseOp::And(r) | BitwiseOp::Or(r) | BitwiseOp::Xor(r) => {
                let op = match self.op {
                    BitwiseOp::And(_) => "&",
                    BitwiseOp::Or(_) => "|",
                    _ => "^",
                };
                let _ = write!(o, "{op} reg {r} )");
            }
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Bitwise> {
        let dreg = c.kw_reg()?;
        c.expect_all(&["=", "("])?;
        let sreg = c.kw_reg()?;
        let op = c.next()?;
        let order = a.order(sreg);
        let known_len = a.len_of(sreg).unwrap_or(4) as u8;
        let (op, len) = if c.peek() == Some("reg") {
            let r2 = c.kw_reg()?;
            c.expect(")")?;
            let op = match op {
                "&" => BitwiseOp::And(r2),
                "|" => BitwiseOp::Or(r2),
                "^" => BitwiseOp::Xor(r2),
                _ => return Err(format!("unknown bitwise operator `{op}`")),
            };
            (op, known_len)
        } else {
            match op {
                "&" => {
                    let mask = Data::parse_words(&c.take_while(is_hex_word), order, true)?;
                    c.expect_all(&[")", "^"])?;
                    let xor = Data::parse_words(&c.rest(), order, true)?;
                    let len = mask.len() as u8;
                    (BitwiseOp::MaskXor { mask, xor }, len)
                }
                "<<" | ">>" => {
                    let n = Data::parse_words(&c.take_while(is_hex_word), ByteOrder::Host, true)?;
                    c.expect(")")?;
                    let n = n.as_host_u64() as u32;
                    (if op == "<<" { BitwiseOp::Lshift(n) } else { BitwiseOp::Rshift(n) }, known_len)
                }
                _ => return Err(format!("unknown bitwise operator `{op}`")),
            }
        };
        a.copied(dreg, sreg, len as usize);
        Ok(Bitwise { dreg, sreg, len, op })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let len = self.len as usize;
        match &self.op {
            BitwiseOp::MaskXor { mask, xor } => {
                if mask.len() != len || xor.len() != len {
                    return Err("bitwise mask/xor length differs from the operand length".into());
                }
            }
            BitwiseOp::Lshift(n) | BitwiseOp::Rshift(n) => {
                if *n >= 32 {
                    return Err(format!("shift by {n} (must be < 32)"));
                }
            }
            BitwiseOp::And(r) | BitwiseOp::Or(r) | BitwiseOp::Xor(r) => c.read(*r, len)?,
        }
        c.read(self.sreg, len)?;
        c.write(self.dreg, len)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = self.len as usize;
        if let (BitwiseOp::MaskXor { mask, xor }, 1..=4) = (&self.op, len) {
            // The common short mask (`ct state`, flags): one word, no copies.
            let Some(src) = e.regs.get(self.sreg, len) else { return e.brk() };
            let (s, m, x) = (le_word(src), le_word(mask.bytes()), le_word(xor.bytes()));
            if !e.regs.store_word(self.dreg, len, ((s & m) ^ x).to_le_bytes()) {
                e.brk();
            }
            return;
        }
        let words = len.div_ceil(4);
        let Some(src) = e.regs.get(self.sreg, words * 4).or_else(|| e.regs.get(self.sreg, len)) else {
            return e.brk();
        };
        let mut s = [0u8; 64];
        s[..src.len()].copy_from_slice(src);
        let mut out = [0u8; 64];
        match &self.op {
            BitwiseOp::MaskXor { mask, xor } => {
                for i in 0..len {
                    out[i] = (s[i] & mask.bytes()[i]) ^ xor.bytes()[i];
                }
            }
            BitwiseOp::Lshift(n) => {
                let mut carry = 0u32;
                for w in (0..words).rev() {
                    let v = word(&s, w);
                    put_word(&mut out, w, v.checked_shl(*n).unwrap_or(0) | carry);
                    carry = v.checked_shr(32 - n).unwrap_or(0);
                }
            }
            BitwiseOp::Rshift(n) => {
                let mut carry = 0u32;
                for w in 0..words {
                    let v = word(&s, w);
                    put_word(&mut out, w, carry | v.checked_shr(*n).unwrap_or(0));
                    carry = v.checked_shl(32 - n).unwrap_or(0);
                }
            }
            BitwiseOp::And(r) | BitwiseOp::Or(r) | BitwiseOp::Xor(r) => {
                let Some(t) = e.regs.get(*r, len) else { return e.brk() };
                for i in 0..len {
                    out[i] = match self.op {
                        BitwiseOp::And(_) => s[i] & t[i],
                        BitwiseOp::Or(_) => s[i] | t[i],
                        _ => s[i] ^ t[i],
                    };
                }
            }
        }
        if !e.regs.store(self.dreg, &out[..len]) {
            e.brk();
        }
    }
}

fn word(b: &[u8; 64], w: usize) -> u32 {
    u32::from_le_bytes([b[w * 4], b[w * 4 + 1], b[w * 4 + 2], b[w * 4 + 3]])
}

fn put_word(b: &mut [u8; 64], w: usize, v: u32) {
    b[w * 4..w * 4 + 4].copy_from_slice(&v.to_le_bytes());
}
