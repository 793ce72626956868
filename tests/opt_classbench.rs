//! The optimizer against ClassBench: every filter set is compiled at `-O2` (its runs of rules
//! classified) and every packet of its trace run on both engines; the rule that decides must
//! be the trace's expected first-matching filter (the oracle of the data set). The `-O2`
//! program must really classify (a classifier covering every rule).

mod common;

use nftvm::bench::packets::trace_packet;
use nftvm::classbench::{self, TracePacket};
use nftvm_compiler::opt::{self, Level, Options};
use nftvm_grammar::SourceMap;
use nftvm_vm::interp::NullEnv;
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Engine, Executable};
use std::sync::Arc;

fn load(set: &str) -> (nftvm_compiler::ir::Ruleset, Vec<TracePacket>) {
    let (filters, packets) = common::classbench(set);
    let text = classbench::to_nft(&filters);
    let mut sources = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sources, set, &text).expect("parses");
    (nftvm_compiler::eval::load(&file).expect("evaluates"), packets)
}

/// Runs the trace at `-O2` on `engine`; returns (packets decided by the expected rule, total).
fn check(set: &str, engine: Engine) -> (usize, usize) {
    let (rs, packets) = load(set);
    let (prog, origins, explain) = opt::compile_verified(&rs, &Options::level(Level::O2)).expect("compiles");
    let rules = prog.chains[0].rules.len();
    let classified: usize = prog.classifiers.iter().map(|c| c.entries.len()).sum();
    assert_eq!(classified, rules, "{set}: every rule in a classifier\n{explain:?}");
    let numbers = classbench::filter_numbers(&rs, &prog, &origins);
    let exe = Executable::new(Arc::new(prog), engine).expect("engine");
    let mut state = exe.new_state(0);
    let (mut ok, mut total) = (0, 0);
    for t in &packets {
        let mut bytes = trace_packet(t);
        let mut pkt = bytes.ctx(Hook::Prerouting);
        let r = exe.run_chain(&mut state, ChainId(0), &mut pkt, &mut NullEnv);
        let decided = r.decided_by.and_then(|d| numbers.get(d.rule).copied().flatten());
        total += 1;
        if decided == Some(t.expected) {
            ok += 1;
        } else if total - ok <= 10 {
            println!("{set} {engine}: {t:?} decided by {decided:?}");
        }
    }
    println!("{set} {engine}: {ok}/{total} packets decided by the expected rule");
    (ok, total)
}

fn all(sets: &[&str]) {
    let (mut ok, mut total) = (0, 0);
    for set in sets {
        for engine in Engine::ALL {
            let (o, t) = check(set, engine);
            ok += o;
            total += t;
        }
    }
    assert_eq!(ok, total, "packets decided by another rule than ClassBench expects");
}

#[test]
fn classified_1k_sets_decide_like_the_traces() {
    all(&["acl1_1K", "fw1_1K", "ipc1_1K"]);
}

#[test]
fn classified_10k_sets_decide_like_the_traces() {
    all(&["acl1_10K", "fw1_10K", "ipc1_10K"]);
}
