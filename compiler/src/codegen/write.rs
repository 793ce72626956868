//! Writes: `meta … set`, `ct … set`, payload writes (`ip ttl set 23`) and TCP option
//! writes, with the argument conversions and payload munging nft's evaluation does:
//!
//! - a non-constant argument is converted to the target's byte order where nft converts
//!   it (marks from integers, `rt` values, `numgen` into addresses, anything written into
//!   the packet);
//! - a payload write that is not byte aligned, or of odd length into a header with an
//!   internet checksum (or into a VLAN header), becomes load → `bitwise` → write of the
//!   covering bytes, widened to an even length (preferring a 16-bit aligned start), so the
//!   kernel can update the checksum incrementally;
//! - the write carries the header's checksum type and offset, and the pseudo-header flag
//!   when the field is part of the transport checksum's pseudo-header (addresses, protocol,
//!   length) or the header is UDP.

use super::data::{self, bytes_of};
use super::error::LResult;
use super::expr::is_concat;
use super::regs::reg;
use super::rule::{Gen, Loaded, Mode};
use crate::ir::{BinOp, Expr, ExprKind, Payload, Write};
use crate::proto::{Checksum, Proto};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::expr::byteorder::ByteorderOp;
use nftvm_vm::expr::{ct, exthdr, meta, payload};
use nftvm_vm::keys::PayloadBase;

fn ones(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

impl Gen<'_, '_> {
    /// Convert a statement argument already in `l` to `order` where nft does.
    pub(crate) fn convert_arg(&mut self, l: &Loaded, value: &Expr, target: Type, order: ByteOrder) {
        // Operator chains already compute in the statement's order (see `widen`).
        if value.is_constant() || l.concat || matches!(value.kind, ExprKind::Binary { .. }) {
            return;
        }
        let p = l.part();
        let wanted = target == Type::Mark && !value.ty.is_string()
            || matches!(value.kind, ExprKind::Rt(_))
            || (matches!(value.kind, ExprKind::Numgen(_))
                && matches!(target, Type::Ipv4Addr | Type::Ipv6Addr));
        if wanted {
            self.convert_to(l.word, p.bytes, value.bits, p.order, order, p.ty);
        }
    }

    fn convert_to(&mut self, word: u32, bytes: u32, bits: u32, from: ByteOrder, to: ByteOrder, ty: Type) {
        if from == to || bytes < 2 || ty.is_string() {
            return;
        }
        let op = if to == ByteOrder::Network { ByteorderOp::Hton } else { ByteorderOp::Ntoh };
        self.byteorder(word, bytes, bits, op);
    }

    pub(crate) fn write(&mut self, w: &Write) -> LResult<()> {
        let target = &w.target;
        match &target.kind {
            ExprKind::Meta(key) => {
                let word = self.arg_for(&w.value, target)?;
                self.release_arg(&w.value);
                self.emit(VmExpr::Meta(meta::Meta { key: *key, op: meta::MetaOp::Set { sreg: reg(word) } }));
                Ok(())
            }
            ExprKind::Ct(c) => {
                let word = self.arg_for(&w.value, target)?;
                self.release_arg(&w.value);
                self.emit(VmExpr::Ct(ct::Ct {
                    key: c.key,
                    dir: c.dir,
                    op: ct::CtOp::Set { sreg: reg(word) },
                }));
                Ok(())
            }
            ExprKind::Exthdr(x) => {
                let (off, len) = x.location();
                let word = self.arg_for(&w.value, target)?;
                self.release_arg(&w.value);
                self.emit(VmExpr::Exthdr(exthdr::Exthdr {
                    op: x.op as u8,
                    kind: u8::try_from(x.kind).map_err(|_| "option kind out of range")?,
                    offset: off / 8,
                    len: bytes_of(len) as u8,
                    flags: 0,
                    action: exthdr::ExthdrAction::Write { sreg: reg(word) },
                }));
                Ok(())
            }
            ExprKind::Payload(p) => self.payload_write(p, target, &w.value),
            _ => Err("cannot write to this expression".into()),
        }
    }

    /// Generate a statement argument with nft's conversions (see [`Gen::convert_arg`]).
    fn arg_for(&mut self, value: &Expr, target: &Expr) -> LResult<u32> {
        let widened;
        let value = if target.order == ByteOrder::Host && !target.ty.is_string() {
            widened = super::expr::widen(value, target.bits, target.order);
            &widened
        } else {
            value
        };
        let word = self.regs.get_for(is_concat(value), value.bits)?;
        let l = self.expr_into(value, word, Mode::Value)?;
        self.convert_arg(&l, value, target.ty, target.order);
        Ok(word)
    }

    fn payload_write(&mut self, p: &Payload, target: &Expr, value: &Expr) -> LResult<()> {
        if p.inner.is_some() {
            return Err("payload statement for this expression is not supported".into());
        }
        let aligned = needs_csum(p) || is_vlan(p);
        if !p.is_bitfield() && (!aligned || (p.len / 8).is_multiple_of(2)) {
            let word = self.regs.get_for(is_concat(value), value.bits)?;
            let l = self.expr_into(value, word, Mode::Value)?;
            if !value.is_constant() && !l.concat {
                let part = l.part();
                self.convert_to(word, part.bytes, value.bits, part.order, target.order, part.ty);
            }
            self.regs.release_for(is_concat(value), value.bits);
            self.emit_write(p, word, p.offset / 8, p.len / 8);
            return Ok(());
        }
        // Read-modify-write of the covering bytes.
        let mut byte_off = p.offset / 8;
        let rem = p.offset % 8;
        let mut size = (rem + p.len).div_ceil(8);
        let mut shift = size * 8 - rem - p.len;
        if aligned && size % 2 == 1 {
            size += 1;
            if byte_off % 2 == 1 {
                byte_off -= 1;
            } else {
                shift += 8;
            }
        }
        let all = ones(size * 8);
        let field = ones(p.len) << shift;
        let (mask, xor) = match &value.kind {
            ExprKind::Value(v) => {
                let n = v.to_u128().ok_or("value wider than 128 bits")?;
                (all ^ field, (n << shift) & field)
            }
            ExprKind::Binary { .. } => rmw_chain(value, p, shift, all, field)?,
            _ => return Err("payload statement for this expression is not supported".into()),
        };
        let word = self.regs.get()?;
        self.emit(VmExpr::Payload(payload::Payload {
            base: p.base,
            offset: byte_off,
            len: size as u8,
            op: payload::PayloadOp::Load { dreg: reg(word) },
        }));
        self.mask_xor(word, size, data::net_uint(mask, size as usize)?, data::net_uint(xor, size as usize)?);
        self.regs.release();
        self.emit_write(p, word, byte_off, size);
        Ok(())
    }

    fn emit_write(&mut self, p: &Payload, word: u32, offset: u32, len: u32) {
        let (csum_type, csum_offset) = checksum(p);
        let pseudo = pseudo_header(p);
        self.emit(VmExpr::Payload(payload::Payload {
            base: p.base,
            offset,
            len: len as u8,
            op: payload::PayloadOp::Write {
                sreg: reg(word),
                csum_type,
                csum_offset,
                csum_flags: if pseudo { payload::L4CSUM_PSEUDOHDR } else { 0 },
            },
        }));
    }
}

/// `target set target op const …`: the mask and xor of the chain over the covering bytes,
/// constants shifted into place and `&` keeping the bits outside the field.
fn rmw_chain(value: &Expr, p: &Payload, shift: u32, all: u128, field: u128) -> LResult<(u128, u128)> {
    let mut chain: Vec<(BinOp, u128)> = Vec::new();
    let mut cur = value;
    while let ExprKind::Binary { op, lhs, rhs } = &cur.kind {
        let v = rhs
            .as_value()
            .and_then(Value::to_u128)
            .ok_or("payload statement for this expression is not supported")?;
        chain.push((*op, v));
        cur = lhs;
    }
    match &cur.kind {
        ExprKind::Payload(q) if q.base == p.base && q.offset == p.offset && q.len == p.len => {}
        _ => return Err("payload statement for this expression is not supported".into()),
    }
    let (mut mask, mut xor) = (all, 0u128);
    for (op, v) in chain.iter().rev() {
        let v = (v << shift) & all;
        let (m, x) = match op {
            BinOp::And => (v | (all ^ field), 0),
            BinOp::Or => (all ^ v, v),
            BinOp::Xor => (all, v),
            _ => return Err("payload statement for this expression is not supported".into()),
        };
        xor = x ^ (xor & m);
        mask &= m;
    }
    Ok((mask, xor))
}

/// Does a write into this header need an even length (checksum fix-ups)?
fn needs_csum(p: &Payload) -> bool {
    p.base == PayloadBase::Inner || p.proto.is_some_and(|pr| pr.desc().checksum.is_some())
}

fn is_vlan(p: &Payload) -> bool {
    p.base == PayloadBase::Link && p.proto == Some(Proto::Vlan)
}

/// Checksum type and offset of the header written to.
fn checksum(p: &Payload) -> (u8, u32) {
    let Some(desc) = p.proto.map(Proto::desc) else { return (0, 0) };
    let Some((name, kind)) = desc.checksum else { return (0, 0) };
    let Some(f) = desc.field(name) else { return (0, 0) };
    if f.offset == 0 {
        return (0, 0);
    }
    let ty = match kind {
        Checksum::Inet => payload::CSUM_INET,
        Checksum::Sctp => payload::CSUM_SCTP,
    };
    (ty, f.offset / 8)
}

/// Is the field part of the transport checksum's pseudo-header (or a UDP field, or inner)?
fn pseudo_header(p: &Payload) -> bool {
    match (p.base, p.proto) {
        (PayloadBase::Inner, _) => true,
        (PayloadBase::Network, Some(Proto::Ip)) => {
            matches!(p.field.name, "saddr" | "daddr" | "protocol" | "length")
        }
        (PayloadBase::Network, Some(Proto::Ip6)) => {
            matches!(p.field.name, "saddr" | "daddr" | "nexthdr" | "length")
        }
        (PayloadBase::Transport, Some(Proto::Udp)) => true,
        _ => false,
    }
}
