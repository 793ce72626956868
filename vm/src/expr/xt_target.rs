//! `target name NAME rev N …`: an x_tables target the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads the targets nft has no statement for. nftvm runs
//! `CONNMARK` with masks on both sides ([`super::connmark`]: multi-WAN setups save and
//! restore a few bits of the mark) and `TTL`/`HL` that count up or down
//! ([`super::ttl`]), on both engines (the JIT calls the interpreter's code). Each goes on
//! to the rule's next expression, as the kernel's `XT_CONTINUE`.

use super::connmark::Connmark;
use super::ttl::Ttl;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// An x_tables target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XtTarget {
    Connmark(Connmark),
    Ttl(Ttl),
}

impl XtTarget {
    /// The target's name as the kernel knows it (`CONNMARK`, `TTL`, `HL`).
    pub fn name(&self) -> &'static str {
        match self {
            XtTarget::Connmark(_) => "CONNMARK",
            XtTarget::Ttl(t) => t.name(),
        }
    }

    /// Does the target need connection tracking (the kernel's `nf_ct_netns_get`)?
    pub fn enables_conntrack(&self) -> bool {
        matches!(self, XtTarget::Connmark(_))
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtTarget::Connmark(c) => c.print(p, o),
            XtTarget::Ttl(t) => t.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtTarget> {
        match c.peek_at(1) {
            Some("CONNMARK") => Connmark::parse(c, a).map(XtTarget::Connmark),
            Some("TTL" | "HL") => Ttl::parse(c, a).map(XtTarget::Ttl),
            other => Err(format!("unknown xt target `{}` (CONNMARK, TTL or HL)", other.unwrap_or(""))),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtTarget::Connmark(x) => x.check(c),
            XtTarget::Ttl(t) => t.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtTarget::Connmark(x) => x.eval(e),
            XtTarget::Ttl(t) => t.eval(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::Expr;
    use crate::keys::Family;
    use crate::program::Program;
    use crate::text::asm::Asm;

    fn parse(line: &str) -> Result<Expr, String> {
        let mut p = Program::new();
        let t = p.add_table(Family::Ip, "t");
        Expr::parse_line(line, &mut Asm::new(&mut p, t, Family::Ip, false))
    }

    /// Every target prints as it parses; unknown names and modes are errors.
    #[test]
    fn the_text_form_round_trips_and_refuses_bad_input() {
        for l in [
            "[ target name CONNMARK rev 2 mode restore ctmark 0x00000000 ctmask 0x00003f00 nfmask 0x00003f00 shift left 0 ]",
            "[ target name CONNMARK rev 2 mode save ctmark 0x00000000 ctmask 0x0000ff00 nfmask 0x000000ff shift left 8 ]",
            "[ target name CONNMARK rev 2 mode set ctmark 0x00000010 ctmask 0x000000f0 nfmask 0x00000000 shift right 4 ]",
            "[ target name TTL rev 0 mode inc value 1 ]",
            "[ target name HL rev 0 mode dec value 3 ]",
            "[ target name TTL rev 0 mode set value 64 ]",
        ] {
            let e = parse(l).unwrap_or_else(|m| panic!("{l}: {m}"));
            assert_eq!(e.line(&Program::new()).trim(), l, "round trip");
        }
        for bad in [
            "[ target name CONNMARK rev 2 mode keep ctmark 0x0 ctmask 0x0 nfmask 0x0 shift left 0 ]",
            "[ target name CONNMARK rev 2 mode save ctmark 0x0 ctmask 0x0 nfmask 0x0 shift up 0 ]",
            "[ target name TTL rev 0 mode inc value 256 ]",
            "[ target name TTL rev 0 mode twice value 1 ]",
            "[ target name SNPT rev 0 ]",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
