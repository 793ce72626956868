//! Loads: the expressions that read the packet or its state into a register — `payload`
//! (inside an `inner` expression for tunnel fields), `exthdr`, `meta`, `ct`, `rt`, `fib`,
//! `socket`, `osf`, `numgen`, `hash`, `xfrm`, `tunnel` — and the bit-field treatment nft's
//! `expr_evaluate_bits` gives sub-byte fields.

use super::data::{self, bytes_of};
use super::error::LResult;
use super::regs::reg;
use super::rule::{Gen, Loaded, Mode, Part};
use crate::ir::{Expr, ExprKind, Exthdr, Payload};
use crate::proto::Proto;
use crate::types::{ByteOrder, Type};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::data::{ByteOrder as VmOrder, Data};
use nftvm_vm::expr::{
    bitwise::{Bitwise, BitwiseOp},
    byteorder::{Byteorder, ByteorderOp},
    ct, exthdr, fib, hash, inner, meta, numgen, osf, payload, rt, socket, tunnel, xfrm,
};
use nftvm_vm::keys::PayloadBase;

/// Where a bit field sits in its load: bytes loaded, mask and shift.
#[derive(Clone, Copy, Debug)]
struct Bits {
    bytes: u32,
    mask: u128,
    shift: u32,
}

fn bits_of(offset: u32, len: u32) -> Bits {
    let start = offset / 8;
    let bytes = (offset + len).div_ceil(8) - start;
    let shift = bytes * 8 - offset % 8 - len;
    let ones = if len >= 128 { u128::MAX } else { (1u128 << len) - 1 };
    Bits { bytes, mask: ones << shift, shift }
}

impl Gen<'_, '_> {
    /// Emit a load expression (not a bit field: see [`Gen::expr_into`]) into `word`.
    pub fn load(&mut self, e: &Expr, word: u32) -> LResult<Loaded> {
        let dreg = reg(word);
        let single = |bytes: u32| Loaded::single(word, e.ty, bytes, e.order);
        match &e.kind {
            ExprKind::Payload(p) => {
                let (_, len) = p.load_span();
                self.payload_load(p, word, None)?;
                Ok(single(len))
            }
            ExprKind::Exthdr(x) => {
                let (off, len) = x.location();
                let b = bits_of(off, len);
                self.exthdr_load(x, word)?;
                Ok(single(b.bytes))
            }
            ExprKind::Meta(key) => {
                self.emit(VmExpr::Meta(meta::Meta { key: *key, op: meta::MetaOp::Load { dreg } }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::InnerMeta { tunnel: t, key } => {
                let info = t.desc().inner.ok_or_else(|| format!("{} is not a tunnel", t.name()))?;
                let load = meta::Meta { key: *key, op: meta::MetaOp::Load { dreg } };
                self.emit(VmExpr::Inner(inner::Inner {
                    kind: info.kind,
                    hdrsize: info.hdrsize,
                    flags: info.flags,
                    expr: Box::new(VmExpr::Meta(load)),
                }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Ct(c) => {
                self.emit(VmExpr::Ct(ct::Ct { key: c.key, dir: c.dir, op: ct::CtOp::Load { dreg } }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Rt(k) => {
                self.emit(VmExpr::Rt(rt::Rt { key: *k as u32, dreg }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Fib(f) => {
                self.emit(VmExpr::Fib(fib::Fib { flags: f.flags, result: f.result.number(), dreg }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Socket { key, level } => {
                self.emit(VmExpr::Socket(socket::Socket { key: *key as u32, dreg, level: *level }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Osf { ttl, version } => {
                let flags = if *version { crate::proto::osf::F_VERSION } else { 0 };
                self.emit(VmExpr::Osf(osf::Osf { dreg, ttl: *ttl, flags }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Numgen(n) => {
                let kind = match n.mode {
                    crate::proto::misc::NumgenType::Inc => numgen::NumgenKind::Inc,
                    crate::proto::misc::NumgenType::Random => numgen::NumgenKind::Random,
                };
                self.emit(VmExpr::Numgen(numgen::Numgen {
                    dreg,
                    kind,
                    modulus: n.modulus,
                    offset: n.offset,
                    slot: 0,
                }));
                Ok(single(4))
            }
            ExprKind::Hash(h) => {
                let kind = match &h.expr {
                    Some(inner_expr) => {
                        let concat = matches!(inner_expr.kind, ExprKind::Concat(_));
                        let sreg = self.regs.get_for(concat, inner_expr.bits)?;
                        let l = self.expr_into(inner_expr, sreg, Mode::Value)?;
                        self.regs.release_for(concat, inner_expr.bits);
                        let len = if concat { l.bytes } else { bytes_of(inner_expr.bits) };
                        hash::HashKind::Jenkins { sreg: reg(sreg), len: len as u8, seed: h.seed.unwrap_or(0) }
                    }
                    None => hash::HashKind::Sym,
                };
                self.emit(VmExpr::Hash(hash::Hash { dreg, kind, modulus: h.modulus, offset: h.offset }));
                Ok(single(4))
            }
            ExprKind::Ipsec { dir, spnum, key } => {
                self.emit(VmExpr::Xfrm(xfrm::Xfrm {
                    dir: *dir as u8,
                    spnum: *spnum,
                    key: *key as u32,
                    dreg,
                }));
                Ok(single(bytes_of(e.bits)))
            }
            ExprKind::Tunnel(k) => {
                self.emit(VmExpr::Tunnel(tunnel::Tunnel { key: *k as u32, dreg }));
                Ok(single(bytes_of(e.bits)))
            }
            _ => Err(format!("not a load: {:?}", e.kind)),
        }
    }

    /// `payload load` of the bytes covering `p` (or `len_override` bytes), wrapped in an
    /// `inner` expression for fields inside a tunnel.
    pub fn payload_load(&mut self, p: &Payload, word: u32, len_override: Option<u32>) -> LResult<()> {
        let (off, span) = p.load_span();
        let len = len_override.unwrap_or(span);
        let load = payload::Payload {
            base: p.base,
            offset: off,
            len: u8::try_from(len).map_err(|_| "payload load longer than 255 bytes")?,
            op: payload::PayloadOp::Load { dreg: reg(word) },
        };
        match tunnel_of(p) {
            Some(t) => {
                let info = t.desc().inner.ok_or_else(|| format!("{} is not a tunnel", t.name()))?;
                let mut load = load;
                if load.base == PayloadBase::Inner {
                    load.base = PayloadBase::Link;
                }
                self.emit(VmExpr::Inner(inner::Inner {
                    kind: info.kind,
                    hdrsize: info.hdrsize,
                    flags: info.flags,
                    expr: Box::new(VmExpr::Payload(load)),
                }));
            }
            None => self.emit(VmExpr::Payload(load)),
        }
        Ok(())
    }

    fn exthdr_load(&mut self, x: &Exthdr, word: u32) -> LResult<()> {
        let (off, len) = x.location();
        let b = bits_of(off, len);
        let flags = if x.field.is_none() { exthdr::F_PRESENT } else { 0 };
        self.emit(VmExpr::Exthdr(exthdr::Exthdr {
            op: x.op as u8,
            kind: u8::try_from(x.kind).map_err(|_| "extension header type out of range")?,
            offset: off / 8,
            len: b.bytes as u8,
            flags,
            action: exthdr::ExthdrAction::Load { dreg: reg(word) },
        }));
        Ok(())
    }

    /// Load a bit field (`ip dscp`, `ip6 flowlabel`, `tcp option mptcp subtype`): the covering
    /// bytes, masked; in [`Mode::Value`] also converted to host order (when wider than a byte)
    /// and shifted down.
    pub fn bitfield(&mut self, e: &Expr, word: u32, mode: Mode) -> LResult<Loaded> {
        let (offset, len) = match &e.kind {
            ExprKind::Payload(p) => (p.offset, p.len),
            ExprKind::Exthdr(x) => x.location(),
            _ => return Err("not a bit field".into()),
        };
        let b = bits_of(offset, len);
        match &e.kind {
            ExprKind::Payload(p) => self.payload_load(p, word, None)?,
            ExprKind::Exthdr(x) => self.exthdr_load(x, word)?,
            _ => {}
        }
        self.mask_xor(
            word,
            b.bytes,
            data::net_uint(b.mask, b.bytes as usize)?,
            Data::zeroed(b.bytes as usize, VmOrder::Network),
        );
        if mode == Mode::Match || b.shift == 0 {
            let part = Part {
                ty: e.ty,
                bytes: b.bytes,
                order: ByteOrder::Network,
                shift: b.shift,
                to_network: false,
            };
            return Ok(Loaded { word, bytes: b.bytes, parts: vec![part], concat: false });
        }
        let mut order = e.order;
        if b.bytes > 1 {
            let bits = b.bytes * 8 - offset % 8;
            if byteorder_size(b.bytes, bits).is_none() {
                return Err(format!(
                    "a {len}-bit field at bit offset {offset} spans {} bytes: as a key it needs a byte \
                     order conversion of {} bytes, and nf_tables converts 2, 4 or 8-byte units only",
                    b.bytes, b.bytes
                ));
            }
            self.byteorder(word, b.bytes, bits, ByteorderOp::Ntoh);
            order = ByteOrder::Host;
        }
        self.emit(VmExpr::Bitwise(Bitwise {
            dreg: reg(word),
            sreg: reg(word),
            len: b.bytes as u8,
            op: BitwiseOp::Rshift(b.shift),
        }));
        Ok(Loaded::single(word, e.ty, b.bytes, order))
    }

    /// `bitwise reg = (reg & mask) ^ xor` over `len` bytes.
    pub fn mask_xor(&mut self, word: u32, len: u32, mask: Data, xor: Data) {
        self.emit(VmExpr::Bitwise(Bitwise {
            dreg: reg(word),
            sreg: reg(word),
            len: len as u8,
            op: BitwiseOp::MaskXor { mask, xor },
        }));
    }

    /// `byteorder reg = hton|ntoh(reg, len, size)` for a value of `bits` (size 8, 4 or 2 as
    /// the width divides; see [`byteorder_size`]).
    pub fn byteorder(&mut self, word: u32, len: u32, bits: u32, op: ByteorderOp) {
        let size = byteorder_size(len, bits).unwrap_or(2);
        self.emit(VmExpr::Byteorder(Byteorder {
            dreg: reg(word),
            sreg: reg(word),
            op,
            len: len as u8,
            size,
        }));
    }
}

/// The unit of a byte order conversion of `len` bytes holding a value of `bits`: 8, 4 or 2
/// as the width divides — `None` when that unit does not divide `len` (the kernel's
/// `nft_byteorder` refuses such a conversion; the verifier does too).
pub fn byteorder_size(len: u32, bits: u32) -> Option<u8> {
    let size = if bits.is_multiple_of(64) {
        8
    } else if bits.is_multiple_of(32) {
        4
    } else {
        2
    };
    len.is_multiple_of(size).then_some(size as u8)
}

/// True for payload and exthdr fields that do not start and end on byte boundaries.
pub fn is_bitfield(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Payload(p) => p.is_bitfield(),
        ExprKind::Exthdr(x) => {
            let (off, len) = x.location();
            x.field.is_some() && (!off.is_multiple_of(8) || !len.is_multiple_of(8))
        }
        _ => false,
    }
}

/// The tunnel whose `inner` expression must wrap a payload load.
fn tunnel_of(p: &Payload) -> Option<Proto> {
    p.inner.or_else(|| p.proto.filter(|pr| pr.desc().base == PayloadBase::Tunnel))
}

/// Type id nft gives a key (concatenations: members' ids packed 6 bits each).
pub fn type_id(e: &Expr) -> u32 {
    match &e.kind {
        ExprKind::Concat(parts) => parts.iter().fold(0u32, |acc, p| (acc << 6) | p.ty.netlink_id()),
        _ => e.ty.netlink_id(),
    }
}

/// Type id of a list of key types.
pub fn types_id(types: &[Type]) -> u32 {
    match types {
        [one] => one.netlink_id(),
        _ => types.iter().fold(0u32, |acc, t| (acc << 6) | t.netlink_id()),
    }
}
