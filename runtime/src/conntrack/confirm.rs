//! The confirm point (`nf_confirm`, last hook of postrouting and input): run the
//! connection's helper, adjust TCP sequence numbers after earlier payload changes, insert a
//! new connection into the table, deliver its events.
//!
//! A packet that was dropped instead is [`Conntrack::abort`]ed: a connection it was
//! creating leaves no trace.

use nftvm_vm::keys::ct_status as st;

use super::ctinfo::{CtInfo, Tracked};
use super::events::ev;
use super::packet::tcp_flags;
use super::seqadj::SeqRewrite;
use super::table::Conntrack;
use super::tuple::proto;
use crate::helper::Helper;

/// The TCP segment as it stands at the confirm point (after NAT), for the helper and
/// sequence adjustment. Sequence numbers are the packet's current ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The TCP payload.
    pub payload: &'a [u8],
    /// SACK blocks `(left, right)` found in the options, in order (may be empty).
    pub sack: &'a [(u32, u32)],
    /// The packet's length from the network header (a mangled packet may not exceed 65535).
    pub l3_len: u32,
}

/// What a helper reads of the packet at the confirm point.
#[derive(Clone, Copy, Debug)]
pub enum L4Payload<'a> {
    Tcp(Segment<'a>),
    /// The UDP payload, and the packet's length from the network header.
    Udp {
        payload: &'a [u8],
        l3_len: u32,
    },
}

/// What the pipeline must change in the packet before it leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Finish {
    /// Replace the TCP payload by these bytes (a helper rewrote an address); the IP length
    /// and checksums must follow.
    pub payload: Option<Vec<u8>>,
    /// New sequence / acknowledgement numbers and SACK edges.
    pub seq: Option<SeqRewrite>,
    /// The payload length changed by this many bytes (for the record; `seq` already
    /// accounts for earlier changes).
    pub delta: i32,
}

/// Why the packet must be dropped at the confirm point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmDrop {
    /// The helper refused the packet (partial command, no expectation possible, …).
    Helper,
    /// The new connection's tuples are already in the table (NAT found no free tuple).
    Clash,
}

impl Conntrack {
    /// The packet is accepted and leaves postrouting (or input): helper, sequence
    /// adjustment and confirmation. `payload` is needed for connections with a helper and
    /// TCP connections with earlier payload changes; pass `None` otherwise.
    pub fn finish(&mut self, t: &Tracked, payload: Option<&L4Payload<'_>>) -> Result<Finish, ConfirmDrop> {
        let result = self.finish_inner(t, payload);
        self.release_transient();
        result
    }

    /// The packet is dropped (or otherwise never reaches the confirm point): a connection
    /// it was creating is discarded.
    pub fn abort(&mut self, _t: &Tracked) {
        self.release_transient();
    }

    fn finish_inner(&mut self, t: &Tracked, payload: Option<&L4Payload<'_>>) -> Result<Finish, ConfirmDrop> {
        let mut out = Finish::default();
        let Some(id) = t.conn else { return Ok(out) };
        let Some(dir) = t.info.dir() else { return Ok(out) };
        let dir = dir.index();
        let Some(c) = self.get(id) else { return Ok(out) };
        let now = self.now;
        let helper = c.helper;
        let seqadj_needed = c.has(st::SEQ_ADJUST);
        let is_tcp = c.l4proto() == proto::TCP;
        let seg = match payload {
            Some(L4Payload::Tcp(seg)) => Some(seg),
            _ => None,
        };

        // An ICMP error in the reply direction (IP_CT_RELATED_REPLY) gets neither helper nor
        // sequence adjustment, as in `nf_confirm`.
        if t.info != CtInfo::RelatedReply {
            let udp = match payload {
                Some(L4Payload::Udp { payload, l3_len }) => Some((*payload, *l3_len)),
                _ => None,
            };
            let helped = match (helper, seg, udp) {
                (Some(Helper::Tftp), _, Some((udp, _))) => self.tftp_help(id, udp, now).map(|()| None),
                (Some(Helper::Amanda), _, Some((udp, len))) => self.amanda_help(id, dir, udp, len, now),
                (Some(Helper::Ftp), Some(seg), _) if is_tcp => self.ftp_help(id, dir, t.info, seg, now),
                (Some(Helper::Irc), Some(seg), _) if is_tcp => self.irc_help(id, dir, t.info, seg, now),
                (Some(Helper::Sane), Some(seg), _) if is_tcp => {
                    self.sane_help(id, dir, t.info, seg.payload, now).map(|()| None)
                }
                (Some(Helper::Pptp), Some(seg), _) if is_tcp => Ok(self.pptp_help(id, dir, t.info, seg, now)),
                // No helper, one without the packet's protocol, or a broadcast helper (they
                // answer only the host's own broadcast queries, which nftvm never sends; SNMP's
                // NAT helper is not run): nothing to do.
                _ => Ok(None),
            };
            match helped {
                Ok(Some(m)) => {
                    out.delta = m.delta;
                    out.payload = Some(m.payload);
                }
                Ok(None) => {}
                Err(()) => return Err(ConfirmDrop::Helper),
            }
            if seqadj_needed
                && is_tcp
                && let Some(seg) = seg
            {
                let ack = (seg.flags & tcp_flags::ACK != 0).then_some(seg.ack);
                let adj = self.get(id).and_then(|c| c.seqadj().copied()).unwrap_or_default();
                out.seq = Some(adj.adjust(dir, seg.seq, ack, seg.sack));
            }
        }

        let confirmed = self.get(id).is_some_and(|c| c.confirmed());
        if !confirmed && dir == 0 {
            if !self.insert_confirmed(id) {
                self.stats.insert_failed += 1;
                self.stats.drop += 1;
                return Err(ConfirmDrop::Clash);
            }
            self.stats.confirmed += 1;
            self.transient.retain(|x| *x != id);
            let (has_helper, has_master) =
                self.get(id).map_or((false, false), |c| (c.helper.is_some(), c.master().is_some()));
            let mut bits = if has_master { ev::RELATED } else { ev::NEW };
            if has_helper {
                bits |= ev::HELPER;
            }
            self.cache_event(id, bits);
        }
        if self.get(id).is_some_and(|c| c.confirmed() && c.status & st::DYING == 0) {
            self.deliver_event(id, 0, now);
        }
        Ok(out)
    }
}
