//! Reader for iptables' own extension tests (`iptables/tests/*.t`, the data of
//! iptables-test.py), shared by the runners that replay them (loading and printing, lowering).
//!
//! A `.t` file names the chains its cases run in (`:CHAIN,…`), optionally a table (`*TABLE`),
//! and lists cases `RULE;SAVE;RESULT[;VARIANT[;ALT]]`. `@`/`%` lines are external setup
//! commands (ipset, other tools) the cases after them depend on. `#` lines are comments.
#![allow(dead_code)]

use crate::common::{PeerFile, peer_files};
use nftvm_compiler::iptables::Family;

/// The test files iptables-test.py runs against the nft backend: `iptables.t` and the
/// `libxt_`/`libipt_`/`libip6t_` extension files, sorted.
pub fn t_files() -> Vec<PeerFile> {
    peer_files("iptables/tests", |p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        n.ends_with(".t")
            && (n == "iptables.t"
                || n.starts_with("libxt_")
                || n.starts_with("libipt_")
                || n.starts_with("libip6t_"))
    })
}

/// The families a file's cases run in: both for `libxt_` files, IPv6 for `libip6t_`, else IPv4.
pub fn families(file_name: &str) -> &'static [Family] {
    if file_name.starts_with("libxt_") {
        &[Family::Ipv4, Family::Ipv6]
    } else if file_name.starts_with("libip6t_") {
        &[Family::Ipv6]
    } else {
        &[Family::Ipv4]
    }
}

/// One case line with the context the lines before it set.
#[derive(Clone, Debug)]
pub struct TCase {
    /// 1-based line number.
    pub line: usize,
    /// The chains of the last `:` line.
    pub chains: Vec<String>,
    /// The table of the last `*` line (none: the tool's default, `filter`).
    pub table: Option<String>,
    /// Whether an external `@`/`%` setup command came before it in the file.
    pub after_external_setup: bool,
    /// The `;`-separated fields: rule, save form, result and the optional variant fields.
    pub fields: Vec<String>,
}

/// The case lines of a `.t` file's text, in order.
pub fn cases(text: &str) -> Vec<TCase> {
    let (mut chains, mut table, mut external) = (Vec::new(), None, false);
    let mut out = vec![];
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(c) = line.strip_prefix(':') {
            chains = c.trim_end().split(',').map(str::to_string).collect();
        } else if line.starts_with('@') || line.starts_with('%') {
            external = true;
        } else if let Some(t) = line.strip_prefix('*') {
            table = Some(t.trim_end().to_string());
        } else {
            out.push(TCase {
                line: index + 1,
                chains: chains.clone(),
                table: table.clone(),
                after_external_setup: external,
                fields: line.split(';').map(str::to_string).collect(),
            });
        }
    }
    out
}
