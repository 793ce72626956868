//! `nftvm conntrack -L|-E|-D|-F|-C|-S [filters] [--ctl PATH]`, `nftvm reload` and
//! `nftvm list ruleset`: requests to a running `nftvm run` over its control socket
//! (see `crate::ctl`), printed as `conntrack` and `nft` print them.

use std::ffi::OsString;

use crate::cli::{CmdResult, Failure};
use crate::ctl::CtlAddr;
use crate::ctl::client::{request, take_ctl};

const CONNTRACK_HELP: &str = "\
usage: nftvm conntrack COMMAND [filters] [--ctl PATH|@NAME]

The connection table of a running `nftvm run` (default control socket: @nftvm in this
network namespace), in conntrack-tools' formats.

commands
  -L, --dump       list connections          -E, --event    stream events
  -D, --delete     delete connections        -F, --flush    delete all connections
  -C, --count      count connections         -S, --stats    statistics per worker
filters
  -p PROTO, -s/-d ADDR (original source/destination), -r/-q ADDR (reply source/destination),
  --sport/--dport PORT, --reply-port-src/--reply-port-dst PORT, --state STATE, -m MARK[/MASK],
  -w ZONE, -f ipv4|ipv6, --src-nat, --dst-nat, --any-nat, --id ID, -e NEW,UPDATE,DESTROY";

/// Sends `words` (after `--ctl` is taken out of `args`) and exits as the server says.
fn forward(words: &[&str], args: Vec<OsString>) -> CmdResult {
    let (ctl, rest) = take_ctl(args)?;
    let mut req: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    req.extend(rest);
    match request(&CtlAddr::parse(ctl.as_deref()), &req)? {
        0 => Ok(()),
        code => Err(Failure { message: String::new(), code }),
    }
}

pub fn conntrack(args: Vec<OsString>) -> CmdResult {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{CONNTRACK_HELP}");
        return Ok(());
    }
    forward(&["conntrack"], args)
}

pub fn reload(args: Vec<OsString>) -> CmdResult {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: nftvm reload [--ctl PATH|@NAME]   (re-read and swap the ruleset of a running `nftvm run`)"
        );
        return Ok(());
    }
    forward(&["reload"], args)
}

/// `nftvm list ruleset|set|map … [-a] [-n] [-s] [--ctl PATH]`.
pub fn list_live(args: Vec<OsString>) -> CmdResult {
    forward(&["list"], args)
}
