//! Inputs that once broke (or could break) the parser: each must give a result or
//! diagnostics, never a panic, a stack overflow or a hang. Crashers found by `fuzz/` go here.

use nftvm_grammar::{SourceMap, diag::render_all, nft};

fn survives(text: &str) -> bool {
    let mut sm = SourceMap::new();
    match nft::parse_str(&mut sm, "fuzz.nft", text) {
        Ok(_) => true,
        Err(d) => {
            let rendered = render_all(&d, &sm);
            assert!(!d.is_empty() && rendered.contains("Error:"));
            false
        }
    }
}

#[test]
fn adversarial_inputs() {
    let cases: Vec<String> = vec![
        String::new(),
        "\n\n;;;\n".into(),
        "\u{0}\u{1}\u{ff}\u{fffd}".into(),
        "table".into(),
        "table ip t {".into(),
        "table ip t { chain c { jump { jump { jump {".into(),
        "}}}}}}".into(),
        "add rule ip t c 1:2:3:4:5:6:7:8:9 ::::: [::1 ]".into(),
        "add rule ip t c @th,99999999999999999999,1 0x".into(),
        "define x = $x\nadd rule ip t c meta mark $x".into(),
        "add element ip t s { , , }".into(),
        "add rule ip t c set set set".into(),
        "add rule ip t c == != ==".into(),
        "add rule ip t c tcp dport 1 != 2 != 3 set 4 set".into(),
        "\"".repeat(3),
        "# only a comment".into(),
        "\\\n\\\n\\".into(),
        format!("add rule ip t c {}", "meta mark 1 ".repeat(20_000)),
        format!("add rule ip t c meta mark {}", "1 . ".repeat(20_000) + "1"),
        format!("add rule ip t c meta mark set {}", "1 << ".repeat(5_000) + "1"),
        format!("table ip t {{ {} }}", "chain c { ".repeat(500)),
        format!("add rule ip t c jump {}", "{ jump ".repeat(500)),
        "x y z\n".repeat(5_000),
    ];
    for (i, c) in cases.iter().enumerate() {
        let _ = std::panic::catch_unwind(|| survives(c)).unwrap_or_else(|_| panic!("case {i} panicked"));
    }
}
