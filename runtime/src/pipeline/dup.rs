//! `dup` and `fwd`: a copy of the packet sent elsewhere, or the packet itself sent out of a
//! device from a netdev hook (`nf_dup_ipv4.c`, `nf_dup_ipv6.c`, `nf_dup_netdev.c`,
//! `nft_fwd_netdev.c`).
//!
//! `dup to ADDR [device DEV]` (ip, ip6 tables): the copy is the packet as it is at that
//! statement, with the don't-fragment bit set (IPv4) and, in prerouting and input, its TTL
//! or hop limit one less; it is routed towards ADDR — out of DEV if given (see
//! [`Pipeline::dup_route`]) — and leaves as a packet of the host's own: untracked, through
//! output and postrouting, before the original goes on. A copy is not copied again (the
//! kernel's per-CPU `nf_skb_duplicated`). `dup to DEV` (netdev): the copy leaves DEV as it
//! is, through the device's egress hook. `fwd to DEV` (netdev): the packet itself does,
//! and the chain's verdict is stolen; `fwd ip to ADDR device DEV` first lowers its TTL (hop
//! limit) — a packet whose TTL is 1 or less is dropped — and breaks the rule for a packet
//! of the other family. A device that is gone drops the packet.

use std::net::IpAddr;

use nftvm_vm::keys::Hook;

use super::Pipeline;
use super::outcome::{EmitKind, Emitted, Fate, Generated, PacketReport};
use super::run::Run;
use super::skb::Skb;
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::ipv6::Ipv6Packet;
use crate::packet::rewrite;

/// The don't-fragment bit of the IPv4 flags-and-offset field.
const DONT_FRAGMENT: u16 = 0x4000;

/// Where a copy goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DupTo {
    /// Routed towards `gw`, out of the interface with index `oif` if given.
    Route { gw: IpAddr, oif: Option<u32> },
    /// Out of the interface with this index, as it is (netdev).
    Device(u32),
}

/// One copy a `dup` statement asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DupRequest {
    /// The IP packet at the statement.
    pub packet: Vec<u8>,
    pub to: DupTo,
    /// What the copy keeps of the original's metadata (`pskb_copy`).
    pub mark: u32,
    pub priority: u32,
    pub nftrace: bool,
}

/// The packet as a `fwd` statement sends it, and the interface index it leaves by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FwdRequest {
    pub packet: Vec<u8>,
    pub oif: u32,
}

/// What `fwd ip|ip6 to ADDR device DEV` does with a packet (`nft_fwd_neigh_eval`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Neigh {
    /// Sends it, its TTL (hop limit) one less, the IPv4 header checksum updated as
    /// `ip_decrease_ttl` does.
    Send(Vec<u8>),
    /// A TTL (hop limit) of 1 or 0: dropped.
    Expired,
    /// A packet of the other family: the rule breaks.
    OtherFamily,
}

/// [`Neigh`] for `packet` and the statement's family `nfproto`.
pub fn neigh_forwarded(packet: &[u8], nfproto: u8) -> Neigh {
    // At ingress the IP layer has not checked the header yet: the kernel only needs the
    // fixed header to be there.
    let ttl = match (nfproto, packet.first().map(|b| b >> 4)) {
        (2, Some(4)) if packet.len() >= 20 => Ipv4Packet::new_unchecked(packet).ttl(),
        (10, Some(6)) if packet.len() >= 40 => Ipv6Packet::new_unchecked(packet).hop_limit(),
        _ => return Neigh::OtherFamily,
    };
    if ttl <= 1 {
        return Neigh::Expired;
    }
    let mut out = packet.to_vec();
    match rewrite::decrement_ttl(&mut out, 0) {
        Ok(_) => Neigh::Send(out),
        Err(_) => Neigh::OtherFamily,
    }
}

/// What `nf_dup_ipv4` / `nf_dup_ipv6` change in the copy before routing it: IPv4 gets the
/// don't-fragment bit and (in prerouting and input) a TTL one less — the header checksum
/// then computed afresh, as `ip_local_out` does; IPv6 a hop limit one less there.
fn prepare_copy(packet: &mut [u8], hook: Hook) {
    let lower = matches!(hook, Hook::Prerouting | Hook::Input);
    match packet.first().map(|b| b >> 4) {
        Some(4) => {
            if let Ok(mut ip) = Ipv4Packet::new_header_checked(packet) {
                ip.set_flags_frag(ip.flags_frag() | DONT_FRAGMENT);
                if lower {
                    ip.set_ttl(ip.ttl().wrapping_sub(1));
                }
                ip.fill_checksum();
            }
        }
        Some(6) if lower => {
            if let Ok(mut ip) = Ipv6Packet::new_header_checked(packet) {
                ip.set_hop_limit(ip.hop_limit().wrapping_sub(1));
            }
        }
        _ => {}
    }
}

impl Pipeline {
    /// Sends the copies a chain run in `hook` asked for, unless the packet is itself a copy
    /// being sent.
    pub(crate) fn send_dups(&mut self, dups: Vec<DupRequest>, hook: Hook, run: &mut Run) {
        if run.duplicating || dups.is_empty() {
            return;
        }
        run.duplicating = true;
        for d in dups {
            self.send_dup(d, hook, run);
        }
        run.duplicating = false;
    }

    fn send_dup(&mut self, d: DupRequest, hook: Hook, run: &mut Run) {
        let DupRequest { mut packet, to, mark, priority, nftrace } = d;
        let keep = move |skb: &mut Skb| {
            skb.meta.mark = mark;
            skb.meta.priority = priority;
            skb.meta.nftrace = nftrace;
        };
        match to {
            DupTo::Device(index) => {
                let Some(oif) = self.host.iface_by_index(index) else { return };
                self.generate(packet, Generated::Dup, run, |p, skb, report, run| {
                    keep(skb);
                    p.transmit(skb, oif, report, run);
                });
            }
            DupTo::Route { gw, oif } => {
                let Some(via) = self.dup_route(gw, oif) else { return };
                prepare_copy(&mut packet, hook);
                self.send_local_via(packet, Generated::Dup, Some(via), run, |skb| {
                    keep(skb);
                    // `nf_ct_set(skb, NULL, IP_CT_UNTRACKED)`.
                    skb.meta.ct.notrack = true;
                });
            }
        }
    }

    /// The interface a copy towards `gw` leaves by: routed, or the interface with index
    /// `oif`. There an IPv4 copy goes whatever the routes say (`ip_route_output` takes a
    /// destination no route of the device covers as on link); an IPv6 copy needs a route
    /// of that device covering `gw` (a strict interface lookup), but for link-local and
    /// multicast gateways, which every device has.
    fn dup_route(&self, gw: IpAddr, oif: Option<u32>) -> Option<crate::io::IfaceId> {
        let Some(index) = oif else { return self.host.route_output(gw).map(|(oif, _)| oif) };
        let dev = self.host.iface_by_index(index)?;
        let reachable = match gw {
            IpAddr::V4(_) => true,
            IpAddr::V6(a) => {
                a.is_multicast()
                    || a.is_unicast_link_local()
                    || self.host.routes().iter().any(|r| r.iface == dev && r.prefix.contains(gw))
            }
        };
        reachable.then_some(dev)
    }

    /// Sends `skb` as a `fwd` statement left it: the packet `f` describes, out of its
    /// interface (a packet for an interface that is gone is dropped).
    pub(crate) fn send_forward(
        &mut self,
        f: FwdRequest,
        skb: &mut Skb,
        report: &mut PacketReport,
        run: &mut Run,
    ) {
        let Some(oif) = self.host.iface_by_index(f.oif) else { return };
        if skb.replace_ip(&f.packet).is_err() {
            return;
        }
        self.transmit(skb, oif, report, run);
    }

    /// `dev_queue_xmit`: the packet leaves `oif` through the device's egress hook.
    fn transmit(&mut self, skb: &mut Skb, oif: crate::io::IfaceId, report: &mut PacketReport, run: &mut Run) {
        skb.meta.oif = Some(oif);
        let r = self.egress_hook(oif, skb, report, run);
        if !self.finish_hook(r, skb, report, run) {
            return;
        }
        let generated = skb.meta.origin.generated();
        report.oif = Some(oif);
        report.fate = Fate::Accepted;
        run.emitted.push(Emitted { oif, bytes: skb.take_ip(), kind: EmitKind::Packet, generated });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum;

    #[test]
    fn a_copy_in_prerouting_gets_df_and_one_ttl_less() {
        // 10.0.1.2 → 10.0.2.2, TTL 64, no DF.
        let mut p = vec![0x45, 0, 0, 20, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2];
        let sum = checksum::checksum(&p);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut copy = p.clone();
        prepare_copy(&mut copy, Hook::Prerouting);
        assert_eq!((copy[6], copy[8]), (0x40, 63));
        assert!(checksum::verify(&copy, 0), "header checksum computed afresh");
        let mut later = p.clone();
        prepare_copy(&mut later, Hook::Forward);
        assert_eq!((later[6], later[8]), (0x40, 64));
    }

    #[test]
    fn fwd_to_a_neighbour_lowers_the_ttl_of_its_own_family_only() {
        let mut p = vec![0x45, 0, 0, 20, 0x12, 0x34, 0, 0, 2, 17, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2];
        let sum = checksum::checksum(&p);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        let Neigh::Send(out) = neigh_forwarded(&p, 2) else { panic!("sent") };
        assert_eq!(out[8], 1);
        assert!(checksum::verify(&out, 0));
        assert_eq!(neigh_forwarded(&p, 10), Neigh::OtherFamily);
        assert_eq!(neigh_forwarded(&out, 2), Neigh::Expired, "a TTL of 1 is not forwarded");
    }
}
