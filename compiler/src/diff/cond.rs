//! Conditions over slots: a union of boxes, each box a value set per constrained slot. A
//! prefix, a range or a set on one field is one box; a set of concatenations is one box per
//! element; a range over a field cut into several slots is a handful of boxes.
//!
//! The engine never enumerates packets: it asks how a condition relates to a *region* (one
//! interval per slot) — covers it, misses it, or must split it at a given slot and point.

use super::interval::{Interval, IntervalSet, Relation};
use super::universe::Slot;

/// One box: every listed slot's value lies in its set (unlisted slots are free).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BoxC {
    /// Sorted by slot, one entry per slot.
    pub cons: Vec<(Slot, IntervalSet)>,
}

/// A union of boxes (no box: never true).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Cond {
    pub boxes: Vec<BoxC>,
}

/// How a condition relates to a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rel {
    Covers,
    Disjoint,
    /// Cut the region's `slot` interval into `..at-1` and `at..`.
    Split {
        slot: Slot,
        at: u128,
    },
}

impl BoxC {
    /// The always-true box.
    pub fn any() -> BoxC {
        BoxC::default()
    }

    /// Add a constraint (intersecting with an existing one on the same slot). Returns false
    /// when the box became empty.
    pub fn constrain(&mut self, slot: Slot, set: IntervalSet) -> bool {
        match self.cons.binary_search_by_key(&slot, |c| c.0) {
            Ok(i) => {
                let merged = self.cons[i].1.intersect(&set);
                let empty = merged.is_empty();
                self.cons[i].1 = merged;
                !empty
            }
            Err(i) => {
                let empty = set.is_empty();
                self.cons.insert(i, (slot, set));
                !empty
            }
        }
    }

    /// The conjunction of two boxes (None when empty).
    pub fn and(&self, other: &BoxC) -> Option<BoxC> {
        let mut out = self.clone();
        for (s, set) in &other.cons {
            if !out.constrain(*s, set.clone()) {
                return None;
            }
        }
        Some(out)
    }

    pub fn relation(&self, region: &[Interval]) -> Rel {
        let mut split = None;
        for (slot, set) in &self.cons {
            match set.relation(&region[*slot as usize]) {
                Relation::Covers => {}
                Relation::Disjoint => return Rel::Disjoint,
                Relation::Partial(at) => {
                    if split.is_none() {
                        split = Some(Rel::Split { slot: *slot, at });
                    }
                }
            }
        }
        split.unwrap_or(Rel::Covers)
    }

    /// True when some point of the region is in the box.
    pub fn intersects(&self, region: &[Interval]) -> bool {
        self.cons.iter().all(|(slot, set)| set.intersects(&region[*slot as usize]))
    }

    /// Drop constraints that every value of the slot's domain satisfies.
    pub fn simplify(&mut self, domains: &[Interval]) {
        self.cons.retain(|(slot, set)| !set.is_full(&domains[*slot as usize]));
    }
}

impl Cond {
    pub fn never() -> Cond {
        Cond { boxes: Vec::new() }
    }

    pub fn always() -> Cond {
        Cond { boxes: vec![BoxC::any()] }
    }

    pub fn is_never(&self) -> bool {
        self.boxes.is_empty()
    }

    pub fn is_always(&self) -> bool {
        self.boxes.iter().any(|b| b.cons.is_empty())
    }

    pub fn relation(&self, region: &[Interval]) -> Rel {
        let mut split = None;
        for b in &self.boxes {
            match b.relation(region) {
                Rel::Covers => return Rel::Covers,
                Rel::Disjoint => {}
                s @ Rel::Split { .. } => {
                    if split.is_none() {
                        split = Some(s);
                    }
                }
            }
        }
        split.unwrap_or(Rel::Disjoint)
    }

    pub fn intersects(&self, region: &[Interval]) -> bool {
        self.boxes.iter().any(|b| b.intersects(region))
    }

    /// The conjunction of two unions (pairwise box intersections).
    pub fn and(&self, other: &Cond) -> Cond {
        let mut boxes = Vec::new();
        for a in &self.boxes {
            for b in &other.boxes {
                if let Some(x) = a.and(b) {
                    boxes.push(x);
                }
            }
        }
        Cond { boxes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lo: u128, hi: u128) -> IntervalSet {
        IntervalSet::of(Interval { lo, hi })
    }

    #[test]
    fn relation_to_regions() {
        let mut b = BoxC::any();
        b.constrain(0, set(10, 20));
        b.constrain(1, set(22, 22));
        let cond = Cond { boxes: vec![b] };
        let inside = [Interval { lo: 12, hi: 15 }, Interval { lo: 22, hi: 22 }];
        assert_eq!(cond.relation(&inside), Rel::Covers);
        let outside = [Interval { lo: 30, hi: 40 }, Interval { lo: 0, hi: 100 }];
        assert_eq!(cond.relation(&outside), Rel::Disjoint);
        let across = [Interval { lo: 0, hi: 15 }, Interval { lo: 22, hi: 22 }];
        assert_eq!(cond.relation(&across), Rel::Split { slot: 0, at: 10 });
        assert!(Cond::never().relation(&inside) == Rel::Disjoint);
        assert!(Cond::always().relation(&inside) == Rel::Covers);
    }
}
