//! What tracking concluded about one packet (`enum ip_conntrack_info` plus the entry it
//! belongs to): the value behind `ct state`, `ct direction` and every later conntrack
//! step of that packet.

use nftvm_vm::keys::{CtDir, ct_state};

use super::entry::{ConnId, Dir};

/// The kernel's ctinfo, with INVALID and UNTRACKED folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtInfo {
    /// First packet(s) of a connection, original direction, no reply yet.
    New,
    /// Original direction of a connection that has seen a reply.
    Established,
    /// Original direction of an expected connection before its reply, or an ICMP error
    /// about the original direction.
    Related,
    /// Reply direction.
    EstablishedReply,
    /// An ICMP error about the reply direction.
    RelatedReply,
    /// Not part of any connection (`ct state invalid`).
    Invalid,
    /// `notrack`, or ICMPv6 neighbour discovery / MLD (`ct state untracked`).
    Untracked,
}

impl CtInfo {
    /// The `ct state` bit.
    pub fn state_bit(self) -> u32 {
        match self {
            CtInfo::New => ct_state::NEW,
            CtInfo::Established | CtInfo::EstablishedReply => ct_state::ESTABLISHED,
            CtInfo::Related | CtInfo::RelatedReply => ct_state::RELATED,
            CtInfo::Invalid => ct_state::INVALID,
            CtInfo::Untracked => ct_state::UNTRACKED,
        }
    }

    /// The direction of the packet, for tracked packets.
    pub fn dir(self) -> Option<Dir> {
        match self {
            CtInfo::New | CtInfo::Established | CtInfo::Related => Some(Dir::Original),
            CtInfo::EstablishedReply | CtInfo::RelatedReply => Some(Dir::Reply),
            CtInfo::Invalid | CtInfo::Untracked => None,
        }
    }

    /// The name used in `eval --json` (`ct_state`).
    pub fn name(self) -> &'static str {
        match self {
            CtInfo::New => "new",
            CtInfo::Established | CtInfo::EstablishedReply => "established",
            CtInfo::Related | CtInfo::RelatedReply => "related",
            CtInfo::Invalid => "invalid",
            CtInfo::Untracked => "untracked",
        }
    }
}

/// The result of tracking one packet. Valid until the packet is finished or aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// The connection, when the packet belongs to one.
    pub conn: Option<ConnId>,
    pub info: CtInfo,
    /// The packet is an ICMP error about `conn`, of this ICMP type (NAT must translate
    /// the quoted header too).
    pub icmp_error: Option<u8>,
}

impl Tracked {
    pub fn invalid() -> Tracked {
        Tracked { conn: None, info: CtInfo::Invalid, icmp_error: None }
    }

    /// A packet marked `notrack`.
    pub fn untracked() -> Tracked {
        Tracked { conn: None, info: CtInfo::Untracked, icmp_error: None }
    }

    /// The `ct state` register value.
    pub fn state_bits(&self) -> u32 {
        self.info.state_bit()
    }

    /// The `ct direction` value.
    pub fn direction(&self) -> Option<CtDir> {
        self.info.dir().map(|d| match d {
            Dir::Original => CtDir::Original,
            Dir::Reply => CtDir::Reply,
        })
    }
}
