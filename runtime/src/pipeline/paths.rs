//! The paths a packet takes through the host: receive (prerouting, routing decision),
//! local delivery (input), forwarding (TTL, MTU, forward, postrouting) and output of
//! host-generated packets (output, routing, postrouting), with the ICMP errors Linux sends
//! along the way.

use std::net::IpAddr;

use nftvm_vm::interp::{IcmpErrorRequest, RejectRequest};
use nftvm_vm::keys::Hook;

use super::outcome::{EmitKind, Emitted, Fate, Generated, PacketReport};
use super::reply;
use super::run::{HookResult, Run};
use super::skb::Skb;
use super::{LocalStack, Pipeline};
use crate::conntrack::{CtInfo, Dir, Tracked};
use crate::defrag::{Fragmented, Gather, User, fragment};
use crate::host::{AddrType, InputRoute, LOOPBACK};
use crate::io::IfaceId;
use crate::packet::{ParseError, rewrite};

/// The conntrack attachment Linux gives an ICMP error or reset about `skb`
/// (`nf_ct_attach`): the same connection, RELATED in the other direction.
fn related_to(skb: &Skb) -> Option<Tracked> {
    let t = skb.meta.ct.tracked?;
    let conn = t.conn?;
    let info = match t.info.dir()? {
        Dir::Original => CtInfo::RelatedReply,
        Dir::Reply => CtInfo::Related,
    };
    Some(Tracked { conn: Some(conn), info, icmp_error: None })
}

/// How deep host-generated packets may nest (an answer to an answer …).
const MAX_DEPTH: u32 = 4;

/// `NFT_REJECT_ICMPX_*` → ICMP / ICMPv6 codes.
fn icmpx_code(code: u8, v4: bool) -> u8 {
    match (code, v4) {
        (0, true) => 0,
        (1, true) => 3,
        (2, true) => 1,
        (3, true) => 13,
        (0, false) => 0,
        (1, false) => 4,
        (2, false) => 3,
        (3, false) => 1,
        (c, _) => c,
    }
}

impl Pipeline {
    pub(super) fn finish_hook(
        &mut self,
        r: HookResult,
        skb: &Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) -> bool {
        match r {
            HookResult::Accept => true,
            HookResult::Drop(why) => {
                self.abort_ct(skb);
                run.note(report.trace_id, format!("drop: {why}"));
                report.fate = Fate::Dropped(why);
                false
            }
            HookResult::Held => {
                report.fate = Fate::Held;
                false
            }
            HookResult::Stolen => {
                self.abort_ct(skb);
                report.fate = Fate::Stolen;
                false
            }
            HookResult::Offloaded => {
                report.fate = Fate::Accepted;
                false
            }
        }
    }

    fn drop_packet(&mut self, skb: &Skb, report: &mut PacketReport, run: &mut Run, why: &str) {
        self.finish_hook(HookResult::Drop(why.to_string()), skb, report, run);
    }

    /// The IP layer's receive checks after the ingress hook (`ip_rcv_core`, `ipv6_rcv`): a
    /// packet that arrived failing them ([`Skb::rx_error`]) is dissected again as the hook
    /// left it, then an IPv6 packet's hop-by-hop header is checked. False when they drop it.
    fn ip_receive(&mut self, skb: &mut Skb, report: &mut PacketReport, run: &mut Run) -> bool {
        if skb.rx_error.is_some()
            && let Err(e) = skb.revalidate()
        {
            not_ip(report, run, &e);
            return false;
        }
        self.hop_by_hop_options(skb, report, run)
    }

    /// `ip6_rcv_core`'s check of an IPv6 packet's hop-by-hop header
    /// ([`crate::packet::hop_by_hop`]): false when it drops the packet (with an ICMPv6
    /// parameter problem where Linux sends one).
    fn hop_by_hop_options(&mut self, skb: &Skb, report: &mut PacketReport, run: &mut Run) -> bool {
        use crate::packet::hop_by_hop::{Verdict, check};
        let why = match check(skb.ip()) {
            Verdict::Pass => return true,
            Verdict::Drop(why) => why,
            Verdict::ParamProblem { code, pointer } => {
                self.send_icmp_error(skb.ip(), 4, code, pointer, false, skb.meta.iif, None, run);
                "hop-by-hop option (parameter problem sent)"
            }
        };
        self.drop_packet(skb, report, run, &format!("IPv6 receive: {why}"));
        false
    }

    /// A received packet: the device's ingress hook, the IP layer's receive checks,
    /// prerouting, routing, then input or forward.
    pub(crate) fn input_path(&mut self, mut skb: Skb, report: &mut PacketReport, run: &mut Run) {
        let skb = &mut skb;
        let r = self.ingress_hook(skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        if !self.ip_receive(skb, report, run) {
            return;
        }
        let r = self.run_hook(Hook::Prerouting, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        let iif = skb.meta.iif.unwrap_or(LOOPBACK);
        match self.host.route_input(skb.info.src_addr, skb.info.dst_addr, iif) {
            InputRoute::Local { kind } => self.deliver_local(skb, kind, report, run),
            InputRoute::Forward { oif } => self.forward(skb, oif, report, run),
            InputRoute::Unreachable => {
                run.note(report.trace_id, "routing: no route".into());
                let (kind, code) = if skb.is_v4() { (3, 0) } else { (1, 0) };
                let attach = related_to(skb);
                let ip = skb.ip().to_vec();
                self.send_icmp_error(&ip, kind, code, 0, false, skb.meta.iif, attach, run);
                self.drop_packet(skb, report, run, "no route to the destination");
            }
            InputRoute::Drop(why) => self.drop_packet(skb, report, run, why),
        }
    }

    /// Local delivery: input hook, then the host's own answer.
    fn deliver_local(&mut self, skb: &mut Skb, kind: AddrType, report: &mut PacketReport, run: &mut Run) {
        run.note(report.trace_id, "routing: local delivery".into());
        let ct_family = self.plan.conntrack(skb.family());
        if skb.is_v4() && !ct_family && skb.info.fragment.is_some() {
            let iif = skb.meta.iif.map_or(0, |i| i.0);
            let g = self.defrag.gather(skb.ip(), User::LocalDeliver, iif, self.now);
            match self.apply_gather(g, skb, report, run) {
                super::run::Step::Next => {}
                super::run::Step::End(r) => {
                    self.finish_hook(r, skb, report, run);
                    return;
                }
                _ => {}
            }
        }
        let r = self.run_hook(Hook::Input, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        report.local = true;
        report.fate = Fate::Accepted;
        if !skb.is_v4() && skb.info.fragment.is_some() {
            // IPv6 reassembles in the stack, after the input hook.
            let iif = skb.meta.iif.map_or(0, |i| i.0);
            match self.defrag.gather(skb.ip(), User::LocalDeliver, iif, self.now) {
                Gather::Done { packet, .. } => {
                    if skb.replace_ip(&packet).is_err() {
                        return;
                    }
                }
                Gather::Whole => {}
                _ => return,
            }
        }
        self.local_stack(skb, kind, run);
    }

    /// The host's answer to a packet delivered to it.
    fn local_stack(&mut self, skb: &Skb, kind: AddrType, run: &mut Run) {
        let ip = skb.ip().to_vec();
        let info = skb.info;
        let Some(view) = info.ct else { return };
        let th = view.dataoff - info.nhoff;
        let unicast = kind == AddrType::Local;
        let v4 = skb.is_v4();
        let proto = view.protonum;
        let csum = super::l4::checksum_ok(&ip, info.src_addr, info.dst_addr, proto, th);
        let echo = ip.get(th).copied() == Some(if v4 { 8 } else { 128 });
        if matches!(proto, 1 | 58) && echo && csum && (unicast || !v4) {
            let src = if unicast {
                Some(info.dst_addr)
            } else {
                self.host.route_output(info.src_addr).and_then(|r| r.1)
            };
            let id = self.ip_id();
            if let Some(p) = src.and_then(|s| reply::echo_reply(&ip, th, s, id)) {
                self.send_local(p, Generated::EchoReply, None, run);
            }
            return;
        }
        if self.cfg.local_stack == LocalStack::EchoOnly || !unicast || info.fragoff != 0 {
            return;
        }
        match proto {
            1 | 58 | 2 | 59 => {}
            6 => {
                if csum && let Some(p) = reply::tcp_reset(&ip, th, reply::ResetBy::Stack) {
                    self.send_local(p, Generated::TcpReset, None, run);
                }
            }
            17 | 136 => {
                // `udp6_csum_init`: past CHECKSUM_BREAK (76 bytes) the check trusts the sum
                // conntrack recorded; if a payload write made it stale, the datagram counts
                // as corrupt and is dropped without an answer.
                let stale = !v4 && ip.len().saturating_sub(th) > 76 && skb.csum_complete_stale();
                if csum && !stale {
                    let (k, c) = if v4 { (3, 3) } else { (1, 4) };
                    self.send_icmp_error(&ip, k, c, 0, true, skb.meta.iif, related_to(skb), run);
                }
            }
            _ => {
                if v4 {
                    self.send_icmp_error(&ip, 3, 2, 0, true, skb.meta.iif, related_to(skb), run);
                } else {
                    let pointer = self.nexthdr_pointer(&ip).unwrap_or(6);
                    self.send_icmp_error(&ip, 4, 1, pointer, true, skb.meta.iif, related_to(skb), run);
                }
            }
        }
    }

    /// Offset of the next-header byte naming the upper-layer protocol (IPv6).
    fn nexthdr_pointer(&self, ip: &[u8]) -> Option<u32> {
        let mut prev = 6usize;
        let mut next = *ip.get(6)?;
        let mut pos = 40usize;
        for _ in 0..16 {
            match next {
                0 | 43 | 60 => {
                    let hl = usize::from(*ip.get(pos + 1)?);
                    prev = pos;
                    next = *ip.get(pos)?;
                    pos += (hl + 1) * 8;
                }
                _ => return u32::try_from(prev).ok(),
            }
        }
        None
    }

    /// Forwarding (`ip_forward` / `ip6_forward`).
    fn forward(&mut self, skb: &mut Skb, oif: IfaceId, report: &mut PacketReport, run: &mut Run) {
        if run.trace {
            run.note(report.trace_id, format!("routing: forward to {}", self.host.name(oif)));
        }
        let v4 = skb.is_v4();
        let ip = skb.ip();
        if v4 && skb.meta.pkttype != 0 {
            self.drop_packet(skb, report, run, "not addressed to this host's link address");
            return;
        }
        let ttl = if v4 { ip.get(8) } else { ip.get(7) }.copied().unwrap_or(0);
        if ttl <= 1 {
            let (k, c) = if v4 { (11, 0) } else { (3, 0) };
            let copy = ip.to_vec();
            self.send_icmp_error(&copy, k, c, 0, false, skb.meta.iif, related_to(skb), run);
            self.drop_packet(skb, report, run, "TTL exceeded in transit");
            return;
        }
        let mtu = self.host.iface(oif).map_or(1500, |i| i.mtu);
        let len = ip.len();
        let max_size = skb.meta.frags.as_ref().map_or(0, |l| l.max_size);
        let too_big = if v4 {
            let df = ip.get(6).is_some_and(|b| b & 0x40 != 0);
            len > mtu as usize && df && (max_size > mtu as usize || skb.meta.frags.is_none())
        } else {
            let mtu6 = mtu.max(1280) as usize;
            len > mtu6 && (max_size > mtu6 || skb.meta.frags.is_none())
        };
        if too_big {
            let copy = ip.to_vec();
            let (k, c) = if v4 { (3, 4) } else { (2, 0) };
            let rest = if v4 { mtu & 0xffff } else { mtu.max(1280) };
            self.send_icmp_error(&copy, k, c, rest, false, skb.meta.iif, related_to(skb), run);
            self.drop_packet(skb, report, run, "packet too big for the out interface");
            return;
        }
        let nhoff = 0;
        // The TTL is not part of the dissection: no need to dissect again.
        if rewrite::decrement_ttl(skb.ip_mut(), nhoff).is_err() {
            self.drop_packet(skb, report, run, "truncated IP header");
            return;
        }
        if v4 && skb.meta.iif == Some(oif) {
            self.maybe_redirect(skb, oif, run);
        }
        skb.meta.oif = Some(oif);
        let r = self.run_hook(Hook::Forward, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        self.postrouting(skb, oif, report, run);
    }

    /// `ip_rt_send_redirect`: a packet forwarded back out of the interface it came in on,
    /// from a host on that interface's subnet, earns its sender an ICMP host redirect to
    /// the destination (before the forward hook), rate limited per sender as Linux does:
    /// the first at once, then after 20 ms << redirects sent, at most 9, the count
    /// forgotten after 20.48 s of silence — on the packet clock.
    fn maybe_redirect(&mut self, skb: &Skb, oif: IfaceId, run: &mut Run) {
        let (src, dst) = (skb.info.src_addr, skb.info.dst_addr);
        let on_link = self.host.iface(oif).is_some_and(|i| i.addrs_of(true).any(|p| p.contains(src)));
        let std::net::IpAddr::V4(gw) = dst else { return };
        if !on_link {
            return;
        }
        const LOAD: crate::conntrack::Time = 20 * 1_000_000;
        let now = self.now;
        let entry = self.redirects.entry(src).or_insert((0, 0));
        if now > entry.1.saturating_add(LOAD << 10) {
            *entry = (0, entry.1);
        }
        if entry.0 >= 9 {
            entry.1 = now;
            return;
        }
        if entry.0 != 0 && now <= entry.1.saturating_add(LOAD << entry.0) {
            return;
        }
        entry.0 += 1;
        entry.1 = now;
        let ip = skb.ip().to_vec();
        self.send_icmp_error(&ip, 5, 1, u32::from(gw), false, skb.meta.iif, related_to(skb), run);
    }

    /// Postrouting and transmission (with fragmentation).
    fn postrouting(&mut self, skb: &mut Skb, oif: IfaceId, report: &mut PacketReport, run: &mut Run) {
        skb.meta.oif = Some(oif);
        let r = self.run_hook(Hook::Postrouting, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        let generated = skb.meta.origin.generated();
        if oif == LOOPBACK {
            report.fate = Fate::Accepted;
            report.local = true;
            run.note(report.trace_id, "sent to the host itself (lo)".into());
            return;
        }
        let mtu = self.host.iface(oif).map_or(1500, |i| i.mtu);
        let layout = skb.meta.frags.as_ref();
        match fragment(skb.ip(), layout, mtu, layout.is_some()) {
            Fragmented::Whole => {
                let r = self.egress_hook(oif, skb, report, run);
                if !self.finish_hook(r, skb, report, run) {
                    return;
                }
                // Transmission is the last thing that happens to the skb.
                run.emitted.push(Emitted { oif, bytes: skb.take_ip(), kind: EmitKind::Packet, generated });
            }
            Fragmented::Pieces(pieces) => {
                run.note(report.trace_id, format!("fragmented into {} pieces", pieces.len()));
                let egress = self.plan.device_chains(Hook::Egress, self.host.name(oif)).next().is_some();
                for bytes in pieces {
                    if !egress {
                        run.emitted.push(Emitted { oif, bytes, kind: EmitKind::Fragment, generated });
                        continue;
                    }
                    // Each fragment leaves the device on its own, through its egress hook.
                    let mut piece = skb.clone();
                    if piece.replace_ip(&bytes).is_err() {
                        continue;
                    }
                    match self.egress_hook(oif, &mut piece, report, run) {
                        HookResult::Accept => run.emitted.push(Emitted {
                            oif,
                            bytes: piece.take_ip(),
                            kind: EmitKind::Fragment,
                            generated,
                        }),
                        _ => run.note(report.trace_id, "a fragment dropped at egress".into()),
                    }
                }
            }
            Fragmented::TooBig { mtu } => {
                let copy = skb.ip().to_vec();
                let (k, c) = if skb.is_v4() { (3, 4) } else { (2, 0) };
                let rest = if skb.is_v4() { mtu & 0xffff } else { mtu };
                self.send_icmp_error(&copy, k, c, rest, false, skb.meta.iif, related_to(skb), run);
                report.fate = Fate::Dropped("packet too big for the out interface".into());
                return;
            }
        }
        report.oif = Some(oif);
        report.fate = Fate::Accepted;
    }

    /// A packet the host generated: output, routing, postrouting.
    pub(crate) fn send_local(
        &mut self,
        packet: Vec<u8>,
        kind: Generated,
        attach: Option<Tracked>,
        run: &mut Run,
    ) {
        self.send_local_via(packet, kind, None, run, |skb| {
            if let Some(t) = attach {
                skb.meta.ct.tracked = Some(t);
                skb.meta.ct.attached = true;
            }
        });
    }

    /// [`Pipeline::send_local`] out of `via` when a route already chose the device (else
    /// routed by destination), `prepare` setting up the packet's metadata first.
    pub(crate) fn send_local_via(
        &mut self,
        packet: Vec<u8>,
        kind: Generated,
        via: Option<IfaceId>,
        run: &mut Run,
        prepare: impl FnOnce(&mut Skb),
    ) {
        self.generate(packet, kind, run, |p, skb, report, run| {
            prepare(skb);
            p.output_path(skb, via, report, run);
        });
    }

    /// A packet the host generates: its own report and trace id, nested under the packet in
    /// flight (its own conntrack pending set, a bound on the depth), `send` taking it on.
    pub(crate) fn generate(
        &mut self,
        packet: Vec<u8>,
        kind: Generated,
        run: &mut Run,
        send: impl FnOnce(&mut Pipeline, &mut Skb, &mut PacketReport, &mut Run),
    ) {
        if run.depth >= MAX_DEPTH {
            return;
        }
        run.depth += 1;
        let id = self.trace_id();
        let mut report = PacketReport::new(id, Some(kind));
        let floor = self.ct.nest();
        match Skb::local(packet, kind) {
            Ok(mut skb) => send(self, &mut skb, &mut report, run),
            Err(e) => report.fate = Fate::Dropped(format!("generated packet does not parse: {e}")),
        }
        self.ct.unnest(floor);
        run.generated.push(report);
        run.depth -= 1;
    }

    fn output_path(&mut self, skb: &mut Skb, via: Option<IfaceId>, report: &mut PacketReport, run: &mut Run) {
        let Some(oif) = via.or_else(|| self.host.route_output(skb.info.dst_addr).map(|(oif, _)| oif)) else {
            report.fate = Fate::Dropped("no route for a host-generated packet".into());
            return;
        };
        skb.meta.oif = Some(oif);
        let (dst, mark) = (skb.info.dst_addr, skb.meta.mark);
        let r = self.run_hook(Hook::Output, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        let mut oif = oif;
        if skb.info.dst_addr != dst || skb.meta.mark != mark {
            match self.host.route_output(skb.info.dst_addr) {
                Some((o, _)) => oif = o,
                None => {
                    self.drop_packet(skb, report, run, "no route after output rerouting");
                    return;
                }
            }
        }
        self.postrouting(skb, oif, report, run);
    }

    /// Sends an ICMP/ICMPv6 error about the IP packet `ip` (`icmp_send` / `icmp6_send`).
    /// `local_dst`: the packet was addressed to the host (the error comes from that
    /// address). `iif`: where the packet came in; an ICMPv6 error about a packet that is not
    /// the host's own takes its source from that interface's addresses, as `icmp6_send` does
    /// when the route has no preferred source (an IPv4 error takes the route's, as Linux does
    /// with `icmp_errors_use_inbound_ifaddr` off).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_icmp_error(
        &mut self,
        ip: &[u8],
        kind: u8,
        code: u8,
        rest: u32,
        local_dst: bool,
        iif: Option<IfaceId>,
        attach: Option<Tracked>,
        run: &mut Run,
    ) {
        let v4 = ip.first().is_some_and(|b| b >> 4 == 4);
        if !reply::may_send_error(ip, false, !v4 && kind == 2) {
            return;
        }
        let (src, dst) = match v4 {
            true if ip.len() >= 20 => (
                IpAddr::from([ip[12], ip[13], ip[14], ip[15]]),
                IpAddr::from([ip[16], ip[17], ip[18], ip[19]]),
            ),
            false if ip.len() >= 40 => {
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&ip[8..24]);
                d.copy_from_slice(&ip[24..40]);
                (IpAddr::from(s), IpAddr::from(d))
            }
            _ => return,
        };
        let from = if (v4 && local_dst) || (!v4 && self.host.is_local(dst)) {
            Some(dst)
        } else {
            let Some((_, routed)) = self.host.route_output(src) else { return };
            let inbound = iif
                .filter(|i| !v4 && *i != LOOPBACK)
                .and_then(|i| self.host.iface(i))
                .and_then(|i| i.select_addr(src));
            inbound.or(routed)
        };
        let Some(from) = from else { return };
        let id = self.ip_id();
        if let Some(p) = reply::icmp_error(ip, kind, code, rest, from, id) {
            let attach = attach.map(|t| Tracked { icmp_error: Some(kind), ..t });
            self.send_local(p, Generated::IcmpError { kind, code }, attach, run);
        }
    }

    /// An ICMP error a target asked for (`icmp_send`/`icmpv6_send` from the target: the
    /// packet as the target left it is quoted, whatever its transport checksum).
    pub(crate) fn send_target_error(&mut self, req: IcmpErrorRequest, hook: Hook, skb: &Skb, run: &mut Run) {
        let ip = skb.ip().to_vec();
        self.send_icmp_error(
            &ip,
            req.kind,
            req.code,
            req.rest,
            hook == Hook::Input,
            skb.meta.iif,
            related_to(skb),
            run,
        );
    }

    /// Carries out a `reject` statement for the packet in `skb` at `hook`.
    pub(crate) fn send_reject(&mut self, req: RejectRequest, hook: Hook, skb: &Skb, run: &mut Run) {
        let ip = skb.ip().to_vec();
        let info = skb.info;
        let v4 = skb.is_v4();
        let Some(view) = info.ct else { return };
        let th = view.dataoff - info.nhoff;
        if info.fragoff != 0 {
            return;
        }
        let to_group =
            matches!(self.host.addr_type(info.dst_addr, None), AddrType::Broadcast | AddrType::Multicast);
        let csum = super::l4::checksum_ok(&ip, info.src_addr, info.dst_addr, view.protonum, th);
        match req.kind {
            1 => {
                if view.protonum != 6 || !csum || to_group {
                    return;
                }
                if !v4 && (info.src_addr.is_multicast() || info.dst_addr.is_multicast()) {
                    return;
                }
                let Some(p) = reply::tcp_reset(&ip, th, reply::ResetBy::Reject) else { return };
                let attach = related_to(skb);
                self.send_local(p, Generated::TcpReset, attach, run);
                if let Some(conn) = skb.meta.ct.tracked.and_then(|t| t.conn) {
                    self.ct.set_closing(conn, self.now);
                }
            }
            kind => {
                if !csum && matches!(view.protonum, 6 | 17 | 1 | 58) {
                    return;
                }
                let code = if kind == 2 { icmpx_code(req.code, v4) } else { req.code };
                let icmp_kind = if v4 { 3 } else { 1 };
                let local = hook == Hook::Input;
                self.send_icmp_error(&ip, icmp_kind, code, 0, local, skb.meta.iif, related_to(skb), run);
            }
        }
    }
}

/// The IP layer dropped a packet that is not a valid IP packet (`e` says why).
pub(crate) fn not_ip(report: &mut PacketReport, run: &mut Run, e: &ParseError) {
    report.fate = Fate::Dropped(format!("not a valid IP packet: {e}"));
    run.note(report.trace_id, format!("dropped by the IP layer: {e}"));
}
