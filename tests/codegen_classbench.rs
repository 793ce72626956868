//! Codegen semantics against ClassBench: the `acl1_1K` and `fw1_1K` filter sets (prefixes,
//! port ranges, protocol masks) are rendered as nft, compiled, and every packet of their
//! traces run through the interpreter; the rule that decides must be the trace's expected
//! first-matching filter (each rule accepts, so the deciding rule is the first match).

mod common;

use nftvm::bench::packets::trace_packet;
use nftvm::classbench;
use nftvm_compiler::codegen;
use nftvm_grammar::SourceMap;
use nftvm_vm::interp::{NullEnv, ProgramState, run_chain};
use nftvm_vm::keys::Hook;

fn check(set: &str) -> (usize, usize) {
    let (filters, packets) = common::classbench(set);
    let text = classbench::to_nft(&filters);
    let mut sources = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sources, set, &text).expect("parses");
    let rs = nftvm_compiler::eval::load(&file).expect("evaluates");
    let (prog, _) = codegen::compile_verified(&rs).expect("compiles and verifies");
    let mut state = ProgramState::new(&prog, 0);
    let (mut ok, mut total) = (0, 0);
    for t in &packets {
        let mut bytes = trace_packet(t);
        let mut pkt = bytes.ctx(Hook::Prerouting);
        let r = run_chain(&prog, &mut state, nftvm_vm::ChainId(0), &mut pkt, &mut NullEnv);
        let decided = r.decided_by.map(|d| d.rule as u32 + 1);
        total += 1;
        if decided == Some(t.expected) {
            ok += 1;
        } else if total - ok <= 10 {
            println!("{set}: {t:?} decided by {decided:?}");
        }
    }
    println!("{set}: {ok}/{total} packets decided by the expected rule");
    (ok, total)
}

#[test]
fn classbench_traces_match_their_expected_rules() {
    let (mut ok, mut total) = (0, 0);
    for set in ["acl1_1K", "fw1_1K"] {
        let (o, t) = check(set);
        ok += o;
        total += t;
    }
    assert_eq!(ok, total, "packets decided by another rule than ClassBench expects");
}
