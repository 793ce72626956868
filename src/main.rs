//! The `nftvm` command line. Each subcommand lives in its own module under `cmd/`; this file
//! only dispatches and turns failures into exit codes (see `cli.rs`).

mod cli;
mod cmd;
mod ctl;

use nftvm::load;

use std::process::ExitCode;

const USAGE: &str = "\
usage: nftvm <command> [options]

rulesets
  check FILE                      parse and validate a ruleset (nft -c -f)
  list FILE [--format F]          canonical listing: nft (default), json, iptables-save
  compile FILE [--emit E]         bytecode in nft --debug=netlink form; ir, json

translation and equivalence
  iptables-translate ARGS...      one iptables command line as nft
  ip6tables-translate ARGS...
  iptables-restore-translate -f FILE
  ip6tables-restore-translate -f FILE
  diff A B                        do two rulesets give every packet the same fate?

packets
  eval RULESET --pcap IN          offline replay through the hook pipeline
  run RULESET --tun NAME=ADDR/LEN ...   live filtering/NAT between TUN devices
  conntrack -L|-E|-D|-F|-C|-S     the connection table of a running instance
  list ruleset                    the running ruleset with live counters and set elements
  list set|map [FAMILY] TABLE NAME   one set of it
  reload                          re-read and swap the running ruleset
  bench ...                       rule-evaluation benchmark (interpreter vs JIT)
  import-classbench RULES         a ClassBench filter file as an nft ruleset

Every command that reads a ruleset accepts --syntax nft|iptables|ip6tables (default: detect).
Run 'nftvm <command> --help' for a command's options.";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(command) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let command = command.to_string_lossy().into_owned();
    let rest: Vec<std::ffi::OsString> = args.collect();
    let result = match command.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "-V" | "--version" => {
            println!("nftvm {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => cmd::dispatch(other, rest),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprint!("{}", failure.message);
                if !failure.message.ends_with('\n') {
                    eprintln!();
                }
            }
            failure.exit_code()
        }
    }
}
