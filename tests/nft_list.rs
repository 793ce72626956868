//! Listing conformance against nftables' py tests (`tests-py/{ip,ip6,inet,any}/*.t`).
//!
//! For every table context a file lists (`*family;table;chain,…`, bridge/netdev/arp ones
//! included) the runner creates the table and the chains the context names (`:` lines),
//! then walks the file's cases in order: sets, elements and objects (`!`, `?`, `%`) are
//! applied (or must be rejected when marked `fail`); each `;ok` rule is added to every chain
//! of the context and must list back exactly as expected (the third field, or the rule
//! itself), compared after normalizing whitespace and the order of elements inside `{ … }`;
//! each `;fail` rule must be rejected with a diagnostic. Disabled (`- `) lines are skipped.
//! Listings use the py tests' form (`nft -nn`: protocols as numbers).
//!
//! `NFTVM_VERBOSE=1` prints every failure; `NFTVM_ONLY=substring` limits the files;
//! `NFTVM_PY_DIRS=bridge,netdev,arp` runs other directories for information.

mod common;
#[path = "common/nft_py.rs"]
mod nft_py;

use nft_py::{Case, Expect, apply};
use nftvm_compiler::ir::{Family, Ruleset};
use nftvm_compiler::print::{ListOpts, nft};
use std::collections::BTreeMap;

/// Whitespace collapsed; elements inside each `{ … }` sorted.
fn normalize(s: &str) -> String {
    let collapsed: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    sort_braces(&collapsed)
}

fn sort_braces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{' {
            // Find the matching brace.
            let mut depth = 0;
            let mut j = i;
            while j < chars.len() {
                match chars[j] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let inner: String = chars[i + 1..j.min(chars.len())].iter().collect();
            // As nftables' runner compares set elements: without blanks, in any order.
            let mut parts: Vec<String> =
                split_top(&inner).into_iter().map(|p| sort_braces(p.trim()).replace(' ', "")).collect();
            parts.sort();
            out.push_str("{ ");
            out.push_str(&parts.join(", "));
            out.push_str(" }");
            i = j + 1;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[derive(Default)]
struct Tally {
    ok: usize,
    ok_pass: usize,
    fail: usize,
    fail_pass: usize,
}

#[test]
fn tests_py_rules_list_back() {
    let dir = common::shared_dir().join("peer-tests/nftables/tests-py");
    let verbose = std::env::var_os("NFTVM_VERBOSE").is_some();
    let mut only = std::env::var("NFTVM_ONLY").ok();
    // `NFTVM_PY_DIRS=bridge,netdev,arp` runs other directories (informational, no ratchet).
    let dirs_env = std::env::var("NFTVM_PY_DIRS").ok();
    let dirs: Vec<&str> = match &dirs_env {
        Some(d) => {
            only.get_or_insert_with(String::new);
            d.split(',').collect()
        }
        None => vec!["ip", "ip6", "inet", "any"],
    };
    let opts = ListOpts::py_tests();
    // nftables' runner exports TZ=UTC-2: dates and hours are local to UTC+2.
    nftvm_compiler::types::set_local_offset_override(Some(2 * 3600));
    let mut per_dir: BTreeMap<String, Tally> = BTreeMap::new();
    for path in nft_py::t_files(&dir, &dirs) {
        let short = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
        if only.as_ref().is_some_and(|o| !short.contains(o.as_str())) {
            continue;
        }
        let file = nft_py::read_t(&path).expect("readable .t file");
        let tally = per_dir.entry(short.split('/').next().unwrap_or("").to_string()).or_default();
        for table in &file.tables {
            let Some(fam) = Family::from_name(&table.family) else { continue };
            if let Some(why) = table.refused {
                println!("{short} [{}]: every rule expected refused: {why}", table.spec());
            }
            let mut base = Ruleset::new();
            let mut setup_ok = apply(&mut base, &format!("add table {}", table.spec())).is_ok();
            for cmd in file.chain_commands(table) {
                if let Err(e) = apply(&mut base, &cmd) {
                    setup_ok = false;
                    if verbose {
                        println!("SETUP {short} [{}]: {cmd}\n{e}", table.spec());
                    }
                }
            }
            for case in &file.cases {
                match case {
                    Case::Rule { disabled: true, .. } => {}
                    Case::Rule { line, rule, expect, listing, .. } => {
                        // A context the reference kernel refuses: every rule must be refused.
                        let expect = if table.refused.is_some() { &Expect::Fail } else { expect };
                        for chain in &table.chains {
                            let cmd = format!("add rule {} {chain} {rule}", table.spec());
                            let mut rs = base.clone();
                            let result = apply(&mut rs, &cmd);
                            match expect {
                                Expect::Ok => {
                                    tally.ok += 1;
                                    let wanted = listing.as_deref().unwrap_or(rule);
                                    let got = result.and_then(|()| {
                                        // Checking evaluated IR again must change nothing.
                                        let mut again = rs.clone();
                                        let d = nftvm_compiler::check::all(&mut again);
                                        if !d.is_empty() || again != rs {
                                            return Err("check::all is not idempotent here".to_string());
                                        }
                                        let t = rs.table(fam, &table.table).ok_or("table vanished")?;
                                        let c = t.chain(chain).ok_or("chain vanished")?;
                                        let r = c.rules.last().ok_or("no rule added")?;
                                        Ok(nft::rule(t, r, &opts))
                                    });
                                    match got {
                                        Ok(g) if normalize(&g) == normalize(wanted) => tally.ok_pass += 1,
                                        Ok(g) => {
                                            if verbose {
                                                println!(
                                                    "DIFF {short}:{line} [{} {chain}]\n  rule:     {rule}\n  expected: {wanted}\n  got:      {g}",
                                                    table.spec()
                                                );
                                            }
                                        }
                                        Err(e) => {
                                            if verbose {
                                                println!(
                                                    "REJECTED {short}:{line} [{} {chain}] {rule}{}\n{e}",
                                                    table.spec(),
                                                    if setup_ok { "" } else { " (setup failed)" }
                                                );
                                            }
                                        }
                                    }
                                }
                                Expect::Fail => {
                                    tally.fail += 1;
                                    match result {
                                        Err(_) => tally.fail_pass += 1,
                                        Ok(()) => {
                                            if verbose {
                                                let t = rs.table(fam, &table.table);
                                                let listed = t
                                                    .and_then(|t| {
                                                        t.chain(chain)
                                                            .and_then(|c| c.rules.last())
                                                            .map(|r| nft::rule(t, r, &opts))
                                                    })
                                                    .unwrap_or_default();
                                                println!(
                                                    "ACCEPTED {short}:{line} [{} {chain}] {rule}\n  listed: {listed}",
                                                    table.spec()
                                                );
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Case::Set { expect, line, .. }
                    | Case::Elements { expect, line, .. }
                    | Case::Object { expect, line, .. } => {
                        let chain = table.chains.first().map(String::as_str).unwrap_or("c");
                        let cmd = case.to_command(table, chain);
                        let mut rs = base.clone();
                        match (apply(&mut rs, &cmd), expect) {
                            (Ok(()), Expect::Ok) => base = rs,
                            (Err(e), Expect::Ok) => {
                                if verbose {
                                    println!("SETUP {short}:{line} [{}]: {cmd}\n{e}", table.spec());
                                }
                            }
                            (Ok(()), Expect::Fail) => {
                                if verbose {
                                    println!("ACCEPTED {short}:{line} [{}]: {cmd}", table.spec());
                                }
                            }
                            (Err(_), Expect::Fail) => {}
                        }
                    }
                }
            }
        }
    }
    let (mut ok, mut ok_pass, mut fail, mut fail_pass) = (0, 0, 0, 0);
    for (d, t) in &per_dir {
        println!("  {d:<6} ok {}/{}  fail {}/{}", t.ok_pass, t.ok, t.fail_pass, t.fail);
        ok += t.ok;
        ok_pass += t.ok_pass;
        fail += t.fail;
        fail_pass += t.fail_pass;
    }
    if only.is_some() {
        println!("nft_list_ok: {ok_pass}/{ok}, nft_list_fail: {fail_pass}/{fail} (filtered run, no ratchet)");
        return;
    }
    common::ratchet("nft_list_ok", ok_pass, ok);
    common::ratchet("nft_list_fail", fail_pass, fail);
}
