//! Malformed and truncated packets never panic: a seeded generator builds valid packets of
//! every kind the builder knows, damages them (truncation, bit flips, extreme bytes, random
//! tails, pure noise), and feeds them to every parser, walker and rewriter of the packet
//! layer. Passing means no panic and the dissector's structural invariants holding.
//! `NFTVM_FUZZ_CASES` and `NFTVM_FUZZ_SEED` change the amount and the seed.

mod packet_support;

use nftvm_runtime::packet::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use nftvm_runtime::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::ipv4::{Ipv4Packet, Ipv4Repr};
use nftvm_runtime::packet::ipv6::{Ipv6Packet, Ipv6Repr};
use nftvm_runtime::packet::ipv6_chain::{self, FindFlags};
use nftvm_runtime::packet::ipv6_ext::Ipv6ExtHeader;
use nftvm_runtime::packet::payload_write::{L4Context, PayloadWrite, payload_write};
use nftvm_runtime::packet::rewrite::{self, Side};
use nftvm_runtime::packet::sctp::SctpPacket;
use nftvm_runtime::packet::tcp::{self, TcpPacket, TcpRepr};
use nftvm_runtime::packet::udp::UdpPacket;
use nftvm_runtime::packet::udplite::UdpLitePacket;
use nftvm_runtime::packet::{
    DissectOptions, IpVersion, LinkType, PacketInfo, Tuple, TupleL4, arp, dissect_with, ethernet, gre, vlan,
};
use packet_support::{Rng, mutate, random_frame};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const LINK_TYPES: [LinkType; 8] = [
    LinkType::Raw,
    LinkType::Ethernet,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Other(999),
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every view over `data`, with every accessor that walks variable-length parts.
fn views(data: &[u8]) {
    if let Ok(ip) = Ipv4Packet::new_header_checked(data) {
        let _ = Ipv4Repr::parse(&ip);
        let _ = ip.option_iter().count();
        let _ = (ip.payload().len(), ip.verify_checksum());
    }
    if let Ok(ip) = Ipv6Packet::new_header_checked(data) {
        let _ = (Ipv6Repr::parse(&ip), ip.payload().len());
        for kind in
            [protocol::HOPOPTS, protocol::ROUTING, protocol::FRAGMENT, protocol::AH, protocol::DSTOPTS]
        {
            let _ = ipv6_chain::find_hdr(data, 0, Some(kind), FindFlags { auth: false, skip_rh: true });
        }
        let _ = ipv6_chain::find_hdr(data, 0, None, FindFlags::PKTINFO);
        let _ = ipv6_chain::skip_exthdr(data, 40, ip.next_header());
        let _ = ipv6_chain::walk(data, 0);
    }
    for kind in [protocol::HOPOPTS, protocol::ROUTING, protocol::FRAGMENT, protocol::AH, protocol::MOBILITY] {
        if let Ok(h) = Ipv6ExtHeader::new_checked(kind, data) {
            let _ = (h.options().count(), h.frag_offset(), h.segments_left(), h.data().len());
        }
    }
    if let Ok(t) = TcpPacket::new_checked(data) {
        let _ = TcpRepr::parse(&t);
        let _ = (t.option_iter().count(), t.segment_len());
        let _ = t.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::BROADCAST);
    }
    let _ = tcp::nft_option_walk(data).count();
    if let Ok(u) = UdpPacket::new_header_checked(data) {
        let _ = (u.payload().len(), u.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED));
    }
    if let Ok(u) = UdpLitePacket::new_header_checked(data) {
        let _ = (u.covered_len(), u.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
    }
    if let Ok(s) = SctpPacket::new_checked(data) {
        let _ = (s.chunks().count(), s.verify_checksum());
    }
    if let Ok(i) = Icmpv4Packet::new_checked(data) {
        let _ = (Icmpv4Repr::parse(&i), i.verify_checksum());
    }
    if let Ok(i) = Icmpv6Packet::new_checked(data) {
        let _ = (Icmpv6Repr::parse(&i), i.verify_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
    }
    if let Ok(g) = gre::GrePacket::new_checked(data) {
        let _ = (g.payload().len(), g.key());
    }
    if let Ok(a) = arp::ArpPacket::new_checked(data) {
        let _ = arp::ArpRepr::parse(&a);
    }
    if let Ok(e) = ethernet::EthernetFrame::new_checked(data) {
        let _ = ethernet::EthernetRepr::parse(&e);
    }
    if let Ok(v) = vlan::VlanTag::new_checked(data) {
        let _ = v.vlan_id();
    }
    // Unchecked views over whatever is there must not panic either.
    let t = TcpPacket::new_unchecked(data);
    let _ = (t.options().len(), t.payload().len(), t.option_iter().count());
    let ip = Ipv4Packet::new_unchecked(data);
    let _ = (ip.options().len(), ip.payload().len());
}

/// The dissector's structural promises.
fn check_invariants(info: &PacketInfo, frame: &[u8]) {
    assert!(info.nhoff <= info.network_end && info.network_end <= frame.len());
    if info.ip_version == IpVersion::V4 {
        assert!(info.thoff <= info.network_end);
        assert!(info.ext_headers.as_slice().is_empty());
    }
    if info.transport.is_some() {
        assert_eq!(info.fragoff, 0);
        assert!(info.l4proto.is_some());
    }
    for h in info.ext_headers.as_slice() {
        assert!(h.offset + h.len <= info.network_end);
    }
    if let Some(icmp) = info.icmp_error {
        assert!(icmp.inner_nhoff <= info.network_end);
    }
}

/// Rewrites and payload writes on a copy of the IP packet.
fn rewrites(rng: &mut Rng, info: &PacketInfo, frame: &[u8]) {
    let mut packet = frame[..info.network_end].to_vec();
    let nhoff = info.nhoff;
    let v6 = info.ip_version == IpVersion::V6;
    let addr = if v6 { IpAddr::V6(rng.ipv6()) } else { IpAddr::V4(rng.ipv4()) };
    let side = if rng.chance(50) { Side::Source } else { Side::Destination };
    let _ = rewrite::set_addr(&mut packet, nhoff, side, addr);
    let _ = rewrite::set_port(&mut packet, nhoff, side, rng.u16());
    let _ = rewrite::set_icmp_id(&mut packet, nhoff, rng.u16());
    let _ = rewrite::decrement_ttl(&mut packet, nhoff);
    let protocol = *rng.pick(&[
        protocol::TCP,
        protocol::UDP,
        protocol::UDPLITE,
        protocol::SCTP,
        protocol::ICMP,
        protocol::ICMPV6,
        protocol::GRE,
        99,
    ]);
    let (a, b) = (rng.u16(), rng.u16());
    let choices = [
        TupleL4::Ports { src: a, dst: b },
        TupleL4::Icmp { id: a, kind: 8, code: 0 },
        TupleL4::Gre { src_key: a, dst_key: b },
        TupleL4::None,
    ];
    let l4 = *rng.pick(&choices);
    let target = Tuple { src: addr, dst: addr, protocol, l4 };
    let version = if rng.chance(90) { info.ip_version } else { IpVersion::V4 };
    let _ = rewrite::manip(&mut packet, nhoff, version, &target, side);
    if let Some(icmp) = info.icmp_error {
        let icmp_off = icmp.inner_nhoff.saturating_sub(8);
        let _ = rewrite::icmp_error_translate(
            &mut packet,
            nhoff,
            icmp_off,
            (&target, side),
            (&target, side.opposite()),
        );
    }
    let len = rng.below(20);
    let bytes = rng.bytes(len);
    let write = PayloadWrite {
        offset: rng.below(packet.len() + 8),
        bytes: &bytes,
        inet_csum_offset: rng.chance(50).then(|| rng.below(packet.len() + 4)),
        l4_pseudo_header: rng.chance(50),
        sctp_crc: rng.chance(30),
    };
    let _ = payload_write(&mut packet, &write, &L4Context::from(info));
    // The quoted packet of an ICMP error, too.
    if let Some(inner) = info.icmp_error.and_then(|i| packet.get(i.inner_nhoff..)) {
        views(inner);
    }
}

fn exercise(rng: &mut Rng, frame: &[u8]) -> bool {
    let mut dissected = false;
    for link in LINK_TYPES {
        for verify in [true, false] {
            let options = DissectOptions { verify_ipv4_checksum: verify };
            match dissect_with(frame, link, &options) {
                Ok(info) => {
                    check_invariants(&info, frame);
                    let start = info.transport_offset().unwrap_or(info.thoff);
                    views(frame.get(start..info.network_end).unwrap_or(&[]));
                    views(&frame[info.nhoff..info.network_end]);
                    if verify {
                        rewrites(rng, &info, frame);
                    }
                    dissected = true;
                }
                Err(e) => {
                    let _ = e.to_string();
                    assert!(
                        e.offset <= frame.len() + 64,
                        "error offset {} for a {}-byte frame",
                        e.offset,
                        frame.len()
                    );
                }
            }
        }
    }
    // Views at a few arbitrary offsets.
    for _ in 0..3 {
        let at = rng.below(frame.len() + 1);
        views(&frame[at..]);
    }
    dissected
}

#[test]
fn malformed_and_truncated_packets_never_panic() {
    let cases = env_number("NFTVM_FUZZ_CASES", 120_000);
    let seed = env_number("NFTVM_FUZZ_SEED", 0x00f0_0d5e_ed00);
    let mut rng = Rng::new(seed);
    let mut dissected = 0u64;
    for case in 0..cases {
        let (mut frame, _) = random_frame(&mut rng);
        // One in eight stays intact; the rest are damaged.
        if case % 8 != 0 {
            mutate(&mut rng, &mut frame);
        }
        dissected += u64::from(exercise(&mut rng, &frame));
    }
    println!("{cases} cases (seed {seed:#x}), {dissected} dissected as IP");
    // The generator must keep producing mostly parseable input, or the test proves little.
    assert!(dissected * 4 > cases, "only {dissected} of {cases} cases were IP");
}

#[test]
fn pure_noise_never_panics() {
    let mut rng = Rng::new(env_number("NFTVM_FUZZ_SEED", 7) ^ 0x5555);
    for _ in 0..env_number("NFTVM_FUZZ_CASES", 120_000) / 4 {
        let mut frame = rng.bytes_upto(100);
        // Give noise a plausible start now and then, so it gets past the first checks.
        if rng.chance(50) && !frame.is_empty() {
            frame[0] = *rng.pick(&[0x45, 0x46, 0x4f, 0x60]);
        }
        exercise(&mut rng, &frame);
    }
}
