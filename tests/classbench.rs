//! ClassBench correctness corpus (issue 6: "0 mismatches on all six ClassBench traces, both
//! engines"): the wustl filter sets acl1, fw1 and ipc1 at 1K and 10K rules are rendered as
//! nft (filter *i* sets `meta mark` to *i*), compiled, and their trace packets run through
//! the chain; every packet must leave with the mark of the trace's expected first-matching
//! filter — the oracle is the trace's last column.
//!
//! The JIT runs every packet. The interpreter runs every packet of the 1K traces and every
//! 8th packet of the 10K traces (a full 10K run costs tens of seconds in the dev profile);
//! `NFTVM_CLASSBENCH_FULL=1` runs them all. Each test prints what it ran.

mod common;

use nftvm::bench::classbench::{Setup, check, setup};
use nftvm_vm::{Engine, Executable};
use std::sync::Arc;

fn load(set: &str) -> Setup {
    let (filters, traces) = common::classbench(set);
    setup(set, filters, traces).unwrap_or_else(|e| panic!("{set}: {e}"))
}

/// Runs `set` on both engines; the interpreter on every `interp_every`-th packet.
fn corpus(set: &str, interp_every: usize) {
    let mut s = load(set);
    let full = std::env::var_os("NFTVM_CLASSBENCH_FULL").is_some_and(|v| v == "1");
    let every = if full { 1 } else { interp_every.max(1) };
    let mut failures = Vec::new();
    for engine in Engine::ALL {
        let exe =
            Executable::new(Arc::clone(&s.subject.prog), engine).unwrap_or_else(|e| panic!("{set}: {e}"));
        let step = if engine == Engine::Interp { every } else { 1 };
        let c = check(&mut s, &exe, |i| i % step == 0);
        println!(
            "{set} ({} filters): {engine}: {}/{} packets{} matched their expected filter, {} mismatches",
            s.filters.len(),
            c.checked - c.mismatches,
            c.checked,
            if step > 1 { format!(" (every {step}th of {})", s.packets.len()) } else { String::new() },
            c.mismatches
        );
        for e in &c.examples {
            println!("  {e}");
        }
        assert!(c.checked > 0, "{set}: {engine}: no packets ran");
        if c.mismatches > 0 {
            failures.push(format!("{engine}: {} mismatches", c.mismatches));
        }
    }
    assert!(failures.is_empty(), "{set}: {}", failures.join(", "));
}

#[test]
fn acl1_1k_both_engines() {
    corpus("acl1_1K", 1);
}

#[test]
fn fw1_1k_both_engines() {
    corpus("fw1_1K", 1);
}

#[test]
fn ipc1_1k_both_engines() {
    corpus("ipc1_1K", 1);
}

#[test]
fn acl1_10k_both_engines() {
    corpus("acl1_10K", 8);
}

#[test]
fn fw1_10k_both_engines() {
    corpus("fw1_10K", 8);
}

#[test]
fn ipc1_10k_both_engines() {
    corpus("ipc1_10K", 8);
}
