//! Resolving a load expression to what it reads in a given packet context and hook: a list of
//! *pieces*, each a bit range of a storage or a constant.
//!
//! This is where the context's knowledge lives:
//! - IPv4: `ip protocol` (network bits 72..80) **is** `meta l4proto`; `ip version` is 4;
//!   transport loads fail on non-first fragments (network bits 51..64 non-zero).
//! - IPv6: `ip6 version` is 6; transport loads fail on non-first fragments.
//! - A field of an extension header, option or chunk is read only when it is there (the
//!   load fails without it); an IPv6 Mobility Header is the packet's transport as the kernel
//!   sees it (`ipv6_find_hdr` stops at it): `meta l4proto` is 135 and the packet is not a
//!   non-first fragment.
//! - `meta nfproto`, `meta protocol` and `ct l3protocol` are constants of the context;
//!   `ct saddr` is `ct ip saddr` in IPv4 and `ct ip6 saddr` in IPv6.
//! - `oif`/`oifname` read 0/"" in prerouting and input, `iif`/`iifname` in output.

use super::error::{Res, Unsupported};
use super::storage::{Ctx, Point, Storage, hook_has_no_iif, hook_has_no_oif};
use super::universe::{FieldView, StorageId, Universe};
use crate::ir::{Expr, ExprKind};
use crate::proto::Proto;
use crate::proto::exthdr::ExthdrOp;
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::{CtDir, CtKey, MetaKey, PayloadBase};

/// A part of a loaded value, most significant first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    Bits { storage: StorageId, off: u32, len: u32 },
    Const { value: u128, len: u32 },
}

impl Piece {
    /// The piece's width in bits (never zero).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u32 {
        match self {
            Piece::Bits { len, .. } | Piece::Const { len, .. } => *len,
        }
    }
}

/// A resolved load: its pieces, total width and what it needs to succeed.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub pieces: Vec<Piece>,
    pub width: u32,
    /// Reads the transport header (fails on non-first fragments).
    pub transport: bool,
    /// Reads a field of this extension header / option / chunk (fails without it).
    pub header: Option<Header>,
    pub ty: Type,
    pub order: ByteOrder,
}

/// An extension header / option / chunk a load reads a field of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub op: ExthdrOp,
    pub kind: u32,
    /// As nft names it (`rt`, `mh`, `maxseg`).
    pub name: &'static str,
}

impl Header {
    /// As nft lists it: `exthdr rt`, `tcp option maxseg`, `tcp option 254` (a raw kind).
    fn listed(self, presence: bool) -> String {
        let prefix = self.op.listing_prefix(presence);
        if self.name.is_empty() { format!("{prefix}{}", self.kind) } else { format!("{prefix}{}", self.name) }
    }
}

/// IPv6's Mobility Header: the transport as the kernel sees it (see the module doc).
pub const MOBILITY_HEADER: u32 = 135;

/// The number a constant denotes in the engine's value space: numbers as numbers, strings as
/// their bytes read most significant first (so a string prefix is a numeric interval),
/// padded to `bits`.
pub fn number(value: &Value, ty: Type, bits: u32) -> Res<u128> {
    if ty.is_string() || ty == Type::IfName {
        let bytes = value.bytes();
        let width = (bits / 8) as usize;
        if bytes.len() > width || width > 16 {
            return Err(Unsupported::new(format!("string constant wider than {bits} bits")));
        }
        let mut n: u128 = 0;
        for i in 0..width {
            n = (n << 8) | u128::from(bytes.get(i).copied().unwrap_or(0));
        }
        return Ok(n);
    }
    if value.bits() > 128 {
        return Err(Unsupported::new(format!("{}-bit constant", value.bits())));
    }
    value.to_u128().ok_or_else(|| Unsupported::new("constant wider than 128 bits"))
}

/// The printed name of a load (`tcp dport`, `meta mark`, `ct original saddr`).
pub fn load_name(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Payload(p) => p.name(),
        ExprKind::Meta(k) => crate::proto::meta::info(*k).printed(),
        ExprKind::InnerMeta { tunnel, key } => {
            format!("{} {}", tunnel.name(), crate::proto::meta::info(*key).printed())
        }
        ExprKind::Ct(c) => {
            let token = crate::proto::ct::info(c.key).token;
            match c.dir {
                Some(d) => format!("ct {} {token}", d.name()),
                None => format!("ct {token}"),
            }
        }
        ExprKind::Exthdr(x) => {
            let h = Header { op: x.op, kind: x.kind, name: x.header.name };
            match &x.field {
                Some(f) if !f.name.is_empty() => format!("{} {}", h.listed(false), f.name),
                // A raw load, as nft lists it: `tcp option @254,16,16`.
                Some(f) => format!("{}@{},{},{}", x.op.listing_prefix(false), x.kind, f.offset, f.len),
                None => h.listed(true),
            }
        }
        ExprKind::Rt(k) => format!("rt {k:?}").to_lowercase(),
        ExprKind::Fib(f) => format!("fib {:?}", f.result).to_lowercase(),
        ExprKind::Socket { key, .. } => format!("socket {key:?}").to_lowercase(),
        ExprKind::Osf { .. } => "osf name".into(),
        ExprKind::Ipsec { key, .. } => format!("ipsec {key:?}").to_lowercase(),
        ExprKind::Tunnel(k) => format!("tunnel {k:?}").to_lowercase(),
        ExprKind::Numgen(_) => "numgen".into(),
        _ => "expression".into(),
    }
}

/// Per-direction conntrack keys (the others ignore a direction).
fn ct_key_has_dir(key: CtKey) -> bool {
    matches!(
        key,
        CtKey::Src
            | CtKey::Dst
            | CtKey::ProtoSrc
            | CtKey::ProtoDst
            | CtKey::SrcIp
            | CtKey::DstIp
            | CtKey::SrcIp6
            | CtKey::DstIp6
            | CtKey::Pkts
            | CtKey::Bytes
            | CtKey::AvgPkt
            | CtKey::Zone
    )
}

fn nfproto_of(ctx: Ctx) -> Option<u128> {
    match ctx {
        Ctx::Ipv4 => Some(2),
        Ctx::Ipv6 => Some(10),
        _ => None,
    }
}

/// Resolve a load in `point`, registering its storages and ranges in `uni`.
pub fn resolve(expr: &Expr, point: Point, uni: &mut Universe) -> Res<Load> {
    let bits = expr.bits;
    let constant = |value: u128| Load {
        pieces: vec![Piece::Const { value, len: bits }],
        width: bits,
        transport: false,
        header: None,
        ty: expr.ty,
        order: expr.order,
    };
    let whole = |uni: &mut Universe, key: Storage| -> Res<Load> {
        let id = uni.storage(key, Some(bits))?;
        uni.note_range(id, 0, bits)?;
        uni.note_field(
            id,
            FieldView { name: load_name(expr), ty: expr.ty, off: 0, len: bits, proto: None, implicit: false },
        );
        Ok(Load {
            pieces: vec![Piece::Bits { storage: id, off: 0, len: bits }],
            width: bits,
            transport: false,
            header: None,
            ty: expr.ty,
            order: expr.order,
        })
    };
    if bits == 0 || bits > 128 {
        return Err(Unsupported::new(format!("{} ({bits}-bit load)", load_name(expr))));
    }
    match &expr.kind {
        ExprKind::Payload(p) => payload(expr, p, point, uni),
        ExprKind::Meta(key) => {
            let ctx_const = match key {
                MetaKey::Nfproto => nfproto_of(point.ctx),
                MetaKey::Protocol => match point.ctx {
                    Ctx::Ipv4 => Some(0x0800),
                    Ctx::Ipv6 => Some(0x86dd),
                    _ => None,
                },
                MetaKey::Oif | MetaKey::OifName if point.ctx.is_ip() && hook_has_no_oif(point.hook) => {
                    Some(0)
                }
                MetaKey::Iif | MetaKey::IifName if point.ctx.is_ip() && hook_has_no_iif(point.hook) => {
                    Some(0)
                }
                _ => None,
            };
            match ctx_const {
                Some(v) => Ok(constant(v)),
                None => whole(uni, Storage::Meta(*key)),
            }
        }
        ExprKind::Ct(ct) => {
            let mut key = ct.key;
            if key == CtKey::L3Protocol
                && let Some(v) = nfproto_of(point.ctx)
            {
                return Ok(constant(v));
            }
            key = match (key, point.ctx) {
                (CtKey::Src, Ctx::Ipv4) if bits == 32 => CtKey::SrcIp,
                (CtKey::Dst, Ctx::Ipv4) if bits == 32 => CtKey::DstIp,
                (CtKey::Src, Ctx::Ipv6) if bits == 128 => CtKey::SrcIp6,
                (CtKey::Dst, Ctx::Ipv6) if bits == 128 => CtKey::DstIp6,
                (k, _) => k,
            };
            let dir = if ct_key_has_dir(key) { Some(ct.dir.unwrap_or(CtDir::Original)) } else { None };
            whole(uni, Storage::Ct { key, dir })
        }
        ExprKind::Exthdr(x) => {
            let Some(f) = &x.field else {
                return whole(uni, Storage::ExthdrPresent { op: x.op, kind: x.kind });
            };
            let id = uni.storage(Storage::Exthdr { op: x.op, kind: x.kind }, None)?;
            uni.note_range(id, f.offset, f.len)?;
            uni.note_field(
                id,
                FieldView {
                    name: load_name(expr),
                    ty: expr.ty,
                    off: f.offset,
                    len: f.len,
                    proto: None,
                    implicit: false,
                },
            );
            Ok(Load {
                pieces: vec![Piece::Bits { storage: id, off: f.offset, len: f.len }],
                width: f.len,
                transport: false,
                header: Some(Header { op: x.op, kind: x.kind, name: x.header.name }),
                ty: expr.ty,
                order: expr.order,
            })
        }
        ExprKind::Rt(k) => whole(uni, Storage::Rt(*k)),
        ExprKind::Fib(f) => whole(uni, Storage::Fib { flags: f.flags, result: f.result }),
        ExprKind::Socket { key, level } => whole(uni, Storage::Socket { key: *key, level: *level }),
        ExprKind::Osf { ttl, version } => whole(uni, Storage::Osf { ttl: *ttl, version: *version }),
        ExprKind::Ipsec { dir, spnum, key } => {
            whole(uni, Storage::Ipsec { dir: *dir, spnum: *spnum, key: *key })
        }
        ExprKind::Tunnel(k) => whole(uni, Storage::Tunnel(*k)),
        ExprKind::InnerMeta { tunnel, key } => whole(uni, Storage::InnerMeta { tunnel: *tunnel, key: *key }),
        ExprKind::Numgen(n) => {
            if n.mode != crate::proto::misc::NumgenType::Random {
                return Err(Unsupported::new("numgen inc (a counter across packets)"));
            }
            whole(uni, Storage::Numgen { mode: n.mode, modulus: n.modulus, offset: n.offset })
        }
        ExprKind::Hash(_) => Err(Unsupported::new("jhash/symhash (a hash of packet fields)")),
        _ => Err(Unsupported::new(format!("{} as a load", load_name(expr)))),
    }
}

/// Network-header bits with a fixed meaning in IPv4/IPv6: `(start, end, what)`.
enum Special {
    Version(u128),
    L4proto,
}

fn payload(expr: &Expr, p: &crate::ir::Payload, point: Point, uni: &mut Universe) -> Res<Load> {
    let key = Storage::Payload { ctx: point.ctx, base: p.base, inner: p.inner };
    let transport = p.base == PayloadBase::Transport && p.inner.is_none();
    let specials: &[(u32, u32, Special)] = match (point.ctx, p.base, p.inner) {
        (Ctx::Ipv4, PayloadBase::Network, None) => &[(0, 4, Special::Version(4)), (72, 80, Special::L4proto)],
        (Ctx::Ipv6, PayloadBase::Network, None) => &[(0, 4, Special::Version(6))],
        _ => &[],
    };
    let (start, end) =
        (p.offset, p.offset.checked_add(p.len).ok_or_else(|| Unsupported::new("payload offset"))?);
    let mut cuts = vec![start, end];
    for (s, e, _) in specials {
        for c in [*s, *e] {
            if c > start && c < end {
                cuts.push(c);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut plain: Option<StorageId> = None;
    for w in cuts.windows(2) {
        let (s, e) = (w[0], w[1]);
        let special = specials.iter().find(|(ss, se, _)| s >= *ss && e <= *se);
        match special {
            Some((ss, _, Special::Version(v))) => {
                let len = e - s;
                let value = Universe::bits_of(*v, 4, s - ss, len);
                pieces.push(Piece::Const { value, len });
            }
            Some((ss, _, Special::L4proto)) => {
                let id = uni.storage(Storage::Meta(MetaKey::L4proto), Some(8))?;
                uni.note_range(id, s - ss, e - s)?;
                uni.note_field(
                    id,
                    FieldView {
                        name: "meta l4proto".into(),
                        ty: Type::InetProto,
                        off: 0,
                        len: 8,
                        proto: None,
                        implicit: false,
                    },
                );
                pieces.push(Piece::Bits { storage: id, off: s - ss, len: e - s });
            }
            None => {
                let id = match plain {
                    Some(id) => id,
                    None => {
                        let id = uni.storage(key.clone(), None)?;
                        plain = Some(id);
                        id
                    }
                };
                uni.note_range(id, s, e - s)?;
                pieces.push(Piece::Bits { storage: id, off: s, len: e - s });
            }
        }
    }
    if let Some(id) = plain {
        let foreign = matches!(
            (point.ctx, p.proto),
            (Ctx::Ipv4, Some(Proto::Ip6 | Proto::Icmpv6)) | (Ctx::Ipv6, Some(Proto::Ip | Proto::Icmp))
        );
        if !foreign {
            let view = FieldView {
                name: p.name(),
                ty: expr.ty,
                off: p.offset,
                len: p.len,
                proto: p.proto,
                implicit: false,
            };
            uni.note_field(id, view);
        }
    }
    Ok(Load { pieces, width: p.len, transport, header: None, ty: expr.ty, order: expr.order })
}

/// The bit that says header `h` is there (what `exthdr … exists` reads).
pub fn present(h: Header, uni: &mut Universe) -> Res<Piece> {
    let id = uni.storage(Storage::ExthdrPresent { op: h.op, kind: h.kind }, Some(1))?;
    uni.note_range(id, 0, 1)?;
    let view =
        FieldView { name: h.listed(true), ty: Type::Boolean, off: 0, len: 1, proto: None, implicit: false };
    uni.note_field(id, view);
    Ok(Piece::Bits { storage: id, off: 0, len: 1 })
}

/// The test every transport-header load implies: the packet is not a non-first fragment.
/// Returns the pieces whose value must be 0.
pub fn not_fragment(point: Point, uni: &mut Universe) -> Res<Option<Piece>> {
    match point.ctx {
        Ctx::Ipv4 => {
            let key = Storage::Payload { ctx: Ctx::Ipv4, base: PayloadBase::Network, inner: None };
            let id = uni.storage(key, None)?;
            uni.note_range(id, 51, 13)?;
            uni.note_field(
                id,
                FieldView {
                    name: "ip frag-off".into(),
                    ty: Type::XInteger,
                    off: 48,
                    len: 16,
                    proto: Some(Proto::Ip),
                    implicit: true,
                },
            );
            uni.note_range(id, 48, 16)?;
            Ok(Some(Piece::Bits { storage: id, off: 51, len: 13 }))
        }
        Ctx::Ipv6 => {
            let id = uni.storage(Storage::Ipv6Fragment, Some(1))?;
            uni.note_range(id, 0, 1)?;
            let view = FieldView {
                name: "ip6 non-first fragment".into(),
                ty: Type::Boolean,
                off: 0,
                len: 1,
                proto: None,
                implicit: true,
            };
            uni.note_field(id, view);
            Ok(Some(Piece::Bits { storage: id, off: 0, len: 1 }))
        }
        _ => Ok(None),
    }
}
