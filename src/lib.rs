//! nftvm: a userspace netfilter. This facade re-exports the workspace crates and holds what
//! every subcommand shares: reading a ruleset file ([`load`]) and turning it into a program
//! an engine runs ([`program`]). The `nftvm` binary (src/main.rs) is the command-line
//! interface described in the README.

pub mod bench;
pub mod classbench;
pub mod live;
pub mod load;
mod load_iptables;
pub mod program;

pub use nftvm_compiler as compiler;
pub use nftvm_grammar as grammar;
pub use nftvm_runtime as runtime;
pub use nftvm_vm as vm;
