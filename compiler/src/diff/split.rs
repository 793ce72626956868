//! Where to cut a region. The executor only says which test is undecided (and proposes that
//! test's boundary); cutting there first resolves rules strictly in order, which fragments the
//! space badly when early rules are wide (every later rule gets cut by every earlier one).
//!
//! Instead, as HyperSplit does, look at the rules still in play on both sides (their guard
//! hulls clipped to the region) and pick, over all slots they constrain, the rule boundary
//! that keeps the fewest rules on both sides of the cut (rules spanning the cut count twice),
//! balanced. Any cut strictly inside the region is sound; every cut removes at least one
//! boundary from the interior, so the search still ends, and the undecided test is resolved
//! once the region is small enough.

use super::interval::Interval;
use super::program::Program;
use super::state::SideState;

/// Rules looked at per side (the head of each remaining list matters most).
const WINDOW: usize = 1024;

/// Below this many candidate rules the proposed cut is taken as is.
const SMALL: usize = 4;

/// A cut `(slot, at)`: the region's slot interval becomes `lo..at-1` and `at..hi`.
pub type Cut = (usize, u128);

struct Hull {
    slot: u32,
    lo: u128,
    hi: u128,
}

/// Choose a cut for `region` given each side's program and state; `proposed` is the
/// undecided test's own boundary (used when the rules offer nothing better).
pub fn choose(progs: &[Option<&Program>], states: &[SideState], region: &[Interval], proposed: Cut) -> Cut {
    let mut hulls: Vec<Hull> = Vec::new();
    let mut rules = 0usize;
    for (p, st) in progs.iter().zip(states) {
        let (Some(p), Some(f)) = (p, st.frames.last()) else { continue };
        let chain = &p.chains[f.chain];
        let k = chain.cols.len();
        'rules: for &ri in f.list.idx.iter().skip(f.pos).take(WINDOW) {
            let hs = &chain.hulls[ri as usize * k..ri as usize * k + k];
            let start = hulls.len();
            for (j, s) in chain.cols.iter().enumerate() {
                let r = region[*s as usize];
                let Some(h) = hs[j].intersect(&r) else {
                    hulls.truncate(start);
                    continue 'rules;
                };
                if h != r {
                    hulls.push(Hull { slot: *s, lo: h.lo, hi: h.hi });
                }
            }
            rules += 1;
        }
    }
    if rules < SMALL || hulls.is_empty() {
        return proposed;
    }
    hulls.sort_unstable_by_key(|h| h.slot);
    let mut best: Option<(usize, usize, Cut)> = None;
    let mut i = 0;
    while i < hulls.len() {
        let slot = hulls[i].slot;
        let j = hulls[i..].iter().position(|h| h.slot != slot).map_or(hulls.len(), |x| i + x);
        let group = &hulls[i..j];
        i = j;
        let r = region[slot as usize];
        // Rules not constrained on this slot go to both sides of any cut.
        let spanning = rules - group.len();
        let mut los: Vec<u128> = group.iter().map(|h| h.lo).collect();
        let mut his: Vec<u128> = group.iter().map(|h| h.hi).collect();
        los.sort_unstable();
        his.sort_unstable();
        let mut points: Vec<u128> = group
            .iter()
            .flat_map(|h| [(h.lo > r.lo).then_some(h.lo), (h.hi < r.hi).then(|| h.hi + 1)])
            .flatten()
            .collect();
        points.sort_unstable();
        points.dedup();
        for &p in &points {
            // Rules meeting lo..p-1 and p..hi.
            let left = los.partition_point(|&lo| lo < p);
            let right = group.len() - his.partition_point(|&hi| hi < p);
            let cost = left + right + 2 * spanning;
            let imbalance = left.abs_diff(right);
            if best.is_none_or(|(c, b, _)| (cost, imbalance) < (c, b)) {
                best = Some((cost, imbalance, (slot as usize, p)));
            }
        }
    }
    best.map_or(proposed, |(_, _, cut)| cut)
}
