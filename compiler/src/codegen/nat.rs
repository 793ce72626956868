//! Address and port translation (nft's `netlink_gen_nat_stmt`, `netlink_gen_tproxy_stmt`):
//! `nat snat|dnat`, `masq`, `redir` and `tproxy`, with their addresses and ports in
//! registers (`immediate` constants, ranges in two registers, or a map lookup whose data
//! holds an address range and/or port — `addr . port` concatenations).

use super::error::LResult;
use super::regs::{reg, words_for};
use super::rule::Gen;
use super::set::is_interval_key;
use crate::ir::{Expr, ExprKind, Family, Nat, NatKind, SetData, Tproxy};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::data::Data;
use nftvm_vm::expr::immediate::{ImmValue, Immediate};
use nftvm_vm::expr::{masq::Masq, nat, redir::Redir, tproxy};

/// `NF_NAT_RANGE_*` flags.
const PROTO_SPECIFIED: u32 = 0x2;
const PROTO_RANDOM: u32 = 0x4;
const PERSISTENT: u32 = 0x8;
const PROTO_RANDOM_FULLY: u32 = 0x10;
const NETMAP: u32 = 0x40;

impl Gen<'_, '_> {
    fn immediate(&mut self, word: u32, v: &Value, ty: Type) -> LResult<()> {
        let d: Data = super::data::value(v, ty)?;
        self.emit(VmExpr::Immediate(Immediate { dreg: reg(word), value: ImmValue::Data(d) }));
        Ok(())
    }

    /// Does the map an address comes from hold address ranges (interval data)?
    fn map_data_interval(&self, e: &Expr) -> bool {
        let ExprKind::Map(m) = &e.kind else { return false };
        match &m.map.kind {
            ExprKind::Set(lit) => lit.elems.iter().filter_map(|el| el.data.as_ref()).any(is_interval_key),
            ExprKind::SetRef(name) => self
                .cx
                .set_decl(self.t, name)
                .is_some_and(|s| matches!(&s.data, Some(SetData::Value { interval: true, .. }))),
            _ => false,
        }
    }

    /// A value, a range (two registers) or a prefix (its first and last address) into
    /// freshly allocated registers; returns (min, max) and counts the registers taken.
    fn nat_operand(&mut self, e: &Expr, target: Type, taken: &mut u32) -> LResult<(u32, Option<u32>)> {
        let min = self.regs.get()?;
        *taken += 1;
        let (low, high) = match &e.kind {
            ExprKind::Range { low, high } => (low.clone(), high.clone()),
            ExprKind::Prefix { value, len } => {
                let mask =
                    Value::prefix_mask(value.bits(), value.order(), *len).map_err(|e| e.to_string())?;
                let low = value.and(&mask).map_err(|e| e.to_string())?;
                (low, value.prefix_last(*len).map_err(|e| e.to_string())?)
            }
            _ => {
                let l = self.expr_into(e, min, super::rule::Mode::Value)?;
                self.convert_arg(&l, e, target, ByteOrder::Network);
                return Ok((min, None));
            }
        };
        let max = self.regs.get()?;
        *taken += 1;
        self.immediate(min, &low, e.ty)?;
        self.immediate(max, &high, e.ty)?;
        Ok((min, Some(max)))
    }

    pub(crate) fn nat(&mut self, n: &Nat) -> LResult<()> {
        let family = n.family.unwrap_or(self.family);
        let addr_words = if family == Family::Ip6 { words_for(128) } else { words_for(32) };
        let mut flags = 0;
        if n.random {
            flags |= PROTO_RANDOM;
        }
        if n.persistent {
            flags |= PERSISTENT;
        }
        if n.fully_random {
            flags |= PROTO_RANDOM_FULLY;
        }
        if n.prefix {
            flags |= NETMAP;
        }
        if n.port.is_some() {
            flags |= PROTO_SPECIFIED;
        }
        let mut taken = 0;
        let (mut amin, mut amax, mut pmin, mut pmax) = (None, None, None, None);
        if let Some(addr) = &n.addr {
            let addr_ty = if family == Family::Ip6 { Type::Ipv6Addr } else { Type::Ipv4Addr };
            let (min, max) = self.nat_operand(addr, addr_ty, &mut taken)?;
            amin = Some(min);
            amax = max;
            let interval = self.map_data_interval(addr);
            let mut at = min;
            if interval {
                at += addr_words;
                if n.concat {
                    pmin = Some(at);
                } else {
                    amax = Some(at);
                }
            }
            if n.concat {
                let mut p = at;
                if interval {
                    p += addr_words;
                    amax = Some(p);
                }
                p += addr_words;
                if interval {
                    pmax = Some(p);
                } else {
                    pmin = Some(p);
                }
            }
        }
        if let Some(port) = &n.port {
            let (min, max) = self.nat_operand(port, Type::InetService, &mut taken)?;
            pmin = Some(min);
            pmax = max;
        }
        for _ in 0..taken {
            self.regs.release();
        }
        let r = |w: Option<u32>| w.map(reg);
        let flags = (flags != 0).then_some(flags);
        let e = match n.kind {
            NatKind::Snat | NatKind::Dnat => VmExpr::Nat(nat::Nat {
                kind: if n.kind == NatKind::Snat {
                    nftvm_vm::interp::NatKind::Snat
                } else {
                    nftvm_vm::interp::NatKind::Dnat
                },
                family,
                addr_min: r(amin),
                addr_max: r(amax),
                proto_min: r(pmin),
                proto_max: r(pmax),
                flags,
            }),
            NatKind::Masquerade => VmExpr::Masq(Masq { proto_min: r(pmin), proto_max: r(pmax), flags }),
            NatKind::Redirect => VmExpr::Redir(Redir { proto_min: r(pmin), proto_max: r(pmax), flags }),
        };
        self.emit(e);
        Ok(())
    }

    pub(crate) fn tproxy(&mut self, t: &Tproxy) -> LResult<()> {
        let family = t.family.or(match self.family {
            Family::Ip | Family::Ip6 => Some(self.family),
            _ => None,
        });
        let mut taken = 0;
        let mut out = tproxy::Tproxy { family, addr: None, port: None };
        if let Some(a) = &t.addr {
            let ty = if family == Some(Family::Ip6) { Type::Ipv6Addr } else { Type::Ipv4Addr };
            out.addr = Some(reg(self.nat_operand(a, ty, &mut taken)?.0));
        }
        if let Some(p) = &t.port {
            out.port = Some(reg(self.nat_operand(p, Type::InetService, &mut taken)?.0));
        }
        for _ in 0..taken {
            self.regs.release();
        }
        self.emit(VmExpr::Tproxy(out));
        Ok(())
    }
}
