//! Lowering one ruleset at one point: which base chains run, in which order, and which chains
//! they reach. The statements of each rule are lowered by `lower_rule.rs`.
//!
//! Order of base chains at a hook: by priority; among equal priorities the chain declared
//! *last* runs first (the kernel inserts a hook before those of the same priority — the
//! runtime's `HookPlan` checked this against Linux). Nat chains are not hooks of their own:
//! the first nat chain of a family registers the NAT hook functions at `-100` (prerouting,
//! output) and `100` (input, postrouting), which run the hook's nat chains in priority
//! order, for a connection's first packet, until one of them translates.

use super::error::{Side, Undecidable};
use super::limiter::Limiters;
use super::lower_rule::RuleLowering;
use super::operand;
use super::program::{Base, Chain, Program, RuleId, TestStep};
use super::storage::{Ctx, Point};
use super::test::{Member, Test};
use super::universe::Universe;
use crate::ir::{ChainType, Ruleset, build};
use crate::types::Value;
use nftvm_grammar::Span;
use nftvm_vm::keys::{Hook, MetaKey};
use std::collections::{HashMap, VecDeque};

/// Every point at which `rs` has a base chain.
pub fn points(rs: &Ruleset) -> Vec<Point> {
    let mut out = Vec::new();
    for t in &rs.tables {
        for c in &t.chains {
            if let Some(b) = &c.base {
                for &ctx in Ctx::of_family(t.family) {
                    let p = Point { ctx, hook: b.hook };
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// Where the NAT core hook sits.
fn nat_core_priority(hook: Hook) -> Option<i32> {
    match hook {
        Hook::Prerouting | Hook::Output => Some(-100),
        Hook::Input | Hook::Postrouting => Some(100),
        _ => None,
    }
}

/// Insert `item` before the first entry of the same or a higher priority (the kernel's
/// `nf_hook_entries` insertion: among equal priorities, the later registration runs first).
fn insert_by_priority<T>(list: &mut Vec<(i32, T)>, prio: i32, item: T) {
    let at = list.iter().position(|(p, _)| *p >= prio).unwrap_or(list.len());
    list.insert(at, (prio, item));
}

/// The base chains that run at `point`, in run order: `(table, chain, is a nat chain)`.
///
/// Registration is replayed in declaration order: a base chain registers at its priority;
/// the first nat chain of the packet family registers the NAT hook functions (at −100 in
/// prerouting/output, 100 in input/postrouting), which run the hook's nat chains in priority
/// order (later declaration first on ties).
pub fn run_order(rs: &Ruleset, point: Point) -> Vec<(usize, usize, bool)> {
    enum Entry {
        Chain(usize, usize),
        Nat,
    }
    let core = if point.ctx.is_ip() { nat_core_priority(point.hook) } else { None };
    let mut entries: Vec<(i32, Entry)> = Vec::new();
    let mut nat_chains: Vec<(i32, (usize, usize))> = Vec::new();
    let mut nat_registered = false;
    for (ti, t) in rs.tables.iter().enumerate() {
        if !Ctx::of_family(t.family).contains(&point.ctx) {
            continue;
        }
        for (ci, c) in t.chains.iter().enumerate() {
            let Some(b) = &c.base else { continue };
            let is_nat =
                b.chain_type == ChainType::Nat && point.ctx.is_ip() && nat_core_priority(b.hook).is_some();
            if is_nat {
                if b.hook == point.hook {
                    insert_by_priority(&mut nat_chains, b.priority, (ti, ci));
                }
                if !nat_registered {
                    nat_registered = true;
                    if let Some(p) = core {
                        insert_by_priority(&mut entries, p, Entry::Nat);
                    }
                }
            } else if b.hook == point.hook {
                insert_by_priority(&mut entries, b.priority, Entry::Chain(ti, ci));
            }
        }
    }
    let mut out = Vec::new();
    for (_, e) in entries {
        match e {
            Entry::Chain(ti, ci) => out.push((ti, ci, false)),
            Entry::Nat => out.extend(nat_chains.iter().map(|(_, (ti, ci))| (*ti, *ci, true))),
        }
    }
    out
}

/// State of lowering one side at one point.
pub struct Lowering<'a> {
    pub rs: &'a Ruleset,
    pub side: Side,
    pub point: Point,
    pub uni: &'a mut Universe,
    pub limiters: &'a mut Limiters,
    chains: Vec<Chain>,
    index: HashMap<(usize, String), usize>,
    queue: VecDeque<(usize, usize, usize)>,
}

impl<'a> Lowering<'a> {
    /// The program index of chain `name` of table `table`, queueing it for lowering.
    pub fn chain_index(&mut self, table: usize, name: &str, span: Span) -> Result<usize, Undecidable> {
        if let Some(&i) = self.index.get(&(table, name.to_string())) {
            return Ok(i);
        }
        let t = &self.rs.tables[table];
        let Some(ci) = t.chains.iter().position(|c| c.name == name) else {
            return Err(Undecidable::new(format!("jump to unknown chain {name}"), self.side, span));
        };
        let c = &t.chains[ci];
        let i = self.chains.len();
        self.chains.push(Chain {
            table: t.name.clone(),
            name: c.name.clone(),
            rules: Vec::new(),
            span: c.span,
            fingerprint: 0,
            suffix: Vec::new(),
            cols: Vec::new(),
            hulls: Vec::new(),
        });
        self.index.insert((table, name.to_string()), i);
        self.queue.push_back((table, ci, i));
        Ok(i)
    }

    fn device_test(&mut self, devices: &[String], span: Span) -> Result<TestStep, Undecidable> {
        let key = if self.point.hook == Hook::Egress { MetaKey::OifName } else { MetaKey::IifName };
        let e = build::meta(key);
        let err = |m: super::error::Unsupported| m.at(self.side, span);
        let load = operand::resolve(&e, self.point, self.uni).map_err(err)?;
        let mut sets = Vec::new();
        for d in devices {
            let v = Value::padded_string(d, 16)
                .map_err(|_| Undecidable::new(format!("device name {d:?}"), self.side, span))?;
            sets.push(super::test::const_set(&e.constant(v), 128).map_err(err)?);
        }
        let set = sets.into_iter().fold(super::interval::IntervalSet::empty(), |a, b| a.union(&b));
        let mask = super::interval::max_of(load.width);
        let test = Test { members: vec![Member { load, mask }], elems: vec![vec![set]], negate: false };
        Ok(TestStep::new(test, false, span))
    }
}

/// Lower `rs` at `point`; `None` when it has no base chain there (every packet is accepted).
pub fn lower(
    rs: &Ruleset,
    side: Side,
    point: Point,
    uni: &mut Universe,
    limiters: &mut Limiters,
) -> Result<Option<Program>, Undecidable> {
    let found = run_order(rs, point);
    if found.is_empty() {
        return Ok(None);
    }
    let mut lw = Lowering {
        rs,
        side,
        point,
        uni,
        limiters,
        chains: Vec::new(),
        index: HashMap::new(),
        queue: VecDeque::new(),
    };
    let mut bases = Vec::new();
    for (ti, ci, nat) in found {
        let c = &rs.tables[ti].chains[ci];
        let Some(b) = &c.base else { continue };
        let chain = lw.chain_index(ti, &c.name, c.span)?;
        let devices = if b.devices.is_empty() { None } else { Some(lw.device_test(&b.devices, b.span)?) };
        bases.push(Base { chain, policy: b.policy, nat, devices, fingerprint: 0 });
    }
    while let Some((ti, ci, pi)) = lw.queue.pop_front() {
        let chain = &rs.tables[ti].chains[ci];
        let mut rules = Vec::with_capacity(chain.rules.len());
        for (ri, rule) in chain.rules.iter().enumerate() {
            let id = RuleId { table: ti as u32, chain: ci as u32, rule: ri as u32 };
            let mut rl = RuleLowering::new(&mut lw, ti, ci, ri);
            let steps = rl.lower(rule)?;
            rules.push(super::program::Rule {
                steps,
                span: rule.span,
                id,
                guard: None,
                never: false,
                fingerprint: 0,
                exit: Default::default(),
            });
        }
        lw.chains[pi].rules = rules;
    }
    if bases.iter().any(|b| b.nat) {
        // Nat chains run only for new and related connections: ct state is an input.
        let state = build::ct(nftvm_vm::keys::CtKey::State, None, None);
        if let Some(e) = state {
            operand::resolve(&e, point, lw.uni).map_err(|u| u.at(side, Span::default()))?;
        }
    }
    Ok(Some(Program {
        point,
        chains: lw.chains,
        bases,
        written: Vec::new(),
        used: Vec::new(),
        nat_gate: None,
    }))
}
