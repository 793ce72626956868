//! `nftvm check FILE`: parse, validate and compile a ruleset (`nft -c -f`: what the kernel
//! would refuse at load is refused here too, codegen's refusals included). Exit 0 when
//! valid, 1 with every diagnostic on stderr otherwise, 2 on bad usage or I/O errors.

use crate::cli::{CmdResult, Failure, ipset_value, unexpected, value_str};
use crate::load::Syntax;
use lexopt::prelude::*;
use nftvm::program::{Format, Options, load};
use nftvm_compiler::ipset::Ipsets;
use std::ffi::OsString;
use std::path::PathBuf;

const HELP: &str = "usage: nftvm check FILE [--syntax nft|iptables|ip6tables] [--ipset FILE]";

pub fn run(args: Vec<OsString>) -> CmdResult {
    let mut parser = lexopt::Parser::from_args(args);
    let mut file: Option<PathBuf> = None;
    let mut syntax = None;
    let mut ipsets = Ipsets::default();
    while let Some(arg) = parser.next()? {
        match arg {
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
            Short('h') | Long("help") => {
                println!("{HELP}");
                return Ok(());
            }
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(unexpected(other, "check")),
        }
    }
    let file = file.ok_or_else(|| Failure::usage(HELP))?;
    let opts = Options { format: syntax.map(Format::from), host: None, ipsets: Some(&ipsets) };
    match load(&file, &opts) {
        Ok(_) => Ok(()),
        Err(e) if e.invalid_input => Err(Failure::negative(e.message)),
        Err(e) => Err(Failure::runtime(e.message)),
    }
}
