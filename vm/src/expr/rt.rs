//! `rt`: routing information of the packet (classid, nexthop, path MTU-derived MSS,
//! whether it is IPsec) from the runtime (nft_rt.c).

use crate::data::ByteOrder::{Host, Network};
use crate::expr::loadkey::{KeyInfo, by_name, by_num, key};
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

pub const KEYS: [KeyInfo; 5] = [
    key(0, "classid", 4, Host),
    key(1, "nexthop4", 4, Network),
    key(2, "nexthop6", 16, Network),
    key(3, "tcpmss", 2, Host),
    key(4, "ipsec", 1, Host),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Rt {
    pub key: u32,
    pub dreg: Reg,
}

impl Rt {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let name = by_num(&KEYS, self.key).map_or("unknown", |k| k.name);
        let _ = write!(o, "load {name} => reg {}", self.dreg);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Rt> {
        c.expect("load")?;
        let t = c.next()?;
        let k = by_name(&KEYS, t).ok_or_else(|| format!("unknown rt key `{t}`"))?;
        c.expect("=>")?;
        let dreg = c.kw_reg()?;
        a.wrote(dreg, k.len, k.order);
        Ok(Rt { key: k.num, dreg })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let k = by_num(&KEYS, self.key).ok_or_else(|| format!("unknown rt key {}", self.key))?;
        c.write(self.dreg, k.len)
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(k) = by_num(&KEYS, self.key) else { return e.brk() };
        let mut buf = [0u8; 16];
        if !e.env.rt_get(self.key, &mut buf[..k.len]) || !e.regs.store(self.dreg, &buf[..k.len]) {
            e.brk();
        }
    }
}
