//! What the subcommands that run packets (`eval`, `run`, `bench`) share between their options and
//! the pipeline: the ruleset's format from `--syntax` / `--bytecode`, the ruleset compiled by
//! [`nftvm::program`] with interface names resolved on the host model, and the engine
//! `--engine` names prepared to run it.

use std::path::Path;

use nftvm::program::{self, Format, LoadedProgram};
use nftvm_runtime::host::Host;
use nftvm_vm::{Engine, Executable};

use crate::cli::Failure;

/// The format `--bytecode` / `--syntax NAME` ask for; `None` detects it.
pub fn format(command: &str, bytecode: bool, syntax: Option<&str>) -> Result<Option<Format>, Failure> {
    match (bytecode, syntax) {
        (true, _) => Ok(Some(Format::Bytecode)),
        (false, Some(name)) => Format::from_name(name).map(Some).ok_or_else(|| {
            Failure::usage(format!(
                "nftvm {command}: --syntax takes nft, iptables, ip6tables or bytecode, not `{name}`"
            ))
        }),
        (false, None) => Ok(None),
    }
}

/// The engine `--engine NAME` names.
pub fn engine(command: &str, name: &str) -> Result<Engine, Failure> {
    name.parse()
        .map_err(|_| Failure::usage(format!("nftvm {command}: --engine takes interp or jit, not `{name}`")))
}

/// Reads and compiles the ruleset for `host`, iptables rules naming `ipsets` (a ruleset with errors is a failure: exit 2,
/// with nft's diagnostics).
pub fn load(
    path: &Path,
    host: &Host,
    format: Option<Format>,
    ipsets: &nftvm_compiler::ipset::Ipsets,
    optimize: &nftvm_compiler::opt::Options,
) -> Result<LoadedProgram, Failure> {
    program::load_optimized(
        path,
        &program::Options { format, host: Some(host), ipsets: Some(ipsets) },
        optimize,
    )
    .map_err(|e| Failure::runtime(e.message))
}

/// The loaded program prepared for `engine` (native code for the JIT).
pub fn executable(loaded: &LoadedProgram, engine: Engine) -> Result<Executable, Failure> {
    loaded.executable(engine).map_err(|e| Failure::runtime(e.message))
}
