//! Conformance: every block of every `tests-py/**/*.t.payload*` file (the exact
//! `nft --debug=netlink` text of ~3000 rules) must assemble and disassemble back to the same
//! text, compared after whitespace normalization only.

mod common;

use nftvm_vm::text::listing;
use std::path::{Path, PathBuf};

fn payload_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            payload_files(&p, out);
        } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".t.payload")) {
            out.push(p);
        }
    }
}

fn normalize(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn payload_blocks_round_trip() {
    let root = common::shared_dir().join("peer-tests/nftables/tests-py");
    let mut files = Vec::new();
    payload_files(&root, &mut files);
    assert!(!files.is_empty(), "no .payload files under {}", root.display());
    let (mut passed, mut total) = (0, 0);
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read payload file");
        for lines in listing::split_blocks(&text) {
            total += 1;
            let original = lines.join("\n");
            let outcome = listing::assemble_block(&lines).map(|b| listing::print_block(&b));
            match outcome {
                Ok(printed) if normalize(&printed) == normalize(&original) => passed += 1,
                Ok(printed) => {
                    failures.push(format!("{}:\n{original}\n--- printed ---\n{printed}", f.display()))
                }
                Err(e) => failures.push(format!("{}: {e}\n{original}", f.display())),
            }
        }
    }
    for f in failures.iter().take(15) {
        println!("FAIL {f}\n");
    }
    common::ratchet("vm_text_roundtrip", passed, total);
}
