//! One rule: its statements (after [`super::reduce`]) lowered in order into a flat list of
//! expressions, with a fresh register allocator.

use super::error::LResult;
use super::program::Cx;
use super::reduce::reduce;
use super::regs::{Regs, reg};
use crate::ir::{self, Span};
use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::Family;
use nftvm_vm::{Expr as VmExpr, Reg, Rule};

/// The state of lowering one rule.
pub(crate) struct Gen<'a, 'r> {
    pub cx: &'a mut Cx<'r>,
    /// Index of the rule's table in the ruleset.
    pub t: usize,
    pub family: Family,
    pub out: Vec<VmExpr>,
    pub regs: Regs,
}

/// How a bit field (`ip dscp`, `tcp doff`) is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Compared with constants (`cmp`, `range`, anonymous sets): only masked; the constants
    /// are shifted into place instead (nft's `binop_transfer`).
    Match,
    /// Used as a value (named set keys, concatenations, statement arguments): masked,
    /// converted to host order when wider than a byte, and shifted down.
    Value,
}

/// One part of what a register holds: the whole value, or one member of a concatenation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Part {
    pub ty: Type,
    /// Bytes the part occupies in the register (before padding to a word).
    pub bytes: u32,
    /// Byte order of the register content.
    pub order: ByteOrder,
    /// Constants compared with this part must be shifted left by this many bits (bit fields
    /// read in [`Mode::Match`]).
    pub shift: u32,
    /// The part was converted from host to network order (constants must be too).
    pub to_network: bool,
}

/// What an expression left in the registers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Loaded {
    /// First word.
    pub word: u32,
    /// Total register bytes (concatenation members padded to words).
    pub bytes: u32,
    pub parts: Vec<Part>,
    pub concat: bool,
}

impl Loaded {
    pub fn single(word: u32, ty: Type, bytes: u32, order: ByteOrder) -> Loaded {
        Loaded {
            word,
            bytes,
            parts: vec![Part { ty, bytes, order, shift: 0, to_network: false }],
            concat: false,
        }
    }

    /// The only part (the first, for concatenations).
    pub fn part(&self) -> Part {
        self.parts.first().copied().unwrap_or(Part {
            ty: Type::Integer,
            bytes: self.bytes,
            order: ByteOrder::Network,
            shift: 0,
            to_network: false,
        })
    }

    pub fn reg(&self) -> Reg {
        reg(self.word)
    }
}

impl<'a, 'r> Gen<'a, 'r> {
    pub fn new(cx: &'a mut Cx<'r>, t: usize) -> Gen<'a, 'r> {
        let family = cx.family(t);
        Gen { cx, t, family, out: Vec::new(), regs: Regs::new() }
    }

    pub fn emit(&mut self, e: VmExpr) {
        self.out.push(e);
    }
}

/// Lowers one rule; errors carry the span of the statement that failed.
pub(crate) fn lower(cx: &mut Cx<'_>, t: usize, r: &ir::Rule) -> Result<Rule, (Span, String)> {
    let family = cx.family(t);
    let stmts = reduce(&r.stmts, family);
    let mut g = Gen::new(cx, t);
    for s in &stmts {
        g.stmt(s).map_err(|m| (s.span, m))?;
        g.regs = Regs::new();
    }
    let mut exprs = g.out;
    // A 10K-rule program keeps every rule: no growth slack.
    exprs.shrink_to_fit();
    Ok(Rule { exprs, source: Default::default(), comment: None })
}

/// Lower one statement in isolation (tests, the optimizer's experiments).
#[allow(dead_code)]
pub(crate) fn lower_stmt(g: &mut Gen<'_, '_>, s: &ir::Stmt) -> LResult<()> {
    g.stmt(s)
}
