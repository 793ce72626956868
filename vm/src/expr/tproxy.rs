//! `tproxy`: divert the packet to a local socket without changing it (nft_tproxy.c).

use crate::expr::nat::{addr_len, parse_regs};
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
        let regs = parse_regs(c, a, &["addr", "port"])?;
        Ok(Tproxy { family, addr: regs[0], port: regs[1] })
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
        let addr = self.addr.and_then(|r| e.regs.get(r, alen));
        let port = self.port.and_then(|r| e.regs.get(r, 2)).map(|b| u16::from_be_bytes([b[0], b[1]]));
        e.regs.verdict = e.env.tproxy(&TproxyRequest { family: self.family, addr, port });
    }
}
