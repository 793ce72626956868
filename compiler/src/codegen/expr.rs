//! Expressions into registers (nft's `netlink_gen_expr`): constants (`immediate`), loads,
//! bitwise operators, concatenations (members in consecutive words) and map lookups.
//!
//! A chain of `&`/`|`/`^` with constants becomes one `bitwise` mask-and-xor whose mask and
//! xor fold every operator (`netlink_gen_bitwise_mask_xor`); an operator between two
//! non-constant operands uses a second register (`bitwise reg 1 = ( reg 1 & reg 2 )`);
//! shifts are `bitwise … >> 0x…` over host-order words.

use super::data::{self, bytes_of};
use super::error::LResult;
use super::load::is_bitfield;
use super::regs::{reg, words_for};
use super::rule::{Gen, Loaded, Mode, Part};
use crate::ir::{BinOp, Expr, ExprKind};
use crate::types::{ByteOrder, Value};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::expr::bitwise::{Bitwise, BitwiseOp};
use nftvm_vm::expr::byteorder::ByteorderOp;
use nftvm_vm::expr::immediate::{ImmValue, Immediate};

/// `bits` ones.
pub fn ones(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// A statement argument's operator chain at the width and byte order of what it is written
/// to (`ct mark set ip dscp | 0x04` computes in 32 host-order bits, as nft's statement
/// context makes it).
pub fn widen(e: &Expr, bits: u32, order: ByteOrder) -> Expr {
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else { return e.clone() };
    let lhs = Box::new(widen(lhs, bits, order));
    Expr {
        kind: ExprKind::Binary { op: *op, lhs, rhs: rhs.clone() },
        bits: e.bits.max(bits),
        order,
        ..e.clone()
    }
}

/// True for concatenations.
pub fn is_concat(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Concat(_))
}

impl Gen<'_, '_> {
    /// Generate `e` into the register starting at `word` (allocated by the caller).
    pub fn expr_into(&mut self, e: &Expr, word: u32, mode: Mode) -> LResult<Loaded> {
        match &e.kind {
            ExprKind::Value(v) => {
                let d = data::value(v, e.ty)?;
                self.emit(VmExpr::Immediate(Immediate { dreg: reg(word), value: ImmValue::Data(d) }));
                Ok(Loaded::single(word, e.ty, v.len() as u32, v.order()))
            }
            _ if is_bitfield(e) => self.bitfield(e, word, mode),
            _ if e.is_load() => self.load(e, word),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs, word),
            ExprKind::Concat(members) => self.concat(members, word, false),
            ExprKind::Map(m) => self.map_lookup(e, &m.key, &m.map, word),
            _ => Err(format!("expression cannot be loaded into a register: {}", kind_name(e))),
        }
    }

    /// Concatenation members into consecutive words; with `to_network`, host-order integer
    /// members of two bytes or more are converted (interval lookups compare big-endian).
    pub fn concat(&mut self, members: &[Expr], word: u32, to_network: bool) -> LResult<Loaded> {
        let mut at = word;
        let mut parts = Vec::with_capacity(members.len());
        for m in members {
            let l = self.expr_into(m, at, Mode::Value)?;
            let mut p = l.part();
            p.bytes = bytes_of(m.bits).max(1);
            if to_network && p.order == ByteOrder::Host && !m.ty.is_string() {
                if p.bytes >= 2 {
                    self.byteorder(at, p.bytes, m.bits, ByteorderOp::Hton);
                }
                p.order = ByteOrder::Network;
                p.to_network = true;
            }
            parts.push(p);
            at += words_for(m.bits).max(1);
        }
        Ok(Loaded { word, bytes: (at - word) * 4, parts, concat: true })
    }

    /// `lhs op rhs`.
    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr, word: u32) -> LResult<Loaded> {
        let len = bytes_of(e.bits);
        match op {
            BinOp::Shl | BinOp::Shr => {
                let l = self.expr_into(lhs, word, Mode::Value)?;
                self.host_operand(&l, e);
                let n = rhs.as_value().and_then(Value::to_u64).ok_or("shift by a non-constant")? as u32;
                let op = if op == BinOp::Shl { BitwiseOp::Lshift(n) } else { BitwiseOp::Rshift(n) };
                self.emit(VmExpr::Bitwise(Bitwise { dreg: reg(word), sreg: reg(word), len: len as u8, op }));
                Ok(Loaded::single(word, e.ty, len, e.order))
            }
            _ if rhs.as_value().is_some() => self.mask_xor_chain(e, word),
            _ => {
                self.expr_into(lhs, word, Mode::Value)?;
                let concat = super::expr::is_concat(rhs);
                let sreg2 = self.regs.get_for(concat, rhs.bits)?;
                self.expr_into(rhs, sreg2, Mode::Value)?;
                self.regs.release_for(concat, rhs.bits);
                let op = match op {
                    BinOp::And => BitwiseOp::And(reg(sreg2)),
                    BinOp::Or => BitwiseOp::Or(reg(sreg2)),
                    _ => BitwiseOp::Xor(reg(sreg2)),
                };
                self.emit(VmExpr::Bitwise(Bitwise { dreg: reg(word), sreg: reg(word), len: len as u8, op }));
                Ok(Loaded::single(word, e.ty, len, e.order))
            }
        }
    }

    /// A chain `((x & a) | b) ^ c` of constant operators as one mask-and-xor.
    fn mask_xor_chain(&mut self, e: &Expr, word: u32) -> LResult<Loaded> {
        let len = bytes_of(e.bits);
        let mut chain: Vec<(BinOp, &Value)> = Vec::new();
        let mut cur = e;
        while let ExprKind::Binary { op, lhs, rhs } = &cur.kind {
            let Some(v) = rhs.as_value() else { break };
            if !matches!(op, BinOp::And | BinOp::Or | BinOp::Xor) {
                break;
            }
            chain.push((*op, v));
            cur = lhs;
        }
        let inner = self.expr_into(cur, word, Mode::Value)?;
        self.host_operand(&inner, e);
        let all = ones(e.bits);
        let (mut mask, mut xor) = (all, 0u128);
        for (op, v) in chain.iter().rev() {
            let val = v.to_u128().ok_or("operand wider than 128 bits")?;
            let (m, x) = match op {
                BinOp::And => (val, 0),
                BinOp::Or => (!val & all, val),
                _ => (all, val),
            };
            xor = x ^ (xor & m);
            mask &= m;
        }
        let order = data::vm_order(e.ty, e.order);
        let (m, x) = (data::uint(mask, len as usize, order)?, data::uint(xor, len as usize, order)?);
        self.mask_xor(word, len, m, x);
        Ok(Loaded::single(word, e.ty, len, e.order))
    }

    /// An operator computing in host order converts a network-order operand of two bytes or
    /// more first (nft's byte order conversion of binary operands).
    fn host_operand(&mut self, operand: &Loaded, e: &Expr) {
        let p = operand.part();
        if e.order == ByteOrder::Host && p.order == ByteOrder::Network && !p.ty.is_string() && p.bytes >= 2 {
            self.byteorder(operand.word, p.bytes, p.bytes * 8, ByteorderOp::Ntoh);
        }
    }

    /// `key map data` into `word` (nft's `netlink_gen_map` for data maps).
    fn map_lookup(&mut self, e: &Expr, key: &Expr, map: &Expr, word: u32) -> LResult<Loaded> {
        self.lookup_map(key, map, Some(word), e)?;
        let part = Part {
            ty: e.ty,
            bytes: if is_concat_type(e) { e.bits / 8 } else { bytes_of(e.bits) },
            order: e.order,
            shift: 0,
            to_network: false,
        };
        Ok(Loaded { word, bytes: part.bytes, parts: vec![part], concat: false })
    }
}

fn is_concat_type(e: &Expr) -> bool {
    e.ty == crate::types::Type::Invalid
}

/// A short name of an expression kind for errors.
pub fn kind_name(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Value(_) => "value",
        ExprKind::Prefix { .. } => "prefix",
        ExprKind::Range { .. } => "range",
        ExprKind::CatchAll => "catch-all",
        ExprKind::Verdict(_) => "verdict",
        ExprKind::Set(_) => "anonymous set",
        ExprKind::SetRef(_) => "set reference",
        ExprKind::Map(_) => "map",
        ExprKind::Concat(_) => "concatenation",
        ExprKind::Binary { .. } => "binary operation",
        _ => "load",
    }
}
