//! Rulesets that once broke the compiler under `fuzz/` (targets `nft_compile`, `ipt_parse`):
//! each must evaluate and compile to bytecode the verifier accepts, or be refused with a
//! diagnostic or codegen error that names the place — never a panic, never a program the
//! verifier rejects.

use nftvm_compiler::codegen::{self, CodegenError};
use nftvm_grammar::{SourceMap, diag::render_all, nft};

/// What became of a ruleset text.
#[derive(Debug)]
enum Fate {
    /// Bytecode that passed the verifier.
    Compiled,
    /// Parse or evaluation diagnostics (rendered).
    #[allow(dead_code)]
    Refused(String),
    /// A codegen error (not a verifier failure), rendered (shown when an assertion fails).
    #[allow(dead_code)]
    NotLowered(String),
}

fn compile(text: &str) -> Fate {
    let mut sources = SourceMap::new();
    let file = match nft::parse_str(&mut sources, "fuzz.nft", text) {
        Ok(f) => f,
        Err(d) => return Fate::Refused(render_all(&d, &sources)),
    };
    let rs = match nftvm_compiler::eval::load(&file) {
        Ok(rs) => rs,
        Err(d) => return Fate::Refused(render_all(&d, &sources)),
    };
    match codegen::compile_verified(&rs) {
        Ok(_) => Fate::Compiled,
        Err(e @ CodegenError::Verify(_)) => panic!("codegen produced bytecode the verifier rejects: {e}"),
        Err(e) => Fate::NotLowered(e.to_string()),
    }
}

/// `iptables-translate -m connlimit` output: `ct count` attached to a set element. Once
/// refused at codegen (the VM's sets had no connection lists); it compiles to bytecode the
/// verifier accepts, as counters and limits on elements do.
#[test]
fn ct_count_in_a_set_element_compiles_and_verifies() {
    let text = "table ip t {
        set connlimit0 { type ipv4_addr; flags dynamic; }
        chain c {
            type filter hook input priority 0; policy accept;
            add @connlimit0 { ip saddr ct count over 2 } counter reject
        }
    }";
    assert!(matches!(compile(text), Fate::Compiled), "{:?}", compile(text));
    let ok = text.replace("ct count over 2", "counter limit rate 1/second");
    assert!(matches!(compile(&ok), Fate::Compiled), "{:?}", compile(&ok));
}
