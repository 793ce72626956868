//! A classifier's query in native code: [`crate::classify::tree::Tree::query`] compiled for
//! one tree, so a classified run asks its question without a call into Rust.
//!
//! First every part's filter (its key bytes, word address and dispatch are constants here),
//! all at once: their loads depend on the field values only, so they are on their way
//! while the first part is walked (computed part by part, a later part's filter waited for
//! the earlier parts' walks and leaf scans: ipc1_10K 5 ns and fw1_10K 4 ns more per packet).
//! Then per part, in order: stop when the part's first entry is not before the best answer
//! so far; the filter's outcome; where the filter lets the packet through, stop when the
//! best answer so far is final ([`crate::classify::finals`]: checked only where a walk
//! would follow — checked after every answer instead, a branch as unpredictable as the bit
//! cost fw1_10K 3 ns a packet, its later parts' filters passing over the packet anyway);
//! the walk down the wide nodes (a node's seven cuts compared
//! at once and the path's kid picked by selects, so a node costs one comparison's latency,
//! not three in a row; no branch but the loop's); the scan of the leaf's boxes from the
//! calling rule's entry on. The steps and every comparison are the Rust query's (only the
//! filters are computed earlier, and for parts a query may not reach), so the answers are
//! equal — checked on both engines by the ClassBench traces (`opt_classbench`), by random
//! deep trees (`jit_classify`), by `-O2` against `-O0` on random chains of such runs and on
//! the conformance rulesets (`opt_equivalence`), and by the `nft_compile` fuzz target. The
//! arrays are read at the addresses [`crate::classify::native::NativeTree`] gives, within
//! the bounds the verifier checked; the program they belong to lives as long as the
//! compiled code.
//!
//! The field values are those native code has just stored in the context
//! (`classify_values`), [`ABSENT`] for a field whose load broke. Each test loads the value
//! it compares where it compares it (a hot line): values held in registers from the start
//! of the query outlive every part's walk and push the walk's own values onto the stack.

use super::abi::off;
use super::emit::Fx;
use crate::classify::native::{BoxHead, LEAF, NativePart, NativeTree, WIDE_BYTES, WORDS_SHIFT};
use crate::classify::{ABSENT, MAX_FIELDS};
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};

/// Loads of the tree: aligned, in bounds (the verifier checked the structure).
const TREE: MemFlagsData = MemFlagsData::trusted();
/// Loads of a wide node: as [`TREE`], and the tree never changes while code runs, so each
/// may be placed where its value is used (pure to Cranelift's egraph: without that the
/// step's thresholds were all read first and two of them, and the context, spilled). They
/// cannot move above the walk's leaf test: their address depends on the node the loop is at.
const NODE: MemFlagsData = MemFlagsData::trusted().with_readonly().with_can_move();
/// Most parts a native query unrolls (a longer list stays with the Rust query).
const MAX_PARTS: usize = 16;
/// "No answer yet": above every entry (entries are below 2^24).
pub const NONE: u32 = u32::MAX;

/// Code emitted where a box is found to hold the packet, given the box's entry (`i32`).
pub type OnFound<'a> = &'a dyn Fn(&mut Fx, Value);

/// What a query asks about: the field values (in the context) and the entry it starts at;
/// and what to start fetching for a box that holds the packet (see [`NativeQuery::emit`]).
#[derive(Clone, Copy)]
struct Question<'v> {
    from: Value,
    found: Option<OnFound<'v>>,
}

/// A part filter's outcome, computed at the start of the query: is a field of its key
/// absent (the part is walked from its root), is the key's bit set, and for a dispatching
/// filter the root of the key's tree (read at rank 0 when the bit is clear, so always in
/// bounds; `None` when the tree has no per-key trees, so no bit is set).
#[derive(Clone, Copy)]
struct Routed {
    absent: Value,
    set: Value,
    root: Option<Value>,
}

/// A tree's query plan, owned (the addresses point into the verified program).
pub struct NativeQuery {
    parts: Vec<NativePart>,
    wides: u64,
    leaves: u64,
    filter_words: u64,
    bucket_roots: u64,
    bucket_count: usize,
    finals: u64,
    /// The highest bit of the final-answer bitmap (always clear: no entry has it).
    last_final_bit: u32,
    narrow: u32,
    head: BoxHead,
    fields: usize,
}

impl NativeQuery {
    /// The plan for `tree`, or `None` when the query stays in Rust.
    pub fn new(tree: Option<NativeTree<'_>>) -> Option<NativeQuery> {
        let t = tree?;
        if t.parts.is_empty() || t.parts.len() > MAX_PARTS {
            return None;
        }
        let fields = t.fields.min(MAX_FIELDS);
        let fields_ok = t.parts.iter().filter_map(|p| p.filter).all(|f| f.hi.0 < fields && f.lo.0 < fields);
        if !fields_ok {
            return None;
        }
        Some(NativeQuery {
            wides: t.wides as u64,
            leaves: t.leaves.as_ptr() as u64,
            filter_words: t.filter_words.as_ptr() as u64,
            bucket_roots: t.bucket_roots.as_ptr() as u64,
            bucket_count: t.bucket_roots.len(),
            finals: t.finals.as_ptr() as u64,
            last_final_bit: u32::try_from(t.finals.len().checked_mul(64)?.checked_sub(1)?).ok()?,
            narrow: t.narrow,
            head: t.head,
            fields,
            parts: t.parts,
        })
    }

    /// Emits the query from entry `from` (`i32`) on; the value: the first entry whose box
    /// holds the packet, or [`NONE`]. `found` is emitted, with the entry, where a box is
    /// found to hold the packet — before the later parts are asked — so what the answer
    /// will need (the rule's row of shared actions) is on its way meanwhile.
    pub fn emit(&self, fx: &mut Fx, from: Value, found: Option<OnFound>) -> Value {
        let q = Question { from, found };
        let done = fx.new_block();
        let best = fx.b.append_block_param(done, types::I32);
        let starts: Vec<Block> = self.parts.iter().map(|_| fx.new_block()).collect();
        let params: Vec<Value> = starts.iter().map(|&b| fx.b.append_block_param(b, types::I32)).collect();
        let routes: Vec<Option<Routed>> = self.parts.iter().map(|p| self.prepare(fx, p)).collect();
        let none = fx.u32(NONE);
        fx.b.ins().jump(starts[0], &[BlockArg::Value(none)]);
        for (i, part) in self.parts.iter().enumerate() {
            let next = starts.get(i + 1).copied().unwrap_or(done);
            fx.enter(starts[i]);
            self.part(fx, (part, routes[i], i > 0), q, params[i], next, done);
        }
        fx.enter(done);
        best
    }

    /// One part, entered with the best answer so far (`best`): on to `next` with the (new)
    /// best answer, or to `done` when no later part can better it. `may_be_final`: is there
    /// an answer yet to be final (not at the first part)?
    fn part(
        &self,
        fx: &mut Fx,
        part: (&NativePart, Option<Routed>, bool),
        q: Question,
        best: Value,
        next: Block,
        done: Block,
    ) {
        let (part, routed, may_be_final) = part;
        let later = fx.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, best, i64::from(part.first));
        let go = fx.new_block();
        fx.b.ins().brif(later, done, &[BlockArg::Value(best)], go, &[]);
        fx.enter(go);
        let walk = fx.new_block();
        let at = fx.b.append_block_param(walk, types::I32);
        // Before a walk of a later part, the final-answer check (its parameter: the root).
        let check = may_be_final.then(|| {
            let check = fx.new_block();
            (check, fx.b.append_block_param(check, types::I32))
        });
        self.route(fx, part, routed, best, next, check.map_or(walk, |(block, _)| block));
        if let Some((check, root)) = check {
            // Before a walk: no part from here on can better a final answer.
            fx.enter(check);
            let is_final = self.is_final(fx, best);
            fx.b.ins().brif(is_final, done, &[BlockArg::Value(best)], walk, &[BlockArg::Value(root)]);
        }
        fx.enter(walk);
        let leaf = self.descend(fx, at);
        let found = self.scan(fx, leaf, q, best);
        let exact = fx.b.ins().icmp(IntCC::Equal, found, q.from);
        fx.b.ins().brif(exact, done, &[BlockArg::Value(found)], next, &[BlockArg::Value(found)]);
    }

    /// Is `best` a final answer ([`crate::classify::finals`])? Its bit, read at `best`
    /// clamped into the bitmap: [`NONE`] reads the last bit, which no entry has (clear).
    fn is_final(&self, fx: &mut Fx, best: Value) -> Value {
        let last = fx.u32(self.last_final_bit);
        let entry = fx.b.ins().umin(best, last);
        let entry = fx.b.ins().uextend(types::I64, entry);
        let word = fx.b.ins().ushr_imm_u(entry, 6);
        let offset = fx.b.ins().imul_imm_u(word, 8);
        let base = fx.u64(self.finals);
        let addr = fx.b.ins().iadd(base, offset);
        let bits = fx.b.ins().load(types::I64, NODE, addr, 0);
        let bit = fx.b.ins().band_imm_u(entry, 63);
        let bits = fx.b.ins().ushr(bits, bit);
        fx.b.ins().band_imm_u(bits, 1)
    }

    /// The part's filter, computed at the start of the query (its loads issued early, while
    /// the earlier parts are walked): whether a field of the key is absent, whether the key's
    /// bit is set, and the root a set bit dispatches to.
    fn prepare(&self, fx: &mut Fx, part: &NativePart) -> Option<Routed> {
        let f = part.filter?;
        // (`NativeQuery::new` checked that both key fields are among the values.)
        let (vh, vl) = (fx.classify_value(f.hi.0), fx.classify_value(f.lo.0));
        let either = fx.b.ins().bor(vh, vl);
        let absent = fx.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, either, ABSENT as i64);
        let h = fx.b.ins().ushr_imm_u(vh, i64::from(f.hi.1));
        let h = fx.b.ins().band_imm_u(h, 0xff);
        let h = fx.b.ins().ishl_imm_u(h, 8);
        let l = fx.b.ins().ushr_imm_u(vl, i64::from(f.lo.1));
        let l = fx.b.ins().band_imm_u(l, 0xff);
        let key = fx.b.ins().bor(h, l);
        let word = fx.b.ins().ushr_imm_u(key, 6);
        let bit = fx.b.ins().band_imm_u(key, 63);
        let stride = if f.dispatch { 16 } else { 8 };
        let offset = fx.b.ins().imul_imm_u(word, stride);
        let base = fx.u64(self.filter_words + 8 * f.at as u64);
        let addr = fx.b.ins().iadd(base, offset);
        let w = fx.b.ins().load(types::I64, TREE, addr, 0);
        let shifted = fx.b.ins().ushr(w, bit);
        let set = fx.b.ins().band_imm_u(shifted, 1);
        if !f.dispatch || self.bucket_count == 0 {
            return Some(Routed { absent, set, root: None });
        }
        // The rank of the key's bit: the word's first rank plus the set bits below it (at
        // most the number of buckets; 0 where the bit is clear, so the load stays in bounds).
        let first = fx.b.ins().load(types::I64, TREE, addr, 8);
        let one = fx.u64(1);
        let below = fx.b.ins().ishl(one, bit);
        let below = fx.b.ins().iadd_imm_s(below, -1);
        let below = fx.b.ins().band(w, below);
        let below = fx.b.ins().popcnt(below);
        let rank = fx.b.ins().iadd(first, below);
        let zero = fx.u64(0);
        let rank = fx.b.ins().select(set, rank, zero);
        let offset = fx.b.ins().imul_imm_u(rank, 4);
        let base = fx.u64(self.bucket_roots);
        let addr = fx.b.ins().iadd(base, offset);
        let root = fx.b.ins().load(types::I32, TREE, addr, 0);
        Some(Routed { absent, set, root: Some(root) })
    }

    /// The part's filter's outcome: on to `walk` with the root to walk from, or to `next`
    /// (keeping `best`) when no box of the part can hold the packet.
    fn route(
        &self,
        fx: &mut Fx,
        part: &NativePart,
        routed: Option<Routed>,
        best: Value,
        next: Block,
        walk: Block,
    ) {
        let root = fx.u32(part.root);
        let Some(r) = routed else {
            fx.b.ins().jump(walk, &[BlockArg::Value(root)]);
            return;
        };
        let keyed = fx.new_block();
        fx.b.ins().brif(r.absent, walk, &[BlockArg::Value(root)], keyed, &[]);
        fx.enter(keyed);
        let to = r.root.unwrap_or(root);
        fx.b.ins().brif(r.set, walk, &[BlockArg::Value(to)], next, &[BlockArg::Value(best)]);
    }

    /// Walks from `at` (a wide node, or a leaf) down to a leaf; the leaf's reference.
    fn descend(&self, fx: &mut Fx, at: Value) -> Value {
        let (step, leaf) = (fx.new_block(), fx.new_block());
        let reached = fx.b.append_block_param(leaf, types::I32);
        let node = fx.b.append_block_param(step, types::I32);
        fx.b.ins().jump(step, &[BlockArg::Value(at)]);
        fx.enter(step);
        let is_leaf = fx.b.ins().band_imm_u(node, i64::from(LEAF));
        let inner = fx.new_block();
        fx.b.ins().brif(is_leaf, leaf, &[BlockArg::Value(node)], inner, &[]);
        fx.enter(inner);
        let kid = self.step(fx, node);
        fx.b.ins().jump(step, &[BlockArg::Value(kid)]);
        fx.enter(leaf);
        reached
    }

    /// One step down from wide node `node` (`i32`, an index): the kid the packet leads to.
    fn step(&self, fx: &mut Fx, node: Value) -> Value {
        let index = fx.b.ins().uextend(types::I64, node);
        let offset = fx.b.ins().imul_imm_u(index, WIDE_BYTES as i64);
        let base = fx.u64(self.wides);
        let addr = fx.b.ins().iadd(base, offset);
        let fields = fx.b.ins().uload32(TREE, addr, 0);
        // All seven cuts at once (cut k: field nibble k, threshold at byte 4 (k + 1)), so no
        // comparison waits for the one above it; the path then picks among them by selects.
        let above: Vec<Value> = (0..7)
            .map(|k| {
                let field = fx.b.ins().ushr_imm_u(fields, 4 * k);
                let field = fx.b.ins().band_imm_u(field, 15);
                let v = value_indexed(fx, field);
                let threshold = fx.b.ins().load(types::I32, NODE, addr, 4 * (k + 1) as i32);
                let threshold = fx.b.ins().uextend(types::I64, threshold);
                fx.b.ins().icmp(IntCC::UnsignedGreaterThan, v, threshold)
            })
            .collect();
        let first = above[0];
        let second = fx.b.ins().select(first, above[2], above[1]);
        let third_left = fx.b.ins().select(second, above[4], above[3]);
        let third_right = fx.b.ins().select(second, above[6], above[5]);
        let third = fx.b.ins().select(first, third_right, third_left);
        // The path's kid: 4 × first + 2 × second + third, at byte 32 + 4 × kid.
        let first = fx.b.ins().uextend(types::I64, first);
        let second = fx.b.ins().uextend(types::I64, second);
        let third = fx.b.ins().uextend(types::I64, third);
        let k = fx.b.ins().ishl_imm_u(first, 1);
        let k = fx.b.ins().bor(k, second);
        let k = fx.b.ins().ishl_imm_u(k, 1);
        let k = fx.b.ins().bor(k, third);
        let at = fx.b.ins().imul_imm_u(k, 4);
        let at = fx.b.ins().iadd(addr, at);
        fx.b.ins().load(types::I32, TREE, at, 32)
    }

    /// The first entry in `from..best` of leaf `leaf` whose box holds the packet, else `best`.
    fn scan(&self, fx: &mut Fx, leaf: Value, q: Question, best: Value) -> Value {
        let out = fx.new_block();
        let found = fx.b.append_block_param(out, types::I32);
        let word = fx.b.ins().band_imm_u(leaf, i64::from(!LEAF));
        let word = fx.b.ins().uextend(types::I64, word);
        let offset = fx.b.ins().imul_imm_u(word, 4);
        let base = fx.u64(self.leaves);
        let start = fx.b.ins().iadd(base, offset);
        let count = fx.b.ins().load(types::I32, TREE, start, 0);
        let first_box = fx.b.ins().iadd_imm_u(start, 4);
        // Box loop: (address of the box, boxes left).
        let boxes = fx.new_block();
        let at = fx.b.append_block_param(boxes, types::I64);
        let left = fx.b.append_block_param(boxes, types::I32);
        fx.b.ins().jump(boxes, &[BlockArg::Value(first_box), BlockArg::Value(count)]);
        fx.enter(boxes);
        let more = fx.new_block();
        fx.b.ins().brif(left, more, &[], out, &[BlockArg::Value(best)]);
        fx.enter(more);
        let head = fx.b.ins().load(types::I32, TREE, at, 0);
        // The word with the open fields' bits, and the number of bound words (as bytes).
        let (mask, words) = if self.head.is_one_word() {
            let narrow_bits = self.head.open_bits(self.narrow);
            let wide_bits = self.head.open_bits(!self.narrow);
            let narrow_open = fx.b.ins().band_imm_u(head, i64::from(narrow_bits));
            let narrow_open = fx.b.ins().popcnt(narrow_open);
            let wide_open = fx.b.ins().band_imm_u(head, i64::from(wide_bits));
            let wide_open = fx.b.ins().popcnt(wide_open);
            let wide_open = fx.b.ins().ishl_imm_u(wide_open, 1);
            let words = fx.b.ins().iadd(narrow_open, wide_open);
            (head, words)
        } else {
            let mask = fx.b.ins().load(types::I32, TREE, at, 4);
            (mask, fx.b.ins().ushr_imm_u(head, i64::from(WORDS_SHIFT)))
        };
        let words = fx.b.ins().uextend(types::I64, words);
        let words = fx.b.ins().imul_imm_u(words, 4);
        let bounds = fx.b.ins().iadd_imm_u(at, 4 * self.head.words() as i64);
        let after = fx.b.ins().iadd(bounds, words);
        let left = fx.b.ins().iadd_imm_s(left, -1);
        let entry = fx.b.ins().band_imm_u(head, i64::from(self.head.entry_mask()));
        let next_box = [BlockArg::Value(after), BlockArg::Value(left)];
        let (not_before, in_range) = (fx.new_block(), fx.new_block());
        let before_from = fx.b.ins().icmp(IntCC::UnsignedLessThan, entry, q.from);
        fx.b.ins().brif(before_from, boxes, &next_box, not_before, &[]);
        fx.enter(not_before);
        let too_late = fx.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, entry, best);
        fx.b.ins().brif(too_late, out, &[BlockArg::Value(best)], in_range, &[]);
        fx.enter(in_range);
        // The open fields in field order, each tested where its bounds are (the address
        // moves past the bounds of every open field); an absent value is the cold path.
        let mut bound = bounds;
        for f in 0..self.fields {
            let (tested, skipped) = (fx.new_block(), fx.new_block());
            let next_field = fx.new_block();
            let next_bound = fx.b.append_block_param(next_field, types::I64);
            let open = fx.b.ins().band_imm_u(mask, i64::from(self.head.open_bit(f)));
            fx.b.ins().brif(open, tested, &[], skipped, &[]);
            fx.enter(skipped);
            fx.b.ins().jump(next_field, &[BlockArg::Value(bound)]);
            fx.enter(tested);
            let v = fx.classify_value(f);
            let (lo, hi, after_bounds) = self.bounds(fx, f, bound);
            let lo = fx.b.ins().uextend(types::I64, lo);
            let hi = fx.b.ins().uextend(types::I64, hi);
            let above_lo = fx.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, lo, v);
            let below_hi = fx.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, v, hi);
            let inside = fx.b.ins().band(above_lo, below_hi);
            let outside = fx.new_block();
            fx.b.set_cold_block(outside);
            fx.b.ins().brif(inside, next_field, &[BlockArg::Value(after_bounds)], outside, &[]);
            fx.enter(outside);
            let is_absent = fx.b.ins().icmp_imm_u(IntCC::Equal, v, ABSENT as i64);
            let absent_ok = fx.b.ins().band_imm_u(mask, i64::from(self.head.absent_bit(f)));
            let absent_ok = fx.b.ins().icmp_imm_u(IntCC::NotEqual, absent_ok, 0);
            let ok = fx.b.ins().band(is_absent, absent_ok);
            fx.b.ins().brif(ok, next_field, &[BlockArg::Value(after_bounds)], boxes, &next_box);
            fx.enter(next_field);
            bound = next_bound;
        }
        if let Some(fetch) = q.found {
            fetch(fx, entry);
        }
        fx.b.ins().jump(out, &[BlockArg::Value(entry)]);
        fx.enter(out);
        found
    }

    /// Field `f`'s bounds at `at` (one word `lo | hi << 16` for a narrow field, else two)
    /// and the address after them.
    fn bounds(&self, fx: &mut Fx, f: usize, at: Value) -> (Value, Value, Value) {
        if self.narrow >> f & 1 != 0 {
            let w = fx.b.ins().load(types::I32, TREE, at, 0);
            let lo = fx.b.ins().band_imm_u(w, 0xffff);
            let hi = fx.b.ins().ushr_imm_u(w, 16);
            let next = fx.b.ins().iadd_imm_u(at, 4);
            (lo, hi, next)
        } else {
            let lo = fx.b.ins().load(types::I32, TREE, at, 0);
            let hi = fx.b.ins().load(types::I32, TREE, at, 4);
            let next = fx.b.ins().iadd_imm_u(at, 8);
            (lo, hi, next)
        }
    }
}

/// Field `f`'s value (`i64`), `f` an `i64` already below [`MAX_FIELDS`] (a nibble).
fn value_indexed(fx: &mut Fx, f: Value) -> Value {
    let offset = fx.b.ins().imul_imm_u(f, 8);
    let addr = fx.b.ins().iadd(fx.ctx, offset);
    fx.b.ins().load(types::I64, MemFlagsData::trusted(), addr, off::CLASSIFY_VALUES)
}
