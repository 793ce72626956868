//! `nat`: source or destination NAT to an address/port range held in registers
//! (nft_nat.c). The runtime performs it; the expression's verdict is the runtime's answer
//! (accept once the binding is set up).

use crate::data::ByteOrder;
use crate::interp::{Eval, NatKind, NatRequest};
use crate::keys::{Family, Hook};
use crate::program::{ChainKind, Program};
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NF_NAT_RANGE_PROTO_SPECIFIED`.
pub const RANGE_PROTO_SPECIFIED: u32 = 0x2;

#[derive(Clone, Debug, PartialEq)]
pub struct Nat {
    /// Snat or Dnat.
    pub kind: NatKind,
    pub family: Family,
    pub addr_min: Option<Reg>,
    pub addr_max: Option<Reg>,
    pub proto_min: Option<Reg>,
    pub proto_max: Option<Reg>,
    pub flags: Option<u32>,
}

/// The hooks a NAT of `kind` may run in: source NAT after routing (postrouting, input),
/// destination NAT before it (prerouting, output).
pub(crate) fn hooks(kind: NatKind) -> &'static [Hook] {
    match kind {
        NatKind::Snat => &[Hook::Postrouting, Hook::Input],
        _ => &[Hook::Prerouting, Hook::Output],
    }
}

/// Address length for a NAT family.
pub fn addr_len(f: Family) -> usize {
    if f == Family::Ip6 { 16 } else { 4 }
}

impl Nat {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let kind = if self.kind == NatKind::Snat { "snat" } else { "dnat" };
        let _ = write!(o, "{kind} {}", self.family);
        print_regs(
            o,
            &[
                ("addr_min", self.addr_min),
                ("addr_max", self.addr_max),
                ("proto_min", self.proto_min),
                ("proto_max", self.proto_max),
            ],
        );
        print_flags(o, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Nat> {
        let kind = match c.next()? {
            "snat" => NatKind::Snat,
            "dnat" => NatKind::Dnat,
            t => return Err(format!("expected snat or dnat, found `{t}`")),
        };
        let f = c.next()?;
        let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
        let mut n = Nat {
            kind,
            family,
            addr_min: None,
            addr_max: None,
            proto_min: None,
            proto_max: None,
            flags: None,
        };
        let regs = parse_regs(c, a, &["addr_min", "addr_max", "proto_min", "proto_max"])?;
        [n.addr_min, n.addr_max, n.proto_min, n.proto_max] = [regs[0], regs[1], regs[2], regs[3]];
        n.flags = parse_flags(c)?;
        Ok(n)
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let alen = addr_len(self.family);
        for r in [self.addr_min, self.addr_max].into_iter().flatten() {
            c.read(r, alen)?;
        }
        for r in [self.proto_min, self.proto_max].into_iter().flatten() {
            c.read(r, 2)?;
        }
        let name = if self.kind == NatKind::Snat { "snat" } else { "dnat" };
        c.require_base(&[ChainKind::Nat], hooks(self.kind), name)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let alen = addr_len(self.family);
        let addr = |r: Option<Reg>| r.and_then(|r| e.regs.get(r, alen));
        let port =
            |r: Option<Reg>| r.and_then(|r| e.regs.get(r, 2)).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let mut amin = [0u8; 16];
        let mut amax = [0u8; 16];
        let has_min = copy_opt(addr(self.addr_min), &mut amin);
        let has_max = copy_opt(addr(self.addr_max), &mut amax);
        let req = NatRequest {
            kind: self.kind,
            family: self.family,
            addr_min: has_min.then_some(&amin[..alen]),
            addr_max: if has_max { Some(&amax[..alen]) } else { has_min.then_some(&amin[..alen]) },
            proto_min: port(self.proto_min),
            proto_max: port(self.proto_max).or(port(self.proto_min)),
            flags: self.flags.unwrap_or(0),
            proto_base: None,
        };
        e.regs.verdict = e.env.nat(&req);
    }
}

fn copy_opt(src: Option<&[u8]>, dst: &mut [u8; 16]) -> bool {
    match src {
        Some(s) => {
            dst[..s.len()].copy_from_slice(s);
            true
        }
        None => false,
    }
}

/// ` name reg N` for each present register.
pub(crate) fn print_regs(o: &mut String, regs: &[(&str, Option<Reg>)]) {
    for (name, r) in regs {
        if let Some(r) = r {
            let _ = write!(o, " {name} reg {r}");
        }
    }
}

pub(crate) fn print_flags(o: &mut String, flags: Option<u32>) {
    if let Some(f) = flags {
        let _ = write!(o, " flags 0x{f:x}");
    }
}

/// Optional `name reg N` clauses in the given order; registers are consumed as network order.
pub(crate) fn parse_regs(c: &mut Cursor, a: &mut Asm, names: &[&str]) -> PResult<Vec<Option<Reg>>> {
    let mut out = vec![None; names.len()];
    for (i, name) in names.iter().enumerate() {
        if c.eat(name) {
            let r = c.kw_reg()?;
            a.consume(r, ByteOrder::Network);
            out[i] = Some(r);
        }
    }
    Ok(out)
}

pub(crate) fn parse_flags(c: &mut Cursor) -> PResult<Option<u32>> {
    if c.eat("flags") { Ok(Some(c.hex()? as u32)) } else { Ok(None) }
}
