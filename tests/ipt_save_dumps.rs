//! Every iptables-save dump of iptables' shell tests (`iptables/save-dumps/`) loads with
//! iptables-restore semantics and prints back as iptables-save lists it.
//!
//! The comparison follows what the real tools do (checked with iptables-restore and
//! iptables-save in a network namespace, and as iptables' own shell tests compare):
//! each table the dump contains is printed on its own (`iptables-save -t TABLE`), in the
//! dump's table order; `#` comment lines and blank lines are not compared; a dump restored
//! without `-c` has its chain counters zeroed (only `ipt-save--fedora27-iptables` is
//! restored and saved with `-c`, as its shell test does); `-p 47` is compared as `-p gre`
//! (iptables-save ≥ 1.8.11 prints protocol numbers it does not know by name, the dumps come
//! from older versions — iptables' test applies the same substitution).

mod common;

use nftvm_compiler::iptables::{Family, RestoreOptions, SaveOptions, detect_family, load_restore};
use nftvm_grammar::SourceMap;
use nftvm_grammar::diag::render_all;
use std::fs;

fn expected(text: &str, counters: bool) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !counters
            && line.starts_with(':')
            && let Some(i) = line.rfind(" [")
        {
            out.push_str(&line[..i]);
            out.push_str(" [0:0]\n");
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn save_dumps_round_trip() {
    let files = common::ipt_save_dumps();
    let (mut passed, total) = (0, files.len());
    for common::PeerFile { path, name } in &files {
        let text = fs::read_to_string(path).unwrap_or_default();
        let family = if name.contains("ip6tables") { Family::Ipv6 } else { detect_family(&text) };
        let counters = name.ends_with("fedora27-iptables");
        let mut sm = SourceMap::new();
        let id = sm.add(name.clone(), text.clone());
        let (rs, diags) = load_restore(&sm, id, RestoreOptions { family, counters, noflush: false });
        if !diags.is_empty() {
            println!("{name}: load errors\n{}", render_all(&diags, &sm));
            continue;
        }
        let mut got = String::new();
        for table in text.lines().filter_map(|l| l.strip_prefix('*')) {
            got.push_str(&rs.save_table(table.trim(), SaveOptions { counters }));
        }
        let got = got.replace("-p 47 ", "-p gre ");
        let want = expected(&text, counters);
        if got == want {
            passed += 1;
        } else {
            println!("{name}: differs");
            for (w, g) in want.lines().zip(got.lines()).filter(|(w, g)| w != g).take(5) {
                println!("  want {w}\n  got  {g}");
            }
            if want.lines().count() != got.lines().count() {
                println!("  line counts: want {} got {}", want.lines().count(), got.lines().count());
            }
        }
    }
    common::ratchet("ipt_save_dumps", passed, total);
}
