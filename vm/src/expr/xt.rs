//! `match name NAME rev N …`: an x_tables match the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads the matches nft has no expression for. nftvm runs
//! the ones rulesets need most — `recent` ([`super::recent`]), `string`
//! ([`super::string`]) and `u32` ([`super::u32match`]) — on both engines (the JIT calls the
//! interpreter's code).

use super::recent::Recent;
use super::string::StringMatch;
use super::u32match::U32Match;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// An x_tables match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XtMatch {
    Recent(Recent),
    String(StringMatch),
    U32(U32Match),
}

impl XtMatch {
    /// The match's name (`recent`, `string`).
    pub fn name(&self) -> &'static str {
        match self {
            XtMatch::Recent(_) => "recent",
            XtMatch::String(_) => "string",
            XtMatch::U32(_) => "u32",
        }
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtMatch::Recent(r) => r.print(p, o),
            XtMatch::String(s) => s.print(p, o),
            XtMatch::U32(u) => u.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtMatch> {
        match c.peek_at(1) {
            Some("recent") => Recent::parse(c, a).map(XtMatch::Recent),
            Some("string") => StringMatch::parse(c, a).map(XtMatch::String),
            Some("u32") => U32Match::parse(c, a).map(XtMatch::U32),
            other => Err(format!("unknown xt match `{}` (recent, string or u32)", other.unwrap_or(""))),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtMatch::Recent(r) => r.check(c),
            XtMatch::String(s) => s.check(c),
            XtMatch::U32(u) => u.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtMatch::Recent(r) => r.eval(e),
            XtMatch::String(s) => s.eval(e),
            XtMatch::U32(u) => u.eval(e),
        }
    }
}
