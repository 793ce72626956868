//! Turning a region where the two rulesets disagree into one concrete packet: a value per
//! slot (readable ones where the region allows: `tcp` over protocol 0, `eth0` over an empty
//! interface name), adjusted so the difference actually shows, then described field by field
//! as the rules name them.

use super::interval::Interval;
use super::outcome::Pick;
use super::storage::Storage;
use super::universe::{Slot, Universe};
use crate::types::{PrintOpts, Type, Value};
use nftvm_vm::keys::MetaKey;

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
}

fn string_number(s: &str) -> u128 {
    let mut n: u128 = 0;
    for i in 0..16 {
        n = (n << 8) | u128::from(s.as_bytes().get(i).copied().unwrap_or(0));
    }
    n
}

fn preferred(uni: &Universe, slot: Slot) -> Vec<u128> {
    let info = uni.slot(slot);
    match &uni.info(info.storage).key {
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
        .map(|(s, iv)| preferred(uni, s as Slot).into_iter().find(|v| iv.contains(*v)).unwrap_or(iv.lo))
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

/// The fields of `used` slots' storages, with the values of `vals`.
pub fn fields(vals: &[u128], used: &[Slot], uni: &Universe) -> Vec<FieldValue> {
    let mut storages: Vec<u32> = used.iter().map(|s| uni.slot(*s).storage).collect();
    storages.sort_unstable();
    storages.dedup();
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
                });
            }
            continue;
        }
        for v in views {
            let Some(value) = assemble(uni, id, v.off, v.len, vals) else { continue };
            out.push(FieldValue {
                name: v.name.clone(),
                storage: info.key.clone(),
                off: v.off,
                len: v.len,
                value,
                text: print(v.ty, v.len, value),
            });
        }
    }
    out
}
