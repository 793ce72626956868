//! The symbolic state of one ruleset's evaluation of a packet region: where it is (base
//! chain, call stack, rule, step), what it has written (each written slot holds a constant or
//! a copy of some input slot), lookup temporaries, effects, consulted limiters, the rules
//! that decided, and — once known — the final verdict.

use super::cond::{BoxC, Cond, Rel};
use super::interval::Interval;
use super::program::{Datum, Effect, Program, QueueFate, RejectFate, RuleExit, RuleId};
use super::universe::Slot;
use nftvm_grammar::Span;
use std::rc::Rc;

/// The current value of a written slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymVal {
    /// The packet's input value of this slot.
    Input(Slot),
    Const(u128),
}

/// The final verdict for the packet at this hook.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FinalVerdict {
    Accept,
    Drop,
    Reject(RejectFate),
    Queue(QueueFate),
    Stolen(String),
}

/// A rule (or a base chain's policy) that decided part of the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decider {
    pub span: Span,
    /// None for a base chain's policy.
    pub rule: Option<RuleId>,
}

impl Ord for Decider {
    fn cmp(&self, other: &Decider) -> std::cmp::Ordering {
        let key = |d: &Decider| (d.span.file, d.span.start, d.span.end, d.rule);
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for Decider {
    fn partial_cmp(&self, other: &Decider) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Rules of one chain still worth looking at in the current region, in order, with suffix
/// hashes of their fingerprints (to recognise identical remaining chains cheaply).
#[derive(Clone, Debug)]
pub struct CandList {
    pub idx: Vec<u32>,
    /// `suffix[i]` hashes the fingerprints of `idx[i..]`.
    pub suffix: Vec<u64>,
    /// The *horizon* from `i`: `horizon[i]` rules, `idx[i..i + horizon[i]]`, end with one that
    /// always ends the chain, and none of them can leave to the caller — so nothing after them
    /// (later rules, the policy, the caller's rules) ever runs. 0: no such rule.
    pub horizon: Vec<u32>,
    /// `closed[i]` hashes the fingerprints of the horizon from `i` (when there is one).
    pub closed: Vec<u64>,
}

impl CandList {
    /// The rules from `pos` that can still run, and whether they end with a rule that always
    /// ends the chain (nothing after them matters) — else they run to the chain's end.
    pub fn reach(&self, pos: usize) -> (&[u32], bool) {
        let rest = self.idx.get(pos..).unwrap_or(&[]);
        match self.horizon.get(pos) {
            Some(&n) if n > 0 => (&rest[..n as usize], true),
            _ => (rest, false),
        }
    }

    /// The hash of [`CandList::reach`]`(pos)`.
    pub fn reach_hash(&self, pos: usize) -> Option<u64> {
        match self.horizon.get(pos) {
            Some(&n) if n > 0 => self.closed.get(pos).copied(),
            _ => self.suffix.get(pos).copied(),
        }
    }
}

/// One chain being evaluated.
#[derive(Clone, Debug)]
pub struct Frame {
    pub chain: usize,
    /// Candidate rules; every rule from `pos` on met the region as it was when the list was
    /// made. Since then the region was cut on the `dirty` slots (None: any slot) — the list is
    /// re-filtered lazily, only when the frame moves on to its next rule.
    pub list: Rc<CandList>,
    /// Position in `list`.
    pub pos: usize,
    /// Step within the current rule (0: at the rule's start).
    pub step: usize,
    pub dirty: Option<Vec<Slot>>,
}

impl Frame {
    /// True when the list is exact for the current region.
    pub fn is_fresh(&self) -> bool {
        self.dirty.as_ref().is_some_and(Vec::is_empty)
    }

    /// The region was cut on `slot`.
    pub fn touch(&mut self, slot: Slot) {
        if let Some(d) = &mut self.dirty
            && !d.contains(&slot)
        {
            d.push(slot);
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SideState {
    /// The base chain being run (or next to run, when `frames` is empty).
    pub base: usize,
    pub frames: Vec<Frame>,
    /// Written slots and their current values, sorted by slot.
    pub writes: Vec<(Slot, SymVal)>,
    pub temps: Vec<Option<Datum>>,
    pub effects: Vec<Effect>,
    pub deciders: Vec<Decider>,
    pub consulted: Vec<u32>,
    /// A nat chain translated the packet: the remaining nat chains are skipped.
    pub nat_done: bool,
    pub fate: Option<FinalVerdict>,
    /// Changes to the packet the engine does not model, in order, with where they were made
    /// ([`super::program::UnmodelledStep`]): the fate is not known.
    pub unmodelled: Vec<(String, Span)>,
}

impl SideState {
    /// The current value of a slot.
    pub fn value(&self, slot: Slot) -> SymVal {
        match self.writes.binary_search_by_key(&slot, |w| w.0) {
            Ok(i) => self.writes[i].1,
            Err(_) => SymVal::Input(slot),
        }
    }

    pub fn set(&mut self, slot: Slot, v: SymVal) {
        match self.writes.binary_search_by_key(&slot, |w| w.0) {
            Ok(i) => self.writes[i].1 = v,
            Err(i) => self.writes.insert(i, (slot, v)),
        }
    }

    /// How a condition relates to the region for this side's current values.
    pub fn relation(&self, cond: &Cond, negate: bool, region: &[Interval]) -> Rel {
        let touched = !self.writes.is_empty()
            && cond
                .boxes
                .iter()
                .any(|b| b.cons.iter().any(|(s, _)| self.writes.binary_search_by_key(s, |w| w.0).is_ok()));
        let rel = if touched { self.substitute(cond).relation(region) } else { cond.relation(region) };
        if negate {
            match rel {
                Rel::Covers => Rel::Disjoint,
                Rel::Disjoint => Rel::Covers,
                split => split,
            }
        } else {
            rel
        }
    }

    /// The condition on input slots that `cond` on current values amounts to.
    fn substitute(&self, cond: &Cond) -> Cond {
        let mut boxes = Vec::with_capacity(cond.boxes.len());
        'boxes: for b in &cond.boxes {
            let mut nb = BoxC::any();
            for (slot, set) in &b.cons {
                match self.value(*slot) {
                    SymVal::Input(s) => {
                        if !nb.constrain(s, set.clone()) {
                            continue 'boxes;
                        }
                    }
                    SymVal::Const(c) => {
                        if !set.contains(c) {
                            continue 'boxes;
                        }
                    }
                }
            }
            boxes.push(nb);
        }
        Cond { boxes }
    }
}

/// The starting state of every side.
pub fn initial() -> SideState {
    SideState::default()
}

/// True when two states have done the same things so far (provenance aside) — the first
/// half of recognising that both sides will end the same way.
pub fn same_progress(a: &SideState, b: &SideState) -> bool {
    a.writes == b.writes
        && a.temps.iter().all(Option::is_none)
        && b.temps.iter().all(Option::is_none)
        && a.effects == b.effects
        && a.consulted == b.consulted
        && a.nat_done == b.nat_done
        && a.fate == b.fate
        // After a change the engine does not model, what the steps saw is not what the
        // kernel sees: no two such states are known to go on the same way.
        && a.unmodelled.is_empty()
        && b.unmodelled.is_empty()
}

/// The candidate list of a whole chain (rules that can ever do something).
pub fn full_list(prog: &Program, chain: usize) -> CandList {
    let rules = &prog.chains[chain].rules;
    let idx: Vec<u32> = (0..rules.len() as u32).filter(|&i| !rules[i as usize].never).collect();
    with_suffix(prog, chain, idx)
}

fn with_suffix(prog: &Program, chain: usize, idx: Vec<u32>) -> CandList {
    let rules = &prog.chains[chain].rules;
    let n = idx.len();
    let mut suffix = vec![0u64; n + 1];
    let mut horizon = vec![0u32; n + 1];
    let mut closed = vec![0u64; n + 1];
    for i in (0..n).rev() {
        let rule = &rules[idx[i] as usize];
        suffix[i] = mix(rule.fingerprint, suffix[i + 1]);
        (horizon[i], closed[i]) = match rule.exit {
            RuleExit::Always => (1, mix(rule.fingerprint, CLOSED)),
            RuleExit::Leaves => (0, 0),
            RuleExit::Maybe if horizon[i + 1] > 0 => {
                (horizon[i + 1] + 1, mix(rule.fingerprint, closed[i + 1]))
            }
            RuleExit::Maybe => (0, 0),
        };
    }
    CandList { idx, suffix, horizon, closed }
}

/// Ends the hash of a horizon (distinct from the empty suffix).
const CLOSED: u64 = 0x5bd1_e995_c105_ed00;

/// A cheap, well-spread combination of two hashes.
fn mix(a: u64, b: u64) -> u64 {
    let x = a ^ b.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// The rules of `list` from `pos` on whose guard meets `region` (checking the `dirty`
/// slots only, all when None).
pub fn refilter(
    prog: &Program,
    chain: usize,
    list: &CandList,
    pos: usize,
    region: &[Interval],
    dirty: Option<&[Slot]>,
) -> CandList {
    let ch = &prog.chains[chain];
    let k = ch.cols.len();
    // The guard columns to check, with the region's interval on each.
    let checks: Vec<(usize, Interval)> = ch
        .cols
        .iter()
        .enumerate()
        .filter(|(_, s)| dirty.is_none_or(|d| d.contains(s)))
        .map(|(j, s)| (j, region[*s as usize]))
        .collect();
    let rest = list.idx.get(pos..).unwrap_or(&[]);
    if checks.is_empty() {
        let tail = |v: &[u64]| v.get(pos..).map(<[u64]>::to_vec).unwrap_or_default();
        return CandList {
            idx: rest.to_vec(),
            suffix: tail(&list.suffix),
            horizon: list.horizon.get(pos..).map(<[u32]>::to_vec).unwrap_or_default(),
            closed: tail(&list.closed),
        };
    }
    let mut idx = Vec::with_capacity(rest.len());
    for &i in rest {
        let hulls = &ch.hulls[i as usize * k..i as usize * k + k];
        if checks.iter().all(|(j, iv)| hulls[*j].intersects(iv)) {
            idx.push(i);
        }
    }
    with_suffix(prog, chain, idx)
}
