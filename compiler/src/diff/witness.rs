//! Turning a region where the two rulesets disagree into one concrete packet: a value per
//! slot (readable ones where the region allows: `tcp` over protocol 0, `eth0` over an empty
//! interface name), adjusted so the difference actually shows, then described field by field
//! as the rules name them.

use super::interval::Interval;
use super::outcome::Pick;
use super::storage::{Ctx, Storage};
use super::universe::{Slot, Universe};
use crate::proto::Proto;
use crate::types::{PrintOpts, Type, Value};
use nftvm_vm::keys::{MetaKey, PayloadBase};

/// One field of a counterexample packet.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldValue {
    /// As rules name it (`ip saddr`, `tcp dport`, `ct state`).
    pub name: String,
    pub storage: Storage,
    /// Bit offset and length inside the storage.
    pub off: u32,
    pub len: u32,
    pub value: u128,
    /// The value as nft prints it (`10.0.0.1`, `22`, `established`).
    pub text: String,
    /// Worth showing: not a zero precondition field, and of the packet's own transport
    /// protocol (a TCP packet's bits 0..8 are not shown as `icmp type`).
    pub shown: bool,
}

/// The IP protocol number whose header a protocol names (None: any / not a transport).
fn l4_number(p: Proto) -> Option<u128> {
    Some(match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Udplite => 136,
        Proto::Icmp => 1,
        Proto::Icmpv6 => 58,
        Proto::Sctp => 132,
        Proto::Dccp => 33,
        Proto::Esp => 50,
        Proto::Ah => 51,
        Proto::Comp => 108,
        Proto::Gre => 47,
        Proto::Igmp => 2,
        _ => return None,
    })
}

/// Display order of storages: interfaces, network header, protocol, transport header,
/// conntrack, other metadata.
fn rank(s: &Storage) -> u8 {
    match s {
        Storage::Meta(MetaKey::IifName | MetaKey::Iif | MetaKey::OifName | MetaKey::Oif) => 0,
        Storage::Payload { base: PayloadBase::Link, .. } => 1,
        Storage::Payload { base: PayloadBase::Network, .. } => 2,
        Storage::Meta(MetaKey::L4proto) => 3,
        Storage::Payload { base: PayloadBase::Transport, .. } => 4,
        Storage::Payload { .. } | Storage::Exthdr { .. } | Storage::ExthdrPresent { .. } => 5,
        Storage::Ipv6Fragment => 6,
        Storage::Ct { .. } => 7,
        Storage::Meta(_) => 8,
        _ => 9,
    }
}

fn string_number(s: &str) -> u128 {
    let mut n: u128 = 0;
    for i in 0..16 {
        n = (n << 8) | u128::from(s.as_bytes().get(i).copied().unwrap_or(0));
    }
    n
}

/// Where the preferred values of an address slot do not fit: a value of `iv` a host routes
/// (IPv4 not in 0/8, 127/8 or 224/3 — Linux drops martians after prerouting; IPv6 neither `::`
/// nor `::1`), so a counterexample also shows on a real host.
fn routable(iv: Interval, v6: bool) -> Option<u128> {
    let (ok, candidates): (fn(u128) -> bool, [u128; 3]) = if v6 {
        (|v| v > 1, [iv.lo, 2, 0x2001_0db8 << 96 | 1])
    } else {
        (|v| !matches!(v >> 24, 0 | 127 | 224..), [iv.lo, 0x0100_0001, 0x8000_0001])
    };
    candidates.into_iter().find(|v| iv.contains(*v) && ok(*v))
}

fn preferred(uni: &Universe, slot: Slot, iv: Interval) -> Vec<u128> {
    let info = uni.slot(slot);
    let address = |ctx: &Ctx| match ctx {
        Ctx::Ipv4 => (info.len == 32 && (info.off == 96 || info.off == 128)).then_some(false),
        Ctx::Ipv6 => (info.len == 128 && (info.off == 64 || info.off == 192)).then_some(true),
        _ => None,
    };
    match &uni.info(info.storage).key {
        Storage::Payload { ctx, base: PayloadBase::Network, inner: None } if address(ctx).is_some() => {
            routable(iv, address(ctx) == Some(true)).into_iter().collect()
        }
        Storage::Meta(MetaKey::L4proto) if info.len == 8 => vec![6, 17, 1, 58],
        Storage::Meta(MetaKey::IifName | MetaKey::OifName) if info.len == 128 => {
            ["eth0", "eth1", "eth2", "lan0", "wan0", "ppp0", "x"].iter().map(|s| string_number(s)).collect()
        }
        _ => vec![],
    }
}

fn other_than(iv: Interval, avoid: u128) -> u128 {
    if iv.lo != avoid { iv.lo } else { iv.lo.saturating_add(1).min(iv.hi) }
}

/// A value for every slot inside `region`, honouring `picks`.
pub fn choose(region: &[Interval], picks: &[Pick], uni: &Universe) -> Vec<u128> {
    let mut vals: Vec<u128> = region
        .iter()
        .enumerate()
        .map(|(s, iv)| preferred(uni, s as Slot, *iv).into_iter().find(|v| iv.contains(*v)).unwrap_or(iv.lo))
        .collect();
    for p in picks {
        match *p {
            Pick::Not(x, c) => {
                let x = x as usize;
                if vals.get(x) == Some(&c) {
                    vals[x] = other_than(region[x], c);
                }
            }
            Pick::Apart(x, y) => {
                let (x, y) = (x as usize, y as usize);
                if x < vals.len() && y < vals.len() && vals[x] == vals[y] {
                    if !region[x].is_point() {
                        vals[x] = other_than(region[x], vals[y]);
                    } else {
                        vals[y] = other_than(region[y], vals[x]);
                    }
                }
            }
        }
    }
    vals
}

/// The number held by bits `off..off+len` of a storage, from the slot values.
fn assemble(uni: &Universe, storage: u32, off: u32, len: u32, vals: &[u128]) -> Option<u128> {
    let info = uni.info(storage);
    let segs = uni.segments(storage, off, len).ok()?;
    if let Some(values) = info.values {
        let idx = *vals.get(segs.first()?.0 as usize)?;
        return values.get(idx as usize).copied();
    }
    let mut n: u128 = 0;
    for (slot, slen) in segs {
        n = n.checked_shl(slen).unwrap_or(0) | vals.get(slot as usize).copied()?;
    }
    Some(n)
}

/// Print a number of type `ty` and width `len` as nft would.
pub fn print(ty: Type, len: u32, n: u128) -> String {
    let opts = PrintOpts::default();
    if ty.is_string() || ty == Type::IfName {
        let bytes: Vec<u8> = (0..len / 8).map(|i| (n >> (len - 8 - 8 * i)) as u8).collect();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        return format!("\"{}\"", String::from_utf8_lossy(&bytes[..end]).escape_debug());
    }
    let value = match Value::from_uint(len, ty.order(), n) {
        Ok(v) => v,
        Err(_) => return format!("{n:#x}"),
    };
    if ty.is_bitmask() && n != 0 {
        return ty.print_flags(&value, ",", &opts);
    }
    if matches!(ty, Type::Invalid | Type::Integer | Type::XInteger) && len > 16 {
        return format!("{n:#x}");
    }
    ty.print(&value, &opts)
}

/// The fields of `used` slots' storages, with the values of `vals`, in display order.
pub fn fields(vals: &[u128], used: &[Slot], uni: &Universe) -> Vec<FieldValue> {
    let mut storages: Vec<u32> = used.iter().map(|s| uni.slot(*s).storage).collect();
    storages.sort_unstable();
    storages.dedup();
    storages.sort_by_key(|id| rank(&uni.info(*id).key));
    let l4 = uni
        .storages()
        .find(|(_, s)| s.key == Storage::Meta(MetaKey::L4proto))
        .and_then(|(id, _)| assemble(uni, id, 0, 8, vals));
    let mut out = Vec::new();
    for id in storages {
        let info = uni.info(id);
        let mut views = info.fields.clone();
        views.sort_by_key(|v| (v.off, v.len));
        if views.is_empty() {
            for s in used.iter().filter(|s| uni.slot(**s).storage == id) {
                let si = uni.slot(*s);
                let value = vals.get(*s as usize).copied().unwrap_or(0);
                out.push(FieldValue {
                    name: info.key.describe(),
                    storage: info.key.clone(),
                    off: si.off,
                    len: si.len,
                    value,
                    text: format!("{value}"),
                    shown: true,
                });
            }
            continue;
        }
        let transport =
            matches!(info.key, Storage::Payload { base: PayloadBase::Transport, inner: None, .. });
        // The fields of a header the packet does not have are not worth showing.
        let missing = match info.key {
            Storage::Exthdr { op, kind } => {
                uni.storages()
                    .find(|(_, s)| s.key == Storage::ExthdrPresent { op, kind })
                    .and_then(|(p, _)| assemble(uni, p, 0, 1, vals))
                    == Some(0)
            }
            _ => false,
        };
        for v in views {
            let Some(value) = assemble(uni, id, v.off, v.len, vals) else { continue };
            let own_proto =
                !missing && (!transport || v.proto.and_then(l4_number).is_none_or(|n| Some(n) == l4));
            out.push(FieldValue {
                name: v.name.clone(),
                storage: info.key.clone(),
                off: v.off,
                len: v.len,
                value,
                text: print(v.ty, v.len, value),
                shown: own_proto && !(v.implicit && value == 0),
            });
        }
    }
    out
}

/// A header of the counterexample packet: its bytes, and which bits the rules read (the
/// others are free: a replay fills them with anything valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub base: PayloadBase,
    pub bytes: Vec<u8>,
    pub mask: Vec<u8>,
}

fn put_bits(buf: &mut Vec<u8>, off: u32, len: u32, value: u128) {
    let end = (off + len).div_ceil(8) as usize;
    if buf.len() < end {
        buf.resize(end, 0);
    }
    for i in 0..len {
        let bit = (value.checked_shr(len - 1 - i).unwrap_or(0) & 1) as u8;
        let pos = off + i;
        let (byte, shift) = ((pos / 8) as usize, 7 - pos % 8);
        buf[byte] = (buf[byte] & !(1 << shift)) | (bit << shift);
    }
}

/// The packet headers of `ctx` as bytes (network and transport header, link layer when
/// read), with the context's fixed bits (IP version, IPv4 protocol = `meta l4proto`).
pub fn headers(vals: &[u128], used: &[Slot], uni: &Universe, ctx: super::storage::Ctx) -> Vec<Header> {
    let mut out: Vec<Header> = Vec::new();
    let get = |base: PayloadBase, out: &mut Vec<Header>| -> usize {
        if let Some(i) = out.iter().position(|h| h.base == base) {
            return i;
        }
        out.push(Header { base, bytes: Vec::new(), mask: Vec::new() });
        out.len() - 1
    };
    for &s in used {
        let si = uni.slot(s);
        if let Storage::Payload { ctx: c, base, inner: None } = &uni.info(si.storage).key
            && *c == ctx
        {
            let i = get(*base, &mut out);
            put_bits(&mut out[i].bytes, si.off, si.len, vals.get(s as usize).copied().unwrap_or(0));
            put_bits(&mut out[i].mask, si.off, si.len, u128::MAX);
        }
    }
    let l4 = uni
        .storages()
        .find(|(_, s)| s.key == Storage::Meta(MetaKey::L4proto))
        .and_then(|(id, _)| assemble(uni, id, 0, 8, vals));
    match ctx {
        super::storage::Ctx::Ipv4 => {
            let i = get(PayloadBase::Network, &mut out);
            put_bits(&mut out[i].bytes, 0, 4, 4);
            put_bits(&mut out[i].mask, 0, 4, 0xf);
            if let Some(p) = l4 {
                put_bits(&mut out[i].bytes, 72, 8, p);
                put_bits(&mut out[i].mask, 72, 8, 0xff);
            }
        }
        super::storage::Ctx::Ipv6 => {
            let i = get(PayloadBase::Network, &mut out);
            put_bits(&mut out[i].bytes, 0, 4, 6);
            put_bits(&mut out[i].mask, 0, 4, 0xf);
        }
        _ => {}
    }
    for h in &mut out {
        let n = h.bytes.len().max(h.mask.len());
        h.bytes.resize(n, 0);
        h.mask.resize(n, 0);
    }
    out.sort_by_key(|h| h.base);
    out
}
