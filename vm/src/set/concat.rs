//! Concatenated ranges (the kernel's pipapo semantics): each element is a range per field
//! (`10.0.0.0-10.255.255.255 . 10-23`); a key matches when every field lies within its
//! range. Fields compare as big-endian byte strings over their length.

use super::backend::ElemRec;
use super::{Element, Set};
use crate::data::round_up4;

#[derive(Clone, Debug, Default)]
pub struct ConcatSet {
    /// (offset, length) of each field in the key.
    fields: Vec<(usize, usize)>,
    elems: Vec<(Vec<u8>, Vec<u8>, ElemRec)>,
}

impl ConcatSet {
    pub fn build(set: &Set, elems: &[&Element], now: u64) -> ConcatSet {
        let mut fields = Vec::new();
        let mut off = 0;
        for f in &set.key {
            fields.push((off, f.len as usize));
            off += round_up4(f.len as usize);
        }
        if fields.is_empty() {
            fields.push((0, set.key_len()));
        }
        let elems = elems
            .iter()
            .filter(|e| !e.is_interval_end())
            .map(|e| {
                let start = e.key.bytes().to_vec();
                let end = e.key_end.as_ref().map_or_else(|| start.clone(), |k| k.bytes().to_vec());
                (start, end, ElemRec::from_element(e, now))
            })
            .collect();
        ConcatSet { fields, elems }
    }

    pub fn get(&self, key: &[u8], now: u64) -> Option<&ElemRec> {
        self.elems
            .iter()
            .find(|(s, e, rec)| {
                rec.live(now)
                    && self.fields.iter().all(|&(off, len)| {
                        let (Some(k), Some(lo), Some(hi)) =
                            (key.get(off..off + len), s.get(off..off + len), e.get(off..off + len))
                        else {
                            return false;
                        };
                        lo <= k && k <= hi
                    })
            })
            .map(|(_, _, r)| r)
    }

    pub fn len(&self) -> usize {
        self.elems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ByteOrder, Data, Field};
    use crate::program::TableId;

    #[test]
    fn every_field_within_its_range() {
        let mut set = Set::new(
            "s",
            TableId(0),
            0x87,
            vec![Field::new(4, ByteOrder::Network), Field::new(2, ByteOrder::Network)],
        );
        // 10.0.0.0-10.255.255.255 . 10-23
        let mut e = Element::new(Data::new(&[10, 0, 0, 0, 0, 10, 0, 0], ByteOrder::Network).unwrap());
        e.key_end = Data::new(&[10, 255, 255, 255, 0, 23, 0, 0], ByteOrder::Network);
        set.elements.push(e);
        let refs: Vec<&Element> = set.elements.iter().collect();
        let c = ConcatSet::build(&set, &refs, 0);
        assert!(c.get(&[10, 1, 2, 3, 0, 22, 0, 0], 0).is_some());
        assert!(c.get(&[10, 1, 2, 3, 0, 24, 0, 0], 0).is_none());
        assert!(c.get(&[11, 0, 0, 0, 0, 22, 0, 0], 0).is_none());
        // a value that is inside the overall byte range but outside one field's range
        assert!(c.get(&[10, 0, 0, 5, 0, 9, 0, 0], 0).is_none());
    }
}
