//! `payload`: load packet bytes into a register, or write a register into the packet with
//! checksum fix-ups (the kernel's nft_payload.c).

use crate::data::ByteOrder;
use crate::interp::{Eval, csum};
use crate::keys::PayloadBase;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_PAYLOAD_CSUM_*`.
pub const CSUM_NONE: u8 = 0;
pub const CSUM_INET: u8 = 1;
pub const CSUM_SCTP: u8 = 2;
/// `NFT_PAYLOAD_L4CSUM_PSEUDOHDR`: also fix the transport checksum (pseudo-header field).
pub const L4CSUM_PSEUDOHDR: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
    pub base: PayloadBase,
    pub offset: u32,
    pub len: u8,
    pub op: PayloadOp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PayloadOp {
    Load { dreg: Reg },
    Write { sreg: Reg, csum_type: u8, csum_offset: u32, csum_flags: u32 },
}

impl Payload {
    pub fn load(base: PayloadBase, offset: u32, len: u8, dreg: Reg) -> Payload {
        Payload { base, offset, len, op: PayloadOp::Load { dreg } }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let (len, base, off) = (self.len, self.base.name(), self.offset);
        let _ = match &self.op {
            PayloadOp::Load { dreg } => write!(o, "load {len}b @ {base} header + {off} => reg {dreg}"),
            PayloadOp::Write { sreg, csum_type, csum_offset, csum_flags } => write!(
                o,
                "write reg {sreg} => {len}b @ {base} header + {off} csum_type {csum_type} csum_off {csum_offset} csum_flags 0x{csum_flags:x}"
            ),
        };
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Payload> {
        match c.next()? {
            "load" => {
                let (len, base, offset) = parse_location(c)?;
                c.expect("=>")?;
                let dreg = c.kw_reg()?;
                a.wrote(dreg, len as usize, ByteOrder::Network);
                Ok(Payload::load(base, offset, len, dreg))
            }
            "write" => {
                let sreg = c.kw_reg()?;
                c.expect("=>")?;
                let (len, base, offset) = parse_location(c)?;
                c.expect("csum_type")?;
                let csum_type = c.num()?;
                c.expect("csum_off")?;
                let csum_offset = c.num()?;
                c.expect("csum_flags")?;
                let csum_flags = c.hex()? as u32;
                a.consume(sreg, ByteOrder::Network);
                Ok(Payload {
                    base,
                    offset,
                    len,
                    op: PayloadOp::Write { sreg, csum_type, csum_offset, csum_flags },
                })
            }
            t => Err(format!("expected `load` or `write`, found `{t}`")),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.len == 0 {
            return Err("zero-length payload access".into());
        }
        match &self.op {
            PayloadOp::Load { dreg } => c.write(*dreg, self.len as usize),
            PayloadOp::Write { sreg, csum_type, .. } => {
                if *csum_type > CSUM_SCTP {
                    return Err(format!("unknown checksum type {csum_type}"));
                }
                c.read(*sreg, self.len as usize)
            }
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(base) = e.pkt.base_offset(self.base) else { return e.brk() };
        let len = self.len as usize;
        let off = base + self.offset as usize;
        match &self.op {
            PayloadOp::Load { dreg } => {
                let Some(src) = e.pkt.bytes(off, len) else { return e.brk() };
                match e.regs.dest(*dreg, len) {
                    Some(d) => d.copy_from_slice(src),
                    None => e.brk(),
                }
            }
            PayloadOp::Write { sreg, csum_type, csum_offset, csum_flags } => {
                let Some(src) = e.regs.get(*sreg, len) else { return e.brk() };
                let mut new = [0u8; 64];
                new[..len].copy_from_slice(src);
                let new = &new[..len];
                let Some(old) = e.pkt.bytes(off, len) else { return e.brk() };
                if *csum_type == CSUM_INET || *csum_flags != 0 {
                    let fsum = csum::partial(old);
                    let tsum = csum::partial(new);
                    if *csum_type == CSUM_INET
                        && !csum::replace_at(e.pkt.data, base + *csum_offset as usize, fsum, tsum)
                    {
                        return e.brk();
                    }
                    if *csum_flags & L4CSUM_PSEUDOHDR != 0 && !l4csum_update(e, fsum, tsum) {
                        return e.brk();
                    }
                }
                match e.pkt.bytes_mut(off, len) {
                    Some(d) => d.copy_from_slice(new),
                    None => return e.brk(),
                }
                if *csum_type == CSUM_SCTP
                    && e.pkt.l4proto == 132
                    && let Some(th) = e.pkt.transport_off
                {
                    csum::sctp_update(e.pkt.data, th);
                }
            }
        }
    }
}

/// Fixes the transport checksum for a change of a pseudo-header field (addresses).
fn l4csum_update(e: &mut Eval, fsum: u32, tsum: u32) -> bool {
    let Some(th) = e.pkt.transport_off else { return true };
    let at = match e.pkt.l4proto {
        6 => th + 16,
        17 => {
            // A UDP checksum of zero means "none": leave it.
            match e.pkt.bytes(th + 6, 2) {
                Some([0, 0]) => return true,
                Some(_) => th + 6,
                None => return false,
            }
        }
        58 => th + 2,
        _ => return true,
    };
    csum::replace_at(e.pkt.data, at, fsum, tsum)
}

/// `Nb @ base header + off`.
pub(crate) fn parse_location(c: &mut Cursor) -> PResult<(u8, PayloadBase, u32)> {
    let len: u8 = c.num_suffix("b")?;
    c.expect("@")?;
    let b = c.next()?;
    let base = PayloadBase::from_name(b).ok_or_else(|| format!("unknown payload base `{b}`"))?;
    c.expect("header")?;
    c.expect("+")?;
    let offset = c.num()?;
    Ok((len, base, offset))
}
