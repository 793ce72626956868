//! Exact-match sets (plain and concatenated keys): a hash table keyed by the register bytes
//! of the key. The only backend that dynsets can change, as in the kernel.

use super::Element;
use super::backend::ElemRec;
use crate::data::Data;
use crate::expr::Expr;
use crate::expr::dynset::element_slots;
use crate::interp::Slot;
use hashbrown::HashMap;

#[derive(Clone, Debug, Default)]
pub struct HashSet {
    map: HashMap<Vec<u8>, ElemRec>,
}

impl HashSet {
    pub fn build(elems: &[&Element], now: u64) -> HashSet {
        let mut map = HashMap::with_capacity(elems.len());
        for e in elems {
            map.insert(e.key.bytes().to_vec(), ElemRec::from_element(e, now));
        }
        HashSet { map }
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
    ) -> Option<&mut [Slot]> {
        let live = self.map.get(key).is_some_and(|r| r.live(now));
        if !live {
            self.map.retain(|_, r| r.live(now));
            if self.map.len() >= max as usize {
                return None;
            }
            let rec = ElemRec {
                data: data.map(super::ElemData::Value),
                expires: timeout.map(|t| now.saturating_add(t)),
                slots: element_slots(exprs, now),
            };
            self.map.insert(key.to_vec(), rec);
        } else if refresh && let (Some(t), Some(r)) = (timeout, self.map.get_mut(key)) {
            r.expires = Some(now.saturating_add(t));
        }
        self.map.get_mut(key).map(|r| r.slots.as_mut_slice())
    }

    /// Every element (live or not) with its key, for engines that compile small sets inline.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], &ElemRec)> {
        self.map.iter().map(|(k, r)| (k.as_slice(), r))
    }

    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        self.map.remove(key).is_some_and(|r| r.live(now))
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
        let s = HashSet::build(&[&a, &b], 0);
        assert!(s.get(&[10, 0, 0, 1], 0).is_some());
        assert!(s.get(&[10, 0, 0, 3], 0).is_none());
        assert!(s.get(&[10, 0, 0, 2, 0, 0x50, 0, 0], 0).is_some());
        assert!(s.get(&[10, 0, 0, 2, 0, 0x51, 0, 0], 0).is_none());
    }

    #[test]
    fn timeouts_and_dynamic_updates() {
        let mut s = HashSet::default();
        assert!(s.update(&[1], None, Some(100), false, 0, 10, &[]).is_some());
        assert!(s.get(&[1], 99).is_some());
        assert!(s.get(&[1], 100).is_none(), "expired at its expiry time");
        // update refreshes, add does not
        s.update(&[2], None, Some(100), false, 0, 10, &[]);
        s.update(&[2], None, Some(100), false, 50, 10, &[]);
        assert!(s.get(&[2], 120).is_none());
        s.update(&[3], None, Some(100), false, 0, 10, &[]);
        s.update(&[3], None, Some(100), true, 50, 10, &[]);
        assert!(s.get(&[3], 120).is_some());
        assert!(s.delete(&[3], 120));
        assert!(s.get(&[3], 120).is_none());
        // size limit
        let mut t = HashSet::default();
        assert!(t.update(&[1], None, None, false, 0, 1, &[]).is_some());
        assert!(t.update(&[2], None, None, false, 0, 1, &[]).is_none());
        assert!(t.update(&[1], None, None, false, 0, 1, &[]).is_some(), "existing element still found");
    }
}
