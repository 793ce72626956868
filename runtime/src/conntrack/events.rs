//! Connection events for `conntrack -E` (`nf_conntrack_ecache.c` and ctnetlink).
//!
//! Changes are cached on the entry as `IPCT_*` bits while a packet is processed and
//! delivered when the packet passes the confirm point (or at once for a destroy). One
//! delivery is one event: `[NEW]` when the entry was just confirmed, `[DESTROY]` when it
//! died, `[UPDATE]` otherwise. The line is formatted at delivery time, so it shows the
//! entry as it was then.

use super::entry::Conn;
use super::format::{self, FormatOptions};
use super::packet::Time;
use super::tuple::Tuple;

/// `IPCT_*` event bits.
pub mod ev {
    pub const NEW: u16 = 1 << 0;
    pub const RELATED: u16 = 1 << 1;
    pub const DESTROY: u16 = 1 << 2;
    pub const REPLY: u16 = 1 << 3;
    pub const ASSURED: u16 = 1 << 4;
    pub const PROTOINFO: u16 = 1 << 5;
    pub const HELPER: u16 = 1 << 6;
    pub const MARK: u16 = 1 << 7;
    pub const SEQADJ: u16 = 1 << 8;
    pub const SECMARK: u16 = 1 << 9;
    pub const LABEL: u16 = 1 << 10;
}

/// The message type of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    New,
    Update,
    Destroy,
}

impl EventKind {
    /// The kind a set of cached bits is delivered as.
    pub fn of(mask: u16) -> EventKind {
        if mask & ev::DESTROY != 0 {
            EventKind::Destroy
        } else if mask & (ev::NEW | ev::RELATED) != 0 {
            EventKind::New
        } else {
            EventKind::Update
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            EventKind::New => "[NEW]",
            EventKind::Update => "[UPDATE]",
            EventKind::Destroy => "[DESTROY]",
        }
    }
}

/// One delivered event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The `IPCT_*` bits delivered together.
    pub mask: u16,
    pub id: u32,
    pub original: Tuple,
    pub reply: Tuple,
    pub zone: u16,
    pub mark: u32,
    pub status: u32,
    pub time: Time,
    /// The line `conntrack -E` prints for it.
    pub line: String,
}

impl Event {
    pub(crate) fn capture(conn: &Conn, mask: u16, now: Time, opts: &FormatOptions) -> Event {
        let kind = EventKind::of(mask);
        Event {
            kind,
            mask,
            id: conn.id,
            original: conn.tuple[0],
            reply: conn.tuple[1],
            zone: conn.zone,
            mark: conn.mark,
            status: conn.status,
            time: now,
            line: format::event_line(conn, mask, now, opts),
        }
    }
}
