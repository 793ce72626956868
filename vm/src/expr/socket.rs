//! `socket`: properties of the local socket the packet belongs to (nft_socket.c).

use crate::data::ByteOrder::Host;
use crate::expr::loadkey::{KeyInfo, by_name, by_num, key};
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

pub const KEYS: [KeyInfo; 4] = [
    key(0, "transparent", 1, Host),
    key(1, "mark", 4, Host),
    key(2, "wildcard", 1, Host),
    key(3, "cgroupv2", 8, Host),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Socket {
    pub key: u32,
    pub dreg: Reg,
    /// cgroupv2 ancestor level (not printed).
    pub level: u32,
}

impl Socket {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let name = by_num(&KEYS, self.key).map_or("unknown", |k| k.name);
        let _ = write!(o, "load {name} => reg {}", self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Socket> {
        c.expect("load")?;
        let t = c.next()?;
        let k = by_name(&KEYS, t).ok_or_else(|| format!("unknown socket key `{t}`"))?;
        c.expect("=>")?;
        let dreg = c.kw_reg()?;
        a.wrote(dreg, k.len, k.order);
        Ok(Socket { key: k.num, dreg, level: 0 })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let k = by_num(&KEYS, self.key).ok_or_else(|| format!("unknown socket key {}", self.key))?;
        c.write(self.dreg, k.len)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(k) = by_num(&KEYS, self.key) else { return e.brk() };
        let mut buf = [0u8; 8];
        if !e.env.socket_get(self.key, self.level, &mut buf[..k.len])
            || !e.regs.store(self.dreg, &buf[..k.len])
        {
            e.brk();
        }
    }
}
