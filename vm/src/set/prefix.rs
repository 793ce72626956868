//! Prefix sets: longest-prefix match for interval sets whose ranges are all CIDR blocks
//! (the common `ip saddr { 10.0.0.0/8, 192.168.1.0/24 }`). One hash table per prefix
//! length, probed from the longest length down. Used only when every range is a prefix, so
//! it answers exactly as the interval backend would.

use super::backend::ElemRec;
use super::interval::IntervalSet;
use hashbrown::HashMap;

#[derive(Clone, Debug, Default)]
pub struct PrefixSet {
    key_len: usize,
    /// (prefix length in bits, masked key → record), longest first.
    tables: Vec<(u32, HashMap<u128, ElemRec>)>,
}

impl PrefixSet {
    /// The prefix form of an interval set, if every range is a prefix and the key is at most
    /// 16 bytes and the set has no timeouts.
    pub fn from_intervals(iv: &IntervalSet, key_len: usize) -> Option<PrefixSet> {
        if key_len == 0 || key_len > 16 || iv.is_empty() {
            return None;
        }
        let bits = key_len as u32 * 8;
        let mut by_len: Vec<(u32, HashMap<u128, ElemRec>)> = Vec::new();
        for (start, end, rec) in iv.ranges(key_len) {
            if rec.expires.is_some() || start.len() != key_len {
                return None;
            }
            let (s, e) = (to_u128(&start), to_u128(&end));
            let host_bits = (s ^ e).count_ones();
            let plen = bits - host_bits;
            if e != s | host_mask(bits, plen) || s & host_mask(bits, plen) != 0 {
                return None;
            }
            match by_len.iter_mut().find(|(l, _)| *l == plen) {
                Some((_, t)) => {
                    t.insert(s, rec.clone());
                }
                None => {
                    let mut t = HashMap::new();
                    t.insert(s, rec.clone());
                    by_len.push((plen, t));
                }
            }
        }
        by_len.sort_by_key(|t| std::cmp::Reverse(t.0));
        Some(PrefixSet { key_len, tables: by_len })
    }

    pub fn get(&self, key: &[u8]) -> Option<&ElemRec> {
        if key.len() != self.key_len {
            return None;
        }
        let bits = self.key_len as u32 * 8;
        let k = to_u128(key);
        self.tables.iter().find_map(|(plen, t)| t.get(&(k & !host_mask(bits, *plen))))
    }

    pub fn len(&self) -> usize {
        self.tables.iter().map(|(_, t)| t.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn to_u128(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, x| (acc << 8) | *x as u128)
}

/// The host-part mask of a `plen`-bit prefix in a `bits`-bit key.
fn host_mask(bits: u32, plen: u32) -> u128 {
    let host = bits - plen.min(bits);
    if host == 0 { 0 } else { (u128::MAX >> (128 - host)) & (u128::MAX >> (128 - bits)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ByteOrder, Data};
    use crate::set::{Element, elem_flags};

    fn el(k: [u8; 4], end: bool) -> Element {
        let mut e = Element::new(Data::new(&k, ByteOrder::Network).unwrap());
        if end {
            e.flags = elem_flags::INTERVAL_END;
        }
        e
    }

    #[test]
    fn longest_prefix_match() {
        // 10.0.0.0/8 and 192.168.1.0/24
        let e = [
            el([10, 0, 0, 0], false),
            el([11, 0, 0, 0], true),
            el([192, 168, 1, 0], false),
            el([192, 168, 2, 0], true),
        ];
        let refs: Vec<&Element> = e.iter().collect();
        let iv = IntervalSet::build(&refs, 0);
        let p = PrefixSet::from_intervals(&iv, 4).expect("all prefixes");
        assert!(p.get(&[10, 200, 3, 4]).is_some());
        assert!(p.get(&[11, 0, 0, 0]).is_none());
        assert!(p.get(&[192, 168, 1, 255]).is_some());
        assert!(p.get(&[192, 168, 2, 0]).is_none());
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn non_prefix_ranges_are_refused() {
        let e = [el([10, 0, 0, 1], false), el([10, 0, 0, 5], true)];
        let refs: Vec<&Element> = e.iter().collect();
        let iv = IntervalSet::build(&refs, 0);
        assert!(PrefixSet::from_intervals(&iv, 4).is_none());
    }
}
