//! `dup`: send a copy of the packet to an address / out of a device (nft_dup_*.c).

use crate::data::ByteOrder;
use crate::expr::nat::addr_len;
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Dup {
    pub addr: Option<Reg>,
    pub dev: Option<Reg>,
}

impl Dup {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let mut parts = Vec::new();
        if let Some(r) = self.addr {
            parts.push(format!("sreg_addr {r}"));
        }
        if let Some(r) = self.dev {
            parts.push(format!("sreg_dev {r}"));
        }
        let _ = write!(o, "{}", parts.join(" "));
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Dup> {
        let addr = a.source_operand(c, "sreg_addr", ByteOrder::Network)?;
        let dev = a.source_operand(c, "sreg_dev", ByteOrder::Host)?;
        Ok(Dup { addr, dev })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if let Some(r) = self.addr {
            c.read(r, addr_len(c.family))?;
        }
        if let Some(r) = self.dev {
            c.read(r, 4)?;
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let alen = addr_len(e.pkt.nfproto);
        let addr = self.addr.and_then(|r| e.regs.get(r, alen));
        let dev = self.dev.and_then(|r| e.regs.load_u32(r));
        let packet = e.pkt.data.get(e.pkt.network_off..).unwrap_or_default();
        e.env.dup(packet, addr, dev);
    }
}
