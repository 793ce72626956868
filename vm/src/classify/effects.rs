//! What the rules of a classified run do after their classify expression, as far as the
//! tree may rely on it: does a rule always end the chain once it matched
//! ([`ends_chain`]), and does a rule that may let evaluation go on leave every value a
//! classifier reads unchanged ([`is_pure`])? Both answers are conservative (lists of
//! expressions known to qualify).

use super::Classifier;
use crate::expr::Expr;
use crate::expr::ct::CtOp;
use crate::expr::exthdr::ExthdrAction;
use crate::expr::immediate::ImmValue;
use crate::expr::meta::MetaOp;
use crate::expr::payload::PayloadOp;
use crate::program::Program;
use crate::verdict::Verdict;

/// Per-run facts for [`super::Tree::build`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFlags {
    /// Per entry: the rule ends the chain whenever its classify expression lets it run.
    pub ends_chain: Vec<bool>,
    /// Every entry either ends the chain or is pure: a leaf may be cut after an entry that
    /// covers its whole region and ends the chain.
    pub prune: bool,
}

/// The facts for `c`'s rules in `prog` (missing rules count as neither).
pub fn run_flags(prog: &Program, c: &Classifier) -> RunFlags {
    let rules = prog.chain(c.chain).map_or(&[][..], |ch| ch.rules.as_slice());
    let mut flags = RunFlags { ends_chain: Vec::with_capacity(c.entries.len()), prune: true };
    for i in 0..c.entries.len() {
        let actions = rules.get(c.first as usize + i).and_then(|r| r.exprs.get(1..)).filter(|_| {
            rules
                .get(c.first as usize + i)
                .is_some_and(|r| matches!(r.exprs.first(), Some(Expr::Classify(_))))
        });
        let (ends, pure) = actions.map_or((false, false), |a| (ends_chain(a), is_pure(a)));
        flags.ends_chain.push(ends);
        // The last rule may change the packet: evaluation leaves the run after it anyway.
        flags.prune &= ends || pure || i + 1 == c.entries.len();
    }
    flags
}

/// Do these expressions, run after a match, always end the chain: none can break, and the
/// last sets a verdict that leaves the chain (not `continue` or `jump`)?
pub fn ends_chain(actions: &[Expr]) -> bool {
    let Some((last, rest)) = actions.split_last() else { return false };
    let leaves = matches!(last, Expr::Immediate(i)
        if matches!(i.value, ImmValue::Verdict(v) if !matches!(v, Verdict::Continue | Verdict::Break | Verdict::Jump(_))));
    leaves && rest.iter().all(never_breaks)
}

/// Expressions whose interpreter code cannot break a verified rule.
fn never_breaks(e: &Expr) -> bool {
    match e {
        Expr::Immediate(i) => matches!(i.value, ImmValue::Data(_)),
        Expr::Meta(m) => matches!(m.op, MetaOp::Set { .. }),
        Expr::Counter(_) | Expr::Log(_) | Expr::Last(_) => true,
        _ => false,
    }
}

/// Do these expressions leave the packet, its metadata and its conntrack entry unchanged,
/// and never jump (the chain jumped to could change them)?
pub fn is_pure(actions: &[Expr]) -> bool {
    actions.iter().all(|e| match e {
        Expr::Payload(p) => matches!(p.op, PayloadOp::Load { .. }),
        Expr::Meta(m) => matches!(m.op, MetaOp::Load { .. }),
        Expr::Ct(c) => matches!(c.op, CtOp::Load { .. }),
        Expr::Exthdr(x) => matches!(x.action, ExthdrAction::Load { .. }),
        Expr::Immediate(i) => !matches!(i.value, ImmValue::Verdict(Verdict::Jump(_))),
        Expr::Lookup(l) => l.dreg.is_none_or(|d| !d.is_verdict()),
        Expr::Cmp(_)
        | Expr::Range(_)
        | Expr::Bitwise(_)
        | Expr::Byteorder(_)
        | Expr::Counter(_)
        | Expr::Limit(_)
        | Expr::Quota(_)
        | Expr::Log(_)
        | Expr::Last(_)
        | Expr::Connlimit(_)
        | Expr::Dynset(_)
        | Expr::Fib(_)
        | Expr::Rt(_)
        | Expr::Socket(_)
        | Expr::Osf(_)
        | Expr::Xfrm(_)
        | Expr::Hash(_)
        | Expr::Numgen(_) => true,
        _ => false,
    })
}
