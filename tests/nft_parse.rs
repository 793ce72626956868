//! Conformance of the nft parser against nftables' own test data: every `;ok` line of
//! `tests-py` (as the command nftables' runner sends, in every table context of its file, plus
//! the expected listing when one is given) and every `shell-dumps/**/*.nft` ruleset must parse.
//! Syntax-level `;fail` lines are counted for information (most fail only in evaluation).

mod common;
#[path = "common/nft_py.rs"]
mod nft_py;

use nft_py::{Case, Expect};
use nftvm_grammar::{SourceMap, diag::render_all, nft};

fn parses(name: &str, text: &str) -> Result<(), String> {
    let mut sm = SourceMap::new();
    nft::parse_str(&mut sm, name, text).map(|_| ()).map_err(|d| render_all(&d, &sm))
}

/// Every (command text, expectation) the tests-py data yields.
fn tests_py_commands() -> Vec<(String, String, Expect)> {
    let dir = common::shared_dir().join("peer-tests/nftables/tests-py");
    let mut out = vec![];
    for path in nft_py::t_files(&dir, nft_py::DIRS) {
        let file = nft_py::read_t(&path).expect("readable .t file");
        let short = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
        for table in &file.tables {
            for cmd in file.chain_commands(table) {
                out.push((short.clone(), cmd, Expect::Ok));
            }
            let chain = table.chains.first().map(String::as_str).unwrap_or("c");
            for case in &file.cases {
                if let Case::Rule { disabled: true, .. } = case {
                    continue;
                }
                let name = format!("{short}:{}", case.line());
                out.push((name.clone(), case.to_command(table, chain), case.expect().clone()));
                if let Case::Rule { listing: Some(listing), .. } = case {
                    out.push((name, format!("add rule {} {chain} {listing}", table.spec()), Expect::Ok));
                }
            }
        }
    }
    out
}

#[test]
fn tests_py_ok_lines_parse() {
    let cases = tests_py_commands();
    let (mut ok_total, mut ok_pass, mut fail_total, mut fail_rejected) = (0, 0, 0, 0);
    let mut failures = vec![];
    for (name, cmd, expect) in &cases {
        let result = parses(name, cmd);
        match expect {
            Expect::Ok => {
                ok_total += 1;
                match result {
                    Ok(()) => ok_pass += 1,
                    Err(e) => failures.push(format!("{name}: {cmd}\n{e}")),
                }
            }
            Expect::Fail => {
                fail_total += 1;
                if result.is_err() {
                    fail_rejected += 1;
                }
            }
        }
    }
    // All failures with `NFTVM_VERBOSE=1`, else the first few.
    let shown = if std::env::var_os("NFTVM_VERBOSE").is_some() { failures.len() } else { 20 };
    for f in failures.iter().take(shown) {
        println!("{f}");
    }
    println!("fail lines rejected by the parser alone: {fail_rejected}/{fail_total} (informational)");
    common::ratchet("nft_parse_ok", ok_pass, ok_total);
}

#[test]
fn shell_dumps_parse() {
    let files = common::nft_shell_dumps();
    let mut pass = 0;
    for f in &files {
        let text = std::fs::read_to_string(&f.path).expect("readable dump");
        match parses(&f.name, &text) {
            Ok(()) => pass += 1,
            Err(e) => println!("{e}"),
        }
    }
    common::ratchet("nft_parse_dumps", pass, files.len());
}
