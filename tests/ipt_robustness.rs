//! Bad input never panics: every iptables command line of the peer test data (`.t` rules and
//! `.txlate` commands) is mutated — an argument dropped, replaced by an odd value or cut short
//! — and run through parsing, rule-set application, diagnostics rendering, saving, translation
//! to nft and lowering into the IR (and back); every
//! save dump is cut and spliced at many offsets and restored as IPv4 and IPv6. Each mutation
//! must end in a value or a diagnostic, never a panic.

mod common;

use nftvm_compiler::iptables::from_ir::from_ir;
use nftvm_compiler::iptables::lower::lower_ruleset;
use nftvm_compiler::iptables::xlate::restore::translate_restore;
use nftvm_compiler::iptables::xlate::{Mode, Translator};
use nftvm_compiler::iptables::{Family, RestoreOptions, Ruleset, load_restore, parse_command_line};
use nftvm_grammar::SourceMap;
use std::fs;
use std::panic::catch_unwind;

/// Odd argument values that stress number, range, list, address and quoting parsers.
const ODD: &[&str] = &[
    "",
    "!",
    "-1",
    "99999999999999999999999",
    ":",
    ",",
    "/",
    "0x",
    "+",
    "-",
    "--",
    "::",
    "1:",
    ":1",
    "a,b",
    "0/33",
    "1.2.3.4/",
    "\\",
    "\"",
    "0xffffffff/0x",
    "4294967296",
    "65536",
    "1-2",
    "/0",
    "%",
];

/// Runs one command line (and the same rule as an iptables-restore file); true if it panicked.
fn panics(line: &str) -> bool {
    catch_unwind(|| {
        let mut sm = SourceMap::new();
        let id = sm.add("cmd", line);
        let program = line.split_whitespace().next().unwrap_or("");
        match parse_command_line(&sm, id) {
            Ok((cl, cmd)) => {
                let family = Family::of_program(program);
                let mut rs = Ruleset::new(family);
                if let Err(d) = rs.apply(&cmd) {
                    let _ = d.render(&sm);
                }
                let _ = rs.save(Default::default());
                // Translation and lowering see the same inputs.
                let args: Vec<String> = cl.args.words().iter().map(|w| w.text.clone()).collect();
                let t = Translator::new(family, Mode::CommandLine).command(&cmd, &args);
                for d in t.warnings {
                    let _ = d.render(&sm);
                }
                let (ir, diags) = lower_ruleset(&rs);
                for d in diags {
                    let _ = d.render(&sm);
                }
                let _ = from_ir(&ir);
            }
            Err(d) => {
                let _ = d.render(&sm);
            }
        }
        let rest = line.split_once(' ').map_or("", |(_, r)| r);
        let file = sm.add("file", format!("*filter\n{rest}\nCOMMIT\n"));
        let opts = RestoreOptions { family: Family::of_program(program), counters: true, noflush: false };
        let (rs, diags) = load_restore(&sm, file, opts);
        for d in diags {
            let _ = d.render(&sm);
        }
        let _ = rs.save(Default::default());
    })
    .is_err()
}

/// Command lines of the peer data, as `iptables …` / `ip6tables …`.
fn command_lines() -> Vec<String> {
    let base = common::shared_dir().join("peer-tests/iptables");
    let mut lines = vec![];
    for dir in ["txlate", "tests"] {
        let mut paths: Vec<_> = fs::read_dir(base.join(dir))
            .expect("peer data")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        for p in paths {
            let text = fs::read_to_string(&p).unwrap_or_default();
            for l in text.lines() {
                let head = l.split(';').next().unwrap_or("");
                if l.starts_with("ip") {
                    lines.push(head.replacen("-translate", "", 1));
                } else if l.starts_with('-') {
                    let fam = if p.to_string_lossy().contains("ip6t") { "ip6tables" } else { "iptables" };
                    lines.push(format!("{fam} -A INPUT {head}"));
                }
            }
        }
    }
    lines
}

#[test]
fn mutated_command_lines_never_panic() {
    std::panic::set_hook(Box::new(|_| {}));
    let mut bad = vec![];
    let lines = command_lines();
    let mut runs = 0;
    for l in &lines {
        let toks: Vec<&str> = l.split_whitespace().collect();
        for i in 1..toks.len() {
            let mut variants = vec![];
            let mut t = toks.clone();
            t.remove(i);
            variants.push(t.join(" "));
            for odd in ODD {
                let mut t = toks.clone();
                t[i] = odd;
                variants.push(t.join(" "));
            }
            let w = toks[i];
            for k in [1, w.len() / 2, w.len().saturating_sub(1)] {
                if k > 0 && k < w.len() && w.is_char_boundary(k) {
                    let mut t = toks.clone();
                    t[i] = &w[..k];
                    variants.push(t.join(" "));
                }
            }
            for v in variants {
                runs += 1;
                if panics(&v) {
                    bad.push(v);
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    for b in bad.iter().take(40) {
        println!("PANIC: {b}");
    }
    println!("ipt_robustness: {} command lines, {runs} mutations, {} panics", lines.len(), bad.len());
    assert!(!lines.is_empty() && bad.is_empty());
}

#[test]
fn cut_save_dumps_never_panic() {
    std::panic::set_hook(Box::new(|_| {}));
    let dir = common::shared_dir().join("peer-tests/iptables/save-dumps");
    let mut bad = vec![];
    let mut runs = 0;
    for e in fs::read_dir(dir).expect("save dumps") {
        let text = fs::read_to_string(e.expect("entry").path()).unwrap_or_default();
        for k in (0..text.len()).step_by(13).filter(|&k| text.is_char_boundary(k)) {
            let splice_end = (k + 3..text.len()).find(|&j| text.is_char_boundary(j)).unwrap_or(text.len());
            for variant in [text[..k].to_string(), format!("{}{}", &text[..k], &text[splice_end..])] {
                runs += 1;
                let hit = catch_unwind(|| {
                    let mut sm = SourceMap::new();
                    let id = sm.add("dump", variant.clone());
                    for family in [Family::Ipv4, Family::Ipv6] {
                        let opts = RestoreOptions { family, counters: true, noflush: false };
                        let (rs, diags) = load_restore(&sm, id, opts);
                        for d in diags {
                            let _ = d.render(&sm);
                        }
                        let _ = rs.save(Default::default());
                        let _ = translate_restore(&sm, id, family).text();
                        let _ = lower_ruleset(&rs);
                    }
                })
                .is_err();
                if hit {
                    bad.push(variant.lines().last().unwrap_or("").to_string());
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    for b in bad.iter().take(40) {
        println!("PANIC after: {b}");
    }
    println!("ipt_robustness: {runs} cut save dumps, {} panics", bad.len());
    assert!(runs > 0 && bad.is_empty());
}
