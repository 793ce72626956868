//! The decision tree of a classifier, HyperSplit-style: every inner node cuts one field's
//! value range in two (`value <= threshold` goes left), every leaf lists the boxes that may
//! hold a packet of its region, in rule order.
//!
//! Building: a node holds the boxes that intersect its region. It becomes a leaf when few
//! remain, or when no cut separates them; otherwise the cut is chosen over every field and
//! every box end inside the region, minimizing the larger side, then the boxes copied to
//! both sides. Where shadowing may be used ([`super::effects::RunFlags::prune`]), a node's
//! list is cut after the first box that covers the whole region and belongs to an entry
//! that ends the chain — the boxes after it can never be the answer there.
//!
//! Every cut strictly shrinks the set of box ends inside both children, so building ends;
//! a budget on leaf items turns what is left into leaves when a rule set replicates too
//! much (slower, never wrong: a leaf's list is always a superset of the answers).
//!
//! Partitions (EffiCuts' idea): one tree over boxes that are narrow in an address field and
//! boxes that are wide in it replicates the wide ones into every cut of the narrow ones —
//! ClassBench's 10K sets grow millions of nodes that way. So the boxes are first grouped by
//! which of the wide (32-bit) fields they leave wide (more than 2^16 values), and each group
//! gets its own tree (small groups share one). Querying walks every part's tree from its
//! root to a leaf, tests the leaf's boxes in order from entry `from` on, and takes the
//! earliest entry found; shadowing cuts inside a part stay sound, as the entry that covers
//! a region is itself found there.

use super::effects::RunFlags;
use super::{ABSENT, Classifier, Field, Interval, MAX_FIELDS};
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
}

impl Default for Params {
    fn default() -> Params {
        Params { leaf_max: 4, max_items: 4_000_000, partition: true }
    }
}

/// A group with fewer boxes joins the shared last part.
const MIN_PART: usize = 64;
/// A field interval with more values than this is wide (for partitioning).
const WIDE: u64 = 1 << 16;

const INNER: u8 = 0;
const LEAF: u8 = 1;

/// A node: inner (`field`, `threshold`, children at `child` and `child + 1`) or leaf (items
/// `child .. child + threshold`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Node {
    threshold: u32,
    child: u32,
    field: u8,
    kind: u8,
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
}

/// The tree (empty until built).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
    /// The root node of each part, parts in the order of their first entry.
    roots: Vec<u32>,
    /// The first (lowest) entry of each part: a query that has found an entry before it
    /// need not walk that part or any later one.
    first_entry: Vec<u32>,
    items: Vec<u32>,
    /// `nfields` intervals per box.
    boxes: Vec<Interval>,
    box_entry: Vec<u32>,
    nfields: usize,
    /// The facts the build relied on (the verifier compares them with the program).
    pub flags: RunFlags,
    pub stats: TreeStats,
}

/// A node waiting to be built.
struct Job {
    node: usize,
    depth: usize,
    region: Vec<Interval>,
    items: Vec<u32>,
}

impl Tree {
    pub fn is_built(&self) -> bool {
        !self.nodes.is_empty()
    }

    /// Builds the tree of `c`'s entries.
    pub fn build(c: &Classifier, flags: &RunFlags, params: &Params) -> Tree {
        // (A program's classifiers have at most `MAX_FIELDS`: the verifier's rule.)
        let nf = c.fields.len();
        let mut t = Tree { nfields: nf, flags: flags.clone(), ..Tree::default() };
        for (i, e) in c.entries.iter().enumerate() {
            for b in &e.boxes {
                t.boxes.extend((0..nf).map(|f| b.get(f).copied().unwrap_or(Interval::ANY)));
                t.box_entry.push(i as u32);
            }
        }
        let mut stack = Vec::new();
        let mut parts: Vec<(u32, Vec<u32>)> = t
            .parts(c, params.partition)
            .into_iter()
            .map(|items| {
                let first = items.iter().filter_map(|&b| t.box_entry.get(b as usize)).min();
                (first.copied().unwrap_or(u32::MAX), items)
            })
            .collect();
        parts.sort_by_key(|(first, _)| *first);
        for (first, items) in parts {
            let node = t.nodes.len();
            t.roots.push(node as u32);
            t.first_entry.push(first);
            t.nodes.push(Node { threshold: 0, child: 0, field: 0, kind: LEAF });
            stack.push(Job { node, depth: 0, region: vec![Interval::ANY; nf], items });
        }
        t.stats.parts = t.roots.len();
        let leaf_max = params.leaf_max.max(1);
        while let Some(mut job) = stack.pop() {
            t.stats.max_depth = t.stats.max_depth.max(job.depth);
            if flags.prune {
                t.cut_shadowed(&mut job);
            }
            let over_budget = t.stats.items + job.items.len() > params.max_items;
            let split = if job.items.len() <= leaf_max || over_budget { None } else { t.best_cut(&job) };
            let Some((f, th)) = split else {
                t.stats.truncated |= over_budget && job.items.len() > leaf_max;
                t.make_leaf(job);
                continue;
            };
            let (mut left, mut right) = (Vec::new(), Vec::new());
            for &b in &job.items {
                let iv = t.interval(b, f);
                if iv.lo <= th {
                    left.push(b);
                }
                if iv.hi > th {
                    right.push(b);
                }
            }
            let child = t.nodes.len();
            t.nodes.push(Node { threshold: 0, child: 0, field: 0, kind: LEAF });
            t.nodes.push(Node { threshold: 0, child: 0, field: 0, kind: LEAF });
            t.nodes[job.node] =
                Node { threshold: th as u32, child: child as u32, field: f as u8, kind: INNER };
            let mut lr = job.region.clone();
            lr[f].hi = th;
            let mut rr = job.region;
            rr[f].lo = th + 1;
            stack.push(Job { node: child + 1, depth: job.depth + 1, region: rr, items: right });
            stack.push(Job { node: child, depth: job.depth + 1, region: lr, items: left });
        }
        t.stats.nodes = t.nodes.len();
        t
    }

    /// The boxes of each part, in box order: grouped by the network-header words (IPv4
    /// addresses, quarters of IPv6 ones) in which they accept more than [`WIDE`] values.
    fn parts(&self, c: &Classifier, partition: bool) -> Vec<Vec<u32>> {
        let all: Vec<u32> = (0..self.box_entry.len() as u32).collect();
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
                    let iv = self.interval(b, f);
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

    fn interval(&self, b: u32, f: usize) -> Interval {
        self.boxes.get(b as usize * self.nfields + f).copied().unwrap_or(Interval::ANY)
    }

    fn box_of(&self, b: u32) -> &[Interval] {
        let s = b as usize * self.nfields;
        self.boxes.get(s..s + self.nfields).unwrap_or(&[])
    }

    /// Drops the boxes after the first one that covers the region and ends the chain.
    fn cut_shadowed(&self, job: &mut Job) {
        let covering = job.items.iter().position(|&b| {
            let entry = self.box_entry.get(b as usize).copied().unwrap_or(u32::MAX);
            self.flags.ends_chain.get(entry as usize).copied().unwrap_or(false)
                && self.box_of(b).iter().zip(&job.region).all(|(iv, r)| iv.covers(*r))
        });
        if let Some(i) = covering {
            job.items.truncate(i + 1);
        }
    }

    /// The cut (field, threshold) that minimizes the larger side, then the sum of both.
    fn best_cut(&self, job: &Job) -> Option<(usize, u64)> {
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
                let iv = self.interval(b, f);
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

    fn make_leaf(&mut self, job: Job) {
        let start = self.items.len();
        self.stats.depth_sum += job.depth;
        self.stats.items += job.items.len();
        self.stats.max_leaf = self.stats.max_leaf.max(job.items.len());
        self.stats.leaves += 1;
        self.items.extend(&job.items);
        self.nodes[job.node] =
            Node { threshold: job.items.len() as u32, child: start as u32, field: 0, kind: LEAF };
    }

    /// The first entry at or after `from` whose box holds `values`.
    pub fn query(&self, values: &[u64; MAX_FIELDS], from: u32) -> Option<u32> {
        let mut best: Option<u32> = None;
        for (&root, &first) in self.roots.iter().zip(&self.first_entry) {
            if best.is_some_and(|b| first >= b) {
                break;
            }
            let found = self.query_part(root as usize, values, from, best.unwrap_or(u32::MAX));
            if found.is_some() {
                best = found;
                if best == Some(from) {
                    break;
                }
            }
        }
        best
    }

    /// The first entry in `from..before` of one part whose box holds `values`.
    fn query_part(&self, root: usize, values: &[u64; MAX_FIELDS], from: u32, before: u32) -> Option<u32> {
        let mut n = root;
        let leaf = loop {
            let node = self.nodes.get(n)?;
            if node.kind == LEAF {
                break node;
            }
            let v = values.get(node.field as usize).copied().unwrap_or(ABSENT);
            n = node.child as usize + usize::from(v > u64::from(node.threshold));
        };
        let (start, count) = (leaf.child as usize, leaf.threshold as usize);
        let nf = self.nfields;
        for &b in self.items.get(start..start + count)? {
            let entry = self.box_entry.get(b as usize).copied()?;
            if entry < from {
                continue;
            }
            if entry >= before {
                return None;
            }
            let s = b as usize * nf;
            let bx = self.boxes.get(s..s + nf)?;
            if bx.iter().zip(values).all(|(iv, v)| iv.contains(*v)) {
                return Some(entry);
            }
        }
        None
    }

    /// Structural soundness (the verifier's rule): children after their parent and in
    /// bounds, fields and item ranges in bounds, one box per entry reference.
    pub fn check(&self, c: &Classifier) -> Result<(), String> {
        let nf = c.fields.len();
        if nf > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        if !self.is_built() {
            return Err("the classification tree is not built".into());
        }
        if self.nfields != nf || self.boxes.len() != self.box_entry.len() * nf {
            return Err("the tree's boxes do not fit the fields".into());
        }
        let mut flat = Vec::with_capacity(self.boxes.len());
        for e in &c.entries {
            for b in &e.boxes {
                flat.extend((0..nf).map(|f| b.get(f).copied().unwrap_or(Interval::ANY)));
            }
        }
        if flat != self.boxes {
            return Err("the tree was built from other entries".into());
        }
        if self.roots.iter().any(|&r| r as usize >= self.nodes.len()) {
            return Err("a tree root is out of range".into());
        }
        if self.first_entry.len() != self.roots.len() || !self.first_entry.is_sorted() {
            return Err("the tree's parts are not in the order of their first entries".into());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            match n.kind {
                INNER => {
                    if (n.child as usize) <= i
                        || n.child as usize + 1 >= self.nodes.len()
                        || n.field as usize >= nf
                    {
                        return Err(format!("tree node {i} is malformed"));
                    }
                }
                _ => {
                    let end = n.child as usize + n.threshold as usize;
                    if end > self.items.len() {
                        return Err(format!("tree leaf {i} lists items out of range"));
                    }
                }
            }
        }
        if self.items.iter().any(|&b| b as usize >= self.box_entry.len())
            || self.box_entry.iter().any(|&e| e as usize >= c.entries.len())
        {
            return Err("tree items out of range".into());
        }
        Ok(())
    }

    /// Per entry: does it appear in some leaf? An entry that does not can never be the
    /// answer (every region its boxes reach is covered by an earlier entry that ends the
    /// chain, or it has no box at all).
    pub fn reachable_entries(&self, entries: usize) -> Vec<bool> {
        let mut seen = vec![false; entries];
        for n in self.nodes.iter().filter(|n| n.kind == LEAF) {
            let (s, c) = (n.child as usize, n.threshold as usize);
            for &b in self.items.get(s..s + c).unwrap_or(&[]) {
                if let Some(e) = self.box_entry.get(b as usize).and_then(|e| seen.get_mut(*e as usize)) {
                    *e = true;
                }
            }
        }
        seen
    }

    /// Heap bytes of the tree.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>()
            + self.roots.len() * 4
            + self.items.len() * 4
            + self.boxes.len() * std::mem::size_of::<Interval>()
            + self.box_entry.len() * 4
            + self.flags.ends_chain.len()
    }
}
