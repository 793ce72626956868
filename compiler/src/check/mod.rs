//! Checking and normalizing IR — from any producer (the nft evaluator, the iptables front
//! end, the optimizer, tests).
//!
//! - [`rule`]: per rule, in its table and chain ([`RuleEnv`]): inserts the protocol
//!   dependencies nft inserts ([`deps`]), fixes link-layer offsets of stacked headers,
//!   marks the matches `nft list` leaves out ([`hide`]), and checks statements against the
//!   chain type and hook ([`chain_rules`]). Idempotent: running it twice changes nothing.
//! - [`ruleset`]: across the ruleset: jump/goto targets exist, no jump loops, named sets
//!   and objects referenced exist ([`refs`]).
//! - [`all`]: both, for IR built programmatically (`check::all(&mut ruleset)`).
//!
//! Diagnostics use nft's wording and the statement's span.

pub mod chain_rules;
pub mod deps;
pub mod hide;
pub mod merge;
pub mod refs;

use crate::ir::{BaseChain, ChainType, Expr, Family, Hook, Rule, Ruleset, Stmt, StmtKind, Table};
use nftvm_grammar::Diagnostic;

/// Where a rule lives: its table (for named sets and objects) and its chain's hook.
#[derive(Clone, Copy)]
pub struct RuleEnv<'a> {
    pub family: Family,
    pub table: Option<&'a Table>,
    /// Chain type and hook of the base chain the rule is in (None for regular chains).
    pub base: Option<(ChainType, Hook)>,
}

impl<'a> RuleEnv<'a> {
    /// The environment of a rule in `table`, in a chain registered as `base`.
    pub fn of(table: &'a Table, base: Option<&BaseChain>) -> RuleEnv<'a> {
        RuleEnv { family: table.family, table: Some(table), base: base.map(|b| (b.chain_type, b.hook)) }
    }
}

/// Normalize and check one rule (see the module docs).
pub fn rule(env: &RuleEnv<'_>, rule: &mut Rule) -> Vec<Diagnostic> {
    let mut diags = deps::insert(env.family, rule);
    if diags.iter().any(Diagnostic::is_error) {
        return diags;
    }
    merge::reorder(env.family, rule);
    hide::mark(env.family, rule);
    diags.extend(chain_rules::check(env, rule));
    diags
}

/// Ruleset-wide checks (references, loops).
pub fn ruleset(rs: &mut Ruleset) -> Vec<Diagnostic> {
    let diags = refs::check(rs);
    default_dynset_sizes(rs);
    diags
}

/// The size the kernel gives a set that a dynset writes when it declares none
/// (`nft_dynset_init`); its listing then shows it.
pub const DYNSET_DEFAULT_SIZE: u32 = 65535;

/// Sets written from the packet path (`add|update|delete @set`) without a `size` get
/// [`DYNSET_DEFAULT_SIZE`], as the kernel's do when the rule is added.
fn default_dynset_sizes(rs: &mut Ruleset) {
    for t in &mut rs.tables {
        let written: std::collections::HashSet<&str> = t
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.stmts)
            .filter_map(|s| match &s.kind {
                StmtKind::DynSet(d) => Some(d.set.as_str()),
                _ => None,
            })
            .collect();
        for set in t.sets.iter_mut().filter(|s| s.size.is_none() && written.contains(s.name.as_str())) {
            set.size = Some(DYNSET_DEFAULT_SIZE);
        }
    }
}

/// [`rule`] on every rule, then [`ruleset`]: what a programmatic producer runs.
pub fn all(rs: &mut Ruleset) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for ti in 0..rs.tables.len() {
        for ci in 0..rs.tables[ti].chains.len() {
            for ri in 0..rs.tables[ti].chains[ci].rules.len() {
                let table = &rs.tables[ti];
                let chain = &table.chains[ci];
                let env = RuleEnv::of(table, chain.base.as_ref());
                let mut r = chain.rules[ri].clone();
                diags.extend(rule(&env, &mut r));
                rs.tables[ti].chains[ci].rules[ri] = r;
            }
        }
    }
    diags.extend(ruleset(rs));
    diags
}

/// Visit every expression of a statement (pre-order, all sub-expressions).
pub fn visit_exprs<'a>(stmt: &'a Stmt, f: &mut dyn FnMut(&'a Expr)) {
    match &stmt.kind {
        StmtKind::Match(m) => {
            m.left.walk(f);
            m.right.walk(f);
        }
        StmtKind::VerdictMap(e) | StmtKind::OptStrip(e) => e.walk(f),
        StmtKind::Write(w) => {
            w.target.walk(f);
            w.value.walk(f);
        }
        StmtKind::Nat(n) => {
            if let Some(a) = &n.addr {
                a.walk(f);
            }
            if let Some(p) = &n.port {
                p.walk(f);
            }
        }
        StmtKind::Queue(q) => {
            if let Some(n) = &q.num {
                n.walk(f);
            }
        }
        StmtKind::DynSet(d) => {
            d.key.walk(f);
            if let Some(x) = &d.data {
                x.walk(f);
            }
        }
        StmtKind::Meter(m) => m.key.walk(f),
        StmtKind::ObjRef(o) => o.name.walk(f),
        StmtKind::Dup { addr, dev } => {
            if let Some(a) = addr {
                a.walk(f);
            }
            if let Some(d) = dev {
                d.walk(f);
            }
        }
        StmtKind::Fwd { addr, dev, .. } => {
            if let Some(a) = addr {
                a.walk(f);
            }
            dev.walk(f);
        }
        StmtKind::Tproxy(t) => {
            if let Some(a) = &t.addr {
                a.walk(f);
            }
            if let Some(p) = &t.port {
                p.walk(f);
            }
        }
        _ => {}
    }
}
