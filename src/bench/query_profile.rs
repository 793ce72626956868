//! `--query-profile`: what the program's classifiers did for the packets of a benchmark, per
//! part of each tree (see [`nftvm_vm::classify::profile`]), counted during a run on the
//! interpreter (the reference run of a capture, a pass over a ClassBench trace).

use nftvm_vm::Program;
use nftvm_vm::classify::profile::{PartCounts, QueryProfile};
use nftvm_vm::classify::tree::PartSummary;
use nftvm_vm::interp::ProgramState;

/// One classifier's query profile, with what each part of its tree is.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifierProfile {
    pub name: String,
    pub parts: Vec<PartSummary>,
    pub counts: QueryProfile,
}

impl ClassifierProfile {
    /// Each part with its counts (zero for a part no query reached).
    pub fn rows(&self) -> impl Iterator<Item = (&PartSummary, PartCounts)> {
        let counts = |i: usize| self.counts.parts.get(i).copied().unwrap_or_default();
        self.parts.iter().enumerate().map(move |(i, s)| (s, counts(i)))
    }
}

/// The profiles `state` counted since `state.walks.profile()`, one per classifier of `prog`
/// (a classifier never asked has zero counts).
pub fn collect(prog: &Program, state: &ProgramState) -> Vec<ClassifierProfile> {
    let counts = state.walks.profiles().unwrap_or_default();
    prog.classifiers
        .iter()
        .enumerate()
        .map(|(i, c)| ClassifierProfile {
            name: c.name.clone(),
            parts: c.tree.part_summaries(),
            counts: counts.get(i).cloned().unwrap_or_default(),
        })
        .collect()
}
