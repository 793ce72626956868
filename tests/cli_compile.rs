//! `nftvm compile`: the command-line contract (formats, source locations, exit codes), with
//! nftables' own payload file as the oracle for what the bytecode must be.

mod common;
#[path = "common/nft_py.rs"]
mod nft_py;

use std::path::PathBuf;
use std::process::{Command, Output};

const RULESET: &str = "table inet test-inet {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport 22
\t\ttcp dport { 33, 55, 67, 88}
\t}
}
";

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nftvm-cli-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

fn nftvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("run nftvm")
}

/// The expression lines nft generated for `rule` in inet/tcp.t.payload.
fn expected(rule: &str) -> Vec<String> {
    let path = common::shared_dir().join("peer-tests/nftables/tests-py/inet/tcp.t.payload");
    let blocks = nft_py::read_payload(&path).expect("payload file");
    blocks.into_iter().find(|b| b.rule == rule).expect("block for the rule").exprs
}

#[test]
fn bytecode_is_printed_per_rule_in_netlink_form() {
    let file = write_temp("rules.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.trim().is_empty()).collect();
    assert_eq!(blocks.len(), 2, "{text}");
    for (block, rule) in blocks.iter().zip(["tcp dport 22", "tcp dport { 33, 55, 67, 88}"]) {
        assert!(block.starts_with(&format!("# {rule}\n")), "{block}");
        assert!(block.contains("\ninet test-inet input\n"), "{block}");
        let exprs: Vec<String> =
            block.lines().filter(|l| l.starts_with("  [")).map(|l| l.trim().to_string()).collect();
        assert_eq!(exprs, expected(rule));
    }
    assert!(blocks[1].contains("__set%d test-inet 3\n__set%d test-inet 0\n\telement 0021"), "{}", blocks[1]);
}

#[test]
fn json_names_source_locations() {
    let file = write_temp("json.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let chain = &v["chains"][0];
    assert_eq!(chain["name"], "input");
    assert_eq!(chain["base"]["hook"], "input");
    let rules = chain["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2);
    let name = file.to_str().unwrap();
    assert_eq!(rules[0]["location"], format!("{name}:4"));
    assert_eq!(rules[1]["location"], format!("{name}:5"));
    let exprs: Vec<String> =
        rules[0]["exprs"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    assert_eq!(exprs, expected("tcp dport 22"));
    let set = rules[1]["anonymous_sets"][0].as_u64().expect("an anonymous set") as usize;
    assert_eq!(v["sets"][set]["elements"].as_array().map(Vec::len), Some(4));
}

#[test]
fn ir_and_errors() {
    let file = write_temp("ir.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "ir"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Ruleset"));

    let bad = write_temp("bad.nft", "table ip t { chain c { tcp dport 99999 } }\n");
    let out = nftvm(&["compile", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "an invalid ruleset is a negative answer");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.nft:1:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "assembly"]);
    assert_eq!(out.status.code(), Some(2));
    let out = nftvm(&["compile", "/nonexistent/rules.nft"]);
    assert_eq!(out.status.code(), Some(2));
}
