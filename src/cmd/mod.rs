//! One module per subcommand. `dispatch` maps a command name to its entry point.

pub mod eval;

use crate::cli::{CmdResult, Failure};
use std::ffi::OsString;

pub fn dispatch(command: &str, args: Vec<OsString>) -> CmdResult {
    match command {
        "eval" => eval::run(args),
        "check"
        | "list"
        | "compile"
        | "iptables-translate"
        | "ip6tables-translate"
        | "iptables-restore-translate"
        | "ip6tables-restore-translate"
        | "diff"
        | "run"
        | "conntrack"
        | "reload"
        | "bench"
        | "import-classbench" => Err(Failure::runtime(format!("nftvm {command}: not implemented yet"))),
        other => Err(Failure::usage(format!("nftvm: unknown command '{other}' (try 'nftvm --help')"))),
    }
}
