//! Codegen: a checked [`crate::ir::Ruleset`] → an nf_tables-style [`nftvm_vm::Program`],
//! choosing exactly the expressions `nft` would send to the kernel for the same ruleset, so
//! that the disassembly matches `nft --debug=netlink` line for line.
//!
//! nft splits this work between its evaluation step (byte order conversions, bit-field
//! masks and shifts, singleton-set folding, anonymous set declarations, interval encoding)
//! and `netlink_linearize.c` (register allocation, one kernel expression per operation). The
//! IR keeps the user's meaning; everything that only exists for the bytecode is decided
//! here:
//!
//! - [`program`]: tables, chains (base chains with hook/priority/policy), named sets and
//!   maps with their elements, stateful objects; then every rule.
//! - [`rule`]: one rule, statement by statement, after [`reduce`] (nft's `stmt_reduce`:
//!   merging of adjacent payload matches, dropping `meta protocol` tests the family implies).
//! - [`regs`]: nft's register allocator (128-bit registers for single values, consecutive
//!   32-bit registers for concatenations).
//! - [`load`]: packet and state loads (payload incl. inner tunnels and bit fields, exthdr,
//!   meta, ct, rt, fib, socket, osf, numgen, hash, xfrm, tunnel).
//! - [`expr`]: constants, bitwise operators, concatenations and map lookups into registers.
//! - [`relational`]: matches — `cmp`, `range`, `lookup` (inverted), prefixes, flag tests,
//!   host → network byte order conversion where nft does it.
//! - [`set`] and [`interval`]: anonymous and named sets and maps (flags, key fields,
//!   element encoding with interval end markers, concatenated ranges, catch-all);
//!   [`lookup`]: map lookups (data, verdict).
//! - [`stmt`], [`nat`], [`mod@write`], [`dynset`]: every other statement.
//! - [`data`]: IR values → register data with the byte order nft prints them in.
//! - [`origin`]: the source map from each rule's [`nftvm_vm::SourceId`] back to its IR span
//!   (`file:line` for traces).
//!
//! # What engines can rely on
//!
//! - Every rule's `source` indexes [`Origins`]; `comment` is its source text when compiled
//!   with [`compile_with_sources`]. Rules appear in IR order; chains/sets/objects in table
//!   creation order, anonymous sets right after the named ones they follow in lowering.
//! - Anonymous sets are ordinary [`nftvm_vm::set::Set`]s named `__set%d`/`__map%d`/
//!   `__objmap%d` (not unique: refer to them by id) with ANONYMOUS|CONSTANT flags.
//! - Interval sets hold kernel segments: start elements and `INTERVAL_END` elements at
//!   `high + 1`, keys big-endian; host-order integer keys are converted (`byteorder hton`)
//!   before interval lookups and ranges, so such sets' key fields are network order.
//!   Concatenated ranges (flag CONCAT) carry `key` and `key_end` per element instead.
//! - Concatenations occupy consecutive 32-bit words (each member padded); map lookups write
//!   their data into the register the key was loaded into; NAT from maps reads address,
//!   port and range ends from consecutive words (`addr_min reg 1 addr_max reg 10 …`).
//! - Stateful expressions (counter, limit, quota, last, connlimit, numgen) carry slot 0;
//!   the verifier assigns slots. `flow add` has no VM expression and is a codegen error.

pub mod data;
pub mod dynset;
pub mod error;
pub mod expr;
pub mod interval;
pub mod load;
pub mod lookup;
pub mod nat;
pub mod origin;
pub mod program;
pub mod reduce;
pub mod regs;
pub mod relational;
pub mod rule;
pub mod set;
pub mod stmt;
pub mod write;

#[cfg(test)]
mod tests;

pub use error::CodegenError;
pub use origin::{Origins, RuleOrigin};

use crate::ir::Ruleset;
use nftvm_grammar::SourceMap;
use nftvm_vm::{Program, VerifiedProgram};

/// The bytecode of a ruleset and the way back from its rules to the source.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub program: Program,
    /// `SourceId` → table, chain, position and span of the IR rule.
    pub origins: Origins,
}

/// Lower a ruleset to bytecode. Rules carry no `# …` comment (no source text is known).
pub fn compile(ruleset: &Ruleset) -> Result<Compiled, CodegenError> {
    program::lower(ruleset, None)
}

/// Lower a ruleset whose spans point into `sources`: each rule's comment is its source text
/// (what the `# …` line of a `.payload` block shows).
pub fn compile_with_sources(ruleset: &Ruleset, sources: &SourceMap) -> Result<Compiled, CodegenError> {
    program::lower(ruleset, Some(sources))
}

/// [`compile`] and run the verifier: what engines take.
pub fn compile_verified(ruleset: &Ruleset) -> Result<(VerifiedProgram, Origins), CodegenError> {
    let c = compile(ruleset)?;
    let verified = nftvm_vm::verify(c.program).map_err(CodegenError::Verify)?;
    Ok((verified, c.origins))
}
