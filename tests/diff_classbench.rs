//! Mutation tests for `diff` on ClassBench rule sets (issue 5's acceptance): a rule set
//! against itself is equivalent; against deliberately mutated copies — a port changed,
//! accept ↔ drop, a live rule deleted, two overlapping rules swapped — it is different, and
//! every printed counterexample, replayed through both rule sets by the reference evaluator,
//! really gets different fates. Swapping adjacent *disjoint* rules must stay equivalent (no
//! false differences).
//!
//! Live rules are found from the ClassBench traces: the first rule a trace packet matches.

mod common;

use common::cb_ir;
use common::refeval;
use nftvm::classbench::{Filter, TracePacket, parse_filters, parse_trace};
use nftvm::compiler::diff::{self, Options, Side};
use nftvm::compiler::ir::{Ruleset, Span, Stmt, StmtKind, Verdict};
use std::time::Instant;

fn loc(side: Side, span: Span) -> String {
    format!("{}:{}", if side == Side::A { "A" } else { "B" }, span.start)
}

fn load(name: &str) -> (Vec<Filter>, Vec<TracePacket>) {
    let dir = common::shared_dir().join("classbench/wustl");
    let rules = std::fs::read_to_string(dir.join("rules").join(name)).expect("rules");
    let trace = std::fs::read_to_string(dir.join("traces").join(format!("{name}_trace"))).expect("trace");
    (parse_filters(&rules).expect("filters"), parse_trace(&trace).expect("trace"))
}

/// Live rules: (rule index, a packet whose first match it is), spread over the rule list.
fn live(filters: &[Filter], trace: &[TracePacket], count: usize) -> Vec<(usize, TracePacket)> {
    let mut first: Vec<Option<TracePacket>> = vec![None; filters.len()];
    for p in trace.iter().take(20_000) {
        if let Some(k) = filters.iter().position(|f| cb_ir::matches(f, p))
            && first[k].is_none()
        {
            first[k] = Some(*p);
        }
    }
    let all: Vec<(usize, TracePacket)> =
        first.iter().enumerate().filter_map(|(k, p)| p.map(|p| (k, p))).collect();
    let step = (all.len() / count).max(1);
    all.into_iter().step_by(step).take(count).collect()
}

struct Tally {
    mutants: usize,
    caught: usize,
    counterexamples: usize,
    verified: usize,
}

/// Diff `a` and `b`; returns whether they were found different, after replaying every
/// counterexample.
fn differs(a: &Ruleset, b: &Ruleset, tally: &mut Tally, label: &str) -> bool {
    let t = Instant::now();
    let report =
        diff::diff(a, b, &Options { max: 3 }).unwrap_or_else(|e| panic!("{label}: undecidable: {e}"));
    let elapsed = t.elapsed();
    for c in &report.counterexamples {
        tally.counterexamples += 1;
        let (fa, fb) = (refeval::fate(a, c), refeval::fate(b, c));
        if fa != fb {
            tally.verified += 1;
        } else {
            eprintln!(
                "{label}: counterexample does not replay:\n{}",
                diff::report::render_text(&report, &loc)
            );
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

fn with_verdict(mut stmts: Vec<Stmt>, v: Verdict) -> Vec<Stmt> {
    if let Some(last) = stmts.last_mut() {
        last.kind = StmtKind::Verdict(v);
    }
    stmts
}

fn run_set(name: &str, per_kind: usize, tally: &mut Tally) {
    let (filters, trace) = load(name);
    let numbered = || filters.iter().cloned().enumerate().collect::<Vec<_>>();
    let original = cb_ir::to_ir(&filters);
    assert!(
        !differs(&original, &cb_ir::to_ir(&filters), tally, &format!("{name} identity")),
        "{name}: identity differs"
    );
    let live = live(&filters, &trace, per_kind);
    assert!(!live.is_empty(), "{name}: no live rules found");
    for &(k, p) in &live {
        // A port changed: the rule no longer matches its packet's port.
        if filters[k].proto.1 == 0xff {
            let mut m = numbered();
            let other = p.dport ^ 1;
            m[k].1.dport = (other, other);
            tally.mutants += 1;
            tally.caught += usize::from(differs(
                &original,
                &cb_ir::to_ir_numbered(m),
                tally,
                &format!("{name} port {k}"),
            ));
        }
        // accept ↔ drop.
        let mut flipped = cb_ir::to_ir(&filters);
        let rule = &mut flipped.tables[0].chains[0].rules[k];
        rule.stmts = with_verdict(std::mem::take(&mut rule.stmts), Verdict::Drop);
        tally.mutants += 1;
        tally.caught += usize::from(differs(&original, &flipped, tally, &format!("{name} drop {k}")));
        // A live rule deleted.
        let mut m = numbered();
        m.remove(k);
        tally.mutants += 1;
        tally.caught +=
            usize::from(differs(&original, &cb_ir::to_ir_numbered(m), tally, &format!("{name} delete {k}")));
        // Swapped with a later rule that also matches its packet.
        if let Some(j) = (k + 1..filters.len()).find(|&j| cb_ir::matches(&filters[j], &p)) {
            let mut m = numbered();
            m.swap(k, j);
            tally.mutants += 1;
            tally.caught += usize::from(differs(
                &original,
                &cb_ir::to_ir_numbered(m),
                tally,
                &format!("{name} swap {k} {j}"),
            ));
        }
    }
    // Adjacent disjoint rules swapped: still equivalent.
    let disjoint = |a: &Filter, b: &Filter| {
        let pfx = |x: (std::net::Ipv4Addr, u8), y: (std::net::Ipv4Addr, u8)| {
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
        let mut m = numbered();
        m.swap(k, k + 1);
        swaps += 1;
        let b = cb_ir::to_ir_numbered(m);
        assert!(
            !differs(&original, &b, tally, &format!("{name} disjoint swap {k}")),
            "{name}: disjoint swap {k} differs"
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
    let mut tally = Tally { mutants: 0, caught: 0, counterexamples: 0, verified: 0 };
    for set in ["acl1_1K", "fw1_1K", "ipc1_1K"] {
        run_set(set, 6, &mut tally);
    }
    report("diff_classbench_1k", &tally);
}

#[test]
fn classbench_10k_mutants_are_caught() {
    let mut tally = Tally { mutants: 0, caught: 0, counterexamples: 0, verified: 0 };
    for set in ["acl1_10K", "fw1_10K", "ipc1_10K"] {
        run_set(set, 3, &mut tally);
    }
    report("diff_classbench_10k", &tally);
}
