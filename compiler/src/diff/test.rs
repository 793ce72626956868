//! Tests: a match as the engine sees it, first over loads ([`Test`]: members, masks and the
//! accepted value sets), then — once the universe is cut into slots — over slots
//! ([`Test::to_cond`]).
//!
//! Normalization happens here: `22`, `22-22`, `{ 22 }` and `@th,16,16 22` are the same value
//! set on the same bits; `10.0.0.0/8` and `10.0.0.0-10.255.255.255` are the same interval;
//! `!=`, `<`, `>=` become sets; `tcp flags & (syn|ack) == syn` becomes constraints on the two
//! one-bit slots the mask selects; `ct state established,related` becomes the two allowed
//! values of the enumerated `ct state` slot.

use super::cond::{BoxC, Cond};
use super::error::{Res, Unsupported};
use super::interval::{Interval, IntervalSet, max_of};
use super::operand::{self, Load, Piece};
use super::storage::Point;
use super::universe::{Slot, Universe};
use crate::ir::{Expr, ExprKind, Match, MatchOp, SetElem, Table};

/// One member of a test: a load and the mask applied to it (all ones when none).
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub load: Load,
    pub mask: u128,
}

/// `members ∈ ⋃ elems` (or its negation). Each element gives one value set per member,
/// over the masked value.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub members: Vec<Member>,
    pub elems: Vec<Vec<IntervalSet>>,
    pub negate: bool,
}

impl Member {
    /// Register the mask's cuts (loads were registered when resolved).
    fn note(&self, uni: &mut Universe) -> Res<()> {
        let mut at = 0;
        for p in &self.load.pieces {
            if let Piece::Bits { storage, off, len } = p {
                let m = Universe::bits_of(self.mask, self.load.width, at, *len);
                if m != max_of(*len) {
                    uni.note_mask(*storage, *off, *len, m)?;
                }
            }
            at += p.len();
        }
        Ok(())
    }
}

/// The value set a constant right-hand side denotes for a member of `bits` bits.
pub fn const_set(e: &Expr, bits: u32) -> Res<IntervalSet> {
    let max = max_of(bits);
    match &e.kind {
        ExprKind::Value(v) => Ok(IntervalSet::point(operand::number(v, e.ty, bits)? & max)),
        ExprKind::Prefix { value, len } => {
            let v = operand::number(value, e.ty, bits)?;
            let host = if *len >= bits { 0 } else { max >> len };
            Ok(IntervalSet::of(Interval { lo: v & !host & max, hi: (v | host) & max }))
        }
        ExprKind::Range { low, high } => {
            let lo = operand::number(low, e.ty, bits)?;
            let hi = operand::number(high, e.ty, bits)?;
            Ok(Interval::new(lo, hi).map(IntervalSet::of).unwrap_or_default())
        }
        ExprKind::CatchAll => Ok(IntervalSet::full(bits)),
        _ => Err(Unsupported::new("a non-constant value in a set or comparison")),
    }
}

/// The per-member value sets of one set element key (a concatenation or a single value).
pub fn key_sets(key: &Expr, widths: &[u32]) -> Res<Vec<IntervalSet>> {
    match (&key.kind, widths) {
        (ExprKind::Concat(parts), _) if parts.len() == widths.len() => {
            parts.iter().zip(widths).map(|(p, w)| const_set(p, *w)).collect()
        }
        (ExprKind::Concat(_), _) => Err(Unsupported::new("a concatenation of the wrong length")),
        (_, [w]) => Ok(vec![const_set(key, *w)?]),
        _ => Err(Unsupported::new("a single value where a concatenation is expected")),
    }
}

/// The elements of an anonymous set or a named set of `table`.
pub fn set_elems<'a>(right: &'a Expr, table: &'a Table) -> Res<&'a [SetElem]> {
    match &right.kind {
        ExprKind::Set(lit) => Ok(&lit.elems),
        ExprKind::SetRef(name) => {
            let set = table.set(name).ok_or_else(|| Unsupported::new(format!("unknown set @{name}")))?;
            if set.flags.dynamic || set.flags.timeout || set.kind == crate::ir::SetKind::Meter {
                return Err(Unsupported::new(format!(
                    "dynamic set @{name} (its contents change at run time)"
                )));
            }
            Ok(&set.elems)
        }
        _ => Err(Unsupported::new("a set expected")),
    }
}

/// Resolve a match's left side into members: loads, optionally masked (`x & m`), or a
/// concatenation of those.
pub fn members(left: &Expr, point: Point, uni: &mut Universe) -> Res<Vec<Member>> {
    match &left.kind {
        ExprKind::Concat(parts) => parts.iter().map(|p| member(p, point, uni)).collect::<Res<Vec<_>>>(),
        _ => Ok(vec![member(left, point, uni)?]),
    }
}

fn member(e: &Expr, point: Point, uni: &mut Universe) -> Res<Member> {
    match &e.kind {
        ExprKind::Binary { op: crate::ir::BinOp::And, lhs, rhs } => {
            let inner = member(lhs, point, uni)?;
            let m = match &rhs.kind {
                ExprKind::Value(v) => operand::number(v, rhs.ty, inner.load.width)?,
                _ => return Err(Unsupported::new("a mask that is not a constant")),
            };
            Ok(Member { mask: inner.mask & m, ..inner })
        }
        ExprKind::Binary { op, .. } => {
            Err(Unsupported::new(format!("'{}' on the left of a match", op.symbol())))
        }
        ExprKind::Map(_) => Err(Unsupported::new("a map lookup on the left of a match")),
        _ if e.is_load() => {
            let load = operand::resolve(e, point, uni)?;
            let mask = max_of(load.width);
            Ok(Member { load, mask })
        }
        _ => Err(Unsupported::new("a non-load on the left of a match")),
    }
}

/// A match statement as a test.
pub fn from_match(m: &Match, table: &Table, point: Point, uni: &mut Universe) -> Res<Test> {
    let mut members = members(&m.left, point, uni)?;
    let widths: Vec<u32> = members.iter().map(|x| x.load.width).collect();
    let single = |members: &[Member]| -> Res<u32> {
        match members {
            [x] => Ok(x.load.width),
            _ => Err(Unsupported::new("an ordering comparison on a concatenation")),
        }
    };
    let value_of = |e: &Expr, bits: u32| -> Res<u128> {
        match &e.kind {
            ExprKind::Value(v) => operand::number(v, e.ty, bits),
            _ => Err(Unsupported::new("a comparison with a non-constant")),
        }
    };
    let (elems, negate) = match m.op {
        MatchOp::Eq | MatchOp::Ne => {
            let elems = match &m.right.kind {
                ExprKind::Set(_) | ExprKind::SetRef(_) => set_elems(&m.right, table)?
                    .iter()
                    .map(|e| key_sets(&e.key, &widths))
                    .collect::<Res<Vec<_>>>()?,
                _ => vec![key_sets(&m.right, &widths)?],
            };
            (elems, m.op == MatchOp::Ne)
        }
        MatchOp::Lt | MatchOp::Le | MatchOp::Gt | MatchOp::Ge => {
            let bits = single(&members)?;
            let v = value_of(&m.right, bits)?;
            let max = max_of(bits);
            let iv = match m.op {
                MatchOp::Lt => v.checked_sub(1).map(|h| Interval { lo: 0, hi: h }),
                MatchOp::Le => Some(Interval { lo: 0, hi: v }),
                MatchOp::Gt => v.checked_add(1).filter(|l| *l <= max).map(|l| Interval { lo: l, hi: max }),
                _ => Some(Interval { lo: v, hi: max }),
            };
            (vec![vec![iv.map(IntervalSet::of).unwrap_or_default()]], false)
        }
        MatchOp::Flags | MatchOp::NoFlags => {
            let bits = single(&members)?;
            let f = value_of(&m.right, bits)?;
            members[0].mask &= f;
            let set = if m.op == MatchOp::Flags {
                Interval::new(1, max_of(bits)).map(IntervalSet::of).unwrap_or_default()
            } else {
                IntervalSet::point(0)
            };
            (vec![vec![set]], false)
        }
    };
    for x in &members {
        x.note(uni)?;
    }
    Ok(Test { members, elems, negate })
}

/// `piece == value` (the implicit tests of a load: not a fragment, a header present).
pub fn is_value(piece: Piece, value: u128) -> Test {
    let width = piece.len();
    let load = Load {
        pieces: vec![piece],
        width,
        transport: false,
        header: None,
        ty: crate::types::Type::Integer,
        order: crate::types::ByteOrder::Network,
    };
    Test {
        members: vec![Member { load, mask: max_of(width) }],
        elems: vec![vec![IntervalSet::point(value)]],
        negate: false,
    }
}

/// A member after segmentation.
enum Seg {
    /// The slot's bits are part of the value.
    Kept(Slot, u32),
    /// The value has these bits fixed (a constant piece, or bits the mask clears).
    Fixed(u128, u32),
}

impl Seg {
    fn len(&self) -> u32 {
        match self {
            Seg::Kept(_, l) | Seg::Fixed(_, l) => *l,
        }
    }
}

/// A member over slots: plain segments, or one enumerated slot.
enum Shape {
    Segs(Vec<Seg>),
    Enumerated { slot: Slot, values: &'static [u128], mask: u128 },
}

fn shape(m: &Member, uni: &Universe) -> Res<Shape> {
    if let [Piece::Bits { storage, .. }] = m.load.pieces.as_slice()
        && let Some(values) = uni.info(*storage).values
    {
        let segs = uni.segments(*storage, 0, uni.info(*storage).width.unwrap_or(32))?;
        return Ok(Shape::Enumerated { slot: segs[0].0, values, mask: m.mask });
    }
    let mut segs = Vec::new();
    let mut at = 0;
    for p in &m.load.pieces {
        match p {
            Piece::Const { value, len } => {
                let mbits = Universe::bits_of(m.mask, m.load.width, at, *len);
                segs.push(Seg::Fixed(value & mbits, *len));
            }
            Piece::Bits { storage, off, len } => {
                if uni.is_enumerated(*storage) {
                    return Err(Unsupported::new("part of an enumerated key (ct state) in a wider load"));
                }
                let mut sat = at;
                for (slot, slen) in uni.segments(*storage, *off, *len)? {
                    let mbits = Universe::bits_of(m.mask, m.load.width, sat, slen);
                    if mbits == max_of(slen) {
                        segs.push(Seg::Kept(slot, slen));
                    } else if mbits == 0 {
                        segs.push(Seg::Fixed(0, slen));
                    } else {
                        return Err(Unsupported::new("internal: mask not aligned to slots"));
                    }
                    sat += slen;
                }
            }
        }
        at += p.len();
    }
    Ok(Shape::Segs(segs))
}

/// Boxes whose union is `{ value of segs ∈ lo..=hi }`.
fn decompose(segs: &[Seg], lo: u128, hi: u128, acc: &mut BoxC, out: &mut Vec<BoxC>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(acc.clone());
        return;
    };
    let width: u32 = segs.iter().map(Seg::len).sum();
    if lo == 0 && hi == max_of(width) {
        out.push(acc.clone());
        return;
    }
    let rw: u32 = rest.iter().map(Seg::len).sum();
    let rmax = max_of(rw);
    let (a, lo_r) = (lo.checked_shr(rw).unwrap_or(0), lo & rmax);
    let (b, hi_r) = (hi.checked_shr(rw).unwrap_or(0), hi & rmax);
    match first {
        Seg::Fixed(c, _) => {
            if *c < a || *c > b {
                return;
            }
            let rlo = if *c == a { lo_r } else { 0 };
            let rhi = if *c == b { hi_r } else { rmax };
            decompose(rest, rlo, rhi, acc, out);
        }
        Seg::Kept(slot, _) => {
            let with = |acc: &mut BoxC, iv: Interval, rlo: u128, rhi: u128, out: &mut Vec<BoxC>| {
                let saved = acc.clone();
                if acc.constrain(*slot, IntervalSet::of(iv)) {
                    decompose(rest, rlo, rhi, acc, out);
                }
                *acc = saved;
            };
            if a == b {
                with(acc, Interval::point(a), lo_r, hi_r, out);
                return;
            }
            let (mut first_full, mut last_full) = (a, b);
            if lo_r != 0 {
                with(acc, Interval::point(a), lo_r, rmax, out);
                first_full = a + 1;
            }
            if hi_r != rmax {
                with(acc, Interval::point(b), 0, hi_r, out);
                last_full = b - 1;
            }
            if first_full <= last_full {
                with(acc, Interval { lo: first_full, hi: last_full }, 0, rmax, out);
            }
        }
    }
}

/// The boxes of one member's value set.
fn member_boxes(shape: &Shape, set: &IntervalSet) -> Vec<BoxC> {
    match shape {
        Shape::Enumerated { slot, values, mask } => {
            let idx: Vec<Interval> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| set.contains(*v & mask))
                .map(|(i, _)| Interval::point(i as u128))
                .collect();
            let mut b = BoxC::any();
            if b.constrain(*slot, IntervalSet::from_intervals(idx)) { vec![b] } else { vec![] }
        }
        Shape::Segs(segs) => {
            if let [Seg::Kept(slot, _)] = segs.as_slice() {
                let mut b = BoxC::any();
                return if b.constrain(*slot, set.clone()) { vec![b] } else { vec![] };
            }
            let mut out = Vec::new();
            for iv in set.parts() {
                decompose(segs, iv.lo, iv.hi, &mut BoxC::any(), &mut out);
            }
            out
        }
    }
}

impl Test {
    /// The test over slots (`negate` is kept apart; see [`Test::negate`]).
    pub fn to_cond(&self, uni: &Universe, domains: &[Interval]) -> Res<Cond> {
        let shapes = self.members.iter().map(|m| shape(m, uni)).collect::<Res<Vec<_>>>()?;
        let mut boxes: Vec<BoxC> = Vec::new();
        for elem in &self.elems {
            let mut partial = vec![BoxC::any()];
            for (shape, set) in shapes.iter().zip(elem) {
                let mine = member_boxes(shape, set);
                let mut next = Vec::with_capacity(partial.len() * mine.len());
                for p in &partial {
                    for b in &mine {
                        if let Some(x) = p.and(b) {
                            next.push(x);
                        }
                    }
                }
                partial = next;
                if partial.is_empty() {
                    break;
                }
            }
            boxes.extend(partial);
        }
        for b in &mut boxes {
            b.simplify(domains);
        }
        if boxes.iter().any(|b| b.cons.is_empty()) {
            return Ok(Cond::always());
        }
        boxes.sort_by_key(|b| b.cons.len());
        boxes.dedup();
        Ok(Cond { boxes })
    }
}

/// A condition and whether it is negated, simplified so that a negated one-slot condition
/// becomes the complement set (and so can guard rules).
pub fn normalize(cond: Cond, negate: bool, domains: &[Interval]) -> (Cond, bool) {
    if !negate {
        return (cond, false);
    }
    if cond.is_never() {
        return (Cond::always(), false);
    }
    if cond.is_always() {
        return (Cond::never(), false);
    }
    if let [b] = cond.boxes.as_slice()
        && let [(slot, set)] = b.cons.as_slice()
    {
        let comp = set.complement(&domains[*slot as usize]);
        let mut nb = BoxC::any();
        if !nb.constrain(*slot, comp) {
            return (Cond::never(), false);
        }
        return (Cond { boxes: vec![nb] }, false);
    }
    (cond, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompose_range_over_two_slots() {
        let segs = vec![Seg::Kept(0, 8), Seg::Kept(1, 8)];
        let mut out = Vec::new();
        decompose(&segs, 0x0105, 0x0302, &mut BoxC::any(), &mut out);
        // {hi=1, lo>=5} ∪ {hi=3, lo<=2} ∪ {hi=2}
        let b = |h: u128, lo: u128, hi: u128| {
            let mut x = BoxC::any();
            x.constrain(0, IntervalSet::point(h));
            if (lo, hi) != (0, 255) {
                x.constrain(1, IntervalSet::of(Interval { lo, hi }));
            }
            x
        };
        assert_eq!(out, vec![b(1, 5, 255), b(3, 0, 2), b(2, 0, 255)]);
    }

    #[test]
    fn prefix_over_two_slots_is_one_box() {
        let segs = vec![Seg::Kept(0, 16), Seg::Kept(1, 16)];
        let mut out = Vec::new();
        decompose(&segs, 0x0a00_0000, 0x0aff_ffff, &mut BoxC::any(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].cons, vec![(0, IntervalSet::of(Interval { lo: 0x0a00, hi: 0x0aff }))]);
    }

    #[test]
    fn fixed_bits_filter_values() {
        // value = slot0 (4 bits) . 0000 (masked out): `x & 0xf0 == 0x30`.
        let segs = vec![Seg::Kept(0, 4), Seg::Fixed(0, 4)];
        let mut out = Vec::new();
        decompose(&segs, 0x30, 0x30, &mut BoxC::any(), &mut out);
        assert_eq!(out.len(), 1);
        let mut none = Vec::new();
        decompose(&segs, 0x31, 0x31, &mut BoxC::any(), &mut none);
        assert!(none.is_empty());
    }
}
