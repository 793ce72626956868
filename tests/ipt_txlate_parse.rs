//! Every iptables / ip6tables command line of iptables' translation tests
//! (`iptables/txlate/*.txlate`) parses and validates as iptables-translate would accept it
//! (command-line parsing and extension checks; no kernel load checks — iptables-translate
//! does not load rules). The translation itself is checked elsewhere.
//!
//! `IPT_TXLATE_VERBOSE=1` prints every rejected line.

mod common;

use nftvm_compiler::iptables::parse_command_line;
use nftvm_grammar::SourceMap;
use std::fs;

#[test]
fn txlate_command_lines_parse() {
    let dir = common::shared_dir().join("peer-tests/iptables/txlate");
    let verbose = std::env::var_os("IPT_TXLATE_VERBOSE").is_some();
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("txlate directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txlate"))
        .collect();
    files.sort();
    let (mut passed, mut total) = (0, 0);
    for f in &files {
        let text = fs::read_to_string(f).unwrap_or_default();
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        for (lineno, line) in text.lines().enumerate() {
            let program = line.split_whitespace().next().unwrap_or("");
            if !matches!(program, "iptables-translate" | "ip6tables-translate" | "iptables" | "ip6tables") {
                continue;
            }
            total += 1;
            let mut sm = SourceMap::new();
            let id = sm.add(format!("{name}:{}", lineno + 1), line);
            match parse_command_line(&sm, id) {
                Ok(_) => passed += 1,
                Err(d) => {
                    if verbose {
                        print!("{}", d.render(&sm));
                    }
                }
            }
        }
    }
    common::ratchet("ipt_txlate_parse", passed, total);
}
