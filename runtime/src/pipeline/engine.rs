//! The engine that runs a chain. The pipeline only needs "run this chain for this packet
//! with this environment"; [`VmEngine`] does it for both of the VM's engines (interpreter
//! and JIT) through one [`nftvm_vm::Executable`], and owns the program's mutable state
//! (counters, limits, sets) so that whichever engine runs sees the same one.

use std::sync::Arc;

use nftvm_vm::interp::{Env, PacketCtx, ProgramState, RunResult};
use nftvm_vm::jit::JitError;
use nftvm_vm::{ChainId, Executable, VerifiedProgram};

/// Runs chains of one loaded program.
pub trait Engine: Send {
    /// The program it runs.
    fn program(&self) -> &Arc<VerifiedProgram>;

    /// Runs base chain `chain` for one packet.
    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> RunResult;

    /// The program's mutable state (counters, sets, …).
    fn state(&self) -> &ProgramState;

    /// Which of the VM's engines runs the bytecode.
    fn kind(&self) -> nftvm_vm::Engine;

    /// The engine's name (`interp`, `jit`).
    fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// A program prepared for one of the VM's engines, with its state.
#[derive(Debug)]
pub struct VmEngine {
    exec: Executable,
    state: ProgramState,
}

impl VmEngine {
    /// Runs `exec` with fresh state at time `now` (ns on the packet clock).
    pub fn new(exec: Executable, now: u64) -> VmEngine {
        let state = exec.new_state(now);
        VmEngine { exec, state }
    }

    /// Prepares `prog` for `engine` (compiling it when that is the JIT), fresh state at
    /// `now`.
    pub fn build(
        prog: Arc<VerifiedProgram>,
        engine: nftvm_vm::Engine,
        now: u64,
    ) -> Result<VmEngine, JitError> {
        Ok(VmEngine::new(Executable::new(prog, engine)?, now))
    }

    /// The reference interpreter on `prog`.
    pub fn interpreter(prog: Arc<VerifiedProgram>, now: u64) -> VmEngine {
        VmEngine::new(Executable::interpreter(prog), now)
    }

    pub fn executable(&self) -> &Executable {
        &self.exec
    }
}

impl Engine for VmEngine {
    fn program(&self) -> &Arc<VerifiedProgram> {
        self.exec.program()
    }

    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> RunResult {
        self.exec.run_chain(&mut self.state, chain, pkt, env)
    }

    fn state(&self) -> &ProgramState {
        &self.state
    }

    fn kind(&self) -> nftvm_vm::Engine {
        self.exec.engine()
    }
}
