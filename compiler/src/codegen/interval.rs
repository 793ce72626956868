//! Interval sets as the kernel receives them (nft's segtree/`intervals.c`): every range
//! `[a, b]` becomes a start element `a` and an end element `b + 1` flagged INTERVAL_END;
//! ranges are sorted, and in sets (not maps) overlapping and adjacent ranges merged; an end
//! element is left out when the next range starts right after (adjacent map ranges) or when
//! the range runs to the largest key; and the first range of a new set gets an end element
//! at 0 in front when it does not start at 0.
//!
//! Keys are big-endian byte strings (`memcmp` order), as every interval key is by the time
//! it reaches the kernel.

use nftvm_vm::set::{ElemData, Element, Udata, elem_flags};

/// One range with what its start element carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub low: Vec<u8>,
    pub high: Vec<u8>,
    pub data: Option<ElemData>,
    pub timeout_ms: Option<u64>,
    pub expires_ms: Option<u64>,
    pub comment: Option<String>,
}

/// `NFTNL_UDATA_SET_ELEM_COMMENT` / `…_FLAGS` and `NFTNL_SET_ELEM_F_INTERVAL_OPEN`.
const UDATA_COMMENT: u8 = 0;
const UDATA_FLAGS: u8 = 1;
const F_INTERVAL_OPEN: u32 = 1;

/// The element user data nft attaches (type-length-value records: the comment, and the
/// open-interval flag of a range that runs to the largest key), as its length and byte sum.
pub fn udata(comment: Option<&str>, open: bool) -> Option<Udata> {
    let mut tlv: Vec<u8> = Vec::new();
    if let Some(c) = comment {
        let len = u8::try_from(c.len() + 1).unwrap_or(u8::MAX);
        tlv.extend([UDATA_COMMENT, len]);
        tlv.extend(c.as_bytes().iter().take(usize::from(len) - 1));
        tlv.push(0);
    }
    if open {
        tlv.extend([UDATA_FLAGS, 4]);
        tlv.extend(F_INTERVAL_OPEN.to_le_bytes());
    }
    if tlv.is_empty() {
        return None;
    }
    let sum = tlv.iter().fold(0u32, |a, b| a.wrapping_add(u32::from(*b)));
    Some(Udata { len: tlv.len() as u32, sum })
}

/// `bytes + 1`, or None when it overflows.
pub fn increment(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    for b in out.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return Some(out);
        }
    }
    None
}

/// `[value & mask, value | !mask]` of the top `prefix` bits of `value`.
pub fn prefix_range(value: &[u8], prefix: u32) -> (Vec<u8>, Vec<u8>) {
    let mut low = value.to_vec();
    let mut high = value.to_vec();
    for (i, (l, h)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
        let bit = i as u32 * 8;
        let keep = prefix.saturating_sub(bit).min(8);
        let mask: u8 = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        *l &= mask;
        *h |= !mask;
    }
    (low, high)
}

/// Sorts by start and, for sets, merges overlapping ranges and (with `automerge`) ranges that
/// touch (`setelem_automerge`). Maps are only sorted.
pub fn normalize(mut segs: Vec<Segment>, map: bool, automerge: bool) -> Vec<Segment> {
    segs.sort_by(|a, b| a.low.cmp(&b.low));
    if map {
        return segs;
    }
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for s in segs {
        if let Some(prev) = out.last_mut() {
            if prev.low <= s.low && prev.high >= s.high {
                continue;
            }
            let touches = automerge && increment(&prev.high).is_some_and(|n| n == s.low);
            if s.low <= prev.high || touches {
                if s.high > prev.high {
                    prev.high = s.high;
                }
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// The kernel elements for sorted ranges (`setelem_to_interval` + `set_to_intervals`).
pub fn encode(segs: &[Segment], first_segment: bool) -> Vec<Element> {
    let mut out = Vec::with_capacity(segs.len() * 2 + 1);
    if first_segment
        && let Some(first) = segs.first()
        && first.low.iter().any(|b| *b != 0)
    {
        out.push(end_element(vec![0; first.low.len()]));
    }
    for (i, s) in segs.iter().enumerate() {
        let mut start = Element::new(data(&s.low));
        start.data = s.data.clone();
        start.timeout_ms = s.timeout_ms;
        start.expires_ms = s.expires_ms;
        let next_low = segs.get(i + 1).map(|n| &n.low);
        let end = increment(&s.high);
        start.udata = udata(s.comment.as_deref(), end.is_none() && next_low.is_none());
        out.push(start);
        match end {
            Some(end) if Some(&end) == next_low => {}
            Some(end) => out.push(end_element(end)),
            None => {}
        }
    }
    out
}

fn end_element(key: Vec<u8>) -> Element {
    let mut e = Element::new(data(&key));
    e.flags = elem_flags::INTERVAL_END;
    e
}

fn data(bytes: &[u8]) -> nftvm_vm::Data {
    nftvm_vm::Data::new(bytes, nftvm_vm::ByteOrder::Network).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(low: u8, high: u8) -> Segment {
        Segment {
            low: vec![0, low],
            high: vec![0, high],
            data: None,
            timeout_ms: None,
            expires_ms: None,
            comment: None,
        }
    }

    fn keys(e: &[Element]) -> Vec<(u8, u32)> {
        e.iter().map(|e| (e.key.bytes()[1], e.flags)).collect()
    }

    #[test]
    fn merges_and_encodes_like_segtree() {
        // meta length { 33-55, 56-88, 100-120 }: adjacent ranges merge.
        let s = normalize(vec![seg(100, 120), seg(33, 55), seg(56, 88)], false, true);
        assert_eq!(keys(&encode(&s, true)), vec![(0, 1), (33, 0), (89, 1), (100, 0), (121, 1)]);
        // a map keeps adjacent ranges and drops their end elements.
        let m = normalize(vec![seg(0, 4), seg(5, 5), seg(6, 6)], true, true);
        assert_eq!(keys(&encode(&m, true)), vec![(0, 0), (5, 0), (6, 0), (7, 1)]);
    }

    #[test]
    fn open_ranges_and_prefixes() {
        let s = vec![Segment {
            low: vec![0xff, 0],
            high: vec![0xff, 0xff],
            data: None,
            timeout_ms: None,
            expires_ms: None,
            comment: None,
        }];
        let e = encode(&s, false);
        assert_eq!(e.len(), 1);
        // nft marks a range running to the largest key as open in the element's user data.
        assert_eq!(e[0].udata, udata(None, true));
        assert_eq!(udata(None, true).map(|u| (u.len, u.sum)), Some((6, 6)));
        assert_eq!(prefix_range(&[10, 1, 2, 3], 8), (vec![10, 0, 0, 0], vec![10, 255, 255, 255]));
        assert_eq!(prefix_range(&[0x0a, 0xff], 12), (vec![0x0a, 0xf0], vec![0x0a, 0xff]));
        assert_eq!(increment(&[0, 0xff]), Some(vec![1, 0]));
        assert_eq!(increment(&[0xff]), None);
    }
}
