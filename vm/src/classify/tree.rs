//! The decision tree of a classifier, HyperSplit-style ([`super::build`] makes it): every
//! inner node cuts one field's value range in two (`value <= threshold` goes left), every
//! leaf lists the boxes that may hold a packet of its region, in rule order — each box
//! reduced to the tests its leaf's region does not already answer.
//!
//! The tree comes in parts (see [`super::build`]), ordered by their first entry. A query
//! walks each part's tree from its root to a leaf, tests the leaf's boxes from entry `from`
//! on, and takes the earliest entry found; a part whose first entry is not before the best
//! answer so far is not walked, nor is a part whose filter ([`super::filter`]) says none of
//! its boxes holds the packet; a dispatching filter starts the walk at the small tree of the
//! packet's key instead of the part's root. Before it walks a part, the query ends if the
//! best answer so far is final ([`super::finals`]: no earlier entry of a later part meets
//! its boxes). Shadowing cuts inside a part (or a per-key tree) stay sound, as the entry
//! that covers a region is itself found there.
//!
//! Layout, for the cache: a [`Wide`] node holds three levels of cuts in one 64-byte line;
//! the leaves are one array of words, per leaf its box count, then per box its head (see
//! [`BoxHead`]: the entry, which fields it tests, which of them an absent value passes) and
//! its bounds (see [`holds`]), so a leaf is read front to back.

use super::build::Boxes;
use super::effects::RunFlags;
use super::filter::{Filter, Route};
use super::recipe::{self, FieldRead};
use super::{ABSENT, Classifier, Interval, MAX_FIELDS};
use std::hash::{Hash, Hasher};

pub use super::build::Params;

/// A reference to a wide node (its index) or, with this bit, a leaf (its first word).
pub(super) const LEAF_BIT: u32 = 1 << 31;
/// What [`Tree::query_observed`] keeps for a part it has not walked.
pub(super) const NOT_WALKED: u32 = 0;
/// What it keeps for a part whose filter passed over the packet (a leaf always has
/// [`LEAF_BIT`], so neither is a leaf).
const PASSED_OVER: u32 = 1;
/// What a walk answers when the answer so far is final: the part is not walked, the query
/// ends (never kept: a query from a later entry may have no final answer there).
const ENDED: u32 = 2;
/// Most words in the leaves, and most wide nodes.
pub(super) const MAX_WORDS: usize = 1 << 30;

/// What a query does, told part by part as it goes (a [`super::profile::QueryProfile`]
/// counts it; the query path's `()` tells nobody).
pub(super) trait Observe {
    /// Part `i` may still hold an earlier answer: it is asked.
    fn asked(&mut self, _i: usize) {}
    /// Its filter passed over the packet.
    fn passed_over(&mut self, _i: usize) {}
    /// Its filter let the packet through, but the answer so far is final
    /// ([`super::finals`]): the query ends instead of walking the part.
    fn ended(&mut self, _i: usize) {}
    /// Its tree is walked (not when an earlier query's walk is reused).
    fn walked(&mut self, _i: usize) {}
    /// One step down a wide node.
    fn stepped(&mut self, _i: usize) {}
    /// One box of its leaf tested against the packet.
    fn tested(&mut self, _i: usize) {}
    /// The query is over: the part whose box gave the answer, if any.
    fn finished(&mut self, _by: Option<usize>) {}
}

impl Observe for () {}

/// Three levels of binary cuts in one cache line: cut `k` (0..7, heap order: the cuts below
/// cut `k` are `2k + 1` (value at most the threshold) and `2k + 2`) compares field
/// `cuts[0] >> 4k & 15` with threshold `cuts[k + 1]`; the path through the three levels
/// picks one of the eight `kids`. A walk costs one memory access per three levels; a step
/// makes all seven comparisons at once and then picks the path's three, so none waits for
/// the one above it (three comparisons in a row cost ipc1_10K 3 % more time per packet in
/// the interpreter, 10 % in native code).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub(super) struct Wide {
    /// The cuts' fields (word 0, a nibble each) and thresholds (words 1..8).
    pub(super) cuts: [u32; 8],
    /// Wide node index, or `LEAF_BIT | first word of the leaf`.
    pub(super) kids: [u32; 8],
}

impl Wide {
    fn field(&self, k: usize) -> usize {
        ((self.cuts[0] >> (4 * (k & 7))) & 15) as usize
    }

    /// Sets cut `k` (0..7).
    pub(super) fn set_cut(&mut self, k: usize, field: u8, threshold: u32) {
        self.cuts[0] |= (u32::from(field) & 15) << (4 * (k & 7));
        self.cuts[(k + 1) & 7] = threshold;
    }

    /// The kid the packet's `values` lead to: all seven cuts compared at once, then the
    /// path picked from them (no comparison waits for the one above it).
    fn step(&self, values: &[u64; MAX_FIELDS]) -> u32 {
        let above: [usize; 7] =
            std::array::from_fn(|k| usize::from(values[self.field(k)] > u64::from(self.cuts[k + 1])));
        let first = above[0];
        let second = above[1 + first];
        let third = above[3 + 2 * first + second];
        self.kids[(4 * first + 2 * second + third) & 7]
    }
}

/// One test a leaf leaves open: the field's value in `lo..=hi`, or absent when allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Test {
    field: usize,
    absent_ok: bool,
    lo: u32,
    hi: u32,
}

impl Test {
    /// The test of `iv` on a field whose values are at most `max` (`u16::MAX` for a narrow
    /// field, else `u32::MAX`).
    pub(super) fn new(field: usize, iv: Interval, max: u32) -> Test {
        let (lo, hi) =
            if iv.lo > u64::from(max) { (max, 0) } else { (iv.lo as u32, iv.hi.min(u64::from(max)) as u32) };
        Test { field, absent_ok: iv.contains(ABSENT), lo, hi }
    }
}

/// Most entries a classifier has (a leaf keeps entries in 24 bits).
pub const MAX_ENTRIES: usize = 1 << WORDS_SHIFT;
/// Where a box's first leaf word keeps the number of its bound words (above the entry).
pub(super) const WORDS_SHIFT: u32 = 24;
/// The entry bits of a box's first leaf word.
pub(super) const ENTRY_MASK: u32 = (1 << WORDS_SHIFT) - 1;

/// How a leaf's box begins. Usually in one word: the entry in the low `entry_bits`, above
/// them one bit per field the box tests ("open"), above those one per open field an absent
/// value passes — the number of bound words that follow is the open fields' count (two for
/// a field not in `narrow`). A tree whose fields or entries do not fit one word has two:
/// `entry | bound words << WORDS_SHIFT`, then the open fields in the low half of a mask word
/// and those an absent value passes in its high half. (One word instead of two: 11-15 %
/// fewer bytes a query may read in the 10,000-rule ClassBench trees, 11 % fewer simulated
/// L2 misses per packet, for a few more instructions per box.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoxHead {
    /// 0: the two-word head.
    entry_bits: u32,
    fields: u32,
}

impl BoxHead {
    /// The head for a tree of `fields` fields and `entries` entries.
    pub(super) fn new(fields: usize, entries: usize) -> BoxHead {
        let Some(bits) = 32usize.checked_sub(2 * fields).filter(|b| fields > 0 && *b > 0) else {
            return BoxHead::default();
        };
        match entries <= 1 << bits.min(31) {
            true => BoxHead { entry_bits: bits as u32, fields: fields as u32 },
            false => BoxHead::default(),
        }
    }

    /// Is the head one word?
    pub fn is_one_word(self) -> bool {
        self.entry_bits != 0
    }

    /// The words of the head.
    pub fn words(self) -> usize {
        if self.is_one_word() { 1 } else { 2 }
    }

    /// The entry's bits in the head's first word.
    pub fn entry_mask(self) -> u32 {
        if self.is_one_word() { (1 << self.entry_bits) - 1 } else { ENTRY_MASK }
    }

    /// The bit saying field `f` is open, in the head's last word.
    pub fn open_bit(self, f: usize) -> u32 {
        self.open_bits(1u32.checked_shl(f as u32).unwrap_or(0))
    }

    /// The bit saying an absent value passes field `f`, in the head's last word.
    pub fn absent_bit(self, f: usize) -> u32 {
        self.absent_bits(1u32.checked_shl(f as u32).unwrap_or(0))
    }

    /// The [`BoxHead::open_bit`]s of the fields in `fields` (a bit per field).
    pub fn open_bits(self, fields: u32) -> u32 {
        (fields & self.field_bits()) << self.entry_bits
    }

    /// The [`BoxHead::absent_bit`]s of the fields in `fields`.
    fn absent_bits(self, fields: u32) -> u32 {
        let at = if self.is_one_word() { self.entry_bits + self.fields } else { 16 };
        (fields & self.field_bits()) << at
    }

    /// One bit per field the head has room for.
    fn field_bits(self) -> u32 {
        let fields = if self.is_one_word() { self.fields } else { 16 };
        (1 << fields.min(16)) - 1
    }

    /// The head's words for a box of `entry` with the open fields and absent-passing fields
    /// of `mask` (low and high half) and `words` bound words.
    fn encode(self, entry: u32, mask: u32, words: u32) -> ([u32; 2], usize) {
        let bits = self.open_bits(mask & 0xffff) | self.absent_bits(mask >> 16);
        if self.is_one_word() {
            ([entry & self.entry_mask() | bits, 0], 1)
        } else {
            ([entry & ENTRY_MASK | words << WORDS_SHIFT, bits], 2)
        }
    }

    /// A box's entry, mask (open fields in the low half, those an absent value passes in the
    /// high half) and bound words, from its head at the start of `words`.
    fn decode(self, words: &[u32], narrow: u32) -> Option<(u32, u32, usize)> {
        if !self.is_one_word() {
            let [head, mask, ..] = words else { return None };
            return Some((head & ENTRY_MASK, *mask, (head >> WORDS_SHIFT) as usize));
        }
        let head = *words.first()?;
        let open = head >> self.entry_bits & self.field_bits();
        let absent = head >> (self.entry_bits + self.fields) & self.field_bits();
        let mask = open | absent << 16;
        Some((head & self.entry_mask(), mask, bound_words(mask, narrow) as usize))
    }
}

/// The bound words of a box whose open fields are `mask`'s low half.
fn bound_words(mask: u32, narrow: u32) -> u32 {
    let open = mask & 0xffff;
    (open & narrow).count_ones() + 2 * (open & !narrow).count_ones()
}

/// Does a box with open fields `mask` (low half; high half: those an absent value passes)
/// and bounds `bounds` (per open field, in field order: `lo | hi << 16` for a field in
/// `narrow`, else `lo, hi`) hold `values`?
fn holds(mask: u32, narrow: u32, bounds: &[u32], values: &[u64; MAX_FIELDS]) -> bool {
    let mut open = mask & 0xffff;
    let mut rest = bounds;
    while open != 0 {
        let f = open.trailing_zeros();
        open &= open - 1;
        let (lo, hi) = if narrow >> f & 1 != 0 {
            let [w, tail @ ..] = rest else { return false };
            rest = tail;
            (w & 0xffff, w >> 16)
        } else {
            let [lo, hi, tail @ ..] = rest else { return false };
            rest = tail;
            (*lo, *hi)
        };
        let v = values[f as usize & (MAX_FIELDS - 1)];
        let inside = (u64::from(lo) <= v) & (v <= u64::from(hi));
        if !(inside || v == ABSENT && mask >> (16 + f) & 1 != 0) {
            return false;
        }
    }
    true
}

/// What a build produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeStats {
    pub nodes: usize,
    pub leaves: usize,
    pub max_depth: usize,
    /// Sum of the leaves' depths (with `leaves`, the average depth).
    pub depth_sum: usize,
    /// Box references in all leaves.
    pub items: usize,
    pub max_leaf: usize,
    /// The item budget ran out (some leaves are larger than `leaf_max`).
    pub truncated: bool,
    /// Trees a query walks (partitions).
    pub parts: usize,
    /// Wide nodes (three levels of cuts each) the binary nodes were folded into.
    pub wides: usize,
    /// Bytes of the structure a query reads (wide nodes, leaves and filters).
    pub query_bytes: usize,
    /// Part filters ([`super::filter`]).
    pub filters: usize,
    /// Per-key trees of dispatching filters.
    pub buckets: usize,
    /// Entries whose answer is final ([`super::finals`]).
    pub finals: usize,
}

/// What a part is, for reports: its first entry and its filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSummary {
    pub first: u32,
    pub filter: Option<PartFilter>,
}

/// A part's filter, for reports: its key's bytes (the high one, then the low one: each a
/// field and how far its value is shifted right), how many of the 65,536 keys it lets
/// through and whether each of those has its own tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartFilter {
    pub key: [(u8, u8); 2],
    pub keys: usize,
    pub dispatch: bool,
}

/// One part of the tree (see the module documentation), as a query reads it: a query's
/// parts lie side by side in a cache line or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Part {
    /// Its root (a wide node or a leaf, as in [`Wide::kids`]).
    pub(super) root: u32,
    /// Its first (lowest) entry: a query that has found an entry before it need not walk
    /// this part or any later one.
    pub(super) first: u32,
    /// The filter that lets a query pass over it, if it has one.
    pub(super) filter: Option<Filter>,
}

/// The tree (empty until built).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub(super) wides: Vec<Wide>,
    /// The parts, in the order of their first entry.
    pub(super) parts: Vec<Part>,
    /// Per leaf: the number of boxes, then per box `entry | bound words << 24`, `mask`,
    /// the bound words (see [`holds`]).
    pub(super) leaves: Vec<u32>,
    /// The fields of at most two bytes (bounds in one word).
    pub(super) narrow: u32,
    /// How the leaves' boxes begin.
    pub(super) head: BoxHead,
    /// The filters' words (see [`Filter::at`]).
    pub(super) filter_words: Vec<u64>,
    /// The roots of the dispatching filters' per-key trees (as in [`Wide::kids`]).
    pub(super) bucket_roots: Vec<u32>,
    /// Bit `e` of word `e / 64`: an answer of entry `e` is final, no later part can
    /// better it ([`super::finals`]).
    pub(super) finals: Vec<u64>,
    /// How each field is read from the packet.
    reads: Vec<FieldRead>,
    nfields: usize,
    /// A hash of the boxes the tree was built from (the verifier compares).
    fingerprint: u64,
    /// Some entry may let evaluation go on after it matched, so a later rule may ask again
    /// about the same packet ([`super::walks`] keeps the walks then; a hint for speed only).
    requery: bool,
    /// The facts the build relied on (the verifier compares them with the program).
    pub flags: RunFlags,
    pub stats: TreeStats,
}

/// The fields of at most two bytes (their bounds take one word in a leaf).
fn narrow_fields(c: &Classifier) -> u32 {
    c.fields.iter().enumerate().fold(0, |m, (i, f)| m | u32::from(f.width <= 2) << i)
}

/// A hash of a classifier's boxes.
fn fingerprint(boxes: &Boxes) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    boxes.intervals.hash(&mut h);
    boxes.entry.hash(&mut h);
    h.finish()
}

impl Tree {
    pub fn is_built(&self) -> bool {
        !self.parts.is_empty()
    }

    /// Builds the tree of `c`'s entries.
    pub fn build(c: &Classifier, flags: &RunFlags, params: &Params) -> Tree {
        super::build::build(c, flags, params)
    }

    /// A tree with no parts yet, for `c`'s `boxes`.
    pub(super) fn empty(c: &Classifier, boxes: &Boxes, flags: &RunFlags) -> Tree {
        Tree {
            nfields: boxes.nfields,
            fingerprint: fingerprint(boxes),
            reads: recipe::plan(c),
            narrow: narrow_fields(c),
            head: BoxHead::new(boxes.nfields, c.entries.len()),
            requery: !flags.ends_chain.iter().all(|&ends| ends),
            flags: flags.clone(),
            ..Tree::default()
        }
    }

    /// Is there room for more leaf words?
    pub(super) fn has_room(&self) -> bool {
        self.leaves.len() < MAX_WORDS
    }

    /// Starts a leaf of `count` boxes (pushed next); its reference.
    pub(super) fn push_leaf(&mut self, count: usize) -> u32 {
        let at = self.leaves.len() as u32;
        self.leaves.push(count as u32);
        LEAF_BIT | at
    }

    /// Appends one box of a leaf.
    pub(super) fn push_item(&mut self, entry: u32, tests: &[Test]) {
        let mask =
            tests.iter().fold(0u32, |m, t| m | 1 << t.field | u32::from(t.absent_ok) << (16 + t.field));
        let (head, len) = self.head.encode(entry, mask, bound_words(mask, self.narrow));
        self.leaves.extend(&head[..len]);
        for t in tests {
            if self.narrow & (1 << t.field) != 0 {
                self.leaves.push(t.lo | t.hi << 16);
            } else {
                self.leaves.extend([t.lo, t.hi]);
            }
        }
    }

    /// A field's largest value as a leaf stores it.
    pub(super) fn field_max(&self, f: usize) -> u32 {
        if self.narrow & (1 << f) != 0 { u32::from(u16::MAX) } else { u32::MAX }
    }

    /// How each field is read (the JIT reads the packet's fields itself).
    pub fn reads(&self) -> &[FieldRead] {
        &self.reads
    }

    /// Every field's value for the packet under evaluation.
    pub fn values(&self, c: &Classifier, e: &mut crate::interp::Eval, out: &mut [u64; MAX_FIELDS]) {
        recipe::read_fields(c, &self.reads, e, out);
    }

    /// The first entry at or after `from` whose box holds `values`.
    pub fn query(&self, values: &[u64; MAX_FIELDS], from: u32) -> Option<u32> {
        self.query_observed(values, from, &mut [], &mut ())
    }

    /// [`Tree::query`], reusing the walks in `leaves` (per part: [`NOT_WALKED`] or what an
    /// earlier query about the same `values` found; none kept when `leaves` is empty) and
    /// keeping there the ones it makes, telling `seen` what it does (monomorphized: the
    /// query path's `()` tells nobody and costs nothing).
    pub(super) fn query_observed(
        &self,
        values: &[u64; MAX_FIELDS],
        from: u32,
        leaves: &mut [u32],
        seen: &mut impl Observe,
    ) -> Option<u32> {
        // (Entries are below 2^24: `u32::MAX` is "none yet".)
        let mut best = u32::MAX;
        let mut by = None;
        for (i, part) in self.parts.iter().enumerate() {
            if part.first >= best {
                break;
            }
            seen.asked(i);
            let leaf = match leaves.get_mut(i) {
                Some(kept) if *kept != NOT_WALKED => *kept,
                kept => {
                    let leaf = self.walk(i, part, values, best, seen);
                    if let (Some(k), false) = (kept, leaf == ENDED) {
                        *k = leaf;
                    }
                    leaf
                }
            };
            if leaf == ENDED {
                seen.ended(i);
                break;
            }
            if leaf == PASSED_OVER {
                seen.passed_over(i);
                continue;
            }
            let found = self.scan_leaf(i, leaf, values, from, best, seen);
            if found != best {
                (best, by) = (found, Some(i));
            }
            if best == from {
                break;
            }
        }
        seen.finished(by);
        (best != u32::MAX).then_some(best)
    }

    /// Is an answer of `entry` final ([`super::finals`])? (Not "no answer yet", `u32::MAX`.)
    fn is_final(&self, entry: u32) -> bool {
        self.finals.get(entry as usize / 64).is_some_and(|w| w >> (entry % 64) & 1 != 0)
    }

    /// The leaf of part `i` that `values` lead to; [`PASSED_OVER`] when its filter says
    /// none of the part's boxes holds them, [`ENDED`] when the answer so far (`best`) is
    /// final and no part from here on can better it.
    fn walk(
        &self,
        i: usize,
        part: &Part,
        values: &[u64; MAX_FIELDS],
        best: u32,
        seen: &mut impl Observe,
    ) -> u32 {
        let mut at = match part.filter.map(|f| f.route(&self.filter_words, values)) {
            None | Some(Route::Part) => part.root,
            Some(Route::Skip) => return PASSED_OVER,
            Some(Route::Bucket(b)) => match self.bucket_roots.get(b) {
                Some(&r) => r,
                None => return PASSED_OVER,
            },
        };
        if self.is_final(best) {
            return ENDED;
        }
        seen.walked(i);
        while at & LEAF_BIT == 0 {
            match self.wides.get(at as usize) {
                Some(w) => at = w.step(values),
                None => return PASSED_OVER,
            }
            seen.stepped(i);
        }
        at
    }

    /// The first entry in `from..before` of part `i`'s leaf `leaf` whose box holds
    /// `values`, else `before`.
    fn scan_leaf(
        &self,
        i: usize,
        leaf: u32,
        values: &[u64; MAX_FIELDS],
        from: u32,
        before: u32,
        seen: &mut impl Observe,
    ) -> u32 {
        let at = (leaf & !LEAF_BIT) as usize;
        let Some([count, rest @ ..]) = self.leaves.get(at..) else { return before };
        let mut rest = rest;
        for _ in 0..*count {
            let Some((entry, mask, words)) = self.head.decode(rest, self.narrow) else { return before };
            let Some(tail) = rest.get(self.head.words()..) else { return before };
            let Some((bounds, tail)) = tail.split_at_checked(words) else { return before };
            rest = tail;
            if entry < from {
                continue;
            }
            if entry >= before {
                return before;
            }
            seen.tested(i);
            if holds(mask, self.narrow, bounds, values) {
                return entry;
            }
        }
        before
    }

    /// What each part is, in query order (for profiles and reports).
    pub fn part_summaries(&self) -> Vec<PartSummary> {
        self.parts
            .iter()
            .map(|p| {
                let filter = p.filter.map(|f| PartFilter {
                    key: f.key.map(|b| (b.field, b.shift)),
                    keys: f.keys(&self.filter_words),
                    dispatch: f.dispatch,
                });
                PartSummary { first: p.first, filter }
            })
            .collect()
    }

    /// May a later rule of the run ask again about the same packet (see [`super::walks`])?
    pub(super) fn may_requery(&self) -> bool {
        self.requery
    }

    /// The parts a query may walk.
    pub(super) fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The fields the tree tests (those before this index).
    pub(super) fn fields(&self) -> usize {
        self.nfields
    }

    /// Every leaf reference (roots and kids), each once per mention.
    fn leaf_refs(&self) -> impl Iterator<Item = u32> + '_ {
        self.parts
            .iter()
            .map(|p| &p.root)
            .chain(&self.bucket_roots)
            .chain(self.wides.iter().flat_map(|w| w.kids.iter()))
            .copied()
            .filter(|r| r & LEAF_BIT != 0)
    }

    /// The entries of a leaf's boxes, in order (`None`: the leaf is malformed).
    fn leaf_entries(&self, leaf: u32, nfields: usize) -> Option<Vec<u32>> {
        let mut at = (leaf & !LEAF_BIT) as usize;
        let count = *self.leaves.get(at)? as usize;
        at += 1;
        let mut out = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            let (entry, mask, words) = self.head.decode(self.leaves.get(at..)?, self.narrow)?;
            let open = mask & 0xffff;
            if open >> nfields.min(16) != 0
                || (mask >> 16) & !open != 0
                || words != bound_words(mask, self.narrow) as usize
            {
                return None;
            }
            at += self.head.words() + words;
            self.leaves.get(..at)?;
            out.push(entry);
        }
        Some(out)
    }

    /// Do a dispatching filter's ranks index `bucket_roots` for every set bit of its bits?
    fn ranks_ok(&self, f: &Filter) -> bool {
        let at = f.at as usize;
        let Some(pairs) = self.filter_words.get(at..at + f.len()) else { return false };
        pairs
            .chunks_exact(2)
            .all(|p| p[1].saturating_add(u64::from(p[0].count_ones())) <= self.bucket_roots.len() as u64)
    }

    /// Structural soundness (the verifier's rule): built from these entries and fields,
    /// children after their parent and in bounds, fields in bounds, every leaf well formed
    /// with its entries in rule order.
    pub fn check(&self, c: &Classifier) -> Result<(), String> {
        let nf = c.fields.len();
        if nf > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        if !self.is_built() {
            return Err("the classification tree is not built".into());
        }
        if c.entries.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        if self.nfields != nf
            || self.reads != recipe::plan(c)
            || self.narrow != narrow_fields(c)
            || self.head != BoxHead::new(nf, c.entries.len())
        {
            return Err("the tree's fields are not the classifier's".into());
        }
        if self.fingerprint != fingerprint(&Boxes::of(c)) {
            return Err("the tree was built from other entries".into());
        }
        let beyond = self.finals.last().map_or(0, |w| w >> (c.entries.len() % 64));
        if self.finals.len() != c.entries.len() / 64 + 1 || beyond != 0 {
            return Err("the tree's final answers are not one bit per entry".into());
        }
        let filters_ok = self.parts.iter().filter_map(|p| p.filter.as_ref()).all(|f| {
            f.at as usize + f.len() <= self.filter_words.len()
                && (!f.dispatch || self.ranks_ok(f))
                && f.key.iter().all(|k| {
                    c.fields
                        .get(usize::from(k.field))
                        .is_some_and(|x| u32::from(k.shift) + 8 <= 8 * u32::from(x.width))
                })
        });
        if !filters_ok {
            return Err("a part filter is malformed".into());
        }
        if self
            .parts
            .iter()
            .map(|p| &p.root)
            .chain(&self.bucket_roots)
            .any(|&r| r & LEAF_BIT == 0 && r as usize >= self.wides.len())
        {
            return Err("a tree root is out of range".into());
        }
        if !self.parts.is_sorted_by_key(|p| p.first) {
            return Err("the tree's parts are not in the order of their first entries".into());
        }
        for (i, w) in self.wides.iter().enumerate() {
            let kids_ok = w
                .kids
                .iter()
                .all(|&k| k & LEAF_BIT != 0 || (k as usize > i && (k as usize) < self.wides.len()));
            if !kids_ok || (0..7).any(|k| w.field(k) >= nf.max(1)) {
                return Err(format!("tree node {i} is malformed"));
            }
        }
        for leaf in self.leaf_refs() {
            let entries = self
                .leaf_entries(leaf, nf)
                .ok_or_else(|| format!("tree leaf {} is malformed", leaf & !LEAF_BIT))?;
            if !entries.is_sorted() || entries.last().is_some_and(|&e| e as usize >= c.entries.len()) {
                return Err(format!("tree leaf {} lists entries out of range or order", leaf & !LEAF_BIT));
            }
        }
        Ok(())
    }

    /// Heap bytes of the tree.
    pub fn heap_bytes(&self) -> usize {
        self.wides.len() * std::mem::size_of::<Wide>()
            + self.parts.len() * std::mem::size_of::<Part>()
            + self.leaves.len() * 4
            + self.reads.len() * std::mem::size_of::<FieldRead>()
            + self.filter_words.len() * 8
            + self.bucket_roots.len() * 4
            + self.finals.len() * 8
            + self.flags.ends_chain.len()
    }
}
