//! Steering: which worker owns a packet, so that both directions of every connection — and
//! the connections an expectation relates to it — meet the same conntrack shard.
//!
//! # The design
//!
//! Each worker reads one queue of every multi-queue TUN device and owns one [`Pipeline`]
//! (one conntrack shard, one program state). The **owner** of a packet is
//!
//! 1. the worker the [`RedirectTable`] names for the packet's symmetric [`FlowKey`], else
//! 2. the worker the table names for the packet's [`ExpectKey`] (a first packet of an
//!    expected connection goes where its master lives), else
//! 3. `hash(FlowKey) * workers >> 64` — a symmetric hash, so a connection without NAT lands
//!    on one worker in both directions without any shared state.
//!
//! A worker that reads a packet it does not own hands it to the owner (a bounded channel per
//! worker plus an eventfd wake-up); nothing is locked on the per-packet path.
//!
//! NAT changes the reply tuple, which then usually hashes elsewhere. Two mechanisms keep the
//! reply on the owner:
//!
//! * **Source NAT / masquerade chooses its ports so that the reply hashes home.** Each
//!   worker's conntrack table is given [`TupleClaims`] that call a reply tuple "taken" when
//!   its owner is another worker; `get_unique_tuple` then keeps searching the port range
//!   (on average `workers` tries). So a masqueraded connection needs no shared state, and
//!   no two workers can ever pick the same reply tuple (it has one owner). With
//!   `--workers 1` nothing changes: ports are preserved exactly as Linux preserves them.
//! * **Everything else is published in the redirect table**: when a connection is confirmed
//!   (its conntrack `[NEW]` event), the owner looks at both tuples and publishes those whose
//!   hash names another worker (destination NAT without a port range, connections created
//!   from an expectation); the `[DESTROY]` event withdraws them. Pending expectations are
//!   published under their [`ExpectKey`] while they exist. All of this happens before the
//!   packet that caused it is sent, so an answer can never overtake its redirect.
//!
//! # The kernel side
//!
//! The kernel picks the TUN queue of a packet it transmits by its own symmetric flow hash
//! (`tun_automq_select_queue`), and learns from writes: a flow written by queue *k* has its
//! later packets delivered to queue *k* (for 3 s after each write). Since the owner writes
//! every packet of its flows, both directions of established flows arrive at the owner's
//! queues directly and hand-offs are mostly limited to the first packet of a flow.
//!
//! # Limits
//!
//! Fragments carry no ports, so they are steered by their addresses and protocol: with more
//! than one worker, a connection that mixes fragmented and unfragmented packets can be split
//! over two shards. (Stateful expressions — `limit`, `quota`, the sets the rules write,
//! connection counts — are shared by the workers: see [`crate::live`].)
//!
//! [`Pipeline`]: crate::pipeline::Pipeline

use std::sync::Arc;

use foldhash::fast::FixedState;
use hashbrown::HashMap;

use super::flow::{ExpectKey, FlowKey, PacketKeys, packet_keys};
use super::redirect::RedirectTable;
use crate::conntrack::{Conntrack, Event, EventKind, Tuple, TupleClaims};

/// Slots of the redirect table (8 bytes each).
pub const REDIRECT_SLOTS: usize = 1 << 18;

/// The steering function shared by all workers.
#[derive(Debug)]
pub struct Steering {
    workers: usize,
    hasher: FixedState,
    table: RedirectTable,
}

impl Steering {
    /// Steering over `workers` workers (at least 1).
    pub fn new(workers: usize, seed: u64) -> Steering {
        Steering {
            workers: workers.max(1),
            hasher: FixedState::with_seed(seed),
            table: RedirectTable::new(REDIRECT_SLOTS),
        }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The worker a flow hash names (the owner unless redirected).
    pub fn hash_owner(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.workers as u128) >> 64) as usize
    }

    fn flow_hash(&self, key: &FlowKey) -> u64 {
        key.hash_with(&self.hasher)
    }

    fn expect_hash(&self, key: &ExpectKey) -> u64 {
        key.hash_with(&self.hasher)
    }

    /// The owner of a flow.
    pub fn owner_of_flow(&self, key: &FlowKey) -> usize {
        let h = self.flow_hash(key);
        if !self.table.is_empty()
            && let Some(w) = self.table.get(h)
        {
            return w;
        }
        self.hash_owner(h)
    }

    /// The owner of a received packet.
    pub fn owner_of_keys(&self, keys: &PacketKeys) -> usize {
        let h = self.flow_hash(&keys.flow);
        if !self.table.is_empty() {
            if let Some(w) = self.table.get(h) {
                return w;
            }
            if let Some(e) = &keys.expect
                && let Some(w) = self.table.get(self.expect_hash(e))
            {
                return w;
            }
        }
        self.hash_owner(h)
    }

    /// The owner of a raw IP packet.
    pub fn owner(&self, packet: &[u8]) -> usize {
        if self.workers == 1 {
            return 0;
        }
        self.owner_of_keys(&packet_keys(packet))
    }

    /// Entries in the redirect table.
    pub fn redirects(&self) -> usize {
        self.table.len()
    }

    /// The claims worker `me`'s conntrack table must respect.
    pub fn claims(self: &Arc<Self>, me: usize) -> Arc<dyn TupleClaims> {
        Arc::new(WorkerClaims { steering: self.clone(), me })
    }
}

/// "Owned by another worker", for one worker's table.
#[derive(Debug)]
struct WorkerClaims {
    steering: Arc<Steering>,
    me: usize,
}

impl TupleClaims for WorkerClaims {
    fn claimed_elsewhere(&self, reply: &Tuple) -> bool {
        self.steering.owner_of_flow(&FlowKey::of_tuple(reply)) != self.me
    }
}

/// One worker's bookkeeping of what it published in the redirect table.
#[derive(Debug)]
pub struct Publisher {
    steering: Arc<Steering>,
    me: usize,
    /// Flow hashes published per connection id.
    by_conn: HashMap<u32, [Option<u64>; 2]>,
    /// Expectation hashes published, in the order of the conntrack's list.
    expectations: Vec<u64>,
    /// Inserts refused because the table was full along the probe sequence.
    pub failed: u64,
}

impl Publisher {
    pub fn new(steering: Arc<Steering>, me: usize) -> Publisher {
        Publisher { steering, me, by_conn: HashMap::default(), expectations: Vec::new(), failed: 0 }
    }

    /// Publishes or withdraws the redirects a conntrack event calls for.
    pub fn on_event(&mut self, ev: &Event) {
        match ev.kind {
            EventKind::New => {
                let mut published = [None, None];
                for (slot, t) in published.iter_mut().zip([&ev.original, &ev.reply]) {
                    let h = self.steering.flow_hash(&FlowKey::of_tuple(t));
                    if self.steering.hash_owner(h) != self.me && self.steering.table.get(h) != Some(self.me) {
                        if self.steering.table.insert(h, self.me) {
                            *slot = Some(h);
                        } else {
                            self.failed += 1;
                        }
                    }
                }
                if published.iter().any(Option::is_some) {
                    self.by_conn.insert(ev.id, published);
                }
            }
            EventKind::Destroy => {
                if let Some(published) = self.by_conn.remove(&ev.id) {
                    for h in published.into_iter().flatten() {
                        self.steering.table.remove(h, self.me);
                    }
                }
            }
            EventKind::Update => {}
        }
    }

    /// Publishes new expectations of `ct` and withdraws the ones that are gone. Cheap when
    /// there are none.
    pub fn sync_expectations(&mut self, ct: &Conntrack) {
        if self.expectations.is_empty() && ct.expectations().next().is_none() {
            return;
        }
        let now: Vec<u64> =
            ct.expectations().map(|e| self.steering.expect_hash(&ExpectKey::of_tuple(&e.tuple))).collect();
        if now == self.expectations {
            return;
        }
        for h in self.expectations.iter().filter(|h| !now.contains(h)) {
            self.steering.table.remove(*h, self.me);
        }
        for h in now.iter().filter(|h| !self.expectations.contains(h)) {
            if !self.steering.table.insert(*h, self.me) {
                self.failed += 1;
            }
        }
        self.expectations = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tuple::proto;
    use crate::packet::PacketBuilder;

    #[test]
    fn both_directions_have_one_owner_and_claims_follow_it() {
        let s = Arc::new(Steering::new(4, 42));
        let mut owners = [0usize; 4];
        for port in 1000..1400u16 {
            let a = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).tcp(port, 80).build();
            let b = PacketBuilder::ipv4([10, 0, 2, 2], [10, 0, 1, 2]).tcp(80, port).build();
            assert_eq!(s.owner(&a), s.owner(&b));
            owners[s.owner(&a)] += 1;
            let reply =
                Tuple::ports("10.0.2.2".parse().unwrap(), "10.0.1.2".parse().unwrap(), proto::TCP, 80, port);
            let me = s.owner(&a);
            assert!(!s.claims(me).claimed_elsewhere(&reply));
            assert!(s.claims((me + 1) % 4).claimed_elsewhere(&reply));
        }
        assert!(owners.iter().all(|&n| n > 50), "uneven spread {owners:?}");
    }

    #[test]
    fn published_redirects_override_the_hash_until_destroyed() {
        let s = Arc::new(Steering::new(2, 7));
        let pkt = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).udp(5000, 53).build();
        let home = s.owner(&pkt);
        let other = 1 - home;
        let t = Tuple::ports("10.0.1.2".parse().unwrap(), "10.0.2.2".parse().unwrap(), proto::UDP, 5000, 53);
        let ev = |kind| Event {
            kind,
            mask: 0,
            id: 9,
            original: t,
            reply: t.invert().unwrap(),
            zone: 0,
            mark: 0,
            status: 0,
            time: 0,
            line: String::new(),
        };
        let mut p = Publisher::new(s.clone(), other);
        p.on_event(&ev(EventKind::New));
        assert_eq!(s.owner(&pkt), other);
        assert_eq!(s.redirects(), 1);
        p.on_event(&ev(EventKind::Destroy));
        assert_eq!(s.owner(&pkt), home);
        assert_eq!(s.redirects(), 0);
    }
}
