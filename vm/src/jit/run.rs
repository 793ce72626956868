//! Running a compiled chain for one packet: the context block, the native call, and the
//! [`RunResult`] exactly as [`crate::interp::run_chain`] reports it.

use super::abi::{self, JitCtx, NO_DECISION, NO_OFFSET, NO_WORD, meta_word, ret};
use super::program::JitProgram;
use crate::interp::{Env, Eval, PacketCtx, ProgramState, Regs, RuleRef, RunOptions, RunResult};
use crate::program::{ChainId, SourceId};
use crate::verdict::Verdict;

/// The signature of every compiled chain function.
type ChainFn = extern "C" fn(*mut JitCtx<'_, '_>, u32) -> u32;

/// Runs `chain` for one packet on the compiled code (`state` must belong to
/// `jit.program()`), writing into `out` and reusing its trace buffer (as
/// [`crate::interp::run_chain_into`]); with `opts.trace` off no helper is called for rules
/// whose verdict is known at compile time.
pub fn run_chain_into(
    jit: &JitProgram,
    state: &mut ProgramState,
    chain: ChainId,
    pkt: &mut PacketCtx<'_>,
    env: &mut dyn Env,
    opts: RunOptions,
    out: &mut RunResult,
) {
    let p = jit.prog.program();
    let Some(entry) = jit.entries.get(chain.index()).filter(|e| e.addr != 0).copied() else {
        // No such chain, or one that may not run (no entry address): nothing runs and the
        // default policy applies, as in the interpreter.
        out.trace.clear();
        out.verdict = Verdict::Accept;
        out.decided_by = None;
        if opts.regs {
            out.regs = Regs::default();
        }
        return;
    };
    out.trace.clear();
    let len = pkt.data.len();
    let base = |o: Option<usize>| o.filter(|o| *o <= len).map_or(NO_OFFSET, |o| o as u64);
    let bases = [base(pkt.link_off), base(Some(pkt.network_off)), base(pkt.transport_off)];
    let mut meta_words = [NO_WORD; 4];
    meta_words[meta_word::LEN] = pkt.len() as u32;
    meta_words[meta_word::PROTOCOL] =
        u32::from_le_bytes([(pkt.protocol >> 8) as u8, pkt.protocol as u8, 0, 0]);
    meta_words[meta_word::NFPROTO] = pkt.nfproto.number() as u32;
    if pkt.l4proto_known() {
        meta_words[meta_word::L4PROTO] = pkt.l4proto as u32;
    }
    let mut ctx = JitCtx {
        pkt_data: pkt.data.as_ptr(),
        pkt_len: len as u64,
        bases,
        meta_words,
        last_verdict: abi::ENC_CONTINUE,
        target_fn: 0,
        fns: jit.fns.as_ptr(),
        resume: abi::NO_RESUME,
        decided_chain: NO_DECISION,
        decided_rule: 0,
        decided_source: 0,
        classify_values: [0; crate::classify::MAX_FIELDS],
        final_verdict: abi::encode(Verdict::Accept),
        trace_on: opts.trace as u32,
        mark_pending: 0,
        mark: 0,
        trace: &mut out.trace,
        fn_table: &jit.fns,
        eval: Eval::start(pkt, env, state, p, entry.family, None),
    };
    // SAFETY: `addr` is the finalized code of `chain`'s function in `jit`, compiled with the
    // `ChainFn` signature in the host's C calling convention; `jit` (and so the code memory)
    // is borrowed for the whole call. The code only touches `ctx` through the offsets in
    // `abi::off`, the packet within `pkt_len`, the register file within its 64 bytes, and
    // calls the helpers with the same `ctx` pointer; a classifier's native query reads that
    // classifier's tree in the verified program `jit` holds (never changed), within the bounds
    // the verifier checked.
    #[allow(unsafe_code)]
    let f = unsafe { std::mem::transmute::<usize, ChainFn>(entry.addr as usize) };
    let code = f(&mut ctx, 0);
    ctx.flush_mark();
    let JitCtx { eval, decided_chain, decided_rule, decided_source, final_verdict, last_verdict, .. } = ctx;
    if opts.regs {
        out.regs.data = eval.regs.data;
        out.regs.verdict = abi::decode(last_verdict);
    }
    if decided_chain != NO_DECISION && code == ret::TERMINAL {
        let (c, r) = (ChainId(decided_chain), decided_rule as usize);
        out.decided_by = Some(RuleRef { chain: c, rule: r, source: SourceId(decided_source) });
        out.verdict = abi::decode(final_verdict);
    } else {
        out.decided_by = None;
        out.verdict = entry.end_verdict;
    }
}
