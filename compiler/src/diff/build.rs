//! Finishing a lowered program once the universe is cut into slots: tests become conditions
//! over slots, writes become per-slot value specs, and every rule gets its guard and
//! fingerprint, every chain its fingerprint and suffix hashes.

use super::cond::BoxC;
use super::error::{Res, Side, Undecidable, Unsupported};
use super::interval::{Interval, max_of};
use super::lower_rule::locate;
use super::operand::Piece;
use super::program::{Datum, Program, Rule, Step, TestStep, ValSpec, ValueExpr, VerdictStep, WriteStep};
use super::test::{self, Test};
use super::universe::{Slot, Universe};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The domain of every slot (indexed by slot).
pub fn domains(uni: &Universe) -> Vec<Interval> {
    (0..uni.slot_count() as Slot).map(|s| uni.slot(s).domain).collect()
}

fn build_test(t: &mut TestStep, uni: &Universe, doms: &[Interval], side: Side) -> Result<(), Undecidable> {
    let cond = t.test.to_cond(uni, doms).map_err(|e| e.at(side, t.span))?;
    let (cond, negate) = test::normalize(cond, t.test.negate, doms);
    t.cond = cond;
    t.negate = negate;
    Ok(())
}

fn spec(v: &ValueExpr, width: u32, at: u32, len: u32, uni: &Universe) -> Res<ValSpec> {
    let all = max_of(len);
    let part = |c: u128| Universe::bits_of(c, width, at, len);
    match v {
        ValueExpr::Const(c) => Ok(ValSpec::Const(part(*c))),
        ValueExpr::Temp(temp, member) => {
            Ok(ValSpec::Temp { temp: *temp, member: *member, total: width, at, len })
        }
        ValueExpr::Load(src) => match locate(&src.pieces, at) {
            Some((storage, off)) => match uni.segments(storage, off, len)?.as_slice() {
                [(slot, l)] if *l == len => Ok(ValSpec::Copy(*slot)),
                _ => Err(Unsupported::new("internal: copy not aligned to slots")),
            },
            None => {
                let mut start = 0;
                for p in &src.pieces {
                    if let Piece::Const { value, len: plen } = p
                        && at >= start
                        && at + len <= start + plen
                    {
                        return Ok(ValSpec::Const(Universe::bits_of(*value, *plen, at - start, len)));
                    }
                    start += p.len();
                }
                Err(Unsupported::new("internal: copy of a constant not aligned"))
            }
        },
        ValueExpr::And(inner, c) => match part(*c) {
            m if m == all => spec(inner, width, at, len, uni),
            0 => Ok(ValSpec::Const(0)),
            _ => Err(Unsupported::new("internal: mask not aligned to slots")),
        },
        ValueExpr::Or(inner, c) => match part(*c) {
            m if m == all => Ok(ValSpec::Const(all)),
            0 => spec(inner, width, at, len, uni),
            _ => Err(Unsupported::new("internal: mask not aligned to slots")),
        },
        ValueExpr::Xor(inner, c) => match part(*c) {
            0 => spec(inner, width, at, len, uni),
            m if m == all => match spec(inner, width, at, len, uni)? {
                ValSpec::Const(x) => Ok(ValSpec::Const(!x & all)),
                _ => Err(Unsupported::new("xor flipping bits of a value read from the packet")),
            },
            _ => Err(Unsupported::new("internal: mask not aligned to slots")),
        },
    }
}

fn build_write(w: &mut WriteStep, uni: &Universe) -> Res<()> {
    let mut slots = Vec::new();
    let mut at = 0;
    for p in &w.target.pieces {
        if let Piece::Bits { storage, off, len } = p {
            for (slot, slen) in uni.segments(*storage, *off, *len)? {
                slots.push((slot, spec(&w.value, w.target.width, at, slen, uni)?));
                at += slen;
            }
        } else {
            at += p.len();
        }
    }
    w.slots = slots;
    Ok(())
}

/// Convert every test, lookup and write of `prog` to slots.
pub fn build(prog: &mut Program, uni: &Universe, side: Side) -> Result<(), Undecidable> {
    let doms = domains(uni);
    let mut written: Vec<Slot> = Vec::new();
    for base in &mut prog.bases {
        if let Some(t) = &mut base.devices {
            build_test(t, uni, &doms, side)?;
        }
    }
    for chain in &mut prog.chains {
        for rule in &mut chain.rules {
            for step in &mut rule.steps {
                match step {
                    Step::Test(t) | Step::Limiter { test: t, .. } => build_test(t, uni, &doms, side)?,
                    Step::Lookup(l) => {
                        let mut conds = Vec::with_capacity(l.elems.len());
                        for (sets, _) in &l.elems {
                            let t = Test { members: l.key.clone(), elems: vec![sets.clone()], negate: false };
                            conds.push(t.to_cond(uni, &doms).map_err(|e| e.at(side, l.span))?);
                        }
                        l.conds = conds;
                    }
                    Step::Write(w) => {
                        if let Some(g) = &mut w.guard {
                            build_test(g, uni, &doms, side)?;
                        }
                        build_write(w, uni).map_err(|e| e.at(side, w.span))?;
                        written.extend(w.slots.iter().map(|s| s.0));
                    }
                    Step::Unmodelled(u) => build_test(&mut u.guard, uni, &doms, side)?,
                    _ => {}
                }
            }
        }
    }
    written.sort_unstable();
    written.dedup();
    prog.used = used_slots(prog, &written);
    if prog.bases.iter().any(|b| b.nat) {
        prog.nat_gate = Some(nat_gate(uni).map_err(|e| e.at(side, nftvm_grammar::Span::default()))?);
    }
    for chain in &mut prog.chains {
        for rule in &mut chain.rules {
            guard(rule, &written);
        }
        flatten_guards(chain, &doms);
    }
    prog.written = written;
    fingerprints(prog, side)
}

/// `ct state new,related`: when nat chains run.
fn nat_gate(uni: &Universe) -> Res<super::cond::Cond> {
    use super::storage::Storage;
    use super::universe::CT_STATES;
    use nftvm_vm::keys::{CtKey, ct_state};
    let id = uni
        .storages()
        .find(|(_, s)| s.key == Storage::Ct { key: CtKey::State, dir: None })
        .map(|(id, _)| id)
        .ok_or_else(|| Unsupported::new("internal: ct state not registered for nat chains"))?;
    let slot = uni.segments(id, 0, uni.info(id).width.unwrap_or(32))?[0].0;
    let idx: Vec<Interval> = CT_STATES
        .iter()
        .enumerate()
        .filter(|(_, v)| **v == u128::from(ct_state::NEW) || **v == u128::from(ct_state::RELATED))
        .map(|(i, _)| Interval::point(i as u128))
        .collect();
    let mut b = BoxC::any();
    b.constrain(slot, super::interval::IntervalSet::from_intervals(idx));
    Ok(super::cond::Cond { boxes: vec![b] })
}

/// Every slot a program's conditions, lookups and writes mention.
fn used_slots(prog: &Program, written: &[Slot]) -> Vec<Slot> {
    let mut out: Vec<Slot> = written.to_vec();
    fn add(out: &mut Vec<Slot>, c: &super::cond::Cond) {
        for b in &c.boxes {
            out.extend(b.cons.iter().map(|x| x.0));
        }
    }
    for base in &prog.bases {
        if let Some(t) = &base.devices {
            add(&mut out, &t.cond);
        }
    }
    for chain in &prog.chains {
        for rule in &chain.rules {
            for step in &rule.steps {
                match step {
                    Step::Test(t) | Step::Limiter { test: t, .. } => add(&mut out, &t.cond),
                    Step::Unmodelled(u) => add(&mut out, &u.guard.cond),
                    Step::Lookup(l) => l.conds.iter().for_each(|c| add(&mut out, c)),
                    Step::Write(w) => {
                        if let Some(g) = &w.guard {
                            add(&mut out, &g.cond);
                        }
                        for (_, v) in &w.slots {
                            if let ValSpec::Copy(s) = v {
                                out.push(*s);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Lay the chain's guards out flat ([`super::program::Chain::meets`]).
fn flatten_guards(chain: &mut super::program::Chain, doms: &[Interval]) {
    let mut cols: Vec<Slot> =
        chain.rules.iter().flat_map(|r| r.guard.iter().flat_map(|g| g.cons.iter().map(|c| c.0))).collect();
    cols.sort_unstable();
    cols.dedup();
    let mut hulls = Vec::with_capacity(cols.len() * chain.rules.len());
    for r in &chain.rules {
        for &s in &cols {
            let full = doms[s as usize];
            let h = r.guard.as_ref().and_then(|g| {
                let i = g.cons.binary_search_by_key(&s, |c| c.0).ok()?;
                let parts = g.cons[i].1.parts();
                Some(Interval { lo: parts.first()?.lo, hi: parts.last()?.hi })
            });
            hulls.push(h.unwrap_or(full));
        }
    }
    chain.cols = cols;
    chain.hulls = hulls;
}

/// The box a rule's leading side-effect-free tests confine it to.
fn guard(rule: &mut Rule, written: &[Slot]) {
    let mut g = BoxC::any();
    let mut constrained = false;
    for step in &rule.steps {
        match step {
            Step::Test(t) => {
                if !t.negate && t.cond.is_never() {
                    rule.never = true;
                    return;
                }
                if t.negate || t.cond.boxes.len() != 1 {
                    continue;
                }
                let b = &t.cond.boxes[0];
                if b.cons.iter().any(|(s, _)| written.binary_search(s).is_ok()) {
                    continue;
                }
                match g.and(b) {
                    Some(x) => {
                        g = x;
                        constrained = true;
                    }
                    None => {
                        rule.never = true;
                        return;
                    }
                }
            }
            Step::Lookup(_) => {}
            _ => break,
        }
    }
    rule.guard = constrained.then_some(g);
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn hash_verdict(v: &VerdictStep, chains: &[u64], h: &mut DefaultHasher) {
    match v {
        VerdictStep::Jump(c) => ("jump", chains.get(*c)).hash(h),
        VerdictStep::Goto(c) => ("goto", chains.get(*c)).hash(h),
        other => other.hash(h),
    }
}

fn rule_fingerprint(rule: &Rule, chains: &[u64]) -> u64 {
    let mut h = DefaultHasher::new();
    rule.never.hash(&mut h);
    for step in &rule.steps {
        match step {
            Step::Test(t) => ("test", &t.cond, t.negate).hash(&mut h),
            Step::Limiter { id, test } => ("limiter", id, &test.cond, test.negate).hash(&mut h),
            Step::Lookup(l) => {
                ("lookup", l.temp, &l.conds).hash(&mut h);
                for (_, d) in &l.elems {
                    hash_datum(d, chains, &mut h);
                }
                match &l.default {
                    Some(d) => hash_datum(d, chains, &mut h),
                    None => "nodefault".hash(&mut h),
                }
            }
            Step::Write(w) => ("write", &w.slots, w.guard.as_ref().map(|g| (&g.cond, g.negate))).hash(&mut h),
            Step::Verdict(v, _) => hash_verdict(v, chains, &mut h),
            Step::Nat(n, _) => ("nat", n).hash(&mut h),
            Step::Effect(e) => ("effect", e).hash(&mut h),
            Step::Unmodelled(u) => ("unmodelled", &u.what, &u.guard.cond, u.guard.negate).hash(&mut h),
        }
    }
    h.finish()
}

fn hash_datum(d: &Datum, chains: &[u64], h: &mut DefaultHasher) {
    match d {
        Datum::Verdict(v) => hash_verdict(v, chains, h),
        Datum::Values(v) => v.hash(h),
    }
}

/// The chains a chain jumps or goes to.
fn callees(chain: &super::program::Chain) -> Vec<usize> {
    let mut out = Vec::new();
    let mut push = |v: &VerdictStep| {
        if let VerdictStep::Jump(c) | VerdictStep::Goto(c) = v {
            out.push(*c);
        }
    };
    for r in &chain.rules {
        for s in &r.steps {
            match s {
                Step::Verdict(v, _) => push(v),
                Step::Lookup(l) => {
                    for d in l.elems.iter().map(|e| &e.1).chain(l.default.iter()) {
                        if let Datum::Verdict(v) = d {
                            push(v);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn fingerprints(prog: &mut Program, side: Side) -> Result<(), Undecidable> {
    let n = prog.chains.len();
    // Order chains so that callees come first (and find loops).
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::with_capacity(n);
    for start in 0..n {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, callees(&prog.chains[start]), 0usize)];
        state[start] = 1;
        while let Some((c, kids, i)) = stack.last_mut() {
            if *i < kids.len() {
                let k = kids[*i];
                *i += 1;
                match state.get(k) {
                    Some(0) => {
                        state[k] = 1;
                        let ks = callees(&prog.chains[k]);
                        stack.push((k, ks, 0));
                    }
                    Some(1) => {
                        let ch = &prog.chains[k];
                        return Err(Undecidable::new(
                            format!("jump loop through chain {}", ch.name),
                            side,
                            ch.span,
                        ));
                    }
                    _ => {}
                }
            } else {
                let c = *c;
                state[c] = 2;
                order.push(c);
                stack.pop();
            }
        }
    }
    let mut fps = vec![0u64; n];
    for c in order {
        let chain = &mut prog.chains[c];
        let mut suffix = vec![0u64; chain.rules.len() + 1];
        for (i, rule) in chain.rules.iter_mut().enumerate() {
            rule.fingerprint = rule_fingerprint(rule, &fps);
            rule.exit = rule.classify_exit();
            let _ = i;
        }
        for i in (0..chain.rules.len()).rev() {
            suffix[i] = hash_of(&(chain.rules[i].fingerprint, suffix[i + 1]));
        }
        chain.fingerprint = suffix[0];
        chain.suffix = suffix;
        fps[c] = chain.fingerprint;
    }
    for base in &mut prog.bases {
        let dev = base.devices.as_ref().map(|t| (&t.cond, t.negate));
        base.fingerprint = hash_of(&(fps[base.chain], base.policy, base.nat, dev));
    }
    Ok(())
}
