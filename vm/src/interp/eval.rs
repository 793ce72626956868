//! What an expression's interpreter semantics see while a packet is evaluated.

use crate::interp::{Env, PacketCtx, ProgramState, Regs};
use crate::program::Program;

/// The evaluation context of one expression: registers, the packet, the runtime, the
/// mutable state of stateful expressions and sets, and the (immutable) program.
pub struct Eval<'e, 'p> {
    pub regs: Regs,
    pub pkt: &'e mut PacketCtx<'p>,
    pub env: &'e mut dyn Env,
    pub state: &'e mut ProgramState,
    pub prog: &'e Program,
    /// Family of the table whose chain is running (ct src/dst lengths depend on it).
    pub table_family: crate::keys::Family,
    /// The packet clock for this evaluation (nanoseconds), once an expression has asked
    /// for it ([`Eval::now`]): most chains never look at the time, and asking the
    /// environment is a call per packet.
    clock: Option<u64>,
    /// Set by `classify` when it breaks its rule: where evaluation goes on.
    pub resume: Option<crate::expr::classify::Resume>,
    /// The bytes the packet grows by when the runtime applies what the chain asked for
    /// after it has run (an MSS option `-j TCPMSS` adds), which the kernel adds at once:
    /// counters, quotas and byte limits count them already ([`Eval::packet_len`]).
    pub deferred_growth: usize,
}

impl<'e, 'p> Eval<'e, 'p> {
    /// An evaluation of a chain of `prog` (its table's `family`) at its start: registers
    /// clear, nothing to resume, no classifier walks kept (`state.walks` forgets the last
    /// evaluation's). `now`: the packet clock, or `None` to ask the environment when an
    /// expression first needs it.
    pub fn start(
        pkt: &'e mut PacketCtx<'p>,
        env: &'e mut dyn Env,
        state: &'e mut ProgramState,
        prog: &'e Program,
        table_family: crate::keys::Family,
        now: Option<u64>,
    ) -> Eval<'e, 'p> {
        state.walks.forget();
        Eval {
            regs: Regs::default(),
            pkt,
            env,
            state,
            prog,
            table_family,
            clock: now,
            resume: None,
            deferred_growth: 0,
        }
    }

    /// The packet clock (nanoseconds): the environment's `now_ns`, asked once per
    /// evaluation, when first needed.
    pub fn now(&mut self) -> u64 {
        match self.clock {
            Some(t) => t,
            None => {
                let t = self.env.now_ns();
                self.clock = Some(t);
                t
            }
        }
    }

    /// The packet's length as the kernel's byte counts see it (from the network header on):
    /// with the growth the runtime applies after the chain.
    pub fn packet_len(&self) -> u64 {
        (self.pkt.len() + self.deferred_growth) as u64
    }

    /// NFT_BREAK: the rule does not match.
    pub fn brk(&mut self) {
        self.regs.brk();
    }

    /// An x_tables match's answer: `Some(true)` goes on, `Some(false)` breaks the rule,
    /// `None` drops the packet (the kernel's hotdrop).
    pub fn match_answer(&mut self, answer: Option<bool>) {
        match answer {
            Some(true) => {}
            Some(false) => self.brk(),
            None => self.regs.verdict = crate::verdict::Verdict::Drop,
        }
    }
}
