//! Typed iptables ruleset → the IR the nft front end produces, so iptables rulesets run on
//! the same engines and can be compared with nft rulesets (`diff`).
//!
//! Independent of the text translation ([`crate::iptables::xlate`]): this follows what the
//! rules *mean* (the kernel's `xt_*` matches and targets), not what `iptables-translate`
//! prints, so comparing `lower(FILE)` with `eval(translate(FILE))` finds translation bugs.
//!
//! - Tables and base chains as iptables-nft registers them ([`chains`]): family `ip` or
//!   `ip6`, one table per iptables table, each built-in chain a base chain at its hook with
//!   iptables-nft's type and priority (`filter` 0, `mangle` −150 (`OUTPUT` type route), `raw`
//!   −300, `security` 50, `nat` −100 at prerouting/output and 100 at input/postrouting) and
//!   the policy; user chains as regular chains; tables and chains in creation order.
//! - Each rule in iptables-nft's order ([`rule`]): source and destination address, input and
//!   output interface, protocol (`ip protocol` for IPv4, `meta l4proto` for IPv6), fragment
//!   flag, the matches ([`matches`], one file per group), `counter`, the action
//!   ([`targets`]).
//! - Then [`crate::check::all`] runs on the result, inserting protocol dependencies exactly
//!   as for nft input.
//!
//! A construct the IR cannot express yet (`-m string`, `-j SET`, …) is an error diagnostic
//! naming it, at its place in the rule; the rule is left out and the caller fails the load.
//!
//! Entry points: [`lower_ruleset`], [`Lowerer::rule`].
//!
//! [`matches`]: mod@matches

mod bpf;
mod chains;
mod conn;
pub(crate) mod expr;
mod header;
mod ipsec;
mod ipset;
mod ipv6ext;
mod ipv6header;
mod ipvs;
mod limit;
mod matches;
mod misc;
mod physdev;
mod portproto;
mod recent;
mod rule;
mod srh;
mod string;
mod targets;
mod u32match;
pub mod xt_model;

pub use chains::{ChainReg, chain_registration, table_priority};
pub(crate) use expr::sel as selector;

use crate::iptables::Family;
use crate::iptables::ruleset::{Policy as IptPolicy, Ruleset as IptRuleset};
use crate::ir::{self, Chain, Table};
use nftvm_grammar::{Diagnostic, Span};

/// Why something could not be lowered, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub reason: String,
    pub span: Option<Span>,
}

impl Unsupported {
    pub fn new(reason: impl Into<String>) -> Unsupported {
        Unsupported { reason: reason.into(), span: None }
    }

    pub fn at(mut self, span: Span) -> Unsupported {
        self.span.get_or_insert(span);
        self
    }
}

pub type LResult<T> = Result<T, Unsupported>;

/// The IR family of an iptables family.
pub fn ir_family(family: Family) -> ir::Family {
    match family {
        Family::Ipv4 => ir::Family::Ip,
        Family::Ipv6 => ir::Family::Ip6,
    }
}

/// Lowers rules of one family; collects the table-level objects rules need (ipsets, ct
/// helper objects).
#[derive(Debug)]
pub struct Lowerer {
    pub family: Family,
    /// Sets and objects the rules of the current table need, added to it afterwards.
    pub(crate) extra_sets: Vec<ir::Set>,
    pub(crate) extra_objects: Vec<ir::Object>,
    /// The ipsets `-m set` may name.
    pub ipsets: std::sync::Arc<crate::ipset::Ipsets>,
    /// The ipsets some rule changes (`-j SET`): declared dynamic wherever they appear.
    pub(crate) dynamic_ipsets: std::collections::HashSet<String>,
    /// Each ipset declared in a table: `(set, table)`.
    pub(crate) ipset_tables: Vec<(String, String)>,
    /// Warnings about constructs lowered to nothing (no effect on verdicts in nftvm).
    pub warnings: Vec<Diagnostic>,
}

impl Lowerer {
    pub fn new(family: Family) -> Lowerer {
        Lowerer {
            family,
            extra_sets: Vec::new(),
            extra_objects: Vec::new(),
            ipsets: Default::default(),
            dynamic_ipsets: Default::default(),
            ipset_tables: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Lower one rule of `chain` in `table` (not yet checked).
    pub fn rule(&mut self, r: &crate::iptables::Rule, table: &str, chain: &str) -> LResult<ir::Rule> {
        rule::lower_rule(self, r, table, chain).map_err(|e| e.at(r.span))
    }
}

/// Lower a whole typed ruleset and check the result. Unsupported constructs and checker
/// errors are error diagnostics (the rules concerned are left out); warnings pass through.
pub fn lower_ruleset(rs: &IptRuleset) -> (ir::Ruleset, Vec<Diagnostic>) {
    let family = rs.family;
    let mut out = ir::Ruleset::new();
    let mut diags = Vec::new();
    let mut lw = Lowerer::new(family);
    lw.ipsets = std::sync::Arc::clone(&rs.ipsets);
    let changes = set_changes(rs);
    lw.dynamic_ipsets = changes.iter().map(|(n, _)| n.clone()).collect();
    for t in &rs.tables {
        if t.chains.is_empty() {
            continue;
        }
        let mut table = Table::new(ir_family(family), t.name.clone());
        for c in &t.chains {
            let mut chain = match chain_registration(&t.name, &c.name) {
                Some(reg) => Chain::base(c.name.clone(), reg.chain_type, reg.hook, reg.priority),
                None => Chain::new(c.name.clone()),
            };
            chain.span = c.span;
            if let Some(base) = &mut chain.base {
                base.policy = match c.policy {
                    Some(IptPolicy::Drop) => ir::Policy::Drop,
                    _ => ir::Policy::Accept,
                };
                base.span = c.span;
            }
            for r in &c.rules {
                match lw.rule(r, &t.name, &c.name) {
                    Ok(ir_rule) => chain.rules.push(ir_rule),
                    Err(e) => diags.push(Diagnostic::error(
                        e.span.unwrap_or(r.span),
                        format!(
                            "cannot run this rule: {} (rule `{}`)",
                            e.reason,
                            r.save_line(&c.name, family)
                        ),
                    )),
                }
            }
            table.chains.push(chain);
        }
        table.sets.append(&mut lw.extra_sets);
        table.objects.append(&mut lw.extra_objects);
        out.tables.push(table);
    }
    diags.extend(ipset::check_shared(&lw, &changes));
    diags.append(&mut lw.warnings);
    diags.extend(crate::check::all(&mut out));
    (out, diags)
}

/// The ipsets `-j SET` changes, with the place of each rule that does.
fn set_changes(rs: &IptRuleset) -> Vec<(String, Span)> {
    use crate::iptables::rule::Action;
    use crate::iptables::targets::Target;
    let mut out = Vec::new();
    for r in rs.tables.iter().flat_map(|t| &t.chains).flat_map(|c| &c.rules) {
        if let Some(Action::Target { t: Target::Set(s), span, .. }) = &r.action {
            out.extend(s.add.iter().chain(&s.del).map(|(n, _)| (n.clone(), *span)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
