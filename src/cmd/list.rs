//! `nftvm list FILE [--format nft|json|iptables-save]`: the canonical listing of a ruleset,
//! as `nft list ruleset` prints it. `-n`/`--numeric` lists protocols as numbers (nft's
//! `-nn`), `-s`/`--stateless` leaves counter values out, `-a`/`--handle` shows handles.
//! JSON (`nft -j`, one line; `--pretty` indents it) and iptables-save output are printed by
//! their own printers ([`Format`]).

use crate::cli::{CmdResult, Failure, ipset_value, unexpected, value_str};
use crate::load::{Syntax, load};
use lexopt::prelude::*;
use nftvm_compiler::ipset::Ipsets;
use nftvm_compiler::print::{Format, ListOpts, json, nft};
use std::ffi::OsString;
use std::path::PathBuf;

const HELP: &str = "usage: nftvm list FILE [--format nft|json|iptables-save] [--syntax nft|iptables|ip6tables] [--ipset FILE] [-n] [-s] [-a] [--pretty]";

pub fn run(args: Vec<OsString>) -> CmdResult {
    let mut parser = lexopt::Parser::from_args(args);
    let mut file: Option<PathBuf> = None;
    let mut syntax = None;
    let mut ipsets = Ipsets::default();
    let mut format = Format::Nft;
    let mut opts = ListOpts::default_listing();
    let mut pretty = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("format") => {
                let v = value_str(&mut parser, "--format")?;
                format = Format::from_name(&v)
                    .ok_or_else(|| Failure::usage(format!("--format: unknown format '{v}'")))?;
            }
            Long("ipset") => {
                ipset_value(&mut parser, &mut ipsets)?;
            }
            Long("syntax") => {
                let v = value_str(&mut parser, "--syntax")?;
                syntax = Some(
                    Syntax::from_name(&v)
                        .ok_or_else(|| Failure::usage(format!("--syntax: unknown syntax '{v}'")))?,
                );
            }
            Short('n') | Long("numeric") => opts.values.numeric_proto = true,
            Short('s') | Long("stateless") => opts.stateless = true,
            Short('a') | Long("handle") => opts.handles = true,
            Long("pretty") => pretty = true,
            Short('h') | Long("help") => {
                println!("{HELP}");
                return Ok(());
            }
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(unexpected(other, "list")),
        }
    }
    let file = file.ok_or_else(|| Failure::usage(HELP))?;
    let loaded = match load(&file, syntax, &ipsets) {
        Ok(l) => l,
        Err(e) if e.invalid_input => return Err(Failure::negative(e.message)),
        Err(e) => return Err(Failure::runtime(e.message)),
    };
    match format {
        Format::Nft => print!("{}", nft::ruleset(&loaded.ruleset, &opts)),
        Format::Json if pretty => print!("{}", json::ruleset_pretty(&loaded.ruleset, &opts)),
        Format::Json => print!("{}", json::ruleset(&loaded.ruleset, &opts)),
        Format::IptablesSave => return crate::cmd::list_iptables::print(&loaded),
    }
    Ok(())
}
