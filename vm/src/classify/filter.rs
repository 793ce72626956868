//! Part filters: a test of two packet bytes that lets a query pass over a part of the tree.
//!
//! The tree comes in parts, and a query walks every part that may still hold an earlier
//! answer — on ClassBench's firewall sets almost three walks per packet, most of them for
//! nothing. But a part's boxes usually agree on something cheap to test: a part of rules
//! that match the destination narrowly lies in few 2^16-blocks of destination addresses. A
//! filter keeps one bit per value of a 16-bit key (two packet bytes, e.g. the high half of
//! an address or a port), set where some box of the part admits a packet with that key; a
//! packet whose bit is clear cannot match the part and does not walk it.
//!
//! A filter only ever skips a part none of whose boxes holds the packet, so answers do not
//! change. A key byte whose field is absent passes (boxes that accept an absent value are
//! not in the bits).

use super::build::Boxes;
use super::recipe::FieldRead;
use super::{ABSENT, Field, Interval, MAX_FIELDS};

/// Bits of one filter, in 64-bit words.
pub(super) const WORDS: usize = (1 << 16) / 64;
/// A filter is kept when at most this share of its bits is set (as a divisor).
const MOST_SET: usize = 4;

/// Where one key byte comes from: field `field`'s value shifted right by `shift` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct KeyByte {
    pub(super) field: u8,
    pub(super) shift: u8,
}

impl KeyByte {
    /// The byte, or `None` when the field is absent.
    fn of(self, values: &[u64; MAX_FIELDS]) -> Option<u64> {
        let v = values[usize::from(self.field) & (MAX_FIELDS - 1)];
        (v != ABSENT).then_some((v >> (self.shift & 31)) & 0xff)
    }

    /// The byte values of the present values of `iv` (all of them when `iv` crosses a
    /// change of the bytes above this one), or `None` when `iv` holds no present value.
    fn range(self, iv: Interval, max: u64) -> Option<(u64, u64)> {
        let hi = iv.hi.min(max);
        if iv.lo > hi {
            return None;
        }
        let s = u32::from(self.shift);
        if iv.lo >> (s + 8) != hi >> (s + 8) {
            return Some((0, 0xff));
        }
        Some(((iv.lo >> s) & 0xff, (hi >> s) & 0xff))
    }
}

/// A 16-bit key: the high byte, then the low byte.
pub(super) type Key = [KeyByte; 2];

/// One part's filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Filter {
    pub(super) key: Key,
    /// Its first word in the tree's filter bits ([`WORDS`] of them).
    pub(super) at: u32,
}

impl Filter {
    /// May a packet with `values` match a box of the part? (`bits`: the tree's filter bits.)
    pub(super) fn passes(&self, bits: &[u64], values: &[u64; MAX_FIELDS]) -> bool {
        let (Some(h), Some(l)) = (self.key[0].of(values), self.key[1].of(values)) else { return true };
        let key = (h << 8 | l) as usize;
        bits.get(self.at as usize + key / 64).is_none_or(|w| w >> (key % 64) & 1 != 0)
    }
}

/// The keys worth trying for a classifier read as `reads`: every packet field's first byte
/// with the packet byte after it (in the same field or the next).
pub(super) fn keys(reads: &[FieldRead]) -> Vec<Key> {
    // Per field read from the packet: (base, first byte, width).
    let bytes: Vec<Option<(crate::keys::PayloadBase, u32, u8)>> = reads
        .iter()
        .map(|r| match *r {
            FieldRead::Payload { base, start, at, width, .. } => Some((base, start + u32::from(at), width)),
            _ => None,
        })
        .collect();
    // The field holding packet byte `pos` of `base`, as a key byte.
    let byte_at = |base, pos: u32| {
        bytes.iter().enumerate().find_map(|(f, b)| {
            let (fb, first, width) = (*b)?;
            let last = first + u32::from(width) - 1;
            (fb == base && first <= pos && pos <= last)
                .then(|| KeyByte { field: f as u8, shift: (8 * (last - pos)) as u8 })
        })
    };
    let mut keys: Vec<Key> = Vec::new();
    for b in bytes.iter().flatten() {
        let (base, first, _) = *b;
        if let (Some(h), Some(l)) = (byte_at(base, first), byte_at(base, first + 1))
            && !keys.contains(&[h, l])
        {
            keys.push([h, l]);
        }
    }
    keys
}

/// Sets bits `lo..=hi` (a word at a time).
fn set_range(bits: &mut [u64], lo: usize, hi: usize) {
    let hi = hi.min(bits.len() * 64 - 1);
    let mut k = lo;
    while k <= hi {
        let (word, bit) = (k / 64, k % 64);
        let n = (hi - k + 1).min(64 - bit);
        let ones = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
        if let Some(w) = bits.get_mut(word) {
            *w |= ones;
        }
        k += n;
    }
}

/// The bits of `key` over the boxes `items`, or `None` as soon as a box admits more than
/// `most` keys (the filter would pass too much to be worth its test).
fn bits(boxes: &Boxes, fields: &[Field], items: &[u32], key: Key, most: u64) -> Option<Vec<u64>> {
    let mut bits = vec![0u64; WORDS];
    let max = |k: KeyByte| fields.get(usize::from(k.field)).map_or(u64::from(u32::MAX), |f| f.max());
    let [h, l] = key;
    for &b in items {
        let (ih, il) = (boxes.interval(b, usize::from(h.field)), boxes.interval(b, usize::from(l.field)));
        if h.field == l.field && h.shift == l.shift + 8 {
            // Both bytes of one field: the key is a 16-bit slice of its value.
            let hi = ih.hi.min(max(h));
            if ih.lo > hi {
                continue;
            }
            let s = u32::from(l.shift);
            let (kl, kh) = ((ih.lo >> s) & 0xffff, (hi >> s) & 0xffff);
            if ih.lo >> (s + 16) != hi >> (s + 16) || kh - kl >= most {
                return None;
            }
            set_range(&mut bits, kl as usize, kh as usize);
            continue;
        }
        let (Some(rh), Some(rl)) = (h.range(ih, max(h)), l.range(il, max(l))) else { continue };
        if (rh.1 - rh.0 + 1) * (rl.1 - rl.0 + 1) > most {
            return None;
        }
        for hb in rh.0..=rh.1 {
            set_range(&mut bits, (hb << 8 | rl.0) as usize, (hb << 8 | rl.1) as usize);
        }
    }
    Some(bits)
}

/// The sparsest key for a part (its boxes `items`) and its bits; none when every key would
/// pass more than a [`MOST_SET`]th of the packets.
pub(super) fn for_part(boxes: &Boxes, fields: &[Field], keys: &[Key], items: &[u32]) -> Option<(Key, Vec<u64>)> {
    let most = WORDS * 64 / MOST_SET;
    keys.iter()
        .filter_map(|&key| {
            let b = bits(boxes, fields, items, key, most as u64)?;
            Some((b.iter().map(|w| w.count_ones() as usize).sum::<usize>(), key, b))
        })
        .filter(|(set, _, _)| *set <= most)
        .min_by_key(|(set, _, _)| *set)
        .map(|(_, key, b)| (key, b))
}
