//! `masq`: source NAT to the out interface's address (nft_masq.c); the runtime performs it.

use crate::expr::nat::{parse_flags, parse_regs, print_flags, print_regs};
use crate::interp::{Eval, NatKind, NatRequest};
use crate::keys::Hook;
use crate::program::{ChainKind, Program};
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Masq {
    pub proto_min: Option<Reg>,
    pub proto_max: Option<Reg>,
    pub flags: Option<u32>,
}

impl Masq {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        print_regs(o, &[("proto_min", self.proto_min), ("proto_max", self.proto_max)]);
        print_flags(o, self.flags);
        trim_leading(o);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Masq> {
        let r = parse_regs(c, a, &["proto_min", "proto_max"])?;
        Ok(Masq { proto_min: r[0], proto_max: r[1], flags: parse_flags(c)? })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        port_check(c, self.proto_min, self.proto_max)?;
        c.require_base(&[ChainKind::Nat], &[Hook::Postrouting], "masquerade")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.regs.verdict = port_nat(e, NatKind::Masquerade, self.proto_min, self.proto_max, self.flags);
    }
}

pub(crate) fn port_check(c: &mut Check, min: Option<Reg>, max: Option<Reg>) -> Result<(), String> {
    for r in [min, max].into_iter().flatten() {
        c.read(r, 2)?;
    }
    Ok(())
}

/// Runs a masquerade/redirect request with an optional port range.
pub(crate) fn port_nat(
    e: &mut Eval,
    kind: NatKind,
    min: Option<Reg>,
    max: Option<Reg>,
    flags: Option<u32>,
) -> crate::verdict::Verdict {
    let port = |r: Option<Reg>| r.and_then(|r| e.regs.get(r, 2)).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (pmin, pmax) = (port(min), port(max));
    let req = NatRequest {
        kind,
        family: e.pkt.nfproto,
        addr_min: None,
        addr_max: None,
        proto_min: pmin,
        proto_max: pmax.or(pmin),
        flags: flags.unwrap_or(0),
        proto_base: None,
    };
    e.env.nat(&req)
}

/// Removes the leading space the optional clauses start with.
pub(crate) fn trim_leading(o: &mut String) {
    if o.starts_with(' ') {
        o.remove(0);
    }
}
