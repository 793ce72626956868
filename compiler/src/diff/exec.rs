//! Symbolic execution of one ruleset over a region: run base chains in order, rules in order,
//! steps in order, as long as every test is decided for the whole region. When a test holds
//! for part of the region only, stop and ask the explorer to split the region there.
//!
//! Semantics follow nf_tables: a failed match ends the rule; `accept` ends the base chain
//! (the next base chain of the hook runs); `drop`, `reject`, `queue` end everything; `jump`
//! pushes a return point, `goto` does not; `return` and the end of a user chain pop it; the
//! end of a base chain applies its policy. Nat chains run for new/related connections only,
//! and only until one of them translated the packet.

use super::cond::Rel;
use super::error::{Side, Undecidable};
use super::interval::Interval;
use super::program::{Datum, Effect, NatArg, Program, Step, ValSpec, VerdictStep};
use super::state::{CandList, Decider, FinalVerdict, Frame, SideState, SymVal, refilter};

/// Lists at most this long are scanned in place rather than re-filtered.
const SHORT: usize = 16;
use crate::ir::Policy;
use std::rc::Rc;

/// Where execution stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// The fate is known for the whole region.
    Done,
    /// Split the region's `slot` at `at` and continue in each half.
    Split { slot: u32, at: u128 },
}

/// Per-side observations for `--explain`.
pub trait Observer {
    /// A rule's tests all held for some packets (it reached its action or its end).
    fn matched(&mut self, _side: Side, _chain: usize, _rule: usize) {}
}

/// An observer that records nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Record that `rule`'s verdict or a statement of it applied (once per rule in a row).
fn note(st: &mut SideState, rule: &super::program::Rule) {
    let d = Decider { span: rule.span, rule: Some(rule.id) };
    if st.deciders.last() != Some(&d) {
        st.deciders.push(d);
    }
}

/// One side's program with its whole-chain candidate lists.
pub struct Runner<'p> {
    pub prog: &'p Program,
    pub side: Side,
    lists: Vec<Rc<CandList>>,
}

impl<'p> Runner<'p> {
    pub fn new(prog: &'p Program, side: Side) -> Runner<'p> {
        let lists = (0..prog.chains.len()).map(|c| Rc::new(super::state::full_list(prog, c))).collect();
        Runner { prog, side, lists }
    }

    fn enter(&self, chain: usize) -> Frame {
        Frame { chain, list: self.lists[chain].clone(), pos: 0, step: 0, dirty: None }
    }

    /// The region was cut on `slot`: every frame's list may now hold rules that miss it.
    pub fn narrow(&self, st: &mut SideState, slot: u32) {
        for f in &mut st.frames {
            f.touch(slot);
        }
    }

    /// At a rule boundary: make the top frame's list exact again (re-filter long lists, skip
    /// non-meeting rules of short ones).
    fn refresh(&self, f: &mut Frame, region: &[Interval]) {
        if f.is_fresh() {
            return;
        }
        let remaining = f.list.idx.len().saturating_sub(f.pos);
        if remaining > SHORT {
            let list = refilter(self.prog, f.chain, &f.list, f.pos, region, f.dirty.as_deref());
            f.list = Rc::new(list);
            f.pos = 0;
            f.dirty = Some(Vec::new());
            return;
        }
        let chain = &self.prog.chains[f.chain];
        while let Some(&i) = f.list.idx.get(f.pos) {
            if chain.meets(i as usize, region, f.dirty.as_deref()) {
                break;
            }
            f.pos += 1;
        }
    }

    fn policy_decider(&self, st: &SideState) -> Decider {
        let base = &self.prog.bases[st.base];
        Decider { span: self.prog.chains[base.chain].span, rule: None }
    }

    /// The base chain finished with `accept` (or its policy accepted): go to the next one.
    fn next_base(&self, st: &mut SideState) {
        st.frames.clear();
        st.base += 1;
    }

    /// The top frame ended (end of chain or `return`).
    fn pop(&self, st: &mut SideState) {
        st.frames.pop();
        if st.frames.is_empty() {
            let policy = self.prog.bases[st.base].policy;
            let d = self.policy_decider(st);
            st.deciders.push(d);
            match policy {
                Policy::Accept => self.next_base(st),
                Policy::Drop => st.fate = Some(FinalVerdict::Drop),
            }
        }
    }

    fn next_rule(st: &mut SideState) {
        if let Some(f) = st.frames.last_mut() {
            f.pos += 1;
            f.step = 0;
        }
        st.temps.iter_mut().for_each(|t| *t = None);
    }

    /// Run until the fate is known or a split is needed.
    pub fn advance(
        &self,
        st: &mut SideState,
        region: &[Interval],
        obs: &mut dyn Observer,
    ) -> Result<Advance, Undecidable> {
        loop {
            if st.fate.is_some() {
                return Ok(Advance::Done);
            }
            if st.frames.is_empty() {
                let Some(base) = self.prog.bases.get(st.base) else {
                    st.fate = Some(FinalVerdict::Accept);
                    return Ok(Advance::Done);
                };
                if base.nat {
                    if st.nat_done {
                        st.base += 1;
                        continue;
                    }
                    if let Some(gate) = &self.prog.nat_gate {
                        match st.relation(gate, false, region) {
                            Rel::Covers => {}
                            Rel::Disjoint => {
                                st.base += 1;
                                continue;
                            }
                            Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                        }
                    }
                }
                if let Some(dev) = &base.devices {
                    match st.relation(&dev.cond, dev.negate, region) {
                        Rel::Covers => {}
                        Rel::Disjoint => {
                            st.base += 1;
                            continue;
                        }
                        Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                    }
                }
                let frame = self.enter(base.chain);
                st.frames.push(frame);
            }
            let Some(frame) = st.frames.last_mut() else { continue };
            if frame.step == 0 {
                self.refresh(frame, region);
            }
            let Some(&ri) = frame.list.idx.get(frame.pos) else {
                self.pop(st);
                continue;
            };
            let (chain_i, step_i) = (frame.chain, frame.step);
            let rule = &self.prog.chains[chain_i].rules[ri as usize];
            let Some(step) = rule.steps.get(step_i) else {
                obs.matched(self.side, chain_i, ri as usize);
                Self::next_rule(st);
                continue;
            };
            let advance_step = |st: &mut SideState| {
                if let Some(f) = st.frames.last_mut() {
                    f.step += 1;
                }
            };
            match step {
                Step::Test(t) => match st.relation(&t.cond, t.negate, region) {
                    Rel::Covers => advance_step(st),
                    Rel::Disjoint => Self::next_rule(st),
                    Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                },
                Step::Limiter { id, test } => match st.relation(&test.cond, test.negate, region) {
                    Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                    rel => {
                        if st.consulted.contains(id) {
                            return Err(Undecidable::new(
                                "a limiter consulted twice by one packet",
                                self.side,
                                test.span,
                            ));
                        }
                        st.consulted.push(*id);
                        st.consulted.sort_unstable();
                        if rel == Rel::Covers {
                            advance_step(st);
                        } else {
                            Self::next_rule(st);
                        }
                    }
                },
                Step::Lookup(l) => {
                    let mut found = None;
                    for (k, cond) in l.conds.iter().enumerate() {
                        match st.relation(cond, false, region) {
                            Rel::Covers => {
                                found = Some(k);
                                break;
                            }
                            Rel::Disjoint => {}
                            Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                        }
                    }
                    let datum = match found {
                        Some(k) => Some(l.elems[k].1.clone()),
                        None => l.default.clone(),
                    };
                    match datum {
                        Some(d) => {
                            let t = l.temp as usize;
                            if st.temps.len() <= t {
                                st.temps.resize(t + 1, None);
                            }
                            st.temps[t] = Some(d);
                            advance_step(st);
                        }
                        None => Self::next_rule(st),
                    }
                }
                Step::Write(w) => {
                    if let Some(g) = &w.guard {
                        match st.relation(&g.cond, g.negate, region) {
                            Rel::Covers => {}
                            Rel::Disjoint => {
                                // No such header: nothing written, the rule goes on.
                                advance_step(st);
                                continue;
                            }
                            Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                        }
                    }
                    let mut updates = Vec::with_capacity(w.slots.len());
                    for (slot, spec) in &w.slots {
                        let v = match spec {
                            ValSpec::Const(c) => SymVal::Const(*c),
                            ValSpec::Copy(s) => st.value(*s),
                            ValSpec::Temp { temp, member, total, at, len } => {
                                let n = self.temp_value(st, *temp, *member, w.span)?;
                                SymVal::Const(super::universe::Universe::bits_of(n, *total, *at, *len))
                            }
                        };
                        updates.push((*slot, v));
                    }
                    for (s, v) in updates {
                        st.set(s, v);
                    }
                    note(st, rule);
                    advance_step(st);
                }
                Step::Effect(e) => {
                    st.effects.push(e.clone());
                    note(st, rule);
                    advance_step(st);
                }
                Step::Unmodelled(u) => match st.relation(&u.guard.cond, u.guard.negate, region) {
                    Rel::Covers => {
                        st.unmodelled.push((u.what.clone(), u.span));
                        note(st, rule);
                        advance_step(st);
                    }
                    Rel::Disjoint => advance_step(st),
                    Rel::Split { slot, at } => return Ok(Advance::Split { slot, at }),
                },
                Step::Nat(n, span) => {
                    obs.matched(self.side, chain_i, ri as usize);
                    let arg = |a: &Option<NatArg>| -> Result<Option<Interval>, Undecidable> {
                        match a {
                            None => Ok(None),
                            Some(NatArg::Const(iv)) => Ok(Some(*iv)),
                            Some(NatArg::Temp { temp, member }) => {
                                self.temp_interval(st, *temp, *member, *span).map(Some)
                            }
                        }
                    };
                    let effect = Effect::Nat {
                        kind: n.kind as u8,
                        family: n.family.map_or(
                            match self.prog.point.ctx {
                                super::storage::Ctx::Ipv4 => 2,
                                super::storage::Ctx::Ipv6 => 10,
                                _ => 0,
                            },
                            |f| f.number(),
                        ),
                        addr: arg(&n.addr)?,
                        port: arg(&n.port)?,
                        flags: n.flags,
                    };
                    st.effects.push(effect);
                    st.nat_done = true;
                    note(st, rule);
                    self.next_base(st);
                }
                Step::Verdict(v, span) => {
                    let v = match v {
                        VerdictStep::FromTemp(t) => match st.temps.get(*t as usize).cloned().flatten() {
                            Some(Datum::Verdict(v)) => v,
                            _ => {
                                return Err(Undecidable::new(
                                    "internal: verdict map without verdict",
                                    self.side,
                                    *span,
                                ));
                            }
                        },
                        v => v.clone(),
                    };
                    if v != VerdictStep::Continue {
                        obs.matched(self.side, chain_i, ri as usize);
                    }
                    self.verdict(st, &v, rule);
                }
            }
        }
    }

    fn verdict(&self, st: &mut SideState, v: &VerdictStep, rule: &super::program::Rule) {
        match v {
            VerdictStep::Continue => {
                if let Some(f) = st.frames.last_mut() {
                    f.step += 1;
                }
            }
            VerdictStep::Accept => {
                note(st, rule);
                self.next_base(st);
            }
            VerdictStep::Drop => {
                note(st, rule);
                st.fate = Some(FinalVerdict::Drop);
            }
            VerdictStep::Reject(r) => {
                note(st, rule);
                st.fate = Some(FinalVerdict::Reject(*r));
            }
            VerdictStep::Queue(q) => {
                note(st, rule);
                st.fate = Some(FinalVerdict::Queue(*q));
            }
            VerdictStep::Stolen(s) => {
                note(st, rule);
                st.fate = Some(FinalVerdict::Stolen(s.clone()));
            }
            VerdictStep::Return => {
                st.temps.iter_mut().for_each(|t| *t = None);
                self.pop(st);
            }
            VerdictStep::Jump(c) => {
                Self::next_rule(st);
                st.frames.push(self.enter(*c));
            }
            VerdictStep::Goto(c) => {
                st.temps.iter_mut().for_each(|t| *t = None);
                st.frames.pop();
                st.frames.push(self.enter(*c));
            }
            VerdictStep::FromTemp(_) => {}
        }
    }

    fn temp_interval(
        &self,
        st: &SideState,
        temp: u8,
        member: u8,
        span: nftvm_grammar::Span,
    ) -> Result<Interval, Undecidable> {
        match st.temps.get(temp as usize).cloned().flatten() {
            Some(Datum::Values(v)) => v
                .get(member as usize)
                .copied()
                .ok_or_else(|| Undecidable::new("internal: map data member missing", self.side, span)),
            _ => Err(Undecidable::new("internal: map data missing", self.side, span)),
        }
    }

    fn temp_value(
        &self,
        st: &SideState,
        temp: u8,
        member: u8,
        span: nftvm_grammar::Span,
    ) -> Result<u128, Undecidable> {
        let iv = self.temp_interval(st, temp, member, span)?;
        if iv.is_point() {
            Ok(iv.lo)
        } else {
            Err(Undecidable::new("a range written into a field", self.side, span))
        }
    }
}
