//! `meta`: load packet metadata into a register, or set metadata from one (nft_meta.c).

use crate::data::ByteOrder;
use crate::interp::Eval;
use crate::keys::MetaKey;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub key: MetaKey,
    pub op: MetaOp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetaOp {
    Load { dreg: Reg },
    Set { sreg: Reg },
}

/// Register length of a meta key (the kernel's `nft_meta_get_init`).
pub fn key_len(key: MetaKey) -> usize {
    use MetaKey::*;
    match key {
        IifName | OifName | BriIifName | BriOifName | IifKind | OifKind | SdifName => 16,
        Protocol | IifType | OifType | BriIifPvid | BriIifVproto => 2,
        Nftrace | Nfproto | L4proto | PktType | Secpath | TimeDay | BriBroute => 1,
        TimeNs => 8,
        BriIifHwaddr => 6,
        _ => 4,
    }
}

/// Byte order of a meta key's value (nft's datatypes).
pub fn key_order(key: MetaKey) -> ByteOrder {
    use MetaKey::*;
    match key {
        IifName | OifName | BriIifName | BriOifName | IifKind | OifKind | SdifName | Protocol
        | BriIifVproto | BriIifHwaddr => ByteOrder::Network,
        _ => ByteOrder::Host,
    }
}

/// Keys `meta set` accepts (`nft_meta_set_init`).
pub fn settable(key: MetaKey) -> bool {
    use MetaKey::*;
    matches!(key, Mark | Priority | PktType | Nftrace | Secmark | BriBroute)
}

impl Meta {
    pub fn load(key: MetaKey, dreg: Reg) -> Meta {
        Meta { key, op: MetaOp::Load { dreg } }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = match self.op {
            MetaOp::Load { dreg } => write!(o, "load {} => reg {dreg}", self.key),
            MetaOp::Set { sreg } => write!(o, "set {} with reg {sreg}", self.key),
        };
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Meta> {
        let op = c.next()?;
        let k = c.next()?;
        let key = MetaKey::from_name(k).ok_or_else(|| format!("unknown meta key `{k}`"))?;
        match op {
            "load" => {
                c.expect("=>")?;
                let dreg = c.kw_reg()?;
                a.wrote(dreg, key_len(key), key_order(key));
                Ok(Meta::load(key, dreg))
            }
            "set" => {
                c.expect("with")?;
                let sreg = c.kw_reg()?;
                a.consume(sreg, key_order(key));
                Ok(Meta { key, op: MetaOp::Set { sreg } })
            }
            t => Err(format!("expected `load` or `set`, found `{t}`")),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self.op {
            MetaOp::Load { dreg } => c.write(dreg, key_len(self.key)),
            MetaOp::Set { sreg } => {
                if !settable(self.key) {
                    return Err(format!("meta {} cannot be set", self.key));
                }
                c.read(sreg, key_len(self.key))
            }
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = key_len(self.key);
        match self.op {
            MetaOp::Load { dreg } => {
                let mut buf = [0u8; 16];
                let out = &mut buf[..len];
                if !derived(self.key, e, out) && !e.env.meta_get(self.key, out) {
                    return e.brk();
                }
                if !e.regs.store(dreg, out) {
                    e.brk();
                }
            }
            MetaOp::Set { sreg } => match e.regs.get(sreg, len) {
                Some(v) => {
                    let mut buf = [0u8; 16];
                    buf[..len].copy_from_slice(v);
                    e.env.meta_set(self.key, &buf[..len]);
                }
                None => e.brk(),
            },
        }
    }
}

/// Keys the VM computes itself from the packet and the clock; false for the others.
fn derived(key: MetaKey, e: &mut Eval, out: &mut [u8]) -> bool {
    use MetaKey::*;
    match key {
        Len => out.copy_from_slice(&(e.pkt.len() as u32).to_le_bytes()),
        Protocol => out.copy_from_slice(&e.pkt.protocol.to_be_bytes()),
        Nfproto => out[0] = e.pkt.nfproto.number(),
        L4proto => {
            if !e.pkt.l4proto_known() {
                return false;
            }
            out[0] = e.pkt.l4proto
        }
        TimeNs => out.copy_from_slice(&e.now().to_le_bytes()),
        TimeDay => {
            let secs = local_secs(e);
            out[0] = ((4 + secs.div_euclid(86_400)) % 7) as u8;
        }
        TimeHour => {
            let secs = local_secs(e);
            out.copy_from_slice(&(secs.rem_euclid(86_400) as u32).to_le_bytes());
        }
        Prandom => out.copy_from_slice(&e.env.random_u32().to_le_bytes()),
        Cpu => out.copy_from_slice(&0u32.to_le_bytes()),
        _ => return false,
    }
    true
}

fn local_secs(e: &mut Eval) -> i64 {
    (e.now() / 1_000_000_000) as i64 + e.env.tz_offset_secs()
}
