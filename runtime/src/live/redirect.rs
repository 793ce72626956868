//! The redirect table: the exceptions to hash steering, shared by all workers without locks.
//!
//! Most flows are owned by the worker their symmetric flow hash names. Two kinds of flows are
//! not: a connection whose reply tuple, after NAT, hashes to another worker than its original
//! tuple (destination NAT, whose reply tuple nftvm cannot choose), and a connection that an
//! expectation (FTP data) makes related to a master living on another worker. The owning
//! worker publishes such keys here; every worker consults the table before the hash.
//!
//! The table is a fixed array of `AtomicU64` slots with linear probing: a slot is empty (0),
//! a tombstone (1), or an entry `tag | (worker + 2)` where `tag` is the upper 48 bits of the
//! key's 64-bit hash. Writers claim slots with compare-and-swap; readers only load. A probe
//! sequence is at most [`MAX_PROBE`] slots long; an insert that finds no room fails (and is
//! counted by the caller). Two different keys with the same 64-bit hash prefix would share
//! an entry; with 48-bit tags and a table of a few thousand entries that is a 1-in-10^10
//! event, and its cost is one flow steered to a worker that does not know it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const EMPTY: u64 = 0;
const TOMBSTONE: u64 = 1;
const TAG_MASK: u64 = !0xffff;

/// Longest probe sequence (slots examined) of any operation.
pub const MAX_PROBE: usize = 32;

/// A lock-free map from 64-bit key hashes to worker numbers.
#[derive(Debug)]
pub struct RedirectTable {
    slots: Box<[AtomicU64]>,
    mask: usize,
    live: AtomicUsize,
}

impl RedirectTable {
    /// A table of `capacity` slots (rounded up to a power of two, at least 64).
    pub fn new(capacity: usize) -> RedirectTable {
        let size = capacity.max(64).next_power_of_two();
        let slots: Vec<AtomicU64> = (0..size).map(|_| AtomicU64::new(EMPTY)).collect();
        RedirectTable { slots: slots.into_boxed_slice(), mask: size - 1, live: AtomicUsize::new(0) }
    }

    /// Entries currently in the table.
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(hash: u64, worker: usize) -> u64 {
        (hash & TAG_MASK) | ((worker as u64 + 2) & 0xffff)
    }

    fn slot(&self, hash: u64, i: usize) -> &AtomicU64 {
        let index = (hash as usize).wrapping_add(i) & self.mask;
        // `index <= mask < len`; `get` keeps it panic-free all the same.
        self.slots.get(index).unwrap_or(&self.slots[0])
    }

    /// The worker `hash` is redirected to.
    pub fn get(&self, hash: u64) -> Option<usize> {
        for i in 0..MAX_PROBE {
            let v = self.slot(hash, i).load(Ordering::Acquire);
            if v == EMPTY {
                return None;
            }
            if v != TOMBSTONE && v & TAG_MASK == hash & TAG_MASK {
                return Some(((v & 0xffff) - 2) as usize);
            }
        }
        None
    }

    /// Redirects `hash` to `worker` (replacing an earlier redirect of the same key). False
    /// when the probe sequence is full.
    pub fn insert(&self, hash: u64, worker: usize) -> bool {
        let new = Self::entry(hash, worker);
        // An existing entry for the key is updated in place.
        for i in 0..MAX_PROBE {
            let slot = self.slot(hash, i);
            let v = slot.load(Ordering::Acquire);
            if v == EMPTY {
                break;
            }
            if v != TOMBSTONE && v & TAG_MASK == hash & TAG_MASK {
                return slot.compare_exchange(v, new, Ordering::AcqRel, Ordering::Acquire).is_ok()
                    || self.insert(hash, worker);
            }
        }
        for i in 0..MAX_PROBE {
            let slot = self.slot(hash, i);
            let v = slot.load(Ordering::Acquire);
            if (v == EMPTY || v == TOMBSTONE)
                && slot.compare_exchange(v, new, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                self.live.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// Removes the redirect of `hash` to `worker` (one set by someone else stays).
    pub fn remove(&self, hash: u64, worker: usize) -> bool {
        let entry = Self::entry(hash, worker);
        for i in 0..MAX_PROBE {
            let slot = self.slot(hash, i);
            let v = slot.load(Ordering::Acquire);
            if v == EMPTY {
                return false;
            }
            if v == entry && slot.compare_exchange(v, TOMBSTONE, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                self.live.fetch_sub(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn insert_get_remove_and_collisions_in_one_probe_sequence() {
        let t = RedirectTable::new(64);
        assert_eq!(t.get(0x1234_5678_9abc_0005), None);
        assert!(t.insert(0x1234_5678_9abc_0005, 3));
        // Same slot index, other tag.
        assert!(t.insert(0x9999_5678_9abc_0005, 1));
        assert_eq!(t.get(0x1234_5678_9abc_0005), Some(3));
        assert_eq!(t.get(0x9999_5678_9abc_0005), Some(1));
        assert_eq!(t.len(), 2);
        assert!(!t.remove(0x1234_5678_9abc_0005, 2), "removed another worker's redirect");
        assert!(t.remove(0x1234_5678_9abc_0005, 3));
        assert_eq!(t.get(0x1234_5678_9abc_0005), None);
        // Found past the tombstone.
        assert_eq!(t.get(0x9999_5678_9abc_0005), Some(1));
        assert!(t.insert(0x9999_5678_9abc_0005, 0));
        assert_eq!(t.get(0x9999_5678_9abc_0005), Some(0));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_full_probe_sequence_refuses_further_keys() {
        let t = RedirectTable::new(64);
        for k in 0..MAX_PROBE as u64 {
            assert!(t.insert((k << 32) | 7, 0));
        }
        assert!(!t.insert((999 << 32) | 7, 0));
        assert_eq!(t.get((999 << 32) | 7), None);
    }

    #[test]
    fn concurrent_writers_and_readers_agree() {
        let t = Arc::new(RedirectTable::new(1 << 12));
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for k in 0..500u64 {
                        let h = (k * 4 + w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                        assert!(t.insert(h, w as usize));
                        assert_eq!(t.get(h), Some(w as usize));
                    }
                    for k in 0..250u64 {
                        let h = (k * 4 + w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                        assert!(t.remove(h, w as usize));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(t.len(), 4 * 250);
    }
}
