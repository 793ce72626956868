//! The hash index of the table: tuple + zone → (slot, generation, direction).
//!
//! Each entry holds its whole key, so a lookup reads one index bucket and never the entry
//! itself; IPv4 keys are packed into 24-byte entries, IPv6 into 48, in two hashbrown
//! tables. The hash is foldhash with the table's seed (keyed, so flows cannot be chosen to
//! collide without knowing it); nothing is allocated per lookup.

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::tuple::{L3, Tuple};

/// Where a tuple lives: the entry's slot and generation, and which of its tuples it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub slot: u32,
    pub generation: u32,
    pub dir: u8,
}

#[derive(Clone, Copy, Debug)]
struct Entry4 {
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    proto: u8,
    dir: u8,
    zone: u16,
    slot: u32,
    generation: u32,
}

#[derive(Clone, Copy, Debug)]
struct Entry6 {
    src: [u64; 2],
    dst: [u64; 2],
    sport: u16,
    dport: u16,
    proto: u8,
    dir: u8,
    zone: u16,
    slot: u32,
    generation: u32,
}

fn split(a: u128) -> [u64; 2] {
    [(a >> 64) as u64, a as u64]
}

/// The two hash tables.
#[derive(Debug)]
pub struct FlowIndex {
    v4: HashTable<Entry4>,
    v6: HashTable<Entry6>,
    hasher: FixedState,
}

impl FlowIndex {
    pub fn new(seed: u64) -> FlowIndex {
        FlowIndex { v4: HashTable::new(), v6: HashTable::new(), hasher: FixedState::with_seed(seed) }
    }

    fn hash4(hasher: &FixedState, src: u32, dst: u32, sport: u16, dport: u16, proto: u8, zone: u16) -> u64 {
        let mut h = hasher.build_hasher();
        h.write_u64(u64::from(src) << 32 | u64::from(dst));
        h.write_u64(
            u64::from(sport) << 48 | u64::from(dport) << 32 | u64::from(proto) << 16 | u64::from(zone),
        );
        h.finish()
    }

    fn hash6(
        hasher: &FixedState,
        src: [u64; 2],
        dst: [u64; 2],
        sport: u16,
        dport: u16,
        proto: u8,
        zone: u16,
    ) -> u64 {
        let mut h = hasher.build_hasher();
        h.write_u64(src[0]);
        h.write_u64(src[1]);
        h.write_u64(dst[0]);
        h.write_u64(dst[1]);
        h.write_u64(
            u64::from(sport) << 48 | u64::from(dport) << 32 | u64::from(proto) << 16 | u64::from(zone),
        );
        h.finish()
    }

    /// The hash of a key (to find and insert without hashing twice).
    pub fn hash(&self, t: &Tuple, zone: u16) -> u64 {
        match t.l3 {
            L3::Ipv4 => {
                Self::hash4(&self.hasher, t.src as u32, t.dst as u32, t.src_id, t.dst_id, t.proto, zone)
            }
            L3::Ipv6 => {
                Self::hash6(&self.hasher, split(t.src), split(t.dst), t.src_id, t.dst_id, t.proto, zone)
            }
        }
    }

    /// Where tuple `t` of zone `zone` is, given its hash.
    pub fn find_hashed(&self, hash: u64, t: &Tuple, zone: u16) -> Option<Hit> {
        match t.l3 {
            L3::Ipv4 => {
                let (src, dst) = (t.src as u32, t.dst as u32);
                self.v4
                    .find(hash, |e| {
                        e.src == src
                            && e.dst == dst
                            && e.sport == t.src_id
                            && e.dport == t.dst_id
                            && e.proto == t.proto
                            && e.zone == zone
                    })
                    .map(|e| Hit { slot: e.slot, generation: e.generation, dir: e.dir })
            }
            L3::Ipv6 => {
                let (src, dst) = (split(t.src), split(t.dst));
                self.v6
                    .find(hash, |e| {
                        e.src == src
                            && e.dst == dst
                            && e.sport == t.src_id
                            && e.dport == t.dst_id
                            && e.proto == t.proto
                            && e.zone == zone
                    })
                    .map(|e| Hit { slot: e.slot, generation: e.generation, dir: e.dir })
            }
        }
    }

    pub fn find(&self, t: &Tuple, zone: u16) -> Option<Hit> {
        self.find_hashed(self.hash(t, zone), t, zone)
    }

    /// Adds a key that is not present (check with `find` first).
    pub fn insert_hashed(&mut self, hash: u64, t: &Tuple, zone: u16, hit: Hit) {
        let hasher = &self.hasher;
        match t.l3 {
            L3::Ipv4 => {
                let e = Entry4 {
                    src: t.src as u32,
                    dst: t.dst as u32,
                    sport: t.src_id,
                    dport: t.dst_id,
                    proto: t.proto,
                    dir: hit.dir,
                    zone,
                    slot: hit.slot,
                    generation: hit.generation,
                };
                self.v4.insert_unique(hash, e, |e| {
                    Self::hash4(hasher, e.src, e.dst, e.sport, e.dport, e.proto, e.zone)
                });
            }
            L3::Ipv6 => {
                let e = Entry6 {
                    src: split(t.src),
                    dst: split(t.dst),
                    sport: t.src_id,
                    dport: t.dst_id,
                    proto: t.proto,
                    dir: hit.dir,
                    zone,
                    slot: hit.slot,
                    generation: hit.generation,
                };
                self.v6.insert_unique(hash, e, |e| {
                    Self::hash6(hasher, e.src, e.dst, e.sport, e.dport, e.proto, e.zone)
                });
            }
        }
    }

    /// Removes the key `t` (direction `dir`) of entry `slot`.
    pub fn remove(&mut self, t: &Tuple, zone: u16, slot: u32, dir: u8) {
        let hash = self.hash(t, zone);
        match t.l3 {
            L3::Ipv4 => {
                if let Ok(e) = self.v4.find_entry(hash, |e| e.slot == slot && e.dir == dir) {
                    e.remove();
                }
            }
            L3::Ipv6 => {
                if let Ok(e) = self.v6.find_entry(hash, |e| e.slot == slot && e.dir == dir) {
                    e.remove();
                }
            }
        }
    }

    /// Keys (two per confirmed entry).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `n` more IPv4 keys.
    pub fn reserve(&mut self, n: usize) {
        let hasher = &self.hasher;
        self.v4.reserve(n, |e| Self::hash4(hasher, e.src, e.dst, e.sport, e.dport, e.proto, e.zone));
    }
}
