//! Matches (nft's `netlink_gen_relational`): the left side into a register, then
//!
//! - a constant: `cmp eq|neq|lt|lte|gt|gte`;
//! - a range: `range eq|neq`;
//! - a set (anonymous or named): `lookup`, flag `0x1` for `!=`;
//! - a prefix: a load of only the prefix bytes and a shorter `cmp` when the prefix is
//!   byte-aligned on a network-order value (or a string: `"eth*"`), else the whole value
//!   masked by a `bitwise`;
//! - a flag test (`ct state established,related`, `tcp flags syn`): `bitwise` with the
//!   flags and `cmp neq 0` (`cmp eq 0` for `! flags`).
//!
//! Ordered comparisons, ranges and interval-set lookups compare bytes with `memcmp`, so a
//! host-order left side is converted first (`byteorder reg 1 = hton(reg 1, 4, 4)`) and the
//! constants are given in network order, as nft's evaluation arranges. A one-element
//! anonymous set compared with `==`/`!=` is a plain constant (nft's singleton-set folding).

use super::data::{self, bytes_of, vm_order};
use super::error::LResult;
use super::expr::is_concat;
use super::load::type_id;
use super::rule::{Gen, Loaded, Mode, Part};
use super::set::{DataShape, lit_is_interval};
use crate::ir::{BinOp, Expr, ExprKind, Match, MatchOp, SetElem, SetLit};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::data::{ByteOrder as VmOrder, Data};
use nftvm_vm::expr::byteorder::ByteorderOp;
use nftvm_vm::expr::cmp::Cmp;
use nftvm_vm::expr::lookup::{F_INV, Lookup};
use nftvm_vm::expr::range::Range;
use nftvm_vm::keys::CmpOp;

/// The right side of a set match.
pub(crate) enum SetRhs<'e> {
    Anon(&'e SetLit),
    Named(&'e str),
}

/// The data of a constant as the part holds it (shifted bit-field constants, host values
/// converted to network order), sized to the part.
pub(crate) fn const_data(p: &Part, v: &Value, ty: Type) -> LResult<Data> {
    if p.shift > 0 {
        let n = v.to_u128().ok_or("bit field constant wider than 128 bits")?;
        return data::net_uint(n.checked_shl(p.shift).unwrap_or(0), p.bytes as usize);
    }
    let v = if p.to_network { data::to_network(v) } else { v.clone() };
    let mut b = v.bytes().to_vec();
    if b.len() < p.bytes as usize {
        b.resize(p.bytes as usize, 0);
    }
    let order = if p.to_network { VmOrder::Network } else { vm_order(ty, v.order()) };
    data::raw(&b, order)
}

fn cmp_op(op: MatchOp) -> CmpOp {
    match op {
        MatchOp::Ne => CmpOp::Neq,
        MatchOp::Lt => CmpOp::Lt,
        MatchOp::Le => CmpOp::Lte,
        MatchOp::Gt => CmpOp::Gt,
        MatchOp::Ge => CmpOp::Gte,
        _ => CmpOp::Eq,
    }
}

/// The element of a one-element anonymous set nft folds into a constant.
fn singleton(m: &Match) -> Option<&Expr> {
    let ExprKind::Set(lit) = &m.right.kind else { return None };
    if is_concat(&m.left) || !matches!(m.op, MatchOp::Eq | MatchOp::Ne) {
        return None;
    }
    let [SetElem { key, data: None, stmts, .. }] = lit.elems.as_slice() else { return None };
    (stmts.is_empty()
        && matches!(key.kind, ExprKind::Value(_) | ExprKind::Prefix { .. } | ExprKind::Range { .. }))
    .then_some(key)
}

/// nft's `binop_transfer`: `left ^ c == v` is `left == v ^ c`, `left << n == v` is
/// `left == v >> n` and `left >> n == v` is `left & (ones << n) == v << n`, for constant,
/// range and anonymous-set right sides.
fn transfer(m: &Match) -> Option<Match> {
    let ExprKind::Binary { op, lhs, rhs } = &m.left.kind else { return None };
    if !matches!(op, BinOp::Xor | BinOp::Shl | BinOp::Shr) {
        return None;
    }
    let c = rhs.as_value()?;
    let n = c.to_u64().unwrap_or(0) as u32;
    let moved = |v: &Value| -> Option<Value> {
        match op {
            BinOp::Xor => v.xor(&c.resized(v.bits()).ok()?).ok(),
            BinOp::Shl => {
                let x = v.to_u128()?;
                (x.trailing_zeros() >= n || x == 0).then(|| v.shr(n).ok()).flatten()
            }
            _ => v.shl(n).ok(),
        }
    };
    let move_expr = |e: &Expr| -> Option<Expr> {
        let kind = match &e.kind {
            ExprKind::Value(v) => ExprKind::Value(moved(v)?),
            ExprKind::Range { low, high } => ExprKind::Range { low: moved(low)?, high: moved(high)? },
            _ => return None,
        };
        Some(Expr { kind, ..e.clone() })
    };
    let right = match &m.right.kind {
        ExprKind::Value(_) | ExprKind::Range { .. } => move_expr(&m.right)?,
        ExprKind::Set(lit) => {
            let mut lit = (**lit).clone();
            for el in &mut lit.elems {
                if el.data.is_some() {
                    return None;
                }
                el.key = move_expr(&el.key)?;
            }
            Expr { kind: ExprKind::Set(Box::new(lit)), ..m.right.clone() }
        }
        _ => return None,
    };
    let left = match op {
        BinOp::Shr => {
            let all = super::expr::ones(lhs.bits);
            let bits = all.checked_shl(n).unwrap_or(0) & super::expr::ones(m.left.bits);
            let mask = Value::from_uint(m.left.bits, c.order(), bits).ok()?;
            let mask = Expr::new(ExprKind::Value(mask), m.left.ty, m.left.bits, m.left.order);
            Expr {
                kind: ExprKind::Binary { op: BinOp::And, lhs: lhs.clone(), rhs: Box::new(mask) },
                ..m.left.clone()
            }
        }
        _ => Expr { ty: m.left.ty, ..(**lhs).clone() },
    };
    Some(Match { left, op: m.op, right })
}

impl Gen<'_, '_> {
    /// Lower a match statement.
    pub fn gen_match(&mut self, m: &Match) -> LResult<()> {
        if let Some(t) = transfer(m) {
            return self.gen_match(&t);
        }
        let right = singleton(m).unwrap_or(&m.right);
        match &right.kind {
            ExprKind::Set(lit) => self.match_set(&m.left, m.op, SetRhs::Anon(lit)),
            ExprKind::SetRef(name) => self.match_set(&m.left, m.op, SetRhs::Named(name)),
            ExprKind::Concat(_) => {
                let lit = SetLit { elems: vec![SetElem::new(right.clone())], interval: false };
                self.match_set(&m.left, m.op, SetRhs::Anon(&lit))
            }
            ExprKind::Range { low, high } => self.match_range(&m.left, m.op, low, high, right.ty),
            ExprKind::Prefix { value, len } => self.match_prefix(&m.left, m.op, right, value, *len),
            ExprKind::Value(v) => match m.op {
                MatchOp::Flags if v.is_zero() => self.match_value(&m.left, MatchOp::Eq, v, right.ty),
                MatchOp::Flags | MatchOp::NoFlags => self.match_flags(&m.left, m.op, v, right.ty),
                MatchOp::Lt | MatchOp::Le | MatchOp::Gt | MatchOp::Ge => {
                    self.match_ordered(&m.left, m.op, v, right.ty)
                }
                MatchOp::Eq | MatchOp::Ne => self.match_value(&m.left, m.op, v, right.ty),
            },
            _ => Err(format!("cannot match against {}", super::expr::kind_name(right))),
        }
    }

    /// Allocate a register for `left`, run `f`, release it.
    fn with_left<T>(&mut self, left: &Expr, f: impl FnOnce(&mut Self, u32) -> LResult<T>) -> LResult<T> {
        let concat = is_concat(left);
        let word = self.regs.get_for(concat, left.bits)?;
        let r = f(self, word);
        self.regs.release_for(concat, left.bits);
        r
    }

    /// Convert a host-order integer register to network order (ranges, ordered compares,
    /// interval lookups).
    pub(crate) fn convert_to_network(&mut self, l: &mut Loaded, bits: u32) {
        let Some(p) = l.parts.first_mut() else { return };
        if p.order != ByteOrder::Host || p.ty.is_string() || l.concat {
            return;
        }
        if p.bytes >= 2 {
            self.byteorder(l.word, p.bytes, bits, ByteorderOp::Hton);
        }
        p.order = ByteOrder::Network;
        p.to_network = true;
    }

    fn match_value(&mut self, left: &Expr, op: MatchOp, v: &Value, ty: Type) -> LResult<()> {
        self.with_left(left, |g, word| {
            let l = g.expr_into(left, word, Mode::Match)?;
            let data = const_data(&l.part(), v, ty)?;
            g.emit(VmExpr::Cmp(Cmp::new(cmp_op(op), l.reg(), data)));
            Ok(())
        })
    }

    fn match_ordered(&mut self, left: &Expr, op: MatchOp, v: &Value, ty: Type) -> LResult<()> {
        self.with_left(left, |g, word| {
            let mut l = g.expr_into(left, word, Mode::Match)?;
            g.convert_to_network(&mut l, left.bits);
            let data = const_data(&l.part(), v, ty)?;
            g.emit(VmExpr::Cmp(Cmp::new(cmp_op(op), l.reg(), data)));
            Ok(())
        })
    }

    fn match_range(&mut self, left: &Expr, op: MatchOp, low: &Value, high: &Value, ty: Type) -> LResult<()> {
        self.with_left(left, |g, word| {
            let mut l = g.expr_into(left, word, Mode::Match)?;
            g.convert_to_network(&mut l, left.bits);
            let p = l.part();
            let (from, to) = (const_data(&p, low, ty)?, const_data(&p, high, ty)?);
            let op = if op == MatchOp::Ne { CmpOp::Neq } else { CmpOp::Eq };
            g.emit(VmExpr::Range(Range { op, sreg: l.reg(), from, to }));
            Ok(())
        })
    }

    fn match_flags(&mut self, left: &Expr, op: MatchOp, v: &Value, ty: Type) -> LResult<()> {
        self.with_left(left, |g, word| {
            let l = g.expr_into(left, word, Mode::Match)?;
            let p = l.part();
            let mask = const_data(&p, v, ty)?;
            if matches!(left.kind, ExprKind::Binary { .. }) {
                g.emit(VmExpr::Cmp(Cmp::new(CmpOp::Eq, l.reg(), mask)));
                return Ok(());
            }
            let zero = Data::zeroed(mask.len(), mask.order());
            g.mask_xor(word, mask.len() as u32, mask, zero);
            let cmp = if op == MatchOp::NoFlags { CmpOp::Eq } else { CmpOp::Neq };
            g.emit(VmExpr::Cmp(Cmp::new(cmp, l.reg(), zero)));
            Ok(())
        })
    }

    fn match_prefix(
        &mut self,
        left: &Expr,
        op: MatchOp,
        right: &Expr,
        value: &Value,
        len: u32,
    ) -> LResult<()> {
        let string = left.ty.is_string() || right.ty.is_string();
        let cmp = if op == MatchOp::Ne { CmpOp::Neq } else { CmpOp::Eq };
        self.with_left(left, |g, word| {
            if !string && (value.order() != ByteOrder::Network || len == 0 || !len.is_multiple_of(8)) {
                let mask = Value::prefix_mask(right.bits, value.order(), len).map_err(|e| e.to_string())?;
                let masked = value.and(&mask).unwrap_or_else(|_| value.clone());
                if super::load::is_bitfield(left) {
                    // As nft: the field shifted down (`ip dscp 1/6`: `& 0xfc`, `>> 2`), then
                    // the prefix's mask and value as they are.
                    let l = g.expr_into(left, word, Mode::Value)?;
                    let p = l.part();
                    let (m, v) = (const_data(&p, &mask, right.ty)?, const_data(&p, &masked, right.ty)?);
                    let zero = Data::zeroed(m.len(), m.order());
                    g.mask_xor(word, m.len() as u32, m, zero);
                    g.emit(VmExpr::Cmp(Cmp::new(cmp, l.reg(), v)));
                    return Ok(());
                }
                let l = g.expr_into(left, word, Mode::Match)?;
                let bytes = bytes_of(right.bits);
                let order = vm_order(right.ty, value.order());
                let zero = Data::zeroed(bytes as usize, order);
                g.mask_xor(word, bytes, data::value(&mask, right.ty)?, zero);
                let mut d = data::value(&masked, right.ty)?;
                d = d.with_order(order);
                g.emit(VmExpr::Cmp(Cmp::new(cmp, l.reg(), d)));
                return Ok(());
            }
            let plen = len / 8;
            match &left.kind {
                ExprKind::Payload(p) if !p.is_bitfield() => g.payload_load(p, word, Some(plen))?,
                _ => {
                    g.expr_into(left, word, Mode::Match)?;
                }
            }
            let bytes = value.bytes().get(..plen as usize).ok_or("prefix longer than its value")?;
            let d = data::raw(bytes, vm_order(right.ty, value.order()))?;
            g.emit(VmExpr::Cmp(Cmp::new(cmp, super::regs::reg(word), d)));
            Ok(())
        })
    }

    /// `left [!=] { … }` / `left [!=] @set`.
    pub(crate) fn match_set(&mut self, left: &Expr, op: MatchOp, rhs: SetRhs<'_>) -> LResult<()> {
        let (interval, named) = match &rhs {
            SetRhs::Anon(lit) => (lit_is_interval(lit), None),
            SetRhs::Named(name) => {
                let decl = self.cx.set_decl(self.t, name);
                (decl.is_some_and(|d| d.flags.interval), Some(*name))
            }
        };
        self.with_left(left, |g, word| {
            let l = g.key(left, word, interval, named.is_none())?;
            let set = match rhs {
                SetRhs::Anon(lit) => g.anon_set(lit, &l, type_id(left), DataShape::None)?,
                SetRhs::Named(name) => g.cx.set_id(g.t, name)?,
            };
            let flags = (op == MatchOp::Ne).then_some(F_INV);
            g.emit(VmExpr::Lookup(Lookup { sreg: l.reg(), set, dreg: None, flags }));
            Ok(())
        })
    }

    /// A set or map key into `word`: concatenation members in consecutive words, bit fields
    /// masked only for anonymous sets, host-order integers converted for interval sets.
    pub(crate) fn key(&mut self, key: &Expr, word: u32, interval: bool, anon: bool) -> LResult<Loaded> {
        if let ExprKind::Concat(members) = &key.kind {
            return self.concat(members, word, interval);
        }
        let mode = if anon { Mode::Match } else { Mode::Value };
        let mut l = self.expr_into(key, word, mode)?;
        if interval {
            self.convert_to_network(&mut l, key.bits);
        }
        Ok(l)
    }
}
