//! `classify` in native code. Native code reads the classifier's fields itself when they are
//! packet bytes, `meta l4proto` or `meta nfproto` (one shared reader per classifier and
//! function: a rule's `classify` is a jump to it); it then runs the tree's query itself
//! ([`super::query`]) when every rule of the run ends the chain once it matched, else asks
//! [`super::helpers::classify_values`] (the Rust query, which keeps its walks for the next
//! rule that asks). Other fields: the helper reads them too ([`super::helpers::classify`]).
//! What native code adds is the control flow the answer asks for — resuming at another rule,
//! just after that rule's own `classify`, without passing through the rules in between:
//!
//! - each function (chain or segment) has one `skip` block that takes the answer
//!   (`2 * rule + expr`; "go on" from a shared reader is the rule's own `2 * rule + 1`) and
//!   goes to that rule's start or post-`classify` block, or to a shared action block
//!   ([`super::template`]); the start of a rule in a run of one natively read classifier is
//!   computed (the reader, with the rule's entry), so a rule of such a run whose actions are
//!   shared has no code at all ([`super::chain::elided_rules`]);
//! - an answer outside the function's rules goes back to the chain's driver as
//!   [`ret::RESUME`] with the answer in `ctx.resume`; the driver calls the segment that holds
//!   the rule, and a segment function starts by consuming a pending `ctx.resume`.
//!
//! Ignoring an answer would still be correct (each later rule's `classify` gives the same
//! one), only slow; the dispatch makes a classified run cost one tree walk.

use super::abi::{CLASSIFY_CONTINUE, NO_RESUME, NO_WORD, meta_word, ret};
use super::chain::RuleCx;
use super::emit::Fx;
use super::query::{NativeQuery, OnFound};
use super::template::Templates;
use crate::classify::ABSENT;
use crate::classify::Classifier;
use crate::classify::recipe::FieldRead;
use crate::expr::Expr;
use crate::keys::PayloadBase;
use crate::program::{ClassifierId, Program, Rule};
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value, condcodes::IntCC, types};
use cranelift_frontend::Switch;

/// The resume targets of one function.
pub struct Resumes {
    /// Per rule of the function: the block after its `classify`, if it starts with one, and
    /// that `classify`'s classifier and entry.
    post: Vec<Option<(Block, ClassifierId, u32)>>,
    skip: Block,
    answer: Value,
    first: usize,
    /// The function is a segment of a chain with classifiers: it may be entered to resume.
    resumable: bool,
    /// Per classifier whose fields native code reads: the shared block that reads them and
    /// asks the helper (its parameter: the calling rule's entry), with the classifier's reads.
    readers: Vec<Reader>,
}

impl Resumes {
    /// `None` when the function has nothing to do with classification.
    pub fn new(
        fx: &mut Fx,
        prog: &Program,
        rules: &[Rule],
        first: usize,
        resumable: bool,
    ) -> Option<Resumes> {
        let post: Vec<Option<(Block, ClassifierId, u32)>> = rules
            .iter()
            .map(|r| match r.exprs.first() {
                Some(Expr::Classify(x)) => Some((fx.new_block(), x.classifier, x.entry)),
                _ => None,
            })
            .collect();
        if !resumable && post.iter().all(Option::is_none) {
            return None;
        }
        let skip = fx.new_block();
        let answer = fx.b.append_block_param(skip, types::I32);
        let readers = reader_classifiers(prog, rules)
            .into_iter()
            .map(|(id, c)| {
                let block = fx.new_block();
                let entry = fx.b.append_block_param(block, types::I32);
                Reader {
                    classifier: id,
                    first: c.first,
                    block,
                    entry,
                    reads: c.tree.reads().to_vec(),
                    query: NativeQuery::new(c.tree.native()),
                    end: c.end(),
                    starts: run_of(rules, first, id, c.first),
                }
            })
            .collect();
        Some(Resumes { post, skip, answer, first, resumable, readers })
    }

    /// The function's entry: a pending resume point, or the first rule.
    pub fn enter(&self, fx: &mut Fx, first_rule: Block) {
        if !self.resumable {
            return fx.jump(first_rule);
        }
        let r = fx.resume_point();
        let none = fx.b.ins().icmp_imm_u(IntCC::Equal, r, NO_RESUME as i64);
        let pending = fx.new_block();
        fx.b.ins().brif(none, first_rule, &[], pending, &[]);
        fx.b.switch_to_block(pending);
        let clear = fx.u64(NO_RESUME);
        fx.set_resume_point(clear);
        let answer = fx.b.ins().ireduce(types::I32, r);
        fx.b.ins().jump(self.skip, &[BlockArg::Value(answer)]);
    }

    /// Does the `skip` block start rule `k` (of the function) itself, from the answer, with
    /// no block of the rule's (see [`Reader::starts`])?
    pub fn computed_start(&self, k: usize) -> bool {
        self.readers.iter().any(|r| r.starts.as_ref().is_some_and(|s| s.contains(&k)))
    }

    /// The block rule `k` (of the function) goes on in after its `classify`.
    pub fn post(&self, k: usize) -> Option<Block> {
        self.post.get(k).copied().flatten().map(|(b, ..)| b)
    }

    /// Rule `k`'s `classify` (when it starts with one; code then goes on in its post block):
    /// when native code reads the classifier's fields, on to the shared reader with the
    /// rule's entry (whose answer goes through `skip`: the rule's own `2 * rule + 1` when it
    /// goes on); else ask the helper, go on with the rule or resume elsewhere. False for a
    /// rule without `classify`.
    pub fn call(&self, fx: &mut Fx, rc: &RuleCx, k: usize) -> bool {
        let Some((post, classifier, entry)) = self.post.get(k).copied().flatten() else { return false };
        if let Some(reader) = self.readers.iter().find(|r| r.classifier == classifier) {
            let entry = fx.u32(entry);
            fx.b.ins().jump(reader.block, &[BlockArg::Value(entry)]);
        } else {
            let answer = fx.call_classify(rc.chain, rc.rule);
            let goes_on = fx.b.ins().icmp_imm_u(IntCC::Equal, answer, CLASSIFY_CONTINUE as i64);
            fx.b.ins().brif(goes_on, post, &[], self.skip, &[BlockArg::Value(answer)]);
        }
        fx.enter(post);
        true
    }

    /// On to the start of the rule after `rule` (a value: the rule's index in the chain),
    /// through the `skip` block (its answer `2 * (rule + 1)`).
    pub fn start_next(&self, fx: &mut Fx, rule: Value) {
        let answer = fx.b.ins().imul_imm_u(rule, 2);
        let answer = fx.b.ins().iadd_imm_u(answer, 2);
        fx.b.ins().jump(self.skip, &[BlockArg::Value(answer)]);
    }

    /// The `skip` block: the function's own rules (`starts[k]`), the chain's end (`past_end`,
    /// when the function ends the chain) or back to the driver.
    pub fn finish(
        &self,
        fx: &mut Fx,
        chain: u32,
        starts: &[Block],
        past_end: Option<Block>,
        templates: Option<&Templates>,
    ) {
        for reader in &self.readers {
            fx.enter(reader.block);
            let answer = reader.read_and_classify(fx, chain, templates);
            fx.b.ins().jump(self.skip, &[BlockArg::Value(answer)]);
        }
        fx.enter(self.skip);
        if let Some(t) = templates {
            let rest = fx.new_block();
            t.dispatch(fx, self.answer, rest);
            fx.enter(rest);
        }
        for reader in &self.readers {
            let Some(run) = &reader.starts else { continue };
            // Answer `2 * rule` for a rule of the run: the reader, with the rule's entry.
            let (start, rest) = (fx.new_block(), fx.new_block());
            let at = fx.b.ins().iadd_imm_s(self.answer, -2 * (self.first + run.start) as i64);
            let inside = fx.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, at, 2 * run.len() as i64);
            let odd = fx.b.ins().band_imm_u(at, 1);
            let even = fx.b.ins().icmp_imm_u(IntCC::Equal, odd, 0);
            let both = fx.b.ins().band(inside, even);
            fx.b.ins().brif(both, start, &[], rest, &[]);
            fx.enter(start);
            let k = fx.b.ins().ushr_imm_u(at, 1);
            let offset = (self.first + run.start) as i64 - i64::from(reader.first);
            let entry = fx.b.ins().iadd_imm_s(k, offset);
            fx.b.ins().jump(reader.block, &[BlockArg::Value(entry)]);
            fx.enter(rest);
        }
        let mut sw = Switch::new();
        for (k, start) in starts.iter().enumerate() {
            let rule = (self.first + k) as u128;
            if !self.computed_start(k) {
                sw.set_entry(2 * rule, *start);
            }
            let shared = templates.is_some_and(|t| t.covers(k));
            if let Some(p) = self.post(k).filter(|_| !shared) {
                sw.set_entry(2 * rule + 1, p);
            }
        }
        if let Some(end) = past_end {
            sw.set_entry(2 * (self.first + starts.len()) as u128, end);
        }
        let elsewhere = fx.new_block();
        sw.emit(&mut fx.b, self.answer, elsewhere);
        fx.enter(elsewhere);
        let wide = fx.b.ins().uextend(types::I64, self.answer);
        fx.set_resume_point(wide);
        let code = fx.u32(ret::RESUME);
        fx.b.ins().return_(&[code]);
    }
}

/// Does native code run `c`'s whole query — read its fields and walk its tree — with no call
/// into Rust?
pub fn runs_natively(c: &Classifier) -> bool {
    c.tree.reads().iter().all(native) && NativeQuery::new(c.tree.native()).is_some()
}

/// Can native code read this field as [`crate::classify::recipe::read_fields`] does?
fn native(read: &FieldRead) -> bool {
    match read {
        FieldRead::Payload { base, width, .. } => {
            matches!(base, PayloadBase::Link | PayloadBase::Network | PayloadBase::Transport)
                && (1..=4).contains(width)
        }
        FieldRead::L4proto { .. } | FieldRead::Nfproto => true,
        FieldRead::Recipe { .. } => false,
    }
}

/// The shared block of one classifier that reads its fields and asks the helper.
struct Reader {
    classifier: ClassifierId,
    /// The classifier's first rule (that of entry 0).
    first: u32,
    block: Block,
    /// The block's parameter: the entry of the calling rule's `classify`.
    entry: Value,
    reads: Vec<FieldRead>,
    /// The query in native code, when the tree allows (else the helper asks the tree).
    query: Option<NativeQuery>,
    /// The chain position just after the classifier's run.
    end: u32,
    /// The function's rules (indices in it) that start with this classifier's `classify`,
    /// when they are one unbroken run whose entries follow the rules (rule `k`'s entry is
    /// `k` + the function's first rule − the classifier's): the `skip` block starts any of
    /// them by computing its entry, with no block of its own.
    starts: Option<std::ops::Range<usize>>,
}

/// Which of `rules` (the function's, from chain rule `first` on) the `skip` block starts by
/// computing their entry (see [`Reader::starts`]).
pub fn computed_starts(prog: &Program, rules: &[Rule], first: usize) -> Vec<bool> {
    let mut out = vec![false; rules.len()];
    for (id, c) in reader_classifiers(prog, rules) {
        if let Some(run) = run_of(rules, first, id, c.first) {
            out[run].iter_mut().for_each(|b| *b = true);
        }
    }
    out
}

/// The classifiers the function's rules start with whose fields native code reads, each
/// once, in the order of their first rule.
fn reader_classifiers<'p>(prog: &'p Program, rules: &[Rule]) -> Vec<(ClassifierId, &'p Classifier)> {
    let mut out: Vec<(ClassifierId, &Classifier)> = Vec::new();
    for r in rules {
        let Some(Expr::Classify(x)) = r.exprs.first() else { continue };
        if out.iter().any(|(id, _)| *id == x.classifier) {
            continue;
        }
        if let Some(c) = prog.classifier(x.classifier).filter(|c| c.tree.reads().iter().all(native)) {
            out.push((x.classifier, c));
        }
    }
    out
}

/// The rules of `rules` (the function's, from chain rule `first` on) that start with
/// classifier `id`'s `classify` (its entry 0 at chain rule `id_first`), if they form one
/// run with entries in rule order.
fn run_of(rules: &[Rule], first: usize, id: ClassifierId, id_first: u32) -> Option<std::ops::Range<usize>> {
    let entry_at = |k: usize| match rules.get(k).and_then(|r| r.exprs.first()) {
        Some(Expr::Classify(x)) if x.classifier == id => Some(x.entry),
        _ => None,
    };
    let lo = (0..rules.len()).find(|&k| entry_at(k).is_some())?;
    let hi = (lo..rules.len()).find(|&k| entry_at(k).is_none()).unwrap_or(rules.len());
    let in_order = (lo..hi).all(|k| entry_at(k).map(|e| e as usize + id_first as usize) == Some(first + k));
    let alone = (hi..rules.len()).all(|k| entry_at(k).is_none());
    (in_order && alone).then_some(lo..hi)
}

impl Reader {
    /// Reads every field into the context and runs the query (in native code, or by
    /// `helpers::classify_values`) from the calling rule's entry on; when the runtime has to
    /// answer `meta l4proto` (outside ip/ip6), the plain helper instead. The answer: where
    /// evaluation resumes (`2 * rule + 1` for the calling rule itself).
    fn read_and_classify(&self, fx: &mut Fx, chain: u32, templates: Option<&Templates>) -> Value {
        let reads = &self.reads;
        let join = fx.new_block();
        let answer = fx.b.append_block_param(join, types::I32);
        let slow = fx.new_block();
        fx.b.set_cold_block(slow);
        let rule = fx.b.ins().iadd_imm_u(self.entry, i64::from(self.first));
        let l4proto = reads
            .iter()
            .any(|r| matches!(r, FieldRead::L4proto { .. }))
            .then(|| fx.meta_word(meta_word::L4PROTO));
        if let Some(w) = l4proto {
            let unknown = fx.b.ins().icmp_imm_u(IntCC::Equal, w, NO_WORD as i64);
            fx.branch_if(unknown, slow);
        }
        // The common case first: every field's bytes are in the packet (one test per header),
        // the fields read straight; else each field is tested on its own and may be absent.
        let (all, some, reads_done) = (fx.new_block(), fx.new_block(), fx.new_block());
        let mut outside: Option<Value> = None;
        for (base, end) in furthest_ends(reads) {
            let Some(b) = fx.pkt.base(base) else { continue };
            let out = fx.past_end(b, i64::from(end));
            outside = Some(match outside {
                Some(o) => fx.b.ins().bor(o, out),
                None => out,
            });
        }
        match outside {
            Some(o) => {
                fx.b.ins().brif(o, some, &[], all, &[]);
            }
            None => fx.jump(all),
        }
        for (block, checked) in [(all, false), (some, true)] {
            fx.enter(block);
            for (f, read) in reads.iter().enumerate() {
                read_field(fx, f, read, l4proto, checked);
            }
            fx.jump(reads_done);
        }
        fx.enter(reads_done);
        let a = match &self.query {
            Some(q) => self.native_answer(fx, q, templates),
            None => fx.call_classify_values(self.classifier.0, self.entry),
        };
        fx.b.ins().jump(join, &[BlockArg::Value(a)]);
        fx.enter(slow);
        let a = fx.call_classify_at(chain, rule);
        fx.b.ins().jump(join, &[BlockArg::Value(a)]);
        fx.enter(join);
        // "Go on" (the plain helper's answer when the rule's own entry matches) is the
        // rule's own post-`classify` point.
        let own = fx.b.ins().imul_imm_u(rule, 2);
        let own = fx.b.ins().iadd_imm_u(own, 1);
        let goes_on = fx.b.ins().icmp_imm_u(IntCC::Equal, answer, CLASSIFY_CONTINUE as i64);
        fx.b.ins().select(goes_on, own, answer)
    }

    /// The native query's answer as `helpers::classify_values` gives it: `2 * rule + 1` for
    /// the rule of the entry found, `2 * end` when none is (both below `CLASSIFY_CONTINUE`).
    /// The rows of `templates` (the shared actions) are fetched as entries are found.
    fn native_answer(&self, fx: &mut Fx, q: &NativeQuery, templates: Option<&Templates>) -> Value {
        let first = self.first;
        let fetch = templates.map(|t| {
            move |fx: &mut Fx, entry: Value| {
                let rule = fx.b.ins().iadd_imm_u(entry, i64::from(first));
                t.fetch_row(fx, rule);
            }
        });
        let best = q.emit(fx, self.entry, fetch.as_ref().map(|f| f as OnFound));
        let found = fx.b.ins().icmp_imm_u(IntCC::NotEqual, best, i64::from(super::query::NONE));
        let entry = fx.b.ins().uextend(types::I64, best);
        let rule = fx.b.ins().iadd_imm_u(entry, i64::from(self.first));
        let hit = fx.b.ins().imul_imm_u(rule, 2);
        let hit = fx.b.ins().iadd_imm_u(hit, 1);
        let miss = fx.u64(2 * u64::from(self.end));
        let answer = fx.b.ins().select(found, hit, miss);
        let most = fx.u64(u64::from(CLASSIFY_CONTINUE - 1));
        let answer = fx.b.ins().umin(answer, most);
        fx.b.ins().ireduce(types::I32, answer)
    }
}

/// Per header the classifier reads, the end of the furthest field (from the header's start).
fn furthest_ends(reads: &[FieldRead]) -> Vec<(PayloadBase, u32)> {
    let mut ends: Vec<(PayloadBase, u32)> = Vec::new();
    for read in reads {
        if let FieldRead::Payload { base, start, len, .. } = *read {
            let last = start.saturating_add(u32::from(len));
            match ends.iter_mut().find(|(b, _)| *b == base) {
                Some((_, end)) => *end = (*end).max(last),
                None => ends.push((base, last)),
            }
        }
    }
    ends
}

/// Reads field `f` into the context: `meta l4proto` from its word, a payload field from the
/// packet — when `checked`, absent unless its recipe's whole value is in the packet.
fn read_field(fx: &mut Fx, f: usize, read: &FieldRead, l4proto: Option<Value>, checked: bool) {
    match *read {
        FieldRead::L4proto { .. } => {
            if let Some(w) = l4proto {
                let v = fx.b.ins().uextend(types::I64, w);
                fx.set_classify_value(f, v);
            }
        }
        FieldRead::Nfproto => {
            let w = fx.meta_word(meta_word::NFPROTO);
            let v = fx.b.ins().uextend(types::I64, w);
            fx.set_classify_value(f, v);
        }
        FieldRead::Payload { base, start, len, at, width } => {
            let Some(b) = fx.pkt.base(base) else { return };
            // When `checked`, the block after the field (reached present or absent).
            let mut next = None;
            if checked {
                // The recipe's whole value must be in the packet.
                let out = fx.past_end(b, i64::from(start) + i64::from(len));
                let (present, absent, join) = (fx.new_block(), fx.new_block(), fx.new_block());
                fx.b.ins().brif(out, absent, &[], present, &[]);
                fx.enter(absent);
                let none = fx.u64(ABSENT);
                fx.set_classify_value(f, none);
                fx.jump(join);
                fx.enter(present);
                next = Some(join);
            }
            let addr = fx.b.ins().iadd(fx.pkt.data, b);
            let offset = i32::try_from(u64::from(start) + u64::from(at)).unwrap_or(i32::MAX);
            let raw = fx.pkt_word(addr, offset, width as usize);
            // Memory order to a big-endian number of `width` bytes.
            let v = match width {
                1 => raw,
                _ => {
                    let s = fx.b.ins().bswap(raw);
                    fx.b.ins().ushr_imm_u(s, 32 - 8 * i64::from(width))
                }
            };
            let v = fx.b.ins().uextend(types::I64, v);
            fx.set_classify_value(f, v);
            if let Some(join) = next {
                fx.jump(join);
                fx.enter(join);
            }
        }
        _ => {}
    }
}

/// The driver of a segmented chain with classifiers: segment `s` holds rules
/// `s * per .. (s + 1) * per`; a segment returning [`ret::RESUME`] hands over to the
/// segment that holds `ctx.resume`'s rule (past the last one: the chain ends, its last rule
/// having broken).
pub fn translate_driver(fx: &mut Fx, segments: &[usize], per: usize) {
    let calls: Vec<Block> = segments.iter().map(|_| fx.new_block()).collect();
    let dispatch = fx.new_block();
    if let Some(first) = calls.first() {
        fx.jump(*first);
    } else {
        fx.jump(fx.ret_done);
    }
    for (i, (&s, &block)) in segments.iter().zip(&calls).enumerate() {
        fx.enter(block);
        let r = super::chain::call_segment(fx, s);
        let resume = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::RESUME as i64);
        fx.branch_if(resume, dispatch);
        match calls.get(i + 1) {
            Some(next) => fx.jump(*next),
            None => fx.jump(fx.ret_done),
        }
    }
    fx.enter(dispatch);
    let r = fx.resume_point();
    let seg = fx.b.ins().udiv_imm_u(r, (2 * per.max(1)) as i64);
    let seg = fx.b.ins().ireduce(types::I32, seg);
    let mut sw = Switch::new();
    for (i, block) in calls.iter().enumerate() {
        sw.set_entry(i as u128, *block);
    }
    let past = fx.new_block();
    sw.emit(&mut fx.b, seg, past);
    fx.enter(past);
    let clear = fx.u64(NO_RESUME);
    fx.set_resume_point(clear);
    fx.set_last_verdict(super::abi::ENC_BREAK);
    fx.jump(fx.ret_done);
}
