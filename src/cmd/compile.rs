//! `nftvm compile FILE [--emit bytecode|ir|json|asm]`: the bytecode of every rule, as
//! `nft --debug=netlink` prints it.
//!
//! - `bytecode` (default): per rule a `.payload`-style block — `# source text`, the
//!   anonymous sets it declares (declaration, element header, elements), the
//!   `family table chain` line and one `[ … ]` line per expression — blocks separated by a
//!   blank line.
//! - `ir`: a debug dump of the checked IR the bytecode is generated from.
//! - `json`: the program as JSON: tables, chains (hook, priority, policy), sets with their
//!   elements, per rule its source location and expression lines, and the classifiers.
//! - `asm`: the JIT's machine code for the program, function by function (a chain, or the
//!   segments of a long chain and their driver), as Cranelift prints it: what
//!   `nftvm run --engine jit` executes.
//!
//! The program is verified before it is printed; a program the verifier rejects is an
//! internal error (exit 2).
//!
//! `-O1`/`-O2` (default `-O0`, exactly what nft sends) print the optimized program: merged
//! rules with their sets and maps, classified runs with their `classify` expression and,
//! after the rules, each classifier's definition (recipes, fields, per rule its boxes: what
//! the decision tree is built from);
//! `--no-opt NAME` turns a pass off; `--explain` adds, on stderr, one line per decision
//! (`file:line: merged …`, `dropped: shadowed …`, `classified …`).

use crate::cli::{CmdResult, Failure, ipset_value, no_opt, opt_level, optimizer_help, unexpected, value_str};
use crate::load::{Syntax, load};
use lexopt::prelude::*;
use nftvm_compiler::codegen::Compiled;
use nftvm_compiler::ipset::Ipsets;
use nftvm_compiler::opt;
use nftvm_grammar::SourceMap;
use nftvm_vm::classify;
use nftvm_vm::text::{block, elements};
use nftvm_vm::{ChainId, Program};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::PathBuf;

const HELP: &str = "usage: nftvm compile FILE [--emit bytecode|ir|json|asm] [--syntax nft|iptables|ip6tables] [--ipset FILE] [-O0|-O1|-O2] [--no-opt NAME[,NAME]] [--explain]";

/// What to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Emit {
    Bytecode,
    Ir,
    Json,
    Asm,
}

pub fn run(args: Vec<OsString>) -> CmdResult {
    let mut parser = lexopt::Parser::from_args(args);
    let mut file: Option<PathBuf> = None;
    let mut syntax = None;
    let mut ipsets = Ipsets::default();
    let mut emit = Emit::Bytecode;
    let mut optimize = opt::Options::default();
    let mut explain = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('O') => opt_level(&mut parser, &mut optimize)?,
            Long("no-opt") => no_opt(&mut parser, &mut optimize)?,
            Long("explain") => explain = true,
            Long("emit") => {
                let v = value_str(&mut parser, "--emit")?;
                emit = match v.as_str() {
                    "bytecode" => Emit::Bytecode,
                    "ir" => Emit::Ir,
                    "json" => Emit::Json,
                    "asm" => Emit::Asm,
                    _ => {
                        return Err(Failure::usage(format!(
                            "--emit: unknown output '{v}' (bytecode, ir, json, asm)"
                        )));
                    }
                };
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
            Short('h') | Long("help") => {
                println!(
                    "{HELP}\n{}\n  --explain                  say what the optimizer did, rule by rule (stderr)",
                    optimizer_help("-O0")
                );
                return Ok(());
            }
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(unexpected(other, "compile")),
        }
    }
    let file = file.ok_or_else(|| Failure::usage(HELP))?;
    let mut loaded = match load(&file, syntax, &ipsets) {
        Ok(l) => l,
        Err(e) if e.invalid_input => return Err(Failure::negative(e.message)),
        Err(e) => return Err(Failure::runtime(e.message)),
    };
    let ruleset = std::mem::take(&mut loaded.ruleset);
    let optimized = opt::compile_owned(ruleset, Some(&loaded.sources), &optimize).map_err(|e| {
        // At the rule's place, as `eval` and `run` report it.
        let e = nftvm::program::codegen_error(&e, &loaded.sources);
        if e.invalid_input { Failure::negative(e.message) } else { Failure::runtime(e.message) }
    })?;
    if explain {
        eprint!("{}", optimized.explain.render(&loaded.sources));
    }
    if emit == Emit::Ir {
        println!("{:#?}", optimized.ruleset);
        return Ok(());
    }
    let compiled = optimized.compiled;
    let verified = nftvm_vm::verify(compiled.program.clone()).map_err(|e| {
        Failure::runtime(format!("Internal error: generated bytecode fails verification: {e}\n"))
    })?;
    match emit {
        Emit::Bytecode => print!("{}", bytecode(&compiled.program)),
        Emit::Asm => print!("{}", asm(verified)?),
        _ => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&compiled, &loaded.sources)).unwrap_or_default()
        ),
    }
    Ok(())
}

/// The JIT's machine code for `prog`, function by function.
fn asm(verified: nftvm_vm::VerifiedProgram) -> Result<String, Failure> {
    use nftvm_vm::jit::{JitOptions, JitProgram};
    let opts = JitOptions { disasm: true, ..JitOptions::default() };
    let jit = JitProgram::compile_with(std::sync::Arc::new(verified), &opts)
        .map_err(|e| Failure::runtime(format!("Error: the jit engine cannot run this ruleset: {e}\n")))?;
    let mut out = String::new();
    for f in jit.disassembly() {
        out.push_str(&format!("; {}\n{}\n", f.what, f.code));
    }
    Ok(out)
}

/// Every rule's block, in program order, then every classifier's definition.
fn bytecode(p: &Program) -> String {
    let mut out = String::new();
    for (i, chain) in p.chains.iter().enumerate() {
        for rule in &chain.rules {
            block::print(p, ChainId(i as u32), rule, None, None, &mut out);
            out.push('\n');
        }
    }
    for c in &p.classifiers {
        out.push_str(&classify::text::print(p, c));
        out.push('\n');
    }
    out
}

/// The program as JSON.
fn to_json(c: &Compiled, sources: &SourceMap) -> Value {
    let p = &c.program;
    let table = |id: nftvm_vm::TableId| p.table(id).map_or(json!(null), |t| json!([t.family.name(), t.name]));
    let tables: Vec<Value> =
        p.tables.iter().map(|t| json!({"family": t.family.name(), "name": t.name})).collect();
    let sets: Vec<Value> = p
        .sets
        .iter()
        .enumerate()
        .map(|(id, s)| {
            let elems: Vec<String> = s.elements.iter().map(|e| elements::element_text(p, s, e)).collect();
            json!({
                "id": id,
                "name": s.name,
                "table": table(s.table),
                "declaration": elements::decl_line(p, s),
                "elements": elems,
            })
        })
        .collect();
    let chains: Vec<Value> = p
        .chains
        .iter()
        .map(|ch| {
            let base = ch.base.as_ref().map(|b| {
                json!({
                    "type": b.kind.name(),
                    "hook": b.hook.name(),
                    "priority": b.priority,
                    "policy": b.policy.name(),
                    "device": b.device,
                })
            });
            let rules: Vec<Value> = ch
                .rules
                .iter()
                .map(|r| {
                    let location = c.origins.location(r.source, sources).map(|l| l.to_string());
                    let anon: Vec<u32> = block::rule_anon_sets(p, r).into_iter().map(|s| s.0).collect();
                    let exprs: Vec<String> = r.exprs.iter().map(|e| e.line(p).trim().to_string()).collect();
                    json!({
                        "source": r.source.0,
                        "location": location,
                        "text": r.comment,
                        "anonymous_sets": anon,
                        "exprs": exprs,
                    })
                })
                .collect();
            json!({"table": table(ch.table), "name": ch.name, "base": base, "rules": rules})
        })
        .collect();
    let classifiers: Vec<Value> = p
        .classifiers
        .iter()
        .map(|c| json!({"name": c.name, "definition": classify::text::print(p, c).lines().collect::<Vec<_>>()}))
        .collect();
    json!({"tables": tables, "sets": sets, "chains": chains, "classifiers": classifiers})
}
