//! Tracking one packet (`nf_conntrack_in`): ICMP errors first, then the tuple lookup,
//! creation of a pending entry for a new flow (taking an expectation if one matches), and
//! the protocol tracker, which decides NEW / ESTABLISHED / RELATED / INVALID.

use nftvm_vm::keys::ct_status as st;

use super::config::secs;
use super::ctinfo::{CtInfo, Tracked};
use super::entry::{Conn, ConnId, ProtoState};
use super::events::ev;
use super::icmp::{self, IcmpClass};
use super::packet::{IcmpInfo, L4, PacketInfo, QuotedL4, TcpInfo};
use super::table::{Conntrack, Refused};
use super::tcp::{self, TcpConn, TcpContext, TcpVerdict};
use super::tuple::{Tuple, proto};
use super::udp;
use crate::helper::Helper;

/// What the protocol tracker made of a packet on its entry.
enum Handled {
    Accept,
    Invalid,
    Reopen,
}

impl Conntrack {
    /// Tracks one packet at the conntrack hook (prerouting or output, priority −200).
    ///
    /// Returns the packet's connection and ctinfo. A new flow gets a *pending* entry that
    /// only enters the table when the packet is accepted at the end of postrouting/input
    /// ([`Conntrack::finish`]); [`Conntrack::abort`] (packet dropped) discards it. Only one
    /// packet may be in flight: tracking the next packet first finishes off whatever the
    /// previous one left pending. `Err(Refused::TableFull)` means the packet must be dropped.
    pub fn track(&mut self, pkt: &PacketInfo<'_>) -> Result<Tracked, Refused> {
        self.release_transient();
        self.now = self.now.max(pkt.now);
        if pkt.fragment {
            self.stats.invalid += 1;
            return Ok(Tracked::invalid());
        }
        if let L4::Icmp(icmp) = pkt.l4
            && let Some(t) = self.icmp_error(pkt, &icmp)
        {
            return Ok(t);
        }
        let Some(mut tuple) = pkt.tuple() else {
            self.stats.invalid += 1;
            return Ok(Tracked::invalid());
        };
        if let L4::Gre { .. } = pkt.l4 {
            tuple = self.with_gre_source_key(tuple);
        }
        let mut reopened = false;
        loop {
            let (id, dir, info) = match self.lookup(&tuple, pkt.zone, pkt.now) {
                Some((id, dir)) => {
                    let status = self.get(id).map_or(0, |c| c.status);
                    let info = if dir == 1 {
                        CtInfo::EstablishedReply
                    } else if status & st::SEEN_REPLY != 0 {
                        CtInfo::Established
                    } else if status & st::EXPECTED != 0 {
                        CtInfo::Related
                    } else {
                        CtInfo::New
                    };
                    (id, dir, info)
                }
                None => match self.create(&tuple, pkt)? {
                    Some((id, expected)) => (id, 0, if expected { CtInfo::Related } else { CtInfo::New }),
                    None => {
                        self.stats.invalid += 1;
                        return Ok(Tracked::invalid());
                    }
                },
            };
            match self.handle_packet(id, dir, pkt) {
                Handled::Accept => {
                    let first_reply = dir == 1
                        && self.get(id).is_some_and(|c| c.status & (st::SEEN_REPLY | st::DYING) == 0);
                    if first_reply {
                        let assured = self.get(id).is_some_and(|c| c.has(st::ASSURED));
                        if let Some(c) = self.get_mut(id) {
                            c.status |= st::SEEN_REPLY;
                        }
                        self.cache_event(id, ev::REPLY);
                        if !assured {
                            self.note_replied(id);
                        }
                    }
                    return Ok(Tracked { conn: Some(id), info, icmp_error: None });
                }
                Handled::Invalid => {
                    if self.get(id).is_some_and(|c| !c.confirmed()) {
                        self.release_transient();
                    }
                    self.stats.invalid += 1;
                    return Ok(Tracked::invalid());
                }
                Handled::Reopen => {
                    let now = pkt.now;
                    self.kill(id, now, false);
                    if reopened {
                        self.stats.invalid += 1;
                        return Ok(Tracked::invalid());
                    }
                    reopened = true;
                }
            }
        }
    }

    /// `nf_conntrack_icmpv4_error` / `..._icmpv6_error`: `Some` when the packet's fate is
    /// decided here (an error RELATED to a flow, INVALID, or untracked ND/MLD).
    fn icmp_error(&mut self, pkt: &PacketInfo<'_>, icmp: &IcmpInfo) -> Option<Tracked> {
        let v4 = pkt.l3() == super::tuple::L3::Ipv4;
        if (pkt.proto == proto::ICMP) != v4 || !(pkt.proto == proto::ICMP || pkt.proto == proto::ICMPV6) {
            // ICMP in IPv6 or ICMPv6 in IPv4: the query path rejects it below.
            return None;
        }
        if !pkt.checksum_ok {
            self.stats.error += 1;
            return Some(Tracked::invalid());
        }
        let class = icmp::classify(pkt.proto, icmp.icmp_type);
        let class = if pkt.proto == proto::ICMPV6 && icmp.icmp_type == 137 && icmp.quoted.is_some() {
            IcmpClass::Error
        } else {
            class
        };
        match class {
            IcmpClass::Query => None,
            IcmpClass::Untracked => Some(Tracked::untracked()),
            IcmpClass::Invalid => {
                self.stats.error += 1;
                Some(Tracked::invalid())
            }
            IcmpClass::Error => Some(self.icmp_related(pkt, icmp)),
        }
    }

    /// `nf_conntrack_inet_error`: the connection of the quoted packet, looked up by its
    /// inverted tuple; the outer destination must be that direction's destination.
    fn icmp_related(&mut self, pkt: &PacketInfo<'_>, icmp: &IcmpInfo) -> Tracked {
        let found = icmp
            .quoted
            .and_then(|q| {
                let t = q.tuple()?;
                Some(if let QuotedL4::Gre { .. } = q.l4 { self.with_gre_source_key(t) } else { t })
            })
            .filter(|t| t.l3 == pkt.l3())
            .and_then(|t| t.invert())
            .and_then(|inner| self.lookup(&inner, pkt.zone, pkt.now));
        let Some((id, dir)) = found else {
            self.stats.error += 1;
            return Tracked::invalid();
        };
        let outer_dst = super::tuple::addr_bits(pkt.dst);
        if self.get(id).is_none_or(|c| c.tuple[dir].dst != outer_dst) {
            self.stats.error += 1;
            return Tracked::invalid();
        }
        let info = if dir == 1 { CtInfo::RelatedReply } else { CtInfo::Related };
        Tracked { conn: Some(id), info, icmp_error: Some(icmp.icmp_type) }
    }

    /// `init_conntrack`: a pending entry for a new tuple, RELATED if an expectation
    /// matches. `Ok(None)` when the tuple has no reply (an ICMP type that cannot start a
    /// flow): the packet is INVALID.
    fn create(&mut self, tuple: &Tuple, pkt: &PacketInfo<'_>) -> Result<Option<(ConnId, bool)>, Refused> {
        let Some(reply) = tuple.invert() else { return Ok(None) };
        if self.cfg.max > 0 && self.count() >= self.cfg.max && !self.early_drop(pkt.now) {
            self.stats.drop += 1;
            return Err(Refused::TableFull);
        }
        let proto_state = match pkt.l4 {
            L4::Tcp(_) => ProtoState::Tcp(TcpConn::default()),
            L4::Udp(_) => ProtoState::Udp { stream_ts: udp::stream_start(pkt.now) },
            _ => ProtoState::Plain,
        };
        let id = self.alloc(Conn::new(*tuple, reply, pkt.zone, proto_state, 0));
        self.transient.push(id);
        let Some(exp) = self.expect.take(tuple, pkt.zone, pkt.now) else { return Ok(Some((id, false))) };
        self.stats.expect_new += 1;
        let master_mark = self.get(exp.master).map_or(0, |m| m.mark);
        if let Some(c) = self.get_mut(id) {
            c.status |= st::EXPECTED;
            c.mark = master_mark;
            c.ext_mut().master = Some(exp.master);
        }
        if self.get(exp.master).and_then(|m| m.helper) == Some(Helper::Pptp) {
            self.pptp_expected(id, &exp);
        } else if let Some(nat) = exp.nat {
            self.nat_follow_master(id, exp.master, nat);
        }
        Ok(Some((id, true)))
    }

    /// A PPTP GRE packet's tuple (version 1: its call ID the destination key) with the
    /// source key the keymap gives it (`gre_pkt_to_tuple`).
    pub fn with_gre_source_key(&self, mut t: Tuple) -> Tuple {
        t.src_id = self.gre_keymap.source_key(&t);
        t
    }

    /// Runs the protocol tracker on an entry: validity, state, timeout, accounting.
    fn handle_packet(&mut self, id: ConnId, dir: usize, pkt: &PacketInfo<'_>) -> Handled {
        let now = pkt.now;
        let acct = self.cfg.acct;
        let Some(c) = self.get(id) else { return Handled::Invalid };
        let confirmed = c.confirmed();
        match pkt.l4 {
            L4::Tcp(seg) => self.handle_tcp(id, dir, &seg, pkt),
            L4::Udp(u) => {
                if udp::udp_is_malformed(&u, pkt.checksum_ok) {
                    return Handled::Invalid;
                }
                let stream_ts = match c.proto {
                    ProtoState::Udp { stream_ts } => stream_ts,
                    _ => now,
                };
                let r = udp::udp_refresh(
                    c.has(st::SEEN_REPLY),
                    c.has(st::ASSURED),
                    stream_ts,
                    now,
                    &self.cfg.timeouts,
                );
                self.refresh(id, dir, pkt, r.timeout, acct);
                if r.assure {
                    self.assure(id);
                }
                Handled::Accept
            }
            L4::UdpLite(u) => {
                if udp::udplite_is_malformed(&u, pkt.checksum_ok) {
                    return Handled::Invalid;
                }
                let r = udp::udplite_refresh(c.has(st::SEEN_REPLY), c.has(st::ASSURED), &self.cfg.timeouts);
                self.refresh(id, dir, pkt, r.timeout, acct);
                if r.assure {
                    self.assure(id);
                }
                Handled::Accept
            }
            L4::Icmp(_) => {
                let l4 = c.tuple[0].proto;
                let ok_family = (l4 == proto::ICMP) == (pkt.l3() == super::tuple::L3::Ipv4);
                let first_type = c.tuple[0].icmp_type();
                // ICMPv4 checks the original type on every packet, ICMPv6 only on the first.
                let check = l4 == proto::ICMP || !confirmed;
                if !ok_family || (check && !icmp::may_start(l4, first_type)) {
                    return Handled::Invalid;
                }
                let t = if l4 == proto::ICMP { self.cfg.timeouts.icmp } else { self.cfg.timeouts.icmpv6 };
                self.refresh(id, dir, pkt, secs(t), acct);
                Handled::Accept
            }
            L4::Gre { .. } | L4::Other if c.tuple[0].proto == proto::GRE => {
                // GRE (`nf_conntrack_proto_gre`): unreplied / stream timeouts, ASSURED
                // once seen both ways.
                if c.has(st::SEEN_REPLY) {
                    let assured = c.has(st::ASSURED);
                    self.refresh(id, dir, pkt, secs(self.cfg.timeouts.gre_stream), acct);
                    if !assured {
                        self.assure(id);
                    }
                } else {
                    self.refresh(id, dir, pkt, secs(self.cfg.timeouts.gre), acct);
                }
                Handled::Accept
            }
            L4::Sctp { .. } | L4::Gre { .. } | L4::Other => {
                self.refresh(id, dir, pkt, secs(self.cfg.timeouts.generic), acct);
                Handled::Accept
            }
            L4::Truncated => Handled::Invalid,
        }
    }

    fn handle_tcp(&mut self, id: ConnId, dir: usize, seg: &TcpInfo<'_>, pkt: &PacketInfo<'_>) -> Handled {
        let now = pkt.now;
        if tcp::is_malformed(seg, pkt.checksum_ok) {
            return Handled::Invalid;
        }
        let Some(c) = self.get(id) else { return Handled::Invalid };
        let mut tcp = match (&c.proto, c.confirmed()) {
            (ProtoState::Tcp(t), true) => *t,
            _ => match TcpConn::start(seg, &self.cfg) {
                Some(t) => t,
                None => return Handled::Invalid,
            },
        };
        let ctx = TcpContext {
            seen_reply: c.has(st::SEEN_REPLY),
            assured: c.has(st::ASSURED),
            fixed_timeout: c.has(st::FIXED_TIMEOUT),
            expires_in_secs: if c.confirmed() { c.remaining_secs(now) } else { 0 },
        };
        let seqadj = if c.has(st::SEQ_ADJUST) { c.ext.as_ref().map(|e| e.seqadj) } else { None };
        let verdict = tcp.packet(dir, seg, &ctx, &self.cfg, |d, s| seqadj.map_or(0, |a| a.offset(d, s)));
        if let Some(c) = self.get_mut(id) {
            c.proto = ProtoState::Tcp(tcp);
        }
        let acct = self.cfg.acct;
        match verdict {
            TcpVerdict::Accept { refresh, state_changed, assured, kill } => {
                if state_changed {
                    self.cache_event(id, ev::PROTOINFO);
                }
                if kill {
                    self.account(id, dir, pkt.len, acct);
                    self.kill(id, now, true);
                    return Handled::Accept;
                }
                if let Some(t) = refresh {
                    self.refresh(id, dir, pkt, secs(t), acct);
                }
                if assured {
                    self.assure(id);
                }
                Handled::Accept
            }
            TcpVerdict::Ignore => Handled::Accept,
            TcpVerdict::Invalid { shorten_to } => {
                if let Some(t) = shorten_to
                    && let Some(c) = self.get_mut(id)
                {
                    c.timeout = now.saturating_add(secs(t));
                }
                Handled::Invalid
            }
            TcpVerdict::Reopen => Handled::Reopen,
        }
    }

    /// `nf_ct_refresh_acct`: new timeout (unless fixed) and accounting.
    fn refresh(&mut self, id: ConnId, dir: usize, pkt: &PacketInfo<'_>, timeout: u64, acct: bool) {
        if let Some(c) = self.get_mut(id)
            && c.status & st::FIXED_TIMEOUT == 0
        {
            c.timeout = pkt.now.saturating_add(timeout);
        }
        self.account(id, dir, pkt.len, acct);
    }

    fn account(&mut self, id: ConnId, dir: usize, len: u32, acct: bool) {
        if !acct {
            return;
        }
        if let Some(c) = self.get_mut(id) {
            let counter = &mut c.counters[dir & 1];
            counter.packets += 1;
            counter.bytes += u64::from(len);
        }
    }

    /// Sets ASSURED (with its event).
    fn assure(&mut self, id: ConnId) {
        if let Some(c) = self.get_mut(id)
            && c.status & st::ASSURED == 0
        {
            c.status |= st::ASSURED;
            self.cache_event(id, ev::ASSURED);
        }
    }

    // ---- what rules may change ------------------------------------------------------------

    /// `ct mark set`: records an UPDATE event when the value changes.
    pub fn set_mark(&mut self, id: ConnId, mark: u32) {
        if let Some(c) = self.get_mut(id)
            && c.mark != mark
        {
            c.mark = mark;
            self.cache_event(id, ev::MARK);
        }
    }

    /// `ct label set`: labels are only ever added, as in the kernel.
    pub fn set_labels(&mut self, id: ConnId, labels: u128) {
        if let Some(c) = self.get_mut(id)
            && c.labels | labels != c.labels
        {
            c.labels |= labels;
            self.cache_event(id, ev::LABEL);
        }
    }

    /// `nf_ct_set_closing`: a `reject with tcp reset` answered a packet of this
    /// connection, so a confirmed TCP connection moves to CLOSE (with CLOSE's timeout,
    /// unless the timeout is fixed or it was CLOSE already).
    pub fn set_closing(&mut self, id: ConnId, now: super::packet::Time) {
        let close = secs(self.cfg.timeouts.tcp.close);
        let Some(c) = self.get_mut(id) else { return };
        if !c.confirmed() {
            return;
        }
        let ProtoState::Tcp(t) = &mut c.proto else { return };
        let old = t.state;
        t.state = super::tcp::TcpState::Close;
        if old == super::tcp::TcpState::Close || c.status & st::FIXED_TIMEOUT != 0 {
            return;
        }
        c.timeout = now.saturating_add(close);
        self.cache_event(id, ev::PROTOINFO);
    }

    /// `ct helper set`: attaches a helper to a connection being created (only while it is
    /// unconfirmed, only if none is attached and the protocol fits). Returns whether it did.
    pub fn set_helper(&mut self, id: ConnId, helper: Helper) -> bool {
        let Some(c) = self.get_mut(id) else { return false };
        if c.confirmed()
            || c.status & st::HELPER != 0
            || c.l4proto() != helper.l4proto()
            || !helper.serves(c.tuple[0].l3)
        {
            return false;
        }
        c.helper = Some(helper);
        c.status |= st::HELPER;
        c.ext_mut().helper_data = crate::helper::HelperData::for_helper(helper);
        c.ext_mut().help = true;
        true
    }
}
