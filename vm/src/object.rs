//! Stateful objects (`nft add counter|quota|limit|ct helper …`), referenced by `objref`.

use crate::expr::{connlimit::Connlimit, counter::Counter, limit::Limit, quota::Quota, synproxy::Synproxy};
use crate::program::TableId;

/// A named stateful object of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub name: String,
    pub table: TableId,
    pub kind: ObjectKind,
}

/// The object types (`NFT_OBJECT_*`). Counter, quota, limit and connlimit keep their state in
/// the VM; the others (ct helper, timeout, expectation, secmark, synproxy, tunnel) are applied
/// by the runtime through [`crate::interp::Env::object`].
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectKind {
    Counter(Counter),
    Quota(Quota),
    Limit(Limit),
    Connlimit(Connlimit),
    Synproxy(Synproxy),
    /// `ct helper "ftp"`: the helper name and the protocol it serves.
    CtHelper {
        helper: String,
        l3proto: u16,
        l4proto: u8,
    },
    /// `ct expectation`: on a connection's first packet, expect a connection of `l4proto`
    /// to `dport` from the peer (as many as `size` pending, each for `timeout_ms`).
    CtExpect(CtExpect),
    /// Any other object type, by `NFT_OBJECT_*` number, with an opaque argument string.
    Other {
        type_number: u32,
        args: String,
    },
}

impl ObjectKind {
    /// `NFT_OBJECT_*`.
    pub fn type_number(&self) -> u32 {
        match self {
            ObjectKind::Counter(_) => 1,
            ObjectKind::Quota(_) => 2,
            ObjectKind::CtHelper { .. } => 3,
            ObjectKind::Limit(_) => 4,
            ObjectKind::Connlimit(_) => 5,
            ObjectKind::CtExpect(_) => 9,
            ObjectKind::Synproxy(_) => 10,
            ObjectKind::Other { type_number, .. } => *type_number,
        }
    }
}

/// A `ct expectation` object's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtExpect {
    /// `NFPROTO_*` (1, inet: the connection's own).
    pub l3proto: u16,
    pub l4proto: u8,
    pub dport: u16,
    pub timeout_ms: u64,
    /// Most expectations one connection may have pending.
    pub size: u8,
}
