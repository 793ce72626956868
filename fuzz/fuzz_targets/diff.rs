//! Fuzz target: `nftvm diff`'s engine on arbitrary nft text. A ruleset must be equivalent to
//! itself, and to its own listing read back (nft's text of the same rules), unless the engine
//! says it cannot decide; nothing may panic. A counterexample here is a packet on which the
//! engine believes one ruleset differs from itself — or a listing that changes what the rules
//! do. Inputs with `include` are skipped (they would read the file system).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_compiler::diff::{self, Options, report};
use nftvm_compiler::ir::Ruleset;
use nftvm_compiler::print::{ListOpts, nft};
use nftvm_grammar::SourceMap;

/// The checked ruleset of `text`, if it loads.
fn load(text: &str) -> Option<Ruleset> {
    let mut sources = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sources, "fuzz.nft", text).ok()?;
    let mut rs = nftvm_compiler::eval::load(&file).ok()?;
    let diags = nftvm_compiler::check::all(&mut rs);
    diags.iter().all(|d| !d.is_error()).then_some(rs)
}

/// `a` and `b` must not differ (the engine may refuse to decide).
fn same(a: &Ruleset, b: &Ruleset, what: &str, text: &str) {
    if let Ok(r) = diff::diff(a, b, &Options { max: 1 }) {
        let shown = report::render_text(&r, &|_, span| format!("{span:?}"));
        assert!(r.equivalent(), "{what}:\n{shown}\n--- ruleset ---\n{text}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if text.contains("include") || text.len() > 4096 {
        return;
    }
    let Some(rs) = load(&text) else { return };
    same(&rs, &rs, "a ruleset differs from itself", &text);
    let listing = nft::ruleset(&rs, &ListOpts::default_listing());
    if let Some(back) = load(&listing) {
        same(&rs, &back, "a ruleset differs from its listing read back", &listing);
    }
});
