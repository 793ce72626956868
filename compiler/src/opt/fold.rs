//! Constant folding of a rule's tests (IR → IR, `-O1`):
//!
//! - a test repeated in the same rule is kept once (`ip saddr 10.0.0.1 ip saddr 10.0.0.1`);
//! - of two `==` tests of the same value where one's constants include the other's, the
//!   wider one is dropped (`ip saddr 10.0.0.0/8 ip saddr 10.1.0.0/16` keeps the `/16`);
//! - a rule testing one value against constants that have nothing in common
//!   (`tcp dport 22 tcp dport 80`, or `x == v` and `x != v`) can never match: it is noted,
//!   and left to [`super::dead`], which drops it on its bytecode unless a statement of it
//!   makes the kernel track connections (its presence alone turns conntrack on).
//!
//! Only the rule's leading run of tests is folded, and only tests of values that read the
//! same twice (not `numgen`, `meta random`): such tests are side-effect free, nothing runs
//! between them, and a failed one ends the rule, so dropping a test implied by another (or a
//! rule no packet matches) changes nothing a packet can observe. A statement between two
//! tests (`ip saddr 10.0.0.0/8 counter ip saddr 10.1.0.0/16`) stops the folding there: the
//! counter sees the packets of the first test only.

use super::explain::{Explain, NoteKind};
use super::same::{expr_eq, stable_load, stmt_eq};
use crate::ir::set::key_bounds;
use crate::ir::{Match, MatchOp, Rule, Ruleset};

/// Folds every rule (and notes the rules that can never match).
pub fn run(rs: &mut Ruleset, explain: &mut Explain) {
    for table in &mut rs.tables {
        for chain in &mut table.chains {
            let rules = std::mem::take(&mut chain.rules);
            for mut rule in rules {
                if let Some(why) = fold_rule(&mut rule, explain) {
                    let note = format!("can never match ({why}); left to the dead-rule pass");
                    explain.push(NoteKind::Folded, rule.span, None, note);
                }
                chain.rules.push(rule);
            }
        }
    }
}

/// The constant interval a match accepts (`==` of a value, prefix or range).
fn bounds(m: &Match) -> Option<(u128, u128)> {
    if m.op != MatchOp::Eq {
        return None;
    }
    key_bounds(&m.right)
}

/// Folds one rule's tests; `Some(reason)` when the rule can never match.
fn fold_rule(rule: &mut Rule, explain: &mut Explain) -> Option<String> {
    let mut i = 0;
    // The leading run of tests (shrinks as tests are dropped).
    let mut tests = rule.stmts.iter().take_while(|s| s.as_match().is_some()).count();
    while i < tests {
        let Some(mi) = rule.stmts[i].as_match().cloned() else { break };
        if !stable_load(&mi.left) {
            i += 1;
            continue;
        }
        let mut drop_i = false;
        let mut j = i + 1;
        while j < tests {
            let Some(mj) = rule.stmts[j].as_match() else { break };
            if !expr_eq(&mi.left, &mj.left) {
                j += 1;
                continue;
            }
            if stmt_eq(&rule.stmts[i], &rule.stmts[j]) {
                let keep_visible = !rule.stmts[j].implicit;
                rule.stmts.remove(j);
                tests -= 1;
                if keep_visible {
                    rule.stmts[i].implicit = false;
                }
                explain.push(
                    NoteKind::Folded,
                    rule.span,
                    None,
                    format!("repeated test `{}` kept once", describe(&mi)),
                );
                continue;
            }
            let opposite = matches!((mi.op, mj.op), (MatchOp::Eq, MatchOp::Ne) | (MatchOp::Ne, MatchOp::Eq))
                && expr_eq(&mi.right, &mj.right)
                && mi.right.as_value().is_some();
            if opposite {
                return Some(format!("`{}` tested both equal and different", describe(&mi)));
            }
            if let (Some((a0, a1)), Some((b0, b1))) = (bounds(&mi), bounds(mj)) {
                if a1 < b0 || b1 < a0 {
                    return Some(format!("`{}` cannot take two disjoint values", describe(&mi)));
                }
                if a0 <= b0 && b1 <= a1 {
                    // The earlier test is implied by the later one.
                    drop_i = true;
                    explain.push(
                        NoteKind::Folded,
                        rule.span,
                        None,
                        format!("test `{}` implied by a narrower one", describe(&mi)),
                    );
                    break;
                }
                if b0 <= a0 && a1 <= b1 {
                    rule.stmts.remove(j);
                    tests -= 1;
                    explain.push(
                        NoteKind::Folded,
                        rule.span,
                        None,
                        format!("test `{}` implied by a narrower one", describe(&mi)),
                    );
                    continue;
                }
            }
            j += 1;
        }
        if drop_i {
            rule.stmts.remove(i);
            tests -= 1;
        } else {
            i += 1;
        }
    }
    None
}

/// The tested value, as a short name for explanations.
fn describe(m: &Match) -> String {
    match &m.left.kind {
        crate::ir::ExprKind::Payload(p) => p.name(),
        crate::ir::ExprKind::Meta(k) => format!("meta {k}"),
        crate::ir::ExprKind::Ct(c) => format!("ct {}", c.key),
        _ => "a value".into(),
    }
}
