//! The engine that runs a chain. The pipeline only needs "run this chain for this packet
//! with this environment"; [`VmEngine`] does it for both of the VM's engines (interpreter
//! and JIT) through one [`nftvm_vm::Executable`], and owns the program's mutable state
//! (counters, limits, sets) so that whichever engine runs sees the same one.

use std::sync::Arc;

use nftvm_vm::expr::connlimit::ConnList;
use nftvm_vm::interp::{Env, PacketCtx, ProgramState, RunOptions, RunResult, SharedState};
use nftvm_vm::jit::JitError;
use nftvm_vm::{ChainId, Executable, VerifiedProgram};

/// Runs chains of one loaded program.
pub trait Engine: Send {
    /// The program it runs.
    fn program(&self) -> &Arc<VerifiedProgram>;

    /// Runs base chain `chain` for one packet: its verdict, deciding rule and the rules that
    /// matched (the register file is not kept). The result lives until the next run.
    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> &RunResult;

    /// The program's mutable state (counters, sets, …).
    fn state(&self) -> &ProgramState;

    /// Runs the sets' garbage collections due by `now` (ns on the packet clock): expired
    /// elements go, and a dynamic set's elements whose connection list `gone` says counts
    /// nothing (see [`nftvm_vm::set::hash::HashSet::collect`]).
    fn collect_sets(&mut self, now: u64, gone: &mut dyn FnMut(ConnList) -> bool);

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
    /// The state is made at the first packet, on its clock ([`VmEngine::from_first_packet`]).
    pending: bool,
    /// The last run's result: one buffer for every run, so a packet allocates no trace.
    out: RunResult,
    /// The state shared with other engines of the same program ([`VmEngine::sharing`]).
    shared: Option<Arc<SharedState>>,
}

impl VmEngine {
    /// Runs `exec` with fresh state at time `now` (ns on the packet clock).
    pub fn new(exec: Executable, now: u64) -> VmEngine {
        let state = exec.new_state(now);
        VmEngine { exec, state, pending: false, out: RunResult::default(), shared: None }
    }

    /// Shares the program's limits, quotas, `numgen inc` counters and the sets its rules
    /// write with every engine given the same `shared` — the live workers of one program,
    /// one of each for all, as the kernel has whatever the CPU ([`nftvm_vm::interp::shared`]);
    /// `None` keeps them its own.
    pub fn sharing(mut self, shared: Option<&Arc<SharedState>>) -> VmEngine {
        self.shared = shared.cloned();
        if !self.pending {
            self.attach_shared();
        }
        self
    }

    /// Attaches the state to what it shares, if anything.
    fn attach_shared(&mut self) {
        if let Some(shared) = &self.shared {
            self.state.share(self.exec.program().program(), Arc::clone(shared));
        }
    }

    /// Runs `exec` with state made when the first packet arrives, at its time: the ruleset
    /// is loaded "just before" the first packet, whatever clock the packets carry (a
    /// capture's timestamps), so a set element's `timeout` counts from there — loaded at
    /// time 0, an element of a capture from 2024 would have expired decades before it.
    pub fn from_first_packet(exec: Executable) -> VmEngine {
        VmEngine { pending: true, ..VmEngine::new(exec, 0) }
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

    fn run_chain(&mut self, chain: ChainId, pkt: &mut PacketCtx<'_>, env: &mut dyn Env) -> &RunResult {
        if self.pending {
            self.state = self.exec.new_state(env.now_ns());
            self.attach_shared();
            self.pending = false;
        }
        let traced = RunOptions { trace: true, regs: false };
        self.exec.run_chain_into(&mut self.state, chain, pkt, env, traced, &mut self.out);
        &self.out
    }

    fn state(&self) -> &ProgramState {
        &self.state
    }

    fn collect_sets(&mut self, now: u64, gone: &mut dyn FnMut(ConnList) -> bool) {
        if self.pending {
            return;
        }
        self.state.collect_sets(now, gone);
    }

    fn kind(&self) -> nftvm_vm::Engine {
        self.exec.engine()
    }
}
