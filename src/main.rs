//! The `nftvm` command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!(
                "usage: nftvm <command> [args]\n\ncommands: check list compile eval run diff bench import-classbench iptables-translate ip6tables-translate iptables-restore-translate ip6tables-restore-translate conntrack reload"
            );
            ExitCode::SUCCESS
        }
        Some(cmd) => {
            eprintln!("nftvm: unknown command '{cmd}' (try 'nftvm --help')");
            ExitCode::from(2)
        }
    }
}
