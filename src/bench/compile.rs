//! A ruleset made ready for the benchmark: loaded through the shared program loader
//! ([`crate::program`]) and timed, since the compile time is one of the figures the
//! benchmark reports.

use crate::load::LoadError;
use crate::program::{self, Format, LoadedProgram, Options};
use nftvm_compiler::opt;
use nftvm_vm::{SourceId, VerifiedProgram};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A program ready for the engines and the way back to its source.
#[derive(Debug)]
pub struct Subject {
    /// The verified bytecode (the same `Arc` as `loaded.program()`).
    pub prog: Arc<VerifiedProgram>,
    /// The loaded ruleset: rule locations and texts.
    pub loaded: LoadedProgram,
    /// Wall time of read + parse + check + optimize + codegen + verify, milliseconds.
    pub compile_ms: f64,
}

impl Subject {
    /// The `file:line` of the rule with this source id, or `rule#N`.
    pub fn location(&self, source: SourceId) -> String {
        self.loaded.location(source).map_or_else(|| format!("rule#{}", source.0), str::to_string)
    }

    fn timed(load: impl FnOnce() -> Result<LoadedProgram, LoadError>) -> Result<Subject, LoadError> {
        let started = Instant::now();
        let loaded = load()?;
        let compile_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(Subject { prog: Arc::clone(loaded.program()), loaded, compile_ms })
    }
}

/// Loads the ruleset file at `path` (`format` `None`: detected; iptables rules may name
/// `ipsets`) with the shared loader, optimized as `optimize` says.
pub fn load_file(
    path: &Path,
    format: Option<Format>,
    ipsets: &nftvm_compiler::ipset::Ipsets,
    optimize: &opt::Options,
) -> Result<Subject, LoadError> {
    let opts = Options { format, host: None, ipsets: Some(ipsets) };
    Subject::timed(|| program::load_optimized(path, &opts, optimize))
}

/// Compiles nft ruleset `text` named `name` (diagnostics rendered as `name:line:col`),
/// optimized as `optimize` says.
pub fn compile_nft(name: &str, text: &str, optimize: &opt::Options) -> Result<Subject, String> {
    let opts = Options { format: Some(Format::Nft), host: None, ipsets: None };
    Subject::timed(|| program::load_text_optimized(name, text, &opts, optimize)).map_err(|e| e.message)
}
