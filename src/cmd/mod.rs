//! One module per subcommand. `dispatch` maps a command name to its entry point.

mod list_iptables;
mod progress;
mod ruleset;
mod translate;

use crate::cli::{CmdResult, Failure};
use nftvm_compiler::iptables::Family;
use std::ffi::OsString;

pub mod bench;
pub mod check;
pub mod compile;
pub mod conntrack;
pub mod diff;
pub mod eval;
pub mod import_classbench;
pub mod list;
pub mod run;

pub fn dispatch(command: &str, args: Vec<OsString>) -> CmdResult {
    match command {
        "iptables-translate" => translate::run(Family::Ipv4, args),
        "ip6tables-translate" => translate::run(Family::Ipv6, args),
        "iptables-restore-translate" => translate::run_restore(Family::Ipv4, args),
        "ip6tables-restore-translate" => translate::run_restore(Family::Ipv6, args),
        "check" => check::run(args),
        "list" if args.first().is_some_and(|a| a == "ruleset" || a == "set" || a == "map") => {
            conntrack::list_live(args)
        }
        "list" => list::run(args),
        "run" => run::run(args),
        "conntrack" => conntrack::conntrack(args),
        "reload" => conntrack::reload(args),
        "compile" => compile::run(args),
        "eval" => eval::run(args),
        "diff" => diff::run(args),
        "bench" => bench::run(args),
        "import-classbench" => import_classbench::run(args),
        other => Err(Failure::usage(format!("nftvm: unknown command '{other}' (try 'nftvm --help')"))),
    }
}
