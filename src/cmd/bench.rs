//! `nftvm bench`: the rule-evaluation benchmark, interpreter vs JIT side by side.
//!
//! - `nftvm bench classbench RULES TRACE`: a ClassBench filter set and its trace; every
//!   packet's first-matching filter (the mark it leaves with) is checked against the trace.
//! - `nftvm bench RULESET --pcap IN`: any ruleset and capture, with a per-chain and per-rule
//!   cost breakdown.
//!
//! The measurement itself lives in the library (`nftvm::bench`); this file parses the command
//! line, loads the inputs and prints the results (a table, or one JSON object per engine with
//! `--json`). Exit 0, or 1 when an engine got a packet wrong.

use crate::cli::{
    CmdResult, Failure, classbench_action, ipset_value, no_opt, opt_level, optimizer_help, unexpected,
    value_str,
};
use crate::cmd::import_classbench::read_filters;
use crate::cmd::progress::Progress;
use crate::cmd::ruleset;
use lexopt::prelude::*;
use nftvm::bench::capture::{self, CaptureResult, Plan, RuleCost};
use nftvm::bench::classbench::{self as cb, EngineReport, round2};
use nftvm::bench::compile::{Subject, load_file};
use nftvm::bench::engines::parse_engines;
use nftvm::bench::env::BenchEnv;
use nftvm::bench::measure::MeasureOpts;
use nftvm::bench::packets::BenchPacket;
use nftvm::bench::query_profile::ClassifierProfile;
use nftvm::classbench::{Action, parse_trace};
use nftvm::program::Format;
use nftvm_compiler::opt::{self, Level};
use nftvm_runtime::io::pcap::CaptureReader;
use nftvm_vm::Engine;
use nftvm_vm::classify::tree::PartFilter;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const HELP: &str = "\
usage: nftvm bench classbench RULES TRACE [options]
       nftvm bench RULESET --pcap IN [options]

Rule-evaluation benchmark, interpreter vs JIT. Packets are built once; each is run through
the compiled chain(s) in a tight loop, timed in batches (ns/packet: median over batches,
p10/p90), after a check that every engine classifies it right.

classbench RULES TRACE   a ClassBench filter set (filter i sets meta mark i) and its trace;
                         each packet's mark must be the trace's expected filter
RULESET --pcap IN        any ruleset and capture: every packet through each ip/ip6/inet base
                         chain of its family; engines must agree with the interpreter; shows
                         the cost per chain and the most expensive rules (file:line)

options
  --engine interp|jit|both   engines to run (default both)
  --json                     one JSON object per engine and line
  --repeat N                 timed passes over the packets (default 3)
  --baseline                 (classbench) also time a linear first-match scan in plain Rust
  --linear                   (classbench) also time the -O0 program (the compiled linear
                             first-match chain) on the same engines, as `ENGINE -O0`
  --query-profile            also count, per part of each classifier's tree, what the
                             queries did (on the interpreter): asked, passed over by the
                             part's filter, ended by a final answer, walked (steps), boxes
                             tested, answered
  --action mark-accept|accept-drop|jump|mark
                             (classbench) what each filter's rule does (default mark-accept:
                             meta mark set i accept; accept-drop: accept, every third drops;
                             jump: to one of 4 chains that mark and accept; mark: meta mark
                             set i and on, every matching rule runs, the last mark stays)
{OPT}
  --chain NAME               (pcap) only this base chain (NAME or TABLE/NAME; repeatable)
  --ct-state STATE           (pcap) what `ct state` answers: new (default), established, ...
  --top N                    (pcap) rules listed in the breakdown (default 15)
  --syntax nft|iptables|ip6tables|bytecode   the ruleset's language (default: detect)
  --ipset FILE               the ipsets iptables rules name (`ipset save` output; repeatable)";

/// The command's help, with the optimizer's options.
fn help() -> String {
    HELP.replace("{OPT}", &optimizer_help(&DEFAULT_LEVEL.to_string()))
}

#[derive(Debug)]
struct Options {
    positional: Vec<PathBuf>,
    pcap: Option<PathBuf>,
    engines: Vec<Engine>,
    json: bool,
    repeat: usize,
    baseline: bool,
    chains: Vec<String>,
    ct_state: u32,
    top: usize,
    format: Option<Format>,
    ipsets: nftvm_compiler::ipset::Ipsets,
    optimize: opt::Options,
    linear: bool,
    query_profile: bool,
    action: Action,
}

/// `bench` measures what runs by default: the optimized program.
const DEFAULT_LEVEL: Level = Level::O2;

fn number(parser: &mut lexopt::Parser, name: &str) -> Result<usize, Failure> {
    let v = value_str(parser, name)?;
    v.parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Failure::usage(format!("nftvm bench: {name} takes a positive number, not `{v}`")))
}

fn parse(args: Vec<OsString>) -> Result<Option<Options>, Failure> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        positional: Vec::new(),
        pcap: None,
        engines: Engine::ALL.to_vec(),
        json: false,
        repeat: 3,
        baseline: false,
        chains: Vec::new(),
        ct_state: BenchEnv::default().ct_state,
        top: 15,
        format: None,
        ipsets: Default::default(),
        optimize: opt::Options::level(DEFAULT_LEVEL),
        linear: false,
        query_profile: false,
        action: Action::default(),
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('O') => opt_level(&mut parser, &mut o.optimize)?,
            Long("no-opt") => no_opt(&mut parser, &mut o.optimize)?,
            Long("linear") => o.linear = true,
            Long("query-profile") => o.query_profile = true,
            Long("action") => o.action = classbench_action(&mut parser, "bench")?,
            Long("engine") => {
                let v = value_str(&mut parser, "--engine")?;
                o.engines = parse_engines(&v).map_err(|e| Failure::usage(format!("nftvm bench: {e}")))?;
            }
            Long("json") => o.json = true,
            Long("repeat") => o.repeat = number(&mut parser, "--repeat")?,
            Long("baseline") => o.baseline = true,
            Long("pcap") => o.pcap = Some(parser.value()?.into()),
            Long("chain") => o.chains.push(value_str(&mut parser, "--chain")?),
            Long("ct-state") => {
                let v = value_str(&mut parser, "--ct-state")?;
                o.ct_state = BenchEnv::ct_state_named(&v).ok_or_else(|| {
                    Failure::usage(format!(
                        "nftvm bench: --ct-state takes new, established, related, invalid or untracked, not `{v}`"
                    ))
                })?;
            }
            Long("top") => o.top = number(&mut parser, "--top")?,
            Long("syntax") => {
                let v = value_str(&mut parser, "--syntax")?;
                o.format = ruleset::format("bench", false, Some(&v))?;
            }
            Long("ipset") => {
                ipset_value(&mut parser, &mut o.ipsets)?;
            }
            Short('h') | Long("help") => {
                println!("{}", help());
                return Ok(None);
            }
            Value(v) => o.positional.push(v.into()),
            other => return Err(unexpected(other, "bench")),
        }
    }
    Ok(Some(o))
}

pub fn run(args: Vec<OsString>) -> CmdResult {
    let Some(o) = parse(args)? else { return Ok(()) };
    let first = o.positional.first().map(|p| p.as_os_str() == "classbench");
    match (first, o.positional.len(), &o.pcap) {
        (Some(true), 3, None) => classbench(&o, &o.positional[1], &o.positional[2]),
        (Some(false), 1, Some(_)) if o.baseline || o.linear => {
            Err(Failure::usage("nftvm bench: --baseline and --linear are for `classbench RULES TRACE`"))
        }
        (Some(false), 1, Some(pcap)) => pcap_bench(&o, &o.positional[0], pcap),
        _ => Err(Failure::usage(format!(
            "nftvm bench: expected `classbench RULES TRACE` or `RULESET --pcap IN`\n{}",
            help()
        ))),
    }
}

fn measure_opts(o: &Options) -> MeasureOpts {
    MeasureOpts { repeat: o.repeat, ..MeasureOpts::default() }
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

// ---- classbench ----

fn classbench(o: &Options, rules: &Path, trace: &Path) -> CmdResult {
    let filters = read_filters(rules)?;
    let text = std::fs::read_to_string(trace)
        .map_err(|e| Failure::runtime(format!("nftvm bench: cannot read {}: {e}", trace.display())))?;
    let traces = parse_trace(&text)
        .map_err(|e| Failure::negative(format!("{}:{}: {}", trace.display(), e.line, e.message)))?;
    let name = rules.file_name().map_or_else(|| "rules".into(), |n| n.to_string_lossy().into_owned());
    let fail = |e: String| Failure::runtime(format!("nftvm bench: {e}"));
    let mut linear = match o.linear {
        true => Some(
            cb::setup_optimized(&name, filters.clone(), traces.clone(), &opt::Options::default(), o.action)
                .map_err(fail)?,
        ),
        false => None,
    };
    let mut setup = cb::setup_optimized(&name, filters, traces, &o.optimize, o.action).map_err(fail)?;
    let opts = measure_opts(o);
    let mut progress = Progress::new();
    let mut reports: Vec<EngineReport> = Vec::new();
    for &engine in &o.engines {
        let label = format!("{name}: {engine}");
        let r = cb::bench_engine(&mut setup, engine, &opts, |f| progress.update(&label, f))
            .map_err(|e| Failure::runtime(format!("nftvm bench: {engine}: {e}")))?;
        reports.push(r);
    }
    for &engine in &o.engines {
        let Some(setup0) = linear.as_mut() else { break };
        let label = format!("{name}: {engine} -O0");
        let mut r = cb::bench_engine(setup0, engine, &opts, |f| progress.update(&label, f))
            .map_err(|e| Failure::runtime(format!("nftvm bench: {engine} -O0: {e}")))?;
        r.engine = format!("{engine} -O0");
        reports.push(r);
    }
    if o.baseline {
        let label = format!("{name}: linear scan");
        reports.push(cb::bench_linear(&setup, &opts, |f| progress.update(&label, f)));
    }
    progress.finish();
    let profiles = match o.query_profile {
        true => cb::query_profiles(&mut setup).map_err(fail)?,
        false => Vec::new(),
    };
    if o.json {
        for r in &reports {
            println!("{}", r.to_json());
        }
        for p in &profiles {
            println!("{}", query_profile_json(p));
        }
    } else {
        print_classbench(&name, &setup, &reports);
        for p in &profiles {
            print_query_profile(p);
        }
    }
    let mut wrong = String::new();
    for r in reports.iter().filter(|r| r.check.mismatches > 0) {
        wrong.push_str(&format!("nftvm bench: {}: {} mismatches\n", r.engine, r.check.mismatches));
        for e in &r.check.examples {
            wrong.push_str(&format!("  {e}\n"));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(Failure::negative(wrong)) }
}

fn print_classbench(name: &str, setup: &cb::Setup, reports: &[EngineReport]) {
    println!(
        "{name}: {} rules, {} packets (load average {})",
        setup.filters.len(),
        setup.packets.len(),
        load_average().unwrap_or_else(|| "?".into())
    );
    println!(
        "{:<10} {:>10} {:>12} {:>10} {:>10} {:>12} {:>12}",
        "engine", "mismatches", "ns/pkt med", "p10", "p90", "bytecode ms", "jit ms"
    );
    for r in reports {
        println!(
            "{:<10} {:>10} {:>12.1} {:>10.1} {:>10.1} {:>12.1} {:>12}",
            r.engine,
            r.check.mismatches,
            r.timing.median,
            r.timing.p10,
            r.timing.p90,
            r.bytecode_ms,
            r.jit_compile_ms.map_or("-".to_string(), |ms| format!("{ms:.1}"))
        );
    }
    print_ratios(reports.iter().map(|r| (r.engine.as_str(), r.timing.median)));
}

/// An average per `of` (0 for nothing).
fn per(n: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// A share of `of` as a percentage.
fn percent(n: u64, of: u64) -> f64 {
    100.0 * per(n, of)
}

/// A filter's key as `fF>>S,fF>>S`: field `F` shifted right by `S` bits, the high byte first.
fn filter_key(f: &PartFilter) -> String {
    let [(hf, hs), (lf, ls)] = f.key;
    format!("f{hf}>>{hs},f{lf}>>{ls}")
}

/// A part's filter in a few words.
fn describe_filter(f: Option<&PartFilter>) -> String {
    match f {
        None => "-".into(),
        Some(f) if f.dispatch => format!("{} to {} trees", filter_key(f), f.keys),
        Some(f) => format!("{} passes {}", filter_key(f), f.keys),
    }
}

fn print_query_profile(p: &ClassifierProfile) {
    let c = &p.counts;
    println!(
        "{}: {} queries (interpreter), {:.1} % answered; per part, shares of all queries:",
        p.name,
        c.queries,
        percent(c.answered(), c.queries)
    );
    println!(
        "{:>4} {:>7} {:<30} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>9}",
        "part",
        "first",
        "filter",
        "asked",
        "passed",
        "final",
        "walked",
        "steps/walk",
        "boxes/walk",
        "answered"
    );
    for (i, (s, k)) in p.rows().enumerate() {
        println!(
            "{:>4} {:>7} {:<30} {:>6.1}% {:>6.1}% {:>6.1}% {:>6.1}% {:>10.2} {:>10.2} {:>8.1}%",
            i,
            s.first,
            describe_filter(s.filter.as_ref()),
            percent(k.asked, c.queries),
            percent(k.passed_over, c.queries),
            percent(k.ended, c.queries),
            percent(k.walked, c.queries),
            per(k.steps, k.walked),
            per(k.tested, k.walked),
            percent(k.answered, c.queries)
        );
    }
}

fn query_profile_json(p: &ClassifierProfile) -> serde_json::Value {
    let parts: Vec<serde_json::Value> = p
        .rows()
        .map(|(s, k)| {
            serde_json::json!({
                "first": s.first,
                "filter": s.filter.as_ref().map(|f| serde_json::json!({
                    "key": filter_key(f), "keys": f.keys, "dispatch": f.dispatch,
                })),
                "asked": k.asked,
                "passed_over": k.passed_over,
                "ended_final": k.ended,
                "walked": k.walked,
                "steps": k.steps,
                "boxes_tested": k.tested,
                "answered": k.answered,
            })
        })
        .collect();
    serde_json::json!({ "classifier": p.name, "queries": p.counts.queries, "parts": parts })
}

/// "jit is 12.3× faster than interp", for every pair against the first engine.
fn print_ratios<'a>(medians: impl Iterator<Item = (&'a str, f64)>) {
    let all: Vec<(&str, f64)> = medians.collect();
    if let Some((base, base_ns)) = all.iter().find(|(e, _)| *e == "interp").or(all.first()).copied() {
        for (e, ns) in all.iter().filter(|(e, _)| *e != base) {
            if *ns > 0.0 {
                println!(
                    "{e}: {:.2}x the speed of {base} (median ns/packet {:.1} vs {:.1})",
                    base_ns / ns,
                    ns,
                    base_ns
                );
            }
        }
    }
}

// ---- any ruleset, any capture ----

/// Loads and compiles a ruleset (shared loader) with each rule's `file:line`; a ruleset with
/// errors fails as in `eval` (exit 2, nft's diagnostics).
fn load_subject(path: &Path, o: &Options) -> Result<Subject, Failure> {
    load_file(path, o.format, &o.ipsets, &o.optimize).map_err(|e| Failure::runtime(e.message))
}

/// The IP packets of a capture, and how many records were not IP.
fn read_capture(path: &Path) -> Result<(Vec<BenchPacket>, usize), Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::runtime(format!("nftvm bench: {}: {e}", path.display()));
    let mut reader = CaptureReader::open(path).map_err(|e| fail(&e))?;
    let (mut packets, mut skipped) = (Vec::new(), 0);
    while let Some(record) = reader.next_record().map_err(|e| fail(&e))? {
        match BenchPacket::from_frame(record.data, record.link_type) {
            Ok(p) => packets.push(p),
            Err(_) => skipped += 1,
        }
    }
    Ok((packets, skipped))
}

fn pcap_bench(o: &Options, ruleset: &Path, pcap: &Path) -> CmdResult {
    let subject = load_subject(ruleset, o)?;
    let (packets, skipped) = read_capture(pcap)?;
    let mut plan = Plan::new(subject.prog.program(), packets, &o.chains);
    if plan.chains.is_empty() {
        return Err(Failure::usage(format!(
            "nftvm bench: {}: no ip/ip6/inet base chain to run{}",
            ruleset.display(),
            if o.chains.is_empty() { "" } else { " (--chain matched none)" }
        )));
    }
    let env = BenchEnv { ct_state: o.ct_state, ..BenchEnv::default() };
    let mut progress = Progress::new();
    let result = capture::bench(&subject, &mut plan, &o.engines, &env, &measure_opts(o), &mut |l, f| {
        progress.update(l, f)
    })
    .map_err(|e| Failure::runtime(format!("nftvm bench: {e}")))?;
    progress.finish();
    let costs = capture::rule_costs(&subject, &result);
    let profiles = if o.query_profile { result.query_profiles.as_slice() } else { &[] };
    if o.json {
        for (i, e) in result.engines.iter().enumerate() {
            println!("{}", pcap_json(&subject, &result, i, e, &costs, o.top));
        }
        for p in profiles {
            println!("{}", query_profile_json(p));
        }
    } else {
        print_pcap(&subject, &result, &costs, o.top, skipped, ruleset, pcap);
        for p in profiles {
            print_query_profile(p);
        }
    }
    let wrong: Vec<String> = result
        .engines
        .iter()
        .filter(|e| e.mismatches > 0)
        .map(|e| {
            format!(
                "nftvm bench: {}: {} runs differ from the interpreter\n  {}",
                e.engine,
                e.mismatches,
                e.examples.join("\n  ")
            )
        })
        .collect();
    if wrong.is_empty() { Ok(()) } else { Err(Failure::negative(wrong.join("\n"))) }
}

fn pcap_json(
    subject: &Subject,
    result: &CaptureResult,
    index: usize,
    e: &capture::EngineResult,
    costs: &[RuleCost],
    top: usize,
) -> Value {
    let prog = subject.prog.program();
    let chains: Vec<Value> = e
        .per_chain
        .iter()
        .map(|(c, runs, t)| {
            json!({"chain": prog.chain_label(*c), "runs": runs, "ns_per_run_median": round2(t.median), "ns_per_run_p90": round2(t.p90)})
        })
        .collect();
    let rules: Vec<Value> = costs
        .iter()
        .take(top)
        .map(|r| {
            json!({
                "location": r.location,
                "chain": prog.chain_label(r.chain),
                "rule": r.rule,
                "evaluated": r.evaluated,
                "matched": r.matched,
                "share_est": (r.share * 1e4).round() / 1e4,
                "ns_per_packet_est": round2(r.ns_per_packet.get(index).copied().unwrap_or(0.0)),
            })
        })
        .collect();
    let compile_ms = subject.compile_ms + e.jit_compile_ms.unwrap_or(0.0);
    json!({
        "engine": e.engine.name(),
        "packets": result.packets,
        "mismatches": e.mismatches,
        "ns_per_packet_median": round2(e.per_packet.median),
        "compile_ms": round2(compile_ms),
        "ns_per_packet_p10": round2(e.per_packet.p10),
        "ns_per_packet_p90": round2(e.per_packet.p90),
        "ns_per_packet_mean": round2(e.per_packet.mean),
        "bytecode_compile_ms": round2(subject.compile_ms),
        "jit_compile_ms": e.jit_compile_ms.map(round2),
        "chain_runs": result.runs,
        "chains": chains,
        "rules": rules,
    })
}

fn print_pcap(
    subject: &Subject,
    result: &CaptureResult,
    costs: &[RuleCost],
    top: usize,
    skipped: usize,
    ruleset: &Path,
    pcap: &Path,
) {
    let prog = subject.prog.program();
    println!(
        "{} on {}: {} packets ({} not IP, skipped), {} chain runs (load average {})",
        ruleset.display(),
        pcap.display(),
        result.packets,
        skipped,
        result.runs,
        load_average().unwrap_or_else(|| "?".into())
    );
    println!(
        "{:<8} {:>10} {:>12} {:>10} {:>10} {:>12}",
        "engine", "mismatches", "ns/pkt med", "p10", "p90", "compile ms"
    );
    for e in &result.engines {
        println!(
            "{:<8} {:>10} {:>12.1} {:>10.1} {:>10.1} {:>12.1}",
            e.engine.name(),
            e.mismatches,
            e.per_packet.median,
            e.per_packet.p10,
            e.per_packet.p90,
            subject.compile_ms + e.jit_compile_ms.unwrap_or(0.0)
        );
    }
    print_ratios(result.engines.iter().map(|e| (e.engine.name(), e.per_packet.median)));
    println!("\nper chain (ns per run, median)");
    let engines: Vec<&str> = result.engines.iter().map(|e| e.engine.name()).collect();
    println!(
        "  {:<40} {:>8} {}",
        "chain",
        "runs",
        engines.iter().map(|e| format!("{e:>10}")).collect::<String>()
    );
    if let Some(first) = result.engines.first() {
        for (k, (c, runs, _)) in first.per_chain.iter().enumerate() {
            let cols: String = result
                .engines
                .iter()
                .map(|e| e.per_chain.get(k).map_or("-".to_string(), |(_, _, t)| format!("{:.1}", t.median)))
                .map(|s| format!("{s:>10}"))
                .collect();
            println!("  {:<40} {:>8} {cols}", prog.chain_label(*c), runs);
        }
    }
    println!("\nmost expensive rules (evaluations exact; time estimated from them, ns per packet)");
    println!(
        "  {:<28} {:<28} {:>10} {:>10} {:>7} {}",
        "rule",
        "chain",
        "evaluated",
        "matched",
        "share",
        engines.iter().map(|e| format!("{e:>10}")).collect::<String>()
    );
    for r in costs.iter().take(top) {
        let cols: String = r.ns_per_packet.iter().map(|ns| format!("{ns:>10.1}")).collect();
        println!(
            "  {:<28} {:<28} {:>10} {:>10} {:>6.1}% {cols}",
            r.location,
            prog.chain_label(r.chain),
            r.evaluated,
            r.matched,
            r.share * 100.0
        );
    }
}
