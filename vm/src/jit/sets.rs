//! Small constant sets and maps compiled inline: exact-key sets and maps as a `Switch` (jump
//! table or compare tree), interval sets as a compare chain over their ranges, verdict maps
//! straight into the rule's control flow. Everything else calls the set backend through the
//! interpreter's `lookup`.
//!
//! Only anonymous sets qualify (nftables never changes them after creation), without
//! timeouts and never the target of a `dynset`: their contents at compile time are their
//! contents forever. The elements are read from the backend the interpreter builds
//! ([`SetBackend::build`]), so both engines see the same normalized element list (duplicates
//! resolved, interval ends turned into ranges, the catch-all element).

use super::chain::RuleCx;
use super::emit::Fx;
use super::exprs::{Flow, be_number, be_value, in_range, store_data};
use crate::expr::lookup::Lookup;
use crate::program::{Program, SetId};
use crate::set::backend::Store;
use crate::set::interval::IntervalSet;
use crate::set::{ElemData, Element, Set, SetBackend};
use crate::verdict::Verdict;
use cranelift_codegen::ir::{Block, InstBuilder, Value, types};
use cranelift_frontend::Switch;

/// Limits on what is inlined.
#[derive(Clone, Copy, Debug)]
pub struct InlineLimits {
    /// Most elements of an exact-key set compiled to a switch.
    pub exact: usize,
    /// Most ranges of an interval set compiled to a compare chain.
    pub ranges: usize,
}

/// For each set of the program: its inline form, if it has one.
pub struct SetPlans(Vec<Option<InlineSet>>);

struct InlineSet {
    key_len: usize,
    elems: Elems,
    /// The catch-all element's data, if the set has one.
    catchall: Option<Option<ElemData>>,
}

enum Elems {
    /// Keys as little-endian numbers (register bytes), with their data.
    Exact(Vec<(u64, Option<ElemData>)>),
    /// Sorted disjoint ranges as big-endian numbers (`memcmp` order), with their data.
    Ranges(Vec<(u64, u64, Option<ElemData>)>),
}

impl SetPlans {
    pub fn new(prog: &Program, limits: InlineLimits) -> SetPlans {
        let plans = prog
            .sets
            .iter()
            .zip(prog.dynset_targets())
            .map(|(s, changes)| if changes { None } else { plan(s, limits) })
            .collect();
        SetPlans(plans)
    }

    fn get(&self, id: SetId) -> Option<&InlineSet> {
        self.0.get(id.index()).and_then(Option::as_ref)
    }
}

fn plan(s: &Set, limits: InlineLimits) -> Option<InlineSet> {
    let timeouts =
        s.timeout_ms.is_some() || s.elements.iter().any(|e| e.timeout_ms.is_some() || e.expires_ms.is_some());
    if !s.is_anonymous() || timeouts {
        return None;
    }
    let key_len = s.key_len();
    let backend = SetBackend::build(s, 0);
    let catchall = backend.catchall.as_ref().map(|c| c.data.clone());
    let elems = match &backend.store {
        Store::Hash(h) => {
            if !(1..=8).contains(&key_len) || h.entries().count() > limits.exact {
                return None;
            }
            Elems::Exact(h.entries().map(|(k, r)| (le_number(k), r.data.clone())).collect())
        }
        Store::Interval(_) | Store::Prefix(_) => {
            if !matches!(key_len, 1 | 2 | 4 | 8) {
                return None;
            }
            // The prefix form answers like the intervals it was built from.
            let elems: Vec<&Element> = s.elements.iter().filter(|e| !e.is_catchall()).collect();
            let iv = IntervalSet::build(&elems, 0);
            let ranges = iv.ranges(key_len);
            if ranges.len() > limits.ranges {
                return None;
            }
            Elems::Ranges(
                ranges.into_iter().map(|(a, b, r)| (be_number(&a), be_number(&b), r.data.clone())).collect(),
            )
        }
        Store::Concat(_) => return None,
    };
    Some(InlineSet { key_len, elems, catchall })
}

fn le_number(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(k) {
        *d = *s;
    }
    u64::from_le_bytes(b)
}

/// `lookup` against an inlined set; [`Flow::Helper`] when the set is not inlined.
pub fn lookup(fx: &mut Fx, rc: &RuleCx, l: &Lookup, plans: &SetPlans) -> Flow {
    let Some(set) = plans.get(l.set) else { return Flow::Helper };
    let Some(w0) = l.sreg.span(set.key_len).map(|s| s.start / 4) else { return Flow::Helper };
    let cont = fx.new_block();
    let not_found = fx.new_block();
    // One target per element only when the element's data matters.
    let per_element = l.dreg.is_some() && !l.inverted();
    let mut targets: Vec<(Block, Option<ElemData>)> = Vec::new();
    let mut target = |fx: &mut Fx, data: &Option<ElemData>| -> Block {
        if per_element || targets.is_empty() {
            targets.push((fx.new_block(), data.clone()));
        }
        targets.last().map_or(not_found, |t| t.0)
    };
    match &set.elems {
        Elems::Exact(list) => {
            let key = le_key(fx, w0, set.key_len);
            let mut sw = Switch::new();
            for (k, data) in list {
                let b = target(fx, data);
                sw.set_entry(*k as u128, b);
            }
            sw.emit(&mut fx.b, key, not_found);
        }
        Elems::Ranges(list) => {
            let Some(v) = be_value(fx, w0, set.key_len) else { return Flow::Helper };
            for (lo, hi, data) in list {
                let b = target(fx, data);
                let inside = in_range(fx, v, *lo, *hi);
                fx.branch_if(inside, b);
            }
            fx.jump(not_found);
        }
    }
    for (b, data) in targets {
        fx.enter(b);
        found(fx, rc, l, &data, cont);
    }
    fx.enter(not_found);
    match &set.catchall {
        Some(data) => found(fx, rc, l, data, cont),
        None => fx.jump(if l.inverted() { cont } else { rc.brk }),
    }
    fx.enter(cont);
    Flow::Next
}

/// The key's register bytes as a little-endian `i64`.
fn le_key(fx: &mut Fx, w0: usize, len: usize) -> Value {
    let lo = fx.reg_bytes(w0, len.min(4));
    let lo = fx.b.ins().uextend(types::I64, lo);
    if len <= 4 {
        return lo;
    }
    let hi = fx.reg_bytes(w0 + 1, len - 4);
    let hi = fx.b.ins().uextend(types::I64, hi);
    let hi = fx.b.ins().ishl_imm_u(hi, 32);
    fx.b.ins().bor(hi, lo)
}

/// What `lookup` does once an element (with `data`) is found.
fn found(fx: &mut Fx, rc: &RuleCx, l: &Lookup, data: &Option<ElemData>, cont: Block) {
    if l.inverted() {
        return fx.jump(rc.brk);
    }
    let Some(dreg) = l.dreg else { return fx.jump(cont) };
    match data {
        Some(ElemData::Verdict(v)) if dreg.is_verdict() => match v {
            Verdict::Continue => fx.jump(cont),
            Verdict::Break => fx.jump(rc.brk),
            v => rc.verdict(fx, *v),
        },
        Some(ElemData::Value(d)) => match dreg.span(d.len()) {
            Some(span) => {
                store_data(fx, span.start / 4, d);
                fx.jump(cont);
            }
            None => fx.jump(rc.brk),
        },
        _ => fx.jump(rc.brk),
    }
}
