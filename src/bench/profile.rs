//! Where a chain's time goes: which rules are evaluated how often, and an estimate of each
//! rule's share of the time.
//!
//! Counts are exact: from a traced run (the rules that matched, with their verdicts) the walk
//! through the chains is replayed — every rule from the resume point up to the next traced
//! rule of the same chain was evaluated and did not match; a `jump`/`goto` enters its target,
//! the end of a chain or `return` resumes after the jump. Time shares are an estimate: each
//! evaluation is weighted by the rule's static cost (one unit per inlined expression, more
//! for a set lookup, more again for an expression that calls into the runtime), scaled to the
//! chain time measured.

use nftvm_vm::expr::Expr;
use nftvm_vm::expr::meta::MetaOp;
use nftvm_vm::expr::payload::PayloadOp;
use nftvm_vm::interp::TraceEntry;
use nftvm_vm::keys::MetaKey;
use nftvm_vm::verify::JUMP_STACK_SIZE;
use nftvm_vm::{ChainId, Program, Rule, Verdict};

/// Calls `visit(chain, rule, matched)` for every rule the run that produced `trace` (from base
/// chain `base`) evaluated, in order.
pub fn walk(
    prog: &Program,
    base: ChainId,
    trace: &[TraceEntry],
    mut visit: impl FnMut(ChainId, usize, bool),
) {
    let rules_of = |c: ChainId| prog.chain(c).map_or(0, |ch| ch.rules.len());
    let mut stack: Vec<(ChainId, usize)> = Vec::new();
    let (mut cur, mut idx) = (base, 0usize);
    let mut entries = trace.iter().peekable();
    loop {
        let n = rules_of(cur);
        let next = entries.peek().filter(|e| e.rule.chain == cur && e.rule.rule >= idx && e.rule.rule < n);
        let Some(e) = next.copied() else {
            // The chain ran to its end (or its caller's resume point was past the last rule).
            for r in idx..n {
                visit(cur, r, false);
            }
            match stack.pop() {
                Some((c, i)) => (cur, idx) = (c, i),
                None => return,
            }
            continue;
        };
        entries.next();
        for r in idx..e.rule.rule {
            visit(cur, r, false);
        }
        visit(cur, e.rule.rule, true);
        idx = e.rule.rule + 1;
        match e.verdict {
            None | Some(Verdict::Continue) | Some(Verdict::Break) => {}
            Some(Verdict::Jump(t)) if stack.len() < JUMP_STACK_SIZE => {
                stack.push((cur, idx));
                (cur, idx) = (t, 0);
            }
            Some(Verdict::Goto(t)) => (cur, idx) = (t, 0),
            Some(Verdict::Return) => match stack.pop() {
                Some((c, i)) => (cur, idx) = (c, i),
                None => return,
            },
            Some(_) => return,
        }
    }
}

/// Static cost of evaluating a rule once, in units of one inlined expression.
pub fn rule_weight(rule: &Rule) -> f64 {
    rule.exprs.iter().map(expr_weight).sum::<f64>().max(1.0)
}

fn expr_weight(e: &Expr) -> f64 {
    match e {
        Expr::Payload(p) if matches!(p.op, PayloadOp::Load { .. }) => 1.0,
        Expr::Cmp(_) | Expr::Range(_) | Expr::Bitwise(_) | Expr::Byteorder(_) | Expr::Immediate(_) => 1.0,
        Expr::Meta(m)
            if matches!(m.op, MetaOp::Load { .. })
                && matches!(
                    m.key,
                    MetaKey::Len | MetaKey::Protocol | MetaKey::Nfproto | MetaKey::L4proto
                ) =>
        {
            1.0
        }
        Expr::Lookup(_) => 3.0,
        _ => 6.0,
    }
}

/// Evaluation counts of every rule of a program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleCounts {
    /// `[chain][rule]` → (evaluated, matched).
    pub counts: Vec<Vec<(u64, u64)>>,
}

impl RuleCounts {
    pub fn new(prog: &Program) -> RuleCounts {
        RuleCounts { counts: prog.chains.iter().map(|c| vec![(0, 0); c.rules.len()]).collect() }
    }

    /// Adds one traced run.
    pub fn add(&mut self, prog: &Program, base: ChainId, trace: &[TraceEntry]) {
        walk(prog, base, trace, |c, r, matched| {
            if let Some(slot) = self.counts.get_mut(c.index()).and_then(|v| v.get_mut(r)) {
                slot.0 += 1;
                slot.1 += matched as u64;
            }
        });
    }

    /// Weighted cost units of every rule, `[chain][rule]`.
    pub fn units(&self, prog: &Program) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(c, rules)| {
                rules
                    .iter()
                    .enumerate()
                    .map(|(r, (evaluated, _))| {
                        let w = prog
                            .chain(ChainId(c as u32))
                            .and_then(|ch| ch.rules.get(r))
                            .map_or(1.0, rule_weight);
                        *evaluated as f64 * w
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nftvm_vm::interp::RuleRef;
    use nftvm_vm::keys::{Family, Hook};
    use nftvm_vm::{BaseChain, ChainKind, Policy, SourceId};

    fn program() -> (Program, ChainId, ChainId) {
        let mut p = Program::new();
        let t = p.add_table(Family::Ip, "t");
        let base = BaseChain {
            kind: ChainKind::Filter,
            hook: Hook::Input,
            priority: 0,
            policy: Policy::Accept,
            device: None,
        };
        let a = p.add_chain(t, "a", Some(base));
        let b = p.add_chain(t, "b", None);
        for (c, n) in [(a, 4), (b, 3)] {
            for i in 0..n {
                p.add_rule(c, Rule { exprs: Vec::new(), source: SourceId(i), comment: None });
            }
        }
        (p, a, b)
    }

    fn entry(chain: ChainId, rule: usize, verdict: Option<Verdict>) -> TraceEntry {
        TraceEntry { rule: RuleRef { chain, rule, source: SourceId(0) }, verdict }
    }

    #[test]
    fn replays_jumps_returns_and_terminal_verdicts() {
        let (p, a, b) = program();
        // a1 jumps to b; b0 matches; b1 returns; a2 accepts.
        let trace = [
            entry(a, 1, Some(Verdict::Jump(b))),
            entry(b, 0, None),
            entry(b, 1, Some(Verdict::Return)),
            entry(a, 2, Some(Verdict::Accept)),
        ];
        let mut seen = Vec::new();
        walk(&p, a, &trace, |c, r, m| seen.push((c.0, r, m)));
        assert_eq!(seen, vec![(0, 0, false), (0, 1, true), (1, 0, true), (1, 1, true), (0, 2, true)]);
    }

    #[test]
    fn a_chain_without_a_decision_evaluates_every_rule() {
        let (p, a, b) = program();
        let trace = [entry(a, 0, Some(Verdict::Jump(b)))];
        let mut counts = RuleCounts::new(&p);
        counts.add(&p, a, &trace);
        assert_eq!(counts.counts[0], vec![(1, 1), (1, 0), (1, 0), (1, 0)]);
        assert_eq!(counts.counts[1], vec![(1, 0), (1, 0), (1, 0)]);
        assert_eq!(counts.units(&p)[0], vec![1.0; 4]);
    }
}
