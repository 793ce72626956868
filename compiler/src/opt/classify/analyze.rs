//! What a rule's leading matches accept, read from its bytecode: the longest prefix of
//! expressions made of loads (`payload`, `meta`, `ct`), transforms of what they loaded
//! (`bitwise`, `byteorder`) and tests of it (`cmp`, `range`, `lookup` in an anonymous
//! constant set), as a conjunction of [`Constraint`]s on byte ranges of [`Source`]s.
//!
//! Reading the bytecode rather than the IR makes the analysis exactly as precise as the
//! engines: what is tested is what codegen emitted (merged loads, masks, byte order
//! conversions included). The prefix stops at the first expression of another kind; the
//! rest of the rule (its actions, and tests that could not be analysed) stays in the rule.

use nftvm_vm::classify::recipe::{MAX_LEN, ct_key_ok, meta_key_ok};
use nftvm_vm::data::round_up4;
use nftvm_vm::expr::bitwise::{Bitwise, BitwiseOp};
use nftvm_vm::expr::byteorder::Byteorder;
use nftvm_vm::expr::ct::CtOp;
use nftvm_vm::expr::lookup::Lookup;
use nftvm_vm::expr::meta::MetaOp;
use nftvm_vm::expr::payload::{Payload, PayloadOp};
use nftvm_vm::keys::{CmpOp, PayloadBase};
use nftvm_vm::reg::{DATA_WORDS, Reg};
use nftvm_vm::set::{Set, flags, interval::IntervalSet};
use nftvm_vm::{Data, Expr, Program, Rule};

/// Where a tested value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Packet bytes `offset .. offset + len` counted from a header (a plain payload load).
    Packet { base: PayloadBase, offset: u32, len: u8 },
    /// Any other load, with the transforms applied to it; the expressions write `reg 1`.
    Value { exprs: Vec<Expr>, len: u8 },
}

impl Source {
    /// The value's width in bytes (never zero).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        match self {
            Source::Packet { len, .. } | Source::Value { len, .. } => *len,
        }
    }
}

/// The sources of one analysis (a chain), interned.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub list: Vec<Source>,
}

impl Sources {
    pub fn intern(&mut self, s: Source) -> usize {
        match self.list.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                self.list.push(s);
                self.list.len() - 1
            }
        }
    }
}

/// Bytes `start .. start + lo.len()` of a source lie in `[lo, hi]` (big-endian strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub source: usize,
    pub start: u8,
    pub lo: Vec<u8>,
    pub hi: Vec<u8>,
}

/// A union of alternatives, each a conjunction of spans (empty: always true).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Constraint {
    pub alts: Vec<Vec<Span>>,
}

/// What a rule's leading matches accept.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Analysis {
    /// Number of leading expressions described (0: none).
    pub prefix: usize,
    /// All must hold.
    pub constraints: Vec<Constraint>,
    /// Every source the prefix loaded (each load must succeed for the rule to go on).
    pub loaded: Vec<usize>,
}

/// A value in the registers while the prefix is read.
#[derive(Clone, Debug)]
struct Live {
    load: Expr,
    len: u8,
    transforms: Vec<Expr>,
}

/// Reads the leading matches of `rule`.
pub fn analyze(prog: &Program, rule: &Rule, sources: &mut Sources) -> Analysis {
    let mut out = Analysis::default();
    let mut pending: Vec<Constraint> = Vec::new();
    let mut pending_loads: Vec<usize> = Vec::new();
    let mut lives: Vec<Live> = Vec::new();
    // Which live value starts at each register word, and which one covers it.
    let mut starts: [Option<usize>; DATA_WORDS] = [None; DATA_WORDS];
    let mut covers: [Option<usize>; DATA_WORDS] = [None; DATA_WORDS];
    for (i, e) in rule.exprs.iter().enumerate() {
        let step = match e {
            Expr::Payload(_) | Expr::Meta(_) | Expr::Ct(_) => match load_of(e) {
                Some((dreg, len)) => {
                    let Some(w) = dreg.word() else { break };
                    let words = (len as usize).div_ceil(4);
                    if w + words > DATA_WORDS {
                        break;
                    }
                    clobber(&mut starts, &mut covers, w, words);
                    lives.push(Live { load: normalized(e), len, transforms: Vec::new() });
                    let id = lives.len() - 1;
                    starts[w] = Some(id);
                    for c in covers.iter_mut().skip(w).take(words) {
                        *c = Some(id);
                    }
                    pending_loads.push(id);
                    true
                }
                None => false,
            },
            Expr::Bitwise(b)
                if matches!(
                    b.op,
                    BitwiseOp::MaskXor { .. } | BitwiseOp::Lshift(_) | BitwiseOp::Rshift(_)
                ) =>
            {
                transform(&mut lives, &starts, b.sreg, b.dreg, b.len, || {
                    let mut b: Bitwise = b.clone();
                    (b.sreg, b.dreg) = (Reg::R1, Reg::R1);
                    Expr::Bitwise(b)
                })
            }
            Expr::Byteorder(b) => transform(&mut lives, &starts, b.sreg, b.dreg, b.len, || {
                let mut b: Byteorder = b.clone();
                (b.sreg, b.dreg) = (Reg::R1, Reg::R1);
                Expr::Byteorder(b)
            }),
            Expr::Cmp(c) => match live_at(&lives, &starts, c.sreg, c.data.len()) {
                Some(l) => {
                    let k = cmp_constraint(l, c.op, &c.data, sources);
                    pending.push(k);
                    true
                }
                None => false,
            },
            Expr::Range(r) => match live_at(&lives, &starts, r.sreg, r.from.len()) {
                Some(l) if r.to.len() == r.from.len() => {
                    let span =
                        |s: &mut Sources| plain_span(l, s, r.from.bytes().to_vec(), r.to.bytes().to_vec());
                    let k = match r.op {
                        CmpOp::Eq => Constraint { alts: vec![vec![span(sources)]] },
                        _ => complement(&[span(sources)]),
                    };
                    pending.push(k);
                    true
                }
                _ => false,
            },
            Expr::Lookup(l) => match lookup_constraint(prog, l, &lives, &starts, sources) {
                Some(k) => {
                    pending.push(k);
                    true
                }
                None => false,
            },
            _ => false,
        };
        if !step {
            break;
        }
        if matches!(e, Expr::Cmp(_) | Expr::Range(_) | Expr::Lookup(_)) {
            // A test closes a stretch: commit it.
            out.prefix = i + 1;
            out.constraints.append(&mut pending);
            for id in pending_loads.drain(..) {
                if let Some(live) = lives.get(id) {
                    let src = base_source(live);
                    out.loaded.push(sources.intern(src));
                }
            }
        }
    }
    out
}

/// The register and length a load writes, if it is one a classifier may read.
fn load_of(e: &Expr) -> Option<(Reg, u8)> {
    match e {
        Expr::Payload(Payload { op: PayloadOp::Load { dreg }, base, len, .. })
            if matches!(
                base,
                PayloadBase::Link | PayloadBase::Network | PayloadBase::Transport | PayloadBase::Inner
            ) && (*len as usize) <= MAX_LEN =>
        {
            Some((*dreg, *len))
        }
        Expr::Meta(m) if meta_key_ok(m.key) => match m.op {
            MetaOp::Load { dreg } => Some((dreg, nftvm_vm::expr::meta::key_len(m.key) as u8)),
            _ => None,
        },
        Expr::Ct(c) if ct_key_ok(c.key) => match c.op {
            // The family decides the length of `ct src/dst`; only fixed-length keys here.
            CtOp::Load { dreg }
                if !matches!(c.key, nftvm_vm::keys::CtKey::Src | nftvm_vm::keys::CtKey::Dst) =>
            {
                Some((dreg, nftvm_vm::expr::ct::key_len(c.key, nftvm_vm::keys::Family::Ip) as u8))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The load with its destination moved to `reg 1` (a recipe's convention).
fn normalized(e: &Expr) -> Expr {
    let mut e = e.clone();
    match &mut e {
        Expr::Payload(p) => p.op = PayloadOp::Load { dreg: Reg::R1 },
        Expr::Meta(m) => m.op = MetaOp::Load { dreg: Reg::R1 },
        Expr::Ct(c) => c.op = CtOp::Load { dreg: Reg::R1 },
        _ => {}
    }
    e
}

/// Forgets live values that overlap words `w .. w + n`.
fn clobber(
    starts: &mut [Option<usize>; DATA_WORDS],
    covers: &mut [Option<usize>; DATA_WORDS],
    w: usize,
    n: usize,
) {
    let hit: Vec<usize> = covers.iter().skip(w).take(n).flatten().copied().collect();
    for id in hit {
        for s in starts.iter_mut() {
            if *s == Some(id) {
                *s = None;
            }
        }
        for c in covers.iter_mut() {
            if *c == Some(id) {
                *c = None;
            }
        }
    }
}

/// A transform in place on a whole live value.
fn transform(
    lives: &mut [Live],
    starts: &[Option<usize>; DATA_WORDS],
    sreg: Reg,
    dreg: Reg,
    len: u8,
    make: impl FnOnce() -> Expr,
) -> bool {
    if sreg != dreg {
        return false;
    }
    let Some(id) = sreg.word().and_then(|w| starts.get(w).copied().flatten()) else { return false };
    let Some(l) = lives.get_mut(id) else { return false };
    if l.len != len {
        return false;
    }
    l.transforms.push(make());
    true
}

/// The live value starting at `reg` with at least `len` bytes.
fn live_at<'a>(
    lives: &'a [Live],
    starts: &[Option<usize>; DATA_WORDS],
    reg: Reg,
    len: usize,
) -> Option<&'a Live> {
    let id = reg.word().and_then(|w| starts.get(w).copied().flatten())?;
    lives.get(id).filter(|l| len >= 1 && len <= l.len as usize)
}

/// The source of a live value as read (load and transforms).
fn source(l: &Live) -> Source {
    match (&l.load, l.transforms.is_empty()) {
        (Expr::Payload(p), true) => Source::Packet { base: p.base, offset: p.offset, len: p.len },
        _ => {
            let mut exprs = vec![l.load.clone()];
            exprs.extend(l.transforms.iter().cloned());
            Source::Value { exprs, len: l.len }
        }
    }
}

/// The source of the load alone (what must succeed).
fn base_source(l: &Live) -> Source {
    match &l.load {
        Expr::Payload(p) => Source::Packet { base: p.base, offset: p.offset, len: p.len },
        other => Source::Value { exprs: vec![other.clone()], len: l.len },
    }
}

fn plain_span(l: &Live, sources: &mut Sources, lo: Vec<u8>, hi: Vec<u8>) -> Span {
    Span { source: sources.intern(source(l)), start: 0, lo, hi }
}

/// `cmp`: an interval (or two, for `neq`) of the value's leading bytes.
fn cmp_constraint(l: &Live, op: CmpOp, data: &Data, sources: &mut Sources) -> Constraint {
    let d = data.bytes();
    let n = d.len();
    // `(v & prefix-mask) ^ x == c` on the whole value is a range of the raw value.
    if let ([Expr::Bitwise(Bitwise { op: BitwiseOp::MaskXor { mask, xor }, .. })], CmpOp::Eq | CmpOp::Neq) =
        (l.transforms.as_slice(), op)
        && n == l.len as usize
        && mask.len() == n
        && xor.len() == n
        && is_prefix_mask(mask.bytes())
    {
        let raw = Live { load: l.load.clone(), len: l.len, transforms: Vec::new() };
        let c: Vec<u8> = d.iter().zip(xor.bytes()).map(|(a, b)| a ^ b).collect();
        let m = mask.bytes();
        let reachable = c.iter().zip(m).all(|(c, m)| c & !m == 0);
        let lo: Vec<u8> = c.clone();
        let hi: Vec<u8> = c.iter().zip(m).map(|(c, m)| c | !m).collect();
        return match (op, reachable) {
            (CmpOp::Eq, true) => Constraint { alts: vec![vec![plain_span(&raw, sources, lo, hi)]] },
            (CmpOp::Eq, false) => Constraint { alts: vec![] },
            (_, true) => complement(&[plain_span(&raw, sources, lo, hi)]),
            // `!=` a value the masked bits can never take: only the load must succeed.
            (_, false) => {
                Constraint { alts: vec![vec![plain_span(&raw, sources, vec![0; n], vec![0xff; n])]] }
            }
        };
    }
    let zeros = vec![0u8; n];
    let ones = vec![0xffu8; n];
    let span = |s: &mut Sources, lo: Vec<u8>, hi: Vec<u8>| plain_span(l, s, lo, hi);
    let one = |sp: Option<Span>| Constraint { alts: sp.into_iter().map(|s| vec![s]).collect() };
    match op {
        CmpOp::Eq => one(Some(span(sources, d.to_vec(), d.to_vec()))),
        CmpOp::Neq => complement(&[span(sources, d.to_vec(), d.to_vec())]),
        CmpOp::Lt => one(dec(d).map(|h| span(sources, zeros, h))),
        CmpOp::Lte => one(Some(span(sources, zeros, d.to_vec()))),
        CmpOp::Gt => one(inc(d).map(|l| span(sources, l, ones))),
        CmpOp::Gte => one(Some(span(sources, d.to_vec(), ones))),
    }
}

/// Ones then zeros, bytewise.
fn is_prefix_mask(m: &[u8]) -> bool {
    let mut seen_zero = false;
    for &b in m {
        for bit in (0..8).rev() {
            let one = b & (1 << bit) != 0;
            if one && seen_zero {
                return false;
            }
            seen_zero |= !one;
        }
    }
    true
}

/// `bytes + 1` (None on overflow).
pub fn inc(b: &[u8]) -> Option<Vec<u8>> {
    let mut v = b.to_vec();
    for x in v.iter_mut().rev() {
        let (n, carry) = x.overflowing_add(1);
        *x = n;
        if !carry {
            return Some(v);
        }
    }
    None
}

/// `bytes - 1` (None below zero).
pub fn dec(b: &[u8]) -> Option<Vec<u8>> {
    let mut v = b.to_vec();
    for x in v.iter_mut().rev() {
        let (n, borrow) = x.overflowing_sub(1);
        *x = n;
        if !borrow {
            return Some(v);
        }
    }
    None
}

/// The values of the spans' byte range outside all of them (spans of one source and range).
fn complement(spans: &[Span]) -> Constraint {
    let Some(first) = spans.first() else { return Constraint { alts: vec![] } };
    let n = first.lo.len();
    let mut ivs: Vec<(Vec<u8>, Vec<u8>)> = spans.iter().map(|s| (s.lo.clone(), s.hi.clone())).collect();
    ivs.sort();
    let mut alts = Vec::new();
    let mut next: Option<Vec<u8>> = Some(vec![0; n]);
    for (lo, hi) in ivs {
        let Some(cur) = next.clone() else { break };
        if lo > cur
            && let Some(h) = dec(&lo)
        {
            alts.push(vec![Span { source: first.source, start: first.start, lo: cur, hi: h }]);
        }
        if next.as_ref().is_some_and(|c| hi >= *c) {
            next = inc(&hi);
        }
    }
    if let Some(cur) = next {
        alts.push(vec![Span { source: first.source, start: first.start, lo: cur, hi: vec![0xff; n] }]);
    }
    Constraint { alts }
}

/// A lookup in an anonymous constant set: its elements as alternatives.
fn lookup_constraint(
    prog: &Program,
    l: &Lookup,
    lives: &[Live],
    starts: &[Option<usize>; DATA_WORDS],
    sources: &mut Sources,
) -> Option<Constraint> {
    if l.dreg.is_some() {
        return None;
    }
    let set = prog.set(l.set)?;
    let fixed = flags::ANONYMOUS | flags::CONSTANT;
    if set.flags & fixed != fixed
        || set.is_map()
        || set.elements.iter().any(|e| e.timeout_ms.is_some() || e.expires_ms.is_some())
    {
        return None;
    }
    // The key's fields: (register offset, length), each read from a live value.
    let mut layout = Vec::new();
    let mut off = 0usize;
    let lens: Vec<usize> = if set.key.len() > 1 {
        set.key.iter().map(|f| f.len as usize).collect()
    } else {
        vec![set.key_len()]
    };
    for len in &lens {
        let reg = Reg::from_word(l.sreg.word()? + off / 4)?;
        let live = live_at(lives, starts, reg, *len)?;
        layout.push((off, *len, sources.intern(source(live))));
        off += if set.key.len() > 1 { round_up4(*len) } else { *len };
    }
    let spans_of = |lo: &[u8], hi: &[u8]| -> Option<Vec<Span>> {
        layout
            .iter()
            .map(|&(o, n, src)| {
                Some(Span {
                    source: src,
                    start: 0,
                    lo: lo.get(o..o + n)?.to_vec(),
                    hi: hi.get(o..o + n)?.to_vec(),
                })
            })
            .collect()
    };
    let mut alts = Vec::new();
    if set.elements.iter().any(|e| e.is_catchall()) {
        alts.push(Vec::new());
    }
    let elems: Vec<_> = set.elements.iter().filter(|e| !e.is_catchall()).collect();
    if !set.is_interval() {
        for e in &elems {
            if !padding_is_zero(set, e.key.bytes()) {
                continue;
            }
            alts.push(spans_of(e.key.bytes(), e.key.bytes())?);
        }
    } else if set.key.len() > 1 || elems.iter().any(|e| e.key_end.is_some()) {
        for e in elems.iter().filter(|e| !e.is_interval_end()) {
            let hi = e.key_end.as_ref().map_or(e.key.bytes(), |k| k.bytes());
            alts.push(spans_of(e.key.bytes(), hi)?);
        }
    } else {
        for (lo, hi, _) in IntervalSet::build(&elems, 0).ranges(set.key_len()) {
            alts.push(spans_of(&lo, &hi)?);
        }
    }
    if l.inverted() {
        if layout.len() != 1 || alts.iter().any(|a| a.is_empty()) {
            return None;
        }
        let spans: Vec<Span> = alts.into_iter().flatten().collect();
        if spans.is_empty() {
            let (_, n, src) = layout[0];
            return Some(Constraint {
                alts: vec![vec![Span { source: src, start: 0, lo: vec![0; n], hi: vec![0xff; n] }]],
            });
        }
        return Some(complement(&spans));
    }
    Some(Constraint { alts })
}

/// Concatenation padding is zero in registers: an element with other padding never matches.
fn padding_is_zero(set: &Set, key: &[u8]) -> bool {
    if set.key.len() <= 1 {
        return true;
    }
    let mut off = 0;
    for f in &set.key {
        let (len, padded) = (f.len as usize, round_up4(f.len as usize));
        if key.get(off + len..off + padded).is_some_and(|p| p.iter().any(|b| *b != 0)) {
            return false;
        }
        off += padded;
    }
    true
}
