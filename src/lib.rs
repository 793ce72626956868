//! nftvm: a userspace netfilter. This facade re-exports the workspace crates; the `nftvm`
//! binary (src/main.rs) is the command-line interface described in the README.

pub mod bench;
pub mod classbench;

pub use nftvm_compiler as compiler;
pub use nftvm_grammar as grammar;
pub use nftvm_runtime as runtime;
pub use nftvm_vm as vm;
