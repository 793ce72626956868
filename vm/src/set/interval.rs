//! Interval sets: the kernel's rbtree semantics on a sorted vector. nft sends a range
//! `[a, b]` as a start element `a` and an end element `b + 1` flagged INTERVAL_END (no end
//! element when the range runs to the largest key). A key matches when the greatest
//! boundary at or below it is a start (a start wins over an end with the same key); binary
//! search finds that boundary.

use super::Element;
use super::backend::ElemRec;

/// One boundary: its key, and the element record for a start (`None` for an end).
#[derive(Clone, Debug)]
pub struct Boundary {
    pub key: Vec<u8>,
    pub start: Option<ElemRec>,
}

#[derive(Clone, Debug, Default)]
pub struct IntervalSet {
    /// Sorted by key, one boundary per key.
    pub bounds: Vec<Boundary>,
}

impl IntervalSet {
    pub fn build(elems: &[&Element], now: u64) -> IntervalSet {
        let mut bounds: Vec<Boundary> = elems
            .iter()
            .map(|e| Boundary {
                key: e.key.bytes().to_vec(),
                start: (!e.is_interval_end()).then(|| ElemRec::from_element(e, now)),
            })
            .collect();
        // Sort by key, starts after ends so that dedup keeps the start.
        bounds.sort_by(|a, b| a.key.cmp(&b.key).then(a.start.is_some().cmp(&b.start.is_some())));
        let mut out: Vec<Boundary> = Vec::with_capacity(bounds.len());
        for b in bounds {
            match out.last_mut() {
                Some(last) if last.key == b.key => *last = b,
                _ => out.push(b),
            }
        }
        IntervalSet { bounds: out }
    }

    pub fn get(&self, key: &[u8], now: u64) -> Option<&ElemRec> {
        let idx = self.bounds.partition_point(|b| b.key.as_slice() <= key);
        let b = self.bounds.get(idx.checked_sub(1)?)?;
        b.start.as_ref().filter(|r| r.live(now))
    }

    /// The ranges as inclusive `(start, end)` pairs with their records (`end` = all-ones
    /// when the range is open).
    pub fn ranges(&self, key_len: usize) -> Vec<(Vec<u8>, Vec<u8>, &ElemRec)> {
        let mut out = Vec::new();
        for (i, b) in self.bounds.iter().enumerate() {
            let Some(rec) = &b.start else { continue };
            let end = match self.bounds.get(i + 1) {
                Some(next) => decrement(&next.key),
                None => vec![0xff; key_len],
            };
            out.push((b.key.clone(), end, rec));
        }
        out
    }

    pub fn len(&self) -> usize {
        self.bounds.iter().filter(|b| b.start.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `key - 1` as a big-endian number (wrapping).
pub fn decrement(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    for b in k.iter_mut().rev() {
        let (v, borrow) = b.overflowing_sub(1);
        *b = v;
        if !borrow {
            break;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ByteOrder, Data};

    fn el(k: &[u8], end: bool) -> Element {
        let mut e = Element::new(Data::new(k, ByteOrder::Network).unwrap());
        if end {
            e.flags = super::super::elem_flags::INTERVAL_END;
        }
        e
    }

    #[test]
    fn ranges_and_open_end_as_nft_encodes_them() {
        // { 0, 4-127, 255 } as in srh.t.payload: 00, 01 end, 04, 80 end, ff (open end)
        let e = [el(&[0], false), el(&[1], true), el(&[4], false), el(&[0x80], true), el(&[0xff], false)];
        let refs: Vec<&Element> = e.iter().collect();
        let s = IntervalSet::build(&refs, 0);
        let m = |k: u8| s.get(&[k], 0).is_some();
        assert!(m(0) && !m(1) && !m(3) && m(4) && m(127) && !m(128) && !m(254) && m(255));
        let r = s.ranges(1);
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].0.clone(), r[1].1.clone()), (vec![4], vec![127]));
    }

    #[test]
    fn adjacent_ranges_start_wins() {
        // [1,4] and [5,9]: end 5 and start 5 share a key.
        let e = [el(&[1], false), el(&[5], true), el(&[5], false), el(&[10], true)];
        let refs: Vec<&Element> = e.iter().collect();
        let s = IntervalSet::build(&refs, 0);
        assert!(s.get(&[5], 0).is_some());
        assert!(s.get(&[9], 0).is_some());
        assert!(s.get(&[10], 0).is_none());
        assert!(s.get(&[0], 0).is_none());
    }
}
