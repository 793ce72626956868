//! Load-time checks: what the kernel (and iptables-nft when it builds the nftables rule)
//! refuses although the command line parsed — a match or target in a table or hook it does
//! not support, `-m tcp` without `-p tcp`, an unknown table.

use crate::iptables::Family;
use crate::iptables::ext::{Hook, LoadCx};
use crate::iptables::rule::{Action, Rule};
use nftvm_grammar::Diagnostic;

/// The tables iptables knows, in iptables-save order, with their built-in chains in hook
/// order.
pub const TABLES: &[(&str, &[&str])] = &[
    ("mangle", &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]),
    ("security", &["INPUT", "FORWARD", "OUTPUT"]),
    ("raw", &["PREROUTING", "OUTPUT"]),
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
];

/// Built-in chains of a table (`None`: not a table).
pub fn builtin_chains(table: &str) -> Option<&'static [&'static str]> {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, c)| *c)
}

/// The hook of a chain that is built into `table`.
pub fn builtin_hook(table: &str, chain: &str) -> Option<Hook> {
    builtin_chains(table).filter(|cs| cs.contains(&chain)).and_then(|_| Hook::of_builtin_chain(chain))
}

/// Check that `rule` may be loaded into `chain` of `table`.
pub fn check_rule(
    rule: &Rule,
    family: Family,
    table: &str,
    chain: &str,
    ipsets: &crate::ipset::Ipsets,
) -> Result<(), Diagnostic> {
    if builtin_chains(table).is_none() {
        return Err(Diagnostic::error(
            rule.span,
            format!(
                "can't initialize {} table `{table}': Table does not exist (expecting filter, nat, mangle, raw or security)",
                family.tool_name()
            ),
        ));
    }
    let cx = LoadCx {
        family,
        table,
        hook: builtin_hook(table, chain),
        ip: &rule.ip,
        matches: &rule.matches,
        ipsets,
    };
    for m in &rule.matches {
        m.m.ext().check_load(&cx).map_err(|msg| Diagnostic::error(m.span, format!("{}: {msg}", m.name)))?;
    }
    if let Some(Action::Target { name, t, span }) = &rule.action {
        t.ext().check_load(&cx).map_err(|msg| Diagnostic::error(*span, format!("{name}: {msg}")))?;
    }
    Ok(())
}
