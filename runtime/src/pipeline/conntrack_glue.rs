//! The kernel's own hook functions around conntrack: defragmentation (−400), tracking
//! (−200), NAT (−100 / 100: run the nat chains for a new connection, then rewrite every
//! packet from its entry's binding; ICMP errors get their quoted packet translated) and the
//! confirm point (helper payload mangling, sequence adjustment, confirmation).

use std::net::IpAddr;

use nftvm_vm::keys::Hook;
use nftvm_vm::keys::ct_status;

use super::Pipeline;
use super::l4;
use super::outcome::PacketReport;
use super::run::{HookResult, Run, Step};
use super::skb::Skb;
use crate::checksum;
use crate::conntrack::{CtInfo, Finish, L4Payload, Tracked};
use crate::defrag::{Gather, User};
use crate::nat::{HeaderRewrite, Manip, NatAction, Side as NatSide};
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::ipv6::Ipv6Packet;
use crate::packet::rewrite::{self, Side};
use crate::packet::tcp::TcpPacket;
use crate::packet::udp::UdpPacket;
use crate::packet::{IpVersion, Tuple, TupleL4};

/// The packet layer's target tuple for one header rewrite of a connection of protocol
/// `proto` (only the rewritten side's fields matter to [`rewrite::manip`]).
fn target(rw: &HeaderRewrite, proto: u8) -> (Tuple, Side) {
    let side = match rw.side {
        NatSide::Src => Side::Source,
        NatSide::Dst => Side::Destination,
    };
    let key = rw.l4.unwrap_or(0);
    let l4 = match proto {
        1 | 58 => TupleL4::Icmp { id: key, kind: 0, code: 0 },
        6 | 17 | 132 | 136 | 33 if rw.l4.is_some() => TupleL4::Ports { src: key, dst: key },
        47 if rw.l4.is_some() => TupleL4::Gre { src_key: key, dst_key: key },
        _ => TupleL4::None,
    };
    (Tuple { src: rw.addr, dst: rw.addr, protocol: proto, l4 }, side)
}

impl Pipeline {
    /// Reassembly before conntrack.
    pub(crate) fn defrag_entry(&mut self, skb: &mut Skb, report: &mut PacketReport, run: &mut Run) -> Step {
        if skb.info.fragment.is_none() {
            return Step::Next;
        }
        let iif = skb.meta.iif.map_or(0, |i| i.0);
        let user = User::Conntrack(skb.meta.ct.zone);
        let gathered = self.defrag.gather(skb.ip(), user, iif, self.now);
        self.apply_gather(gathered, skb, report, run)
    }

    pub(crate) fn apply_gather(
        &mut self,
        g: Gather,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> Step {
        let id = report.trace_id;
        match g {
            Gather::Whole | Gather::PassUnreassembled => Step::Next,
            Gather::Held => {
                run.note(id, "defrag: fragment held until the datagram is complete".into());
                Step::End(HookResult::Held)
            }
            Gather::Dropped(why) => Step::End(HookResult::Drop(format!("reassembly: {why}"))),
            Gather::Done { packet, layout } => {
                if let Err(e) = skb.replace_ip(&packet) {
                    return Step::End(HookResult::Drop(format!("reassembled packet does not parse: {e}")));
                }
                run.note(
                    id,
                    format!("defrag: reassembled {} fragments, {} bytes", layout.sizes.len(), packet.len()),
                );
                skb.meta.frags = Some(layout);
                run.reassembled = true;
                Step::Next
            }
        }
    }

    /// `nf_conntrack_in`.
    pub(crate) fn conntrack_entry(
        &mut self,
        hook: Hook,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> Step {
        let id = report.trace_id;
        if !skb.meta.ct.attached {
            if skb.meta.ct.notrack {
                skb.meta.ct.tracked = Some(Tracked::untracked());
            } else {
                let info = &skb.info;
                let checksum_ok = hook != Hook::Prerouting
                    || info.ct.is_none_or(|v| {
                        l4::checksum_ok(
                            skb.ip(),
                            info.src_addr,
                            info.dst_addr,
                            v.protonum,
                            v.dataoff - info.nhoff,
                        )
                    });
                let pkt = l4::ct_packet(&skb.data, info, skb.meta.ct.zone, self.now, checksum_ok);
                // Checking an IPv6 transport checksum in software leaves Linux's skb with a
                // full-packet sum that later payload writes can make stale.
                let sw_checked = hook == Hook::Prerouting
                    && checksum_ok
                    && !skb.is_v4()
                    && info.ct.is_some_and(|v| matches!(v.protonum, 6 | 17 | 58));
                match self.ct.track(&pkt) {
                    Ok(t) => skb.meta.ct.tracked = Some(t),
                    Err(_) => return Step::End(HookResult::Drop("conntrack table full".into())),
                }
                self.assign_template_helper(skb, run, report.trace_id);
                if sw_checked && self.plan.writes_packet {
                    skb.record_csum_complete();
                }
            }
        }
        let info = skb.meta.ct.tracked.map_or(CtInfo::Invalid, |t| t.info);
        report.ct_state = Some(info);
        if run.trace {
            let conn = skb.meta.ct.tracked.and_then(|t| t.conn).and_then(|c| self.ct.get(c));
            let text = match conn {
                Some(c) => format!("conntrack: {} ({})", info.name(), c.original()),
                None => format!("conntrack: {}", info.name()),
            };
            run.note(id, text);
        }
        Step::Next
    }

    /// The NAT hook function (`nf_nat_ipv4_fn` / `nf_nat_inet_fn`).
    pub(crate) fn nat_entry(
        &mut self,
        hook: Hook,
        manip: Manip,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> Step {
        let id = report.trace_id;
        let Some(t) = skb.meta.ct.tracked else { return Step::Next };
        let Some(conn) = t.conn else { return Step::Next };
        let icmp = skb.info.ct.is_some_and(|v| v.protonum == 1 || v.protonum == 58);
        if matches!(t.info, CtInfo::Related | CtInfo::RelatedReply) && icmp && t.icmp_error.is_some() {
            return match self.apply_nat(&t, manip, skb) {
                Ok(()) => Step::Next,
                Err(why) => Step::End(HookResult::Drop(why)),
            };
        }
        if self.ct.nat_needed(&t, manip) {
            let family = skb.family();
            let chains: Vec<_> = self.plan.nat_chains(family, hook).to_vec();
            for chain in chains {
                let v = self.run_base_chain(chain, hook, skb, report, run);
                match v {
                    nftvm_vm::Verdict::Accept | nftvm_vm::Verdict::Continue => {}
                    nftvm_vm::Verdict::Queue { bypass: true, .. } => {}
                    nftvm_vm::Verdict::Stolen => return Step::End(HookResult::Stolen),
                    _ => {
                        return Step::End(HookResult::Drop(format!(
                            "dropped by nat chain {}",
                            self.prog.chain_name(chain)
                        )));
                    }
                }
                if self.ct.nat_initialized(conn, manip) {
                    break;
                }
            }
            if !self.ct.nat_initialized(conn, manip) {
                if self.ct.nat_null_binding(conn, manip).is_err() {
                    return Step::End(HookResult::Drop("nat: null binding failed".into()));
                }
                if run.trace
                    && let Some(c) = self.ct.get(conn)
                    && c.has(if manip == Manip::Src { ct_status::SRC_NAT } else { ct_status::DST_NAT })
                {
                    run.note(id, format!("nat: null binding moved the reply tuple to {}", c.reply()));
                }
            }
        }
        match self.apply_nat(&t, manip, skb) {
            Ok(()) => Step::Next,
            Err(why) => Step::End(HookResult::Drop(why)),
        }
    }

    /// Applies the connection's binding for `manip` to the packet.
    pub(super) fn apply_nat(&mut self, t: &Tracked, manip: Manip, skb: &mut Skb) -> Result<(), String> {
        let action = self.ct.nat_rewrite(t, manip);
        let proto = t.conn.and_then(|c| self.ct.get(c)).map_or(0, |c| c.l4proto());
        let version = skb.info.ip_version;
        let result = match action {
            NatAction::None => return Ok(()),
            NatAction::Drop => return Err("nat: ICMP redirect about a NATed connection".into()),
            NatAction::Rewrite { outer, inner: None } => {
                let (tgt, side) = target(&outer, proto);
                rewrite::manip(skb.ip_mut(), 0, version, &tgt, side)
            }
            NatAction::Rewrite { outer, inner: Some(inner) } => {
                let icmp_proto = if version == IpVersion::V4 { 1 } else { 58 };
                let Some(view) = skb.info.ct else { return Err("nat: ICMP error without a header".into()) };
                let icmp_off = view.dataoff - skb.info.nhoff;
                let (it, is) = target(&inner, proto);
                let (ot, os) = target(&outer, icmp_proto);
                rewrite::icmp_error_translate(skb.ip_mut(), 0, icmp_off, (&it, is), (&ot, os))
            }
        };
        result.map_err(|e| format!("nat: {e}"))?;
        skb.redissect().map_err(|e| format!("nat: rewritten packet does not parse: {e}"))
    }

    /// `nf_confirm`: helper, sequence adjustment, confirmation.
    pub(crate) fn confirm_entry(&mut self, skb: &mut Skb, report: &mut PacketReport, run: &mut Run) -> Step {
        let Some(t) = skb.meta.ct.tracked else { return Step::Next };
        let Some(conn) = t.conn else { return Step::Next };
        let (tcp_helper, udp_helper, new) = match self.ct.get(conn) {
            Some(c) => (
                c.l4proto() == 6 && (c.helper.is_some() || c.has(ct_status::SEQ_ADJUST)),
                c.l4proto() == 17 && c.helper.is_some(),
                !c.confirmed(),
            ),
            None => (false, false, false),
        };
        let th = skb.info.transport_offset().map(|t| t - skb.info.nhoff);
        let mut sack = Vec::new();
        let result = match (tcp_helper, udp_helper, th) {
            (true, _, Some(th)) => {
                let ip = skb.ip();
                let seg = l4::segment(ip, th, &mut sack).map(L4Payload::Tcp);
                self.ct.finish(&t, seg.as_ref())
            }
            (_, true, Some(th)) => {
                let ip = skb.ip();
                let l3_len = u32::try_from(ip.len()).unwrap_or(u32::MAX);
                let udp = ip.get(th + 8..).map(|payload| L4Payload::Udp { payload, l3_len });
                self.ct.finish(&t, udp.as_ref())
            }
            _ => self.ct.finish(&t, None),
        };
        match result {
            Ok(fin) => {
                if new && run.trace && self.ct.get(conn).is_some_and(|c| c.confirmed()) {
                    run.note(report.trace_id, "conntrack: confirmed".into());
                }
                if let (Some(th), true) = (th, fin.payload.is_some() || fin.seq.is_some()) {
                    if let Err(why) = apply_finish(skb, th, &fin) {
                        return Step::End(HookResult::Drop(why));
                    }
                    run.note(report.trace_id, format!("helper: payload changed by {} bytes", fin.delta));
                }
                Step::Next
            }
            Err(e) => Step::End(HookResult::Drop(format!("conntrack confirm: {e:?}"))),
        }
    }

    /// A new connection (not an expected one) takes the helper of the packet's template
    /// (`-j CT --helper` in the raw table), as `init_conntrack` does.
    fn assign_template_helper(&mut self, skb: &Skb, run: &mut Run, id: u32) {
        let (Some(h), Some(t)) = (skb.meta.ct.helper, skb.meta.ct.tracked) else { return };
        let (Some(conn), CtInfo::New) = (t.conn, t.info) else { return };
        if self.ct.set_helper(conn, h) {
            run.note(id, format!("conntrack: helper {} from the CT template", h.name()));
        }
    }

    /// Forgets what a dropped packet was creating in conntrack.
    pub(crate) fn abort_ct(&mut self, skb: &Skb) {
        // Only a packet with a connection of its own may have one in the making (an
        // untracked copy `dup` sends while the original's is unconfirmed has none).
        if let Some(t) = skb.meta.ct.tracked
            && t.conn.is_some()
            && !skb.meta.ct.attached
        {
            self.ct.abort(&t);
        }
    }
}

/// Replaces the TCP or UDP payload (`nf_nat_mangle_tcp_packet`, `nf_nat_mangle_udp_packet`:
/// lengths, IPv4 header checksum, full transport checksum — an IPv4 UDP checksum of zero
/// stays zero) and adjusts TCP sequence numbers (`nf_ct_seq_adjust`: incremental).
fn apply_finish(skb: &mut Skb, th: usize, fin: &Finish) -> Result<(), String> {
    let mut ip = skb.ip().to_vec();
    if let Some(payload) = &fin.payload {
        let udp = skb.info.l4proto == Some(17);
        replace_payload(&mut ip, th, payload, udp, (skb.info.src_addr, skb.info.dst_addr))?;
    }
    if let Some(seq) = &fin.seq {
        let check_at = th + 16;
        let replace = |ip: &mut Vec<u8>, at: usize, new: u32| {
            let old = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
            let c = u16::from_be_bytes([ip[check_at], ip[check_at + 1]]);
            let c = checksum::replace32(c, old, new);
            ip[check_at..check_at + 2].copy_from_slice(&c.to_be_bytes());
            ip[at..at + 4].copy_from_slice(&new.to_be_bytes());
        };
        replace(&mut ip, th + 4, seq.seq);
        if let Some(ack) = seq.ack {
            replace(&mut ip, th + 8, ack);
        }
        if !seq.sack.is_empty() {
            let positions = sack_positions(&ip, th);
            for (at, (l, r)) in positions.into_iter().zip(seq.sack.iter()) {
                replace(&mut ip, at, *l);
                replace(&mut ip, at + 4, *r);
            }
        }
    }
    skb.replace_ip(&ip).map_err(|e| format!("mangled packet does not parse: {e}"))
}

/// Puts `payload` after the transport header at `th` of the IP packet `ip` and fixes what
/// depends on its length, through the packet views: the IP length (and IPv4 header
/// checksum), the UDP length, the full TCP or UDP checksum (an IPv4 UDP datagram sent
/// without one stays without; a computed zero is sent as all ones).
fn replace_payload(
    ip: &mut Vec<u8>,
    th: usize,
    payload: &[u8],
    udp: bool,
    (src, dst): (IpAddr, IpAddr),
) -> Result<(), String> {
    let header = if udp { 8 } else { usize::from(ip.get(th + 12).copied().unwrap_or(0x50) >> 4) * 4 };
    let unchecked = udp && src.is_ipv4() && ip.get(th + 6..th + 8) == Some(&[0, 0][..]);
    ip.truncate(th + header);
    ip.extend_from_slice(payload);
    let too_long = |_| "mangled packet too long".to_string();
    let total = u16::try_from(ip.len()).map_err(too_long)?;
    let segment = u16::try_from(ip.len() - th).map_err(too_long)?;
    if src.is_ipv4() {
        let mut v4 = Ipv4Packet::new_unchecked(&mut ip[..]);
        v4.set_total_len(total);
        v4.fill_checksum();
    } else {
        Ipv6Packet::new_unchecked(&mut ip[..]).set_payload_len(total - 40);
    }
    let seg = &mut ip[th..];
    match (udp, src, dst) {
        (true, _, _) if unchecked => UdpPacket::new_unchecked(seg).set_len(segment),
        (true, IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut u = UdpPacket::new_unchecked(seg);
            u.set_len(segment);
            u.fill_checksum_v4(s, d);
        }
        (true, IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut u = UdpPacket::new_unchecked(seg);
            u.set_len(segment);
            u.fill_checksum_v6(s, d);
        }
        (false, IpAddr::V4(s), IpAddr::V4(d)) => TcpPacket::new_unchecked(seg).fill_checksum_v4(s, d),
        (false, IpAddr::V6(s), IpAddr::V6(d)) => TcpPacket::new_unchecked(seg).fill_checksum_v6(s, d),
        _ => {}
    }
    Ok(())
}

/// Offsets of the SACK blocks' left edges in the TCP options, in order.
fn sack_positions(ip: &[u8], th: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(&off) = ip.get(th + 12) else { return out };
    let end = (th + usize::from(off >> 4) * 4).min(ip.len());
    let mut i = th + 20;
    while i < end {
        match ip[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = ip.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > end {
                    break;
                }
                if kind == 5 {
                    let mut b = i + 2;
                    while b + 8 <= i + len {
                        out.push(b);
                        b += 8;
                    }
                }
                i += len;
            }
        }
    }
    out
}
