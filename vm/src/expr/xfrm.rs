//! `xfrm`: IPsec state of the packet (`ipsec in|out spnum N …`) from the runtime
//! (nft_xfrm.c).

use crate::data::ByteOrder::{Host, Network};
use crate::expr::loadkey::{KeyInfo, by_name, by_num, key};
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

pub const KEYS: [KeyInfo; 6] = [
    key(1, "daddr4", 4, Network),
    key(2, "daddr6", 16, Network),
    key(3, "saddr4", 4, Network),
    key(4, "saddr6", 16, Network),
    key(5, "reqid", 4, Host),
    key(6, "spi", 4, Network),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Xfrm {
    /// 0 in, 1 out.
    pub dir: u8,
    pub spnum: u32,
    pub key: u32,
    pub dreg: Reg,
}

impl Xfrm {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let dir = match self.dir {
            0 => "in",
            1 => "out",
            _ => "unknown",
        };
        let name = by_num(&KEYS, self.key).map_or("unknown", |k| k.name);
        let _ = write!(o, "load {dir} {} {name} => reg {}", self.spnum, self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Xfrm> {
        c.expect("load")?;
        let dir = match c.next()? {
            "in" => 0,
            "out" => 1,
            t => return Err(format!("unknown xfrm direction `{t}`")),
        };
        let spnum = c.num()?;
        let t = c.next()?;
        let k = by_name(&KEYS, t).ok_or_else(|| format!("unknown xfrm key `{t}`"))?;
        c.expect("=>")?;
        let dreg = c.kw_reg()?;
        a.wrote(dreg, k.len, k.order);
        Ok(Xfrm { dir, spnum, key: k.num, dreg })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let k = by_num(&KEYS, self.key).ok_or_else(|| format!("unknown xfrm key {}", self.key))?;
        if self.dir > 1 || self.spnum > 255 {
            return Err("bad xfrm direction or spnum".into());
        }
        c.write(self.dreg, k.len)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(k) = by_num(&KEYS, self.key) else { return e.brk() };
        let mut buf = [0u8; 16];
        if !e.env.xfrm_get(self.dir, self.spnum, self.key, &mut buf[..k.len])
            || !e.regs.store(self.dreg, &buf[..k.len])
        {
            e.brk();
        }
    }
}
