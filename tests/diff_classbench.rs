//! Mutation tests for `diff` on ClassBench rule sets (issue 5's acceptance), through the real
//! path: `classbench::to_nft` text, parsed and evaluated like any nft file. A rule set
//! against itself is equivalent; against deliberately mutated copies of its text — a port
//! changed, accept ↔ drop, a live rule deleted, two overlapping rules swapped — it is
//! different, and every counterexample, printed as JSON and replayed from it through codegen
//! and the bytecode interpreter on both rule sets, really gets different fates. Swapping
//! adjacent *disjoint* rules must stay equivalent (no false differences).
//!
//! Live rules come from the ClassBench traces: the first rule a trace packet matches.

mod common;

use common::classbench_live::{live, matches};
use common::{load, vmreplay};
use nftvm::classbench::{Filter, TracePacket, to_nft};
use nftvm::compiler::diff::{self, Options, Side};
use nftvm::compiler::ir::{Ruleset, Span};
use std::net::Ipv4Addr;
use std::time::Instant;

fn loc(side: Side, span: Span) -> String {
    format!("{}:{}", if side == Side::A { "A" } else { "B" }, span.start)
}

fn read(name: &str) -> (Vec<Filter>, Vec<TracePacket>) {
    common::classbench(name)
}

#[derive(Default)]
struct Tally {
    mutants: usize,
    caught: usize,
    counterexamples: usize,
    verified: usize,
}

/// The rendered rule set as lines; rule `i` is line `i + 3` (0-based).
struct Text {
    lines: Vec<String>,
}

const HEADER: usize = 3;

impl Text {
    fn new(filters: &[Filter]) -> Text {
        Text { lines: to_nft(filters).lines().map(str::to_string).collect() }
    }

    fn rule(&mut self, i: usize) -> &mut String {
        &mut self.lines[HEADER + i]
    }

    fn load(&self) -> Ruleset {
        load::nft("classbench.nft", &(self.lines.join("\n") + "\n")).unwrap_or_else(|e| panic!("{e}")).0
    }
}

/// Diff and replay; true when found different.
fn differs(a: &Ruleset, ra: &vmreplay::Replayer, b: &Ruleset, tally: &mut Tally, label: &str) -> bool {
    let t = Instant::now();
    let report = diff::diff(a, b, &Options { max: 3 }).unwrap_or_else(|e| panic!("{label}: {e}"));
    let elapsed = t.elapsed();
    if !report.equivalent() {
        let rb = vmreplay::Replayer::new(b);
        for c in &report.counterexamples {
            tally.counterexamples += 1;
            let json = diff::report::counterexample_json(c, &loc);
            let (fa, fb) = (ra.replay(&json).expect("replayable"), rb.replay(&json).expect("replayable"));
            if fa != fb {
                tally.verified += 1;
            } else {
                eprintln!("{label}: counterexample does not replay: {json}");
            }
        }
    }
    eprintln!(
        "{label}: {} in {:.1} ms ({} nodes, {} pruned)",
        if report.equivalent() { "equivalent" } else { "different" },
        elapsed.as_secs_f64() * 1e3,
        report.stats.nodes,
        report.stats.pruned
    );
    !report.equivalent()
}

/// Replace the destination port match of a rendered rule (None when it has none).
fn change_dport(line: &str, port: u16) -> Option<String> {
    let at = line.find(" dport ")? + " dport ".len();
    let end = line[at..].find(' ').map_or(line.len(), |e| at + e);
    Some(format!("{}{port}{}", &line[..at], &line[end..]))
}

fn run_set(name: &str, per_kind: usize, tally: &mut Tally) {
    let (filters, trace) = read(name);
    let text = Text::new(&filters);
    let original = text.load();
    let replayer = vmreplay::Replayer::new(&original);
    assert!(
        !differs(&original, &replayer, &text.load(), tally, &format!("{name} identity")),
        "{name}: identity"
    );
    let live = live(&filters, &trace, per_kind);
    assert!(!live.is_empty(), "{name}: no live rules found");
    let check = |t: Text, label: String, tally: &mut Tally| {
        tally.mutants += 1;
        tally.caught += usize::from(differs(&original, &replayer, &t.load(), tally, &label));
    };
    for &(k, p) in &live {
        // A port changed: the rule no longer matches its packet's port.
        let mut t = Text::new(&filters);
        if let Some(line) = change_dport(t.rule(k), p.dport ^ 1) {
            *t.rule(k) = line;
            check(t, format!("{name} port {k}"), tally);
        }
        // accept ↔ drop.
        let mut t = Text::new(&filters);
        *t.rule(k) = t.rule(k).replace(" accept", " drop");
        check(t, format!("{name} drop {k}"), tally);
        // A live rule deleted.
        let mut t = Text::new(&filters);
        t.lines.remove(HEADER + k);
        check(t, format!("{name} delete {k}"), tally);
        // Swapped with a later rule that also matches its packet.
        if let Some(j) = (k + 1..filters.len()).find(|&j| matches(&filters[j], &p)) {
            let mut t = Text::new(&filters);
            t.lines.swap(HEADER + k, HEADER + j);
            check(t, format!("{name} swap {k} {j}"), tally);
        }
    }
    // Adjacent disjoint rules swapped: still equivalent.
    let disjoint = |a: &Filter, b: &Filter| {
        let pfx = |x: (Ipv4Addr, u8), y: (Ipv4Addr, u8)| {
            let l = x.1.min(y.1);
            let m = if l == 0 { 0 } else { u32::MAX << (32 - u32::from(l)) };
            u32::from(x.0) & m != u32::from(y.0) & m
        };
        pfx(a.src, b.src) || pfx(a.dst, b.dst)
    };
    let mut swaps = 0;
    for k in (0..filters.len() - 1).step_by(filters.len() / per_kind.max(1)) {
        if !disjoint(&filters[k], &filters[k + 1]) {
            continue;
        }
        let mut t = Text::new(&filters);
        t.lines.swap(HEADER + k, HEADER + k + 1);
        swaps += 1;
        let b = t.load();
        assert!(
            !differs(&original, &replayer, &b, tally, &format!("{name} disjoint swap {k}")),
            "{name}: swap {k}"
        );
    }
    assert!(swaps > 0, "{name}: no disjoint adjacent rules tried");
}

fn report(name: &str, tally: &Tally) {
    println!(
        "{name}: {}/{} mutants caught, {}/{} counterexamples verified by replay",
        tally.caught, tally.mutants, tally.verified, tally.counterexamples
    );
    common::ratchet(&format!("{name}_caught"), tally.caught, tally.mutants);
    common::ratchet(&format!("{name}_verified"), tally.verified, tally.counterexamples);
}

#[test]
fn classbench_1k_mutants_are_caught() {
    let mut tally = Tally::default();
    for set in ["acl1_1K", "fw1_1K", "ipc1_1K"] {
        run_set(set, 6, &mut tally);
    }
    report("diff_classbench_1k", &tally);
}

#[test]
fn classbench_10k_mutants_are_caught() {
    let mut tally = Tally::default();
    for set in ["acl1_10K", "fw1_10K", "ipc1_10K"] {
        run_set(set, 3, &mut tally);
    }
    report("diff_classbench_10k", &tally);
}
