//! How nft lists some stored matches in another form, shared by the text and JSON printers:
//! the kernel keeps a lowered shape, `nft list` shows what was written.

use crate::ir::{BinOp, Expr, ExprKind, Match, MatchOp};
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
