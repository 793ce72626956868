//! "Cannot decide": the one error of the equivalence engine. Whatever it cannot model exactly
//! (a hash, a dynamic set, a rate limiter whose counterpart sees other packets, …) is reported
//! with the construct and its place, never approximated into a wrong answer.

use nftvm_grammar::Span;
use std::fmt;

/// Which of the two rulesets a place belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    pub fn from_index(i: usize) -> Side {
        if i == 0 { Side::A } else { Side::B }
    }
}

/// The engine cannot decide equivalence because of `construct` at `span` of ruleset `side`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecidable {
    pub construct: String,
    pub side: Side,
    pub span: Span,
}

impl Undecidable {
    pub fn new(construct: impl Into<String>, side: Side, span: Span) -> Undecidable {
        Undecidable { construct: construct.into(), side, span }
    }
}

impl fmt::Display for Undecidable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decide: {}", self.construct)
    }
}

impl std::error::Error for Undecidable {}

/// An error without a place yet; the lowering attaches side and span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl Unsupported {
    pub fn new(what: impl Into<String>) -> Unsupported {
        Unsupported(what.into())
    }

    pub fn at(self, side: Side, span: Span) -> Undecidable {
        Undecidable::new(self.0, side, span)
    }
}

pub type Res<T> = Result<T, Unsupported>;
