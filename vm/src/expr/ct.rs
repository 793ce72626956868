//! `ct`: load conntrack state into a register or set it (nft_ct.c). Everything goes through
//! [`crate::interp::Env::ct_get`]/`ct_set`; the VM only knows lengths and byte orders.

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::keys::{CtDir, CtKey, Family};
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Ct {
    pub key: CtKey,
    pub dir: Option<CtDir>,
    pub op: CtOp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CtOp {
    Load { dreg: Reg },
    Set { sreg: Reg },
}

/// Register length of a ct key; `src`/`dst` depend on the table family (`nft_ct_get_init`).
pub fn key_len(key: CtKey, family: Family) -> usize {
    use CtKey::*;
    match key {
        Direction | L3Protocol | Protocol => 1,
        ProtoSrc | ProtoDst | Zone => 2,
        Helper | Labels | SrcIp6 | DstIp6 => 16,
        Pkts | Bytes | AvgPkt => 8,
        Src | Dst => match family {
            Family::Ip => 4,
            _ => 16,
        },
        _ => 4,
    }
}

pub fn key_order(key: CtKey) -> ByteOrder {
    use CtKey::*;
    match key {
        Helper | Src | Dst | ProtoSrc | ProtoDst | SrcIp | DstIp | SrcIp6 | DstIp6 | Labels => {
            ByteOrder::Network
        }
        _ => ByteOrder::Host,
    }
}

impl Ct {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = match self.op {
            CtOp::Load { dreg } => write!(o, "load {} => reg {dreg}", self.key),
            CtOp::Set { sreg } => write!(o, "set {} with reg {sreg}", self.key),
        };
        if let Some(d) = self.dir {
            let _ = write!(o, " , dir {d}");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Ct> {
        let op = c.next()?;
        let k = c.next()?;
        let key = CtKey::from_name(k).ok_or_else(|| format!("unknown ct key `{k}`"))?;
        let op = match op {
            "load" => {
                c.expect("=>")?;
                CtOp::Load { dreg: c.kw_reg()? }
            }
            "set" => {
                c.expect("with")?;
                CtOp::Set { sreg: c.kw_reg()? }
            }
            t => return Err(format!("expected `load` or `set`, found `{t}`")),
        };
        let dir = if c.eat(",") {
            c.expect("dir")?;
            let d = c.next()?;
            Some(CtDir::from_name(d).ok_or_else(|| format!("unknown ct direction `{d}`"))?)
        } else {
            None
        };
        match op {
            CtOp::Load { dreg } => a.wrote(dreg, key_len(key, a.family), key_order(key)),
            CtOp::Set { sreg } => a.consume(sreg, key_order(key)),
        }
        Ok(Ct { key, dir, op })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let len = key_len(self.key, c.family);
        match self.op {
            CtOp::Load { dreg } => c.write(dreg, len),
            CtOp::Set { sreg } => {
                use CtKey::*;
                if !matches!(self.key, Mark | Labels | EventMask | Zone | Secmark | Helper | Expiration) {
                    return Err(format!("ct {} cannot be set", self.key));
                }
                c.read(sreg, len)
            }
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let family = e.table_family;
        let len = key_len(self.key, family);
        let mut buf = [0u8; 16];
        let buf = &mut buf[..len];
        match self.op {
            CtOp::Load { dreg } => {
                if !e.env.ct_get(self.key, self.dir, buf) || !e.regs.store(dreg, buf) {
                    e.brk();
                }
            }
            CtOp::Set { sreg } => match e.regs.get(sreg, len) {
                Some(v) => {
                    buf.copy_from_slice(v);
                    e.env.ct_set(self.key, self.dir, buf);
                }
                None => e.brk(),
            },
        }
    }
}
