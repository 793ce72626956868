//! `redir`: destination NAT to a local address, optionally another port (nft_redir.c).

use crate::expr::masq::{port_check, port_nat, trim_leading};
use crate::expr::nat::{parse_flags, parse_regs, print_flags, print_regs};
use crate::interp::{Eval, NatKind};
use crate::keys::Hook;
use crate::program::{ChainKind, Program};
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Redir {
    pub proto_min: Option<Reg>,
    pub proto_max: Option<Reg>,
    pub flags: Option<u32>,
}

impl Redir {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        print_regs(o, &[("proto_min", self.proto_min), ("proto_max", self.proto_max)]);
        print_flags(o, self.flags);
        trim_leading(o);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Redir> {
        let r = parse_regs(c, a, &["proto_min", "proto_max"])?;
        Ok(Redir { proto_min: r[0], proto_max: r[1], flags: parse_flags(c)? })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        port_check(c, self.proto_min, self.proto_max)?;
        c.require_base(&[ChainKind::Nat], &[Hook::Prerouting, Hook::Output], "redirect")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.regs.verdict = port_nat(e, NatKind::Redirect, self.proto_min, self.proto_max, self.flags);
    }
}
