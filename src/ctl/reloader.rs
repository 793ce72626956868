//! The program of a running instance and how to replace it (SIGHUP, `nftvm reload`): the
//! ruleset file is read and compiled again by [`nftvm::program`] — the loader `eval` uses —
//! on the same host model and for the same engine, then swapped in on every worker. A
//! ruleset that fails to load is reported and the running one stays.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use nftvm::program::{self, Format, LoadedProgram};
use nftvm_runtime::host::Host;
use nftvm_runtime::live::Instance;

/// What a reload reads: the ruleset file (in `format`, `None`: detect) and the `--ipset`
/// files, read again every time (sets change beside the rules).
pub struct Sources {
    pub ruleset: PathBuf,
    pub format: Option<Format>,
    pub ipsets: Vec<PathBuf>,
}

/// Reloads one instance; reloads are serialized.
pub struct Reloader {
    sources: Sources,
    host: Host,
    engine: nftvm_vm::Engine,
    optimize: nftvm_compiler::opt::Options,
    instance: Arc<Instance>,
    current: Mutex<Arc<LoadedProgram>>,
}

impl Reloader {
    /// `running` was loaded from `sources` (on `host`, optimized as `optimize`) and runs on
    /// `engine`.
    pub fn new(
        sources: Sources,
        host: Host,
        engine: nftvm_vm::Engine,
        optimize: nftvm_compiler::opt::Options,
        instance: Arc<Instance>,
        running: LoadedProgram,
    ) -> Reloader {
        Reloader { sources, host, engine, optimize, instance, current: Mutex::new(Arc::new(running)) }
    }

    /// Re-reads and compiles the ruleset file and swaps it in on every worker; the message
    /// of a failure is rendered like nft's diagnostics.
    pub fn reload(&self) -> Result<(), String> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let mut ipsets = nftvm_compiler::ipset::Ipsets::default();
        for f in &self.sources.ipsets {
            ipsets.merge(nftvm::load::load_ipsets(f).map_err(|e| e.message)?)?;
        }
        let opts =
            program::Options { format: self.sources.format, host: Some(&self.host), ipsets: Some(&ipsets) };
        let next =
            program::load_optimized(&self.sources.ruleset, &opts, &self.optimize).map_err(|e| e.message)?;
        let executable = next.executable(self.engine).map_err(|e| e.message)?;
        self.instance.reload(executable)?;
        *current = Arc::new(next);
        Ok(())
    }

    /// The program running now.
    pub fn current(&self) -> Arc<LoadedProgram> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
