//! `nftvm bench classbench RULES TRACE`: a ClassBench filter set compiled as nft
//! ([`crate::classbench::to_nft_with`]: by default filter *i* sets `meta mark` to *i* and
//! accepts; other [`Action`]s give the rules as firewalls write them), every trace packet run
//! through the chain on each engine, the mark and verdict it leaves with checked against the
//! trace's expected first-matching filter (the last matching one, found by a scan, for
//! [`Action::Mark`]), and the time per packet measured ([`super::measure`]).
//!
//! [`bench_linear`] is the baseline the engines are compared with: the same first-match scan
//! written directly in Rust over the parsed filters (a "compiled linear first-match scan").

use super::compile::{Subject, compile_nft};
use super::engines::prepare;
use super::env::BenchEnv;
use super::measure::{MeasureOpts, Timing, measure};
use super::packets::{BenchPacket, trace_packet};
use super::query_profile::{self, ClassifierProfile};
use crate::classbench::{Action, Filter, TracePacket, to_nft_with};
use nftvm_compiler::opt;
use nftvm_vm::interp::{RunOptions, RunResult};
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Engine, Executable, Verdict};
use serde_json::{Value, json};
use std::hint::black_box;

/// A filter set compiled and its trace turned into packets.
#[derive(Debug)]
pub struct Setup {
    pub subject: Subject,
    /// The base chain holding the filters.
    pub chain: ChainId,
    pub filters: Vec<Filter>,
    pub traces: Vec<TracePacket>,
    pub packets: Vec<BenchPacket>,
    /// What the filters' rules do.
    pub action: Action,
}

/// Compiles `filters` (named `name` in diagnostics) unoptimized and builds the trace packets.
pub fn setup(name: &str, filters: Vec<Filter>, traces: Vec<TracePacket>) -> Result<Setup, String> {
    setup_optimized(name, filters, traces, &opt::Options::default(), Action::default())
}

/// [`setup`] with the optimizer's passes `optimize` chooses.
pub fn setup_optimized(
    name: &str,
    filters: Vec<Filter>,
    traces: Vec<TracePacket>,
    optimize: &opt::Options,
    action: Action,
) -> Result<Setup, String> {
    let subject = compile_nft(name, &to_nft_with(&filters, action), optimize)?;
    let chain = subject
        .prog
        .chains
        .iter()
        .position(|c| c.base.is_some())
        .map(|i| ChainId(i as u32))
        .ok_or_else(|| format!("{name}: the compiled ruleset has no base chain"))?;
    let packets = traces.iter().map(trace_packet).collect();
    Ok(Setup { subject, chain, filters, traces, packets, action })
}

/// The outcome of checking packets against the trace's expected filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    pub checked: usize,
    pub mismatches: usize,
    /// The first few mismatches, described.
    pub examples: Vec<String>,
}

impl Check {
    /// Packet `index` (trace `t`) should leave with `expected` (mark, dropped) and left with
    /// `got`.
    fn record(&mut self, index: usize, t: &TracePacket, expected: (u32, bool), got: (u32, bool)) {
        self.checked += 1;
        if got == expected {
            return;
        }
        self.mismatches += 1;
        if self.examples.len() < 5 {
            let show = |(mark, dropped): (u32, bool)| {
                format!("mark {mark}{}", if dropped { ", dropped" } else { "" })
            };
            self.examples.push(format!(
                "trace line {}: {}:{} > {}:{} proto {} (filter {}): expected {}, got {}",
                index + 1,
                t.src,
                t.sport,
                t.dst,
                t.dport,
                t.proto,
                t.expected,
                show(expected),
                show(got)
            ));
        }
    }
}

/// Runs trace packet `i` once; returns the mark it leaves with (0: none set) and whether it
/// was dropped.
fn run_packet(
    setup: &mut Setup,
    exe: &Executable,
    state: &mut nftvm_vm::interp::ProgramState,
    env: &mut BenchEnv,
    out: &mut RunResult,
    i: usize,
) -> (u32, bool) {
    let chain = setup.chain;
    env.mark = 0;
    if let Some(p) = setup.packets.get_mut(i) {
        let mut ctx = p.ctx(Hook::Prerouting);
        exe.run_chain_into(state, chain, &mut ctx, env, RunOptions::VERDICT, out);
    }
    (env.mark, out.verdict == Verdict::Drop)
}

/// Checks the packets `select` picks (by trace index) on `exe`: each must leave with the mark
/// of its expected filter.
pub fn check(setup: &mut Setup, exe: &Executable, select: impl Fn(usize) -> bool) -> Check {
    let mut state = exe.new_state(0);
    let mut env = BenchEnv::default();
    let mut out = RunResult::default();
    let mut result = Check::default();
    let flat: Vec<Flat> = match setup.action {
        Action::Mark => setup.filters.iter().map(Flat::new).collect(),
        _ => Vec::new(),
    };
    for i in 0..setup.packets.len() {
        if !select(i) {
            continue;
        }
        let got = run_packet(setup, exe, &mut state, &mut env, &mut out, i);
        if let Some(t) = setup.traces.get(i) {
            let last = flat.iter().rposition(|f| f.matches(t)).map_or(0, |k| k as u32 + 1);
            result.record(i, t, setup.action.outcome(t.expected, last), got);
        }
    }
    result
}

/// What the optimized program's classifiers did for the whole trace, counted on the
/// interpreter ([`super::query_profile`]).
pub fn query_profiles(setup: &mut Setup) -> Result<Vec<ClassifierProfile>, String> {
    let exe = prepare(&setup.subject, Engine::Interp)?.exe;
    let mut state = exe.new_state(0);
    state.walks.profile();
    let mut env = BenchEnv::default();
    let mut out = RunResult::default();
    for i in 0..setup.packets.len() {
        run_packet(setup, &exe, &mut state, &mut env, &mut out, i);
    }
    Ok(query_profile::collect(setup.subject.prog.program(), &state))
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineReport {
    /// `interp`, `jit` or `linear` (the native baseline).
    pub engine: String,
    pub packets: usize,
    pub check: Check,
    pub timing: Timing,
    /// nft text → verified bytecode, milliseconds (0 for the baseline).
    pub bytecode_ms: f64,
    pub jit_compile_ms: Option<f64>,
    pub rules: usize,
}

impl EngineReport {
    /// Everything it takes before the first packet: bytecode plus native code.
    pub fn compile_ms(&self) -> f64 {
        self.bytecode_ms + self.jit_compile_ms.unwrap_or(0.0)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> Value {
        json!({
            "engine": self.engine,
            "packets": self.packets,
            "mismatches": self.check.mismatches,
            "ns_per_packet_median": round2(self.timing.median),
            "compile_ms": round2(self.compile_ms()),
            "ns_per_packet_p10": round2(self.timing.p10),
            "ns_per_packet_p90": round2(self.timing.p90),
            "ns_per_packet_mean": round2(self.timing.mean),
            "bytecode_compile_ms": round2(self.bytecode_ms),
            "jit_compile_ms": self.jit_compile_ms.map(round2),
            "rules": self.rules,
            "batch": self.timing.batch,
            "samples": self.timing.samples,
        })
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Checks and times every trace packet on `engine`.
pub fn bench_engine(
    setup: &mut Setup,
    engine: Engine,
    opts: &MeasureOpts,
    progress: impl FnMut(f64),
) -> Result<EngineReport, String> {
    let prepared = prepare(&setup.subject, engine)?;
    let exe = prepared.exe;
    let check = check(setup, &exe, |_| true);
    let mut state = exe.new_state(0);
    let mut env = BenchEnv::default();
    let mut out = RunResult::default();
    let n = setup.packets.len();
    let timing = measure(
        n,
        opts,
        |i| {
            black_box(run_packet(setup, &exe, &mut state, &mut env, &mut out, i));
        },
        progress,
    );
    Ok(EngineReport {
        engine: engine.name().to_string(),
        packets: n,
        check,
        timing,
        bytecode_ms: setup.subject.compile_ms,
        jit_compile_ms: prepared.jit_compile_ms,
        rules: setup.filters.len(),
    })
}

/// A filter as plain integers, for the native scan.
#[derive(Clone, Copy, Debug)]
struct Flat {
    src: (u32, u32),
    dst: (u32, u32),
    sport: (u16, u16),
    dport: (u16, u16),
    proto: (u8, u8),
}

fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len.min(32) as u32) }
}

impl Flat {
    fn new(f: &Filter) -> Flat {
        let (sm, dm) = (mask(f.src.1), mask(f.dst.1));
        Flat {
            src: (u32::from(f.src.0) & sm, sm),
            dst: (u32::from(f.dst.0) & dm, dm),
            sport: f.sport,
            dport: f.dport,
            proto: (f.proto.0 & f.proto.1, f.proto.1),
        }
    }

    fn matches(&self, t: &TracePacket) -> bool {
        u32::from(t.src) & self.src.1 == self.src.0
            && u32::from(t.dst) & self.dst.1 == self.dst.0
            && (self.sport.0..=self.sport.1).contains(&t.sport)
            && (self.dport.0..=self.dport.1).contains(&t.dport)
            && t.proto & self.proto.1 == self.proto.0
    }
}

/// The native baseline: first match by a linear scan over the filters, in Rust. (The 6-field
/// variant's flags are not looked at; the wustl sets have none.)
pub fn bench_linear(setup: &Setup, opts: &MeasureOpts, progress: impl FnMut(f64)) -> EngineReport {
    let flat: Vec<Flat> = setup.filters.iter().map(Flat::new).collect();
    let classify = |t: &TracePacket| flat.iter().position(|f| f.matches(t)).map_or(0, |i| i as u32 + 1);
    let mut check = Check::default();
    for (i, t) in setup.traces.iter().enumerate() {
        check.record(i, t, (t.expected, false), (classify(t), false));
    }
    let traces = &setup.traces;
    let timing = measure(
        traces.len(),
        opts,
        |i| {
            if let Some(t) = traces.get(i) {
                black_box(classify(black_box(t)));
            }
        },
        progress,
    );
    EngineReport {
        engine: "linear".into(),
        packets: traces.len(),
        check,
        timing,
        bytecode_ms: 0.0,
        jit_compile_ms: None,
        rules: setup.filters.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classbench::{parse_filters, parse_trace};

    const FILTERS: &str = "\
@10.0.0.0/8 0.0.0.0/0 0 : 65535 22 : 22 0x06/0xFF
@0.0.0.0/0 192.0.2.0/24 1000 : 2000 0 : 65535 0x11/0xFF
@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x2f/0xFF
@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00
";

    /// 10.1.2.3 → 192.0.2.9 in host-order integers, with the filter each should match.
    const TRACE: &str = "\
167838211 3221225993 5000 22 6 1
167838211 3221225993 1500 53 17 2
167838211 3221225993 1 2 47 3
167838211 3221225993 5000 23 6 4
";

    fn small() -> Setup {
        let filters = parse_filters(FILTERS).expect("filters");
        let traces = parse_trace(TRACE).expect("trace");
        setup("small", filters, traces).expect("compiles")
    }

    #[test]
    fn engines_and_the_baseline_find_the_expected_filters() {
        let mut s = small();
        let quick = MeasureOpts {
            repeat: 1,
            batch_target: std::time::Duration::from_micros(1),
            min_time: std::time::Duration::ZERO,
        };
        for engine in Engine::ALL {
            let r = bench_engine(&mut s, engine, &quick, |_| {}).expect("runs");
            assert_eq!((r.check.checked, r.check.mismatches), (4, 0), "{engine}: {:?}", r.check.examples);
            assert_eq!(r.rules, 4);
            assert_eq!(r.to_json()["mismatches"], 0);
        }
        let r = bench_linear(&s, &quick, |_| {});
        assert_eq!((r.check.checked, r.check.mismatches), (4, 0), "{:?}", r.check.examples);
    }

    #[test]
    fn a_wrong_expectation_is_a_mismatch_with_its_line() {
        let mut s = small();
        s.traces[1].expected = 3;
        let exe = Executable::new(std::sync::Arc::clone(&s.subject.prog), Engine::Interp).expect("interp");
        let c = check(&mut s, &exe, |_| true);
        assert_eq!(c.mismatches, 1);
        assert!(c.examples[0].starts_with("trace line 2:"), "{:?}", c.examples);
    }
}
