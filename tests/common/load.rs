//! Loading rulesets for tests the way `nftvm` does — through the library's loader
//! ([`nftvm::load`]), with the syntax fixed — and `iptables-restore-translate` output with the
//! lines whose rules it comments out.

use nftvm::compiler::iptables::Family;
use nftvm::compiler::iptables::xlate::restore::translate_restore;
use nftvm::compiler::ir::Ruleset;
use nftvm::grammar::SourceMap;
use nftvm::load::{Syntax, load_text};

/// nft text → IR.
pub fn nft(name: &str, text: &str) -> Result<(Ruleset, SourceMap), String> {
    load_text(name, text, Some(Syntax::Nft), &Default::default())
        .map(|l| (l.ruleset, l.sources))
        .map_err(|e| e.message)
}

/// iptables-save text → IR (as iptables-nft registers it).
pub fn iptables(name: &str, text: &str, family: Family) -> Result<(Ruleset, SourceMap), String> {
    let syntax = match family {
        Family::Ipv4 => Syntax::Iptables,
        Family::Ipv6 => Syntax::Ip6tables,
    };
    load_text(name, text, Some(syntax), &Default::default())
        .map(|l| (l.ruleset, l.sources))
        .map_err(|e| e.message)
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
