//! Rules and chains as native control flow, with `nft_do_chain` semantics.
//!
//! A function holds a run of rules (a whole chain, or one segment of a long chain). Each rule
//! is a block; its expressions follow in order, a mismatch (NFT_BREAK) branches to the next
//! rule. A rule that runs to its end is traced. A verdict known at compile time becomes
//! direct control flow (native code stores the verdict register and the decision, and calls
//! a helper only when the run is traced): `accept`/`drop`/… return [`ret::TERMINAL`], `return` finishes the
//! chain, `jump` calls the target chain's function one level deeper (checking the 16-deep
//! jump stack) and goes on with the next rule, `goto` calls it and finishes the chain. A
//! verdict set at run time (by a helper: a verdict map, NAT, `queue`, …) goes through one
//! shared block per function that asks [`helpers::dynamic`] what to do and resumes at the
//! right rule through a jump table.
//!
//! The verdict register is observable at the end of a run: it holds the outcome of the last
//! rule evaluated. Helpers record it for rules that finish or decide; native code stores
//! `break` only when the last rule of a chain does not match.
//!
//! [`helpers::dynamic`]: super::helpers::dynamic

use super::abi::{self, action, expr_ret, ret};
use super::classify;
use super::emit::Fx;
use super::exprs::{self, Flow};
use super::sets::SetPlans;
use super::template::{self, Finish};
use crate::keys::Family;
use crate::program::{ChainId, Program, Rule};
use crate::verdict::Verdict;
use crate::verify::JUMP_STACK_SIZE;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value, condcodes::IntCC, types};
use cranelift_frontend::Switch;
use std::cell::Cell;

/// What the translation of one rule needs to know.
pub struct RuleCx {
    pub chain: u32,
    /// The rule's index in its chain.
    pub rule: u32,
    /// The rule's source id.
    pub source: u32,
    /// The family of the chain's table (the length of `ct` address keys depends on it).
    pub family: Family,
    /// Where a mismatch goes.
    pub brk: Block,
    /// The next rule (after a rule that ran to its end, or a jump that returned).
    pub next: Block,
    /// The shared dynamic-verdict block (takes the rule index).
    dynamic: Block,
    /// Number of chains: function-table entries below it are chains.
    chains: usize,
    /// Did the rule call a helper that may set a verdict (so it needs a resume entry)?
    used_dynamic: Cell<bool>,
}

impl RuleCx {
    /// Calls the interpreter's code for expression `index` and dispatches on its outcome:
    /// go on (in a fresh block), break, or resolve a verdict at run time.
    pub fn helper(&self, fx: &mut Fx, index: usize) {
        let code = fx.call_expr(self.chain, self.rule, index as u32);
        let cont = fx.new_block();
        let other = fx.new_block();
        fx.b.ins().brif(code, other, &[], cont, &[]);
        fx.b.switch_to_block(other);
        let is_break = fx.b.ins().icmp_imm_u(IntCC::Equal, code, expr_ret::BREAK as i64);
        let rule = fx.u32(self.rule);
        fx.b.ins().brif(is_break, self.brk, &[], self.dynamic, &[BlockArg::Value(rule)]);
        fx.b.switch_to_block(cont);
        self.used_dynamic.set(true);
    }

    /// Ends the current block with verdict `v`, known at compile time. Callers handle
    /// `Continue` themselves (the rule goes on with its next expression); here it can only
    /// mean the rest of the rule is empty, so it finishes the rule like its end does.
    pub fn verdict(&self, fx: &mut Fx, v: Verdict) {
        match v {
            Verdict::Continue => {
                fx.rule_done(self.chain, self.rule, self.source, Verdict::Continue);
                return fx.jump(self.next);
            }
            Verdict::Break => return fx.jump(self.brk),
            _ => {}
        }
        fx.rule_done(self.chain, self.rule, self.source, v);
        match v {
            Verdict::Jump(t) => self.jump(fx, t),
            Verdict::Goto(t) => self.goto(fx, t),
            Verdict::Return => fx.jump(fx.ret_done),
            _ => fx.jump(fx.ret_terminal),
        }
    }

    fn jump(&self, fx: &mut Fx, t: ChainId) {
        if t.index() >= self.chains {
            // No such chain: like an empty one, it returns at once.
            return fx.jump(self.next);
        }
        let rule = fx.u32(self.rule);
        call_jumped(fx, self.chain, rule, |fx| fx.table_fn(t.index()), |fx| fx.jump(self.next));
    }

    fn goto(&self, fx: &mut Fx, t: ChainId) {
        if t.index() >= self.chains {
            return fx.jump(fx.ret_done);
        }
        let f = fx.table_fn(t.index());
        let r = fx.call_chain_fn(f, abi::DEPTH_GOTO);
        let term = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::TERMINAL as i64);
        fx.b.ins().brif(term, fx.ret_terminal, &[], fx.ret_done, &[]);
    }
}

/// The family of `chain`'s table.
fn chain_family(prog: &Program, chain: ChainId) -> Family {
    prog.chain(chain).and_then(|c| prog.table(c.table)).map_or(Family::Ip, |t| t.family)
}

/// Which of rules `first..first + rules.len()` of `chain` get no code of their own: those the
/// `skip` block starts itself ([`classify::computed_starts`]) whose actions are shared
/// ([`template::covered`]), unless the rule before them falls through to them. A 10,000-rule
/// classified run then compiles to a few blocks, not 20,000 that each pass a constant to a
/// shared block (and to a function too large for the optimizing register allocator).
pub fn elided_rules(prog: &Program, chain: ChainId, first: usize, rules: &[Rule]) -> Vec<bool> {
    let family = chain_family(prog, chain);
    let computed = classify::computed_starts(prog, rules, first);
    let covered = template::covered(rules, family, prog.chains.len());
    let shared = |k: usize| computed[k] && covered[k];
    (0..rules.len()).map(|k| k > 0 && shared(k) && shared(k - 1)).collect()
}

/// Translates rules `first..first + rules.len()` of `chain` into the function `fx` builds.
/// `ends_chain`: these rules are the end of the chain (the last one's mismatch is the final
/// verdict register value if nothing follows).
#[allow(clippy::too_many_arguments)]
pub fn translate_rules(
    fx: &mut Fx,
    prog: &Program,
    chain: ChainId,
    first: usize,
    rules: &[Rule],
    ends_chain: bool,
    plans: &SetPlans,
    tables: &mut Vec<template::Tables>,
) {
    let blocks: Vec<Block> = (0..=rules.len()).map(|_| fx.new_block()).collect();
    let end = blocks[rules.len()];
    let dynamic = fx.new_block();
    let rule_param = fx.b.append_block_param(dynamic, types::I32);
    let break_last = fx.new_block();
    // As `helpers::expr` sets it for the interpreter's code.
    let family = chain_family(prog, chain);
    let mut resume: Vec<(u32, Block)> = Vec::new();
    let segment = first > 0 || !ends_chain;
    let resumes = classify::Resumes::new(
        fx,
        prog,
        rules,
        first,
        segment && prog.classifiers.iter().any(|c| c.chain == chain),
    );
    let templates =
        resumes.as_ref().and_then(|_| template::Templates::new(fx, rules, first, family, prog.chains.len()));
    match &resumes {
        Some(r) => r.enter(fx, blocks[0]),
        None => fx.jump(blocks[0]),
    }
    let elided = elided_rules(prog, chain, first, rules);
    for (k, rule) in rules.iter().enumerate() {
        if elided[k] {
            continue;
        }
        fx.enter(blocks[k]);
        let last = ends_chain && k + 1 == rules.len();
        let rc = RuleCx {
            chain: chain.0,
            rule: (first + k) as u32,
            source: rule.source.0,
            family,
            brk: if last { break_last } else { blocks[k + 1] },
            next: blocks[k + 1],
            dynamic,
            chains: prog.chains.len(),
            used_dynamic: Cell::new(false),
        };
        let classified = resumes.as_ref().is_some_and(|r| r.call(fx, &rc, k));
        if classified && templates.as_ref().is_some_and(|t| t.jump_to(fx, k)) {
            continue;
        }
        translate_rule(fx, &rc, rule, usize::from(classified), plans);
        if rc.used_dynamic.get() {
            resume.push((rc.rule, rc.next));
        }
    }
    if let Some(r) = &resumes {
        r.finish(fx, chain.0, &blocks[..rules.len()], ends_chain.then_some(break_last), templates.as_ref());
    }
    // (Templates come only with resumes.)
    if let (Some(t), Some(r)) = (templates, &resumes) {
        // The shapes' common expressions compile as the first such rule's would: only
        // environment stores, which never need the rule.
        let rc = RuleCx {
            chain: chain.0,
            rule: first as u32,
            source: 0,
            family,
            brk: break_last,
            next: end,
            dynamic,
            chains: prog.chains.len(),
            used_dynamic: Cell::new(false),
        };
        t.emit(
            fx,
            |fx, e| {
                let flow = exprs::emit(fx, &rc, e, 0, plans);
                debug_assert!(matches!(flow, Flow::Next), "a shape step compiles in line");
            },
            |fx, rule, source, finish| match finish {
                Finish::Verdict(v) => {
                    fx.rule_done_at(chain.0, rule, source, v);
                    fx.jump(fx.ret_terminal);
                }
                Finish::Next => {
                    fx.rule_done_at(chain.0, rule, source, Verdict::Continue);
                    r.start_next(fx, rule);
                }
                Finish::Jump(target) => jump_at(fx, chain.0, rule, target, r),
            },
        );
        tables.push(t.into_tables());
    }
    fx.enter(break_last);
    fx.set_last_verdict(abi::ENC_BREAK);
    fx.jump(end);
    fx.enter(end);
    let fell_off = fx.u32(ret::FELL_OFF);
    fx.b.ins().return_(&[fell_off]);
    dynamic_block(fx, chain, dynamic, rule_param, &resume, end);
}

/// A shared block's `jump` (rule `rule` of `chain` and its target chain `target`, both known
/// only at run time), as [`RuleCx::jump`] compiles a constant one: the rule finishes with the
/// jump, the target runs one level deeper, and unless it decided, the next rule starts.
fn jump_at(fx: &mut Fx, chain: u32, rule: Value, target: Value, resumes: &classify::Resumes) {
    let base = fx.u64(abi::encode(Verdict::Jump(ChainId(0))));
    let wide = fx.b.ins().uextend(types::I64, target);
    let shifted = fx.b.ins().ishl_imm_u(wide, 8);
    let enc = fx.b.ins().bor(base, shifted);
    fx.rule_done_with(chain, rule, enc);
    call_jumped(fx, chain, rule, |fx| fx.table_fn_at(target), |fx| resumes.start_next(fx, rule));
}

/// Rule `rule` of `chain` jumps: the chain function `target` gives runs one level deeper; its
/// decision ends this function too, else `then` goes on. With the jump stack full, the
/// overflow helper ends evaluation instead.
fn call_jumped(
    fx: &mut Fx,
    chain: u32,
    rule: Value,
    target: impl FnOnce(&mut Fx) -> Value,
    then: impl FnOnce(&mut Fx),
) {
    let depth = fx.b.ins().band_imm_u(fx.depth, abi::JUMP_DEPTH_MASK as i64);
    let full = fx.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, depth, JUMP_STACK_SIZE as i64);
    let overflow = fx.new_block();
    fx.branch_if(full, overflow);
    let f = target(fx);
    let r = fx.call_chain_fn(f, abi::DEPTH_JUMP);
    let term = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::TERMINAL as i64);
    let next = fx.new_block();
    fx.b.ins().brif(term, fx.ret_terminal, &[], next, &[]);
    fx.enter(next);
    then(fx);
    fx.b.switch_to_block(overflow);
    fx.call_overflow(chain, rule);
    fx.jump(fx.ret_terminal);
}

/// Translates the rule's expressions from `skip` on (after a `classify` already emitted).
fn translate_rule(fx: &mut Fx, rc: &RuleCx, rule: &Rule, skip: usize, plans: &SetPlans) {
    for (i, e) in rule.exprs.iter().enumerate().skip(skip) {
        match exprs::emit(fx, rc, e, i, plans) {
            Flow::Next | Flow::Verdict(Verdict::Continue) => {}
            Flow::Verdict(v) => return rc.verdict(fx, v),
            Flow::Helper => rc.helper(fx, i),
        }
    }
    fx.rule_done(rc.chain, rc.rule, rc.source, Verdict::Continue);
    fx.jump(rc.next);
}

/// The shared block resolving verdicts set at run time.
fn dynamic_block(
    fx: &mut Fx,
    chain: ChainId,
    dynamic: Block,
    rule: cranelift_codegen::ir::Value,
    resume: &[(u32, Block)],
    end: Block,
) {
    fx.enter(dynamic);
    if resume.is_empty() {
        return fx.jump(fx.ret_terminal);
    }
    let act = fx.call_dynamic(chain.0, rule);
    let on_jump = fx.new_block();
    let on_goto = fx.new_block();
    let resume_at = fx.new_block();
    let r_param = fx.b.append_block_param(resume_at, types::I32);
    let not_jump = fx.new_block();
    let is_jump = fx.b.ins().icmp_imm_u(IntCC::Equal, act, action::JUMP as i64);
    fx.b.ins().brif(is_jump, on_jump, &[], not_jump, &[]);
    fx.b.switch_to_block(not_jump);
    let not_goto = fx.new_block();
    let is_goto = fx.b.ins().icmp_imm_u(IntCC::Equal, act, action::GOTO as i64);
    fx.b.ins().brif(is_goto, on_goto, &[], not_goto, &[]);
    fx.b.switch_to_block(not_goto);
    let is_return = fx.b.ins().icmp_imm_u(IntCC::Equal, act, action::RETURN as i64);
    fx.b.ins().brif(is_return, fx.ret_done, &[], fx.ret_terminal, &[]);

    // jump: call the target (none: like an empty chain), then resume after the rule.
    fx.enter(on_jump);
    let f = fx.target_fn();
    let call = fx.new_block();
    let no_fn = fx.b.ins().icmp_imm_u(IntCC::Equal, f, 0);
    fx.b.ins().brif(no_fn, resume_at, &[BlockArg::Value(rule)], call, &[]);
    fx.b.switch_to_block(call);
    let r = fx.call_chain_fn(f, abi::DEPTH_JUMP);
    let term = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::TERMINAL as i64);
    fx.b.ins().brif(term, fx.ret_terminal, &[], resume_at, &[BlockArg::Value(rule)]);

    // goto: call the target, then the chain is finished.
    fx.enter(on_goto);
    let f = fx.target_fn();
    let call = fx.new_block();
    let no_fn = fx.b.ins().icmp_imm_u(IntCC::Equal, f, 0);
    fx.b.ins().brif(no_fn, fx.ret_done, &[], call, &[]);
    fx.b.switch_to_block(call);
    let r = fx.call_chain_fn(f, abi::DEPTH_GOTO);
    let term = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::TERMINAL as i64);
    fx.b.ins().brif(term, fx.ret_terminal, &[], fx.ret_done, &[]);

    fx.enter(resume_at);
    let mut sw = Switch::new();
    for (r, next) in resume {
        sw.set_entry(*r as u128, *next);
    }
    sw.emit(&mut fx.b, r_param, end);
}

/// The function of a chain split into segments: runs each segment's function in turn.
pub fn translate_driver(fx: &mut Fx, segments: &[usize]) {
    for &s in segments {
        call_segment(fx, s);
    }
    fx.jump(fx.ret_done);
}

/// Calls segment function `s` (a function-table index): a terminal verdict or the chain's
/// end returns from the driver at once; any other code is the caller's to look at.
pub fn call_segment(fx: &mut Fx, s: usize) -> cranelift_codegen::ir::Value {
    let f = fx.table_fn(s);
    let r = fx.call_chain_fn(f, 0);
    let term = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::TERMINAL as i64);
    fx.branch_if(term, fx.ret_terminal);
    let done = fx.b.ins().icmp_imm_u(IntCC::Equal, r, ret::CHAIN_DONE as i64);
    fx.branch_if(done, fx.ret_done);
    r
}
