//! Fuzz target: the nft parser (lexer, grammar, expansion, diagnostics rendering) must never
//! panic or hang on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_grammar::{SourceMap, diag::render_all, nft};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // `include` reads the file system; keep the fuzzer away from it.
    if text.contains("include") {
        return;
    }
    let _ = nftvm_grammar::nft::lexer::tokens(&text);
    let mut sources = SourceMap::new();
    if let Err(diags) = nft::parse_str(&mut sources, "fuzz.nft", &text) {
        let _ = render_all(&diags, &sources);
    }
});
