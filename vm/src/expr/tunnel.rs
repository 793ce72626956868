//! `tunnel`: metadata of the tunnel the packet arrived on (nft_tunnel.c).

use crate::data::ByteOrder::Host;
use crate::expr::loadkey::{KeyInfo, by_name, by_num, key};
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

pub const KEYS: [KeyInfo; 2] = [key(0, "path", 1, Host), key(1, "id", 4, Host)];

#[derive(Clone, Debug, PartialEq)]
pub struct Tunnel {
    pub key: u32,
    pub dreg: Reg,
}

impl Tunnel {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let name = by_num(&KEYS, self.key).map_or("unknown", |k| k.name);
        let _ = write!(o, "load {name} => reg {}", self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Tunnel> {
        c.expect("load")?;
        let t = c.next()?;
        let k = by_name(&KEYS, t).ok_or_else(|| format!("unknown tunnel key `{t}`"))?;
        c.expect("=>")?;
        let dreg = c.kw_reg()?;
        a.wrote(dreg, k.len, k.order);
        Ok(Tunnel { key: k.num, dreg })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let k = by_num(&KEYS, self.key).ok_or_else(|| format!("unknown tunnel key {}", self.key))?;
        c.write(self.dreg, k.len)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(k) = by_num(&KEYS, self.key) else { return e.brk() };
        let mut buf = [0u8; 4];
        if !e.env.tunnel_get(self.key, &mut buf[..k.len]) || !e.regs.store(self.dreg, &buf[..k.len]) {
            e.brk();
        }
    }
}
