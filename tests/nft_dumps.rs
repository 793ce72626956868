//! Round trip of nftables' shell-test dumps: every `shell-dumps/**/*.nft` ruleset that has a
//! table of family ip, ip6 or inet must load and list back byte for byte
//! (`list(load(dump)) == dump`), as `nft list ruleset` printed it.
//!
//! Selection: files with at least one ip/ip6/inet table are included **whole** — tables of
//! other families in the same file (arp, bridge, netdev) must round-trip too, since the
//! comparison is of the complete listing. Files with only arp/bridge/netdev tables and the
//! empty dumps (an empty expected ruleset) are left out.
//!
//! `NFTVM_VERBOSE=1` prints every failure with a diff-style first difference.

mod common;

use nftvm_compiler::print::{ListOpts, nft};
use nftvm_grammar::{SourceMap, diag::render_all};

/// Load and list a dump. The checker must be idempotent on what the evaluator produced
/// (programmatic producers run `check::all` on IR that may already be checked): checking
/// again must not change the IR.
fn round_trip(name: &str, text: &str) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sm, name, text).map_err(|d| render_all(&d, &sm))?;
    let rs = nftvm_compiler::eval::load(&file).map_err(|d| render_all(&d, &sm))?;
    let mut again = rs.clone();
    let diags = nftvm_compiler::check::all(&mut again);
    if !diags.is_empty() || again != rs {
        return Err(format!("check::all is not idempotent on {name}: {}", render_all(&diags, &sm)));
    }
    Ok(nft::ruleset(&rs, &ListOpts::default_listing()))
}

fn first_difference(expected: &str, got: &str) -> String {
    for (i, (e, g)) in expected.lines().zip(got.lines()).enumerate() {
        if e != g {
            return format!("line {}:\n  expected: {e}\n  got:      {g}", i + 1);
        }
    }
    format!("length differs: expected {} lines, got {}", expected.lines().count(), got.lines().count())
}

#[test]
fn shell_dumps_round_trip() {
    let verbose = std::env::var_os("NFTVM_VERBOSE").is_some();
    let (mut total, mut pass) = (0, 0);
    let mut per_dir: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for common::PeerFile { path, name } in common::nft_shell_dumps() {
        let text = std::fs::read_to_string(&path).expect("readable dump");
        if !common::has_ip_table(&text) {
            continue;
        }
        let group = name.split('/').next().unwrap_or("").to_string();
        let entry = per_dir.entry(group).or_default();
        total += 1;
        entry.1 += 1;
        match round_trip(&name, &text) {
            Ok(out) if out == text => {
                pass += 1;
                entry.0 += 1;
            }
            Ok(out) => {
                if verbose {
                    println!("FAIL {name}: {}", first_difference(&text, &out));
                }
            }
            Err(e) => {
                if verbose {
                    println!("FAIL {name}: rejected\n{e}");
                }
            }
        }
    }
    for (d, (p, t)) in &per_dir {
        println!("  {d:<20} {p}/{t}");
    }
    common::ratchet("nft_dumps", pass, total);
}
