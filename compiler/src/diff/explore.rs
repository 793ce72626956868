//! The search: one region (an interval per slot) and the state of each side; run both sides
//! as far as the region allows; when one needs a test decided, cut the region at that test's
//! boundary and continue in both halves (a simultaneous decision tree over both rulesets, as
//! in firewall decision diagrams, but built lazily, depth-first, never stored).
//!
//! Where to cut is `split.rs`'s choice: a balanced cut over the rules still in play, which
//! resolves the undecided test eventually but fragments the space far less.
//!
//! Each half only keeps the rules whose guard still meets it (HyperSplit-style pruning of
//! the candidate lists), so deep in the tree few rules remain. And whenever both sides are
//! at positions whose *remaining programs* are identical (same fingerprints from here on,
//! same state so far), the region cannot show a difference and is dropped: comparing a ruleset
//! with a copy of itself finishes at the root, and a mutant is only explored where it
//! actually differs.

use super::error::{Side, Undecidable};
use super::exec::{Advance, Observer, Runner};
use super::interval::Interval;
use super::limiter::Limiters;
use super::outcome::{self, Difference};
use super::program::Program;
use super::report::Stats;
use super::state::{Decider, FinalVerdict, Frame, SideState, initial, same_progress};
use super::universe::Universe;
use std::collections::HashSet;

/// A region where the sides disagree, with a witness point.
#[derive(Clone, Debug)]
pub struct Found {
    pub vals: Vec<u128>,
    pub states: Vec<SideState>,
    pub diff: Difference,
}

/// Do two frames have the same remaining rules (by fingerprint) in `region`, up to their
/// horizons (see [`super::state::CandList`])? `Some(closed)` when they do — `closed`: both end
/// with a rule that always ends the chain, so nothing after them matters. Exact lists compare
/// by hash, then rule by rule; short stale lists are filtered on the fly; long stale lists are
/// not compared (None: no pruning, never a wrong one).
fn same_rest(pa: &Program, fa: &Frame, pb: &Program, fb: &Frame, region: &[Interval]) -> Option<bool> {
    const SCAN: usize = 64;
    let (ca, cb) = (&pa.chains[fa.chain], &pb.chains[fb.chain]);
    let ((ia, closed_a), (ib, closed_b)) = (fa.list.reach(fa.pos), fb.list.reach(fb.pos));
    if closed_a != closed_b {
        return None;
    }
    let (sa, sb) = (fa.is_fresh(), fb.is_fresh());
    if sa && sb {
        let (ha, hb) = (fa.list.reach_hash(fa.pos), fb.list.reach_hash(fb.pos));
        let same = ha.is_some()
            && ha == hb
            && ia.len() == ib.len()
            && ia
                .iter()
                .zip(ib)
                .all(|(x, y)| ca.rules[*x as usize].fingerprint == cb.rules[*y as usize].fingerprint);
        return same.then_some(closed_a);
    }
    if (!sa && ia.len() > SCAN) || (!sb && ib.len() > SCAN) {
        return None;
    }
    // The current (half-evaluated) rule stays; later ones must meet the region.
    let keep = |list: &[u32], fresh: bool, f: &Frame, prog: &Program| -> Vec<u64> {
        let chain = &prog.chains[f.chain];
        list.iter()
            .enumerate()
            .filter(|(k, i)| {
                fresh || (*k == 0 && f.step > 0) || chain.meets(**i as usize, region, f.dirty.as_deref())
            })
            .map(|(_, i)| chain.rules[*i as usize].fingerprint)
            .collect()
    };
    (keep(ia, sa, fa, pa) == keep(ib, sb, fb, pb)).then_some(closed_a)
}

/// Called at every leaf of a one-sided exploration (`--explain`).
pub trait LeafSink {
    fn leaf(&mut self, region: &[Interval], state: &SideState);
    /// May a leaf whose packet went through a change the engine does not model reach this
    /// sink (else the exploration cannot decide)?
    fn takes_unmodelled(&self) -> bool {
        false
    }
}

/// Explores one point.
pub struct Explorer<'p> {
    runners: Vec<Option<Runner<'p>>>,
    /// Each side's program (for choosing cuts).
    progs: Vec<Option<&'p Program>>,
    uni: &'p Universe,
    limiters: &'p Limiters,
    conntrack: Vec<bool>,
    max: usize,
    pub found: Vec<Found>,
    seen: HashSet<(Vec<Decider>, Vec<Decider>)>,
    pub stats: Stats,
    /// Node count when the first counterexample was found.
    first_at: Option<u64>,
    /// Why equivalence could not be claimed (reported only if no difference is found).
    pub pending: Option<Undecidable>,
}

/// Nodes explored after the first counterexample while looking for further, different ones.
const MORE_BUDGET: u64 = 20_000;

impl<'p> Explorer<'p> {
    /// `progs[i]` is side i's program (None: no base chain, everything accepted).
    pub fn new(progs: &[Option<&'p Program>], uni: &'p Universe, limiters: &'p Limiters, max: usize) -> Self {
        let runners =
            progs.iter().enumerate().map(|(i, p)| p.map(|p| Runner::new(p, Side::from_index(i)))).collect();
        let conntrack =
            (0..uni.slot_count() as u32).map(|s| uni.info(uni.slot(s).storage).key.is_conntrack()).collect();
        Explorer {
            runners,
            progs: progs.to_vec(),
            uni,
            limiters,
            conntrack,
            max,
            found: Vec::new(),
            seen: HashSet::new(),
            stats: Stats::default(),
            first_at: None,
            pending: None,
        }
    }

    fn advance(
        &self,
        i: usize,
        st: &mut SideState,
        region: &[Interval],
        obs: &mut dyn Observer,
    ) -> Result<Advance, Undecidable> {
        match &self.runners[i] {
            Some(r) => r.advance(st, region, obs),
            None => {
                st.fate.get_or_insert(FinalVerdict::Accept);
                Ok(Advance::Done)
            }
        }
    }

    /// True when both sides will end the same way whatever the packet in the region.
    fn same_continuation(&self, states: &[SideState], region: &[Interval]) -> bool {
        let (Some(ra), Some(rb)) = (&self.runners[0], &self.runners[1]) else { return false };
        let (a, b) = (&states[0], &states[1]);
        if !same_progress(a, b) {
            return false;
        }
        let (pa, pb) = (ra.prog, rb.prog);
        if a.frames.is_empty() != b.frames.is_empty() {
            return false;
        }
        if !a.frames.is_empty() {
            let (ba, bb) = (&pa.bases[a.base], &pb.bases[b.base]);
            if ba.nat != bb.nat {
                return false;
            }
            // Innermost frame outwards, until both reach a rule that always ends the chain:
            // the callers' rules (and how deep the calls are) no longer matter then.
            let mut closed = false;
            let (mut ia, mut ib) = (a.frames.iter().rev(), b.frames.iter().rev());
            loop {
                match (ia.next(), ib.next()) {
                    (Some(fa), Some(fb)) => {
                        if fa.step != fb.step {
                            return false;
                        }
                        match same_rest(pa, fa, pb, fb, region) {
                            None => return false,
                            Some(true) => {
                                closed = true;
                                break;
                            }
                            Some(false) => {}
                        }
                    }
                    (None, None) => break,
                    _ => return false,
                }
            }
            if !closed && ba.policy != bb.policy {
                return false;
            }
        }
        let skip = usize::from(!a.frames.is_empty());
        let rest_a = pa.bases.get(a.base + skip..).unwrap_or(&[]);
        let rest_b = pb.bases.get(b.base + skip..).unwrap_or(&[]);
        rest_a.len() == rest_b.len() && rest_a.iter().zip(rest_b).all(|(x, y)| x.fingerprint == y.fingerprint)
    }

    /// Enough counterexamples — or some, and the search for more different ones has gone on
    /// long enough (all further leaves may show the same difference again).
    fn done(&self) -> bool {
        self.found.len() >= self.max || self.first_at.is_some_and(|n| self.stats.nodes > n + MORE_BUDGET)
    }

    /// Explore the whole packet space of the point. With one side, every leaf goes to
    /// `sink`; with two, leaves are compared.
    pub fn run(
        &mut self,
        obs: &mut dyn Observer,
        mut sink: Option<&mut dyn LeafSink>,
        root: Vec<Interval>,
    ) -> Result<(), Undecidable> {
        let n = self.runners.len();
        let mut stack: Vec<(Vec<Interval>, Vec<SideState>)> = vec![(root, vec![initial(); n])];
        while let Some((mut region, mut states)) = stack.pop() {
            loop {
                self.stats.nodes += 1;
                let mut split = None;
                for (i, st) in states.iter_mut().enumerate() {
                    if let Advance::Split { slot, at } = self.advance(i, st, &region, obs)?
                        && split.is_none()
                    {
                        split = Some((slot as usize, at));
                    }
                }
                let Some((slot, at)) = split else {
                    self.stats.leaves += 1;
                    match sink.as_deref_mut() {
                        Some(s) => match states[0].unmodelled.first() {
                            Some((what, span)) if !s.takes_unmodelled() => {
                                return Err(Undecidable::new(what.clone(), Side::A, *span));
                            }
                            _ => s.leaf(&region, &states[0]),
                        },
                        None => self.leaf(&region, &states)?,
                    }
                    break;
                };
                if n == 2 && self.same_continuation(&states, &region) {
                    self.stats.pruned += 1;
                    break;
                }
                let (slot, at) = super::split::choose(&self.progs, &states, &region, (slot, at));
                let mut upper = region.clone();
                upper[slot].lo = at;
                region[slot].hi = at - 1;
                for (i, st) in states.iter_mut().enumerate() {
                    if let Some(r) = &self.runners[i] {
                        r.narrow(st, slot as u32);
                    }
                }
                let upper_states = states.clone();
                stack.push((upper, upper_states));
            }
            if n == 2 && self.done() {
                break;
            }
        }
        Ok(())
    }

    fn leaf(&mut self, region: &[Interval], states: &[SideState]) -> Result<(), Undecidable> {
        // A change the engine does not model leaves the fate unknown: no difference is
        // claimed here, and no equivalence.
        let unmodelled = states.iter().enumerate().find_map(|(i, s)| s.unmodelled.first().map(|u| (i, u)));
        if let Some((i, (what, span))) = unmodelled {
            self.pending.get_or_insert_with(|| Undecidable::new(what.clone(), Side::from_index(i), *span));
            return Ok(());
        }
        let (a, b) = (&states[0], &states[1]);
        let mut region = region;
        let fresh: Vec<Interval>;
        if a.consulted != b.consulted {
            // Paired limiters see different packets: equivalence cannot be claimed. A
            // difference is still real for a freshly loaded ruleset, where every limiter is
            // under its limit — if the region allows that.
            let odd = a
                .consulted
                .iter()
                .find(|x| !b.consulted.contains(x))
                .map(|x| (Side::A, *x))
                .or_else(|| b.consulted.iter().find(|x| !a.consulted.contains(x)).map(|x| (Side::B, *x)));
            if let Some((side, id)) = odd
                && self.pending.is_none()
            {
                let span = self.limiters.span(side, id).unwrap_or_default();
                self.pending = Some(Undecidable::new(
                    "a rate limit / quota / ct count whose counterpart in the other ruleset does not see the same packets",
                    side,
                    span,
                ));
            }
            let mut r = region.to_vec();
            for (s, iv) in r.iter_mut().enumerate() {
                if matches!(
                    self.uni.info(self.uni.slot(s as u32).storage).key,
                    super::storage::Storage::Limiter(_) | super::storage::Storage::Offload(_)
                ) {
                    if iv.lo != 0 {
                        return Ok(());
                    }
                    iv.hi = 0;
                }
            }
            fresh = r;
            region = &fresh;
        }
        let Some(diff) = outcome::compare(a, b, region, &self.conntrack) else { return Ok(()) };
        let key = (a.deciders.clone(), b.deciders.clone());
        if self.seen.contains(&key) {
            return Ok(());
        }
        let vals = super::witness::choose(region, &diff.picks, self.uni);
        // Replay the witness alone: both sides must still disagree on it.
        let point: Vec<Interval> = vals.iter().map(|v| Interval::point(*v)).collect();
        let mut replay = vec![initial(), initial()];
        for (i, st) in replay.iter_mut().enumerate() {
            if self.advance(i, st, &point, &mut super::exec::Quiet)? != Advance::Done {
                return Err(Undecidable::new(
                    "internal: witness did not decide",
                    Side::A,
                    Default::default(),
                ));
            }
        }
        let Some(diff) = outcome::compare(&replay[0], &replay[1], &point, &self.conntrack) else {
            return Err(Undecidable::new(
                "internal: witness does not show the difference",
                Side::A,
                Default::default(),
            ));
        };
        self.seen.insert(key);
        self.first_at.get_or_insert(self.stats.nodes);
        self.found.push(Found { vals, states: replay, diff });
        Ok(())
    }
}
