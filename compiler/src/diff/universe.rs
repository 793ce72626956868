//! The dimensions of the packet space: every storage both rulesets read or write, cut into
//! *atomic bit segments* ("slots") so that no load, mask or copy ever covers part of a slot.
//!
//! Lowering first registers every load range, every mask and every copy between storages
//! ([`Universe::note_range`], [`Universe::note_mask`], [`Universe::note_link`]); then
//! [`Universe::finalize`] cuts each storage at all the boundaries seen (propagating cuts
//! across copies until nothing changes). A merged 32-bit port load next to two 16-bit ones
//! becomes two 16-bit slots; `tcp flags & (syn|ack)` cuts the flags byte around those bits, so
//! the mask test becomes a plain constraint on the two one-bit slots.
//!
//! A few storages have *enumerated* domains instead: `ct state` is exactly one of five bits,
//! so its slot ranges over the indices of those values and flag tests are evaluated per value.

use super::error::{Res, Unsupported};
use super::interval::{Interval, max_of};
use super::storage::Storage;
use crate::types::Type;
use nftvm_vm::keys::{CtKey, ct_state};
use std::collections::{BTreeSet, HashMap};

pub type StorageId = u32;
pub type Slot = u32;

/// `ct state` values, in the order counterexamples prefer them.
pub const CT_STATES: &[u128] = &[
    ct_state::NEW as u128,
    ct_state::ESTABLISHED as u128,
    ct_state::RELATED as u128,
    ct_state::INVALID as u128,
    ct_state::UNTRACKED as u128,
];

/// `ct direction` values.
pub const CT_DIRECTIONS: &[u128] = &[0, 1];

/// A loaded field as the rules name it, for printing counterexamples.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldView {
    pub name: String,
    pub ty: Type,
    pub off: u32,
    pub len: u32,
    /// The protocol whose header the field belongs to (`tcp` for `tcp dport`).
    pub proto: Option<crate::proto::Proto>,
    /// Only read by an implicit precondition (the fragment offset): shown when non-zero.
    pub implicit: bool,
}

/// One storage: its identity, width, the cuts seen, and (after finalizing) its slots.
#[derive(Clone, Debug)]
pub struct StorageInfo {
    pub key: Storage,
    /// Width in bits for non-header storages (headers grow to the furthest load).
    pub width: Option<u32>,
    /// The values an enumerated storage can hold.
    pub values: Option<&'static [u128]>,
    bounds: BTreeSet<u32>,
    /// `(offset, length, slot)` in offset order.
    segs: Vec<(u32, u32, Slot)>,
    pub fields: Vec<FieldView>,
}

/// One dimension of the packet space.
#[derive(Clone, Debug)]
pub struct SlotInfo {
    pub storage: StorageId,
    pub off: u32,
    pub len: u32,
    /// Every value the slot can take (indices for enumerated storages).
    pub domain: Interval,
}

/// A copy between two storages (`ct mark set meta mark`): cuts on one side are cuts on the
/// other.
#[derive(Clone, Copy, Debug)]
struct Link {
    a: (StorageId, u32),
    b: (StorageId, u32),
    len: u32,
}

/// All storages and slots of one comparison.
#[derive(Clone, Debug, Default)]
pub struct Universe {
    storages: Vec<StorageInfo>,
    index: HashMap<Storage, StorageId>,
    links: Vec<Link>,
    slots: Vec<SlotInfo>,
    finalized: bool,
}

impl Universe {
    pub fn new() -> Universe {
        Universe::default()
    }

    /// The id of a storage, registering it on first use. `width` is its size for
    /// non-header storages.
    pub fn storage(&mut self, key: Storage, width: Option<u32>) -> Res<StorageId> {
        if let Some(&id) = self.index.get(&key) {
            return Ok(id);
        }
        if self.finalized {
            return Err(Unsupported::new(format!("internal: storage {} registered late", key.describe())));
        }
        let values = match &key {
            Storage::Ct { key: CtKey::State, .. } => Some(CT_STATES),
            Storage::Ct { key: CtKey::Direction, .. } => Some(CT_DIRECTIONS),
            _ => None,
        };
        let id = self.storages.len() as StorageId;
        let mut bounds = BTreeSet::new();
        if let Some(w) = width {
            bounds.insert(0);
            bounds.insert(w);
        }
        self.storages.push(StorageInfo {
            key: key.clone(),
            width,
            values,
            bounds,
            segs: Vec::new(),
            fields: vec![],
        });
        self.index.insert(key, id);
        Ok(id)
    }

    pub fn info(&self, id: StorageId) -> &StorageInfo {
        &self.storages[id as usize]
    }

    pub fn storages(&self) -> impl Iterator<Item = (StorageId, &StorageInfo)> {
        self.storages.iter().enumerate().map(|(i, s)| (i as StorageId, s))
    }

    pub fn slot(&self, slot: Slot) -> &SlotInfo {
        &self.slots[slot as usize]
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// True when the storage's slot ranges over value indices.
    pub fn is_enumerated(&self, id: StorageId) -> bool {
        self.storages[id as usize].values.is_some()
    }

    fn cut(&mut self, id: StorageId, at: u32) -> Res<()> {
        if self.finalized {
            if self.storages[id as usize].bounds.contains(&at) || self.storages[id as usize].values.is_some()
            {
                return Ok(());
            }
            return Err(Unsupported::new("internal: cut registered after the universe was finalized"));
        }
        self.storages[id as usize].bounds.insert(at);
        Ok(())
    }

    /// A load of `len` bits at `off`: cut at both ends (and every 128 bits in between, the
    /// widest slot the engine handles).
    pub fn note_range(&mut self, id: StorageId, off: u32, len: u32) -> Res<()> {
        let end = off.checked_add(len).ok_or_else(|| Unsupported::new("load beyond 4 Gbit"))?;
        let mut at = off;
        while at < end {
            self.cut(id, at)?;
            at = at.saturating_add(128);
        }
        self.cut(id, end)
    }

    /// A mask applied to the load at `off..off+len`: cut wherever the mask changes between
    /// ones and zeros, so every slot is either wholly kept or wholly cleared.
    pub fn note_mask(&mut self, id: StorageId, off: u32, len: u32, mask: u128) -> Res<()> {
        self.note_range(id, off, len)?;
        let bit = |i: u32| (mask >> (len - 1 - i)) & 1;
        for i in 1..len.min(128) {
            if bit(i) != bit(i - 1) {
                self.cut(id, off + i)?;
            }
        }
        Ok(())
    }

    /// A copy of `len` bits between two places.
    pub fn note_link(&mut self, a: (StorageId, u32), b: (StorageId, u32), len: u32) -> Res<()> {
        self.note_range(a.0, a.1, len)?;
        self.note_range(b.0, b.1, len)?;
        if !self.finalized {
            self.links.push(Link { a, b, len });
        }
        Ok(())
    }

    /// Remember how a rule names bits of a storage (for counterexamples).
    pub fn note_field(&mut self, id: StorageId, view: FieldView) {
        let fields = &mut self.storages[id as usize].fields;
        if !fields.iter().any(|f| f.off == view.off && f.len == view.len) {
            fields.push(view);
        }
    }

    /// Cut every storage into slots. Copies propagate cuts until a fixpoint.
    pub fn finalize(&mut self) {
        if self.finalized {
            return;
        }
        loop {
            let mut changed = false;
            for link in self.links.clone() {
                for (from, to) in [(link.a, link.b), (link.b, link.a)] {
                    let cuts: Vec<u32> = self.storages[from.0 as usize]
                        .bounds
                        .range(from.1..=from.1 + link.len)
                        .map(|&x| x - from.1 + to.1)
                        .collect();
                    for c in cuts {
                        changed |= self.storages[to.0 as usize].bounds.insert(c);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for (id, info) in self.storages.iter_mut().enumerate() {
            if let Some(values) = info.values {
                let len = info.width.unwrap_or(32);
                let slot = self.slots.len() as Slot;
                let domain = Interval { lo: 0, hi: values.len() as u128 - 1 };
                self.slots.push(SlotInfo { storage: id as StorageId, off: 0, len, domain });
                info.segs = vec![(0, len, slot)];
                continue;
            }
            let bounds: Vec<u32> = info.bounds.iter().copied().collect();
            for w in bounds.windows(2) {
                let (off, len) = (w[0], w[1] - w[0]);
                let slot = self.slots.len() as Slot;
                self.slots.push(SlotInfo { storage: id as StorageId, off, len, domain: Interval::full(len) });
                info.segs.push((off, len, slot));
            }
        }
        self.finalized = true;
    }

    /// The slots covering `off..off+len` of a storage, most significant first, with their
    /// lengths. Fails if the range was never registered (an internal error).
    pub fn segments(&self, id: StorageId, off: u32, len: u32) -> Res<Vec<(Slot, u32)>> {
        let info = &self.storages[id as usize];
        let end = off + len;
        let start = info.segs.partition_point(|&(o, l, _)| o + l <= off);
        let mut out = Vec::new();
        let mut at = off;
        for &(o, l, s) in &info.segs[start..] {
            if at >= end {
                break;
            }
            if o != at {
                return Err(Unsupported::new(format!(
                    "internal: {} bits {off}+{len} not segmented",
                    info.key.describe()
                )));
            }
            out.push((s, l));
            at = o + l;
        }
        if at != end {
            return Err(Unsupported::new(format!(
                "internal: {} bits {off}+{len} not segmented",
                info.key.describe()
            )));
        }
        Ok(out)
    }

    /// The value of a slot's bits within a `len`-bit number that starts at `off` (for
    /// splitting a constant across the slots of a load).
    pub fn bits_of(value: u128, total: u32, at: u32, len: u32) -> u128 {
        let shift = total - at - len;
        value.checked_shr(shift).unwrap_or(0) & max_of(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::storage::Ctx;
    use nftvm_vm::keys::{MetaKey, PayloadBase};

    #[test]
    fn overlapping_loads_become_atomic_segments() {
        let mut u = Universe::new();
        let th = Storage::Payload { ctx: Ctx::Ipv4, base: PayloadBase::Transport, inner: None };
        let t = u.storage(th, None).unwrap();
        u.note_range(t, 0, 32).unwrap(); // both ports in one load
        u.note_range(t, 16, 16).unwrap(); // tcp dport
        u.note_mask(t, 104, 8, 0x12).unwrap(); // tcp flags & (syn|ack)
        u.finalize();
        let ports = u.segments(t, 0, 32).unwrap();
        assert_eq!(ports.iter().map(|p| p.1).collect::<Vec<_>>(), vec![16, 16]);
        let flags = u.segments(t, 104, 8).unwrap();
        assert_eq!(flags.iter().map(|p| p.1).collect::<Vec<_>>(), vec![3, 1, 2, 1, 1]);
    }

    #[test]
    fn copies_propagate_cuts() {
        let mut u = Universe::new();
        let mark = u.storage(Storage::Meta(MetaKey::Mark), Some(32)).unwrap();
        let ctmark = u.storage(Storage::Ct { key: CtKey::Mark, dir: None }, Some(32)).unwrap();
        u.note_mask(mark, 0, 32, 0xffff_0000).unwrap();
        u.note_link((ctmark, 0), (mark, 0), 32).unwrap();
        u.finalize();
        assert_eq!(u.segments(ctmark, 0, 32).unwrap().len(), 2);
    }
}
