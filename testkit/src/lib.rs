//! What the workspace's test suites share: [`Rng`], the seeded generator every randomized
//! test draws from (packet fuzzers, the interpreter-vs-JIT and -O2-vs-O0 differentials, the
//! kernel differential scenarios), so that a seed means the same stream everywhere and a
//! failing case is reproduced by its seed alone. And [`log_effect`], how the test
//! environments record what a chain asked of the runtime.

use std::net::{Ipv4Addr, Ipv6Addr};

/// SplitMix64: small, fast, statistically good enough for generating test cases, and
/// reproducible from its seed. Not for anything that needs unpredictability.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index into `weights`, each drawn in proportion to its weight (0 when all are 0).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.next_u64() % total.max(1);
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        0
    }

    pub fn u8(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }

    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// An unprivileged port (1024..61024).
    pub fn port(&mut self) -> u16 {
        1024 + self.below(60000) as u16
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }

    /// `0..max` random bytes.
    pub fn bytes_upto(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }

    pub fn ipv4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.u32())
    }

    pub fn ipv6(&mut self) -> Ipv6Addr {
        Ipv6Addr::from((u128::from(self.next_u64()) << 64) | u128::from(self.next_u64()))
    }
}

/// Appends `effect` to a log of what a chain asked of the runtime (`meta set mark 07000000`,
/// `nat …`, …), a write of the packet's mark right after another replacing it: the mark is a
/// field of the packet, as the kernel's `skb->mark`, and the JIT tells the runtime only the
/// last of several mark writes with nothing asked in between (`Env::meta_set`).
pub fn log_effect(log: &mut Vec<String>, effect: String) {
    const MARK: &str = "meta set mark ";
    if effect.starts_with(MARK) && log.last().is_some_and(|e| e.starts_with(MARK)) {
        log.pop();
    }
    log.push(effect);
}

#[cfg(test)]
mod tests {
    use super::{Rng, log_effect};

    #[test]
    fn a_mark_write_right_after_another_replaces_it() {
        let mut log = Vec::new();
        for e in ["meta set mark 01", "meta set mark 02", "ct set mark 02", "meta set mark 03"] {
            log_effect(&mut log, e.to_string());
        }
        assert_eq!(log, ["meta set mark 02", "ct set mark 02", "meta set mark 03"]);
    }

    #[test]
    fn a_seed_gives_one_stream() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert!(xs.iter().all(|x| *x == b.next_u64()));
        assert_ne!(xs, (0..8).map(|_| Rng::new(8).next_u64()).collect::<Vec<_>>());
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            assert_eq!(r.below(0), 0);
            assert!((3..=5).contains(&r.range(3, 5)));
            assert!(r.port() >= 1024);
            assert!(r.bytes_upto(4).len() < 4);
            assert_ne!(r.weighted(&[0, 3, 0, 1]), 0);
        }
        assert!(!r.chance(0) && r.chance(100));
    }
}
