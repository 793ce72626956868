//! Expressions compiled inline: payload loads (bounds-checked against the packet length),
//! `cmp`, `range`, `bitwise`, `byteorder`, `immediate`, the metadata the VM derives itself,
//! `ct`/`meta` loads and sets of short keys (one direct call into the environment through
//! `helpers::env_word`/`env_set_word`; `meta mark set` not even that: the mark waits in the
//! context until the environment could look, see [`super::abi::JitCtx::flush_mark`]), and
//! small constant set lookups ([`super::sets`]). Each reproduces its interpreter
//! semantics in `expr/*.rs` exactly — registers are 16 host-order words, a `n`-byte write
//! zero-pads its last word, comparisons are `memcmp`. Anything else (or an operand shape not
//! handled here) returns [`Flow::Helper`] and runs the interpreter's code through a helper.

use super::abi::{NO_WORD, meta_word};
use super::chain::RuleCx;
use super::emit::{Fx, low_mask};
use super::helpers::{ENV_OK, env_kind};
use super::sets::{self, SetPlans};
use crate::data::Data;
use crate::expr::Expr;
use crate::expr::bitwise::{Bitwise, BitwiseOp};
use crate::expr::byteorder::Byteorder;
use crate::expr::cmp::Cmp;
use crate::expr::ct::{self as ctx, Ct, CtOp};
use crate::expr::immediate::{ImmValue, Immediate};
use crate::expr::meta::{Meta, MetaOp, key_len};
use crate::expr::payload::{Payload, PayloadOp};
use crate::expr::range::Range;
use crate::keys::{CmpOp, CtKey, MetaKey, PayloadBase};
use crate::reg::Reg;
use crate::verdict::Verdict;
use cranelift_codegen::ir::{InstBuilder, Value, condcodes::IntCC, types};

/// What an inline translation did.
pub enum Flow {
    /// The rule goes on in the current block (a mismatch branched to the break target).
    Next,
    /// A verdict known at compile time; the rule's code ends here.
    Verdict(Verdict),
    /// Not inlined: call the interpreter's code through the helper.
    Helper,
}

/// Translates expression `index` of the rule, if it is one the JIT inlines.
pub fn emit(fx: &mut Fx, rc: &RuleCx, e: &Expr, index: usize, plans: &SetPlans) -> Flow {
    match e {
        Expr::Payload(p) => payload(fx, rc, p),
        Expr::Cmp(c) => cmp(fx, rc, c),
        Expr::Range(r) => range(fx, rc, r),
        Expr::Bitwise(b) => bitwise(fx, b),
        Expr::Byteorder(b) => byteorder(fx, b),
        Expr::Immediate(i) => immediate(fx, i),
        Expr::Meta(m) => meta(fx, rc, m, index),
        Expr::Ct(c) => ct(fx, rc, c),
        Expr::Lookup(l) => sets::lookup(fx, rc, l, plans),
        _ => Flow::Helper,
    }
}

/// First data word of `len` bytes at `reg`, if they fit the register file.
fn word_of(reg: Reg, len: usize) -> Option<usize> {
    reg.span(len).map(|s| s.start / 4)
}

/// The little-endian word of bytes `4w..4w+4` of `d` (missing bytes are zero).
pub(super) fn data_word(d: &[u8], w: usize) -> u32 {
    let mut b = [0u8; 4];
    for (i, x) in b.iter_mut().enumerate() {
        *x = d.get(4 * w + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(b)
}

/// `d` as a big-endian number (for 1..=8 bytes).
pub fn be_number(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64)
}

/// Stores `d` at register word `w0` with the zero padding of a register write.
pub fn store_data(fx: &mut Fx, w0: usize, d: &Data) {
    for w in 0..d.len().div_ceil(4) {
        let k = fx.u32(data_word(d.bytes(), w));
        fx.set_reg_word(w0 + w, k);
    }
}

fn payload(fx: &mut Fx, rc: &RuleCx, p: &Payload) -> Flow {
    let PayloadOp::Load { dreg } = p.op else { return Flow::Helper };
    let len = p.len as usize;
    let Some(d0) = word_of(dreg, len) else { return Flow::Helper };
    let base = match (fx.pkt.base(p.base), p.base) {
        (Some(b), _) => b,
        (None, PayloadBase::Inner) => fx.inner_base(),
        (None, _) => return Flow::Verdict(Verdict::Break),
    };
    let out = fx.past_end(base, p.offset as i64 + len as i64);
    fx.branch_if(out, rc.brk);
    let mut addr = fx.b.ins().iadd(fx.pkt.data, base);
    let mut at = p.offset as i64;
    if at > i32::MAX as i64 - 64 {
        addr = fx.b.ins().iadd_imm_s(addr, at);
        at = 0;
    }
    for w in 0..len.div_ceil(4) {
        let n = (len - 4 * w).min(4);
        let v = fx.pkt_word(addr, (at + 4 * w as i64) as i32, n);
        fx.set_reg_word(d0 + w, v);
    }
    Flow::Next
}

/// The big-endian number in `len` (1, 2, 4 or 8) register bytes from word `w0`: `i32` for up
/// to 4 bytes, `i64` for 8. `None` for other lengths.
pub fn be_value(fx: &mut Fx, w0: usize, len: usize) -> Option<Value> {
    Some(match len {
        1 => fx.reg_bytes(w0, 1),
        2 => {
            let v = fx.reg_bytes(w0, 2);
            let s = fx.b.ins().bswap(v);
            fx.b.ins().ushr_imm_u(s, 16)
        }
        4 => {
            let v = fx.reg_word(w0);
            fx.b.ins().bswap(v)
        }
        8 => {
            let hi = fx.reg_word(w0);
            let lo = fx.reg_word(w0 + 1);
            let hi = fx.b.ins().bswap(hi);
            let lo = fx.b.ins().bswap(lo);
            let hi = fx.b.ins().uextend(types::I64, hi);
            let lo = fx.b.ins().uextend(types::I64, lo);
            let hi = fx.b.ins().ishl_imm_u(hi, 32);
            fx.b.ins().bor(hi, lo)
        }
        _ => return None,
    })
}

fn cmp(fx: &mut Fx, rc: &RuleCx, c: &Cmp) -> Flow {
    let len = c.data.len();
    let Some(w0) = word_of(c.sreg, len) else { return Flow::Helper };
    let d = c.data.bytes();
    if matches!(c.op, CmpOp::Eq | CmpOp::Neq) {
        let equal = equal_words(fx, w0, d);
        if c.op == CmpOp::Eq {
            fx.branch_unless(equal, rc.brk);
        } else {
            fx.branch_if(equal, rc.brk);
        }
        return Flow::Next;
    }
    let Some(v) = be_value(fx, w0, len) else { return Flow::Helper };
    let cc = match c.op {
        CmpOp::Lt => IntCC::UnsignedLessThan,
        CmpOp::Lte => IntCC::UnsignedLessThanOrEqual,
        CmpOp::Gt => IntCC::UnsignedGreaterThan,
        _ => IntCC::UnsignedGreaterThanOrEqual,
    };
    let ty = fx.b.func.dfg.value_type(v);
    let k = fx.iconst(ty, be_number(d));
    let ok = fx.b.ins().icmp(cc, v, k);
    fx.branch_unless(ok, rc.brk);
    Flow::Next
}

/// Are the `d.len()` register bytes from word `w0` equal to `d`? (A boolean value.)
fn equal_words(fx: &mut Fx, w0: usize, d: &[u8]) -> Value {
    let words = d.len().div_ceil(4);
    let mut diff: Option<Value> = None;
    for w in 0..words {
        let n = (d.len() - 4 * w).min(4);
        let v = fx.reg_bytes(w0 + w, n);
        let k = fx.u32(data_word(d, w));
        if words == 1 {
            return fx.b.ins().icmp(IntCC::Equal, v, k);
        }
        let x = fx.b.ins().bxor(v, k);
        diff = Some(match diff {
            Some(acc) => fx.b.ins().bor(acc, x),
            None => x,
        });
    }
    match diff {
        Some(acc) => fx.b.ins().icmp_imm_u(IntCC::Equal, acc, 0),
        None => fx.b.ins().iconst(types::I8, 1),
    }
}

fn range(fx: &mut Fx, rc: &RuleCx, r: &Range) -> Flow {
    let len = r.from.len();
    if r.to.len() != len || !matches!(r.op, CmpOp::Eq | CmpOp::Neq) {
        return Flow::Helper;
    }
    let Some(w0) = word_of(r.sreg, len) else { return Flow::Helper };
    let Some(v) = be_value(fx, w0, len) else { return Flow::Helper };
    let inside = in_range(fx, v, be_number(r.from.bytes()), be_number(r.to.bytes()));
    if r.op == CmpOp::Eq {
        fx.branch_unless(inside, rc.brk);
    } else {
        fx.branch_if(inside, rc.brk);
    }
    Flow::Next
}

/// `lo <= v && v <= hi` (unsigned), as a boolean value.
pub fn in_range(fx: &mut Fx, v: Value, lo: u64, hi: u64) -> Value {
    let ty = fx.b.func.dfg.value_type(v);
    let lo = fx.iconst(ty, lo);
    let hi = fx.iconst(ty, hi);
    let a = fx.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, v, lo);
    let b = fx.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, v, hi);
    fx.b.ins().band(a, b)
}

fn bitwise(fx: &mut Fx, bw: &Bitwise) -> Flow {
    let len = bw.len as usize;
    let words = len.div_ceil(4);
    // The interpreter reads whole source words (they always fit for a verified program).
    let (Some(s0), Some(d0)) = (word_of(bw.sreg, words * 4), word_of(bw.dreg, len)) else {
        return Flow::Helper;
    };
    let last_n = len - 4 * (words.max(1) - 1);
    let mut out: Vec<Value> = Vec::with_capacity(words);
    match &bw.op {
        BitwiseOp::MaskXor { mask, xor } => {
            if mask.len() != len || xor.len() != len {
                return Flow::Helper;
            }
            for w in 0..words {
                let v = fx.reg_word(s0 + w);
                let (m, x) = (data_word(mask.bytes(), w), data_word(xor.bytes(), w));
                // (The padding of a partial last word is cleared when it is stored.)
                let v = if m == u32::MAX { v } else { fx.b.ins().band_imm_u(v, m as i64) };
                out.push(if x == 0 { v } else { fx.b.ins().bxor_imm_u(v, x as i64) });
            }
        }
        BitwiseOp::And(r) | BitwiseOp::Or(r) | BitwiseOp::Xor(r) => {
            let Some(t0) = word_of(*r, len) else { return Flow::Helper };
            for w in 0..words {
                let n = (len - 4 * w).min(4);
                let v = fx.reg_word(s0 + w);
                let t = fx.reg_bytes(t0 + w, n);
                let x = match bw.op {
                    BitwiseOp::And(_) => fx.b.ins().band(v, t),
                    BitwiseOp::Or(_) => fx.b.ins().bor(v, t),
                    _ => fx.b.ins().bxor(v, t),
                };
                out.push(x);
            }
        }
        BitwiseOp::Lshift(n) | BitwiseOp::Rshift(n) => {
            let n = *n;
            if n >= 32 {
                return Flow::Helper;
            }
            let left = matches!(bw.op, BitwiseOp::Lshift(_));
            let src: Vec<Value> = (0..words).map(|w| fx.reg_word(s0 + w)).collect();
            out = src.clone();
            let mut carry: Option<Value> = None;
            let order: Vec<usize> = if left { (0..words).rev().collect() } else { (0..words).collect() };
            for w in order {
                let v = src[w];
                let shifted = if left {
                    fx.b.ins().ishl_imm_u(v, n as i64)
                } else {
                    fx.b.ins().ushr_imm_u(v, n as i64)
                };
                out[w] = match carry {
                    Some(c) => fx.b.ins().bor(shifted, c),
                    None => shifted,
                };
                carry = (n != 0).then(|| {
                    if left {
                        fx.b.ins().ushr_imm_u(v, 32 - n as i64)
                    } else {
                        fx.b.ins().ishl_imm_u(v, 32 - n as i64)
                    }
                });
            }
        }
    }
    store_words(fx, d0, out, last_n);
    Flow::Next
}

/// Stores computed words, keeping only `last_n` bytes of the last one (register padding).
fn store_words(fx: &mut Fx, d0: usize, mut out: Vec<Value>, last_n: usize) {
    if let Some(last) = out.last_mut().filter(|_| last_n < 4) {
        *last = fx.b.ins().band_imm_u(*last, low_mask(last_n) as i64);
    }
    for (w, v) in out.into_iter().enumerate() {
        fx.set_reg_word(d0 + w, v);
    }
}

fn byteorder(fx: &mut Fx, bo: &Byteorder) -> Flow {
    let (len, size) = (bo.len as usize, bo.size as usize);
    if !matches!(size, 2 | 4 | 8) || len == 0 || len % size != 0 {
        return Flow::Helper;
    }
    let (Some(s0), Some(d0)) = (word_of(bo.sreg, len), word_of(bo.dreg, len)) else { return Flow::Helper };
    let words = len.div_ceil(4);
    let src: Vec<Value> = (0..words).map(|w| fx.reg_word(s0 + w)).collect();
    let mut out = Vec::with_capacity(words);
    for w in 0..words {
        let v = match size {
            // An 8-byte unit is two words: each swapped, and their order exchanged.
            8 => fx.b.ins().bswap(src[w ^ 1]),
            4 => fx.b.ins().bswap(src[w]),
            _ => {
                // Swap the bytes of each 16-bit half.
                let lo = fx.b.ins().band_imm_u(src[w], 0x00ff_00ff);
                let lo = fx.b.ins().ishl_imm_u(lo, 8);
                let hi = fx.b.ins().ushr_imm_u(src[w], 8);
                let hi = fx.b.ins().band_imm_u(hi, 0x00ff_00ff);
                fx.b.ins().bor(lo, hi)
            }
        };
        out.push(v);
    }
    let last_n = len - 4 * (words - 1);
    store_words(fx, d0, out, last_n);
    Flow::Next
}

fn immediate(fx: &mut Fx, i: &Immediate) -> Flow {
    match &i.value {
        ImmValue::Verdict(v) => Flow::Verdict(*v),
        ImmValue::Data(d) => {
            let Some(w0) = word_of(i.dreg, d.len()) else { return Flow::Helper };
            store_data(fx, w0, d);
            Flow::Next
        }
    }
}

/// Metadata keys `Meta::eval` computes itself (never asks the environment for).
fn meta_derived(key: MetaKey) -> bool {
    use MetaKey::*;
    matches!(key, Len | Protocol | Nfproto | L4proto | TimeNs | TimeDay | TimeHour | Prandom | Cpu)
}

fn meta(fx: &mut Fx, rc: &RuleCx, m: &Meta, index: usize) -> Flow {
    let dreg = match m.op {
        MetaOp::Load { dreg } => dreg,
        MetaOp::Set { sreg } if m.key == MetaKey::Mark => {
            let Some(w0) = word_of(sreg, key_len(m.key)) else { return Flow::Helper };
            let v = fx.reg_word(w0);
            fx.defer_mark(v);
            return Flow::Next;
        }
        MetaOp::Set { sreg } => {
            let Some(k) = MetaKey::ALL.iter().position(|x| *x == m.key) else { return Flow::Helper };
            return env_store(fx, env_kind::META, k, 0, key_len(m.key), sreg);
        }
    };
    let slot = match m.key {
        MetaKey::Len => meta_word::LEN,
        MetaKey::Protocol => meta_word::PROTOCOL,
        MetaKey::Nfproto => meta_word::NFPROTO,
        MetaKey::L4proto => meta_word::L4PROTO,
        key if !meta_derived(key) => {
            let Some(k) = MetaKey::ALL.iter().position(|x| *x == key) else { return Flow::Helper };
            return env_load(fx, rc, env_kind::META, k, 0, key_len(key), dreg);
        }
        _ => return Flow::Helper,
    };
    let Some(w0) = word_of(dreg, key_len(m.key)) else { return Flow::Helper };
    let v = fx.meta_word(slot);
    if slot != meta_word::L4PROTO {
        fx.set_reg_word(w0, v);
        return Flow::Next;
    }
    // `meta l4proto` outside ip/ip6 is the runtime's to answer: the helper path.
    let none = fx.b.ins().icmp_imm_u(IntCC::Equal, v, NO_WORD as i64);
    let slow = fx.new_block();
    let join = fx.new_block();
    fx.branch_if(none, slow);
    fx.set_reg_word(w0, v);
    fx.jump(join);
    fx.enter(slow);
    rc.helper(fx, index);
    fx.jump(join);
    fx.enter(join);
    Flow::Next
}

/// `ct load`/`ct set` of a key of at most 4 bytes: one direct call into the environment
/// (`helpers::env_word`, `helpers::env_set_word`); longer keys take the generic helper.
fn ct(fx: &mut Fx, rc: &RuleCx, c: &Ct) -> Flow {
    let Some(k) = CtKey::ALL.iter().position(|x| *x == c.key) else { return Flow::Helper };
    let dir = c.dir.map_or(0, |d| d.number() as u32 + 1);
    let len = ctx::key_len(c.key, rc.family);
    match c.op {
        CtOp::Load { dreg } => env_load(fx, rc, env_kind::CT, k, dir, len, dreg),
        CtOp::Set { sreg } => env_store(fx, env_kind::CT, k, dir, len, sreg),
    }
}

/// Hands the first `len` (1..=4) bytes of `sreg` to the environment — `ct set`/`meta set`,
/// which never break a rule once the register is valid.
fn env_store(fx: &mut Fx, kind: u32, key: usize, dir: u32, len: usize, sreg: Reg) -> Flow {
    if !(1..=4).contains(&len) {
        return Flow::Helper;
    }
    let Some(w0) = word_of(sreg, len) else { return Flow::Helper };
    let v = fx.reg_word(w0);
    fx.call_env_set_word(kind, key as u32, dir << 8 | len as u32, v);
    Flow::Next
}

/// Loads a `len`-byte (1..=4) environment value into `dreg` (its word zero-padded), or breaks
/// the rule when the environment has no answer — what `Ct::eval`/`Meta::eval` do.
fn env_load(fx: &mut Fx, rc: &RuleCx, kind: u32, key: usize, dir: u32, len: usize, dreg: Reg) -> Flow {
    if !(1..=4).contains(&len) {
        return Flow::Helper;
    }
    let Some(w0) = word_of(dreg, len) else { return Flow::Helper };
    let r = fx.call_env_word(kind, key as u32, dir << 8 | len as u32);
    let ok = fx.b.ins().band_imm_u(r, ENV_OK as i64);
    fx.branch_unless(ok, rc.brk);
    let word = fx.b.ins().ireduce(types::I32, r);
    fx.set_reg_word(w0, word);
    Flow::Next
}
