//! `nftvm diff A B [--max N] [--json] [--explain]`: do two rulesets (any mix of syntaxes)
//! give every packet the same fate? Exit 0 when equivalent; 1 with counterexample packets
//! (each with both fates and the deciding rules as `file:line`); 2 on errors, including
//! "cannot decide: <construct> at file:line" for what the engine cannot model exactly.
//!
//! `--explain` also lists the rules of either ruleset that can never match, with the rules
//! that shadow them. The engine is `nftvm_compiler::diff`.

use crate::cli::{CmdResult, Failure, unexpected, value_str};
use crate::load::{Loaded, Syntax, load};
use lexopt::prelude::*;
use nftvm_compiler::diff::{self, DeadRule, Options, Report, Side, Undecidable, report};
use nftvm_grammar::{SourceMap, Span};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::PathBuf;

const HELP: &str = "\
usage: nftvm diff A B [--max N] [--json] [--explain] [--syntax nft|iptables|ip6tables]

Compares two rulesets (nft or iptables-save, detected per file) for every packet
context and hook either registers at: the final verdict, NAT, marks and other
effects. Exit 0: equivalent; 1: different (counterexample packets on stdout);
2: error, or the engine cannot decide (the construct and its place on stderr).

  --max N      at most N counterexamples (default 3)
  --json       one JSON object on stdout
  --explain    also list rules that can never match, and what shadows them
  --syntax S   force the syntax of both files";

struct Args {
    files: Vec<PathBuf>,
    max: usize,
    json: bool,
    explain: bool,
    syntax: Option<Syntax>,
}

fn parse(args: Vec<OsString>) -> Result<Option<Args>, Failure> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut a = Args { files: Vec::new(), max: 3, json: false, explain: false, syntax: None };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("max") => {
                let v = value_str(&mut parser, "--max")?;
                a.max =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Failure::usage(format!("--max: expected a positive number, got '{v}'"))
                    })?;
            }
            Long("json") => a.json = true,
            Long("explain") => a.explain = true,
            Long("syntax") => {
                let v = value_str(&mut parser, "--syntax")?;
                a.syntax = Some(
                    Syntax::from_name(&v)
                        .ok_or_else(|| Failure::usage(format!("--syntax: unknown syntax '{v}'")))?,
                );
            }
            Short('h') | Long("help") => {
                println!("{HELP}");
                return Ok(None);
            }
            Value(v) if a.files.len() < 2 => a.files.push(PathBuf::from(v)),
            other => return Err(unexpected(other, "diff")),
        }
    }
    if a.files.len() != 2 {
        return Err(Failure::usage(HELP));
    }
    Ok(Some(a))
}

fn load_one(path: &PathBuf, syntax: Option<Syntax>) -> Result<Loaded, Failure> {
    load(path, syntax).map_err(|e| Failure::runtime(e.message))
}

/// `file:line` of a span of either ruleset.
fn locator<'a>(a: &'a SourceMap, b: &'a SourceMap) -> impl Fn(Side, Span) -> String + 'a {
    move |side, span| {
        let map = if side == Side::A { a } else { b };
        if map.files().nth(span.file.0 as usize).is_none() {
            return "<generated>".to_string();
        }
        map.location(span).to_string()
    }
}

fn undecidable(e: &Undecidable, loc: &dyn Fn(Side, Span) -> String) -> Failure {
    Failure::runtime(format!("nftvm diff: {e} at {}", loc(e.side, e.span)))
}

pub fn run(args: Vec<OsString>) -> CmdResult {
    let Some(args) = parse(args)? else { return Ok(()) };
    let a = load_one(&args.files[0], args.syntax)?;
    let b = load_one(&args.files[1], args.syntax)?;
    let loc = locator(&a.sources, &b.sources);
    let result: Report =
        diff::diff(&a.ruleset, &b.ruleset, &Options { max: args.max }).map_err(|e| undecidable(&e, &loc))?;
    let mut dead: Vec<DeadRule> = Vec::new();
    if args.explain {
        dead.extend(diff::explain(&a.ruleset, Side::A).map_err(|e| undecidable(&e, &loc))?);
        dead.extend(diff::explain(&b.ruleset, Side::B).map_err(|e| undecidable(&e, &loc))?);
    }
    if args.json {
        let ces: Vec<Value> =
            result.counterexamples.iter().map(|c| report::counterexample_json(c, &loc)).collect();
        let mut out = json!({
            "equivalent": result.equivalent(),
            "a": args.files[0].to_string_lossy(),
            "b": args.files[1].to_string_lossy(),
            "counterexamples": ces,
        });
        if args.explain {
            out["dead"] = Value::Array(dead.iter().map(|d| report::dead_json(d, &loc)).collect());
        }
        println!("{out}");
    } else {
        if result.equivalent() {
            println!("equivalent");
        } else {
            print!("{}", report::render_text(&result, &loc));
        }
        if args.explain {
            if dead.is_empty() {
                println!("every rule can match");
            } else {
                print!("{}", report::render_dead(&dead, &loc));
            }
        }
    }
    if result.equivalent() { Ok(()) } else { Err(Failure::negative(String::new())) }
}
