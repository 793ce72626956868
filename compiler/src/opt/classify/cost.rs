//! The cost model that decides whether a run of rules is classified, in units of "one
//! bytecode expression evaluated".
//!
//! - Rule by rule: a rule that does not match usually fails at its first or second test, so
//!   it costs about [`FAIL`] expressions; the packet's first match is taken as uniformly
//!   placed in the run (or absent), so the walk costs about `n / 2` failing rules plus the
//!   matching rule's own tests.
//! - Classified: a fixed price for the call, one read per recipe, one step per tree level
//!   and a box test per leaf entry looked at (about half a leaf on average).
//!
//! A tree that ran out of its item budget still answers correctly but may test long
//! leaves; its measured average leaf size is what it is charged.

use nftvm_vm::classify::TreeStats;

/// Expressions a rule that does not match costs the walk, on average.
pub const FAIL: f64 = 2.5;
/// The classify call itself (dispatch, result handling).
pub const CALL: f64 = 4.0;
/// Reading one recipe's value.
pub const READ: f64 = 0.5;
/// One tree level.
pub const STEP: f64 = 0.35;
/// Testing one leaf box.
pub const TEST: f64 = 0.6;

/// Expected cost of the rule-by-rule walk over rules with these numbers of test expressions.
pub fn linear(prefixes: &[usize]) -> f64 {
    let n = prefixes.len() as f64;
    if prefixes.is_empty() {
        return 0.0;
    }
    let matching = prefixes.iter().sum::<usize>() as f64 / n;
    n / 2.0 * FAIL + matching
}

/// Expected cost of one classification with this tree.
pub fn classified(stats: &TreeStats, recipes: usize) -> f64 {
    let leaves = stats.leaves.max(1) as f64;
    let depth = stats.depth_sum as f64 / leaves;
    let leaf = stats.items as f64 / leaves;
    let parts = stats.parts.max(1) as f64;
    CALL + READ * recipes as f64 + parts * (STEP * depth + TEST * (leaf / 2.0).max(1.0))
}
