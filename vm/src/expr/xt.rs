//! `match name NAME rev N …`: an x_tables match the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads the matches nft has no expression for. nftvm runs
//! the two rulesets need most — `recent` ([`super::recent`]) and `string`
//! ([`super::string`]) — on both engines (the JIT calls the interpreter's code).

use super::recent::Recent;
use super::string::StringMatch;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// An x_tables match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XtMatch {
    Recent(Recent),
    String(StringMatch),
}

impl XtMatch {
    /// The match's name (`recent`, `string`).
    pub fn name(&self) -> &'static str {
        match self {
            XtMatch::Recent(_) => "recent",
            XtMatch::String(_) => "string",
        }
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtMatch::Recent(r) => r.print(p, o),
            XtMatch::String(s) => s.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtMatch> {
        match c.peek_at(1) {
            Some("recent") => Recent::parse(c, a).map(XtMatch::Recent),
            Some("string") => StringMatch::parse(c, a).map(XtMatch::String),
            other => Err(format!("unknown xt match `{}` (recent or string)", other.unwrap_or(""))),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtMatch::Recent(r) => r.check(c),
            XtMatch::String(s) => s.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtMatch::Recent(r) => r.eval(e),
            XtMatch::String(s) => s.eval(e),
        }
    }
}
