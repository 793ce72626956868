//! The Cranelift JIT: verified bytecode compiled to native code, with the interpreter's
//! semantics exactly (same verdicts, deciding rule, trace, registers, packet bytes, state
//! and environment requests).
//!
//! What is native: rule and chain control flow (jumps, gotos, returns as calls between
//! chain functions, the 16-deep jump stack as a depth argument), payload loads bounds-checked
//! against the packet length, `cmp`, `range`, `bitwise`, `byteorder`, `immediate`, the
//! metadata the VM derives itself (`meta len/protocol/nfproto/l4proto`), and lookups in small
//! constant (anonymous) sets and verdict maps; `ct`/`meta` loads and sets of short keys are
//! one direct call into the runtime's `Env`. Everything else — stateful expressions, sets
//! that change, longer conntrack and metadata keys, NAT, payload writes … — calls
//! [`helpers`], which run the interpreter's own expression code on the same register file.
//!
//! Use: [`JitProgram::compile`] once per loaded program, then [`run_chain_into`] per packet (or
//! [`crate::Engine`]/[`crate::Executable`] to choose the engine at run time).

mod abi;
mod chain;
mod classify;
mod compile;
mod emit;
mod exprs;
mod helpers;
mod program;
mod query;
mod run;
mod sets;
mod template;

pub use classify::runs_natively;
pub use program::{Disassembly, JitProgram, JitStats};
pub use run::run_chain_into;

use crate::verify::VerifiedProgram;
use std::fmt;
use std::sync::Arc;

/// Why a program could not be compiled (an unsupported host, or a Cranelift error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitError(pub String);

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JIT compilation failed: {}", self.0)
    }
}

impl std::error::Error for JitError {}

/// How hard Cranelift optimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptLevel {
    /// Fast compilation (`none`, single-pass register allocation).
    None,
    /// Fast code (`speed`).
    Speed,
    /// `Speed`, unless the program is so large that compile time would matter.
    #[default]
    Auto,
}

/// Compilation settings.
#[derive(Clone, Debug)]
pub struct JitOptions {
    pub opt_level: OptLevel,
    /// With [`OptLevel::Auto`], the most expressions compiled with `speed`.
    pub auto_speed_max_exprs: usize,
    /// With [`OptLevel::Auto`], the most expressions of any one function compiled with
    /// `speed` (register allocation for speed grows faster than linearly with a function's
    /// size: a classified 10K-rule chain is one function).
    pub auto_speed_max_function_exprs: usize,
    /// Chains longer than this are split into functions of this many rules.
    pub segment_rules: usize,
    /// Most elements of an exact-key anonymous set compiled inline.
    pub inline_set_max: usize,
    /// Most ranges of an anonymous interval set compiled inline.
    pub inline_ranges_max: usize,
    /// Run Cranelift's IR verifier (tests).
    pub verify_ir: bool,
    /// Keep each function's machine code as text ([`JitProgram::disassembly`]).
    pub disasm: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            opt_level: OptLevel::Auto,
            auto_speed_max_exprs: 20_000,
            auto_speed_max_function_exprs: 4_096,
            segment_rules: 256,
            inline_set_max: 256,
            inline_ranges_max: 16,
            verify_ir: false,
            disasm: false,
        }
    }
}

impl JitProgram {
    /// Compiles every chain of `prog` with the default options.
    pub fn compile(prog: Arc<VerifiedProgram>) -> Result<JitProgram, JitError> {
        compile::compile(prog, &JitOptions::default())
    }

    /// Compiles with explicit options.
    pub fn compile_with(prog: Arc<VerifiedProgram>, opts: &JitOptions) -> Result<JitProgram, JitError> {
        compile::compile(prog, opts)
    }
}
