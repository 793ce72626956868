//! `target name NAME rev N …`: an x_tables target the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads the targets nft has no statement for. nftvm runs
//! `CONNMARK` with masks on both sides ([`super::connmark`]: multi-WAN setups save and
//! restore a few bits of the mark), `TTL`/`HL` that count up or down ([`super::ttl`]), `ECN`
//! ([`super::ecn`]), `HMARK` ([`super::hmark`]), `CT --helper` ([`super::ct_template`]),
//! `SNPT`/`DNPT` ([`super::npt`]), `SNAT`/`DNAT` with a shifted port map ([`super::xt_nat`])
//! and `TCPMSS` ([`super::tcpmss`]), on both engines (the JIT calls the interpreter's code).
//! Each goes on to the rule's next expression, as the kernel's `XT_CONTINUE`.

use super::connmark::Connmark;
use super::ct_template::CtTemplate;
use super::ecn::Ecn;
use super::hmark::Hmark;
use super::npt::Npt;
use super::tcpmss::Tcpmss;
use super::ttl::Ttl;
use super::xt_nat::XtNat;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

/// An x_tables target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XtTarget {
    Connmark(Connmark),
    Ttl(Ttl),
    Ecn(Ecn),
    Hmark(Hmark),
    Ct(CtTemplate),
    Npt(Npt),
    Nat(XtNat),
    Tcpmss(Tcpmss),
}

impl XtTarget {
    /// The target's name as the kernel knows it (`CONNMARK`, `TTL`, `HL`, `ECN`, `HMARK`, `CT`,
    /// `SNPT`, `DNPT`, `SNAT`, `DNAT`, `TCPMSS`).
    pub fn name(&self) -> &'static str {
        match self {
            XtTarget::Connmark(_) => "CONNMARK",
            XtTarget::Ttl(t) => t.name(),
            XtTarget::Ecn(_) => "ECN",
            XtTarget::Hmark(_) => "HMARK",
            XtTarget::Ct(_) => "CT",
            XtTarget::Npt(x) => x.name(),
            XtTarget::Nat(x) => x.name(),
            XtTarget::Tcpmss(_) => "TCPMSS",
        }
    }

    /// Does the target need connection tracking (the kernel's `nf_ct_netns_get`)?
    pub fn enables_conntrack(&self) -> bool {
        matches!(self, XtTarget::Connmark(_) | XtTarget::Ct(_) | XtTarget::Nat(_))
    }

    /// Does the target rewrite an address (what the packet is routed and tracked by)?
    pub fn rewrites_addresses(&self) -> bool {
        matches!(self, XtTarget::Npt(_))
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtTarget::Connmark(c) => c.print(p, o),
            XtTarget::Ttl(t) => t.print(p, o),
            XtTarget::Ecn(x) => x.print(p, o),
            XtTarget::Hmark(x) => x.print(p, o),
            XtTarget::Ct(x) => x.print(p, o),
            XtTarget::Npt(x) => x.print(p, o),
            XtTarget::Nat(x) => x.print(p, o),
            XtTarget::Tcpmss(x) => x.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtTarget> {
        match c.peek_at(1) {
            Some("CONNMARK") => Connmark::parse(c, a).map(XtTarget::Connmark),
            Some("TTL" | "HL") => Ttl::parse(c, a).map(XtTarget::Ttl),
            Some("ECN") => Ecn::parse(c, a).map(XtTarget::Ecn),
            Some("HMARK") => Hmark::parse(c, a).map(XtTarget::Hmark),
            Some("CT") => CtTemplate::parse(c, a).map(XtTarget::Ct),
            Some("SNPT" | "DNPT") => Npt::parse(c, a).map(XtTarget::Npt),
            Some("SNAT" | "DNAT") => XtNat::parse(c, a).map(XtTarget::Nat),
            Some("TCPMSS") => Tcpmss::parse(c, a).map(XtTarget::Tcpmss),
            other => Err(format!(
                "unknown xt target `{}` (CONNMARK, TTL, HL, ECN, HMARK, CT, SNPT, DNPT, SNAT, DNAT or TCPMSS)",
                other.unwrap_or("")
            )),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtTarget::Connmark(x) => x.check(c),
            XtTarget::Ttl(t) => t.check(c),
            XtTarget::Ecn(x) => x.check(c),
            XtTarget::Hmark(x) => x.check(c),
            XtTarget::Ct(x) => x.check(c),
            XtTarget::Npt(x) => x.check(c),
            XtTarget::Nat(x) => x.check(c),
            XtTarget::Tcpmss(x) => x.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtTarget::Connmark(x) => x.eval(e),
            XtTarget::Ttl(t) => t.eval(e),
            XtTarget::Ecn(x) => x.eval(e),
            XtTarget::Hmark(x) => x.eval(e),
            XtTarget::Ct(x) => x.eval(e),
            XtTarget::Npt(x) => x.eval(e),
            XtTarget::Nat(x) => x.eval(e),
            XtTarget::Tcpmss(x) => x.eval(e),
        }
    }
}
