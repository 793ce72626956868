//! From constraints on sources to boxes over classifier fields.
//!
//! Fields are at most 4 bytes. Packet bytes are cut at every load and test boundary of the
//! run (so `tcp sport . tcp dport` loaded as 4 bytes by one rule and `tcp dport` as 2 by
//! another share fields), then into 4-byte pieces; every piece is its own recipe, so a short
//! packet makes exactly the pieces it lacks absent. Other values (metadata, conntrack,
//! transformed loads) are one recipe each, cut into 4-byte fields.
//!
//! Where the chain's packets always carry a whole IP header (ip, ip6 and inet chains: the
//! kernel drops a truncated one before their hooks, and so does nftvm), a shorter load that
//! starts where a longer one does, inside that header, cuts nothing at its end: `ip daddr
//! 10.0.0.0/8` (a 1-byte load) tests the high byte of the same 4-byte field `ip daddr
//! 10.1.2.3` reads, as an interval of the whole field. One field per address instead of one
//! per byte makes the tree's cuts and a leaf's tests fewer.
//!
//! A byte-string interval over several fields becomes a union of boxes (the usual
//! lexicographic split: equal leading fields, then the first field in between, …); a
//! conjunction of unions is their product. Rules whose product grows past a cap are left
//! out of classification.

use super::analyze::{Analysis, Source, Sources, Span};
use nftvm_vm::Expr;
use nftvm_vm::classify::{Field, Interval, Recipe};
use nftvm_vm::expr::payload::Payload;
use nftvm_vm::keys::PayloadBase;
use nftvm_vm::reg::Reg;
use std::collections::BTreeSet;

/// Most boxes one rule may become.
pub const MAX_BOXES: usize = 64;

/// One field's piece of a source: the field, its first byte in the source and its width (a
/// field may run past the end of a short prefix load, see above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    field: usize,
    start: usize,
    width: usize,
}

/// The fields of a run and how each source maps onto them.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub recipes: Vec<Recipe>,
    pub fields: Vec<Field>,
    /// Per source id: its pieces in byte order (empty for sources the run does not use).
    pieces: Vec<Vec<Piece>>,
    /// Per source id: a packet source?
    packet: Vec<bool>,
}

impl Layout {
    /// The fields for the sources and spans of `analyses`, in a chain whose packets always
    /// have the first `whole_header` bytes of their network header.
    pub fn new(sources: &Sources, analyses: &[&Analysis], whole_header: u32) -> Layout {
        let mut used = vec![false; sources.list.len()];
        // Packet cut points per base, and span ends per value source.
        let mut cuts: Vec<(PayloadBase, BTreeSet<u32>)> = Vec::new();
        let mut value_end = vec![0usize; sources.list.len()];
        // Packet byte ranges loaded or tested, for the ends that need no cut.
        let mut spans: BTreeSet<(PayloadBase, u32, u32)> = BTreeSet::new();
        let cut = |base: PayloadBase, at: u32, cuts: &mut Vec<(PayloadBase, BTreeSet<u32>)>| match cuts
            .iter_mut()
            .find(|(b, _)| *b == base)
        {
            Some((_, s)) => {
                s.insert(at);
            }
            None => cuts.push((base, BTreeSet::from([at]))),
        };
        let mut note = |src: usize, from: usize, to: usize, cuts: &mut Vec<(PayloadBase, BTreeSet<u32>)>| {
            let Some(s) = sources.list.get(src) else { return };
            if let Some(u) = used.get_mut(src) {
                *u = true;
            }
            match s {
                Source::Packet { base, offset, .. } => {
                    cut(*base, offset + from as u32, cuts);
                    spans.insert((*base, offset + from as u32, offset + to as u32));
                }
                Source::Value { .. } => {
                    if let Some(e) = value_end.get_mut(src) {
                        *e = (*e).max(to.max(1));
                    }
                }
            }
        };
        for a in analyses {
            for &src in &a.loaded {
                let len = sources.list.get(src).map_or(0, |s| s.len() as usize);
                note(src, 0, len, &mut cuts);
            }
            for k in &a.constraints {
                for sp in k.alts.iter().flatten() {
                    note(sp.source, sp.start as usize, sp.start as usize + sp.lo.len(), &mut cuts);
                }
            }
        }
        // A span's end is a cut unless a longer span of the whole header starts with it.
        for &(base, start, end) in &spans {
            let prefix = base == PayloadBase::Network
                && spans.iter().any(|&(b, s, e)| b == base && s <= start && end < e && e <= whole_header);
            if !prefix {
                cut(base, end, &mut cuts);
            }
        }
        let mut l = Layout {
            pieces: vec![Vec::new(); sources.list.len()],
            packet: sources.list.iter().map(|s| matches!(s, Source::Packet { .. })).collect(),
            ..Layout::default()
        };
        // Packet pieces: between consecutive cuts covered by some used source, 4 bytes at most.
        for (base, points) in &cuts {
            let points: Vec<u32> = points.iter().copied().collect();
            for w in points.windows(2) {
                let (a, b) = (w[0], w[1]);
                let covered = sources.list.iter().zip(&used).any(|(s, u)| {
                    *u && matches!(s, Source::Packet { base: sb, offset, len } if sb == base && *offset <= a && b <= offset + u32::from(*len))
                });
                if !covered {
                    continue;
                }
                let mut at = a;
                while at < b {
                    let width = (b - at).min(4);
                    l.add_packet_field(*base, at, width as u8, sources, &used);
                    at += width;
                }
            }
        }
        // Value pieces: 4-byte fields up to the last byte tested.
        for (src, s) in sources.list.iter().enumerate() {
            let Source::Value { exprs, len } = s else { continue };
            if !used.get(src).copied().unwrap_or(false) {
                continue;
            }
            let recipe = l.recipes.len();
            l.recipes.push(Recipe { exprs: exprs.clone(), len: *len });
            let end = value_end.get(src).copied().unwrap_or(1).min(*len as usize).max(1);
            let mut at = 0;
            while at < end {
                let width = (end - at).min(4);
                let field = l.fields.len();
                l.fields.push(Field { recipe: recipe as u8, offset: at as u8, width: width as u8 });
                if let Some(p) = l.pieces.get_mut(src) {
                    p.push(Piece { field, start: at, width });
                }
                at += width;
            }
        }
        l
    }

    fn add_packet_field(&mut self, base: PayloadBase, at: u32, width: u8, sources: &Sources, used: &[bool]) {
        let recipe = self.recipes.len();
        let load = Expr::Payload(Payload::load(base, at, width, Reg::R1));
        self.recipes.push(Recipe { exprs: vec![load], len: width });
        let field = self.fields.len();
        self.fields.push(Field { recipe: recipe as u8, offset: 0, width });
        for (src, s) in sources.list.iter().enumerate() {
            if let Source::Packet { base: b, offset, len } = s
                && *b == base
                && used.get(src).copied().unwrap_or(false)
                && *offset <= at
                && at < offset + u32::from(*len)
                && let Some(p) = self.pieces.get_mut(src)
            {
                p.push(Piece { field, start: (at - offset) as usize, width: width as usize });
            }
        }
    }

    /// The rule's boxes (None when they would be more than [`MAX_BOXES`]).
    pub fn boxes(&self, a: &Analysis) -> Option<Vec<Vec<Interval>>> {
        let nf = self.fields.len();
        let mut acc: Vec<Vec<Interval>> = vec![vec![Interval::ANY; nf]];
        // Every load must succeed: its pieces present.
        for &src in &a.loaded {
            let pieces = self.pieces.get(src)?;
            // A value's fields share one recipe (present together); packet pieces do not.
            let relevant: &[Piece] = match self.packet.get(src) {
                Some(true) => pieces,
                _ => pieces.get(..1).unwrap_or(&[]),
            };
            for p in relevant {
                let max = self.fields.get(p.field)?.max();
                for b in &mut acc {
                    b[p.field] = intersect(b[p.field], Interval::new(0, max))?;
                }
            }
        }
        for k in &a.constraints {
            let mut union: Vec<Vec<Interval>> = Vec::new();
            for alt in &k.alts {
                let mut part: Vec<Vec<Interval>> = vec![vec![Interval::ANY; nf]];
                for sp in alt {
                    let pieces = self.span_pieces(sp)?;
                    let d = decompose(&sp.lo, &sp.hi, &pieces);
                    part = product(&part, &d, nf)?;
                }
                union.extend(part);
                if union.len() > MAX_BOXES {
                    return None;
                }
            }
            acc = product_boxes(&acc, &union)?;
        }
        Some(acc)
    }

    /// The pieces covering a span, with how many of their bytes it covers (aligned start).
    fn span_pieces(&self, sp: &Span) -> Option<Vec<(usize, usize, usize)>> {
        let (from, to) = (sp.start as usize, sp.start as usize + sp.lo.len());
        let mut out = Vec::new();
        let mut at = from;
        for p in self.pieces.get(sp.source)? {
            if p.start + p.width <= from || p.start >= to {
                continue;
            }
            if p.start != at {
                return None;
            }
            let used = (to - p.start).min(p.width);
            out.push((p.field, used, p.width));
            at += used;
        }
        (at == to).then_some(out)
    }
}

fn intersect(a: Interval, b: Interval) -> Option<Interval> {
    let lo = a.lo.max(b.lo);
    let hi = a.hi.min(b.hi);
    (lo <= hi).then_some(Interval::new(lo, hi))
}

fn be(b: &[u8], pad: usize, fill: u8) -> u64 {
    let v = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    (0..pad).fold(v, |acc, _| (acc << 8) | u64::from(fill))
}

/// `[lo, hi]` (byte strings over consecutive pieces `(field, used bytes, width)`) as boxes of
/// `(field, interval)` constraints.
fn decompose(lo: &[u8], hi: &[u8], pieces: &[(usize, usize, usize)]) -> Vec<Vec<(usize, Interval)>> {
    let Some((&(f, used, width), rest)) = pieces.split_first() else { return vec![vec![]] };
    let pad = width - used;
    let (l0, lr) = lo.split_at(used.min(lo.len()));
    let (h0, hr) = hi.split_at(used.min(hi.len()));
    if rest.is_empty() {
        return vec![vec![(f, Interval::new(be(l0, pad, 0), be(h0, pad, 0xff)))]];
    }
    let (lv, hv) = (be(l0, 0, 0), be(h0, 0, 0));
    let with = |v: u64, tail: Vec<Vec<(usize, Interval)>>| -> Vec<Vec<(usize, Interval)>> {
        tail.into_iter()
            .map(|mut b| {
                b.insert(0, (f, Interval::point(v)));
                b
            })
            .collect()
    };
    if l0 == h0 {
        return with(lv, decompose(lr, hr, rest));
    }
    let lo_full = lr.iter().all(|b| *b == 0);
    let hi_full = hr.iter().all(|b| *b == 0xff);
    let mut out = Vec::new();
    if !lo_full {
        out.extend(with(lv, decompose(lr, &vec![0xff; hr.len()], rest)));
    }
    let mid_lo = if lo_full { lv } else { lv + 1 };
    let mid_hi = if hi_full { hv } else { hv.wrapping_sub(1) };
    if mid_lo <= mid_hi {
        out.push(vec![(f, Interval::new(mid_lo, mid_hi))]);
    }
    if !hi_full {
        out.extend(with(hv, decompose(&vec![0; lr.len()], hr, rest)));
    }
    out
}

/// Boxes of `part` each narrowed by each of `d`'s constraint lists.
fn product(part: &[Vec<Interval>], d: &[Vec<(usize, Interval)>], nf: usize) -> Option<Vec<Vec<Interval>>> {
    let mut out = Vec::new();
    for b in part {
        'next: for cons in d {
            let mut nb = b.clone();
            for &(f, iv) in cons {
                if f >= nf {
                    return None;
                }
                match intersect(nb[f], iv) {
                    Some(x) => nb[f] = x,
                    None => continue 'next,
                }
            }
            out.push(nb);
            if out.len() > MAX_BOXES {
                return None;
            }
        }
    }
    Some(out)
}

/// Pairwise intersections of two unions of boxes.
fn product_boxes(a: &[Vec<Interval>], b: &[Vec<Interval>]) -> Option<Vec<Vec<Interval>>> {
    let mut out = Vec::new();
    for x in a {
        'next: for y in b {
            let mut nb = Vec::with_capacity(x.len());
            for (p, q) in x.iter().zip(y) {
                match intersect(*p, *q) {
                    Some(i) => nb.push(i),
                    None => continue 'next,
                }
            }
            out.push(nb);
            if out.len() > MAX_BOXES {
                return None;
            }
        }
    }
    Some(out)
}
