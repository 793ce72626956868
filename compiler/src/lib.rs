//! nftvm-compiler: syntax trees → one ruleset IR → bytecode.
//!
//! - `types`: nft datatypes (ipv4_addr, inet_service, ct_state, …): parsing symbols and
//!   literals into values, printing values canonically.
//! - `proto`: protocol header templates and the meta/ct/… key tables (what nft's proto.c,
//!   meta.c and ct.c know), shared by evaluation, printing, codegen, iptables lowering and diff.
//! - `diff`: semantic equivalence of two rulesets (counterexample packets, dead rules).
//! - `ir`: the canonical ruleset representation every later stage uses.
//! - `eval`: AST → IR with nft's semantic checks.
//! - `print`: IR → `nft list ruleset` text, nft JSON, iptables-save.
//! - `ipset`: ipset files (`ipset save`), the sets iptables' `-m set` names, as nft sets.
//! - `codegen`: IR → nf_tables-style bytecode (`nftvm_vm`).
//! - `opt`: the optimizer (`-O1`: IR passes; `-O2`: packet classification on bytecode).

pub mod check;
pub mod codegen;
pub mod diff;
pub mod eval;
pub mod ipset;
pub mod iptables;
pub mod ir;
pub mod opt;
#[cfg(test)]
mod peer_data;
pub mod print;
pub mod proto;
pub mod types;
