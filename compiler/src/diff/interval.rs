//! Closed intervals of unsigned numbers and finite unions of them: the value sets every
//! condition of the equivalence engine is made of (a prefix is one interval, a set of ports a
//! union, `!= 22` the union of the two intervals around 22).
//!
//! Every dimension the engine reasons about is at most 128 bits wide, so bounds are `u128`.

use std::fmt;

/// `lo..=hi` (never empty: `lo <= hi`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    pub lo: u128,
    pub hi: u128,
}

impl Interval {
    /// `lo..=hi`; `None` when `lo > hi`.
    pub fn new(lo: u128, hi: u128) -> Option<Interval> {
        (lo <= hi).then_some(Interval { lo, hi })
    }

    /// The single value `v`.
    pub fn point(v: u128) -> Interval {
        Interval { lo: v, hi: v }
    }

    /// Every value of a `bits`-wide number.
    pub fn full(bits: u32) -> Interval {
        Interval { lo: 0, hi: max_of(bits) }
    }

    pub fn contains(&self, v: u128) -> bool {
        self.lo <= v && v <= self.hi
    }

    /// True when `other` lies inside `self`.
    pub fn covers(&self, other: &Interval) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    pub fn intersects(&self, other: &Interval) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    pub fn intersect(&self, other: &Interval) -> Option<Interval> {
        Interval::new(self.lo.max(other.lo), self.hi.min(other.hi))
    }

    pub fn is_point(&self) -> bool {
        self.lo == self.hi
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{:#x}", self.lo)
        } else {
            write!(f, "{:#x}-{:#x}", self.lo, self.hi)
        }
    }
}

/// The largest value of a `bits`-wide number (`bits` ≤ 128).
pub fn max_of(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// A finite union of intervals, kept sorted, disjoint and with adjacent intervals merged, so
/// that two equal sets have equal representations.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct IntervalSet {
    parts: Vec<Interval>,
}

impl IntervalSet {
    pub fn empty() -> IntervalSet {
        IntervalSet { parts: Vec::new() }
    }

    pub fn of(iv: Interval) -> IntervalSet {
        IntervalSet { parts: vec![iv] }
    }

    pub fn point(v: u128) -> IntervalSet {
        IntervalSet::of(Interval::point(v))
    }

    pub fn full(bits: u32) -> IntervalSet {
        IntervalSet::of(Interval::full(bits))
    }

    /// The union of arbitrary (possibly overlapping, unsorted) intervals.
    pub fn from_intervals(mut ivs: Vec<Interval>) -> IntervalSet {
        ivs.sort_unstable();
        let mut parts: Vec<Interval> = Vec::with_capacity(ivs.len());
        for iv in ivs {
            match parts.last_mut() {
                Some(last) if iv.lo <= last.hi.saturating_add(1) => last.hi = last.hi.max(iv.hi),
                _ => parts.push(iv),
            }
        }
        IntervalSet { parts }
    }

    pub fn parts(&self) -> &[Interval] {
        &self.parts
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// True when the set is all of `universe`.
    pub fn is_full(&self, universe: &Interval) -> bool {
        self.parts.len() == 1 && self.parts[0].covers(universe)
    }

    pub fn contains(&self, v: u128) -> bool {
        self.find(v).is_some()
    }

    fn find(&self, v: u128) -> Option<&Interval> {
        let i = self.parts.partition_point(|p| p.hi < v);
        self.parts.get(i).filter(|p| p.lo <= v)
    }

    /// True when every value of `iv` is in the set.
    pub fn covers(&self, iv: &Interval) -> bool {
        self.find(iv.lo).is_some_and(|p| p.hi >= iv.hi)
    }

    /// True when some value of `iv` is in the set.
    pub fn intersects(&self, iv: &Interval) -> bool {
        let i = self.parts.partition_point(|p| p.hi < iv.lo);
        self.parts.get(i).is_some_and(|p| p.lo <= iv.hi)
    }

    /// How the set relates to `iv`: covers it, misses it, or splits it (then: the first point
    /// inside `iv` where membership changes, so that `lo..cut-1` and `cut..hi` each lie
    /// closer to one side).
    pub fn relation(&self, iv: &Interval) -> Relation {
        let i = self.parts.partition_point(|p| p.hi < iv.lo);
        let Some(p) = self.parts.get(i) else { return Relation::Disjoint };
        if p.lo > iv.hi {
            return Relation::Disjoint;
        }
        if p.lo <= iv.lo {
            if p.hi >= iv.hi {
                return Relation::Covers;
            }
            return Relation::Partial(p.hi + 1);
        }
        Relation::Partial(p.lo)
    }

    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        let mut all = self.parts.clone();
        all.extend_from_slice(&other.parts);
        IntervalSet::from_intervals(all)
    }

    pub fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        let (mut i, mut j) = (0, 0);
        let mut parts = Vec::new();
        while i < self.parts.len() && j < other.parts.len() {
            let (a, b) = (self.parts[i], other.parts[j]);
            if let Some(x) = a.intersect(&b) {
                parts.push(x);
            }
            if a.hi < b.hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet { parts }
    }

    /// The values of `universe` not in the set.
    pub fn complement(&self, universe: &Interval) -> IntervalSet {
        let mut parts = Vec::new();
        let mut next = Some(universe.lo);
        for p in &self.parts {
            let Some(start) = next else { break };
            if p.hi < start {
                continue;
            }
            if p.lo > universe.hi {
                break;
            }
            if p.lo > start {
                parts.push(Interval { lo: start, hi: (p.lo - 1).min(universe.hi) });
            }
            next = p.hi.checked_add(1);
        }
        if let Some(start) = next
            && start <= universe.hi
        {
            parts.push(Interval { lo: start, hi: universe.hi });
        }
        IntervalSet { parts }
    }

    /// The smallest value in the set.
    pub fn min(&self) -> Option<u128> {
        self.parts.first().map(|p| p.lo)
    }
}

impl fmt::Debug for IntervalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.parts).finish()
    }
}

/// How a value set relates to an interval (see [`IntervalSet::relation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Covers,
    Disjoint,
    /// Membership changes at this point: `cut` is in `lo+1..=hi`.
    Partial(u128),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(lo: u128, hi: u128) -> Interval {
        Interval { lo, hi }
    }

    #[test]
    fn union_merges_overlaps_and_neighbours() {
        let s = IntervalSet::from_intervals(vec![iv(5, 9), iv(0, 3), iv(4, 4), iv(20, 30), iv(25, 40)]);
        assert_eq!(s.parts(), &[iv(0, 9), iv(20, 40)]);
        let full = IntervalSet::from_intervals(vec![iv(0, u128::MAX), iv(3, u128::MAX)]);
        assert_eq!(full.parts(), &[iv(0, u128::MAX)]);
    }

    #[test]
    fn complement_within_universe() {
        let u = Interval::full(16);
        let s = IntervalSet::point(22);
        assert_eq!(s.complement(&u).parts(), &[iv(0, 21), iv(23, 65535)]);
        assert_eq!(IntervalSet::full(16).complement(&u).parts(), &[]);
        assert_eq!(IntervalSet::empty().complement(&u).parts(), &[u]);
        let top = IntervalSet::of(iv(0, u128::MAX));
        assert!(top.complement(&Interval::full(128)).is_empty());
        let edge = IntervalSet::of(iv(65535, 65535));
        assert_eq!(edge.complement(&u).parts(), &[iv(0, 65534)]);
    }

    #[test]
    fn relation_and_intersection() {
        let s = IntervalSet::from_intervals(vec![iv(10, 20), iv(30, 40)]);
        assert_eq!(s.relation(&iv(12, 18)), Relation::Covers);
        assert_eq!(s.relation(&iv(21, 29)), Relation::Disjoint);
        assert_eq!(s.relation(&iv(5, 15)), Relation::Partial(10));
        assert_eq!(s.relation(&iv(15, 35)), Relation::Partial(21));
        assert_eq!(s.relation(&iv(41, 50)), Relation::Disjoint);
        let t = IntervalSet::from_intervals(vec![iv(15, 32)]);
        assert_eq!(s.intersect(&t).parts(), &[iv(15, 20), iv(30, 32)]);
        assert!(s.covers(&iv(30, 40)) && !s.covers(&iv(20, 30)));
        assert!(s.intersects(&iv(20, 30)) && !s.intersects(&iv(21, 29)));
    }
}
