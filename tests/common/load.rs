//! Loading rulesets for tests the way `nftvm` does (`src/load.rs` lives in the binary):
//! nft text through the parser and evaluator, iptables-save text through the typed model and
//! its lowering, and `iptables-restore-translate` output.

use nftvm::compiler::iptables::lower::lower_ruleset;
use nftvm::compiler::iptables::xlate::restore::translate_restore;
use nftvm::compiler::iptables::{Family, RestoreOptions, load_restore};
use nftvm::compiler::ir::Ruleset;
use nftvm::grammar::SourceMap;
use nftvm::grammar::diag::render_all;

/// nft text → IR.
pub fn nft(name: &str, text: &str) -> Result<(Ruleset, SourceMap), String> {
    let mut sources = SourceMap::new();
    let file =
        nftvm::grammar::nft::parse_str(&mut sources, name, text).map_err(|d| render_all(&d, &sources))?;
    let rs = nftvm::compiler::eval::load(&file).map_err(|d| render_all(&d, &sources))?;
    Ok((rs, sources))
}

/// iptables-save text → IR (as iptables-nft registers it).
pub fn iptables(name: &str, text: &str, family: Family) -> Result<(Ruleset, SourceMap), String> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let (typed, diags) =
        load_restore(&sources, file, RestoreOptions { family, counters: false, noflush: false });
    if diags.iter().any(|d| d.is_error()) {
        return Err(render_all(&diags, &sources));
    }
    let (rs, diags) = lower_ruleset(&typed);
    if diags.iter().any(|d| d.is_error()) {
        return Err(render_all(&diags, &sources));
    }
    Ok((rs, sources))
}

/// `iptables-restore-translate`: the nft text and the 1-based source lines whose rules the
/// translation comments out.
pub fn translate(name: &str, text: &str, family: Family) -> (String, Vec<usize>) {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let out = translate_restore(&sources, file, family);
    let lines =
        out.diagnostics.iter().filter(|d| !d.is_error()).map(|d| sources.location(d.span).line).collect();
    (out.text(), lines)
}
