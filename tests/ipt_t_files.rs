//! Conformance with iptables' own extension tests (`iptables/tests/*.t`, as run by
//! iptables-test.py against the nft backend).
//!
//! Every case `RULE;SAVE;RESULT[;VARIANT[;ALT]]` is run as `iptables -A CHAIN [-t TABLE] RULE`
//! for every chain of its `:CHAIN,…` line (and for both iptables and ip6tables in `libxt_`
//! files). An OK case must load (parse, validate, pass the load checks for that chain) and
//! print back as `-A CHAIN SAVE` (`=`: the rule itself); a FAIL case must be rejected in every
//! chain; NOMATCH (and the `=` alternative result) must load but print differently. Results
//! scoped to the LEGACY backend are mapped to the NFT backend's result the way the harness
//! does. Cases after an `@`/`%` external setup command in their file are skipped and counted.
//!
//! `IPT_T_VERBOSE=1` prints every failing case.

mod common;
#[path = "common/ipt_t.rs"]
mod ipt_t;

use common::PeerFile;
use nftvm_compiler::iptables::{CommandKind, Family, Ruleset, parse_command_line};
use nftvm_grammar::SourceMap;
use std::fs;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Ok,
    Fail,
    /// Loads, but does not print as SAVE.
    NoMatch,
}

/// What happened to one chain's run: the printed line, or the rendered error.
fn run_case(family: Family, chain: &str, table: &str, rule: &str) -> Result<String, String> {
    let tool = match family {
        Family::Ipv4 => "iptables",
        Family::Ipv6 => "ip6tables",
    };
    let text = if table.is_empty() {
        format!("{tool} -A {chain} {rule}")
    } else {
        format!("{tool} -A {chain} -t {table} {rule}")
    };
    let mut sm = SourceMap::new();
    let f = sm.add("<cmdline>", text);
    let (_, cmd) = parse_command_line(&sm, f).map_err(|d| d.render(&sm))?;
    let CommandKind::Append { chain: c } = &cmd.kind else { return Err("not an append command".into()) };
    // Load it into an empty ruleset, as `iptables -A` does: load checks, jump targets.
    let mut rs = Ruleset::new(family);
    rs.apply(&cmd).map_err(|d| d.render(&sm))?;
    let rules =
        rs.table(&cmd.table).and_then(|t| t.chain(&c.text)).map(|ch| ch.rules.clone()).unwrap_or_default();
    Ok(rules.iter().map(|r| r.save_line(&c.text, family)).collect::<Vec<_>>().join("\n"))
}

fn nft_result(fields: &[&str]) -> Option<Expect> {
    let parse = |s: &str| match s.trim() {
        "OK" => Some(Expect::Ok),
        "FAIL" => Some(Expect::Fail),
        "NOMATCH" | "=" => Some(Expect::NoMatch),
        _ => None,
    };
    let res = parse(fields.get(2)?)?;
    match fields.get(3).map(|v| v.trim()) {
        None | Some("NFT") => Some(res),
        Some(_) => match fields.get(4) {
            Some(alt) => parse(alt),
            None => Some(match res {
                Expect::Ok => Expect::Fail,
                Expect::Fail | Expect::NoMatch => Expect::Ok,
            }),
        },
    }
}

#[derive(Default)]
struct Tally {
    ok_pass: usize,
    ok_total: usize,
    fail_pass: usize,
    fail_total: usize,
    skipped: usize,
}

fn run_file(file: &PeerFile, family: Family, tally: &mut Tally, verbose: bool) {
    let text = fs::read_to_string(&file.path).unwrap_or_default();
    let name = &file.name;
    for case in ipt_t::cases(&text) {
        let fields: Vec<&str> = case.fields.iter().map(String::as_str).collect();
        let Some(expect) = nft_result(&fields) else { continue };
        if case.after_external_setup {
            tally.skipped += 1;
            continue;
        }
        let table = case.table.as_deref().unwrap_or("");
        let rule = fields[0];
        let save = if fields[1] == "=" { rule } else { fields[1] };
        let mut passed = true;
        let mut why = String::new();
        for chain in &case.chains {
            let got = run_case(family, chain, table, rule);
            let want = format!("-A {chain} {save}");
            let ok = match (&got, expect) {
                (Ok(line), Expect::Ok) => *line == want,
                (Ok(line), Expect::NoMatch) => *line != want,
                (Err(_), Expect::Fail) => true,
                _ => false,
            };
            if !ok {
                passed = false;
                why = match got {
                    Ok(line) => format!("got  {line}\n    want {want} ({expect:?})"),
                    Err(e) => format!("rejected ({expect:?} expected):\n{e}"),
                };
                break;
            }
        }
        match expect {
            Expect::Fail => {
                tally.fail_total += 1;
                tally.fail_pass += passed as usize;
            }
            Expect::Ok | Expect::NoMatch => {
                tally.ok_total += 1;
                tally.ok_pass += passed as usize;
            }
        }
        if !passed && verbose {
            println!("{name}:{} [{}] {}\n    {why}", case.line, family.tool_name(), case.fields.join(";"));
        }
    }
}

#[test]
fn iptables_t_files() {
    let verbose = std::env::var_os("IPT_T_VERBOSE").is_some();
    let files = ipt_t::t_files();
    let mut tally = Tally::default();
    for f in &files {
        for &fam in ipt_t::families(&f.name) {
            run_file(f, fam, &mut tally, verbose);
        }
    }
    println!("ipt .t: {} files, {} cases skipped (external @/% setup commands)", files.len(), tally.skipped);
    let fail_rate = (tally.fail_pass, tally.fail_total);
    common::ratchet("ipt_t_ok", tally.ok_pass, tally.ok_total);
    common::ratchet("ipt_t_fail", fail_rate.0, fail_rate.1);
}
