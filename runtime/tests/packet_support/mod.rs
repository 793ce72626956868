//! Shared support for the packet-layer tests: a seeded random generator, a generator of
//! random (valid) packets built with `PacketBuilder`, mutations that make them malformed, and
//! a from-scratch checksum recomputation to compare incremental updates against.
#![allow(dead_code)]

use nftvm_runtime::checksum;
use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::tcp::flags;
use nftvm_runtime::packet::{DissectOptions, IpVersion, LinkType, PacketBuilder, dissect_with};
use std::net::IpAddr;

pub use nftvm_testkit::Rng;

/// A random IPv4 or IPv6 builder with random network-layer options.
pub fn random_network(rng: &mut Rng, v6: bool) -> PacketBuilder {
    if v6 {
        let mut b =
            PacketBuilder::ipv6(rng.ipv6(), rng.ipv6()).ttl(rng.u8()).tos(rng.u8()).flow_label(rng.u32());
        for _ in 0..rng.below(3) {
            b = match rng.below(4) {
                0 => b.hop_by_hop(&[5, 2, 0, 0]),
                1 => b.dest_options(&[1, 1, 0]),
                2 => b.routing(rng.below(5) as u8, rng.below(3) as u8, &rng.bytes(16)),
                _ => b.auth_header(rng.u32(), rng.u32(), &rng.bytes(4)),
            };
        }
        b
    } else {
        let mut b = PacketBuilder::ipv4(rng.ipv4(), rng.ipv4()).ttl(rng.u8()).tos(rng.u8()).ident(rng.u16());
        if rng.chance(30) {
            b = b.dont_frag();
        }
        if rng.chance(15) {
            let options: &[&[u8]] =
                &[&[1, 148, 4, 0, 0], &[7, 7, 4, 0, 0, 0, 0], &[1, 1, 1, 1], &[68, 4, 5, 0]];
            b = b.ipv4_options(options[rng.below(options.len())]);
        }
        b
    }
}

/// Add a random transport to `b`.
pub fn random_transport(rng: &mut Rng, b: PacketBuilder, v6: bool, depth: usize) -> PacketBuilder {
    let payload = rng.bytes_upto(48);
    let b = match rng.below(if depth > 0 { 8 } else { 9 }) {
        0 | 1 => {
            let flag_sets = [
                flags::SYN,
                flags::SYN | flags::ACK,
                flags::ACK,
                flags::FIN | flags::ACK,
                flags::RST,
                flags::PSH | flags::ACK,
            ];
            let mut t = b
                .tcp(rng.u16(), rng.u16())
                .flags(*rng.pick(&flag_sets))
                .seq(rng.u32())
                .ack(rng.u32())
                .window(rng.u16());
            if rng.chance(40) {
                t = t.mss(rng.u16()).window_scale(rng.below(15) as u8).sack_permitted();
            }
            if rng.chance(40) {
                t = t.timestamps(rng.u32(), rng.u32());
            }
            if rng.chance(15) {
                t = t.sack(&[(rng.u32(), rng.u32()), (rng.u32(), rng.u32())]);
            }
            t
        }
        2 => {
            let u = b.udp(rng.u16(), rng.u16());
            if !v6 && rng.chance(20) { u.no_checksum() } else { u }
        }
        3 => b.udplite(rng.u16(), rng.u16(), *rng.pick(&[0u16, 8, 12])),
        4 => {
            b.sctp(rng.u16(), rng.u16(), rng.u32()).chunk(rng.below(15) as u8, rng.u8(), &rng.bytes_upto(20))
        }
        5 => b.icmp_echo_request(rng.u16(), rng.u16()),
        6 => b.icmp_echo_reply(rng.u16(), rng.u16()),
        7 => b.gre(*rng.pick(&[0x0800u16, 0x86dd])),
        _ => {
            // An ICMP error quoting another random packet of the same family.
            let inner = random_packet_of(rng, v6, depth + 1).build();
            let kind = if v6 { *rng.pick(&[1u8, 2, 3, 4]) } else { *rng.pick(&[3u8, 4, 5, 11, 12]) };
            let limit = *rng.pick(&[28usize, 48, 68, 2000]);
            return b.icmp_error(kind, rng.below(5) as u8, &inner).quote_limit(limit);
        }
    };
    b.payload(&payload)
}

/// A random valid IP packet builder of one family.
pub fn random_packet_of(rng: &mut Rng, v6: bool, depth: usize) -> PacketBuilder {
    let b = random_network(rng, v6);
    random_transport(rng, b, v6, depth)
}

/// A random valid packet builder (either family, sometimes on Ethernet with VLAN tags).
pub fn random_builder(rng: &mut Rng) -> PacketBuilder {
    let v6 = rng.chance(50);
    let mut b = random_packet_of(rng, v6, 0);
    if rng.chance(30) {
        b = b.ethernet([2, 0, 0, 0, 0, rng.u8()], [2, 0, 0, 0, 0, rng.u8()]);
        for _ in 0..rng.below(3) {
            b = b.vlan(rng.u16());
        }
    }
    b
}

/// A random frame: a built packet (sometimes one fragment of it) and its link type.
pub fn random_frame(rng: &mut Rng) -> (Vec<u8>, LinkType) {
    let b = random_builder(rng);
    let frame = if rng.chance(10) {
        let fragments = b.build_fragments(8 + rng.below(40));
        fragments[rng.below(fragments.len())].clone()
    } else {
        b.build()
    };
    let link = if frame.first().is_some_and(|b| b >> 4 == 4 || b >> 4 == 6) {
        LinkType::Raw
    } else {
        LinkType::Ethernet
    };
    (frame, link)
}

/// Damage a frame: truncate, flip bytes, overwrite with extremes, extend, or replace entirely.
pub fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(7) {
            0 => {
                let len = rng.below(frame.len() + 1);
                frame.truncate(len);
            }
            1 | 2 => {
                if !frame.is_empty() {
                    let at = rng.below(frame.len());
                    frame[at] ^= 1 << rng.below(8);
                }
            }
            3 => {
                if !frame.is_empty() {
                    let at = rng.below(frame.len());
                    frame[at] =
                        *rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff, 0x40, 0x45, 0x60, 5, 6, 17, 44, 51, 58, 59]);
                }
            }
            4 => {
                let extra = rng.bytes_upto(16);
                frame.extend_from_slice(&extra);
            }
            5 => {
                // Damage a header-sized prefix more heavily.
                for _ in 0..4 {
                    if !frame.is_empty() {
                        let at = rng.below(frame.len().min(64));
                        frame[at] = rng.u8();
                    }
                }
            }
            _ => {
                if rng.chance(5) {
                    *frame = rng.bytes_upto(128);
                }
            }
        }
    }
}

/// Recompute, from scratch, every checksum of the IP packet `packet` (which starts with the IP
/// header): the IPv4 header checksum and the transport checksum (TCP, UDP unless zero,
/// UDP-Lite, ICMP, ICMPv6, SCTP). The oracle incremental updates are compared against.
pub fn recompute_checksums(packet: &mut [u8]) {
    let options = DissectOptions { verify_ipv4_checksum: false };
    let Ok(info) = dissect_with(packet, LinkType::Raw, &options) else { return };
    let end = info.network_end;
    if info.ip_version == IpVersion::V4 {
        let header_len = usize::from(packet[0] & 0x0f) * 4;
        packet[10..12].copy_from_slice(&[0, 0]);
        let value = checksum::checksum(&packet[..header_len]);
        packet[10..12].copy_from_slice(&value.to_be_bytes());
    }
    // NAT works on conntrack's view of the packet (IPv6 AH skipped), so recompute there.
    let Some(ct) = info.ct else { return };
    let (thoff, proto) = (ct.dataoff, ct.protonum);
    if thoff > end {
        return;
    }
    let (src, dst) = (info.src_addr, info.dst_addr);
    let field = match proto {
        protocol::TCP if end - thoff >= 20 => 16,
        protocol::UDP | protocol::UDPLITE if end - thoff >= 8 => 6,
        protocol::DCCP if end - thoff >= 12 => 6,
        protocol::ICMP | protocol::ICMPV6 if end - thoff >= 8 => 2,
        protocol::SCTP if end - thoff >= 12 => {
            let crc = checksum::sctp_checksum(&packet[thoff..end], 8);
            packet[thoff + 8..thoff + 12].copy_from_slice(&crc);
            return;
        }
        _ => return,
    };
    let at = thoff + field;
    if proto == protocol::UDP && packet[at..at + 2] == [0, 0] {
        return;
    }
    packet[at..at + 2].copy_from_slice(&[0, 0]);
    let segment = &packet[thoff..end];
    let length = segment.len() as u32;
    let pseudo = match (src, dst) {
        _ if proto == protocol::ICMP => 0,
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::pseudo_header_v4(s, d, proto, length),
        (IpAddr::V6(s), IpAddr::V6(d)) => checksum::pseudo_header_v6(s, d, proto, length),
        _ => 0,
    };
    let covered = if proto == protocol::UDPLITE {
        match u16::from_be_bytes([segment[4], segment[5]]) as usize {
            0 => segment.len(),
            n => n.min(segment.len()),
        }
    } else {
        segment.len()
    };
    let mut value = checksum::finish(checksum::sum(&segment[..covered], pseudo));
    if proto == protocol::UDP || proto == protocol::UDPLITE {
        value = checksum::udp_transmitted(value);
    }
    packet[at..at + 2].copy_from_slice(&value.to_be_bytes());
}
