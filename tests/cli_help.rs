//! Every command's help (`--help`, exit 0, on stdout) and its usage error when called
//! without what it needs (exit 2, naming the command, on stderr) are whole text: no
//! placeholder left unfilled, none empty.

use std::process::{Command, Output};

fn nftvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("run nftvm")
}

/// The commands with a help of their own (`nftvm --help` lists them).
const COMMANDS: [&str; 10] =
    ["check", "list", "compile", "diff", "eval", "run", "bench", "import-classbench", "conntrack", "reload"];

/// Text a placeholder left unfilled would show (`{OPT}`, `{HELP}`).
fn unfilled(text: &str) -> Option<&str> {
    text.split('{')
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap_or(rest))
        .find(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

#[test]
fn every_help_is_filled_in() {
    let top = nftvm(&["--help"]);
    let top_text = String::from_utf8_lossy(&top.stdout);
    assert!(top.status.success() && !top_text.is_empty(), "{top:?}");
    assert_eq!(unfilled(&top_text), None, "{top_text}");
    for cmd in COMMANDS {
        assert!(top_text.contains(cmd), "`nftvm --help` lists {cmd}");
        let o = nftvm(&[cmd, "--help"]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{cmd} --help: {o:?}");
        assert!(text.contains(&format!("nftvm {cmd}")), "{cmd} --help: {text}");
        assert_eq!(unfilled(&text), None, "{cmd} --help:\n{text}");
    }
}

#[test]
fn every_usage_error_is_filled_in() {
    // Without their operands (`conntrack` and `reload` talk to a running instance, and
    // `list` without a file lists the ruleset of one: not usage errors).
    for cmd in ["check", "compile", "diff", "eval", "run", "bench", "import-classbench"] {
        let o = nftvm(&[cmd]);
        let text = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {o:?}");
        assert!(text.contains(&format!("nftvm {cmd}")) || text.contains("usage"), "{cmd}:\n{text}");
        assert_eq!(unfilled(&text), None, "{cmd}:\n{text}");
    }
}

#[test]
fn the_placeholder_finder_finds_one() {
    assert_eq!(unfilled("options\n{OPT}\n  --chain"), Some("OPT"));
    assert_eq!(unfilled("a set { 22, 80 } and {x}"), None);
}
