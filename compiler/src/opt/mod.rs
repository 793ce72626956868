//! The optimizer: passes that make rule evaluation cheaper without changing what any packet
//! gets — the same verdict, the same statements run (counters, logs, marks, NAT) in the
//! same order, by the rules the source wrote.
//!
//! | pass | level | works on | does |
//! |---|---|---|---|
//! | [`fold`] | `-O1` | IR | folds constant tests: repeated tests dropped, tests of one value intersected, rules that can never match noted for `dead` |
//! | [`dead`] | `-O1` | IR (decided on bytecode) | drops rules no packet can reach: after a rule that always ends the chain, or shadowed by earlier rules that end it (never a rule whose presence turns conntrack on) |
//! | [`merge`] | `-O1` | IR | merges adjacent rules that differ in one or a few tested values into one rule with an anonymous set, a concatenation or a verdict map (what `nft -o` does); at `-O2`, not the runs `classify` takes whole |
//! | [`classify`] | `-O2` | bytecode | turns long runs of rules into one packet classifier each (a decision tree behind the `classify` expression), chosen by a cost model |
//!
//! `-O0` runs nothing (the bytecode is exactly what `nft --debug=netlink` shows); every pass
//! can be turned off by name (`--no-opt merge`). The IR passes run in the order of the table,
//! then codegen, then `classify`. Every decision is recorded in an [`Explain`] for
//! `nftvm compile --explain`.

pub mod classify;
pub mod dead;
pub mod explain;
pub mod fold;
pub mod merge;
pub mod same;

pub use explain::{Explain, Note, NoteKind};

use crate::codegen::{self, CodegenError, Compiled, Origins};
use crate::ir::Ruleset;
use nftvm_grammar::SourceMap;
use nftvm_vm::VerifiedProgram;
use std::fmt;

/// Optimization levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Nothing: the bytecode nft would send.
    #[default]
    O0,
    /// IR passes: fold, dead, merge.
    O1,
    /// Also packet classification.
    O2,
}

impl Level {
    /// `0`, `1`, `2` (as in `-O2`).
    pub fn from_name(s: &str) -> Option<Level> {
        match s {
            "0" => Some(Level::O0),
            "1" => Some(Level::O1),
            "2" | "3" | "s" => Some(Level::O2),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match self {
            Level::O0 => 0,
            Level::O1 => 1,
            Level::O2 => 2,
        };
        write!(f, "-O{n}")
    }
}

/// The passes, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    Fold,
    Dead,
    Merge,
    Classify,
}

impl Pass {
    pub const ALL: [Pass; 4] = [Pass::Fold, Pass::Dead, Pass::Merge, Pass::Classify];

    pub fn name(self) -> &'static str {
        match self {
            Pass::Fold => "fold",
            Pass::Dead => "dead",
            Pass::Merge => "merge",
            Pass::Classify => "classify",
        }
    }

    pub fn from_name(s: &str) -> Option<Pass> {
        Pass::ALL.into_iter().find(|p| p.name() == s)
    }

    /// The lowest level that runs the pass.
    pub fn level(self) -> Level {
        match self {
            Pass::Fold | Pass::Dead | Pass::Merge => Level::O1,
            Pass::Classify => Level::O2,
        }
    }
}

/// What to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub level: Level,
    /// Passes turned off (`--no-opt NAME`).
    pub disabled: Vec<Pass>,
}

impl Options {
    pub fn level(level: Level) -> Options {
        Options { level, disabled: Vec::new() }
    }

    pub fn enabled(&self, p: Pass) -> bool {
        self.level >= p.level() && !self.disabled.contains(&p)
    }

    /// Applies one command-line option: `-O0`…`-O2` (also `-O` alone for `-O2`) or a
    /// `--no-opt` value (a pass name, or several separated by commas). Errors name the
    /// valid values.
    pub fn set_level(&mut self, text: &str) -> Result<(), String> {
        let t = text.strip_prefix("-O").unwrap_or(text);
        self.level = if t.is_empty() {
            Level::O2
        } else {
            Level::from_name(t).ok_or_else(|| format!("unknown optimization level `{text}` (0, 1 or 2)"))?
        };
        Ok(())
    }

    pub fn disable(&mut self, names: &str) -> Result<(), String> {
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let p = Pass::from_name(n).ok_or_else(|| {
                let all: Vec<&str> = Pass::ALL.iter().map(|p| p.name()).collect();
                format!("unknown optimization pass `{n}` ({})", all.join(", "))
            })?;
            if !self.disabled.contains(&p) {
                self.disabled.push(p);
            }
        }
        Ok(())
    }
}

/// An optimized ruleset and its bytecode.
#[derive(Clone, Debug)]
pub struct Optimized {
    /// The ruleset after the IR passes (what `diff` compares with the source).
    pub ruleset: Ruleset,
    /// The bytecode, classifiers included.
    pub compiled: Compiled,
    pub explain: Explain,
}

/// The IR passes.
pub fn optimize_ruleset(rs: &Ruleset, opts: &Options) -> (Ruleset, Explain) {
    optimize_owned_ruleset(rs.clone(), opts)
}

/// [`optimize_ruleset`] in place, for callers done with the source ruleset (no copy).
pub fn optimize_owned_ruleset(rs: Ruleset, opts: &Options) -> (Ruleset, Explain) {
    let mut out = rs;
    let mut explain = Explain::default();
    if opts.enabled(Pass::Fold) {
        fold::run(&mut out, &mut explain);
    }
    if opts.enabled(Pass::Dead) {
        dead::run(&mut out, &mut explain);
    }
    if opts.enabled(Pass::Merge) {
        // With `classify` to come, runs it will take whole are not merged first.
        let leave = match opts.enabled(Pass::Classify) && merge::has_candidates(&out) {
            true => classify::classifiable(&out),
            false => Default::default(),
        };
        merge::run(&mut out, &mut explain, &leave);
    }
    (out, explain)
}

/// Optimizes and lowers a ruleset (with `sources`, rules carry their source text).
pub fn compile(rs: &Ruleset, sources: Option<&SourceMap>, opts: &Options) -> Result<Optimized, CodegenError> {
    compile_owned(rs.clone(), sources, opts)
}

/// [`compile`], for callers done with the source ruleset (a 10K-rule ruleset is not copied).
pub fn compile_owned(
    rs: Ruleset,
    sources: Option<&SourceMap>,
    opts: &Options,
) -> Result<Optimized, CodegenError> {
    let (ruleset, mut explain) = optimize_owned_ruleset(rs, opts);
    let mut compiled = match sources {
        Some(s) => codegen::compile_with_sources(&ruleset, s)?,
        None => codegen::compile(&ruleset)?,
    };
    if opts.enabled(Pass::Classify) {
        let reports = classify::run(&mut compiled.program);
        explain.classified(&compiled.program, &compiled.origins, reports);
    }
    Ok(Optimized { ruleset, compiled, explain })
}

/// [`compile`] and verify: what engines take.
pub fn compile_verified(
    rs: &Ruleset,
    opts: &Options,
) -> Result<(VerifiedProgram, Origins, Explain), CodegenError> {
    let o = compile(rs, None, opts)?;
    let verified = nftvm_vm::verify(o.compiled.program).map_err(CodegenError::Verify)?;
    Ok((verified, o.compiled.origins, o.explain))
}
