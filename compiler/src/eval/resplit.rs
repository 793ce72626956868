//! Where one statement ends and the next begins, decided again with selector knowledge.
//!
//! The grammar reads a rule as runs of items joined by operators and cuts a run before an
//! operator by position only (a value is one item; see the grammar's `chain_relation`). Two
//! shapes need the selector tables to cut right, as nft's own parser does:
//!
//! - a `set` value that is a selector of several words, followed by another operator:
//!   `ct mark set meta mark ip dscp set af21` reaches us as `ct mark set meta` and
//!   `mark ip dscp set af21` ([`rejoin_selector_values`]);
//! - a concatenation match followed by a statement with an operator:
//!   `ip daddr . udp dport { … } ct mark set 1` reaches us as one left-hand side
//!   `ip daddr . udp dport { … } ct mark` ([`split_concat_match`]);
//! - a concatenation match after the value of a statement with an operator:
//!   `ct state != invalid ip daddr . tcp dport { … }` reaches us with the right-hand side
//!   `invalid ip daddr . tcp dport { … }` ([`split_concat_value`]).

use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{Expr, ExprKind, Item, Relation, Stmt, StmtKind};

use super::runs::{segment, selector_at};

fn run(items: Vec<Item>) -> Expr {
    let span = match (items.first(), items.last()) {
        (Some(a), Some(b)) => a.span.to(b.span),
        _ => Span::default(),
    };
    Expr { kind: ExprKind::Run(items), span }
}

/// The items a statement's left side starts with (its run, or the run at the far left of
/// a binary expression), for statements with an explicit operator or `set`.
fn leading_run_mut(s: &mut Stmt) -> Option<&mut Vec<Item>> {
    fn leftmost(e: &mut Expr) -> Option<&mut Vec<Item>> {
        match &mut e.kind {
            ExprKind::Run(items) => Some(items),
            ExprKind::Binary { lhs, .. } => leftmost(lhs),
            _ => None,
        }
    }
    match &mut s.kind {
        StmtKind::Set { target, .. } => leftmost(target),
        StmtKind::Match(Relation { lhs, op: Some(_), .. }) => leftmost(lhs),
        _ => None,
    }
}

/// Gives a one-item `set` value back the words of its selector from the start of the next
/// statement (see the module docs).
pub(super) fn rejoin_selector_values(stmts: &[Stmt]) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = stmts.to_vec();
    for i in 1..out.len() {
        let (done, rest) = out.split_at_mut(i);
        let (Some(prev), Some(next)) = (done.last_mut(), rest.first_mut()) else { continue };
        let StmtKind::Set { value, .. } = &mut prev.kind else { continue };
        let ExprKind::Run(value_items) = &mut value.kind else { continue };
        if value_items.len() != 1 {
            continue;
        }
        let Some(next_items) = leading_run_mut(next) else { continue };
        let mut joined = value_items.clone();
        joined.extend(next_items.iter().cloned());
        let Ok(sel) = selector_at(&joined) else { continue };
        let take = sel.items.len().saturating_sub(1);
        // Leave the next statement a left side of its own.
        if take == 0 || take >= next_items.len() {
            continue;
        }
        let moved: Vec<Item> = next_items.drain(..take).collect();
        value_items.extend(moved);
        let span = value_items[0].span.to(value_items[value_items.len() - 1].span);
        value.span = span;
        prev.span = prev.span.to(span);
    }
    out
}

/// `a . b <value> <rest…>` (or `a . b <value> <rest…> & mask`) as a left-hand side: the
/// concatenation match `a . b <value>` and the real left side `<rest…>`; `None` when the
/// expression is not of that form.
pub(super) fn split_concat_match(e: &Expr) -> Option<(Expr, Expr)> {
    let ExprKind::Concat(parts) = &e.kind else { return None };
    let (last, first_parts) = parts.split_last()?;
    // Values start in an earlier part (`ip daddr . tcp dport 10.0.0.1 . 22 …`): the last
    // part is one value and the rest; otherwise in the last part, after its selector.
    let earlier_values = first_parts.iter().enumerate().any(|(i, p)| {
        i > 0 && p.as_run().and_then(|items| segment(items, false).ok()).is_some_and(|s| !s.pairs.is_empty())
    });
    let (value_part, rest) = split_last_part(last, earlier_values)?;
    let mut match_parts = first_parts.to_vec();
    match_parts.push(value_part);
    let span = match_parts[0].span.to(match_parts[match_parts.len() - 1].span);
    Some((Expr { kind: ExprKind::Concat(match_parts), span }, rest))
}

/// The last part of a concatenation match cut after its value: `(part, rest)`; a binary
/// operation on the part keeps its operator with the rest.
fn split_last_part(last: &Expr, lead_value: bool) -> Option<(Expr, Expr)> {
    match &last.kind {
        ExprKind::Run(items) => {
            let value_at = if lead_value {
                0
            } else {
                let seg = segment(items, false).ok()?;
                let (_, value) = seg.pairs.first()?;
                items.iter().position(|x| std::ptr::eq(x, *value))?
            };
            let rest = items.get(value_at + 1..).filter(|r| !r.is_empty())?;
            selector_at(rest).ok()?;
            Some((run(items[..=value_at].to_vec()), run(rest.to_vec())))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (part, rest) = split_last_part(lhs, lead_value)?;
            let span = rest.span.to(rhs.span);
            Some((
                part,
                Expr { kind: ExprKind::Binary { op: *op, lhs: Box::new(rest), rhs: rhs.clone() }, span },
            ))
        }
        _ => None,
    }
}

/// A right-hand side (or `set` value) `v a . b { … }` whose first part holds the value and
/// the start of a concatenation match: `(v, a . b { … })`. `value_len` says how many items
/// of the first part the value takes (one, or a selector's words for `set` values).
pub(super) fn split_concat_value(e: &Expr, value_len: impl Fn(&[Item]) -> usize) -> Option<(Expr, Expr)> {
    let ExprKind::Concat(parts) = &e.kind else { return None };
    let (first, others) = parts.split_first()?;
    let items = first.as_run()?;
    let n = value_len(items).max(1);
    let rest = items.get(n..).filter(|r| !r.is_empty())?;
    selector_at(rest).ok()?;
    let mut match_parts = vec![run(rest.to_vec())];
    match_parts.extend(others.iter().cloned());
    let span = match_parts[0].span.to(match_parts[match_parts.len() - 1].span);
    Some((run(items[..n].to_vec()), Expr { kind: ExprKind::Concat(match_parts), span }))
}
