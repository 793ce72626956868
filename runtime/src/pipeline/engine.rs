//! The engine that runs a chain: the interpreter today, the JIT when it lands. The pipeline
//! only needs "run this chain for this packet with this environment"; an engine owns the
//! program's mutable state (counters, limits, sets) so that both engines see the same one.

use std::sync::Arc;

use nftvm_vm::ChainId;
use nftvm_vm::VerifiedProgram;
use nftvm_vm::interp::{self, Env, PacketCtx, ProgramState, RunResult};

/// Runs chains of one loaded program.
pub trait Engine: Send {
    /// The program it runs.
    fn program(&self) -> &Arc<VerifiedProgram>;

    /// Runs base chain `chain` for one packet.
    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> RunResult;

    /// The program's mutable state (counters, sets, …).
    fn state(&self) -> &ProgramState;

    /// The engine's name (`interp`, `jit`).
    fn name(&self) -> &'static str;
}

/// The reference engine: [`nftvm_vm::interp::run_chain`].
#[derive(Debug)]
pub struct Interpreter {
    prog: Arc<VerifiedProgram>,
    state: ProgramState,
}

impl Interpreter {
    /// An interpreter for `prog` with fresh state at time `now` (ns).
    pub fn new(prog: Arc<VerifiedProgram>, now: u64) -> Interpreter {
        let state = ProgramState::new(prog.program(), now);
        Interpreter { prog, state }
    }
}

impl Engine for Interpreter {
    fn program(&self) -> &Arc<VerifiedProgram> {
        &self.prog
    }

    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> RunResult {
        interp::run_chain(&self.prog, &mut self.state, chain, pkt, env)
    }

    fn state(&self) -> &ProgramState {
        &self.state
    }

    fn name(&self) -> &'static str {
        "interp"
    }
}
