//! Exact-match sets (plain and concatenated keys): a hash table keyed by the register bytes
//! of the key. The only backend that dynsets can change, as in the kernel.
//!
//! A set's `size` counts what the kernel's does: an element deleted from the packet path,
//! or expired, keeps its place until the set's garbage collection (every `gc-interval`,
//! a second by default, from the set's creation) removes it — so a full set refuses new
//! keys until then, even after deletes. The collection also removes the elements of a
//! dynamic set whose `ct count` list no longer counts a connection (`nft_rhash_gc`): a
//! set of a size that filled with the sources of closed connections takes new ones again.
//! (It runs when due at the next insertion of a new key or at the runtime's timer tick,
//! and sees the lists as they are then.)

use super::Element;
use super::backend::ElemRec;
use crate::data::Data;
use crate::expr::Expr;
use crate::expr::connlimit::ConnList;
use crate::expr::dynset::element_slots;
use crate::interp::Slot;
use hashbrown::HashMap;

#[derive(Clone, Debug)]
pub struct HashSet {
    map: HashMap<Vec<u8>, ElemRec>,
    /// Elements gone from `map` (deleted, or expired and replaced) that still take a place
    /// until the next collection.
    held: usize,
    /// When the next collection runs, and how often (ns).
    gc_at: u64,
    gc_every: u64,
    /// `flags dynamic`: the collection also removes elements whose connection list counts
    /// nothing (only a dynamic set's does, as `nft_rhash_gc`).
    dynamic: bool,
}

/// The kernel's collection interval when a set names none (`HZ`).
const GC_EVERY_DEFAULT: u64 = 1_000_000_000;

impl Default for HashSet {
    /// An empty dynamic set created at time 0, collected every second.
    fn default() -> HashSet {
        HashSet::build(&[], 0, 0, true)
    }
}

impl HashSet {
    /// A set of `elems` created at `now`, collected every `gc_every` ns (a second if 0);
    /// `dynamic`: see [`HashSet::collect`].
    pub fn build(elems: &[&Element], now: u64, gc_every: u64, dynamic: bool) -> HashSet {
        let mut map = HashMap::with_capacity(elems.len());
        for e in elems {
            map.insert(e.key.bytes().to_vec(), ElemRec::from_element(e, now));
        }
        let gc_every = if gc_every == 0 { GC_EVERY_DEFAULT } else { gc_every };
        HashSet { map, held: 0, gc_at: now.saturating_add(gc_every), gc_every, dynamic }
    }

    /// Runs the collections due by `now`: expired elements go, and in a dynamic set those
    /// with a connection list that `gone` says counts nothing; held places are freed.
    pub fn collect(&mut self, now: u64, gone: &mut dyn FnMut(ConnList) -> bool) {
        if now < self.gc_at {
            return;
        }
        let dynamic = self.dynamic;
        let mut counts_nothing =
            |r: &ElemRec| r.slots.iter().any(|s| matches!(s, Slot::Conns(l) if gone(*l)));
        self.map.retain(|_, r| r.live(now) && !(dynamic && counts_nothing(r)));
        self.held = 0;
        let missed = (now - self.gc_at) / self.gc_every;
        self.gc_at = self.gc_at.saturating_add((missed + 1).saturating_mul(self.gc_every));
    }

    pub fn get(&self, key: &[u8], now: u64) -> Option<&ElemRec> {
        self.map.get(key).filter(|r| r.live(now))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        key: &[u8],
        data: Option<Data>,
        timeout: Option<u64>,
        refresh: bool,
        now: u64,
        max: u32,
        exprs: &[Expr],
        gone: &mut dyn FnMut(ConnList) -> bool,
    ) -> Option<&mut [Slot]> {
        let live = self.map.get(key).is_some_and(|r| r.live(now));
        if !live {
            self.collect(now, gone);
            if self.map.len() + self.held >= max as usize {
                return None;
            }
            if self.map.contains_key(key) {
                // The expired element of this key stays in the kernel's table beside the
                // new one until collected.
                self.held += 1;
            }
            let rec = ElemRec {
                data: data.map(super::ElemData::Value),
                expires: timeout.map(|t| now.saturating_add(t)),
                timeout,
                slots: element_slots(exprs, now),
                declared: false,
            };
            self.map.insert(key.to_vec(), rec);
        } else if refresh && let (Some(t), Some(r)) = (timeout, self.map.get_mut(key)) {
            // The element's own timeout stays what it was created with (Linux 6.18 lists it
            // so): only its expiry moves.
            r.expires = Some(now.saturating_add(t));
        }
        self.map.get_mut(key).map(|r| r.slots.as_mut_slice())
    }

    /// Every element (live or not) with its key, for engines that compile small sets inline.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], &ElemRec)> {
        self.map.iter().map(|(k, r)| (k.as_slice(), r))
    }

    /// Deletes `key`'s element (it keeps its place until the next collection); was it live?
    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        let removed = self.map.remove(key);
        self.held += usize::from(removed.is_some());
        removed.is_some_and(|r| r.live(now))
    }

    pub fn len(&self, now: u64) -> usize {
        self.map.values().filter(|r| r.live(now)).count()
    }

    pub fn is_empty(&self, now: u64) -> bool {
        self.len(now) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ByteOrder;

    fn el(k: &[u8]) -> Element {
        Element::new(Data::new(k, ByteOrder::Network).unwrap())
    }

    #[test]
    fn exact_and_concatenated_keys() {
        let a = el(&[10, 0, 0, 1]);
        let b = el(&[10, 0, 0, 2, 0, 0x50, 0, 0]);
        let s = HashSet::build(&[&a, &b], 0, 0, false);
        assert!(s.get(&[10, 0, 0, 1], 0).is_some());
        assert!(s.get(&[10, 0, 0, 3], 0).is_none());
        assert!(s.get(&[10, 0, 0, 2, 0, 0x50, 0, 0], 0).is_some());
        assert!(s.get(&[10, 0, 0, 2, 0, 0x51, 0, 0], 0).is_none());
    }

    #[test]
    fn timeouts_and_dynamic_updates() {
        let mut s = HashSet::default();
        assert!(s.update(&[1], None, Some(100), false, 0, 10, &[], &mut |_| false).is_some());
        assert!(s.get(&[1], 99).is_some());
        assert!(s.get(&[1], 100).is_none(), "expired at its expiry time");
        // update refreshes, add does not
        s.update(&[2], None, Some(100), false, 0, 10, &[], &mut |_| false);
        s.update(&[2], None, Some(100), false, 50, 10, &[], &mut |_| false);
        assert!(s.get(&[2], 120).is_none());
        s.update(&[3], None, Some(100), false, 0, 10, &[], &mut |_| false);
        s.update(&[3], None, Some(100), true, 50, 10, &[], &mut |_| false);
        assert!(s.get(&[3], 120).is_some());
        assert!(s.delete(&[3], 120));
        assert!(s.get(&[3], 120).is_none());
        // size limit
        let mut t = HashSet::default();
        assert!(t.update(&[1], None, None, false, 0, 1, &[], &mut |_| false).is_some());
        assert!(t.update(&[2], None, None, false, 0, 1, &[], &mut |_| false).is_none());
        assert!(
            t.update(&[1], None, None, false, 0, 1, &[], &mut |_| false).is_some(),
            "existing element still found"
        );
    }

    /// A deleted or expired element keeps its place in a full set until the collection
    /// (nft_rhash marks it dead; `nelems` drops only when the garbage collector frees it).
    #[test]
    fn removed_elements_hold_their_place_until_collected() {
        let second = 1_000_000_000;
        let mut s = HashSet::build(&[], 0, second, true);
        assert!(s.update(&[1], None, None, false, 10, 2, &[], &mut |_| false).is_some());
        assert!(s.update(&[2], None, None, false, 10, 2, &[], &mut |_| false).is_some());
        assert!(s.delete(&[1], 20));
        assert!(s.get(&[1], 20).is_none(), "deleted");
        assert!(s.update(&[3], None, None, false, 30, 2, &[], &mut |_| false).is_none(), "still full");
        assert!(
            s.update(&[1], None, None, false, 30, 2, &[], &mut |_| false).is_none(),
            "re-adding needs a place too"
        );
        assert!(
            s.update(&[3], None, None, false, second, 2, &[], &mut |_| false).is_some(),
            "collected at 1 s"
        );
        // An expired element is replaced by a new one of its key, but holds a place.
        let mut t = HashSet::build(&[], 0, second, true);
        assert!(t.update(&[1], None, Some(100), false, 0, 2, &[], &mut |_| false).is_some());
        assert!(
            t.update(&[1], None, Some(100), false, 200, 2, &[], &mut |_| false).is_some(),
            "expired: new element"
        );
        assert!(
            t.update(&[2], None, None, false, 300, 2, &[], &mut |_| false).is_none(),
            "the expired one holds a place"
        );
        assert!(
            t.update(&[2], None, None, false, 2 * second, 2, &[], &mut |_| false).is_some(),
            "collections keep running"
        );
    }

    /// A dynamic set's collection removes an element whose `ct count` list counts nothing
    /// (`nft_rhash_gc` through `nft_connlimit_gc`), so a full set takes new keys again: what
    /// Linux 6.18 does (checked: a `size 2` set filled by two closed connections took a
    /// third source after its next collection).
    #[test]
    fn elements_whose_connection_list_empties_are_collected() {
        use crate::expr::connlimit::Connlimit;
        let second = 1_000_000_000;
        let ct_count = [Expr::Connlimit(Connlimit { count: 0, flags: 1, slot: 0 })];
        let mut s = HashSet::build(&[], 0, second, true);
        let list_of = |slots: Option<&mut [Slot]>| match slots.and_then(|s| s.first()) {
            Some(Slot::Conns(l)) => Some(*l),
            _ => None,
        };
        let first = list_of(s.update(&[1], None, None, false, 10, 1, &ct_count, &mut |_| false));
        assert!(first.is_some(), "an element with its own connection list");
        assert!(s.update(&[2], None, None, false, 20, 1, &ct_count, &mut |_| false).is_none(), "full");
        // The collection at 1 s finds the first element's list still counting.
        let mut asked = Vec::new();
        let mut still_counting = |l| {
            asked.push(l);
            false
        };
        assert!(s.update(&[2], None, None, false, second, 1, &ct_count, &mut still_counting).is_none());
        assert_eq!(asked, vec![first.expect("list")]);
        // Not due again before 2 s: the list is not asked about.
        assert!(s.update(&[2], None, None, false, second + 10, 1, &ct_count, &mut |_| true).is_none());
        // At 2 s it counts nothing: the element goes and the new key takes its place.
        assert!(s.update(&[2], None, None, false, 2 * second, 1, &ct_count, &mut |_| true).is_some());
        assert!(s.get(&[1], 2 * second).is_none());
    }
}
