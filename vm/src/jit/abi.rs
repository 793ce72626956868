//! The contract between compiled code and Rust: the context block a compiled chain receives,
//! the codes its functions and helpers return, and how a [`Verdict`] travels as one `u64`.
//!
//! Every compiled function has the signature `fn(ctx: *mut JitCtx, depth: u32) -> u32`
//! (the platform's C calling convention). Native code reads the fields at the front of
//! [`JitCtx`] at their `offset_of!` offsets — packet pointer and length, header offsets,
//! precomputed metadata words, the function table — and the data registers in place inside
//! [`Eval`], so the interpreter's expression code (called through helpers for everything the
//! JIT does not inline) sees the very same register file.

use crate::interp::{Eval, TraceEntry};
use crate::keys::MetaKey;
use crate::program::ChainId;
use crate::verdict::Verdict;
use std::mem::offset_of;

/// A header offset that does not exist. Large enough that `NO_OFFSET + offset + len` exceeds
/// any packet length without wrapping, so one bounds check covers "absent" and "too short".
pub const NO_OFFSET: u64 = 1 << 62;

/// A metadata word that cannot be derived (the helper must answer).
pub const NO_WORD: u32 = u32::MAX;

/// `decided_chain` before a terminal verdict was decided.
pub const NO_DECISION: u32 = u32::MAX;

/// Return codes of chain and segment functions.
pub mod ret {
    /// The end of the function's rules was reached (a chain: it fell off its end or returned).
    pub const FELL_OFF: u32 = 0;
    /// A terminal verdict was decided; [`super::JitCtx`] holds it and the rule.
    pub const TERMINAL: u32 = 1;
    /// (Segments only) the chain is finished: `return`, or a `goto` whose target ended.
    pub const CHAIN_DONE: u32 = 2;
    /// (Segments only) a `classify` resumes at a rule of another segment:
    /// [`super::JitCtx::resume`] says where.
    pub const RESUME: u32 = 3;
}

/// No resume point pending ([`JitCtx::resume`]).
pub const NO_RESUME: u64 = u64::MAX;
/// What the classify helper returns when the rule goes on (else `2 * rule + expr`).
pub const CLASSIFY_CONTINUE: u32 = u32::MAX;

/// What the generic expression helper reports.
pub mod expr_ret {
    /// The expression let the rule go on.
    pub const CONTINUE: u32 = 0;
    /// NFT_BREAK: the rule does not match.
    pub const BREAK: u32 = 1;
    /// Another verdict is in the verdict register (resolved by the dynamic-verdict helper).
    pub const VERDICT: u32 = 2;
}

/// What the dynamic-verdict helper tells native code to do.
pub mod action {
    /// Terminal (or jump stack overflow): return [`super::ret::TERMINAL`].
    pub const TERMINAL: u32 = 0;
    /// `return`: the chain is finished.
    pub const RETURN: u32 = 1;
    /// `jump`: call `target_fn` one level deeper, then go on with the next rule.
    pub const JUMP: u32 = 2;
    /// `goto`: call `target_fn` at the same level, then the chain is finished.
    pub const GOTO: u32 = 3;
}

/// The `depth` argument: jump-stack depth in the low byte, total call nesting above it (a
/// guard against runaway gotos from verdicts the environment returns).
pub const DEPTH_JUMP: u32 = 0x101;
pub const DEPTH_GOTO: u32 = 0x100;
pub const JUMP_DEPTH_MASK: u32 = 0xff;
/// Nesting beyond which a dynamic jump/goto is refused (the verifier bounds static ones at 16).
pub const MAX_NESTING: u32 = 64;

/// The per-run block native code works on. The `#[repr(C)]` head is what native code reads
/// and writes; the tail is Rust-only state the helpers use.
#[repr(C)]
pub struct JitCtx<'e, 'p> {
    /// Packet bytes (read-only for native code; writes go through helpers).
    pub pkt_data: *const u8,
    pub pkt_len: u64,
    /// Start of the link, network and transport headers, or [`NO_OFFSET`].
    pub bases: [u64; 3],
    /// Register words of the metadata native code loads itself (`meta len`, `protocol`,
    /// `nfproto`, `l4proto`), or [`NO_WORD`].
    pub meta_words: [u32; 4],
    /// The verdict register as of the last rule that finished (encoded).
    pub last_verdict: u64,
    /// Set by the dynamic-verdict helper for a jump/goto: the target's code (0: no chain).
    pub target_fn: u64,
    /// The compiled functions, indexed by chain id (then segment functions).
    pub fns: *const u64,
    /// Where a `classify` resumes evaluation in another segment (`2 * rule + expr`), or
    /// [`NO_RESUME`]; a segment function consumes it on entry.
    pub resume: u64,
    /// The chain and rule that decided a terminal verdict ([`NO_DECISION`] in
    /// `decided_chain` while none has), and that verdict (encoded). Native code stores them
    /// for verdicts known at compile time; helpers for the others.
    pub decided_chain: u32,
    pub decided_rule: u32,
    /// The deciding rule's source id (native code knows it; saves a look at the rule).
    pub decided_source: u32,
    /// A classifier's field values, written by native code before it calls
    /// `helpers::classify_values`.
    pub classify_values: [u64; crate::classify::MAX_FIELDS],
    pub final_verdict: u64,
    /// Non-zero when matching rules are recorded in `trace` (native code then calls
    /// `helpers::traced` for each rule that finishes).
    pub trace_on: u32,
    /// A `meta mark set` native code made that the environment has not been told yet:
    /// `mark` (the register word) when `mark_pending` is non-zero. The environment is told
    /// before any helper runs and when the chain returns ([`JitCtx::flush_mark`]) — every
    /// place it could look at the mark — so a rule that sets the mark calls no helper.
    pub mark_pending: u32,
    pub mark: u32,
    pub trace: &'e mut Vec<TraceEntry>,
    /// The same function table for the helpers (bounds-checked).
    pub fn_table: &'e [u64],
    /// What the interpreter's expression code sees; `eval.regs.data` is the register file
    /// native code reads and writes.
    pub eval: Eval<'e, 'p>,
}

impl JitCtx<'_, '_> {
    /// Hands a pending `meta mark set` to the environment.
    pub fn flush_mark(&mut self) {
        if self.mark_pending != 0 {
            self.mark_pending = 0;
            self.eval.env.meta_set(MetaKey::Mark, &self.mark.to_le_bytes());
        }
    }
}

/// Field offsets native code uses.
pub mod off {
    use super::*;
    type Ctx = JitCtx<'static, 'static>;
    pub const PKT_DATA: i32 = offset_of!(Ctx, pkt_data) as i32;
    pub const PKT_LEN: i32 = offset_of!(Ctx, pkt_len) as i32;
    pub const BASES: i32 = offset_of!(Ctx, bases) as i32;
    pub const META_WORDS: i32 = offset_of!(Ctx, meta_words) as i32;
    pub const LAST_VERDICT: i32 = offset_of!(Ctx, last_verdict) as i32;
    pub const TARGET_FN: i32 = offset_of!(Ctx, target_fn) as i32;
    pub const FNS: i32 = offset_of!(Ctx, fns) as i32;
    pub const RESUME: i32 = offset_of!(Ctx, resume) as i32;
    pub const DECIDED_CHAIN: i32 = offset_of!(Ctx, decided_chain) as i32;
    pub const DECIDED_RULE: i32 = offset_of!(Ctx, decided_rule) as i32;
    pub const DECIDED_SOURCE: i32 = offset_of!(Ctx, decided_source) as i32;
    pub const CLASSIFY_VALUES: i32 = offset_of!(Ctx, classify_values) as i32;
    pub const FINAL_VERDICT: i32 = offset_of!(Ctx, final_verdict) as i32;
    pub const TRACE_ON: i32 = offset_of!(Ctx, trace_on) as i32;
    pub const MARK_PENDING: i32 = offset_of!(Ctx, mark_pending) as i32;
    pub const MARK: i32 = offset_of!(Ctx, mark) as i32;
    pub const REGS: i32 = offset_of!(Ctx, eval.regs.data) as i32;
}

/// Index of a metadata word in [`JitCtx::meta_words`].
pub mod meta_word {
    pub const LEN: usize = 0;
    pub const PROTOCOL: usize = 1;
    pub const NFPROTO: usize = 2;
    pub const L4PROTO: usize = 3;
}

const T_CONTINUE: u64 = 0;
const T_BREAK: u64 = 1;
const T_ACCEPT: u64 = 2;
const T_DROP: u64 = 3;
const T_STOLEN: u64 = 4;
const T_QUEUE: u64 = 5;
const T_REPEAT: u64 = 6;
const T_STOP: u64 = 7;
const T_RETURN: u64 = 8;
const T_JUMP: u64 = 9;
const T_GOTO: u64 = 10;

/// The encoded `Continue` (a rule that ran to its end).
pub const ENC_CONTINUE: u64 = T_CONTINUE;
/// The encoded `Break`.
pub const ENC_BREAK: u64 = T_BREAK;

/// A verdict as one `u64`: a tag in the low byte, the queue number/bypass or the chain above.
pub fn encode(v: Verdict) -> u64 {
    match v {
        Verdict::Continue => T_CONTINUE,
        Verdict::Break => T_BREAK,
        Verdict::Accept => T_ACCEPT,
        Verdict::Drop => T_DROP,
        Verdict::Stolen => T_STOLEN,
        Verdict::Queue { num, bypass } => T_QUEUE | (num as u64) << 8 | (bypass as u64) << 24,
        Verdict::Repeat => T_REPEAT,
        Verdict::Stop => T_STOP,
        Verdict::Return => T_RETURN,
        Verdict::Jump(c) => T_JUMP | (c.0 as u64) << 8,
        Verdict::Goto(c) => T_GOTO | (c.0 as u64) << 8,
    }
}

/// The inverse of [`encode`] (an unknown tag, which native code never produces, is a drop).
pub fn decode(x: u64) -> Verdict {
    let chain = ChainId((x >> 8) as u32);
    match x & 0xff {
        T_CONTINUE => Verdict::Continue,
        T_BREAK => Verdict::Break,
        T_ACCEPT => Verdict::Accept,
        T_STOLEN => Verdict::Stolen,
        T_QUEUE => Verdict::Queue { num: (x >> 8) as u16, bypass: (x >> 24) & 1 != 0 },
        T_REPEAT => Verdict::Repeat,
        T_STOP => Verdict::Stop,
        T_RETURN => Verdict::Return,
        T_JUMP => Verdict::Jump(chain),
        T_GOTO => Verdict::Goto(chain),
        _ => Verdict::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_through_their_encoding() {
        let all = [
            Verdict::Continue,
            Verdict::Break,
            Verdict::Accept,
            Verdict::Drop,
            Verdict::Stolen,
            Verdict::Queue { num: 65535, bypass: true },
            Verdict::Queue { num: 3, bypass: false },
            Verdict::Repeat,
            Verdict::Stop,
            Verdict::Return,
            Verdict::Jump(ChainId(u32::MAX)),
            Verdict::Goto(ChainId(7)),
        ];
        for v in all {
            assert_eq!(decode(encode(v)), v);
        }
    }
}
