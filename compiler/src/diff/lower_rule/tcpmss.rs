//! `-j TCPMSS` (the kernel's xt target, as iptables-nft loads it) for `diff`.
//!
//! `--set-mss N` lowers an MSS option that is larger: a write of `tcp option maxseg size`
//! guarded by "not a later fragment, the option there, its size above N" (elsewhere the
//! target leaves it, and the rule goes on). Where the option is missing, the target adds
//! one to a segment without payload and with room in its header — which the engine cannot
//! tell (it models neither) and whose new option it does not model: an unmodelled change,
//! which keeps equivalence from being decided where it happens but leaves the differences
//! found elsewhere real. `--clamp-mss-to-pmtu` compares the option with the route MTUs, a
//! free input: unmodelled wherever it runs. Drops on headers cut short are not modelled,
//! as for every expression (the engine's packets have whole headers).

use super::RuleLowering;
use crate::diff::error::Undecidable;
use crate::diff::interval::{Interval, IntervalSet, max_of};
use crate::diff::operand::{self, Load};
use crate::diff::program::{Step, TestStep, UnmodelledStep, ValueExpr, WriteStep};
use crate::diff::test::{self, Member, Test};
use crate::iptables::lower::expr::sel;
use crate::ir::Family;
use nftvm_grammar::Span;
use nftvm_vm::expr::tcpmss::Tcpmss;

/// All of `tests` (each of one element), as one test of their members together.
pub(super) fn all_of(tests: Vec<Test>) -> Test {
    let mut out = Test { members: Vec::new(), elems: vec![Vec::new()], negate: false };
    for t in tests {
        out.members.extend(t.members);
        out.elems[0].extend(t.elems.into_iter().flatten());
    }
    out
}

impl RuleLowering<'_, '_> {
    pub(super) fn tcpmss(&mut self, t: &Tcpmss, span: Span) -> Result<(), Undecidable> {
        let family = self.lw.rs.tables[self.table].family;
        let size = sel("tcp option maxseg size", family)
            .map_err(|e| self.unsupported(format!("internal: TCPMSS: {}", e.reason), span))?;
        let size = operand::resolve(&size, self.lw.point, self.lw.uni);
        let size = self.at(size, span)?;
        let not_fragment = operand::not_fragment(self.lw.point, self.lw.uni);
        let not_fragment = self.at(not_fragment, span)?;
        let (Some(header), Some(not_fragment)) = (size.header, not_fragment) else {
            return Err(self.unsupported("xt target \"TCPMSS\" outside ip and ip6 tables", span));
        };
        let whole = test::is_value(not_fragment, 0);
        let Some(mss) = t.mss else {
            let what = "xt target \"TCPMSS\" --clamp-mss-to-pmtu (an MSS from the routes' MTUs)".to_string();
            self.steps.push(Step::Unmodelled(UnmodelledStep {
                guard: TestStep::new(whole, false, span),
                what,
                span,
            }));
            return Ok(());
        };
        let there = operand::present(header, self.lw.uni);
        let there = self.at(there, span)?;
        let guard =
            all_of(vec![whole.clone(), test::is_value(there.clone(), 1), above(&size, u128::from(mss))]);
        self.steps.push(Step::Write(WriteStep {
            target: size,
            value: ValueExpr::Const(u128::from(mss)),
            guard: Some(Box::new(TestStep::new(guard, false, span))),
            slots: Vec::new(),
            span,
        }));
        let cap = if family == Family::Ip6 { 1220 } else { 536 };
        let what = format!(
            "xt target \"TCPMSS\" --set-mss {mss} adding an MSS option ({}) to a segment without one",
            mss.min(cap)
        );
        let missing = all_of(vec![whole, test::is_value(there, 0)]);
        self.steps.push(Step::Unmodelled(UnmodelledStep {
            guard: TestStep::new(missing, false, span),
            what,
            span,
        }));
        Ok(())
    }
}

/// "The MSS option's size is above `mss`": where a write of `mss` lowers it (nothing, in the
/// kernel and in nft's `tcp option maxseg size set`, ever raises an MSS).
pub(super) fn above(size: &Load, mss: u128) -> Test {
    Test {
        members: vec![Member { load: size.clone(), mask: max_of(size.width) }],
        elems: vec![vec![IntervalSet::from_intervals(
            Interval::new(mss.saturating_add(1), max_of(size.width)).into_iter().collect(),
        )]],
        negate: false,
    }
}
