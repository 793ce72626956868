//! `nftvm import-classbench RULES`: a ClassBench filter file (wustl 5-field or db_generator
//! 6-field form, `../shared/classbench/SOURCES.md`) printed as an nft ruleset in which
//! filter *i* sets `meta mark` to *i* and accepts ([`nftvm::classbench::to_nft`]).
//! A malformed line is an error naming `file:line` (exit 1).

use crate::cli::{CmdResult, Failure, unexpected};
use lexopt::prelude::*;
use nftvm::classbench;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
usage: nftvm import-classbench RULES [--action mark-accept|accept-drop|jump|mark]

Prints the ClassBench filter file RULES as an nft ruleset (table ip classbench, chain
filter on prerouting): filter i (1-based, in file order) becomes a rule that sets
meta mark to i and accepts, so the first matching filter is observable as the mark.
--action gives the rules other actions (as `nftvm bench classbench --action`):
accept-drop (accept, every third filter drops), jump (to one of four chains that set
mark 1-4 and accept) or mark (meta mark set i, and on to the next rule).";

pub fn run(args: Vec<OsString>) -> CmdResult {
    let mut parser = lexopt::Parser::from_args(args);
    let mut rules: Option<PathBuf> = None;
    let mut action = classbench::Action::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("action") => action = crate::cli::classbench_action(&mut parser, "import-classbench")?,
            Short('h') | Long("help") => {
                println!("{HELP}");
                return Ok(());
            }
            Value(v) if rules.is_none() => rules = Some(PathBuf::from(v)),
            other => return Err(unexpected(other, "import-classbench")),
        }
    }
    let path =
        rules.ok_or_else(|| Failure::usage(format!("nftvm import-classbench: missing RULES\n{HELP}")))?;
    let filters = read_filters(&path)?;
    let mut out = std::io::stdout().lock();
    match out.write_all(classbench::to_nft_with(&filters, action).as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::runtime(format!("nftvm import-classbench: writing: {e}"))),
    }
}

/// Reads and parses a filter file; errors name `file:line`.
pub fn read_filters(path: &std::path::Path) -> Result<Vec<classbench::Filter>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::runtime(format!("nftvm: cannot read {}: {e}", path.display())))?;
    classbench::parse_filters(&text)
        .map_err(|e| Failure::negative(format!("{}:{}: {}", path.display(), e.line, e.message)))
}
