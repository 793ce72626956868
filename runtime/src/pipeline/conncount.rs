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
//! Deliberate simplifications: the kernel keeps an entry whose connection it cannot find yet
//! when another CPU added it less than two jiffies ago, and skips collecting when it already
//! added in the same jiffy; nftvm collects on every count, as the kernel does when packets
//! are more than two jiffies apart.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use nftvm_vm::expr::connlimit::ConnList;

use crate::conntrack::tuple::Tuple;
use crate::conntrack::{Conntrack, TcpState, Time};

/// One counted connection: its original tuple and zone.
pub type Counted = (Tuple, u16);

/// Conntrack's tuple of a packet without a connection (`nf_ct_get_tuplepr`). A GRE packet's
/// keys are not in it: nftvm's conntrack tracks GRE as the generic protocol.
pub fn packet_tuple(t: &crate::packet::Tuple) -> Tuple {
    use crate::packet::TupleL4;
    match t.l4 {
        TupleL4::Ports { src, dst } => Tuple::ports(t.src, t.dst, t.protocol, src, dst),
        TupleL4::Icmp { id, kind, code } => Tuple::icmp(t.src, t.dst, kind, code, id),
        TupleL4::None | TupleL4::Gre { .. } => Tuple::bare(t.src, t.dst, t.protocol),
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
    /// Counts connection `me` in `list` (`established`: see the module documentation); the
    /// number of connections the list holds afterwards.
    pub fn count(
        &mut self,
        list: ConnList,
        me: Counted,
        established: bool,
        ct: &Conntrack,
        now: Time,
    ) -> u32 {
        let entries = match list {
            // `insert_tree`: a group's first packet makes its list with the packet's
            // connection in it, established or not.
            ConnList::Group { .. } => match self.groups.entry((list, me.1)) {
                Entry::Vacant(v) => {
                    v.insert(vec![me]);
                    return 1;
                }
                Entry::Occupied(o) => o.into_mut(),
            },
            _ => self.lists.entry(list).or_default(),
        };
        if established {
            collect(entries, ct, now);
        } else if is_new(entries, me, ct, now) {
            entries.push(me);
        }
        u32::try_from(entries.len()).unwrap_or(u32::MAX)
    }

    /// Does `list` count some connection (as last collected)?
    pub fn holds(&self, list: ConnList) -> bool {
        self.lists.contains_key(&list)
    }

    /// Collects a set element's list (`nft_connlimit_gc`): does it count nothing now? An
    /// empty list is forgotten (and one never made counts nothing).
    pub fn collect_list(&mut self, list: ConnList, ct: &Conntrack, now: Time) -> bool {
        let Some(entries) = self.lists.get_mut(&list) else { return true };
        collect(entries, ct, now);
        let empty = entries.is_empty();
        if empty {
            self.lists.remove(&list);
        }
        empty
    }

    /// Collects every list and forgets the empty ones (a set element's list outlives its
    /// element; an expression's empty list is the same as none).
    /// Address groups stay when they empty (see [`EMPTY_GROUPS_KEPT`]).
    pub fn collect_all(&mut self, ct: &Conntrack, now: Time) {
        self.lists.retain(|_, entries| {
            collect(entries, ct, now);
            !entries.is_empty()
        });
        let mut empty = 0;
        for entries in self.groups.values_mut() {
            collect(entries, ct, now);
            empty += usize::from(entries.is_empty());
        }
        if empty >= EMPTY_GROUPS_KEPT {
            self.groups.retain(|_, entries| !entries.is_empty());
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
