//! Semantic equivalence of two rulesets: do they give every packet the same fate?
//!
//! "Fate" is, per packet context (IPv4, IPv6, …) and hook both rulesets may register at: the
//! final verdict after every base chain of the hook has run in priority order, and for
//! packets that go on, the NAT and other effects and the final value of every field a rule
//! wrote (`meta mark`, `ct mark`, rewritten headers). Conntrack state, interfaces, marks and
//! every header field the rules read are free inputs.
//!
//! # How
//!
//! 1. **Lower** (`lower.rs`, `lower_rule.rs`, `test.rs`, `operand.rs`): each ruleset at each
//!    point becomes a [`program::Program`] of steps over *storages* (what a load reads:
//!    header + bit range, meta key, ct key…), so `tcp dport`, `@th,16,16` and iptables'
//!    `--dport` are the same thing.
//! 2. **Cut** (`universe.rs`): every storage is cut at every load, mask and copy boundary
//!    of both rulesets into atomic slots — the dimensions of the packet space.
//! 3. **Build** (`build.rs`): tests become unions of boxes over slots (`cond.rs`), rules get
//!    guards and fingerprints.
//! 4. **Explore** (`explore.rs`, `exec.rs`, `state.rs`): symbolic execution of both sides
//!    over a region, splitting it at rule boundaries only where a test is undecided,
//!    pruning candidate lists per region and dropping regions where both remaining programs
//!    are identical. Leaves compare outcomes (`outcome.rs`); differences become concrete,
//!    re-checked counterexample packets (`witness.rs`, `report.rs`).
//!
//! Whatever cannot be modelled exactly is an [`Undecidable`] naming the construct and place.
//!
//! # API
//!
//! - [`diff`]`(a, b, &Options)` → [`Report`] (counterexamples, empty when equivalent).
//! - [`equivalent`]`(a, b)` → `bool` (what the optimizer calls to prove a rewrite).
//! - [`explain`]`(rs, side)` → rules that can never match, with the rules that shadow them.

pub mod build;
pub mod cond;
pub mod error;
pub mod exec;
pub mod explore;
pub mod interval;
pub mod limiter;
pub mod lower;
pub mod lower_rule;
pub mod operand;
pub mod outcome;
pub mod program;
pub mod report;
pub mod split;
pub mod state;
pub mod storage;
pub mod test;
pub mod universe;
pub mod witness;

pub use error::{Side, Undecidable};
pub use report::{Counterexample, DeadReason, DeadRule, Report, SideOutcome, Stats};
pub use storage::{Ctx, Point};
pub use witness::FieldValue;

use crate::ir::Ruleset;
use explore::{Explorer, Found, LeafSink};
use interval::Interval;
use limiter::Limiters;
use program::{Program, RuleId};
use state::{Decider, SideState, SymVal};
use std::collections::{BTreeSet, HashSet};
use universe::{Slot, Universe};

/// Options of [`diff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Stop after this many counterexamples (at least 1).
    pub max: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { max: 3 }
    }
}

/// Both rulesets lowered and built over one universe.
struct Lowered {
    uni: Universe,
    limiters: Limiters,
    points: Vec<(storage::Point, Vec<Option<Program>>)>,
}

fn lower_all(rulesets: &[&Ruleset]) -> Result<Lowered, Undecidable> {
    let mut limiters = Limiters::new();
    let mut points = Vec::new();
    for (i, rs) in rulesets.iter().enumerate() {
        limiters.register(Side::from_index(i), rs);
        points.extend(lower::points(rs));
    }
    points.sort();
    points.dedup();
    let mut uni = Universe::new();
    let mut out = Vec::new();
    for p in points {
        let mut progs = Vec::new();
        for (i, rs) in rulesets.iter().enumerate() {
            progs.push(lower::lower(rs, Side::from_index(i), p, &mut uni, &mut limiters)?);
        }
        out.push((p, progs));
    }
    uni.finalize();
    for (_, progs) in &mut out {
        for (i, p) in progs.iter_mut().enumerate() {
            if let Some(p) = p {
                build::build(p, &uni, Side::from_index(i))?;
            }
        }
    }
    Ok(Lowered { uni, limiters, points: out })
}

/// Do `a` and `b` give every packet the same fate? Counterexamples when not.
pub fn diff(a: &Ruleset, b: &Ruleset, opts: &Options) -> Result<Report, Undecidable> {
    let lowered = lower_all(&[a, b])?;
    let doms = build::domains(&lowered.uni);
    let mut report = Report::default();
    report.stats.slots = lowered.uni.slot_count();
    let mut pending: Option<Undecidable> = None;
    for (point, progs) in &lowered.points {
        let left = opts.max.max(1).saturating_sub(report.counterexamples.len());
        if left == 0 {
            break;
        }
        report.stats.points += 1;
        let refs: Vec<Option<&Program>> = progs.iter().map(Option::as_ref).collect();
        let mut ex = Explorer::new(&refs, &lowered.uni, &lowered.limiters, left);
        ex.run(&mut exec::Quiet, None, doms.clone())?;
        report.stats.nodes += ex.stats.nodes;
        report.stats.leaves += ex.stats.leaves;
        report.stats.pruned += ex.stats.pruned;
        if pending.is_none() {
            pending = ex.pending.take();
        }
        for f in ex.found {
            report.counterexamples.push(counterexample(*point, f, &refs, &lowered.uni));
        }
    }
    match pending {
        Some(e) if report.equivalent() => Err(e),
        _ => Ok(report),
    }
}

/// True when `a` and `b` give every packet the same fate.
pub fn equivalent(a: &Ruleset, b: &Ruleset) -> Result<bool, Undecidable> {
    Ok(diff(a, b, &Options { max: 1 })?.equivalent())
}

fn counterexample(
    point: storage::Point,
    f: Found,
    progs: &[Option<&Program>],
    uni: &Universe,
) -> Counterexample {
    let mut used: Vec<Slot> = Vec::new();
    for p in progs.iter().flatten() {
        used.extend(&p.used);
        if let Some(g) = &p.nat_gate {
            used.extend(g.boxes.iter().flat_map(|b| b.cons.iter().map(|c| c.0)));
        }
    }
    used.sort_unstable();
    used.dedup();
    let fields = witness::fields(&f.vals, &used, uni);
    let headers = witness::headers(&f.vals, &used, uni, point.ctx);
    let side = |st: &SideState| {
        let written: Vec<Slot> = st.writes.iter().map(|w| w.0).collect();
        let mut finals = f.vals.clone();
        for &(s, v) in &st.writes {
            if let Some(x) = finals.get_mut(s as usize) {
                *x = match v {
                    SymVal::Const(c) => c,
                    SymVal::Input(i) => f.vals.get(i as usize).copied().unwrap_or(0),
                };
            }
        }
        let writes =
            witness::fields(&finals, &written, uni).into_iter().map(|fv| (fv.name, fv.text)).collect();
        let mut effects = st.effects.clone();
        effects.sort();
        effects.dedup();
        SideOutcome {
            verdict: st.fate.clone().unwrap_or(state::FinalVerdict::Accept),
            deciders: st.deciders.clone(),
            effects,
            writes,
        }
    };
    let sides = [side(&f.states[0]), side(&f.states[1])];
    Counterexample { point, fields, headers, sides, what: describe_difference(&f.diff.what, uni) }
}

fn describe_difference(what: &str, uni: &Universe) -> String {
    match what.strip_prefix("written slot ").and_then(|s| s.parse::<Slot>().ok()) {
        Some(s) if (s as usize) < uni.slot_count() => {
            let info = uni.info(uni.slot(s).storage);
            info.fields.first().map(|f| f.name.clone()).unwrap_or_else(|| info.key.describe())
        }
        _ => what.to_string(),
    }
}

/// Records which rules matched some packet.
struct MatchRecorder<'p> {
    prog: &'p Program,
    matched: &'p mut HashSet<RuleId>,
}

impl exec::Observer for MatchRecorder<'_> {
    fn matched(&mut self, _side: Side, chain: usize, rule: usize) {
        if let Some(r) = self.prog.chains.get(chain).and_then(|c| c.rules.get(rule)) {
            self.matched.insert(r.id);
        }
    }
}

/// Collects the deciders of leaves that meet a box.
struct Shadows<'b> {
    guard: Option<&'b cond::BoxC>,
    by: BTreeSet<Decider>,
}

impl LeafSink for Shadows<'_> {
    fn leaf(&mut self, region: &[Interval], state: &SideState) {
        if self.guard.is_none_or(|g| g.intersects(region)) {
            self.by.extend(state.deciders.iter().copied());
        }
    }
}

/// A no-op leaf sink: the rules matched on the way are what counts. An unmodelled change (an
/// MSS lowered to `rt mtu`, a free input) is let through: the rules after it see the value
/// before it, which ranges over what the change can leave as freely.
struct Ignore;
impl LeafSink for Ignore {
    fn leaf(&mut self, _: &[Interval], _: &SideState) {}
    fn takes_unmodelled(&self) -> bool {
        true
    }
}

/// The rules of `rs` that can never match any packet, and why.
pub fn explain(rs: &Ruleset, side: Side) -> Result<Vec<DeadRule>, Undecidable> {
    let lowered = lower_all(&[rs])?;
    let doms = build::domains(&lowered.uni);
    let mut matched: HashSet<RuleId> = HashSet::new();
    let mut lowered_rules: BTreeSet<RuleId> = BTreeSet::new();
    for (_, progs) in &lowered.points {
        let Some(prog) = progs[0].as_ref() else { continue };
        for c in &prog.chains {
            lowered_rules.extend(c.rules.iter().map(|r| r.id));
        }
        let mut ex = Explorer::new(&[Some(prog)], &lowered.uni, &lowered.limiters, usize::MAX);
        let mut rec = MatchRecorder { prog, matched: &mut matched };
        ex.run(&mut rec, Some(&mut Ignore), doms.clone())?;
    }
    let mut dead = Vec::new();
    for (ti, t) in rs.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            for (ri, r) in c.rules.iter().enumerate() {
                let id = RuleId { table: ti as u32, chain: ci as u32, rule: ri as u32 };
                if matched.contains(&id) {
                    continue;
                }
                let reason = if !lowered_rules.contains(&id) {
                    DeadReason::Unreachable
                } else {
                    shadow_reason(&lowered, id, &doms)?
                };
                dead.push(DeadRule {
                    side,
                    span: r.span,
                    table: t.name.clone(),
                    chain: c.name.clone(),
                    reason,
                });
            }
        }
    }
    Ok(dead)
}

/// Why a lowered rule never matched: its own tests, or the rules deciding its packets.
fn shadow_reason(lowered: &Lowered, id: RuleId, doms: &[Interval]) -> Result<DeadReason, Undecidable> {
    let mut by = BTreeSet::new();
    let mut never = true;
    for (_, progs) in &lowered.points {
        let Some(prog) = progs[0].as_ref() else { continue };
        let Some(rule) = prog.chains.iter().flat_map(|c| c.rules.iter()).find(|r| r.id == id) else {
            continue;
        };
        if rule.never {
            continue;
        }
        never = false;
        let root: Vec<Interval> = match &rule.guard {
            Some(g) => doms
                .iter()
                .enumerate()
                .map(|(s, d)| match g.cons.binary_search_by_key(&(s as Slot), |c| c.0) {
                    Ok(i) => hull(&g.cons[i].1).unwrap_or(*d),
                    Err(_) => *d,
                })
                .collect(),
            None => doms.to_vec(),
        };
        let mut ex = Explorer::new(&[Some(prog)], &lowered.uni, &lowered.limiters, usize::MAX);
        let mut sink = Shadows { guard: rule.guard.as_ref(), by: BTreeSet::new() };
        ex.run(&mut exec::Quiet, Some(&mut sink), root)?;
        by.extend(sink.by);
    }
    if never {
        return Ok(DeadReason::NeverTrue);
    }
    Ok(DeadReason::Shadowed(by.into_iter().take(8).collect()))
}

fn hull(set: &interval::IntervalSet) -> Option<Interval> {
    let parts = set.parts();
    Some(Interval { lo: parts.first()?.lo, hi: parts.last()?.hi })
}
