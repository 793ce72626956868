//! Connection counting for `ct count` and `-m connlimit` (`nf_conncount`): each list holds
//! the original tuples of the connections counted in it, and counting a packet's connection
//! first drops the entries whose connection is gone or closed.
//!
//! What the count does depends on the connection, as in Linux 6.18 (with the conncount
//! fixes of 2025–26), and it shows in the count:
//!
//! - an established connection (confirmed, and assured or seen from both sides in the
//!   packet's direction) is never added: counting it collects the whole list, stopping at a
//!   live entry once more than eight were dropped — so the count falls as connections close
//!   while a long connection is watched;
//! - any other connection (a new one; the first reply, as a SYN-ACK's) is looked for from
//!   the oldest entry on, dropping gone and closed entries before it (at most 64), and
//!   added when it is not there — so a first reply's connection is counted in the list of
//!   the reply's source.
//!
//! `-m connlimit` counts in address groups (the kernel's tree of lists by masked address
//! and zone): a group's first packet makes its list with the packet's connection in it,
//! whatever its state, and a list stays when it empties.
//!
//! Several pipelines (`nftvm run --workers N`, each worker with a conntrack table of its
//! own) count together through [`SharedCounts`]: a worker counts the connections of its own
//! table in its lists, as above, and publishes how many each list holds; the count a rule
//! compares is the sum over the workers — what the kernel's one list, over all CPUs, holds.
//! A connection belongs to the worker its flow is steered to, so no connection is in two
//! workers' lists. Another worker's share is as of its last count or its timers (once a
//! second), as the kernel's list drops a closed connection only when it is next collected.
//! A set element's list (`add @s { ip saddr ct count over 3 }`) is shared alike: the set
//! is one copy for all workers ([`nftvm_vm::interp::shared`]), and its element counts no
//! connection — the set's collection may take it away — when no worker's copy of its list
//! counts one.
//!
//! Deliberate simplifications: the kernel keeps an entry whose connection it cannot find yet
//! when another CPU added it less than two jiffies ago, and skips collecting when it already
//! added in the same jiffy; nftvm collects on every count, as the kernel does when packets
//! are more than two jiffies apart.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use nftvm_vm::expr::connlimit::ConnList;

use crate::conntrack::tuple::Tuple;
use crate::conntrack::{Conntrack, TcpState, Time};

/// One counted connection: its original tuple and zone.
pub type Counted = (Tuple, u16);

/// Conntrack's tuple of a packet without a connection (`nf_ct_get_tuplepr`).
pub fn packet_tuple(t: &crate::packet::Tuple) -> Tuple {
    use crate::packet::TupleL4;
    match t.l4 {
        TupleL4::Ports { src, dst } => Tuple::ports(t.src, t.dst, t.protocol, src, dst),
        TupleL4::Icmp { id, kind, code } => Tuple::icmp(t.src, t.dst, kind, code, id),
        TupleL4::Gre { src_key, dst_key } => Tuple::gre(t.src, t.dst, src_key, dst_key),
        TupleL4::None => Tuple::bare(t.src, t.dst, t.protocol),
    }
}

/// Entries a list collection drops before it may stop (`CONNCOUNT_GC_MAX_NODES`).
const COLLECT_MAX: usize = 8;
/// Entries the walk before an add drops before it stops (`CONNCOUNT_GC_MAX_COLLECT`).
const WALK_COLLECT_MAX: usize = 64;

/// Empty address groups of `-m connlimit` kept before they are forgotten: the kernel's
/// collection frees a hash slot's empty groups once eight of them are there, and groups
/// spread over 256 slots.
const EMPTY_GROUPS_KEPT: usize = 8 * 256;

/// Every connection list, by the expression or set element that counts in it; the address
/// groups of `-m connlimit` matches by match, masked address and zone.
#[derive(Clone, Debug, Default)]
pub struct ConnLists {
    lists: HashMap<ConnList, Vec<Counted>>,
    groups: HashMap<(ConnList, u16), Vec<Counted>>,
    /// The counts of the other workers' pipelines, and this one's index among them.
    shared: Option<(Arc<SharedCounts>, usize)>,
}

/// A list as several workers know it: the list, and the zone of an address group (0 for
/// the others).
type ListKey = (ConnList, u16);

/// How many connections each worker's copy of a list holds (see the module documentation);
/// per worker `None` where it has no such list.
#[derive(Debug, Default)]
pub struct SharedCounts {
    counts: Mutex<HashMap<ListKey, Vec<Option<u32>>>>,
}

impl SharedCounts {
    pub fn new() -> SharedCounts {
        SharedCounts::default()
    }

    /// Records that `worker`'s copy of `key` holds `n` connections (`None`: it has none);
    /// the connections all workers' copies hold.
    fn publish(&self, key: ListKey, worker: usize, n: Option<u32>) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let per_worker = counts.entry(key).or_default();
        if per_worker.len() <= worker {
            per_worker.resize(worker + 1, None);
        }
        if let Some(slot) = per_worker.get_mut(worker) {
            *slot = n;
        }
        let total = sum(per_worker);
        if per_worker.iter().all(Option::is_none) {
            counts.remove(&key);
        }
        total
    }

    /// Does some worker have a copy of `key`?
    fn exists(&self, key: ListKey) -> bool {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&key)
    }

    /// The connections all workers' copies of `key` hold.
    fn total(&self, key: ListKey) -> u32 {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).get(&key).map_or(0, |w| sum(w))
    }
}

/// The connections the workers' copies of a list hold together.
fn sum(per_worker: &[Option<u32>]) -> u32 {
    per_worker.iter().flatten().fold(0u32, |t, c| t.saturating_add(*c))
}

/// The number of entries of a list.
fn len(entries: &[Counted]) -> u32 {
    u32::try_from(entries.len()).unwrap_or(u32::MAX)
}

/// What the conntrack table says about a counted connection.
#[derive(PartialEq, Eq)]
enum Seen {
    /// Not in the table (never confirmed, expired or destroyed).
    Gone,
    /// A TCP connection in TIME_WAIT or CLOSE.
    Closed,
    Live,
}

fn seen(ct: &Conntrack, (tuple, zone): &Counted, now: Time) -> Seen {
    match ct.find(tuple, *zone).and_then(|(id, _)| ct.get(id)).filter(|c| !c.expired(now)) {
        None => Seen::Gone,
        Some(c) if matches!(c.tcp_state(), Some(TcpState::TimeWait | TcpState::Close)) => Seen::Closed,
        Some(_) => Seen::Live,
    }
}

impl ConnLists {
    /// Counts with the other pipelines sharing `counts`, as worker `worker` among them
    /// (`None`: alone). The lists counted so far are forgotten.
    pub fn share(&mut self, counts: Option<Arc<SharedCounts>>, worker: usize) {
        *self = ConnLists { shared: counts.map(|c| (c, worker)), ..ConnLists::default() };
    }

    /// Publishes this worker's count `n` of `key` when shared: all workers' count (`None`:
    /// not shared).
    fn publish(&self, key: ListKey, n: Option<u32>) -> Option<u32> {
        self.shared.as_ref().map(|(counts, worker)| counts.publish(key, *worker, n))
    }

    /// Counts connection `me` in `list` (`established`: see the module documentation); the
    /// number of connections the list holds afterwards (all workers' copies together when
    /// shared).
    pub fn count(
        &mut self,
        list: ConnList,
        me: Counted,
        established: bool,
        ct: &Conntrack,
        now: Time,
    ) -> u32 {
        let group = matches!(list, ConnList::Group { .. });
        let key = (list, if group { me.1 } else { 0 });
        let entries = if group {
            match self.groups.entry(key) {
                // `insert_tree`: a group's first packet makes its list with the packet's
                // connection in it, established or not (the group is new to every worker).
                Entry::Vacant(v) if !self.shared.as_ref().is_some_and(|(c, _)| c.exists(key)) => {
                    v.insert(vec![me]);
                    return self.publish(key, Some(1)).unwrap_or(1);
                }
                Entry::Vacant(v) => v.insert(Vec::new()),
                Entry::Occupied(o) => o.into_mut(),
            }
        } else {
            self.lists.entry(list).or_default()
        };
        if established {
            collect(entries, ct, now);
        } else if is_new(entries, me, ct, now) {
            entries.push(me);
        }
        let n = len(entries);
        self.publish(key, Some(n)).unwrap_or(n)
    }

    /// Does `list` count some connection (as last collected; shared, in any worker's copy)?
    pub fn holds(&self, list: ConnList) -> bool {
        match &self.shared {
            Some((counts, _)) => counts.total((list, 0)) > 0,
            None => self.lists.contains_key(&list),
        }
    }

    /// Collects a set element's list (`nft_connlimit_gc`): does it count nothing now (shared,
    /// in no worker's copy)? An empty list is forgotten (and one never made counts nothing).
    pub fn collect_list(&mut self, list: ConnList, ct: &Conntrack, now: Time) -> bool {
        let mine = self.lists.get_mut(&list).map(|entries| {
            collect(entries, ct, now);
            len(entries)
        });
        if mine == Some(0) {
            self.lists.remove(&list);
        }
        self.publish((list, 0), mine.filter(|n| *n > 0)).unwrap_or(mine.unwrap_or(0)) == 0
    }

    /// Collects every list and forgets the empty ones (a set element's list outlives its
    /// element; an expression's empty list is the same as none).
    /// Address groups stay when they empty (see [`EMPTY_GROUPS_KEPT`]).
    /// Shared, each list's count (none for a list forgotten) is published.
    pub fn collect_all(&mut self, ct: &Conntrack, now: Time) {
        let shared = self.shared.as_ref();
        let publish = |key: ListKey, n: Option<u32>| {
            if let Some((counts, worker)) = shared {
                counts.publish(key, *worker, n);
            }
        };
        self.lists.retain(|list, entries| {
            collect(entries, ct, now);
            let kept = !entries.is_empty();
            publish((*list, 0), kept.then(|| len(entries)));
            kept
        });
        let mut empty = 0;
        for (key, entries) in &mut self.groups {
            collect(entries, ct, now);
            publish(*key, Some(len(entries)));
            empty += usize::from(entries.is_empty());
        }
        if empty >= EMPTY_GROUPS_KEPT {
            self.groups.retain(|key, entries| {
                let kept = !entries.is_empty();
                if !kept {
                    publish(*key, None);
                }
                kept
            });
        }
    }
}

/// The walk before adding a connection: false when `me` is already counted.
fn is_new(entries: &mut Vec<Counted>, me: Counted, ct: &Conntrack, now: Time) -> bool {
    let (mut i, mut collected) = (0, 0);
    while i < entries.len() && collected <= WALK_COLLECT_MAX {
        let Some(entry) = entries.get(i) else { break };
        match seen(ct, entry, now) {
            Seen::Gone => {}
            _ if *entry == me => return false,
            Seen::Closed => {}
            Seen::Live => {
                i += 1;
                continue;
            }
        }
        entries.remove(i);
        collected += 1;
    }
    true
}

/// The kernel's list collection (`nf_conncount_gc_list`): drops gone and closed
/// connections, stopping at a live one once more than eight were dropped.
fn collect(entries: &mut Vec<Counted>, ct: &Conntrack, now: Time) {
    let (mut i, mut collected) = (0, 0);
    while let Some(entry) = entries.get(i) {
        if seen(ct, entry, now) == Seen::Live {
            if collected > COLLECT_MAX {
                break;
            }
            i += 1;
        } else {
            entries.remove(i);
            collected += 1;
        }
    }
}
