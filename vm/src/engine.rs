//! Engine selection: one entry point that runs a chain on the interpreter or on the JIT, so
//! the runtime and the command line only pass `--engine interp|jit`.

use crate::interp::{self, Env, PacketCtx, ProgramState, RunOptions, RunResult};
use crate::jit::{JitError, JitOptions, JitProgram};
use crate::program::ChainId;
use crate::verify::VerifiedProgram;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Which engine runs the bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// The reference interpreter.
    #[default]
    Interp,
    /// Native code compiled with Cranelift.
    Jit,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Interp, Engine::Jit];

    /// The name `--engine` takes.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        match s {
            "interp" => Ok(Engine::Interp),
            "jit" => Ok(Engine::Jit),
            _ => Err(format!("unknown engine `{s}` (expected `interp` or `jit`)")),
        }
    }
}

/// A verified program ready to run on one engine. Cheap to clone and to share between
/// threads; the compiled code is freed when the last clone goes.
#[derive(Clone, Debug)]
pub struct Executable {
    prog: Arc<VerifiedProgram>,
    jit: Option<Arc<JitProgram>>,
}

impl Executable {
    /// Prepares `prog` for `engine` (compiling it for the JIT).
    pub fn new(prog: Arc<VerifiedProgram>, engine: Engine) -> Result<Executable, JitError> {
        Executable::with_options(prog, engine, &JitOptions::default())
    }

    /// `prog` for the interpreter (nothing to compile, so it cannot fail).
    pub fn interpreter(prog: Arc<VerifiedProgram>) -> Executable {
        Executable { prog, jit: None }
    }

    pub fn with_options(
        prog: Arc<VerifiedProgram>,
        engine: Engine,
        opts: &JitOptions,
    ) -> Result<Executable, JitError> {
        match engine {
            Engine::Interp => Ok(Executable::interpreter(prog)),
            Engine::Jit => {
                let jit = Arc::new(JitProgram::compile_with(Arc::clone(&prog), opts)?);
                Ok(Executable { prog, jit: Some(jit) })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        if self.jit.is_some() { Engine::Jit } else { Engine::Interp }
    }

    pub fn program(&self) -> &Arc<VerifiedProgram> {
        &self.prog
    }

    /// The compiled code, when the engine is the JIT.
    pub fn jit(&self) -> Option<&Arc<JitProgram>> {
        self.jit.as_ref()
    }

    /// Fresh mutable state for this program at time `now` (ns).
    pub fn new_state(&self, now: u64) -> ProgramState {
        ProgramState::new(self.prog.program(), now)
    }

    /// Runs `chain` for one packet on the chosen engine; `state` must belong to this program.
    pub fn run_chain(
        &self,
        state: &mut ProgramState,
        chain: ChainId,
        pkt: &mut PacketCtx<'_>,
        env: &mut dyn Env,
    ) -> RunResult {
        let mut out = RunResult::default();
        self.run_chain_into(state, chain, pkt, env, RunOptions::TRACED, &mut out);
        out
    }

    /// [`Executable::run_chain`] writing into `out` and reusing its trace buffer; with
    /// [`RunOptions::UNTRACED`] the trace stays empty, with [`RunOptions::VERDICT`] the
    /// registers are not copied out either (the per-packet fast path).
    pub fn run_chain_into(
        &self,
        state: &mut ProgramState,
        chain: ChainId,
        pkt: &mut PacketCtx<'_>,
        env: &mut dyn Env,
        opts: RunOptions,
        out: &mut RunResult,
    ) {
        match &self.jit {
            Some(j) => crate::jit::run_chain_into(j, state, chain, pkt, env, opts, out),
            None => interp::run_chain_into(&self.prog, state, chain, pkt, env, opts, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_executables_are_shareable_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Executable>();
        for e in Engine::ALL {
            assert_eq!(e.name().parse::<Engine>(), Ok(e));
        }
        assert!("cranelift".parse::<Engine>().is_err());
    }
}
