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
        let mut f = Fwd { dev: None, addr: None, nfproto: None };
        if c.eat("sreg_dev") {
            let r = c.reg()?;
            a.consume(r, ByteOrder::Host);
            f.dev = Some(r);
        }
        if c.eat("sreg_addr") {
            let r = c.reg()?;
            a.consume(r, ByteOrder::Network);
            f.addr = Some(r);
        }
        if c.eat("nfproto") {
            f.nfproto = Some(c.num()?);
        }
        Ok(f)
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
        let mut abuf = [0u8; 16];
        let has_addr = match self.addr.and_then(|r| e.regs.get(r, alen)) {
            Some(b) => {
                abuf[..alen].copy_from_slice(b);
                true
            }
            None => false,
        };
        let nfproto = self.nfproto.unwrap_or(0);
        e.regs.verdict = e.env.fwd(dev, has_addr.then_some(&abuf[..alen]), nfproto);
    }
}
