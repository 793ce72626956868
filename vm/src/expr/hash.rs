//! `hash`: Jenkins hash of register bytes, or the symmetric flow hash, modulo `mod`, plus an
//! offset (nft_hash.c).

use crate::data::ByteOrder;
use crate::expr::numgen::scale;
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::parse_hex};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum HashKind {
    Jenkins { sreg: Reg, len: u8, seed: u32 },
    Sym,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hash {
    pub dreg: Reg,
    pub kind: HashKind,
    pub modulus: u32,
    pub offset: u32,
}

impl Hash {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = match &self.kind {
            HashKind::Jenkins { sreg, len, seed } => {
                write!(o, "reg {} = jhash(reg {sreg}, {len}, 0x{seed:x}) % mod {}", self.dreg, self.modulus)
            }
            HashKind::Sym => write!(o, "reg {} = symhash() % mod {}", self.dreg, self.modulus),
        };
        if self.offset != 0 {
            let _ = write!(o, " offset {}", self.offset);
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Hash> {
        let dreg = c.kw_reg()?;
        c.expect("=")?;
        let kind = match c.next()? {
            "jhash(reg" => {
                let t = c.next()?;
                let sreg = Reg(t.trim_end_matches(',').parse().map_err(|_| format!("bad register `{t}`"))?);
                let t = c.next()?;
                let len = t.trim_end_matches(',').parse().map_err(|_| format!("bad length `{t}`"))?;
                let t = c.next()?;
                let seed = parse_hex(t.trim_end_matches(')'))? as u32;
                HashKind::Jenkins { sreg, len, seed }
            }
            "symhash()" => HashKind::Sym,
            t => return Err(format!("unknown hash `{t}`")),
        };
        c.expect_all(&["%", "mod"])?;
        let modulus = c.num()?;
        let offset = if c.eat("offset") { c.num()? } else { 0 };
        a.wrote(dreg, 4, ByteOrder::Host);
        Ok(Hash { dreg, kind, modulus, offset })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.modulus == 0 {
            return Err("hash modulus is zero".into());
        }
        if let HashKind::Jenkins { sreg, len, .. } = self.kind {
            c.read(sreg, len as usize)?;
        }
        c.write(self.dreg, 4)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let h = match &self.kind {
            HashKind::Jenkins { sreg, len, seed } => match e.regs.get(*sreg, *len as usize) {
                Some(b) => jhash(b, *seed),
                None => return e.brk(),
            },
            HashKind::Sym => e.env.symhash(),
        };
        if !e.regs.store_u32(self.dreg, scale(h, self.modulus).wrapping_add(self.offset)) {
            e.brk();
        }
    }
}

/// The kernel's `jhash` (Bob Jenkins' lookup3, initial value 0xdeadbeef), reading 32-bit
/// words little-endian as on the machines nftvm targets.
pub fn jhash(key: &[u8], initval: u32) -> u32 {
    let mut a = 0xdead_beefu32.wrapping_add(key.len() as u32).wrapping_add(initval);
    let (mut b, mut c) = (a, a);
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(le32(&k[0..4]));
        b = b.wrapping_add(le32(&k[4..8]));
        c = c.wrapping_add(le32(&k[8..12]));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    let mut tail = [0u8; 12];
    tail[..k.len()].copy_from_slice(k);
    a = a.wrapping_add(le32(&tail[0..4]));
    b = b.wrapping_add(le32(&tail[4..8]));
    c = c.wrapping_add(le32(&tail[8..12]));
    final_mix(&mut a, &mut b, &mut c);
    c
}

/// The kernel's `jhash_3words` (three words hashed at once, as xt_HMARK does).
pub fn jhash_3words(a: u32, b: u32, c: u32, initval: u32) -> u32 {
    let init = initval.wrapping_add(0xdead_beef).wrapping_add(3 << 2);
    let (mut a, mut b, mut c) = (a.wrapping_add(init), b.wrapping_add(init), c.wrapping_add(init));
    final_mix(&mut a, &mut b, &mut c);
    c
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn final_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}
