//! The verifier: every program passes it before an engine sees it.
//!
//! Per rule, each expression's own rule ([`Check`]) enforces register bounds and lengths
//! (a load must fit the 64-byte register file), reads only of registers written earlier in
//! the rule, set/object references that exist with matching key and data lengths, and
//! jump/goto targets in the same table that are not base chains. Across chains, the jump
//! graph (immediate verdicts and verdict-map elements) must have no loops and no path deeper
//! than the kernel's jump stack (16). Errors name the chain, rule and expression.

pub mod check;
mod classifiers;

pub use check::Check;

use crate::expr::Expr;
use crate::program::{ChainId, Program};
use crate::set::{ElemData, SetData};
use std::fmt;

/// Kernel's `NFT_JUMP_STACK_SIZE`.
pub const JUMP_STACK_SIZE: usize = 16;

/// What is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// `family table chain`, or `set NAME` / `object NAME`.
    pub place: String,
    pub rule: Option<usize>,
    pub expr: Option<(usize, &'static str)>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(r) = self.rule {
            write!(f, ", rule {r}")?;
        }
        if let Some((i, name)) = self.expr {
            write!(f, ", expression {i} ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for VerifyError {}

/// A program that passed the verifier, with state slots assigned. Engines take only this.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedProgram {
    prog: Program,
    /// Per chain: may it run? Every chain a base chain reaches may; a chain no base chain
    /// reaches may not when it reaches a jump loop or nests jumps too deep — the kernel
    /// loads such chains, as it only checks what its hooks can run, but nothing may run
    /// them (the engines treat them as missing).
    runnable: Vec<bool>,
}

impl VerifiedProgram {
    pub fn program(&self) -> &Program {
        &self.prog
    }

    pub fn into_inner(self) -> Program {
        self.prog
    }

    /// May chain `c` run (see the field)?
    pub fn runnable(&self, c: ChainId) -> bool {
        self.runnable.get(c.index()).copied().unwrap_or(false)
    }
}

impl std::ops::Deref for VerifiedProgram {
    type Target = Program;
    fn deref(&self) -> &Program {
        &self.prog
    }
}

fn chain_place(p: &Program, c: ChainId) -> String {
    let ch = p.chain(c);
    let t = ch.and_then(|ch| p.table(ch.table));
    format!(
        "chain {} {} {}",
        t.map_or("?", |t| t.family.name()),
        t.map_or("?", |t| t.name.as_str()),
        ch.map_or("?", |c| c.name.as_str())
    )
}

/// Verifies a program.
pub fn verify(mut prog: Program) -> Result<VerifiedProgram, VerifyError> {
    verify_sets(&prog)?;
    for (ci, chain) in prog.chains.iter().enumerate() {
        let cid = ChainId(ci as u32);
        let table = prog.table(chain.table).ok_or_else(|| VerifyError {
            place: format!("chain {}", chain.name),
            rule: None,
            expr: None,
            message: "belongs to a missing table".into(),
        })?;
        for (ri, rule) in chain.rules.iter().enumerate() {
            let mut c = Check::new(&prog, table.family, cid, chain.base.as_ref());
            for (ei, e) in rule.exprs.iter().enumerate() {
                e.check(&mut c).map_err(|message| VerifyError {
                    place: chain_place(&prog, cid),
                    rule: Some(ri),
                    expr: Some((ei, e.name())),
                    message,
                })?;
            }
        }
    }
    let runnable = check_jumps(&prog)?;
    classifiers::check(&prog)?;
    crate::interp::state::assign_slots(&mut prog);
    Ok(VerifiedProgram { prog, runnable })
}

fn verify_sets(p: &Program) -> Result<(), VerifyError> {
    for s in &p.sets {
        let err = |message: String| VerifyError {
            place: format!("set {}", s.name),
            rule: None,
            expr: None,
            message,
        };
        if p.table(s.table).is_none() {
            return Err(err("belongs to a missing table".into()));
        }
        if s.key.is_empty() {
            return Err(err("has no key (its fields are declared, learnt from its first element, or from the register a lookup reads)".into()));
        }
        crate::expr::dynset::element_exprs_allowed(&s.exprs).map_err(err)?;
        let (klen, dlen) = (s.key_len(), s.data_len());
        if klen > crate::reg::DATA_BYTES || dlen > crate::reg::DATA_BYTES {
            return Err(err(format!(
                "key ({klen} bytes) or data ({dlen} bytes) longer than the register file"
            )));
        }
        for (i, e) in s.elements.iter().enumerate() {
            if e.is_catchall() {
                continue;
            }
            if e.key.len() != klen {
                return Err(err(format!("element {i} has a {}-byte key, the set {klen}", e.key.len())));
            }
            if e.key_end.as_ref().is_some_and(|k| k.len() != klen) {
                return Err(err(format!("element {i} has a range end of the wrong length")));
            }
            match (&s.data, &e.data) {
                (SetData::Value { .. }, Some(ElemData::Value(d))) if d.len() == dlen => {}
                (SetData::Verdict, Some(ElemData::Verdict(v))) => {
                    if let Some(t) = v.target() {
                        let ok = p.chain(t).is_some_and(|c| c.table == s.table && c.base.is_none());
                        if !ok {
                            return Err(err(format!("element {i} jumps to a missing or base chain")));
                        }
                    }
                }
                (SetData::Object { .. }, Some(ElemData::Object(o))) if p.object(*o).is_some() => {}
                (SetData::None, None) => {}
                (_, None) if e.is_interval_end() => {}
                _ => return Err(err(format!("element {i} data does not match the set's data type"))),
            }
        }
    }
    Ok(())
}

/// Jump/goto edges out of a chain: immediate verdicts and verdict maps it looks up.
fn edges(p: &Program, c: ChainId) -> Vec<(ChainId, usize, usize)> {
    let mut out = Vec::new();
    let Some(chain) = p.chain(c) else { return out };
    for (ri, r) in chain.rules.iter().enumerate() {
        for (ei, e) in r.exprs.iter().enumerate() {
            match e {
                Expr::Immediate(i) => {
                    if let crate::expr::immediate::ImmValue::Verdict(v) = i.value
                        && let Some(t) = v.target()
                    {
                        out.push((t, ri, ei));
                    }
                }
                Expr::Lookup(l) if l.dreg.is_some_and(|d| d.is_verdict()) => {
                    if let Some(s) = p.set(l.set) {
                        for el in &s.elements {
                            if let Some(ElemData::Verdict(v)) = &el.data
                                && let Some(t) = v.target()
                            {
                                out.push((t, ri, ei));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Jump loops and depth, as the kernel checks them: from every base chain (an error there);
/// per chain, whether it may run (see [`VerifiedProgram`]).
fn check_jumps(p: &Program) -> Result<Vec<bool>, VerifyError> {
    // 0 = unvisited, 1 = on the DFS stack, 2 = done, 3 = reaches a loop; depth = longest
    // path below a chain.
    let n = p.chains.len();
    let mut state = vec![0u8; n];
    let mut depth = vec![0usize; n];
    fn dfs(p: &Program, c: ChainId, state: &mut [u8], depth: &mut [usize]) -> Result<usize, VerifyError> {
        let i = c.index();
        match state[i] {
            2 => return Ok(depth[i]),
            1 | 3 => {
                return Err(VerifyError {
                    place: chain_place(p, c),
                    rule: None,
                    expr: None,
                    message: "jump loop: the chain is reached from itself".into(),
                });
            }
            _ => {}
        }
        state[i] = 1;
        let mut d = 0;
        for (t, ri, ei) in edges(p, c) {
            let below = dfs(p, t, state, depth).map_err(|mut e| {
                if e.rule.is_none() && e.message.starts_with("jump loop") {
                    e.place = chain_place(p, c);
                    e.rule = Some(ri);
                    e.expr = Some((ei, "immediate"));
                }
                e
            })?;
            d = d.max(below + 1);
        }
        state[i] = 2;
        depth[i] = d;
        Ok(d)
    }
    let bases = (0..n).filter(|&c| p.chains[c].base.is_some());
    let others = (0..n).filter(|&c| p.chains[c].base.is_none());
    for c in bases.chain(others) {
        let cid = ChainId(c as u32);
        let base = p.chains[c].base.is_some();
        match dfs(p, cid, &mut state, &mut depth) {
            Ok(d) if d >= JUMP_STACK_SIZE && base => {
                return Err(VerifyError {
                    place: chain_place(p, cid),
                    rule: None,
                    expr: None,
                    message: format!("jumps nest {d} chains deep (the limit is {})", JUMP_STACK_SIZE - 1),
                });
            }
            Ok(_) => {}
            Err(e) if base => return Err(e),
            // A chain no base chain reaches: the chains on the path to the loop reach it.
            Err(_) => state.iter_mut().filter(|s| **s == 1).for_each(|s| *s = 3),
        }
    }
    Ok((0..n).map(|c| state[c] == 2 && depth[c] < JUMP_STACK_SIZE).collect())
}
