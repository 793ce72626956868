//! Small builders shared by the lowering files: selectors by their nft words (through the
//! shared selector resolver, so the expressions are exactly those nft input gives), typed
//! constants, and the common match shapes (value or range, negation, address with mask).

use super::{LResult, Unsupported};
use crate::iptables::ip::Inv;
use crate::iptables::values::addr::{Addr, AddrMask};
use crate::ir::build::from_selector;
use crate::ir::{BinOp, Expr, ExprKind, Family, MatchOp, Stmt};
use crate::proto::selector::resolve;
use crate::types::Value;

/// The expression nft reads for `words` (`"tcp dport"`, `"ct original saddr"`) in a table
/// of `family`.
pub fn sel(words: &str, family: Family) -> LResult<Expr> {
    let w: Vec<&str> = words.split(' ').collect();
    let r =
        resolve(&w).map_err(|e| Unsupported::new(format!("internal: selector `{words}`: {}", e.message)))?;
    if r.consumed != w.len() {
        return Err(Unsupported::new(format!("internal: selector `{words}` resolves to fewer words")));
    }
    from_selector(&r.selector, Some(family))
        .map_err(|e| Unsupported::new(format!("internal: `{words}`: {e}")))
}

/// A constant `n` typed like `shape`.
pub fn num(shape: &Expr, n: u128) -> LResult<Expr> {
    shape
        .number(n)
        .map_err(|e| Unsupported::new(format!("value {n} does not fit `{}`: {e:?}", shape.ty.name())))
}

/// `n` or `lo-hi` typed like `shape`.
pub fn value_or_range(shape: &Expr, lo: u128, hi: u128) -> LResult<Expr> {
    if lo == hi {
        return num(shape, lo);
    }
    let (l, h) = (num(shape, lo)?, num(shape, hi)?);
    match (l.kind, h.kind) {
        (ExprKind::Value(l), ExprKind::Value(h)) => Ok(shape.range(l, h)),
        _ => Err(Unsupported::new("internal: range bounds")),
    }
}

/// `left == right` or `left != right`.
pub fn cmp(left: Expr, invert: bool, right: Expr) -> Stmt {
    Stmt::matches(left, if invert { MatchOp::Ne } else { MatchOp::Eq }, right)
}

/// `left == N[-M]` / `!=`.
pub fn cmp_range(left: Expr, invert: bool, lo: u128, hi: u128) -> LResult<Stmt> {
    let right = value_or_range(&left, lo, hi)?;
    Ok(cmp(left, invert, right))
}

/// An address constant typed like `shape`.
pub fn addr_value(shape: &Expr, a: &Addr) -> LResult<Expr> {
    let v = Value::from_bytes(shape.bits, shape.order, &a.octets())
        .map_err(|e| Unsupported::new(format!("address {a}: {e:?}")))?;
    Ok(shape.constant(v))
}

/// `left [!=] addr`, `left [!=] addr/len`, or `left & mask [!=] addr` for masks that are not
/// a prefix (the address is already masked).
pub fn addr_match(left: Expr, a: &Inv<AddrMask>) -> LResult<Stmt> {
    let full = left.bits;
    let value = addr_value(&left, &a.value.addr)?;
    let ExprKind::Value(v) = value.kind.clone() else { return Err(Unsupported::new("internal: address")) };
    match a.value.prefix_len() {
        Some(len) if u32::from(len) == full => Ok(cmp(left, a.invert, value)),
        Some(len) => {
            let p = left.prefix(v, u32::from(len));
            Ok(cmp(left, a.invert, p))
        }
        None => {
            let mask = addr_value(&left, &a.value.mask)?;
            Ok(cmp(left.binary(BinOp::And, mask), a.invert, value))
        }
    }
}

/// `left & mask [!=] value`, or `left [!=] value` when the mask is all ones.
pub fn masked_cmp(left: Expr, mask: u128, value: u128, invert: bool) -> LResult<Stmt> {
    let all = crate::types::value::max_for(left.bits);
    let right = num(&left, value)?;
    if mask & all == all {
        return Ok(cmp(left, invert, right));
    }
    let m = num(&left, mask)?;
    Ok(cmp(left.binary(BinOp::And, m), invert, right))
}

/// A bitmask test: `(left & bits) != 0` (`Flags`) or `== 0` (`NoFlags`).
pub fn flags(left: Expr, bits: u128, invert: bool) -> LResult<Stmt> {
    let right = num(&left, bits)?;
    Ok(Stmt::matches(left, if invert { MatchOp::NoFlags } else { MatchOp::Flags }, right))
}

/// A string constant (`iifname "eth0"`, `ct helper "ftp"`) padded to the field's width.
pub fn string(shape: &Expr, text: &str) -> LResult<Expr> {
    let v = Value::padded_string(text, (shape.bits / 8).max(1) as usize)
        .map_err(|e| Unsupported::new(format!("string \"{text}\": {e:?}")))?;
    Ok(shape.constant(v))
}

/// An anonymous set of these keys typed like `shape`.
pub fn set_of(shape: &Expr, keys: Vec<Expr>) -> Expr {
    shape.set_of(keys)
}

/// A test no packet passes (`meta l4proto != 0-255`), for iptables tests that cannot
/// succeed (a header length no header can have, `! --icmp-type any`).
pub fn never(family: Family) -> LResult<Stmt> {
    let left = sel("meta l4proto", family)?;
    let right = value_or_range(&left, 0, 255)?;
    Ok(cmp(left, true, right))
}
