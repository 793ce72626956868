//! How nft lists some stored matches in another form, shared by the text and JSON printers:
//! the kernel keeps a lowered shape, `nft list` shows what was written.

use crate::ir::{BinOp, Expr, ExprKind, Match, MatchOp};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::MetaKey;

/// A cross-day hour range (`meta hour "22:00"-"06:00"`) is stored as `!=` the complement;
/// the range as written (low and high swapped back), or None for other matches.
pub(crate) fn cross_day_hours(m: &Match) -> Option<Expr> {
    if let (ExprKind::Meta(MetaKey::TimeHour), ExprKind::Range { low, high }) = (&m.left.kind, &m.right.kind)
        && m.op == MatchOp::Ne
        && low.to_u128() <= high.to_u128()
    {
        return Some(Expr {
            kind: ExprKind::Range { low: high.clone(), high: low.clone() },
            ..m.right.clone()
        });
    }
    None
}

/// The plainer match `m` lists as: `addr & <prefix mask> == value` as the prefix match
/// `addr value/len`, `payload & <all ones>` as the payload itself. None when it lists as it is.
pub(crate) fn without_mask(m: &Match) -> Option<Match> {
    let ExprKind::Binary { op: BinOp::And, lhs, rhs } = &m.left.kind else { return None };
    if lhs.ty.takes_prefix()
        && matches!(m.op, MatchOp::Eq | MatchOp::Ne)
        && let (Some(mask), Some(v)) = (rhs.as_value(), m.right.as_value())
        && let Some(len) = mask.mask_prefix_len()
    {
        let prefix = Expr { kind: ExprKind::Prefix { value: v.clone(), len }, ..m.right.clone() };
        return Some(Match { left: (**lhs).clone(), op: m.op, right: prefix });
    }
    if matches!(lhs.kind, ExprKind::Payload(_) | ExprKind::Exthdr(_))
        && let Some(mask) = rhs.as_value().and_then(|v| v.to_u128())
        && lhs.bits <= 128
        && mask == crate::types::value::max_for(lhs.bits)
    {
        return Some(Match { left: (**lhs).clone(), op: m.op, right: m.right.clone() });
    }
    None
}

/// A raw payload that is not whole bytes lists as its covering bytes and a mask when nft
/// cannot trim the mask back to the field (it starts on a byte boundary, or lies beyond
/// offset 255): `@ll,0,1 1` is `@ll,0,8 & 0x80 == 0x80`, `@ih,1,2 2` stays. The match in
/// that form, or None for other matches.
pub(crate) fn raw_as_covering_bytes(m: &Match) -> Option<Match> {
    let ExprKind::Payload(pl) = &m.left.kind else { return None };
    if pl.proto.is_some()
        || !pl.is_bitfield()
        || !(pl.offset % 8 == 0 || pl.offset.div_ceil(8) * 8 > 255)
        || !matches!(m.op, MatchOp::Eq | MatchOp::Ne)
    {
        return None;
    }
    let v = m.right.as_value()?.to_u128()?;
    let (off, bytes) = pl.load_span();
    let width = bytes * 8;
    let shift = width - (pl.offset % 8) - pl.len;
    let mask = crate::types::value::max_for(pl.len) << shift;
    let hex = |n: u128| {
        Value::from_uint(width, ByteOrder::Network, n)
            .ok()
            .map(|x| Expr::new(ExprKind::Value(x), Type::XInteger, width, ByteOrder::Network))
    };
    let mut bytes_load = pl.clone();
    bytes_load.offset = off * 8;
    bytes_load.len = width;
    let load = Expr::new(ExprKind::Payload(bytes_load), Type::XInteger, width, ByteOrder::Network);
    let left = Expr::new(
        ExprKind::Binary { op: BinOp::And, lhs: Box::new(load), rhs: Box::new(hex(mask)?) },
        Type::XInteger,
        width,
        ByteOrder::Network,
    );
    Some(Match { left, op: m.op, right: hex(v << shift)? })
}
