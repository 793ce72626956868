//! x_tables matches nft has no expression for, which iptables-nft loads as the kernel's
//! matches and nftvm runs too (more are in `scenarios_ipset.rs`): `-m policy` with policy
//! elements or `--dir out`. Every rule counts (most have no target), so the rule counters
//! say which packets each match took.

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_xt_targets::{flow, host, save_file};

/// One `--next`-separated element of an IPsec policy: some of reqid, spi, proto, mode and
/// (in tunnel mode) the tunnel's end points, each perhaps inverted.
fn policy_elem(rng: &mut Rng, v6: bool) -> String {
    let bang = |rng: &mut Rng| if rng.chance(25) { "! " } else { "" };
    let mut opts = Vec::new();
    if rng.chance(40) {
        opts.push(format!("{}--reqid {}", bang(rng), rng.below(4)));
    }
    if rng.chance(40) {
        opts.push(format!("{}--spi 0x{:x}", bang(rng), rng.u32() % 0x1000));
    }
    if rng.chance(50) {
        opts.push(format!("{}--proto {}", bang(rng), rng.pick(&["esp", "ah", "ipcomp"])));
    }
    if rng.chance(40) {
        opts.push("--mode tunnel".into());
        if rng.chance(60) {
            opts.push(format!("{}--tunnel-src {}", bang(rng), host(v6, false, rng.below(3))));
        }
        if rng.chance(40) {
            opts.push(format!("{}--tunnel-dst {}", bang(rng), host(v6, true, rng.below(3))));
        }
    } else if rng.chance(30) {
        opts.push(format!("{}--mode transport", bang(rng)));
    }
    if opts.is_empty() {
        opts.push(format!("--proto {}", rng.pick(&["esp", "ah"])));
    }
    opts.join(" ")
}

/// A `-m policy` match for `dir`: `--pol none`, or `--pol ipsec` with up to three elements
/// (`--strict` for more than one), or none.
fn policy_match(rng: &mut Rng, v6: bool, dir: &str) -> String {
    if rng.chance(30) {
        return format!("-m policy --dir {dir} --pol none");
    }
    let elems = rng.below(4);
    let strict = if elems > 1 || (elems == 1 && rng.bool()) { " --strict" } else { "" };
    let list: Vec<String> = (0..elems).map(|_| policy_elem(rng, v6)).collect();
    let tail = if list.is_empty() { String::new() } else { format!(" {}", list.join(" --next ")) };
    format!("-m policy --dir {dir} --pol ipsec{strict}{tail}")
}

/// `-m policy` (the kernel's xt_policy) in the hooks each direction is valid in: input
/// policies in PREROUTING and FORWARD, output policies in FORWARD and POSTROUTING. Nothing
/// here is IPsec, so `--pol none` takes every packet and `--pol ipsec` none, whatever the
/// elements and their inversions; now and then a rule drops what it takes.
pub fn policy(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let rule = |rng: &mut Rng, chain: &str, dir: &str| {
        let target = if rng.chance(10) { " -j DROP" } else { "" };
        format!("-A {chain} {}{target}", policy_match(rng, v6, dir))
    };
    let mut mangle = Vec::new();
    for _ in 0..1 + rng.below(2) {
        mangle.push(rule(rng, "PREROUTING", "in"));
    }
    for _ in 0..1 + rng.below(2) {
        mangle.push(rule(rng, "POSTROUTING", "out"));
    }
    let forward: Vec<String> = (0..2 + rng.below(4))
        .map(|_| {
            let dir = if rng.bool() { "in" } else { "out" };
            rule(rng, "FORWARD", dir)
        })
        .collect();
    let mut sc = Scenario::new(format!("policy-{i}"), save_file(v6, &mangle, &forward));
    for _ in 0..2 + rng.below(2) {
        flow(&mut sc, rng, v6);
    }
    sc
}
