//! Flowtables (`flowtable f { hook ingress priority 0; devices = { eth0, eth1 } }`): a fast
//! path for forwarded connections. `flow add @f` ([`crate::expr::flow_offload`]) hands an
//! established connection to the flowtable; from then on its packets that arrive on one of
//! the flowtable's devices are forwarded from that device's ingress hook, skipping the IP
//! hooks (Linux's `nf_flow_table`). The program only declares them; the runtime keeps the
//! offloaded flows.

use crate::program::TableId;

/// A flowtable of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Flowtable {
    pub name: String,
    pub table: TableId,
    /// Its place among the device's ingress hook entries (the hook is always ingress).
    pub priority: i32,
    /// The devices whose ingress hook looks flows up.
    pub devices: Vec<String>,
    /// `counter`: offloaded packets count in their connection's counters
    /// (`NF_FLOWTABLE_COUNTER`).
    pub counter: bool,
}
