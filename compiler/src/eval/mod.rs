//! The evaluator: runs the commands of an nft file, in order, against a ruleset — the way
//! `nft -f` builds one transaction — turning syntax trees into checked [`crate::ir`].
//!
//! ```text
//! ast::File ──► commands.rs ─┬─ tables, chains (base_chain.rs), flowtables
//!                            ├─ sets, maps, elements (set.rs), objects (object.rs)
//!                            └─ rules (rule.rs ─► runs.rs + value.rs + stmt.rs)
//!                                         │
//!                                         └─► crate::check (dependencies, per-rule and
//!                                             ruleset-wide checks, shared with iptables)
//! ```
//!
//! - **Resolve** (this module): split each statement's atom runs into selectors and values
//!   with the protocol tables ([`crate::proto::selector::resolve`]), parse values with the
//!   datatypes, fold constants, normalize (`mark` → `meta mark`, flag lists, `!=`, prefixes),
//!   build IR. Errors carry nft's wording and the span of the offending words.
//! - **Check** ([`crate::check`]): runs on IR from any source — inserts protocol
//!   dependencies, marks redundant ones, fixes stacked link-layer offsets, validates types,
//!   per-chain-type statements, references and jump loops.
//!
//! Every error of a file is reported (evaluation continues with the next statement, rule
//! and command); nothing panics on any input. Like nft, a file with errors changes nothing:
//! [`apply`] only commits the new ruleset when the whole file evaluated cleanly.

mod base_chain;
mod commands;
pub mod ct_helpers;
mod object;
mod resplit;
mod rule;
mod runs;
mod set;
mod stmt;
#[cfg(test)]
mod tests;
mod value;

use crate::ir::Ruleset;
use nftvm_grammar::nft::ast;
use nftvm_grammar::{Diagnostic, Span};

/// Apply the commands of `file` to `ruleset` as one transaction. Returns every diagnostic
/// (errors and warnings); the ruleset is changed only if there is no error.
pub fn apply(ruleset: &mut Ruleset, file: &ast::File) -> Vec<Diagnostic> {
    let mut ev = Evaluator::new(ruleset.clone());
    for cmd in &file.commands {
        ev.command(cmd);
    }
    let mut diags = std::mem::take(&mut ev.diags);
    diags.extend(crate::check::ruleset(&mut ev.ruleset));
    if !diags.iter().any(Diagnostic::is_error) {
        *ruleset = ev.ruleset;
    }
    diags.sort_by_key(|d| (d.span.file, d.span.start));
    diags
}

/// Evaluate a file into a fresh ruleset (what `nftvm check`/`list` do).
pub fn load(file: &ast::File) -> Result<Ruleset, Vec<Diagnostic>> {
    let mut rs = Ruleset::new();
    let diags = apply(&mut rs, file);
    if diags.iter().any(Diagnostic::is_error) { Err(diags) } else { Ok(rs) }
}

/// The evaluator's state: the ruleset being built and the diagnostics so far.
pub(crate) struct Evaluator {
    pub ruleset: Ruleset,
    pub diags: Vec<Diagnostic>,
    /// Handle generator for tables (kernel: per network namespace).
    next_table_handle: u64,
    /// Counter for anonymous chain names (`__chain0`, …).
    next_binding: u32,
    /// Per-table handle generators (see [`Evaluator::next_handle`]).
    handles: std::collections::HashMap<(crate::ir::Family, String), u64>,
}

impl Evaluator {
    fn new(ruleset: Ruleset) -> Evaluator {
        let next_table_handle = ruleset.tables.iter().map(|t| t.handle).max().unwrap_or(0) + 1;
        let next_binding =
            ruleset.tables.iter().flat_map(|t| t.chains.iter()).filter(|c| c.binding).count() as u32;
        Evaluator { ruleset, diags: Vec::new(), next_table_handle, next_binding, handles: Default::default() }
    }

    /// Report an error.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, message));
    }

    /// The next object handle of a table (chains, rules, sets, objects and flowtables share
    /// one generator per table, as in the kernel; it never goes back after deletions).
    pub fn next_handle(&mut self, family: crate::ir::Family, table: &str) -> u64 {
        let key = (family, table.to_string());
        let current = match self.handles.get(&key) {
            Some(&h) => h,
            None => self.ruleset.table(family, table).map(max_handle).unwrap_or(0),
        };
        self.handles.insert(key, current + 1);
        current + 1
    }
}

/// The largest handle used inside a table.
fn max_handle(table: &crate::ir::Table) -> u64 {
    let mut max = 0;
    for c in &table.chains {
        max = max.max(c.handle);
        for r in &c.rules {
            max = max.max(r.handle);
        }
    }
    for s in &table.sets {
        max = max.max(s.handle);
    }
    for o in &table.objects {
        max = max.max(o.handle);
    }
    for f in &table.flowtables {
        max = max.max(f.handle);
    }
    max
}

/// `strerror(ENOENT)`, as nft reports unknown objects.
pub const ENOENT: &str = "No such file or directory";
/// `strerror(EEXIST)`.
pub const EEXIST: &str = "File exists";
/// `strerror(EBUSY)`.
pub const EBUSY: &str = "Device or resource busy";
/// `strerror(EOPNOTSUPP)`.
pub const EOPNOTSUPP: &str = "Operation not supported";
/// `strerror(EINVAL)`.
pub const EINVAL: &str = "Invalid argument";

/// The closest name in `candidates` to `name` (nft's misspell helper: edit distance at most
/// a third of the length, at least 1).
pub(crate) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let max = (name.len() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        if d <= max && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}
