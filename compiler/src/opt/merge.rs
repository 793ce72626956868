//! Merging of adjacent rules (IR → IR, `-O1`), what `nft -o` does: rules that test the same
//! values and differ only in the constants of one to four of those tests become one rule —
//!
//! - same verdict, one test differs: `ip saddr 10.0.0.1 accept` + `ip saddr 10.0.0.2
//!   accept` → `ip saddr { 10.0.0.1, 10.0.0.2 } accept`;
//! - same verdict, several tests differ: a concatenation,
//!   `ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2 . 80 } accept`;
//! - verdicts differ: a verdict map, `ip saddr vmap { 10.0.0.1 : accept, 10.0.0.2 : drop }`
//!   (or a concatenation's) — only when no two of the rules can match the same packet, so
//!   the map gives each packet the verdict of the one rule that matched it.
//!
//! Only rules made of `==` tests of constants and a verdict are merged: a rule with a
//! counter, log, limit, mark or any other statement keeps it to itself (merging would share
//! it). First-match order is kept: a group is a run of adjacent rules, and within it either
//! the verdict is the same whichever rule matched, or at most one can match. Sets whose
//! intervals would overlap are not built (the group ends before the rule that would).

use super::classify::ChainKey;
use super::explain::{Explain, NoteKind};
use super::same::{expr_eq, stable_load, unspanned};
use crate::ir::build::concat;
use crate::ir::set::key_bounds;
use crate::ir::{Expr, ExprKind, Match, MatchOp, Rule, Ruleset, SetElem, Stmt, StmtKind, Verdict};
use crate::types::{ByteOrder, Type};
use std::collections::{HashMap, HashSet};

/// Most tests that may differ within a group (a concatenation of that many fields).
pub const MAX_FIELDS: usize = 4;
/// Most rules checked pairwise for overlaps (verdict maps, concatenated intervals).
pub const MAX_PAIRWISE: usize = 512;

/// Merges every chain's groups of adjacent rules, except the rules in `leave` (per chain,
/// positions, as [`super::classify::classifiable`] gives them).
pub fn run(rs: &mut Ruleset, explain: &mut Explain, leave: &HashMap<ChainKey, HashSet<usize>>) {
    for table in &mut rs.tables {
        for chain in &mut table.chains {
            let rules = std::mem::take(&mut chain.rules);
            let mine = leave.get(&(table.family, table.name.clone(), chain.name.clone()));
            let left = |k: usize| mine.is_some_and(|m| m.contains(&k));
            let mut i = 0;
            while i < rules.len() {
                let end = group_end(&rules, i, &left);
                if end - i >= 2
                    && let Some(merged) = merge(&rules[i..end])
                {
                    for r in &rules[i + 1..end] {
                        explain.push(
                            NoteKind::Merged,
                            r.span,
                            Some(rules[i].span),
                            format!("merged into the rule before it ({})", merged.1),
                        );
                    }
                    chain.rules.push(merged.0);
                    i = end;
                    continue;
                }
                chain.rules.push(rules[i].clone());
                i += 1;
            }
        }
    }
}

/// Does any chain hold two adjacent rules that could merge? (Cheap: spares `-O2` the
/// classifier's look at a ruleset with nothing to merge.)
pub fn has_candidates(rs: &Ruleset) -> bool {
    rs.tables
        .iter()
        .flat_map(|t| &t.chains)
        .any(|c| c.rules.windows(2).any(|w| differing(&w[0], &w[1]).is_some_and(|d| !d.is_empty())))
}

/// A rule's shape: its `==` tests (left sides) and its verdict, if it is mergeable.
fn shape(r: &Rule) -> Option<(Vec<&Match>, &Verdict)> {
    let (last, tests) = r.stmts.split_last()?;
    let StmtKind::Verdict(v) = &last.kind else { return None };
    let mut out = Vec::with_capacity(tests.len());
    for s in tests {
        let m = s.as_match()?;
        let constant = match &m.right.kind {
            ExprKind::Value(_) | ExprKind::Prefix { .. } | ExprKind::Range { .. } => true,
            ExprKind::Set(s) => s.elems.iter().all(|e| {
                e.data.is_none()
                    && e.stmts.is_empty()
                    && e.timeout.is_none()
                    && e.expires.is_none()
                    && matches!(
                        e.key.kind,
                        ExprKind::Value(_) | ExprKind::Prefix { .. } | ExprKind::Range { .. }
                    )
            }),
            _ => false,
        };
        if m.op != MatchOp::Eq || !stable_load(&m.left) || !constant {
            return None;
        }
        out.push(m);
    }
    Some((out, v))
}

/// Positions where rule `b`'s test constants differ from `a`'s, if the rules have the same
/// tests (same statements apart from constants, in the same order).
fn differing(a: &Rule, b: &Rule) -> Option<Vec<usize>> {
    let (ta, _) = shape(a)?;
    let (tb, _) = shape(b)?;
    if ta.len() != tb.len() {
        return None;
    }
    let mut d = Vec::new();
    for (k, (x, y)) in ta.iter().zip(&tb).enumerate() {
        if !expr_eq(&x.left, &y.left) {
            return None;
        }
        if !expr_eq(&x.right, &y.right) {
            d.push(k);
        }
    }
    // Implicit flags must agree too (they decide what a listing shows).
    let same_flags = a.stmts.iter().zip(&b.stmts).all(|(s, t)| s.implicit == t.implicit);
    same_flags.then_some(d)
}

/// The end of the group starting at `i`: adjacent rules of the same shape whose merge is
/// valid (checked by [`merge`] as it grows), none of them `left` alone.
fn group_end(rules: &[Rule], i: usize, left: &impl Fn(usize) -> bool) -> usize {
    let Some(first) = rules.get(i) else { return i };
    if left(i) || shape(first).is_none() {
        return i + 1;
    }
    let mut end = i + 1;
    let mut cols: Vec<usize> = Vec::new();
    while let Some(next) = rules.get(end).filter(|_| !left(end)) {
        let Some(d) = differing(first, next) else { break };
        if d.is_empty() || end - i >= MAX_PAIRWISE {
            break; // a duplicate is left to the dead-rule pass
        }
        let mut c = cols.clone();
        c.extend(d.into_iter().filter(|k| !cols.contains(k)));
        if c.len() > MAX_FIELDS {
            break;
        }
        cols = c;
        end += 1;
    }
    // Shrink until the group merges (overlaps, mixed verdicts).
    while end - i >= 2 && merge(&rules[i..end]).is_none() {
        end = i + (end - i) / 2;
    }
    end
}

/// The elements a test's constant stands for.
fn keys_of(right: &Expr) -> Vec<Expr> {
    match &right.kind {
        ExprKind::Set(s) => s.elems.iter().map(|e| e.key.clone()).collect(),
        _ => vec![right.clone()],
    }
}

/// Merges a group into one rule, or `None` when it cannot be (too many differing tests,
/// overlapping intervals, or rules with different verdicts that could match one packet).
fn merge(group: &[Rule]) -> Option<(Rule, String)> {
    let first = group.first()?;
    let mut cols: Vec<usize> = Vec::new();
    for r in &group[1..] {
        for k in differing(first, r)? {
            if !cols.contains(&k) {
                cols.push(k);
            }
        }
    }
    cols.sort_unstable();
    if cols.is_empty() || cols.len() > MAX_FIELDS {
        return None;
    }
    let (tests, verdict) = shape(first)?;
    let same_verdict = group.iter().all(|r| shape(r).is_some_and(|(_, v)| v == verdict));
    // Per rule: its elements (one per constant of a differing test; products for sets).
    let mut per_rule: Vec<Vec<Vec<Expr>>> = Vec::new();
    for r in group {
        let (t, _) = shape(r)?;
        let mut tuples: Vec<Vec<Expr>> = vec![Vec::new()];
        for &c in &cols {
            let keys = keys_of(&t.get(c)?.right);
            let mut next = Vec::new();
            for tu in &tuples {
                for k in &keys {
                    let mut x = tu.clone();
                    x.push(unspanned(k));
                    next.push(x);
                }
            }
            tuples = next;
        }
        per_rule.push(tuples);
    }
    // Overlaps: within a set (always checked), across rules (verdict maps).
    let all: Vec<(usize, &Vec<Expr>)> =
        per_rule.iter().enumerate().flat_map(|(i, ts)| ts.iter().map(move |t| (i, t))).collect();
    if all.len() > MAX_PAIRWISE {
        return None;
    }
    for (a, (ra, ta)) in all.iter().enumerate() {
        for (rb, tb) in all.iter().skip(a + 1) {
            if !overlap(ta, tb)? {
                continue;
            }
            let identical = ta.iter().zip(*tb).all(|(x, y)| expr_eq(x, y));
            // Same verdict: identical elements are harmless duplicates, others would make
            // an interval set overlap. Different verdicts: any overlap changes the order.
            let _ = (ra, rb);
            if !same_verdict || !identical {
                return None;
            }
        }
    }
    let mut elems: Vec<Vec<Expr>> = Vec::new();
    for (_, t) in &all {
        if !elems.iter().any(|e| e.iter().zip(*t).all(|(x, y)| expr_eq(x, y))) {
            elems.push((*t).clone());
        }
    }
    let lefts: Vec<Expr> = cols.iter().filter_map(|&c| tests.get(c).map(|m| m.left.clone())).collect();
    let key_expr = if lefts.len() == 1 { lefts[0].clone() } else { concat(lefts.clone()) };
    let key_of = |t: &Vec<Expr>| if t.len() == 1 { t[0].clone() } else { concat(t.clone()) };
    let last_col = *cols.last()?;
    let mut stmts: Vec<Stmt> = Vec::new();
    let verdict_stmt = first.stmts.last()?.clone();
    let how;
    let merged_stmt = if same_verdict {
        let set = key_expr.set_of(elems.iter().map(key_of).collect());
        how = if cols.len() == 1 { "an anonymous set" } else { "a concatenation" };
        Stmt::new(StmtKind::Match(Match { left: key_expr, op: MatchOp::Eq, right: set }))
    } else {
        let mut set_elems = Vec::new();
        for (ri, t) in &all {
            let (_, v) = shape(group.get(*ri)?)?;
            set_elems.push(SetElem::mapping(key_of(t), Expr::verdict(v.clone())));
        }
        let interval =
            set_elems.iter().any(|e| matches!(e.key.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }))
                || set_elems.iter().any(|e| match &e.key.kind {
                    ExprKind::Concat(p) => {
                        p.iter().any(|x| matches!(x.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }))
                    }
                    _ => false,
                });
        let mut set = key_expr.set_of(Vec::new());
        if let ExprKind::Set(s) = &mut set.kind {
            s.elems = set_elems;
            s.interval = interval;
        }
        how = "a verdict map";
        Stmt::new(StmtKind::VerdictMap(key_expr.map(set, Type::Verdict, 32, ByteOrder::Host)))
    };
    // A set test takes the place of the last test it replaces; a verdict map takes the
    // verdict's, at the end: a verdict set mid-rule ends the rule there (the kernel stops at
    // the first expression that leaves a verdict), so tests after it would never run.
    let mut merged_stmt = Some(merged_stmt.at(first.span));
    for (k, s) in first.stmts.iter().enumerate().take(first.stmts.len() - 1) {
        if !cols.contains(&k) {
            stmts.push(s.clone());
        }
        if k == last_col
            && same_verdict
            && let Some(m) = merged_stmt.take()
        {
            stmts.push(m);
        }
    }
    match same_verdict {
        true => stmts.push(verdict_stmt),
        false => stmts.extend(merged_stmt),
    }
    let mut rule = first.clone();
    rule.stmts = stmts;
    Some((rule, format!("{how} of {} elements", all.len())))
}

/// Can two element tuples match the same packet (every field's constants intersect)?
/// `None` when a constant's bounds are unknown (strings with wildcards, …).
fn overlap(a: &[Expr], b: &[Expr]) -> Option<bool> {
    for (x, y) in a.iter().zip(b) {
        if expr_eq(x, y) {
            continue;
        }
        let ((x0, x1), (y0, y1)) = (key_bounds(x)?, key_bounds(y)?);
        if x1 < y0 || y1 < x0 {
            return Some(false);
        }
    }
    Some(true)
}
