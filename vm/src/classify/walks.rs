//! The walks one evaluation made through a classifier's tree, kept for its next query about
//! the same packet.
//!
//! A classified run of rules that go on after they match (`meta mark set 7` with no
//! verdict, a counter, a `jump` that returns) asks its tree once per matching rule, each time
//! from the entry after that rule's, about the packet as it is then. Each part's walk from
//! its root to a leaf depends on the field values only, so while they stay the same the
//! later queries reuse the leaves the first one reached and only scan them from the new
//! entry on. The walks are keyed by the classifier and its field values, so a rule that
//! changed the packet (its values differ) simply gets fresh walks; nothing is invalidated.
//! They serve one evaluation of one chain run, during which the program and its trees do
//! not change; they live in the program's [`crate::interp::ProgramState`] (scratch that
//! [`crate::interp::Eval::start`] makes forget them), so starting an evaluation costs one
//! store, not a cleared array. Every Rust query passes through here, so here too are the
//! counts of what the queries did while a profile is taken ([`super::profile`]).

use super::MAX_FIELDS;
use super::profile::QueryProfile;
use super::tree::{NOT_WALKED, Observe, Tree};
use crate::program::ClassifierId;

/// Most parts whose walks are kept (a tree with more is walked afresh every time).
pub const MAX_PARTS: usize = 8;

/// The kept walks: whose they are, for which values, and per part its leaf.
#[derive(Clone, Debug)]
pub struct Walks {
    /// The classifier (`u32::MAX`: none yet).
    classifier: u32,
    values: [u64; MAX_FIELDS],
    /// Per part: [`NOT_WALKED`], or what the walk found ([`Tree::query_observed`]).
    leaves: [u32; MAX_PARTS],
    /// Per classifier, what its queries did, while profiling ([`Walks::profile`]).
    profiles: Option<Vec<QueryProfile>>,
}

impl Default for Walks {
    fn default() -> Walks {
        // (The values are only compared once a classifier is set.)
        Walks {
            classifier: u32::MAX,
            values: [0; MAX_FIELDS],
            leaves: [NOT_WALKED; MAX_PARTS],
            profiles: None,
        }
    }
}

impl Walks {
    /// Keeps no walks (the next query walks afresh).
    pub fn forget(&mut self) {
        self.classifier = u32::MAX;
    }

    /// Classifier `id`'s (whose tree is `tree`) first entry at or after `from` whose box
    /// holds `values`, reusing the walks of the last query when it was the same classifier's
    /// about the same values.
    pub fn query(
        &mut self,
        id: ClassifierId,
        tree: &Tree,
        values: &[u64; MAX_FIELDS],
        from: u32,
    ) -> Option<u32> {
        if self.profiles.is_none() {
            return self.query_observed(id, tree, values, from, &mut ());
        }
        let mut profiles = self.profiles.take().unwrap_or_default();
        let at = id.0 as usize;
        if profiles.len() <= at {
            profiles.resize(at + 1, QueryProfile::default());
        }
        let answer = self.query_observed(id, tree, values, from, &mut profiles[at]);
        self.profiles = Some(profiles);
        answer
    }

    fn query_observed(
        &mut self,
        id: ClassifierId,
        tree: &Tree,
        values: &[u64; MAX_FIELDS],
        from: u32,
        seen: &mut impl Observe,
    ) -> Option<u32> {
        if !tree.may_requery() || tree.parts() > MAX_PARTS {
            return tree.query_observed(values, from, &mut [], seen);
        }
        let n = tree.fields().min(MAX_FIELDS);
        if self.classifier != id.0 || self.values[..n] != values[..n] {
            self.classifier = id.0;
            self.values[..n].copy_from_slice(&values[..n]);
            self.leaves = [NOT_WALKED; MAX_PARTS];
        }
        tree.query_observed(values, from, &mut self.leaves, seen)
    }

    /// Starts counting what every query does, per classifier (from nothing).
    pub fn profile(&mut self) {
        self.profiles = Some(Vec::new());
    }

    /// The counts since [`Walks::profile`], indexed by classifier (a classifier never asked
    /// may be missing); `None` when not profiling.
    pub fn profiles(&self) -> Option<&[QueryProfile]> {
        self.profiles.as_deref()
    }
}
