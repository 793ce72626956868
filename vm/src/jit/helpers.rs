//! The `extern "C"` functions compiled code calls: everything the JIT does not inline runs
//! here through the interpreter's own expression code ([`crate::Expr::eval`]), so the two
//! engines share one implementation of every stateful or environment-touching expression.
//!
//! Each helper is total: indices are looked up with `get`, unknown values fall back to
//! "break" or "drop", and the expression code it runs is the interpreter's, which must not
//! panic on any program or packet (the filetests' truncation sweep and the differential fuzz
//! test exercise it). Nothing is caught: were a helper to panic anyway, the `extern "C"`
//! boundary aborts the process instead of unwinding through native frames.

use super::abi::{self, JitCtx, action, expr_ret};
use crate::expr::classify::{Classify, Resume};
use crate::interp::{RuleRef, TraceEntry};
use crate::keys::{CtDir, CtKey, Family, MetaKey};
use crate::program::{ChainId, ClassifierId};
use crate::verdict::Verdict;
use crate::verify::JUMP_STACK_SIZE;

/// Runs `f` on the context native code passed in.
fn with_ctx<R>(ctx: *mut JitCtx<'_, '_>, default: R, f: impl FnOnce(&mut JitCtx<'_, '_>) -> R) -> R {
    // SAFETY: native code only ever passes the pointer `run::run_chain_into` handed it: a live,
    // exclusively borrowed `JitCtx` that no Rust code touches while native code runs (the
    // entry call is blocked until it returns, and helpers do not nest).
    #[allow(unsafe_code)]
    let ctx = unsafe { ctx.as_mut() };
    match ctx {
        Some(c) => {
            // What the helper does may look at the mark: the environment first learns of a
            // `meta mark set` native code deferred.
            c.flush_mark();
            f(c)
        }
        None => default,
    }
}

fn rule_ref(c: &JitCtx<'_, '_>, chain: u32, rule: u32) -> RuleRef {
    let source =
        c.eval.prog.chain(ChainId(chain)).and_then(|ch| ch.rules.get(rule as usize)).map(|r| r.source);
    RuleRef { chain: ChainId(chain), rule: rule as usize, source: source.unwrap_or_default() }
}

/// Expression `expr` of rule `rule` in chain `chain`, evaluated by the interpreter's code.
pub extern "C" fn expr(ctx: *mut JitCtx<'_, '_>, chain: u32, rule: u32, expr: u32) -> u32 {
    with_ctx(ctx, expr_ret::BREAK, |c| {
        let prog = c.eval.prog;
        let Some(ch) = prog.chain(ChainId(chain)) else { return expr_ret::BREAK };
        let Some(e) = ch.rules.get(rule as usize).and_then(|r| r.exprs.get(expr as usize)) else {
            return expr_ret::BREAK;
        };
        c.eval.table_family = prog.table(ch.table).map_or(Family::Ip, |t| t.family);
        c.eval.regs.verdict = Verdict::Continue;
        e.eval(&mut c.eval);
        match c.eval.regs.verdict {
            Verdict::Continue => expr_ret::CONTINUE,
            Verdict::Break => expr_ret::BREAK,
            _ => expr_ret::VERDICT,
        }
    })
}

/// The `classify` expression that starts rule `rule` of `chain`: [`abi::CLASSIFY_CONTINUE`]
/// when the rule goes on, else where evaluation resumes (`2 * rule + expr`).
pub extern "C" fn classify(ctx: *mut JitCtx<'_, '_>, chain: u32, rule: u32, _unused: u32) -> u32 {
    with_ctx(ctx, abi::CLASSIFY_CONTINUE, |c| match classify_expr(c.eval.prog, chain, rule) {
        Some(x) => answer(x.resume(&mut c.eval)),
        None => abi::CLASSIFY_CONTINUE,
    })
}

/// Classifier `classifier`'s answer from entry `entry` on, for the field values native code
/// has put in `classify_values`: where evaluation resumes (`2 * rule + expr`; the rule of
/// `entry` itself, `2 * rule + 1`, when its own entry matches). Native code knows the
/// classifier and entry of each `classify`, so nothing is looked up by rule.
pub extern "C" fn classify_values(
    ctx: *mut JitCtx<'_, '_>,
    classifier: u32,
    entry: u32,
    _unused: u32,
) -> u32 {
    with_ctx(ctx, abi::CLASSIFY_CONTINUE, |c| {
        let id = ClassifierId(classifier);
        let Some(cl) = c.eval.prog.classifier(id) else {
            return abi::CLASSIFY_CONTINUE;
        };
        let resume = match c.eval.state.walks.query(id, &cl.tree, &c.classify_values, entry) {
            Some(i) => Resume { rule: cl.first.saturating_add(i), expr: 1 },
            None => Resume { rule: cl.end(), expr: 0 },
        };
        answer(Some(resume))
    })
}

/// The `classify` expression rule `rule` of `chain` starts with.
fn classify_expr(prog: &crate::program::Program, chain: u32, rule: u32) -> Option<&Classify> {
    match prog.chain(ChainId(chain))?.rules.get(rule as usize)?.exprs.first()? {
        crate::expr::Expr::Classify(x) => Some(x),
        _ => None,
    }
}

/// The helpers' answer for a `classify` resume point.
fn answer(r: Option<Resume>) -> u32 {
    match r {
        None => abi::CLASSIFY_CONTINUE,
        Some(r) => r.rule.saturating_mul(2).saturating_add(r.expr.min(1)).min(abi::CLASSIFY_CONTINUE - 1),
    }
}

/// A rule finished with verdict `enc` (encoded; `Continue` when it ran to its end) while
/// tracing is on: trace it. (Native code has already stored the verdict register and, for a
/// terminal verdict, the decision.)
pub extern "C" fn traced(ctx: *mut JitCtx<'_, '_>, chain: u32, rule: u32, enc: u64) {
    with_ctx(ctx, (), |c| push_trace(c, chain, rule, abi::decode(enc)))
}

fn push_trace(c: &mut JitCtx<'_, '_>, chain: u32, rule: u32, v: Verdict) {
    if c.trace_on != 0 {
        let r = rule_ref(c, chain, rule);
        c.trace.push(TraceEntry { rule: r, verdict: (v != Verdict::Continue).then_some(v) });
    }
}

/// A rule finished with verdict `v` set at run time: the verdict register, the trace, and
/// the decision when the verdict is terminal.
fn record(c: &mut JitCtx<'_, '_>, chain: u32, rule: u32, v: Verdict) {
    c.last_verdict = abi::encode(v);
    push_trace(c, chain, rule, v);
    if v.is_terminal() {
        decide(c, chain, rule, v);
    }
}

fn decide(c: &mut JitCtx<'_, '_>, chain: u32, rule: u32, v: Verdict) {
    c.decided_chain = chain;
    c.decided_rule = rule;
    c.decided_source = rule_ref(c, chain, rule).source.0;
    c.final_verdict = abi::encode(v);
}

/// A jump from a rule found the jump stack full: the packet is dropped (as the kernel does).
pub extern "C" fn overflow(ctx: *mut JitCtx<'_, '_>, chain: u32, rule: u32) {
    with_ctx(ctx, (), |c| decide(c, chain, rule, Verdict::Drop))
}

/// A rule's verdict came from an expression at run time (a helper reported
/// [`expr_ret::VERDICT`]): trace it and tell native code what to do (see [`action`]).
pub extern "C" fn dynamic(ctx: *mut JitCtx<'_, '_>, chain: u32, rule: u32, depth: u32) -> u32 {
    with_ctx(ctx, action::TERMINAL, |c| {
        let v = c.eval.regs.verdict;
        if matches!(v, Verdict::Continue | Verdict::Break) {
            // Not reported as a verdict by `expr`; nothing to decide.
            return action::RETURN;
        }
        record(c, chain, rule, v);
        let nesting = depth >> 8;
        match v {
            Verdict::Jump(t) | Verdict::Goto(t) => {
                let jump = matches!(v, Verdict::Jump(_));
                let full = jump && (depth & abi::JUMP_DEPTH_MASK) as usize >= JUMP_STACK_SIZE;
                if full || nesting >= abi::MAX_NESTING {
                    decide(c, chain, rule, Verdict::Drop);
                    return action::TERMINAL;
                }
                c.target_fn = c.eval_fn(t);
                if jump { action::JUMP } else { action::GOTO }
            }
            Verdict::Return => action::RETURN,
            _ => action::TERMINAL,
        }
    })
}

impl JitCtx<'_, '_> {
    /// The compiled function of chain `t` (0 when there is no such chain).
    fn eval_fn(&self, t: ChainId) -> u64 {
        if self.eval.prog.chain(t).is_none() {
            return 0;
        }
        self.fn_table.get(t.index()).copied().unwrap_or(0)
    }
}

/// Which environment lookup [`env_word`] makes.
pub mod env_kind {
    /// `Env::ct_get` (`ct load`).
    pub const CT: u32 = 0;
    /// `Env::meta_get` (`meta load` of a key the VM does not derive itself).
    pub const META: u32 = 1;
}

/// Bit of [`env_word`]'s result that says the lookup succeeded (the word is below it).
pub const ENV_OK: u64 = 1 << 32;

/// A `ct load` or `meta load` of a key at most 4 bytes long, answered by the environment
/// directly (what `Ct::eval`/`Meta::eval` do, without looking the expression up):
/// `key` is the key's index in `CtKey::ALL`/`MetaKey::ALL`, `arg` holds the value length in
/// its low byte and, for ct, the direction + 1 above it (0: none). Returns the register word
/// (zero-padded, as a register write pads it) with [`ENV_OK`] set, or 0 when the lookup fails
/// (the rule breaks).
pub extern "C" fn env_word(ctx: *mut JitCtx<'_, '_>, kind: u32, key: u32, arg: u32) -> u64 {
    with_ctx(ctx, 0, |c| {
        let len = (arg & 0xff) as usize;
        let mut buf = [0u8; 4];
        let Some(out) = buf.get_mut(..len) else { return 0 };
        let ok = match kind {
            env_kind::CT => {
                let dir = match arg >> 8 {
                    0 => None,
                    d => CtDir::ALL.get(d as usize - 1).copied(),
                };
                CtKey::ALL.get(key as usize).is_some_and(|k| c.eval.env.ct_get(*k, dir, out))
            }
            _ => MetaKey::ALL.get(key as usize).is_some_and(|k| c.eval.env.meta_get(*k, out)),
        };
        if ok { ENV_OK | u32::from_le_bytes(buf) as u64 } else { 0 }
    })
}

/// A `ct set` or `meta set` of a key at most 4 bytes long, handed to the environment directly
/// (what `Ct::eval`/`Meta::eval` do): `key` and `arg` as for [`env_word`], `value` the
/// source register word (its first `len` bytes are the value).
pub extern "C" fn env_set_word(ctx: *mut JitCtx<'_, '_>, kind: u32, key: u32, arg: u32, value: u32) {
    with_ctx(ctx, (), |c| {
        let len = (arg & 0xff) as usize;
        let bytes = value.to_le_bytes();
        let Some(v) = bytes.get(..len) else { return };
        match kind {
            env_kind::CT => {
                let dir = match arg >> 8 {
                    0 => None,
                    d => CtDir::ALL.get(d as usize - 1).copied(),
                };
                if let Some(k) = CtKey::ALL.get(key as usize) {
                    c.eval.env.ct_set(*k, dir, v);
                }
            }
            _ => {
                if let Some(k) = MetaKey::ALL.get(key as usize) {
                    c.eval.env.meta_set(*k, v);
                }
            }
        }
    })
}

/// Start of the data after the transport header (TCP data offset, UDP 8 bytes), or
/// [`abi::NO_OFFSET`]. Computed per load: a payload write may change the TCP header.
pub extern "C" fn inner_base(ctx: *mut JitCtx<'_, '_>) -> u64 {
    with_ctx(ctx, abi::NO_OFFSET, |c| {
        let len = c.eval.pkt.data.len();
        c.eval.pkt.inner_offset().filter(|o| *o <= len).map_or(abi::NO_OFFSET, |o| o as u64)
    })
}

/// Addresses of the helpers, for `call_indirect`.
#[derive(Clone, Copy)]
pub struct Addrs {
    pub expr: i64,
    pub traced: i64,
    pub overflow: i64,
    pub dynamic: i64,
    pub inner_base: i64,
    pub classify: i64,
    pub classify_values: i64,
    pub env_word: i64,
    pub env_set_word: i64,
}

impl Addrs {
    pub fn get() -> Addrs {
        type ExprFn = extern "C" fn(*mut JitCtx<'_, '_>, u32, u32, u32) -> u32;
        type MatchedFn = extern "C" fn(*mut JitCtx<'_, '_>, u32, u32, u64);
        type RuleFn = extern "C" fn(*mut JitCtx<'_, '_>, u32, u32);
        type BaseFn = extern "C" fn(*mut JitCtx<'_, '_>) -> u64;
        type EnvFn = extern "C" fn(*mut JitCtx<'_, '_>, u32, u32, u32) -> u64;
        type EnvSetFn = extern "C" fn(*mut JitCtx<'_, '_>, u32, u32, u32, u32);
        Addrs {
            expr: expr as ExprFn as usize as i64,
            traced: traced as MatchedFn as usize as i64,
            overflow: overflow as RuleFn as usize as i64,
            dynamic: dynamic as ExprFn as usize as i64,
            inner_base: inner_base as BaseFn as usize as i64,
            classify: classify as ExprFn as usize as i64,
            classify_values: classify_values as ExprFn as usize as i64,
            env_word: env_word as EnvFn as usize as i64,
            env_set_word: env_set_word as EnvSetFn as usize as i64,
        }
    }
}
