//! nftvm-vm: the nf_tables-style bytecode, its verifier and disassembler, set backends,
//! and the engines that run it (interpreter; Cranelift JIT).

pub mod keys;
