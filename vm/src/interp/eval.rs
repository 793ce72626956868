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
    /// The packet clock for this evaluation (nanoseconds).
    pub now: u64,
    /// Set by `classify` when it breaks its rule: where evaluation goes on.
    pub resume: Option<crate::expr::classify::Resume>,
    /// The classifier walks of this evaluation, for the next query about the same packet.
    pub walks: crate::classify::walks::Walks,
}

impl Eval<'_, '_> {
    /// NFT_BREAK: the rule does not match.
    pub fn brk(&mut self) {
        self.regs.brk();
    }
}
