//! The iptables side of [`crate::load`]: an iptables-save / iptables-restore file is loaded
//! with iptables-restore semantics into the typed model, lowered into the IR as
//! iptables-nft would register it, and checked. The typed model is kept as well (for
//! `list --format iptables-save`). Warnings of the lowering go to stderr.

use crate::load::{LoadError, Loaded};
use nftvm_compiler::ipset::Ipsets;
use nftvm_compiler::iptables::lower::lower_ruleset;
use nftvm_compiler::iptables::{Family, RestoreOptions, load_restore_with};
use nftvm_grammar::{SourceMap, diag::render_all};
use std::sync::Arc;

/// Load iptables-save text of `family` on a machine with `ipsets`.
pub fn load(name: &str, text: &str, family: Family, ipsets: &Ipsets) -> Result<Loaded, LoadError> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let opts = RestoreOptions { family, counters: false, noflush: false };
    let (typed, diags) = load_restore_with(&sources, file, opts, Arc::new(ipsets.clone()));
    if diags.iter().any(|d| d.is_error()) {
        return Err(LoadError { message: render_all(&diags, &sources), invalid_input: true });
    }
    let (ruleset, diags) = lower_ruleset(&typed);
    if diags.iter().any(|d| d.is_error()) {
        return Err(LoadError { message: render_all(&diags, &sources), invalid_input: true });
    }
    // Warnings (constructs without effect in nftvm, left out) are never silent.
    eprint!("{}", render_all(&diags, &sources));
    Ok(Loaded { ruleset, sources, iptables: Some(typed) })
}
