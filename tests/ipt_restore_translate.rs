//! Every iptables-save dump of the peer data (`iptables/save-dumps/`) translates, and the
//! translation matches what the real `iptables-restore-translate` (or `ip6…`) prints for it —
//! run at test time in a throwaway network namespace (root; the test fails, not skips, when
//! it cannot run). The header and footer comments carry dates and versions and are not
//! compared. Then our translation is loaded with the real `nft -f` in that namespace: it
//! must be a valid nft ruleset.
//!
//! Deliberate differences, each counted and printed:
//! - iptables 1.8.9 (installed) drops a `-m tcp`/`-m udp` match that has no options
//!   (`-p udp -m udp -m multiport --dports …` → `udp dport { … }`, and `-p tcp -m tcp`
//!   matches every protocol); 1.8.13 (the version of the peer test data, which we follow)
//!   prints it as `meta l4proto udp`. Such a line is accepted when removing our
//!   `meta l4proto tcp|udp ` makes it equal.

mod common;

use common::kernel::Netns;
use nftvm_compiler::iptables::Family;
use nftvm_compiler::iptables::xlate::restore::translate_restore;
use nftvm_grammar::SourceMap;
use std::fs;

/// Our line, rewritten the way 1.8.9 prints an option-less tcp/udp match (not at all).
fn as_1_8_9(line: &str) -> String {
    line.replace("meta l4proto tcp ", "").replace("meta l4proto udp ", "")
}

/// The body of a restore-translate output (without the `# Translated by`/`# Completed on`
/// lines).
fn body(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("# Translated by") && !l.starts_with("# Completed on"))
        .map(str::to_string)
        .collect()
}

#[test]
fn save_dumps_translate_like_iptables_restore_translate() {
    let files = common::ipt_save_dumps();
    assert!(!files.is_empty(), "no save dumps");
    let ns = Netns::new();
    let (mut exact, mut documented, mut total_lines) = (0, 0, 0);
    let mut failures = Vec::new();
    for common::PeerFile { path, name } in &files {
        // The file name says the family (ipt-restore--ip6tables.dump starts with `*nat`).
        let family = if name.contains("ip6tables") { Family::Ipv6 } else { Family::Ipv4 };
        let tool = format!("{}-restore-translate", family.tool_name());
        let path_str = path.to_str().expect("utf-8 path");
        let real = ns.run(&tool, &["-f", path_str]);

        let mut sm = SourceMap::new();
        let id = sm.add(name.clone(), fs::read_to_string(path).expect("readable dump"));
        let ours = translate_restore(&sm, id, family);
        assert!(!ours.has_errors(), "{name}: {}", nftvm_grammar::diag::render_all(&ours.diagnostics, &sm));
        let (real, text) = (body(&real), body(&ours.text()));
        total_lines += real.len();
        if real.len() != text.len() {
            failures.push(format!("{name}: {} lines from {tool}, {} from us", real.len(), text.len()));
        }
        for (r, o) in real.iter().zip(&text) {
            if r == o {
                exact += 1;
            } else if *r == as_1_8_9(o) {
                documented += 1;
                println!(
                    "{name}: documented difference (1.8.9 drops an option-less tcp/udp match)\n  real: {r}\n  ours: {o}"
                );
            } else {
                failures.push(format!("{name}:\n  real: {r}\n  ours: {o}"));
            }
        }
        ns.nft_load(&format!("flush ruleset\n{}", ours.text()));
        println!("{name}: translated, loads into nft");
    }
    println!(
        "ipt_restore_translate: {} files, {total_lines} lines: {exact} identical, {documented} documented differences, {} failures",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "differences from the real tool:\n{}", failures.join("\n"));
}
