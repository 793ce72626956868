//! `match name NAME rev N …`: an x_tables match the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads the matches nft has no expression for. nftvm runs
//! the ones rulesets need most — `recent` ([`super::recent`]), `string`
//! ([`super::string`]), `u32` ([`super::u32match`]) and `ipv6header`
//! ([`super::ipv6header`]) — on both engines (the JIT calls the interpreter's code).

use super::ipv6header::Ipv6Header;
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
    Ipv6Header(Ipv6Header),
}

impl XtMatch {
    /// The match's name (`recent`, `string`).
    pub fn name(&self) -> &'static str {
        match self {
            XtMatch::Recent(_) => "recent",
            XtMatch::String(_) => "string",
            XtMatch::U32(_) => "u32",
            XtMatch::Ipv6Header(_) => "ipv6header",
        }
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtMatch::Recent(r) => r.print(p, o),
            XtMatch::String(s) => s.print(p, o),
            XtMatch::U32(u) => u.print(p, o),
            XtMatch::Ipv6Header(h) => h.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtMatch> {
        match c.peek_at(1) {
            Some("recent") => Recent::parse(c, a).map(XtMatch::Recent),
            Some("string") => StringMatch::parse(c, a).map(XtMatch::String),
            Some("u32") => U32Match::parse(c, a).map(XtMatch::U32),
            Some("ipv6header") => Ipv6Header::parse(c, a).map(XtMatch::Ipv6Header),
            other => {
                Err(format!("unknown xt match `{}` (recent, string, u32 or ipv6header)", other.unwrap_or("")))
            }
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtMatch::Recent(r) => r.check(c),
            XtMatch::String(s) => s.check(c),
            XtMatch::U32(u) => u.check(c),
            XtMatch::Ipv6Header(h) => h.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtMatch::Recent(r) => r.eval(e),
            XtMatch::String(s) => s.eval(e),
            XtMatch::U32(u) => u.eval(e),
            XtMatch::Ipv6Header(h) => h.eval(e),
        }
    }
}
