//! nftvm-vm: the nf_tables-style bytecode, its text format (disassembler and assembler in
//! the exact `nft --debug=netlink` format), its verifier, set backends, and the engines that
//! run it (the interpreter, and the Cranelift JIT in [`jit`] with the same semantics;
//! [`Executable`] runs either, chosen by [`Engine`]).
//!
//! The pipeline for an engine: build or [`text::assemble`] a [`Program`], [`verify`] it,
//! create a [`interp::ProgramState`], then [`interp::run_chain`] per packet and hook chain
//! with a [`interp::PacketCtx`] and the runtime's [`interp::Env`].
//!
//! [`verify`]: fn@verify

pub mod calendar;
pub mod classify;
pub mod data;
pub mod engine;
pub mod expr;
pub mod flowtable;
pub mod interp;
pub mod jit;
pub mod keys;
pub mod object;
pub mod program;
pub mod reg;
pub mod set;
pub mod text;
pub mod verdict;
pub mod verify;

pub use data::{ByteOrder, Data, Field};
pub use engine::{Engine, Executable};
pub use expr::Expr;
pub use program::{
    BaseChain, Chain, ChainId, ChainKind, ClassifierId, FlowtableId, ObjId, Policy, Program, Rule, SetId,
    SourceId, Table, TableId,
};
pub use reg::Reg;
pub use verdict::Verdict;
pub use verify::{VerifiedProgram, VerifyError, verify};
