//! `tproxy`: divert the packet to a local socket without changing it (nft_tproxy.c).

use crate::data::ByteOrder;
use crate::expr::nat::addr_len;
use crate::interp::{Eval, TproxyRequest};
use crate::keys::{Family, Hook};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Tproxy {
    /// `None` is NFPROTO_UNSPEC (an inet rule diverting by port only).
    pub family: Option<Family>,
    pub addr: Option<Reg>,
    pub port: Option<Reg>,
}

impl Tproxy {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let mut parts = Vec::new();
        if let Some(f) = self.family {
            parts.push(f.name().to_string());
        }
        if let Some(r) = self.addr {
            parts.push(format!("addr reg {r}"));
        }
        if let Some(r) = self.port {
            parts.push(format!("port reg {r}"));
        }
        let _ = write!(o, "{}", parts.join(" "));
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Tproxy> {
        let family = match c.peek() {
            Some(t) if Family::from_name(t).is_some() => {
                c.next()?;
                Family::from_name(t)
            }
            _ => None,
        };
        let mut t = Tproxy { family, addr: None, port: None };
        if c.eat("addr") {
            let r = c.kw_reg()?;
            a.consume(r, ByteOrder::Network);
            t.addr = Some(r);
        }
        if c.eat("port") {
            let r = c.kw_reg()?;
            a.consume(r, ByteOrder::Network);
            t.port = Some(r);
        }
        Ok(t)
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.addr.is_none() && self.port.is_none() {
            return Err("tproxy needs an address or a port".into());
        }
        if let Some(r) = self.addr {
            c.read(r, addr_len(self.family.unwrap_or(c.family)))?;
        }
        if let Some(r) = self.port {
            c.read(r, 2)?;
        }
        c.require_base(&[], &[Hook::Prerouting], "tproxy")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let alen = addr_len(self.family.unwrap_or(e.pkt.nfproto));
        let mut abuf = [0u8; 16];
        let addr = match self.addr.and_then(|r| e.regs.get(r, alen)) {
            Some(b) => {
                abuf[..alen].copy_from_slice(b);
                Some(&abuf[..alen])
            }
            None => None,
        };
        let port = self.port.and_then(|r| e.regs.get(r, 2)).map(|b| u16::from_be_bytes([b[0], b[1]]));
        e.regs.verdict = e.env.tproxy(&TproxyRequest { family: self.family, addr, port });
    }
}
