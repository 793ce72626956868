//! Part filters: a test of two packet bytes that lets a query pass over a part of the tree,
//! or go straight to a small tree for the packet's value of those bytes.
//!
//! The tree comes in parts, and a query walks every part that may still hold an earlier
//! answer — on ClassBench's firewall sets almost three walks per packet, most of them for
//! nothing. But a part's boxes usually agree on something cheap to test: a part of rules
//! that match the destination narrowly lies in few 2^16-blocks of destination addresses. A
//! filter keeps one bit per value of a 16-bit key (two packet bytes, e.g. the high half of
//! an address or a port), set where some box of the part admits a packet with that key; a
//! packet whose bit is clear cannot match the part and does not walk it.
//!
//! A dispatching filter goes further (HiCuts' first cut, 65,536 ways at once): each set key
//! gets its own tree of the boxes that admit it, found by the rank of the key's bit
//! (a popcount), so a query starts several levels down. It is chosen where that copies few
//! boxes and makes the largest per-key tree much smaller than the part; the part's own tree
//! then keeps only the boxes that accept an absent key byte, for packets without one.
//!
//! A filter only ever skips a part none of whose boxes holds the packet, and a per-key tree
//! holds every box that admits its key, so answers do not change. A key byte whose field is
//! absent passes (boxes that accept an absent value are not in the bits).

use super::build::Boxes;
use super::recipe::FieldRead;
use super::{ABSENT, Field, Interval, MAX_FIELDS};

/// Bits of one filter, in 64-bit words.
pub(super) const WORDS: usize = (1 << 16) / 64;
/// A filter is kept when at most this share of its bits is set (as a divisor).
const MOST_SET: usize = 4;
/// Most keys a part's filter is chosen among (16 fields of four bytes would make 992).
const MOST_KEYS: usize = 256;
/// Parts with fewer boxes get no filter: their walk is short, and a filter takes 8 KiB.
const FILTER_MIN: usize = 64;

/// Where one key byte comes from: field `field`'s value shifted right by `shift` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct KeyByte {
    pub(super) field: u8,
    pub(super) shift: u8,
}

impl KeyByte {
    /// The value of the byte's field.
    fn value(self, values: &[u64; MAX_FIELDS]) -> u64 {
        values[usize::from(self.field) & (MAX_FIELDS - 1)]
    }

    /// The byte of its field's present value `v`.
    fn byte(self, v: u64) -> u64 {
        (v >> (self.shift & 31)) & 0xff
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

/// Are both key bytes of one field, next to each other (the key a 16-bit slice of its value)?
fn one_field([h, l]: Key) -> bool {
    h.field == l.field && h.shift == l.shift + 8
}

/// One part's filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Filter {
    pub(super) key: Key,
    /// Its first word in the tree's filter words: [`WORDS`] words of bits or, for a
    /// dispatching filter, [`WORDS`] pairs of a bits word and its rank (the index in the
    /// tree's bucket roots of the word's first set bit) side by side, so the bit and the
    /// rank cost one memory access, not two dependent ones.
    pub(super) at: u32,
    /// Does it dispatch to per-key trees (are its words pairs)?
    pub(super) dispatch: bool,
}

/// Where a filter sends a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// No box of the part holds the packet.
    Skip,
    /// Walk the part's own tree: all its boxes, or for a dispatching filter those that
    /// accept an absent key byte (the packet's key bytes are absent).
    Part,
    /// Walk the tree of the packet's key: the bucket root at this index.
    Bucket(usize),
}

impl Filter {
    /// The filter words it takes.
    pub(super) fn len(&self) -> usize {
        if self.dispatch { 2 * WORDS } else { WORDS }
    }

    /// How many keys it lets through (`words`: the tree's filter words; a dispatching
    /// filter's bits are every second word, beside their ranks).
    pub(super) fn keys(&self, words: &[u64]) -> usize {
        let mine = words.get(self.at as usize..self.at as usize + self.len()).unwrap_or(&[]);
        mine.iter().step_by(if self.dispatch { 2 } else { 1 }).map(|w| w.count_ones() as usize).sum()
    }

    /// Where a packet with `values` goes (`words`: the tree's filter words).
    pub(super) fn route(&self, words: &[u64], values: &[u64; MAX_FIELDS]) -> Route {
        let [h, l] = self.key;
        let (vh, vl) = (h.value(values), l.value(values));
        // Present values are below 2^32 and `ABSENT` is 2^32: one test for both bytes.
        if (vh | vl) >= ABSENT {
            return Route::Part;
        }
        let key = (h.byte(vh) << 8 | l.byte(vl)) as usize;
        let (word, bit) = (key / 64, key % 64);
        let at = self.at as usize + if self.dispatch { 2 * word } else { word };
        // (Words out of bounds cannot happen: the verifier checks them.)
        let Some(&w) = words.get(at) else { return Route::Part };
        if w >> bit & 1 == 0 {
            return Route::Skip;
        }
        if !self.dispatch {
            return Route::Part;
        }
        match words.get(at + 1) {
            Some(&first) => Route::Bucket(first as usize + (w & ((1u64 << bit) - 1)).count_ones() as usize),
            None => Route::Skip,
        }
    }
}

/// The keys worth trying for a classifier read as `reads`: every packet field's first byte
/// with the packet byte after it (in the same field or the next), and the first or second
/// byte of every packet field with the first or second byte of every other.
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
    // And the first two bytes of any two fields (an address's and a port's, the high byte
    // of one address with the second byte of the other: where ClassBench's ACL sets spread
    // best), pairs of first bytes before those with a second byte, at most [`MOST_KEYS`] in
    // all (each key is tried on every box of a part).
    // Every packet field's first (`second` false) or second byte, with which it is.
    let nth_bytes = |second: bool| {
        bytes.iter().enumerate().filter_map(move |(f, b)| {
            let (_, _, width) = (*b)?;
            let skip = u8::from(second);
            (width > skip).then(|| (KeyByte { field: f as u8, shift: 8 * (width - 1 - skip) }, second))
        })
    };
    let leading: Vec<(KeyByte, bool)> = nth_bytes(false).chain(nth_bytes(true)).collect();
    let mut cross: Vec<(Key, u8)> = Vec::new();
    for (h, hs) in &leading {
        for (l, ls) in leading.iter().filter(|(l, _)| l.field != h.field) {
            cross.push(([*h, *l], u8::from(*hs) + u8::from(*ls)));
        }
    }
    cross.sort_by_key(|(_, seconds)| *seconds);
    for (key, _) in cross {
        if keys.len() >= MOST_KEYS {
            break;
        }
        if !keys.contains(&key) {
            keys.push(key);
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

/// The keys box `b` admits with both key bytes present, as ranges; `None` when more than
/// `most`.
fn box_keys(boxes: &Boxes, fields: &[Field], b: u32, key: Key, most: u64) -> Option<Vec<(u64, u64)>> {
    let max = |k: KeyByte| fields.get(usize::from(k.field)).map_or(u64::from(u32::MAX), |f| f.max());
    let [h, l] = key;
    let (ih, il) = (boxes.interval(b, usize::from(h.field)), boxes.interval(b, usize::from(l.field)));
    if one_field(key) {
        let hi = ih.hi.min(max(h));
        if ih.lo > hi {
            return Some(Vec::new());
        }
        let s = u32::from(l.shift);
        let (kl, kh) = ((ih.lo >> s) & 0xffff, (hi >> s) & 0xffff);
        if ih.lo >> (s + 16) != hi >> (s + 16) || kh - kl >= most {
            return None;
        }
        return Some(vec![(kl, kh)]);
    }
    let (Some(rh), Some(rl)) = (h.range(ih, max(h)), l.range(il, max(l))) else { return Some(Vec::new()) };
    if (rh.1 - rh.0 + 1) * (rl.1 - rl.0 + 1) > most {
        return None;
    }
    Some((rh.0..=rh.1).map(|hb| (hb << 8 | rl.0, hb << 8 | rl.1)).collect())
}

/// The bits of `key` over the boxes `items`, or `None` as soon as a box admits more than
/// `most` keys (the filter would pass too much to be worth its test).
fn bits(boxes: &Boxes, fields: &[Field], items: &[u32], key: Key, most: u64) -> Option<Vec<u64>> {
    let mut bits = vec![0u64; WORDS];
    for &b in items {
        for (lo, hi) in box_keys(boxes, fields, b, key, most)? {
            set_range(&mut bits, lo as usize, hi as usize);
        }
    }
    Some(bits)
}

/// Copies of boxes a dispatching filter may make, per box of its part.
const SPREAD: usize = 2;

/// Per key set in a filter's bits, in key order: the boxes of `items` that admit it (in
/// box order), when they are at most [`SPREAD`] copies per box.
fn buckets(boxes: &Boxes, fields: &[Field], items: &[u32], key: Key) -> Option<Vec<(u16, Vec<u32>)>> {
    let budget = SPREAD * items.len();
    let mut pairs: Vec<(u16, u32)> = Vec::new();
    for &b in items {
        for (lo, hi) in box_keys(boxes, fields, b, key, budget as u64)? {
            pairs.extend((lo..=hi.min(0xffff)).map(|k| (k as u16, b)));
            if pairs.len() > budget {
                return None;
            }
        }
    }
    pairs.sort_by_key(|(k, _)| *k);
    let mut out: Vec<(u16, Vec<u32>)> = Vec::new();
    for (k, b) in pairs {
        match out.last_mut() {
            Some((last, v)) if *last == k => v.push(b),
            _ => out.push((k, vec![b])),
        }
    }
    Some(out)
}

/// The region of the packets whose key is `k` (fields the key does not pin stay whole).
pub(super) fn bucket_region(key: Key, k: u16, fields: &[Field]) -> Vec<Interval> {
    let mut region = vec![Interval::ANY; fields.len()];
    let [h, l] = key;
    let width = |f: u8| fields.get(usize::from(f)).map_or(0, |x| u32::from(x.width));
    if one_field(key) {
        let s = u32::from(l.shift);
        if s + 16 == 8 * width(h.field)
            && let Some(r) = region.get_mut(usize::from(h.field))
        {
            let lo = u64::from(k) << s;
            *r = Interval::new(lo, lo | ((1 << s) - 1));
        }
        return region;
    }
    for (kb, byte) in [(k >> 8, h), (k & 0xff, l)] {
        if width(byte.field) == 1
            && let Some(r) = region.get_mut(usize::from(byte.field))
        {
            *r = Interval::point(u64::from(kb));
        }
    }
    region
}

/// The boxes of `items` that accept an absent value in a key byte's field.
pub(super) fn absent_ok(boxes: &Boxes, items: &[u32], key: Key) -> Vec<u32> {
    items
        .iter()
        .copied()
        .filter(|&b| key.iter().any(|k| boxes.interval(b, usize::from(k.field)).contains(ABSENT)))
        .collect()
}

/// A part's filter: its key, its bits and, when it dispatches, its buckets.
pub(super) struct Choice {
    pub(super) key: Key,
    pub(super) bits: Vec<u64>,
    pub(super) buckets: Option<Vec<(u16, Vec<u32>)>>,
}

/// A dispatching filter's largest bucket holds at most this share of its part (as a divisor):
/// the per-key trees must be about two levels shallower to pay for the dispatch. (8, three
/// levels, left ipc1_10K's second part undispatched: 3 % slower.)
const DISPATCH_GAIN: usize = 4;

/// The filter for a part of at least [`FILTER_MIN`] boxes (`items`): with `dispatch`, the
/// key that spreads the boxes best over buckets copying few of them, if its largest bucket
/// is small enough; else the sparsest key, if it passes at most a [`MOST_SET`]th of the
/// packets.
pub(super) fn for_part(
    boxes: &Boxes,
    fields: &[Field],
    keys: &[Key],
    items: &[u32],
    dispatch: bool,
) -> Option<Choice> {
    if items.len() < FILTER_MIN {
        return None;
    }
    let spread = keys
        .iter()
        .filter(|_| dispatch)
        .filter_map(|&key| {
            let b = buckets(boxes, fields, items, key)?;
            let largest = b.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
            (b.len() >= 2 && largest * DISPATCH_GAIN <= items.len()).then_some((largest, key, b))
        })
        .min_by_key(|(largest, _, b)| (*largest, b.len()));
    if let Some((_, key, b)) = spread {
        let mut bits = vec![0u64; WORDS];
        for (k, _) in &b {
            set_range(&mut bits, usize::from(*k), usize::from(*k));
        }
        return Some(Choice { key, bits, buckets: Some(b) });
    }
    let most = WORDS * 64 / MOST_SET;
    keys.iter()
        .filter_map(|&key| {
            let b = bits(boxes, fields, items, key, most as u64)?;
            Some((b.iter().map(|w| w.count_ones() as usize).sum::<usize>(), key, b))
        })
        .filter(|(set, _, _)| *set <= most)
        .min_by_key(|(set, _, _)| *set)
        .map(|(_, key, bits)| Choice { key, bits, buckets: None })
}
