//! One module per subcommand. `dispatch` maps a command name to its entry point.

use crate::cli::{CmdResult, Failure};
use std::ffi::OsString;

pub mod check;
pub mod list;

pub fn dispatch(command: &str, args: Vec<OsString>) -> CmdResult {
    match command {
        "check" => check::run(args),
        "list" => list::run(args),
        "compile"
        | "iptables-translate"
        | "ip6tables-translate"
        | "iptables-restore-translate"
        | "ip6tables-restore-translate"
        | "diff"
        | "eval"
        | "run"
        | "conntrack"
        | "reload"
        | "bench"
        | "import-classbench" => Err(Failure::runtime(format!("nftvm {command}: not implemented yet"))),
        other => Err(Failure::usage(format!("nftvm: unknown command '{other}' (try 'nftvm --help')"))),
    }
}
