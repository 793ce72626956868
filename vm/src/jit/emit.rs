//! The function being built: a thin layer over Cranelift's `FunctionBuilder` with what every
//! translation needs — the context, packet and register-file values, helper calls, and a
//! cache of register words already in SSA values (valid along one straight path of a rule).

use super::abi::{self, off};
use super::helpers::Addrs;
use crate::keys::PayloadBase;
use crate::reg::DATA_WORDS;
use crate::verdict::Verdict;
use cranelift_codegen::ir::{
    AbiParam, Block, InstBuilder, MemFlagsData, SigRef, Signature, Type, Value, condcodes::IntCC, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::FunctionBuilder;

/// Flags of context fields: aligned, never trapping.
const CTX: MemFlagsData = MemFlagsData::trusted();
/// Flags of register and packet accesses: bounds are checked, alignment is not known.
const DATA: MemFlagsData = MemFlagsData::new().with_notrap();

/// The signatures compiled code calls through.
pub struct Sigs {
    /// Chain and segment functions: `(ctx, depth) -> code`.
    pub chain: SigRef,
    /// `helpers::expr` and `helpers::dynamic`: `(ctx, u32, u32, u32) -> u32`.
    pub ctx3: SigRef,
    /// `helpers::traced`: `(ctx, chain, rule, verdict)`.
    pub matched: SigRef,
    /// `helpers::overflow`: `(ctx, chain, rule)`.
    pub rule: SigRef,
    /// `helpers::inner_base`: `(ctx) -> u64`.
    pub base: SigRef,
    /// `helpers::env_word`: `(ctx, kind, key, arg) -> u64`.
    pub env: SigRef,
    /// `helpers::env_set_word`: `(ctx, kind, key, arg, value)`.
    pub env_set: SigRef,
}

/// The signature of every compiled chain/segment function.
pub fn chain_signature(call_conv: CallConv) -> Signature {
    let mut s = Signature::new(call_conv);
    s.params.push(AbiParam::new(types::I64));
    s.params.push(AbiParam::new(types::I32));
    s.returns.push(AbiParam::new(types::I32));
    s
}

fn signature(call_conv: CallConv, params: &[Type], ret: Option<Type>) -> Signature {
    let mut s = Signature::new(call_conv);
    s.params.extend(params.iter().map(|t| AbiParam::new(*t)));
    s.returns.extend(ret.map(AbiParam::new));
    s
}

/// The packet as native code sees it, loaded once at function entry.
#[derive(Clone, Copy)]
pub struct Packet {
    pub data: Value,
    pub len: Value,
    /// Link, network, transport header starts (or `NO_OFFSET`).
    pub bases: [Value; 3],
}

impl Packet {
    /// The start of a header known at entry (link, network, transport), `NO_OFFSET` (far
    /// beyond any packet) when absent; `None` for the inner and tunnel headers.
    pub fn base(&self, base: PayloadBase) -> Option<Value> {
        match base {
            PayloadBase::Link => Some(self.bases[0]),
            PayloadBase::Network => Some(self.bases[1]),
            PayloadBase::Transport => Some(self.bases[2]),
            PayloadBase::Inner | PayloadBase::Tunnel => None,
        }
    }
}

pub struct Fx<'a> {
    pub b: FunctionBuilder<'a>,
    pub ctx: Value,
    pub depth: Value,
    pub regs: Value,
    pub pkt: Packet,
    pub sigs: Sigs,
    addrs: Addrs,
    cache: [Option<Value>; DATA_WORDS],
    /// Shared exits: return `TERMINAL`, return the "chain finished" code.
    pub ret_terminal: Block,
    pub ret_done: Block,
    done_code: u32,
}

impl<'a> Fx<'a> {
    /// Starts a chain/segment function: entry block, parameters, context loads.
    pub fn new(mut b: FunctionBuilder<'a>, call_conv: CallConv, addrs: Addrs, done_code: u32) -> Fx<'a> {
        let sigs = Sigs {
            chain: b.import_signature(chain_signature(call_conv)),
            ctx3: b.import_signature(signature(
                call_conv,
                &[types::I64, types::I32, types::I32, types::I32],
                Some(types::I32),
            )),
            matched: b.import_signature(signature(
                call_conv,
                &[types::I64, types::I32, types::I32, types::I64],
                None,
            )),
            rule: b.import_signature(signature(call_conv, &[types::I64, types::I32, types::I32], None)),
            base: b.import_signature(signature(call_conv, &[types::I64], Some(types::I64))),
            env: b.import_signature(signature(
                call_conv,
                &[types::I64, types::I32, types::I32, types::I32],
                Some(types::I64),
            )),
            env_set: b.import_signature(signature(
                call_conv,
                &[types::I64, types::I32, types::I32, types::I32, types::I32],
                None,
            )),
        };
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (ctx, depth) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let regs = b.ins().iadd_imm_s(ctx, off::REGS as i64);
        let data = b.ins().load(types::I64, CTX, ctx, off::PKT_DATA);
        let len = b.ins().load(types::I64, CTX, ctx, off::PKT_LEN);
        let bases = [0, 1, 2].map(|i| b.ins().load(types::I64, CTX, ctx, off::BASES + 8 * i));
        let ret_terminal = b.create_block();
        let ret_done = b.create_block();
        Fx {
            b,
            ctx,
            depth,
            regs,
            pkt: Packet { data, len, bases },
            sigs,
            addrs,
            cache: [None; DATA_WORDS],
            ret_terminal,
            ret_done,
            done_code,
        }
    }

    /// Fills the shared exits, seals every block and finishes the function (every other
    /// block must be terminated).
    pub fn finish(mut self, target: TargetFrontendConfig) {
        for (block, code) in [(self.ret_terminal, abi::ret::TERMINAL), (self.ret_done, self.done_code)] {
            self.b.switch_to_block(block);
            let c = self.u32(code);
            self.b.ins().return_(&[c]);
        }
        self.b.seal_all_blocks();
        self.b.finalize(target);
    }

    // ---- constants and simple arithmetic ----

    pub fn iconst(&mut self, ty: Type, v: u64) -> Value {
        let bits = ty.bits();
        let masked = if bits >= 64 { v } else { v & ((1u64 << bits) - 1) };
        self.b.ins().iconst(ty, masked as i64)
    }

    pub fn u32(&mut self, v: u32) -> Value {
        self.iconst(types::I32, v as u64)
    }

    pub fn u64(&mut self, v: u64) -> Value {
        self.iconst(types::I64, v)
    }

    pub fn new_block(&mut self) -> Block {
        self.b.create_block()
    }

    /// Switches to `block`, forgetting cached registers (it may have several predecessors).
    pub fn enter(&mut self, block: Block) {
        self.b.switch_to_block(block);
        self.forget_regs();
    }

    pub fn jump(&mut self, to: Block) {
        self.b.ins().jump(to, &[]);
    }

    /// `if cond { goto target }`, continuing in a fresh block (cached registers stay valid:
    /// the continuation has one predecessor).
    pub fn branch_if(&mut self, cond: Value, target: Block) {
        let cont = self.b.create_block();
        self.b.ins().brif(cond, target, &[], cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// `if !cond { goto target }`, continuing in a fresh block.
    pub fn branch_unless(&mut self, cond: Value, target: Block) {
        let cont = self.b.create_block();
        self.b.ins().brif(cond, cont, &[], target, &[]);
        self.b.switch_to_block(cont);
    }

    // ---- the register file ----

    /// Forgets the SSA copies of register words (after helper calls, at merges).
    pub fn forget_regs(&mut self) {
        self.cache = [None; DATA_WORDS];
    }

    /// Data register word `w` (host-order `u32` of bytes `4w..4w+4`).
    pub fn reg_word(&mut self, w: usize) -> Value {
        if let Some(v) = self.cache.get(w).copied().flatten() {
            return v;
        }
        let v = self.b.ins().load(types::I32, DATA, self.regs, (w * 4) as i32);
        if let Some(slot) = self.cache.get_mut(w) {
            *slot = Some(v);
        }
        v
    }

    /// Writes data register word `w`.
    pub fn set_reg_word(&mut self, w: usize, v: Value) {
        self.b.ins().store(DATA, v, self.regs, (w * 4) as i32);
        if let Some(slot) = self.cache.get_mut(w) {
            *slot = Some(v);
        }
    }

    /// The first `n` (1..=4) bytes of register word `w`, zero-extended to an `i32`.
    pub fn reg_bytes(&mut self, w: usize, n: usize) -> Value {
        let v = self.reg_word(w);
        if n >= 4 { v } else { self.b.ins().band_imm_u(v, low_mask(n) as i64) }
    }

    // ---- the packet ----

    /// Do the bytes up to `end` after header start `base` run past the packet's end? (A base
    /// is below 2^62, so the sum cannot wrap.)
    pub fn past_end(&mut self, base: Value, end: i64) -> Value {
        let last = self.b.ins().iadd_imm_s(base, end);
        self.b.ins().icmp(IntCC::UnsignedGreaterThan, last, self.pkt.len)
    }

    /// Loads `n` (1..=4) packet bytes at `addr + at` as a little-endian `i32` (zero-extended):
    /// exactly the register word a `n`-byte load produces.
    pub fn pkt_word(&mut self, addr: Value, at: i32, n: usize) -> Value {
        let ins = |fx: &mut Fx, ty: Type, o: i32| match ty {
            types::I8 => fx.b.ins().uload8(types::I32, DATA, addr, o),
            types::I16 => fx.b.ins().uload16(types::I32, DATA, addr, o),
            _ => fx.b.ins().load(types::I32, DATA, addr, o),
        };
        match n {
            1 => ins(self, types::I8, at),
            2 => ins(self, types::I16, at),
            3 => {
                let lo = ins(self, types::I16, at);
                let hi = ins(self, types::I8, at + 2);
                let hi = self.b.ins().ishl_imm_u(hi, 16);
                self.b.ins().bor(lo, hi)
            }
            _ => ins(self, types::I32, at),
        }
    }

    /// The start of the inner (post-transport) header, or `NO_OFFSET`.
    pub fn inner_base(&mut self) -> Value {
        let f = self.u64(self.addrs.inner_base as u64);
        let ctx = self.ctx;
        let call = self.b.ins().call_indirect(self.sigs.base, f, &[ctx]);
        self.b.inst_results(call)[0]
    }

    /// Metadata word `i` of the context (`meta_word::*`).
    /// Stores field value `v` (`i64`) of a classifier for `helpers::classify_values`.
    pub fn set_classify_value(&mut self, field: usize, v: Value) {
        self.b.ins().store(CTX, v, self.ctx, off::CLASSIFY_VALUES + 8 * field as i32);
    }

    /// Field value `field` (`i64`) of a classifier, as stored by [`Fx::set_classify_value`].
    pub fn classify_value(&mut self, field: usize) -> Value {
        self.b.ins().load(types::I64, CTX, self.ctx, off::CLASSIFY_VALUES + 8 * field as i32)
    }

    /// `meta mark set` to `v` (the register word), told to the environment later
    /// ([`super::abi::JitCtx::flush_mark`]).
    pub fn defer_mark(&mut self, v: Value) {
        self.b.ins().store(CTX, v, self.ctx, off::MARK);
        let one = self.u32(1);
        self.b.ins().store(CTX, one, self.ctx, off::MARK_PENDING);
    }

    pub fn meta_word(&mut self, i: usize) -> Value {
        self.b.ins().load(types::I32, CTX, self.ctx, off::META_WORDS + 4 * i as i32)
    }

    // ---- helper calls ----

    /// The generic expression helper; returns its `expr_ret` code. Registers may change.
    pub fn call_expr(&mut self, chain: u32, rule: u32, expr: u32) -> Value {
        let args = [self.ctx, self.u32(chain), self.u32(rule), self.u32(expr)];
        let f = self.u64(self.addrs.expr as u64);
        let call = self.b.ins().call_indirect(self.sigs.ctx3, f, &args);
        self.forget_regs();
        self.b.inst_results(call)[0]
    }

    /// A rule finished with verdict `v`, known at compile time (`Continue`: it ran to its
    /// end): stores the verdict register and, for a terminal verdict, the decision; when the
    /// run is traced, calls `helpers::traced`. Code goes on in the current (fresh) block;
    /// cached registers stay valid (the helper does not touch them).
    pub fn rule_done(&mut self, chain: u32, rule: u32, source: u32, v: Verdict) {
        let (rule, source) = (self.u32(rule), self.u32(source));
        self.rule_done_at(chain, rule, source, v);
    }

    /// [`Fx::rule_done`] for a rule and source known at run time.
    pub fn rule_done_at(&mut self, chain: u32, rule: Value, source: Value, v: Verdict) {
        let enc = abi::encode(v);
        self.set_last_verdict(enc);
        if v.is_terminal() {
            let c = self.u32(chain);
            self.b.ins().store(CTX, c, self.ctx, off::DECIDED_CHAIN);
            self.b.ins().store(CTX, rule, self.ctx, off::DECIDED_RULE);
            self.b.ins().store(CTX, source, self.ctx, off::DECIDED_SOURCE);
            let e = self.u64(enc);
            self.b.ins().store(CTX, e, self.ctx, off::FINAL_VERDICT);
        }
        let enc = self.u64(enc);
        self.trace_if_on(chain, rule, enc);
    }

    /// A rule finished with a verdict that does not decide (a `jump`) and is known only at
    /// run time: `enc`, encoded.
    pub fn rule_done_with(&mut self, chain: u32, rule: Value, enc: Value) {
        self.b.ins().store(CTX, enc, self.ctx, off::LAST_VERDICT);
        self.trace_if_on(chain, rule, enc);
    }

    /// While tracing: `helpers::traced` for rule `rule` finishing with `enc`.
    fn trace_if_on(&mut self, chain: u32, rule: Value, enc: Value) {
        let on = self.b.ins().load(types::I32, CTX, self.ctx, off::TRACE_ON);
        let call = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(call);
        self.b.ins().brif(on, call, &[], cont, &[]);
        self.b.switch_to_block(call);
        let args = [self.ctx, self.u32(chain), rule, enc];
        let f = self.u64(self.addrs.traced as u64);
        self.b.ins().call_indirect(self.sigs.matched, f, &args);
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// `helpers::env_word`: an environment lookup of a register word. The register file is
    /// not touched, so cached words stay valid.
    pub fn call_env_word(&mut self, kind: u32, key: u32, arg: u32) -> Value {
        let args = [self.ctx, self.u32(kind), self.u32(key), self.u32(arg)];
        let f = self.u64(self.addrs.env_word as u64);
        let call = self.b.ins().call_indirect(self.sigs.env, f, &args);
        self.b.inst_results(call)[0]
    }

    /// `helpers::env_set_word`: hands a register word to the environment (registers untouched).
    pub fn call_env_set_word(&mut self, kind: u32, key: u32, arg: u32, value: Value) {
        let args = [self.ctx, self.u32(kind), self.u32(key), self.u32(arg), value];
        let f = self.u64(self.addrs.env_set_word as u64);
        self.b.ins().call_indirect(self.sigs.env_set, f, &args);
    }

    /// The jump-stack overflow helper for rule `rule` of `chain`.
    pub fn call_overflow(&mut self, chain: u32, rule: Value) {
        let args = [self.ctx, self.u32(chain), rule];
        let f = self.u64(self.addrs.overflow as u64);
        self.b.ins().call_indirect(self.sigs.rule, f, &args);
    }

    /// The classify helper for rule `rule`; returns its code. Registers may change.
    pub fn call_classify(&mut self, chain: u32, rule: u32) -> Value {
        let rule = self.u32(rule);
        self.call_classify_with(self.addrs.classify, chain, rule)
    }

    /// [`Fx::call_classify`] for a rule known at run time.
    pub fn call_classify_at(&mut self, chain: u32, rule: Value) -> Value {
        self.call_classify_with(self.addrs.classify, chain, rule)
    }

    /// `helpers::classify_values` for classifier `classifier` from `entry` on: the field
    /// values are in the context already.
    pub fn call_classify_values(&mut self, classifier: u32, entry: Value) -> Value {
        self.call_classify_with(self.addrs.classify_values, classifier, entry)
    }

    /// A classify helper's call: the context, a constant (chain or classifier) and a value
    /// (rule or entry).
    fn call_classify_with(&mut self, helper: i64, constant: u32, value: Value) -> Value {
        let args = [self.ctx, self.u32(constant), value, self.u32(0)];
        let f = self.u64(helper as u64);
        let call = self.b.ins().call_indirect(self.sigs.ctx3, f, &args);
        self.forget_regs();
        self.b.inst_results(call)[0]
    }

    pub fn call_dynamic(&mut self, chain: u32, rule: Value) -> Value {
        let args = [self.ctx, self.u32(chain), rule, self.depth];
        let f = self.u64(self.addrs.dynamic as u64);
        let call = self.b.ins().call_indirect(self.sigs.ctx3, f, &args);
        self.forget_regs();
        self.b.inst_results(call)[0]
    }

    /// Calls compiled function `f` (an address) with `depth + add`; returns its code.
    pub fn call_chain_fn(&mut self, f: Value, add: u32) -> Value {
        let depth = self.b.ins().iadd_imm_s(self.depth, add as i64);
        let call = self.b.ins().call_indirect(self.sigs.chain, f, &[self.ctx, depth]);
        self.forget_regs();
        self.b.inst_results(call)[0]
    }

    /// Entry `index` of the function table.
    pub fn table_fn(&mut self, index: usize) -> Value {
        let fns = self.b.ins().load(types::I64, CTX, self.ctx, off::FNS);
        self.b.ins().load(types::I64, CTX, fns, (index * 8) as i32)
    }

    /// Entry `index` (an `i32` value, below the number of chains) of the function table.
    pub fn table_fn_at(&mut self, index: Value) -> Value {
        let fns = self.b.ins().load(types::I64, CTX, self.ctx, off::FNS);
        let index = self.b.ins().uextend(types::I64, index);
        let offset = self.b.ins().imul_imm_u(index, 8);
        let at = self.b.ins().iadd(fns, offset);
        self.b.ins().load(types::I64, CTX, at, 0)
    }

    /// `ctx.target_fn`, set by the dynamic-verdict helper.
    pub fn target_fn(&mut self) -> Value {
        self.b.ins().load(types::I64, CTX, self.ctx, off::TARGET_FN)
    }

    /// `ctx.resume`: a pending classify resume point, or `NO_RESUME`.
    pub fn resume_point(&mut self) -> Value {
        self.b.ins().load(types::I64, CTX, self.ctx, off::RESUME)
    }

    pub fn set_resume_point(&mut self, v: Value) {
        self.b.ins().store(CTX, v, self.ctx, off::RESUME);
    }

    /// Stores the encoded verdict register (the last rule's outcome).
    pub fn set_last_verdict(&mut self, enc: u64) {
        let v = self.u64(enc);
        self.b.ins().store(CTX, v, self.ctx, off::LAST_VERDICT);
    }
}

/// Mask of the low `n` bytes of a word.
pub fn low_mask(n: usize) -> u32 {
    if n >= 4 { u32::MAX } else { (1u32 << (8 * n)) - 1 }
}
