//! Where a classifier's queries go: per part of its tree, how often it was asked, passed
//! over by its filter, ended there by a final answer, walked (and how many steps down), how
//! many boxes were tested, and how often it gave the answer — what `nftvm bench
//! --query-profile` prints.
//!
//! The counts come from the query itself (an `Observe` in [`super::tree`]): the same code path
//! answers with or without a profile, so they are exact, never a model. Native code keeps
//! no counts, so a profile is taken on the interpreter (or the Rust query the JIT calls for
//! a run whose rules go on after they match), which makes the same steps as native code.

use super::tree::Observe;

/// One part's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartCounts {
    /// Queries that reached the part (no earlier answer ruled it out).
    pub asked: u64,
    /// Of those, the ones its filter passed over (no box of the part holds the packet).
    pub passed_over: u64,
    /// Of those, the ones its filter let through that ended there, the answer so far being
    /// final (no later box that could hold the packet is earlier).
    pub ended: u64,
    /// Walks down its tree (a later query about the same packet reuses the walk).
    pub walked: u64,
    /// Steps down a wide node, over all walks.
    pub steps: u64,
    /// Boxes tested against the packet in the leaves reached.
    pub tested: u64,
    /// Queries the part answered (the final answer was one of its boxes).
    pub answered: u64,
}

/// A classifier's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryProfile {
    pub queries: u64,
    pub parts: Vec<PartCounts>,
}

impl QueryProfile {
    /// Queries some box answered.
    pub fn answered(&self) -> u64 {
        self.parts.iter().map(|p| p.answered).sum()
    }

    fn part(&mut self, i: usize) -> &mut PartCounts {
        if self.parts.len() <= i {
            self.parts.resize(i + 1, PartCounts::default());
        }
        &mut self.parts[i]
    }
}

impl Observe for QueryProfile {
    fn asked(&mut self, i: usize) {
        self.part(i).asked += 1;
    }

    fn passed_over(&mut self, i: usize) {
        self.part(i).passed_over += 1;
    }

    fn ended(&mut self, i: usize) {
        self.part(i).ended += 1;
    }

    fn walked(&mut self, i: usize) {
        self.part(i).walked += 1;
    }

    fn stepped(&mut self, i: usize) {
        self.part(i).steps += 1;
    }

    fn tested(&mut self, i: usize) {
        self.part(i).tested += 1;
    }

    fn finished(&mut self, by: Option<usize>) {
        self.queries += 1;
        if let Some(i) = by {
            self.part(i).answered += 1;
        }
    }
}
