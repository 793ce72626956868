//! The interpreter: the reference engine. It runs a verified program's chain for one
//! packet with nf_tables semantics (`nft_do_chain`): rules in order, expressions in order
//! until one breaks or sets a verdict; `jump` pushes a return point on a 16-deep stack,
//! `goto` does not; `return` (or the end of a chain) pops, and the end of a base chain
//! applies its policy.
//!
//! [`run_chain`] returns a fresh [`RunResult`]; [`run_chain_into`] overwrites a caller's one,
//! reusing its trace buffer, and can leave the trace out ([`RunOptions`]) — the per-packet
//! fast path of the runtime and the benchmarks. Both compute the same verdict, deciding rule
//! and registers.

pub mod csum;
pub mod env;
pub mod eval;
pub mod headers;
pub mod packet;
pub mod recent;
pub mod regs;
pub mod shared;
pub mod state;

pub use env::{
    Env, FibQuery, IcmpErrorRequest, LogRequest, NatKind, NatRequest, NullEnv, RejectRequest, TproxyRequest,
};
pub use eval::Eval;
pub use packet::PacketCtx;
pub use regs::Regs;
pub use shared::SharedState;
pub use state::{ProgramState, Slot};

use crate::keys::Family;
use crate::program::{ChainId, Policy, SourceId};
use crate::verdict::Verdict;
use crate::verify::{JUMP_STACK_SIZE, VerifiedProgram};

/// A rule by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RuleRef {
    pub chain: ChainId,
    pub rule: usize,
    pub source: SourceId,
}

/// One trace entry: a rule that ran to its end (matched), and the verdict it set (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub rule: RuleRef,
    pub verdict: Option<Verdict>,
}

/// The outcome of running a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The final verdict: accept, drop, queue, stolen (repeat/stop as the kernel passes them).
    pub verdict: Verdict,
    /// The rule that decided it; `None` when the chain's policy did.
    pub decided_by: Option<RuleRef>,
    /// Rules that matched (ran to their end or set a verdict), in order.
    pub trace: Vec<TraceEntry>,
    /// The register file at the end (for tests and the JIT's differential checks).
    pub regs: Regs,
}

impl Default for RunResult {
    /// An empty result (the accept policy, no trace), to be overwritten by a run.
    fn default() -> Self {
        RunResult { verdict: Verdict::Accept, decided_by: None, trace: Vec::new(), regs: Regs::default() }
    }
}

/// What a run records besides its verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Record the rules that matched in [`RunResult::trace`] (off: the trace stays empty).
    pub trace: bool,
    /// Copy the final register file to [`RunResult::regs`] (off: `regs` keeps what it held).
    pub regs: bool,
}

impl RunOptions {
    /// Everything recorded (what [`run_chain`] does).
    pub const TRACED: RunOptions = RunOptions { trace: true, regs: true };
    /// Verdict, deciding rule and registers only.
    pub const UNTRACED: RunOptions = RunOptions { trace: false, regs: true };
    /// Verdict and deciding rule only: the per-packet fast path of a caller that needs
    /// neither the trace nor the registers (no copy of the register file either).
    pub const VERDICT: RunOptions = RunOptions { trace: false, regs: false };
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions::TRACED
    }
}

/// Runs `chain` (normally a base chain) for one packet.
pub fn run_chain(
    prog: &VerifiedProgram,
    state: &mut ProgramState,
    chain: ChainId,
    pkt: &mut PacketCtx<'_>,
    env: &mut dyn Env,
) -> RunResult {
    let mut out = RunResult::default();
    run_chain_into(prog, state, chain, pkt, env, RunOptions::TRACED, &mut out);
    out
}

/// [`run_chain`] writing into `out` (every field is overwritten — `regs` only with `opts.regs`; the trace buffer's
/// allocation is reused, so a caller that keeps one `RunResult` allocates nothing per packet).
pub fn run_chain_into(
    prog: &VerifiedProgram,
    state: &mut ProgramState,
    chain: ChainId,
    pkt: &mut PacketCtx<'_>,
    env: &mut dyn Env,
    opts: RunOptions,
    out: &mut RunResult,
) {
    out.trace.clear();
    let regs = opts.regs.then_some(&mut out.regs);
    let trace = opts.trace.then_some(&mut out.trace);
    let (verdict, decided_by) = run(prog, state, chain, pkt, env, trace, regs);
    out.verdict = verdict;
    out.decided_by = decided_by;
}

/// The final register file goes to `regs_out` when there is one.
fn finish(
    v: Verdict,
    by: Option<RuleRef>,
    regs: &Regs,
    regs_out: Option<&mut Regs>,
) -> (Verdict, Option<RuleRef>) {
    if let Some(out) = regs_out {
        out.clone_from(regs);
    }
    (v, by)
}

/// The chain walk; rules that matched are pushed on `trace` when there is one.
fn run(
    prog: &VerifiedProgram,
    state: &mut ProgramState,
    chain: ChainId,
    pkt: &mut PacketCtx<'_>,
    env: &mut dyn Env,
    mut trace: Option<&mut Vec<TraceEntry>>,
    regs_out: Option<&mut Regs>,
) -> (Verdict, Option<RuleRef>) {
    if !prog.runnable(chain) {
        // It reaches a jump loop no base chain reaches: nothing runs, as for a missing chain.
        return finish(Verdict::Accept, None, &Regs::default(), regs_out);
    }
    let p = prog.program();
    let family_of = |c: ChainId| p.chain_family(c).unwrap_or(Family::Ip);
    let mut e = Eval::start(pkt, env, state, p, family_of(chain), None);
    let mut stack: [(ChainId, usize); JUMP_STACK_SIZE] = [(ChainId(0), 0); JUMP_STACK_SIZE];
    let mut sp = 0usize;
    let base = chain;
    let mut cur = chain;
    let mut rule_idx = 0usize;
    loop {
        let rules = p.chain(cur).map_or(&[][..], |c| c.rules.as_slice());
        let mut decided: Option<(usize, Verdict)> = None;
        // The first expression to run (a `classify` may resume a rule after its own).
        let mut first_expr = 0;
        while let Some(rule) = rules.get(rule_idx) {
            e.regs.verdict = Verdict::Continue;
            for ex in rule.exprs.get(first_expr..).unwrap_or_default() {
                ex.eval(&mut e);
                if e.regs.verdict != Verdict::Continue {
                    break;
                }
            }
            let rref = RuleRef { chain: cur, rule: rule_idx, source: rule.source };
            first_expr = 0;
            match e.regs.verdict {
                Verdict::Break => {
                    if let Some(r) = e.resume.take() {
                        (rule_idx, first_expr) = (r.rule as usize, r.expr as usize);
                        continue;
                    }
                }
                // As the kernel traces NFT_CONTINUE: every rule that ran to its end.
                Verdict::Continue => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(TraceEntry { rule: rref, verdict: None });
                    }
                }
                v => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(TraceEntry { rule: rref, verdict: Some(v) });
                    }
                    decided = Some((rule_idx, v));
                    break;
                }
            }
            rule_idx += 1;
        }
        if let Some((ri, v)) = decided {
            let rref = RuleRef { chain: cur, rule: ri, source: rules[ri].source };
            match v {
                Verdict::Jump(t) => {
                    if sp >= JUMP_STACK_SIZE {
                        return finish(Verdict::Drop, Some(rref), &e.regs, regs_out);
                    }
                    stack[sp] = (cur, ri + 1);
                    sp += 1;
                    cur = t;
                    rule_idx = 0;
                    e.table_family = family_of(cur);
                    continue;
                }
                Verdict::Goto(t) => {
                    cur = t;
                    rule_idx = 0;
                    e.table_family = family_of(cur);
                    continue;
                }
                Verdict::Return | Verdict::Continue | Verdict::Break => {}
                terminal => return finish(terminal, Some(rref), &e.regs, regs_out),
            }
        }
        // End of chain or return: pop, or apply the base chain's policy.
        if sp > 0 {
            sp -= 1;
            (cur, rule_idx) = stack[sp];
            e.table_family = family_of(cur);
            continue;
        }
        let policy = p.chain(base).and_then(|c| c.base.as_ref()).map_or(Policy::Accept, |b| b.policy);
        let v = if policy == Policy::Drop { Verdict::Drop } else { Verdict::Accept };
        return finish(v, None, &e.regs, regs_out);
    }
}
