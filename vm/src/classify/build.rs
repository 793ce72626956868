//! Building a classifier's decision tree ([`super::Tree`]), HyperSplit-style.
//!
//! A node holds the boxes that intersect its region. It becomes a leaf when few remain, or
//! when no cut separates them; otherwise the cut is chosen over every field and every box
//! end inside the region, minimizing the larger side, then the boxes copied to both sides.
//! Where shadowing may be used ([`super::effects::RunFlags::prune`]), a node's list is cut
//! after the first box that covers the whole region and belongs to an entry that ends the
//! chain — the boxes after it can never be the answer there.
//!
//! Every cut strictly shrinks the set of box ends inside both children, so building ends;
//! a budget on leaf items turns what is left into leaves when a rule set replicates too
//! much (slower, never wrong: a leaf's list is always a superset of the answers).
//!
//! Partitions (EffiCuts' idea): one tree over boxes that are narrow in an address field and
//! boxes that are wide in it replicates the wide ones into every cut of the narrow ones —
//! ClassBench's 10K sets grow millions of nodes that way. So the boxes are first grouped by
//! which of the wide (32-bit) fields they leave wide (more than 2^16 values), and each group
//! gets its own tree (small groups share one).
//!
//! A leaf keeps, per box, only the tests its region does not already answer: the fields
//! in which the box does not cover the leaf's whole region (usually none or one).

use super::effects::RunFlags;
use super::tree::{LEAF_BIT, MAX_WORDS, Part, Test, Tree, TreeStats, Wide};
use super::{Classifier, Field, Interval};
use super::{filter, finals};
use crate::expr::Expr;
use crate::keys::PayloadBase;

/// Build parameters (the optimizer's cost model may choose them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// A node with at most this many boxes is a leaf.
    pub leaf_max: usize,
    /// Most box references in all leaves together before the rest becomes leaves as is.
    pub max_items: usize,
    /// One tree per group of boxes wide in the same address fields (else one tree).
    pub partition: bool,
    /// Give parts filters ([`super::filter`]) where a key of two packet bytes is sparse.
    pub filters: bool,
    /// Let a filter dispatch to one tree per key where that copies few boxes.
    pub dispatch: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params { leaf_max: 4, max_items: 4_000_000, partition: true, filters: true, dispatch: true }
    }
}

/// A group with fewer boxes joins the shared last part.
const MIN_PART: usize = 64;
/// A field interval with more values than this is wide (for partitioning).
const WIDE: u64 = 1 << 16;

/// A node of the binary tree, before [`pack`] folds it into wide nodes.
#[derive(Clone, Copy, Debug)]
enum Bin {
    Inner {
        field: u8,
        threshold: u32,
        child: u32,
    },
    /// A reference to the leaf in the tree's leaves.
    Leaf(u32),
}

/// A node waiting to be built.
struct Job {
    node: usize,
    depth: usize,
    region: Vec<Interval>,
    items: Vec<u32>,
}

/// The boxes of a classifier, flattened (`nfields` intervals per box).
pub(super) struct Boxes {
    pub(super) intervals: Vec<Interval>,
    pub(super) entry: Vec<u32>,
    pub(super) nfields: usize,
}

impl Boxes {
    pub(super) fn of(c: &Classifier) -> Boxes {
        let nfields = c.fields.len();
        let mut b = Boxes { intervals: Vec::new(), entry: Vec::new(), nfields };
        for (i, e) in c.entries.iter().enumerate() {
            for bx in &e.boxes {
                b.intervals.extend((0..nfields).map(|f| bx.get(f).copied().unwrap_or(Interval::ANY)));
                b.entry.push(i as u32);
            }
        }
        b
    }

    pub(super) fn interval(&self, b: u32, f: usize) -> Interval {
        self.intervals.get(b as usize * self.nfields + f).copied().unwrap_or(Interval::ANY)
    }

    pub(super) fn get(&self, b: u32) -> &[Interval] {
        let s = b as usize * self.nfields;
        self.intervals.get(s..s + self.nfields).unwrap_or(&[])
    }
}

/// The trees of one part: its own, and per bucket of a dispatching filter its boxes and
/// region (in bucket order).
struct Split {
    own: Vec<u32>,
    buckets: Vec<(Vec<u32>, Vec<Interval>)>,
}

impl Split {
    /// One tree of all of `items`.
    fn whole(items: Vec<u32>) -> Split {
        Split { own: items, buckets: Vec::new() }
    }
}

/// What the growing binary tree becomes: a [`Tree`], or only the set of entries that reach
/// a leaf.
trait Sink {
    /// The next part (in query order) holds the boxes `items`: the trees to grow for it.
    fn part(&mut self, items: Vec<u32>, boxes: &Boxes) -> Split;
    /// `node` is the root of the next bucket tree.
    fn bucket(&mut self, node: usize);
    /// A new node with no children yet; its id.
    fn node(&mut self) -> usize;
    /// `node` cuts field `f` at `threshold`; the id of its left child (the right one is next).
    fn split(&mut self, node: usize, f: usize, threshold: u32) -> usize;
    /// `job`'s node is a leaf holding its boxes.
    fn leaf(&mut self, job: Job, boxes: &Boxes);
    /// May the tree grow further?
    fn has_room(&self) -> bool;
}

/// The boxes of each part with the part's first entry, in the order queries ask them (of
/// their first entries).
fn ordered_parts(c: &Classifier, boxes: &Boxes, params: &Params) -> Vec<(u32, Vec<u32>)> {
    let mut parts: Vec<(u32, Vec<u32>)> = parts(c, boxes, params.partition)
        .into_iter()
        .map(|items| {
            let first = items.iter().filter_map(|&b| boxes.entry.get(b as usize)).min();
            (first.copied().unwrap_or(u32::MAX), items)
        })
        .collect();
    parts.sort_by_key(|(first, _)| *first);
    parts
}

/// Grows the binary tree of `boxes` in `parts` (as [`ordered_parts`] orders them): per part
/// its first entry and root node.
fn grow(
    boxes: &Boxes,
    parts: Vec<(u32, Vec<u32>)>,
    flags: &RunFlags,
    params: &Params,
    stats: &mut TreeStats,
    sink: &mut impl Sink,
) -> Vec<(u32, usize)> {
    let nf = boxes.nfields;
    let mut roots = Vec::new();
    let mut stack = Vec::new();
    for (first, items) in parts {
        let Split { own, buckets } = sink.part(items, boxes);
        let node = sink.node();
        roots.push((first, node));
        stack.push(Job { node, depth: 0, region: vec![Interval::ANY; nf], items: own });
        for (items, region) in buckets {
            let node = sink.node();
            sink.bucket(node);
            stack.push(Job { node, depth: 0, region, items });
        }
    }
    stats.parts = roots.len();
    let leaf_max = params.leaf_max.max(1);
    while let Some(mut job) = stack.pop() {
        stats.max_depth = stats.max_depth.max(job.depth);
        if flags.prune {
            cut_shadowed(boxes, flags, &mut job);
        }
        let over_budget = stats.items + job.items.len() > params.max_items || !sink.has_room();
        let split = if job.items.len() <= leaf_max || over_budget { None } else { best_cut(boxes, &job) };
        let Some((f, th)) = split else {
            stats.truncated |= over_budget && job.items.len() > leaf_max;
            stats.depth_sum += job.depth;
            stats.items += job.items.len();
            stats.max_leaf = stats.max_leaf.max(job.items.len());
            stats.leaves += 1;
            sink.leaf(job, boxes);
            continue;
        };
        let (mut left, mut right) = (Vec::new(), Vec::new());
        for &b in &job.items {
            let iv = boxes.interval(b, f);
            if iv.lo <= th {
                left.push(b);
            }
            if iv.hi > th {
                right.push(b);
            }
        }
        let child = sink.split(job.node, f, th as u32);
        let mut lr = job.region.clone();
        lr[f].hi = th;
        let mut rr = job.region;
        rr[f].lo = th + 1;
        stack.push(Job { node: child + 1, depth: job.depth + 1, region: rr, items: right });
        stack.push(Job { node: child, depth: job.depth + 1, region: lr, items: left });
    }
    roots
}

/// Builds a [`Tree`]: the binary tree, then its leaves and wide nodes.
struct TreeSink<'a> {
    tree: Tree,
    bins: Vec<Bin>,
    fields: &'a [Field],
    /// The keys part filters may use (none: no filters).
    keys: Vec<filter::Key>,
    /// May filters dispatch to per-key trees?
    dispatch: bool,
    /// The root node of each bucket tree, in bucket order.
    bucket_nodes: Vec<usize>,
    /// Each part's filter, in part order.
    filters: Vec<Option<filter::Filter>>,
}

impl Sink for TreeSink<'_> {
    fn part(&mut self, items: Vec<u32>, boxes: &Boxes) -> Split {
        let t = &mut self.tree;
        let Some(filter::Choice { key, bits, buckets }) =
            filter::for_part(boxes, self.fields, &self.keys, &items, self.dispatch)
        else {
            self.filters.push(None);
            return Split::whole(items);
        };
        let dispatch = buckets.is_some();
        if dispatch && t.filter_words.len() % 2 == 1 {
            // Pairs start at an even word: in a 16-byte aligned allocation (malloc's), a pair
            // never straddles two cache lines.
            t.filter_words.push(0);
        }
        let at = t.filter_words.len() as u32;
        if dispatch {
            // A dispatching filter's ranks: per bits word, the index of its first set bit's
            // tree among all per-key trees (those of this part are queued next).
            let mut next = self.bucket_nodes.len() as u64;
            for w in bits {
                t.filter_words.extend([w, next]);
                next += u64::from(w.count_ones());
            }
        } else {
            t.filter_words.extend(bits);
        }
        self.filters.push(Some(filter::Filter { key, at, dispatch }));
        let Some(buckets) = buckets else { return Split::whole(items) };
        let own = filter::absent_ok(boxes, &items, key);
        let buckets =
            buckets.into_iter().map(|(k, b)| (b, filter::bucket_region(key, k, self.fields))).collect();
        Split { own, buckets }
    }

    fn bucket(&mut self, node: usize) {
        self.bucket_nodes.push(node);
    }

    fn node(&mut self) -> usize {
        self.bins.push(Bin::Leaf(LEAF_BIT));
        self.bins.len() - 1
    }

    fn split(&mut self, node: usize, field: usize, threshold: u32) -> usize {
        let child = self.bins.len();
        self.bins.extend([Bin::Leaf(LEAF_BIT), Bin::Leaf(LEAF_BIT)]);
        if let Some(n) = self.bins.get_mut(node) {
            *n = Bin::Inner { field: field as u8, threshold, child: child as u32 };
        }
        child
    }

    fn leaf(&mut self, job: Job, boxes: &Boxes) {
        let leaf = make_leaf(&mut self.tree, boxes, &job);
        if let Some(b) = self.bins.get_mut(job.node) {
            *b = leaf;
        }
    }

    fn has_room(&self) -> bool {
        self.tree.has_room() && self.bins.len() + 2 <= MAX_WORDS
    }
}

/// Only notes which entries reach a leaf.
struct ReachSink {
    seen: Vec<bool>,
    nodes: usize,
}

impl Sink for ReachSink {
    fn part(&mut self, items: Vec<u32>, _boxes: &Boxes) -> Split {
        Split::whole(items)
    }

    fn bucket(&mut self, _node: usize) {}

    fn node(&mut self) -> usize {
        self.nodes += 1;
        self.nodes - 1
    }

    fn split(&mut self, _node: usize, _field: usize, _threshold: u32) -> usize {
        self.nodes += 2;
        self.nodes - 2
    }

    fn leaf(&mut self, job: Job, boxes: &Boxes) {
        for b in job.items {
            if let Some(s) = boxes.entry.get(b as usize).and_then(|e| self.seen.get_mut(*e as usize)) {
                *s = true;
            }
        }
    }

    fn has_room(&self) -> bool {
        self.nodes + 2 <= MAX_WORDS
    }
}

/// Builds the tree of `c`'s entries.
pub fn build(c: &Classifier, flags: &RunFlags, params: &Params) -> Tree {
    // (A program's classifiers have at most `MAX_FIELDS`: the verifier's rule.)
    let boxes = Boxes::of(c);
    let tree = Tree::empty(c, &boxes, flags);
    let keys = if params.filters { filter::keys(tree.reads()) } else { Vec::new() };
    let mut sink = TreeSink {
        tree,
        bins: Vec::new(),
        fields: &c.fields,
        keys,
        dispatch: params.dispatch,
        bucket_nodes: Vec::new(),
        filters: Vec::new(),
    };
    let parts = ordered_parts(c, &boxes, params);
    let items: Vec<&[u32]> = parts.iter().map(|(_, items)| items.as_slice()).collect();
    sink.tree.finals = finals::of(&boxes, &items, c.entries.len());
    let mut stats = TreeStats::default();
    let roots = grow(&boxes, parts, flags, params, &mut stats, &mut sink);
    let TreeSink { tree: mut t, bins, bucket_nodes, filters, .. } = sink;
    stats.nodes = bins.len();
    t.parts = roots
        .iter()
        .zip(filters)
        .map(|(&(first, r), filter)| Part { root: pack(&bins, r, &mut t.wides), first, filter })
        .collect();
    t.bucket_roots = bucket_nodes.iter().map(|&r| pack(&bins, r, &mut t.wides)).collect();
    stats.wides = t.wides.len();
    stats.filters = t.parts.iter().filter(|p| p.filter.is_some()).count();
    stats.buckets = t.bucket_roots.len();
    stats.finals = t.finals.iter().map(|w| w.count_ones() as usize).sum();
    stats.query_bytes =
        t.wides.len() * std::mem::size_of::<Wide>() + t.leaves.len() * 4 + t.filter_words.len() * 8;
    t.stats = stats;
    t
}

/// Per entry of `c`: does it reach a leaf of the tree [`build`] would build? An entry that
/// does not can never be the answer (every region its boxes reach is covered by an earlier
/// entry that ends the chain, or it has no box at all). Answered without building the tree.
pub fn reachable(c: &Classifier, flags: &RunFlags, params: &Params) -> Vec<bool> {
    let boxes = Boxes::of(c);
    let mut sink = ReachSink { seen: vec![false; c.entries.len()], nodes: 0 };
    let parts = ordered_parts(c, &boxes, params);
    grow(&boxes, parts, flags, params, &mut TreeStats::default(), &mut sink);
    sink.seen
}

/// Folds the binary tree under `root` into wide nodes (three levels each); the root's
/// reference. A leaf less than three levels down fills every slot under it.
fn pack(bins: &[Bin], root: usize, wides: &mut Vec<Wide>) -> u32 {
    // Allocates the wide node for `n` (or answers its leaf); its slots wait in `todo`.
    let place = |n: usize, wides: &mut Vec<Wide>, todo: &mut Vec<(usize, usize, usize)>| -> u32 {
        let Some(Bin::Inner { .. }) = bins.get(n) else {
            return match bins.get(n) {
                Some(Bin::Leaf(r)) => *r,
                _ => LEAF_BIT,
            };
        };
        let at = wides.len();
        let mut w = Wide::default();
        let mut slots = [n; 15];
        for k in 0..7 {
            let (l, r) = match bins.get(slots[k]) {
                Some(Bin::Inner { field, threshold, child }) => {
                    w.set_cut(k, *field, *threshold);
                    (*child as usize, *child as usize + 1)
                }
                _ => (slots[k], slots[k]),
            };
            slots[2 * k + 1] = l;
            slots[2 * k + 2] = r;
        }
        wides.push(w);
        for (s, &b) in slots[7..].iter().enumerate() {
            todo.push((at, s, b));
        }
        at as u32
    };
    let mut todo = Vec::new();
    let top = place(root, wides, &mut todo);
    while let Some((w, s, b)) = todo.pop() {
        let r = place(b, wides, &mut todo);
        if let Some(k) = wides.get_mut(w).and_then(|w| w.kids.get_mut(s)) {
            *k = r;
        }
    }
    top
}

/// The boxes of each part, in box order: grouped by the network-header words (IPv4
/// addresses, quarters of IPv6 ones) in which they accept more than [`WIDE`] values.
fn parts(c: &Classifier, boxes: &Boxes, partition: bool) -> Vec<Vec<u32>> {
    let all: Vec<u32> = (0..boxes.entry.len() as u32).collect();
    // Per field: its network-header word, if it reads one.
    let word = |f: &Field| match c.recipes.get(f.recipe as usize).map(|r| r.exprs.as_slice()) {
        Some([Expr::Payload(p)]) if p.base == PayloadBase::Network => {
            Some((p.offset + u32::from(f.offset)) / 4)
        }
        _ => None,
    };
    let mut words: Vec<(u32, Vec<usize>)> = Vec::new();
    for (i, f) in c.fields.iter().enumerate() {
        let Some(w) = word(f) else { continue };
        match words.iter_mut().find(|(x, _)| *x == w) {
            Some((_, fs)) => fs.push(i),
            None => words.push((w, vec![i])),
        }
    }
    words.truncate(8);
    if !partition || words.is_empty() {
        return vec![all];
    }
    let mut groups: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for b in all {
        let key = words.iter().enumerate().fold(0u32, |k, (bit, (_, fs))| {
            let values = fs.iter().fold(1u64, |n, &f| {
                let iv = boxes.interval(b, f);
                let max = c.fields.get(f).map_or(u64::from(u32::MAX), |x| x.max());
                n.saturating_mul(iv.hi.min(max).saturating_sub(iv.lo) + 1)
            });
            k | (u32::from(values > WIDE) << bit)
        });
        groups.entry(key).or_default().push(b);
    }
    let mut parts: Vec<Vec<u32>> = Vec::new();
    let mut small: Vec<u32> = Vec::new();
    for g in groups.into_values() {
        if g.len() < MIN_PART {
            small.extend(g);
        } else {
            parts.push(g);
        }
    }
    if !small.is_empty() || parts.is_empty() {
        small.sort_unstable();
        parts.push(small);
    }
    parts
}

/// Drops the boxes after the first one that covers the region and ends the chain.
fn cut_shadowed(boxes: &Boxes, flags: &RunFlags, job: &mut Job) {
    let covering = job.items.iter().position(|&b| {
        let entry = boxes.entry.get(b as usize).copied().unwrap_or(u32::MAX);
        flags.ends_chain.get(entry as usize).copied().unwrap_or(false)
            && boxes.get(b).iter().zip(&job.region).all(|(iv, r)| iv.covers(*r))
    });
    if let Some(i) = covering {
        job.items.truncate(i + 1);
    }
}

/// The cut (field, threshold) that minimizes the larger side, then the sum of both.
fn best_cut(boxes: &Boxes, job: &Job) -> Option<(usize, u64)> {
    let k = job.items.len();
    let mut best: Option<((usize, usize), usize, u64)> = None;
    let mut los = Vec::with_capacity(k);
    let mut his = Vec::with_capacity(k);
    for (f, r) in job.region.iter().enumerate() {
        if r.lo >= r.hi {
            continue;
        }
        los.clear();
        his.clear();
        for &b in &job.items {
            let iv = boxes.interval(b, f);
            los.push(iv.lo.max(r.lo));
            his.push(iv.hi.min(r.hi));
        }
        los.sort_unstable();
        his.sort_unstable();
        // Candidates: just below a start, or at an end, strictly inside the region.
        let cands = los
            .iter()
            .filter(|&&l| l > r.lo)
            .map(|&l| l - 1)
            .chain(his.iter().copied().filter(|&h| h < r.hi));
        for t in cands {
            let nl = los.partition_point(|&l| l <= t);
            let nr = k - his.partition_point(|&h| h <= t);
            let score = (nl.max(nr), nl + nr);
            if best.is_none_or(|(s, _, _)| score < s) {
                best = Some((score, f, t));
            }
        }
    }
    best.map(|(_, f, t)| (f, t))
}

/// Makes the job's boxes a leaf of `t`, each with the tests its region leaves open.
fn make_leaf(t: &mut Tree, boxes: &Boxes, job: &Job) -> Bin {
    let leaf = t.push_leaf(job.items.len());
    for &b in &job.items {
        let entry = boxes.entry.get(b as usize).copied().unwrap_or(u32::MAX);
        let open: Vec<Test> = boxes
            .get(b)
            .iter()
            .zip(&job.region)
            .enumerate()
            .filter(|(_, (iv, r))| !iv.covers(**r))
            .map(|(f, (iv, _))| Test::new(f, *iv, t.field_max(f)))
            .collect();
        t.push_item(entry, &open);
    }
    Bin::Leaf(leaf)
}
