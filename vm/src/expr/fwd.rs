//! `fwd`: forward the packet out of a device from the netdev ingress hook (nft_fwd_netdev.c).

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::keys::{Family, Hook};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Fwd {
    pub dev: Option<Reg>,
    pub addr: Option<Reg>,
    pub nfproto: Option<u8>,
}

impl Fwd {
    fn addr_len(&self) -> usize {
        if self.nfproto == Some(Family::Ip6.number()) { 16 } else { 4 }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let mut parts = Vec::new();
        if let Some(r) = self.dev {
            parts.push(format!("sreg_dev {r}"));
        }
        if let Some(r) = self.addr {
            parts.push(format!("sreg_addr {r}"));
        }
        if let Some(n) = self.nfproto {
            parts.push(format!("nfproto {n}"));
        }
        let _ = write!(o, "{}", parts.join(" "));
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Fwd> {
        let dev = a.source_operand(c, "sreg_dev", ByteOrder::Host)?;
        let addr = a.source_operand(c, "sreg_addr", ByteOrder::Network)?;
        let nfproto = if c.eat("nfproto") { Some(c.num()?) } else { None };
        Ok(Fwd { dev, addr, nfproto })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let dev = self.dev.ok_or("fwd needs a device register")?;
        c.read(dev, 4)?;
        if let Some(r) = self.addr {
            c.read(r, self.addr_len())?;
        }
        c.require_base(&[], &[Hook::Ingress, Hook::Egress], "fwd")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(dev) = self.dev.and_then(|r| e.regs.load_u32(r)) else { return e.brk() };
        let alen = self.addr_len();
        let addr = self.addr.and_then(|r| e.regs.get(r, alen));
        let nfproto = self.nfproto.unwrap_or(0);
        let packet = e.pkt.data.get(e.pkt.network_off..).unwrap_or_default();
        e.regs.verdict = e.env.fwd(packet, dev, addr, nfproto);
    }
}
