//! Named stateful objects: `counter`, `quota`, `limit`, `ct helper`, `ct timeout`,
//! `ct expectation`, `synproxy`, `secmark`, `tunnel`.

use super::stateful::{Counter, Limit, Quota};
use super::stmt::Synproxy;
use super::{Family, Span};

/// `<type> <name> { … }` in a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub name: String,
    pub kind: ObjectKind,
    pub comment: Option<String>,
    pub span: Span,
    pub handle: u64,
}

/// The object and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectKind {
    Counter(Counter),
    Quota(Quota),
    Limit(Limit),
    CtHelper(CtHelper),
    CtTimeout(CtTimeout),
    CtExpect(CtExpect),
    Synproxy(Synproxy),
    /// `secmark name { "context" }`.
    Secmark(String),
    /// `tunnel name { … }`: kept as the canonical text of its body lines (listing only).
    Tunnel(Vec<String>),
}

/// `NFT_OBJECT_*` types (what object maps and references name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Counter = 1,
    Quota = 2,
    CtHelper = 3,
    Limit = 4,
    Tunnel = 6,
    CtTimeout = 7,
    Secmark = 8,
    CtExpect = 9,
    Synproxy = 10,
}

impl ObjectType {
    /// The words that name the type (`ct helper`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Counter => "counter",
            ObjectType::Quota => "quota",
            ObjectType::CtHelper => "ct helper",
            ObjectType::Limit => "limit",
            ObjectType::Tunnel => "tunnel",
            ObjectType::CtTimeout => "ct timeout",
            ObjectType::Secmark => "secmark",
            ObjectType::CtExpect => "ct expectation",
            ObjectType::Synproxy => "synproxy",
        }
    }

    pub fn from_name(name: &str) -> Option<ObjectType> {
        [
            ObjectType::Counter,
            ObjectType::Quota,
            ObjectType::CtHelper,
            ObjectType::Limit,
            ObjectType::Tunnel,
            ObjectType::CtTimeout,
            ObjectType::Secmark,
            ObjectType::CtExpect,
            ObjectType::Synproxy,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

impl ObjectKind {
    pub fn object_type(&self) -> ObjectType {
        match self {
            ObjectKind::Counter(_) => ObjectType::Counter,
            ObjectKind::Quota(_) => ObjectType::Quota,
            ObjectKind::Limit(_) => ObjectType::Limit,
            ObjectKind::CtHelper(_) => ObjectType::CtHelper,
            ObjectKind::CtTimeout(_) => ObjectType::CtTimeout,
            ObjectKind::CtExpect(_) => ObjectType::CtExpect,
            ObjectKind::Synproxy(_) => ObjectType::Synproxy,
            ObjectKind::Secmark(_) => ObjectType::Secmark,
            ObjectKind::Tunnel(_) => ObjectType::Tunnel,
        }
    }
}

/// `ct helper h { type "ftp" protocol tcp; l3proto ip; }`.
#[derive(Clone, Debug, PartialEq)]
pub struct CtHelper {
    /// The kernel helper's name (`ftp`, `sip`, …).
    pub helper: String,
    /// IP protocol number (6 tcp, 17 udp).
    pub l4proto: u8,
    /// `l3proto` (defaults to the table's family; `inet` for inet tables).
    pub l3proto: Family,
}

/// `ct timeout t { protocol tcp; l3proto ip; policy = { established: 120, … } }`.
#[derive(Clone, Debug, PartialEq)]
pub struct CtTimeout {
    pub l4proto: u8,
    pub l3proto: Family,
    /// Timeouts per state, seconds, in the protocol's state order (every state; the ones the
    /// user did not give hold the kernel default).
    pub timeouts: Vec<(&'static str, u32)>,
}

/// `ct expectation e { protocol tcp; dport 21; timeout 2m; size 12; l3proto ip; }`.
#[derive(Clone, Debug, PartialEq)]
pub struct CtExpect {
    pub l4proto: u8,
    pub dport: u16,
    /// Milliseconds.
    pub timeout: u64,
    pub size: u8,
    pub l3proto: Family,
}

/// Default conntrack timeouts (seconds) per state, as the kernel and nft know them.
pub fn default_timeouts(l4proto: u8) -> &'static [(&'static str, u32)] {
    match l4proto {
        6 => &[
            ("syn_sent", 120),
            ("syn_recv", 60),
            ("established", 432000),
            ("fin_wait", 120),
            ("close_wait", 60),
            ("last_ack", 30),
            ("time_wait", 120),
            ("close", 10),
            ("syn_sent2", 120),
            ("retrans", 300),
            ("unack", 300),
        ],
        17 => &[("unreplied", 30), ("replied", 120)],
        _ => &[],
    }
}
