//! `nftvm bench RULESET --pcap IN`: any ruleset, any capture. Every packet runs through each
//! base chain of an `ip`, `ip6` or `inet` table that applies to its family (in hook, then
//! priority order), as if it visited every hook; the chains see a [`BenchEnv`] (a new flow
//! unless told otherwise). The interpreter's traced run of each (packet, chain) pair is the
//! reference: an engine's verdict, deciding rule and mark must agree with it, and its trace
//! gives the per-rule evaluation counts of the cost breakdown ([`super::profile`]).
//!
//! Timed: all chains of a packet together (ns per packet), and each chain on its own (ns per
//! run), from which each rule's share is estimated.

use super::compile::Subject;
use super::engines::prepare;
use super::env::BenchEnv;
use super::measure::{MeasureOpts, Timing, measure};
use super::packets::BenchPacket;
use super::profile::RuleCounts;
use super::query_profile::{self, ClassifierProfile};
use nftvm_vm::interp::{RunOptions, RunResult};
use nftvm_vm::keys::{Family, Hook};
use nftvm_vm::{ChainId, Engine, Program, Verdict};
use std::hint::black_box;
use std::ops::Range;

/// One chain run of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub packet: usize,
    pub chain: ChainId,
    pub hook: Hook,
}

/// What a run decided (compared between engines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// (chain, rule) of the deciding rule.
    pub decided_by: Option<(ChainId, usize)>,
    pub mark: u32,
}

/// The base chains a benchmark runs, in hook then priority order; `only` keeps those whose
/// name or `table/chain` is listed (all when empty).
pub fn base_chains(prog: &Program, only: &[String]) -> Vec<(ChainId, Family, Hook, i32)> {
    let mut out = Vec::new();
    for (i, ch) in prog.chains.iter().enumerate() {
        let (Some(base), Some(table)) = (ch.base.as_ref(), prog.table(ch.table)) else { continue };
        if !matches!(table.family, Family::Ip | Family::Ip6 | Family::Inet) {
            continue;
        }
        let qualified = format!("{}/{}", table.name, ch.name);
        if !only.is_empty() && !only.iter().any(|o| *o == ch.name || *o == qualified) {
            continue;
        }
        out.push((ChainId(i as u32), table.family, base.hook, base.priority));
    }
    out.sort_by_key(|&(c, _, hook, prio)| (hook_order(hook), prio, c.0));
    out
}

fn hook_order(h: Hook) -> u8 {
    match h {
        Hook::Ingress => 0,
        Hook::Prerouting => 1,
        Hook::Input => 2,
        Hook::Forward => 3,
        Hook::Output => 4,
        Hook::Postrouting => 5,
        Hook::Egress => 6,
    }
}

/// Packets and the chain runs planned for them.
#[derive(Debug)]
pub struct Plan {
    pub packets: Vec<BenchPacket>,
    pub runs: Vec<Run>,
    /// `runs[by_packet[i]]` are packet `i`'s runs.
    pub by_packet: Vec<Range<usize>>,
    pub chains: Vec<ChainId>,
}

impl Plan {
    pub fn new(prog: &Program, packets: Vec<BenchPacket>, only: &[String]) -> Plan {
        let chains = base_chains(prog, only);
        let mut runs = Vec::new();
        let mut by_packet = Vec::with_capacity(packets.len());
        for (i, p) in packets.iter().enumerate() {
            let start = runs.len();
            for &(chain, family, hook, _) in &chains {
                if family == Family::Inet || family == p.nfproto {
                    runs.push(Run { packet: i, chain, hook });
                }
            }
            by_packet.push(start..runs.len());
        }
        Plan { packets, runs, by_packet, chains: chains.iter().map(|c| c.0).collect() }
    }
}

/// Runs one chain run and returns its outcome.
fn run_once(
    exe: &nftvm_vm::Executable,
    state: &mut nftvm_vm::interp::ProgramState,
    packets: &mut [BenchPacket],
    run: Run,
    env: &mut BenchEnv,
    opts: RunOptions,
    out: &mut RunResult,
) -> Outcome {
    env.mark = 0;
    if let Some(p) = packets.get_mut(run.packet) {
        let mut ctx = p.ctx(run.hook);
        exe.run_chain_into(state, run.chain, &mut ctx, env, opts, out);
    }
    Outcome { verdict: out.verdict, decided_by: out.decided_by.map(|d| (d.chain, d.rule)), mark: env.mark }
}

/// One engine's results.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineResult {
    pub engine: Engine,
    /// Runs whose outcome differs from the interpreter's reference, and the first few.
    pub mismatches: usize,
    pub examples: Vec<String>,
    /// All chains of a packet: ns per packet.
    pub per_packet: Timing,
    /// Each chain alone: ns per run, with its number of runs.
    pub per_chain: Vec<(ChainId, usize, Timing)>,
    pub jit_compile_ms: Option<f64>,
}

/// The whole benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureResult {
    pub engines: Vec<EngineResult>,
    pub counts: RuleCounts,
    pub packets: usize,
    pub runs: usize,
    /// Where the classifiers' queries went in the reference run.
    pub query_profiles: Vec<ClassifierProfile>,
}

/// The interpreter's traced outcome of every run, the rule counts from its traces and where
/// the classifiers' queries went.
pub fn reference(
    subject: &Subject,
    plan: &mut Plan,
    env: &BenchEnv,
) -> Result<(Vec<Outcome>, RuleCounts, Vec<ClassifierProfile>), String> {
    let exe = prepare(subject, Engine::Interp)?.exe;
    let prog = subject.prog.program();
    let mut state = exe.new_state(0);
    state.walks.profile();
    let mut env = env.clone();
    let mut out = RunResult::default();
    let mut counts = RuleCounts::new(prog);
    let mut outcomes = Vec::with_capacity(plan.runs.len());
    for &run in &plan.runs {
        outcomes.push(run_once(
            &exe,
            &mut state,
            &mut plan.packets,
            run,
            &mut env,
            RunOptions::TRACED,
            &mut out,
        ));
        counts.add(prog, run.chain, &out.trace);
    }
    Ok((outcomes, counts, query_profile::collect(prog, &state)))
}

/// Checks and times `engine`; `progress(stage, fraction)`.
pub fn bench_engine(
    subject: &Subject,
    plan: &mut Plan,
    reference: &[Outcome],
    engine: Engine,
    env: &BenchEnv,
    opts: &MeasureOpts,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<EngineResult, String> {
    let prepared = prepare(subject, engine)?;
    let exe = prepared.exe;
    let mut state = exe.new_state(0);
    let mut env = env.clone();
    let mut out = RunResult::default();
    let (mut mismatches, mut examples) = (0, Vec::new());
    for (k, &run) in plan.runs.iter().enumerate() {
        let got = run_once(&exe, &mut state, &mut plan.packets, run, &mut env, RunOptions::VERDICT, &mut out);
        if reference.get(k) != Some(&got) {
            mismatches += 1;
            if examples.len() < 5 {
                examples.push(format!(
                    "packet {} chain {}: interp {:?}, {engine} {got:?}",
                    run.packet + 1,
                    subject.prog.program().chain_label(run.chain),
                    reference.get(k)
                ));
            }
        }
    }
    let (packets, runs, by_packet) = (&mut plan.packets, &plan.runs, &plan.by_packet);
    let label = format!("{engine}: all chains");
    let per_packet = measure(
        by_packet.len(),
        opts,
        |i| {
            for &run in runs.get(by_packet[i].clone()).unwrap_or(&[]) {
                black_box(run_once(&exe, &mut state, packets, run, &mut env, RunOptions::VERDICT, &mut out));
            }
        },
        |f| progress(&label, f),
    );
    let mut per_chain = Vec::new();
    for &chain in &plan.chains {
        let mine: Vec<Run> = runs.iter().copied().filter(|r| r.chain == chain).collect();
        let label = format!("{engine}: {}", subject.prog.program().chain_label(chain));
        let t = measure(
            mine.len(),
            opts,
            |i| {
                black_box(run_once(
                    &exe,
                    &mut state,
                    packets,
                    mine[i],
                    &mut env,
                    RunOptions::VERDICT,
                    &mut out,
                ));
            },
            |f| progress(&label, f),
        );
        per_chain.push((chain, mine.len(), t));
    }
    Ok(EngineResult {
        engine,
        mismatches,
        examples,
        per_packet,
        per_chain,
        jit_compile_ms: prepared.jit_compile_ms,
    })
}

/// The reference run, then every engine.
pub fn bench(
    subject: &Subject,
    plan: &mut Plan,
    engines: &[Engine],
    env: &BenchEnv,
    opts: &MeasureOpts,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<CaptureResult, String> {
    let (reference, counts, query_profiles) = reference(subject, plan, env)?;
    let mut results = Vec::new();
    for &engine in engines {
        results.push(bench_engine(subject, plan, &reference, engine, env, opts, progress)?);
    }
    Ok(CaptureResult {
        engines: results,
        counts,
        packets: plan.packets.len(),
        runs: plan.runs.len(),
        query_profiles,
    })
}

/// One rule's line in the cost breakdown.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleCost {
    pub chain: ChainId,
    pub rule: usize,
    pub location: String,
    pub evaluated: u64,
    pub matched: u64,
    /// Estimated share of all chain time (0..=1), and ns per packet, per engine (in the
    /// order of [`CaptureResult::engines`]).
    pub share: f64,
    pub ns_per_packet: Vec<f64>,
}

/// Every rule that was evaluated, most expensive first. A rule's estimated time is its share
/// of the weighted evaluations ([`RuleCounts::units`]) times the measured time of all chains.
pub fn rule_costs(subject: &Subject, result: &CaptureResult) -> Vec<RuleCost> {
    let prog = subject.prog.program();
    let units = result.counts.units(prog);
    let packets = result.packets.max(1) as f64;
    let total_units: f64 = units.iter().flatten().sum();
    // Per engine: measured ns of all chains over one pass of the capture, per packet.
    let per_packet: Vec<f64> = result
        .engines
        .iter()
        .map(|e| e.per_chain.iter().map(|(_, runs, t)| t.median * *runs as f64).sum::<f64>() / packets)
        .collect();
    let mut out = Vec::new();
    for (c, rules) in result.counts.counts.iter().enumerate() {
        let chain = ChainId(c as u32);
        for (r, &(evaluated, matched)) in rules.iter().enumerate() {
            if evaluated == 0 {
                continue;
            }
            let share = if total_units > 0.0 { units[c][r] / total_units } else { 0.0 };
            let source =
                prog.chain(chain).and_then(|ch| ch.rules.get(r)).map(|x| x.source).unwrap_or_default();
            out.push(RuleCost {
                chain,
                rule: r,
                location: subject.location(source),
                evaluated,
                matched,
                share,
                ns_per_packet: per_packet.iter().map(|ns| ns * share).collect(),
            });
        }
    }
    out.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.chain.0.cmp(&b.chain.0)).then(a.rule.cmp(&b.rule)));
    out
}
