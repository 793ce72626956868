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

/// An address as a key holds it: IPv4 in a `u32`, IPv6 as two `u64` halves.
trait KeyAddr: Copy + Eq {
    fn from_tuple(address: u128) -> Self;
    /// Feed a key's source and destination to the hasher.
    fn write_pair(h: &mut impl Hasher, src: Self, dst: Self);
}

impl KeyAddr for u32 {
    fn from_tuple(address: u128) -> u32 {
        address as u32
    }

    fn write_pair(h: &mut impl Hasher, src: u32, dst: u32) {
        h.write_u64(u64::from(src) << 32 | u64::from(dst));
    }
}

impl KeyAddr for [u64; 2] {
    fn from_tuple(address: u128) -> [u64; 2] {
        [(address >> 64) as u64, address as u64]
    }

    fn write_pair(h: &mut impl Hasher, src: [u64; 2], dst: [u64; 2]) {
        h.write_u64(src[0]);
        h.write_u64(src[1]);
        h.write_u64(dst[0]);
        h.write_u64(dst[1]);
    }
}

/// One key (a tuple and its zone) and where its entry is.
#[derive(Clone, Copy, Debug)]
struct Entry<A> {
    src: A,
    dst: A,
    sport: u16,
    dport: u16,
    proto: u8,
    dir: u8,
    zone: u16,
    slot: u32,
    generation: u32,
}

impl<A: KeyAddr> Entry<A> {
    fn new(t: &Tuple, zone: u16, hit: Hit) -> Entry<A> {
        Entry {
            src: A::from_tuple(t.src),
            dst: A::from_tuple(t.dst),
            sport: t.src_id,
            dport: t.dst_id,
            proto: t.proto,
            dir: hit.dir,
            zone,
            slot: hit.slot,
            generation: hit.generation,
        }
    }

    /// The key of `t` in `zone`, to look for.
    fn probe(t: &Tuple, zone: u16) -> Entry<A> {
        Entry::new(t, zone, Hit { slot: 0, generation: 0, dir: 0 })
    }

    fn same_key(&self, other: &Entry<A>) -> bool {
        self.src == other.src
            && self.dst == other.dst
            && self.sport == other.sport
            && self.dport == other.dport
            && self.proto == other.proto
            && self.zone == other.zone
    }

    fn hit(&self) -> Hit {
        Hit { slot: self.slot, generation: self.generation, dir: self.dir }
    }

    fn hash(&self, hasher: &FixedState) -> u64 {
        let mut h = hasher.build_hasher();
        A::write_pair(&mut h, self.src, self.dst);
        h.write_u64(
            u64::from(self.sport) << 48
                | u64::from(self.dport) << 32
                | u64::from(self.proto) << 16
                | u64::from(self.zone),
        );
        h.finish()
    }
}

fn find<A: KeyAddr>(table: &HashTable<Entry<A>>, hash: u64, probe: Entry<A>) -> Option<Hit> {
    table.find(hash, |e| e.same_key(&probe)).map(Entry::hit)
}

fn insert<A: KeyAddr>(table: &mut HashTable<Entry<A>>, hasher: &FixedState, hash: u64, entry: Entry<A>) {
    table.insert_unique(hash, entry, |e| e.hash(hasher));
}

fn remove<A>(table: &mut HashTable<Entry<A>>, hash: u64, slot: u32, dir: u8) {
    if let Ok(e) = table.find_entry(hash, |e| e.slot == slot && e.dir == dir) {
        e.remove();
    }
}

/// The two hash tables.
#[derive(Debug)]
pub struct FlowIndex {
    v4: HashTable<Entry<u32>>,
    v6: HashTable<Entry<[u64; 2]>>,
    hasher: FixedState,
}

impl FlowIndex {
    pub fn new(seed: u64) -> FlowIndex {
        FlowIndex { v4: HashTable::new(), v6: HashTable::new(), hasher: FixedState::with_seed(seed) }
    }

    /// The hash of a key (to find and insert without hashing twice).
    pub fn hash(&self, t: &Tuple, zone: u16) -> u64 {
        match t.l3 {
            L3::Ipv4 => Entry::<u32>::probe(t, zone).hash(&self.hasher),
            L3::Ipv6 => Entry::<[u64; 2]>::probe(t, zone).hash(&self.hasher),
        }
    }

    /// Where tuple `t` of zone `zone` is, given its hash.
    pub fn find_hashed(&self, hash: u64, t: &Tuple, zone: u16) -> Option<Hit> {
        match t.l3 {
            L3::Ipv4 => find(&self.v4, hash, Entry::probe(t, zone)),
            L3::Ipv6 => find(&self.v6, hash, Entry::probe(t, zone)),
        }
    }

    pub fn find(&self, t: &Tuple, zone: u16) -> Option<Hit> {
        self.find_hashed(self.hash(t, zone), t, zone)
    }

    /// Adds a key that is not present (check with `find` first).
    pub fn insert_hashed(&mut self, hash: u64, t: &Tuple, zone: u16, hit: Hit) {
        match t.l3 {
            L3::Ipv4 => insert(&mut self.v4, &self.hasher, hash, Entry::new(t, zone, hit)),
            L3::Ipv6 => insert(&mut self.v6, &self.hasher, hash, Entry::new(t, zone, hit)),
        }
    }

    /// Removes the key `t` (direction `dir`) of entry `slot`.
    pub fn remove(&mut self, t: &Tuple, zone: u16, slot: u32, dir: u8) {
        let hash = self.hash(t, zone);
        match t.l3 {
            L3::Ipv4 => remove(&mut self.v4, hash, slot, dir),
            L3::Ipv6 => remove(&mut self.v6, hash, slot, dir),
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
        self.v4.reserve(n, |e| e.hash(hasher));
    }
}
