//! The flows of the flowtables (Linux's `nf_flow_table` core). `flow add @f` offloads a
//! connection: it is kept here under the tuple of each direction and the device packets of
//! that direction arrive on, with what the fast path needs to forward them without the IP
//! hooks — the connection, the direction, the device they leave by and its MTU. A flow that
//! sees no packet for [`FLOW_TIMEOUT`] goes back to the slow path, as does one whose TCP
//! connection sends a FIN or RST.

use std::collections::HashMap;

use nftvm_vm::FlowtableId;

use crate::conntrack::Time;
use crate::conntrack::entry::{ConnId, Dir};
use crate::conntrack::packet::SECOND;
use crate::conntrack::tuple::Tuple;
use crate::io::IfaceId;

/// Idle time after which a flow leaves its flowtable (`nf_flowtable_tcp_timeout` and
/// `nf_flowtable_udp_timeout`, both 30 s).
pub const FLOW_TIMEOUT: Time = 30 * SECOND;

/// How packets of one direction are found: the flowtable, their tuple as they arrive, and
/// the device they arrive on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub flowtable: FlowtableId,
    pub tuple: Tuple,
    pub iif: IfaceId,
}

/// What the fast path does with packets of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowDir {
    pub conn: ConnId,
    pub dir: Dir,
    /// The device they leave by, and its MTU (larger packets take the slow path).
    pub oif: IfaceId,
    pub mtu: u32,
}

#[derive(Clone, Copy, Debug)]
struct Flow {
    keys: [FlowKey; 2],
    expires: Time,
}

/// The offloaded flows of every flowtable.
#[derive(Debug, Default)]
pub struct Flows {
    by_key: HashMap<FlowKey, FlowDir>,
    by_conn: HashMap<ConnId, Flow>,
}

impl Flows {
    /// Offloads connection `conn`: `dirs[i]` for packets found by `keys[i]`. False when the
    /// connection already has a flow or a key is taken.
    pub fn add(&mut self, keys: [FlowKey; 2], dirs: [FlowDir; 2], now: Time) -> bool {
        let conn = dirs[0].conn;
        if self.by_conn.contains_key(&conn) || keys.iter().any(|k| self.by_key.contains_key(k)) {
            return false;
        }
        for (k, d) in keys.iter().zip(dirs) {
            self.by_key.insert(*k, d);
        }
        self.by_conn.insert(conn, Flow { keys, expires: now.saturating_add(FLOW_TIMEOUT) });
        true
    }

    pub fn lookup(&self, key: &FlowKey) -> Option<FlowDir> {
        self.by_key.get(key).copied()
    }

    /// A packet went through the fast path: the flow stays for another [`FLOW_TIMEOUT`].
    pub fn refresh(&mut self, conn: ConnId, now: Time) {
        if let Some(f) = self.by_conn.get_mut(&conn) {
            f.expires = now.saturating_add(FLOW_TIMEOUT);
        }
    }

    /// Removes the connection's flow (teardown); false when it had none.
    pub fn remove(&mut self, conn: ConnId) -> bool {
        let Some(f) = self.by_conn.remove(&conn) else { return false };
        for k in &f.keys {
            self.by_key.remove(k);
        }
        true
    }

    /// The connections whose flows are idle past their timeout at `now`.
    pub fn expired(&self, now: Time) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> =
            self.by_conn.iter().filter(|(_, f)| now >= f.expires).map(|(id, _)| *id).collect();
        ids.sort();
        ids
    }

    /// Every offloaded connection, in order.
    pub fn connections(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self.by_conn.keys().copied().collect();
        ids.sort();
        ids
    }

    /// Offloaded connections.
    pub fn len(&self) -> usize {
        self.by_conn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tuple::Tuple;

    fn key(ft: u32, sport: u16, iif: usize) -> FlowKey {
        let t = Tuple::ports([10, 0, 0, 1].into(), [10, 0, 1, 1].into(), 17, sport, 53);
        FlowKey { flowtable: FlowtableId(ft), tuple: t, iif: IfaceId(iif) }
    }

    #[test]
    fn flows_are_found_by_both_directions_and_expire_when_idle() {
        let mut flows = Flows::default();
        let conn = ConnId { slot: 7, generation: 1 };
        let dir = |d, oif| FlowDir { conn, dir: d, oif: IfaceId(oif), mtu: 1500 };
        let keys = [key(0, 1000, 1), key(0, 2000, 2)];
        assert!(flows.add(keys, [dir(Dir::Original, 2), dir(Dir::Reply, 1)], 0));
        assert!(!flows.add(keys, [dir(Dir::Original, 2), dir(Dir::Reply, 1)], 0), "offloaded once");
        assert_eq!(flows.lookup(&key(0, 2000, 2)).map(|d| d.dir), Some(Dir::Reply));
        // Another device, another flowtable: not this flow.
        assert_eq!(flows.lookup(&key(0, 1000, 2)), None);
        assert_eq!(flows.lookup(&key(1, 1000, 1)), None);
        assert!(flows.expired(FLOW_TIMEOUT - 1).is_empty());
        flows.refresh(conn, 10 * SECOND);
        assert!(flows.expired(FLOW_TIMEOUT).is_empty(), "refreshed at 10 s");
        assert_eq!(flows.expired(10 * SECOND + FLOW_TIMEOUT), vec![conn]);
        assert!(flows.remove(conn));
        assert!(flows.is_empty() && flows.lookup(&keys[0]).is_none() && !flows.remove(conn));
    }
}
