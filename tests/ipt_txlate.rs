//! iptables' translation tests (`iptables/txlate/*.txlate`): every `iptables-translate` and
//! `ip6tables-translate` case must print exactly the expected `nft …` line(s) (compared after
//! trimming trailing whitespace, as iptables' xlate-test.py does). arptables and ebtables
//! cases are counted as skipped. Our own cases for what the peer data does not cover
//! (`-m state`, `-j CT --notrack`, …) live in `tests/data/txlate/` in the same format and
//! must all pass.
//!
//! `IPT_TXLATE_VERBOSE=1` prints every failing case.

mod common;

use nftvm_compiler::iptables::xlate::{Mode, Translator};
use nftvm_compiler::iptables::{Family, parse_command_line};
use nftvm_grammar::SourceMap;
use std::fs;
use std::path::Path;

const KEYWORDS: [&str; 4] =
    ["iptables-translate", "ip6tables-translate", "arptables-translate", "ebtables-translate"];

/// One case: where, the command line, the expected output.
struct Case {
    place: String,
    source: String,
    expected: String,
}

/// Read a txlate file the way xlate-test.py does: a keyword line, the expected line, and a
/// second expected line when the next one starts with `nft`.
fn cases(path: &Path) -> Vec<Case> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if !KEYWORDS.iter().any(|k| line.starts_with(k)) {
            i += 1;
            continue;
        }
        let source = line.split(';').next().unwrap_or(line).to_string();
        let mut expected = lines.get(i + 1).copied().unwrap_or("").trim_end().to_string();
        i += 2;
        if let Some(next) = lines.get(i)
            && next.starts_with("nft")
        {
            expected.push('\n');
            expected.push_str(next.trim_end());
            i += 1;
        }
        out.push(Case { place: format!("{name}:{}", i), source, expected });
    }
    out
}

/// Translate one command line as a fresh `iptables-translate` process would.
fn translate(case: &Case) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let id = sm.add(case.place.clone(), case.source.clone());
    let (cl, cmd) = parse_command_line(&sm, id).map_err(|d| d.render(&sm))?;
    let family = Family::of_program(&cl.program.text);
    let args: Vec<String> = cl.args.words().iter().map(|w| w.text.clone()).collect();
    let t = Translator::new(family, Mode::CommandLine).command(&cmd, &args);
    if !t.ok {
        let why: Vec<String> = t.warnings.iter().map(|d| d.render(&sm)).collect();
        return Err(format!("not translated: {}{}", t.text, why.join("")));
    }
    Ok(t.text.trim_end_matches([' ', '\n']).to_string())
}

/// Run every case of the `.txlate` files in `dir`: (passed, total, skipped).
fn run_dir(dir: &Path, verbose: bool) -> (usize, usize, usize) {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txlate"))
        .collect();
    files.sort();
    let (mut passed, mut total, mut skipped) = (0, 0, 0);
    for f in &files {
        for case in cases(f) {
            if case.source.starts_with("arptables") || case.source.starts_with("ebtables") {
                skipped += 1;
                continue;
            }
            total += 1;
            match translate(&case) {
                Ok(out) if out == case.expected => {
                    if std::env::var_os("IPT_TXLATE_SHOW").is_some() {
                        println!("{}", out);
                    }
                    passed += 1
                }
                Ok(out) => {
                    if verbose {
                        println!("{}: {}\n  exp: {}\n  got: {}", case.place, case.source, case.expected, out);
                    }
                }
                Err(e) => {
                    if verbose {
                        println!("{}: {}\n  exp: {}\n  err: {e}", case.place, case.source, case.expected);
                    }
                }
            }
        }
    }
    (passed, total, skipped)
}

#[test]
fn txlate_peer_cases() {
    let verbose = std::env::var_os("IPT_TXLATE_VERBOSE").is_some();
    let dir = common::shared_dir().join("peer-tests/iptables/txlate");
    let (passed, total, skipped) = run_dir(&dir, verbose);
    println!("ipt_txlate: skipped {skipped} arptables/ebtables cases");
    common::ratchet("ipt_txlate", passed, total);
}

#[test]
fn txlate_own_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/txlate");
    let (passed, total, _) = run_dir(&dir, true);
    println!("own txlate cases: {passed}/{total}");
    assert!(total > 0, "no own txlate cases found");
    assert_eq!(passed, total, "every own txlate case must pass");
}
