//! One module per subcommand. `dispatch` maps a command name to its entry point.

mod list_iptables;
mod translate;

use crate::cli::{CmdResult, Failure};
use nftvm_compiler::iptables::Family;
use std::ffi::OsString;

pub mod check;
pub mod compile;
pub mod diff;
pub mod eval;
pub mod list;

pub fn dispatch(command: &str, args: Vec<OsString>) -> CmdResult {
    match command {
        "iptables-translate" => translate::run(Family::Ipv4, args),
        "ip6tables-translate" => translate::run(Family::Ipv6, args),
        "iptables-restore-translate" => translate::run_restore(Family::Ipv4, args),
        "ip6tables-restore-translate" => translate::run_restore(Family::Ipv6, args),
        "check" => check::run(args),
        "list" => list::run(args),
        "compile" => compile::run(args),
        "eval" => eval::run(args),
        "diff" => diff::run(args),
        "run" | "conntrack" | "reload" | "bench" | "import-classbench" => {
            Err(Failure::runtime(format!("nftvm {command}: not implemented yet")))
        }
        other => Err(Failure::usage(format!("nftvm: unknown command '{other}' (try 'nftvm --help')"))),
    }
}
