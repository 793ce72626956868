//! The optimizer's measures (issue 7), side by side in one run, on the ClassBench filter sets
//! with their traces: per set, the `-O0` program (a linear first-match chain) and the `-O2`
//! program (the chain classified) on the JIT and the interpreter.
//!
//! First a summary table (printed, README-ready): trace mismatches, the median ns/packet
//! over batches of 64 trace packets per engine and level, the `-O2` speed-up over the
//! compiled linear scan, the tree query alone (`Tree::query` over the trace's field values,
//! one packet after another: the share of an `-O2` packet's time the classification
//! structure takes), compile times (IR passes + codegen + classification + verify, and the
//! JIT) and the classifiers' bytes; the machine's load average before and after. Then
//! criterion benchmarks of the same per-packet loops and of the `-O2` compile.
//!
//! Run: `cargo bench --bench optimizer` (`NFTVM_BENCH_SETS=acl1_10K,fw1_1K` to choose sets,
//! `NFTVM_BENCH_SUMMARY_ONLY=1` to skip criterion).

mod common;

use criterion::Criterion;
use nftvm::bench::packets::{BenchPacket, trace_packet};
use nftvm::classbench::{self, TracePacket};
use nftvm_compiler::ir::Ruleset;
use nftvm_compiler::opt::{self, Level, Options};
use nftvm_grammar::{SourceMap, nft};
use nftvm_vm::classify::MAX_FIELDS;
use nftvm_vm::interp::{Eval, NullEnv, ProgramState, RunOptions, RunResult};
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Engine, Executable, VerifiedProgram};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ALL_SETS: [&str; 6] = ["acl1_1K", "fw1_1K", "ipc1_1K", "acl1_10K", "fw1_10K", "ipc1_10K"];
const BATCH: usize = 64;

/// A trace packet and the filter ClassBench expects to decide it.
struct Pkt {
    packet: BenchPacket,
    expected: u32,
}

fn packet(t: &TracePacket) -> Pkt {
    Pkt { packet: trace_packet(t), expected: t.expected }
}

/// Runs one packet as `nftvm bench` and the runtime do (verdict and deciding rule only, into
/// a reused result); returns the deciding rule's program index, if any.
fn run(exe: &Executable, state: &mut ProgramState, out: &mut RunResult, p: &mut Pkt) -> Option<usize> {
    let mut pkt = p.packet.ctx(Hook::Prerouting);
    exe.run_chain_into(state, ChainId(0), &mut pkt, &mut NullEnv, RunOptions::VERDICT, out);
    out.decided_by.map(|d| d.rule)
}

struct Set {
    name: String,
    ruleset: Ruleset,
    packets: Vec<Pkt>,
    rules: usize,
    parse: Duration,
}

fn load(name: &str) -> Set {
    let (filters, trace) = common::classbench(name);
    let packets = trace.iter().map(packet).collect();
    let text = classbench::to_nft(&filters);
    let t = Instant::now();
    let mut sources = SourceMap::new();
    let file = nft::parse_str(&mut sources, name, &text).expect("parses");
    let ruleset = nftvm_compiler::eval::load(&file).expect("evaluates");
    Set { name: name.to_string(), ruleset, packets, rules: filters.len(), parse: t.elapsed() }
}

/// The program, the filter number of each of its rules, and the compile time.
fn compile(s: &Set, level: Level) -> (Arc<VerifiedProgram>, Vec<Option<u32>>, Duration) {
    let t = Instant::now();
    let (prog, origins, _) = opt::compile_verified(&s.ruleset, &Options::level(level)).expect("compiles");
    let took = t.elapsed();
    let numbers = classbench::filter_numbers(&s.ruleset, &prog, &origins);
    (Arc::new(prog), numbers, took)
}

/// Median ns/packet over batches of `BATCH` packets (every `stride`-th batch), and mismatches.
fn measure(exe: &Executable, numbers: &[Option<u32>], packets: &mut [Pkt], stride: usize) -> (f64, usize) {
    let mut state = exe.new_state(0);
    let mut out = RunResult::default();
    let mut per_batch = Vec::new();
    let mut mismatches = 0;
    for (i, batch) in packets.chunks_mut(BATCH).enumerate() {
        if i % stride != 0 {
            continue;
        }
        let t = Instant::now();
        for p in batch.iter_mut() {
            let d = run(exe, &mut state, &mut out, p).and_then(|k| numbers.get(k).copied().flatten());
            mismatches += usize::from(d != Some(p.expected));
        }
        per_batch.push(t.elapsed().as_nanos() as f64 / batch.len() as f64);
    }
    per_batch.sort_by(f64::total_cmp);
    (per_batch.get(per_batch.len() / 2).copied().unwrap_or(0.0), mismatches)
}

/// Median ns per `Tree::query` of the program's first classifier over every trace packet's
/// field values, in batches of `BATCH` (`None`: the program has no classifier).
fn query_alone(prog: &VerifiedProgram, packets: &mut [Pkt]) -> Option<f64> {
    let c = prog.classifiers.first()?;
    let mut state = ProgramState::new(prog, 0);
    let mut env = NullEnv;
    let values: Vec<[u64; MAX_FIELDS]> = packets
        .iter_mut()
        .map(|p| {
            let mut pkt = p.packet.ctx(Hook::Prerouting);
            let mut e =
                Eval::start(&mut pkt, &mut env, &mut state, prog, nftvm_vm::keys::Family::Ip, Some(0));
            let mut v = [0u64; MAX_FIELDS];
            c.tree.values(c, &mut e, &mut v);
            v
        })
        .collect();
    let mut per_batch = Vec::new();
    for batch in values.chunks(BATCH) {
        let t = Instant::now();
        for v in batch {
            black_box(c.tree.query(black_box(v), 0));
        }
        per_batch.push(t.elapsed().as_nanos() as f64 / batch.len() as f64);
    }
    per_batch.sort_by(f64::total_cmp);
    per_batch.get(per_batch.len() / 2).copied()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn sets() -> Vec<String> {
    match std::env::var("NFTVM_BENCH_SETS") {
        Ok(v) => v.split(',').map(str::to_string).collect(),
        Err(_) => ALL_SETS.iter().map(|s| s.to_string()).collect(),
    }
}

fn summary(loaded: &mut [Set]) {
    println!("load average before: {}", loadavg());
    println!(
        "| set | rules | -O0 JIT (linear) ns/pkt | -O2 JIT ns/pkt | -O2 interp ns/pkt | speed-up | tree query alone ns | mismatches -O0 jit / -O2 jit / -O2 interp | compile -O2 ms | JIT ms | classifier KiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for s in loaded.iter_mut() {
        let (p0, n0, _) = compile(s, Level::O0);
        let (p2, n2, c2) = compile(s, Level::O2);
        let bytes: usize = p2.classifiers.iter().map(|c| c.heap_bytes()).sum();
        let lin = Executable::new(p0, Engine::Jit).expect("jit");
        let t = Instant::now();
        let jit = Executable::new(Arc::clone(&p2), Engine::Jit).expect("jit");
        let jit_ms = t.elapsed();
        let query = query_alone(&p2, &mut s.packets);
        let interp = Executable::new(p2, Engine::Interp).expect("interp");
        // The linear scan is slow at 10K rules: every 4th batch of its trace.
        let stride = if s.rules > 2000 { 4 } else { 1 };
        let (ns0, m0) = measure(&lin, &n0, &mut s.packets, stride);
        let (ns2, m2) = measure(&jit, &n2, &mut s.packets, 1);
        let (nsi, mi) = measure(&interp, &n2, &mut s.packets, 1);
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.0}× | {} | {}/{}/{} | {:.0} (+{:.0} parse) | {:.0} | {} |",
            s.name,
            s.rules,
            ns0,
            ns2,
            nsi,
            ns0 / ns2.max(0.001),
            query.map_or("-".to_string(), |q| format!("{q:.1}")),
            m0,
            m2,
            mi,
            c2.as_secs_f64() * 1e3,
            s.parse.as_secs_f64() * 1e3,
            jit_ms.as_secs_f64() * 1e3,
            bytes.div_ceil(1024)
        );
    }
    println!("load average after: {}", loadavg());
}

fn criterion(loaded: &mut [Set]) {
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    for s in loaded.iter_mut() {
        let mut g = c.benchmark_group(format!("optimizer/{}", s.name));
        let (p2, _, _) = compile(s, Level::O2);
        let jit = Executable::new(Arc::clone(&p2), Engine::Jit).expect("jit");
        let mut state = jit.new_state(0);
        let mut out = RunResult::default();
        let n = s.packets.len().min(4096);
        g.bench_function("O2 jit, 4096 trace packets", |b| {
            b.iter(|| {
                for p in s.packets[..n].iter_mut() {
                    black_box(run(&jit, &mut state, &mut out, p));
                }
            })
        });
        if s.rules > 2000 {
            let ruleset = &s.ruleset;
            g.bench_function("compile -O2", |b| {
                b.iter(|| {
                    black_box(opt::compile_verified(ruleset, &Options::level(Level::O2)).expect("compiles"))
                })
            });
        }
        g.finish();
    }
    c.final_summary();
}

fn main() {
    let mut loaded: Vec<Set> = sets().iter().map(|s| load(s)).collect();
    summary(&mut loaded);
    if std::env::var_os("NFTVM_BENCH_SUMMARY_ONLY").is_none() {
        criterion(&mut loaded);
    }
}
