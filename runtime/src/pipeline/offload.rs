//! Flowtables at run time (Linux's `nft_flow_offload.c`, `nf_flow_table_ip.c` and
//! `nf_flow_table_core.c`): which connections `flow add @f` offloads, the fast path that
//! forwards their packets from the ingress hook of the flowtable's devices, and the way back
//! to the slow path.
//!
//! * **Offload** (the forward hook): a confirmed TCP connection that is established and
//!   assured (the packet carrying no FIN or RST), or a confirmed UDP connection, without a
//!   helper or sequence adjustment, not offloaded yet, of a packet without IPv4 options.
//!   Each direction is keyed by its tuple and the device its packets arrive on: the packet's
//!   own direction by its input device, leaving by its output device; the other direction
//!   the reverse. Both TCP peers become "be liberal" (the tracker no longer sees every
//!   segment). Otherwise the rule breaks.
//! * **Fast path** (a device's ingress hook, at the flowtable's priority): an IPv4 packet
//!   without options or fragmentation, or an IPv6 packet whose next header is TCP or UDP,
//!   with a TTL / hop limit above 1, whose tuple and input device match a flow, no larger
//!   than the output device's MTU: its NAT is applied, its TTL decremented, its connection's
//!   counters updated when the flowtable has `counter`, and it leaves by the output device
//!   (through that device's egress hook) — prerouting, forward and postrouting never see
//!   it. A TCP FIN or RST tears the flow down and takes the slow path.
//! * **Back to the slow path**: a flow idle for 30 s, or torn down, leaves its flowtable;
//!   its connection gets the timeout of its state again from then on. While offloaded, the
//!   connection does not expire (its timeout is kept a day ahead, as the kernel's
//!   conntrack garbage collector does for offloaded entries).

use nftvm_vm::FlowtableId;
use nftvm_vm::keys::ct_status as st;

use super::Pipeline;
use super::env::RuntimeEnv;
use super::hooks::served;
use super::outcome::{EmitKind, Emitted, PacketReport};
use super::run::{HookResult, Run, Step};
use super::skb::Skb;
use crate::conntrack::config::secs;
use crate::conntrack::ctinfo::Tracked;
use crate::conntrack::entry::{ConnId, Dir};
use crate::conntrack::packet::SECOND;
use crate::conntrack::tcp::{TcpState, peer_flags};
use crate::conntrack::tuple::Tuple;
use crate::conntrack::{CtInfo, Time};
use crate::flowtable::{FlowDir, FlowKey};
use crate::io::IfaceId;
use crate::nat::Manip;
use crate::packet::rewrite;
use crate::packet::tcp::flags as tcp_flags;

/// How far ahead an offloaded connection's timeout is kept (`NF_CT_DAY`), refreshed when
/// less than half of it is left.
const OFFLOADED_TIMEOUT: Time = 86_400 * SECOND;

/// The fast path's view of an IP packet: its tuple and TTL byte offset, or `None` when the
/// flowtable does not handle it (`nf_flow_tuple_ip` / `nf_flow_tuple_ipv6`).
fn flow_tuple(ip: &[u8], v4: bool) -> Option<(Tuple, usize)> {
    let (proto, ttl, thoff) = if v4 {
        let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff != 0;
        if *ip.first()? & 0x0f != 5 || fragment {
            return None;
        }
        (*ip.get(9)?, *ip.get(8)?, 20)
    } else {
        (*ip.get(6)?, *ip.get(7)?, 40)
    };
    let hdr = match proto {
        6 => 20,
        17 => 8,
        _ => return None,
    };
    if ttl <= 1 || ip.len() < thoff + hdr {
        return None;
    }
    let (src, dst) = if v4 {
        let a = |i: usize| std::net::IpAddr::from([ip[i], ip[i + 1], ip[i + 2], ip[i + 3]]);
        (a(12), a(16))
    } else {
        let a = |i: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&ip[i..i + 16]);
            std::net::IpAddr::from(b)
        };
        (a(8), a(24))
    };
    let port = |i: usize| u16::from_be_bytes([ip[thoff + i], ip[thoff + i + 1]]);
    Some((Tuple::ports(src, dst, proto, port(0), port(2)), thoff))
}

impl RuntimeEnv<'_> {
    /// `flow add @f` for the packet under evaluation (see the module documentation).
    pub(super) fn offload(&mut self, flowtable: FlowtableId) -> bool {
        let Some(Tracked { conn: Some(id), info, icmp_error: None }) = self.meta.ct.tracked else {
            return false;
        };
        let (Some(dir), Some(iif), Some(oif)) = (info.dir(), self.meta.iif, self.meta.oif) else {
            return false;
        };
        if self.view_has_ipv4_options() {
            return false;
        }
        let Some(c) = self.ct.get(id) else { return false };
        let qualifies = match c.l4proto() {
            6 => {
                let flags = self.tcp_flags().unwrap_or(tcp_flags::FIN);
                flags & (tcp_flags::FIN | tcp_flags::RST) == 0
                    && c.tcp_state() == Some(TcpState::Established)
                    && c.has(st::ASSURED)
            }
            17 => true,
            _ => false,
        };
        if !qualifies || c.helper.is_some() || c.has(st::SEQ_ADJUST) || !c.confirmed() || c.has(st::OFFLOAD) {
            return false;
        }
        let mtu = |i: IfaceId| self.host.iface(i).map_or(1500, |x| x.mtu);
        let key = |d: Dir, iif| FlowKey { flowtable, tuple: c.tuple[d.index()], iif };
        let keys = [key(dir, iif), key(dir.other(), oif)];
        let dirs = [
            FlowDir { conn: id, dir, oif, mtu: mtu(oif) },
            FlowDir { conn: id, dir: dir.other(), oif: iif, mtu: mtu(iif) },
        ];
        if !self.flows.add(keys, dirs, self.now) {
            return false;
        }
        let now = self.now;
        if let Some(c) = self.ct.get_mut(id) {
            c.status |= st::OFFLOAD;
            keep_alive(&mut c.timeout, now);
            if let Some(t) = c.tcp_mut() {
                for peer in &mut t.seen {
                    peer.flags |= peer_flags::BE_LIBERAL;
                }
            }
        }
        true
    }

    /// The TCP flag byte of the packet, if it is TCP.
    fn tcp_flags(&self) -> Option<u8> {
        match self.info.transport {
            Some(crate::packet::Transport::Tcp { flags, .. }) => Some(flags),
            _ => None,
        }
    }

    /// An IPv4 header with options (`nft_flow_offload_skip`).
    fn view_has_ipv4_options(&self) -> bool {
        self.info.ip_version == crate::packet::IpVersion::V4
            && self.info.transport_offset().is_some_and(|t| t - self.info.nhoff != 20)
    }
}

/// An offloaded connection's timeout: at least half a day ahead.
fn keep_alive(timeout: &mut Time, now: Time) {
    if timeout.saturating_sub(now) < OFFLOADED_TIMEOUT / 2 {
        *timeout = now.saturating_add(OFFLOADED_TIMEOUT);
    }
}

impl Pipeline {
    /// A flowtable's entry in device `dev`'s ingress hook: the fast path, or on to the next
    /// entry (see the module documentation).
    pub(super) fn flowtable_entry(
        &mut self,
        ft: FlowtableId,
        dev: IfaceId,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> Step {
        let prog = self.prog.program();
        let Some((family, counter)) =
            prog.flowtable(ft).and_then(|f| Some((prog.table(f.table)?.family, f.counter)))
        else {
            return Step::Next;
        };
        let v4 = skb.is_v4();
        if !served(family).contains(&skb.family()) {
            return Step::Next;
        }
        let Some((tuple, thoff)) = flow_tuple(skb.ip(), v4) else { return Step::Next };
        let Some(flow) = self.flows.lookup(&FlowKey { flowtable: ft, tuple, iif: dev }) else {
            return Step::Next;
        };
        if self.ct.get(flow.conn).is_none() {
            self.flows.remove(flow.conn);
            return Step::Next;
        }
        let len = skb.ip().len();
        if len > flow.mtu as usize {
            return Step::Next;
        }
        if tuple.proto == 6
            && skb.ip().get(thoff + 13).is_some_and(|f| f & (tcp_flags::FIN | tcp_flags::RST) != 0)
        {
            self.teardown(flow.conn);
            run.note(report.trace_id, "flowtable: FIN or RST, the flow goes back to the slow path".into());
            return Step::Next;
        }
        let now = self.now;
        self.flows.refresh(flow.conn, now);
        let info = if flow.dir == Dir::Original { CtInfo::Established } else { CtInfo::EstablishedReply };
        let tracked = Tracked { conn: Some(flow.conn), info, icmp_error: None };
        for manip in [Manip::Src, Manip::Dst] {
            if let Err(e) = self.apply_nat(&tracked, manip, skb) {
                return Step::End(HookResult::Drop(format!("flowtable: {e}")));
            }
        }
        if rewrite::decrement_ttl(skb.ip_mut(), 0).is_err() {
            return Step::End(HookResult::Drop("flowtable: truncated IP header".into()));
        }
        if let Some(c) = self.ct.get_mut(flow.conn) {
            keep_alive(&mut c.timeout, now);
            if counter {
                let k = &mut c.counters[flow.dir.index()];
                k.packets += 1;
                k.bytes += len as u64;
            }
        }
        skb.meta.oif = Some(flow.oif);
        if run.trace {
            let name = self.prog.program().flowtable(ft).map_or("?", |f| f.name.as_str());
            let out = self.host.name(flow.oif).to_string();
            run.note(report.trace_id, format!("flowtable {name}: fast path to {out}"));
        }
        match self.egress_hook(flow.oif, skb, report, run) {
            HookResult::Accept => {}
            other => return Step::End(other),
        }
        run.emitted.push(Emitted {
            oif: flow.oif,
            bytes: skb.take_ip(),
            kind: EmitKind::Packet,
            generated: None,
        });
        report.oif = Some(flow.oif);
        Step::End(HookResult::Offloaded)
    }

    /// Flows idle past their timeout leave their flowtables (checked once a second of the
    /// packet clock, as the kernel's flowtable garbage collector runs).
    pub(super) fn expire_flows(&mut self) {
        if self.flows.is_empty() || self.now < self.next_flow_gc {
            return;
        }
        self.next_flow_gc = self.now.saturating_add(SECOND);
        for conn in self.flows.expired(self.now) {
            self.teardown(conn);
        }
    }

    /// Every flow leaves its flowtable (the program that declared them is replaced).
    pub(super) fn flush_flows(&mut self) {
        for conn in self.flows.connections() {
            self.teardown(conn);
        }
    }

    /// A flow leaves its flowtable: the connection is no longer offloaded and gets the
    /// timeout of its state from now (`flow_offload_fixup_ct`).
    fn teardown(&mut self, conn: ConnId) {
        self.flows.remove(conn);
        let now = self.now;
        let timeouts = self.ct.config().timeouts.clone();
        let Some(c) = self.ct.get_mut(conn) else { return };
        c.status &= !st::OFFLOAD;
        let timeout = match (c.l4proto(), c.tcp_state()) {
            (6, Some(state)) => timeouts.tcp.of(state),
            (17, _) if c.has(st::SEEN_REPLY) => timeouts.udp_stream,
            (17, _) => timeouts.udp,
            _ => return,
        };
        c.timeout = now.saturating_add(secs(timeout));
    }
}
