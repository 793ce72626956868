//! One tracked connection (`struct nf_conn`): both tuples, status bits, protocol state,
//! mark, zone, labels, helper, absolute timeout, per-direction accounting, and the rarely
//! used extensions (master, sequence adjustment, helper data) behind one box.
//!
//! A NAT binding is, as in Linux, the reply tuple itself plus the `SRC_NAT`/`DST_NAT`
//! (and `*_NAT_DONE`) status bits; [`Conn::nat`] summarises it.

use nftvm_vm::keys::ct_status as st;

use super::packet::Time;
use super::seqadj::SeqAdj;
use super::tcp::{TcpConn, TcpState};
use super::tuple::Tuple;
use crate::helper::{Helper, HelperData};

/// A handle on an entry of the table: slot plus generation, so a stale handle never
/// reaches a reused slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// Direction of a packet relative to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    Original = 0,
    Reply = 1,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Dir {
        if i & 1 == 0 { Dir::Original } else { Dir::Reply }
    }

    pub fn other(self) -> Dir {
        match self {
            Dir::Original => Dir::Reply,
            Dir::Reply => Dir::Original,
        }
    }
}

/// Packets and bytes of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// Protocol-specific tracking state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoState {
    Tcp(TcpConn),
    /// UDP: the time until which replies still count as "not yet a stream".
    Udp {
        stream_ts: Time,
    },
    /// Everything else (UDP-Lite, ICMP, GRE, SCTP, generic).
    Plain,
}

/// Rare per-connection data, boxed to keep [`Conn`] small.
#[derive(Clone, Debug, Default)]
pub struct ConnExt {
    /// The connection whose helper expected this one (FTP control for a data connection).
    pub master: Option<ConnId>,
    pub seqadj: SeqAdj,
    pub helper_data: HelperData,
    /// The connection may announce expectations (`nfct_help`): it has a helper, or a `ct
    /// expectation` object ran on its first packet.
    pub help: bool,
}

/// One connection.
#[derive(Clone, Debug)]
pub struct Conn {
    /// `tuple[0]` original, `tuple[1]` reply (possibly NATed).
    pub tuple: [Tuple; 2],
    pub zone: u16,
    /// `IPS_*` bits (`nftvm_vm::keys::ct_status`).
    pub status: u32,
    pub mark: u32,
    pub labels: u128,
    /// Absolute expiry on the packet clock.
    pub timeout: Time,
    pub counters: [Counter; 2],
    pub proto: ProtoState,
    pub helper: Option<Helper>,
    pub id: u32,
    /// Events (`IPCT_*` bits, see [`super::events::ev`]) waiting to be delivered.
    pub(crate) pending_events: u16,
    pub ext: Option<Box<ConnExt>>,
}

/// What NAT did to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatBinding {
    /// Source rewritten (SNAT / masquerade / a remapped null binding).
    pub src_nat: bool,
    /// Destination rewritten (DNAT / redirect).
    pub dst_nat: bool,
    /// What original-direction packets look like after NAT (the inverted reply tuple).
    pub translated: Tuple,
}

impl Conn {
    pub(crate) fn new(orig: Tuple, reply: Tuple, zone: u16, proto: ProtoState, id: u32) -> Conn {
        Conn {
            tuple: [orig, reply],
            zone,
            status: 0,
            mark: 0,
            labels: 0,
            timeout: 0,
            counters: [Counter::default(); 2],
            proto,
            helper: None,
            id,
            pending_events: 0,
            ext: None,
        }
    }

    pub fn original(&self) -> &Tuple {
        &self.tuple[0]
    }

    pub fn reply(&self) -> &Tuple {
        &self.tuple[1]
    }

    pub fn has(&self, bit: u32) -> bool {
        self.status & bit != 0
    }

    pub fn confirmed(&self) -> bool {
        self.has(st::CONFIRMED)
    }

    pub fn l4proto(&self) -> u8 {
        self.tuple[0].proto
    }

    /// The TCP state, for TCP connections.
    pub fn tcp_state(&self) -> Option<TcpState> {
        match &self.proto {
            ProtoState::Tcp(t) => Some(t.state),
            _ => None,
        }
    }

    pub fn tcp(&self) -> Option<&TcpConn> {
        match &self.proto {
            ProtoState::Tcp(t) => Some(t),
            _ => None,
        }
    }

    pub fn tcp_mut(&mut self) -> Option<&mut TcpConn> {
        match &mut self.proto {
            ProtoState::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The NAT binding, if NAT changed either side.
    pub fn nat(&self) -> Option<NatBinding> {
        let src_nat = self.has(st::SRC_NAT);
        let dst_nat = self.has(st::DST_NAT);
        if !src_nat && !dst_nat {
            return None;
        }
        let translated = self.tuple[1].invert().unwrap_or(self.tuple[1]);
        Some(NatBinding { src_nat, dst_nat, translated })
    }

    /// Whether the entry has expired at `now`.
    pub fn expired(&self, now: Time) -> bool {
        now >= self.timeout
    }

    /// Whole seconds left before expiry (what `conntrack -L` prints).
    pub fn remaining_secs(&self, now: Time) -> u64 {
        self.timeout.saturating_sub(now) / super::packet::SECOND
    }

    /// `ct expiration`: milliseconds left. A connection being created reads 0 (its
    /// timeout is still relative in the kernel, which then reports it as expired).
    pub fn expiration_ms(&self, now: Time) -> u32 {
        if !self.confirmed() {
            return 0;
        }
        let ms = self.timeout.saturating_sub(now) / 1_000_000;
        u32::try_from(ms).unwrap_or(u32::MAX)
    }

    /// `ct packets` (of one direction, or both added up).
    pub fn packets(&self, dir: Option<Dir>) -> u64 {
        match dir {
            Some(d) => self.counters[d.index()].packets,
            None => self.counters[0].packets + self.counters[1].packets,
        }
    }

    /// `ct bytes` (of one direction, or both added up).
    pub fn bytes(&self, dir: Option<Dir>) -> u64 {
        match dir {
            Some(d) => self.counters[d.index()].bytes,
            None => self.counters[0].bytes + self.counters[1].bytes,
        }
    }

    /// `ct avgpkt`: bytes per packet, 0 before any packet.
    pub fn avgpkt(&self, dir: Option<Dir>) -> u64 {
        let p = self.packets(dir);
        self.bytes(dir).checked_div(p).unwrap_or(0)
    }

    pub fn master(&self) -> Option<ConnId> {
        self.ext.as_ref().and_then(|e| e.master)
    }

    pub(crate) fn ext_mut(&mut self) -> &mut ConnExt {
        self.ext.get_or_insert_with(Box::default)
    }

    pub fn seqadj(&self) -> Option<&SeqAdj> {
        self.ext.as_ref().map(|e| &e.seqadj)
    }

    /// Sequence offset NAT applied to direction `dir` at sequence `seq`.
    pub fn seq_offset(&self, dir: usize, seq: u32) -> i32 {
        match &self.ext {
            Some(e) if self.has(st::SEQ_ADJUST) => e.seqadj.offset(dir, seq),
            _ => 0,
        }
    }
}
