//! Fuzz target: the packet dissector for every link type, every protocol view's getters and
//! option/chunk walkers, checksum verification, and the rewrite helpers (NAT manip, field
//! setters, TTL decrement, ICMP error translation, `payload write`) on whatever parses. None
//! of them may panic, overflow or hang; a rewrite of a packet whose IPv4 header checksum was
//! valid must leave it valid (incremental updates, RFC 1624).
//!
//! Input: byte 0 picks the link type and options, bytes 1..9 drive the rewrites, the rest is
//! the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nftvm_runtime::checksum;
use nftvm_runtime::packet::arp::ArpPacket;
use nftvm_runtime::packet::ethernet::EthernetFrame;
use nftvm_runtime::packet::gre::GrePacket;
use nftvm_runtime::packet::icmpv4::Icmpv4Packet;
use nftvm_runtime::packet::icmpv6::Icmpv6Packet;
use nftvm_runtime::packet::ipv4::Ipv4Packet;
use nftvm_runtime::packet::ipv6::Ipv6Packet;
use nftvm_runtime::packet::ipv6_chain::{self, FindFlags};
use nftvm_runtime::packet::ipv6_ext::Ipv6ExtHeader;
use nftvm_runtime::packet::payload_write::{L4Context, PayloadWrite, payload_write};
use nftvm_runtime::packet::rewrite::{self, Side};
use nftvm_runtime::packet::sctp::SctpPacket;
use nftvm_runtime::packet::tcp::{self, TcpOptions, TcpPacket, TcpRepr};
use nftvm_runtime::packet::udp::UdpPacket;
use nftvm_runtime::packet::udplite::UdpLitePacket;
use nftvm_runtime::packet::vlan::VlanTag;
use nftvm_runtime::packet::{DissectOptions, IpVersion, LinkType, PacketInfo, Tuple, TupleL4, dissect_with};
use nftvm_vm::keys::PayloadBase;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const LINKS: [LinkType; 8] = [
    LinkType::Raw,
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::Other(147),
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (knobs, frame) = rest.split_at(rest.len().min(8));
    let mut k = [0u8; 8];
    k[..knobs.len()].copy_from_slice(knobs);
    let link = LINKS[usize::from(mode & 7)];
    let options = DissectOptions { verify_ipv4_checksum: mode & 8 == 0 };

    // Every view over the raw bytes, checked and unchecked.
    views(frame);
    if let Ok(info) = dissect_with(frame, link, &options) {
        facts(frame, &info);
        rewrites(frame, &info, &k, options.verify_ipv4_checksum);
    }
});

/// Every getter of every view, over bytes that may not be that protocol at all.
fn views(b: &[u8]) {
    let eth = EthernetFrame::new_unchecked(b);
    black_box((eth.dst_addr(), eth.src_addr(), eth.ethertype(), eth.payload().len()));
    let _ = EthernetFrame::new_checked(b);
    let vlan = VlanTag::new_unchecked(b);
    black_box((vlan.tci(), vlan.priority(), vlan.dei(), vlan.vlan_id(), vlan.ethertype(), vlan.payload()));
    arp(&ArpPacket::new_unchecked(b));
    if let Ok(a) = ArpPacket::new_checked(b) {
        arp(&a);
    }
    ipv4(&Ipv4Packet::new_unchecked(b));
    if let Ok(p) = Ipv4Packet::new_header_checked(b) {
        ipv4(&p);
    }
    ipv6(&Ipv6Packet::new_unchecked(b));
    let _ = Ipv6Packet::new_header_checked(b);
    for kind in [0u8, 43, 44, 51, 60, 135] {
        ext(&Ipv6ExtHeader::new_unchecked(kind, b));
        if let Ok(h) = Ipv6ExtHeader::new_checked(kind, b) {
            ext(&h);
        }
    }
    let (v4a, v4b) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2));
    let (v6a, v6b) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    transport(b, 6, IpAddr::V4(v4a), IpAddr::V4(v4b));
    for proto in [17u8, 136, 132, 1, 58, 47] {
        transport(b, proto, IpAddr::V6(v6a), IpAddr::V6(v6b));
    }
    black_box(tcp::nft_option_walk(b).count());
    black_box((checksum::checksum(b), checksum::verify(b, 0), checksum::crc32c(b)));
    black_box(checksum::sctp_checksum(b, 8));
}

fn arp<T: AsRef<[u8]>>(a: &ArpPacket<T>) {
    black_box((a.hardware_type(), a.protocol_type(), a.hardware_len(), a.protocol_len(), a.operation()));
    black_box((a.total_len(), a.sender_hardware_addr(), a.sender_protocol_addr()));
    black_box((a.target_hardware_addr(), a.target_protocol_addr()));
    let _ = nftvm_runtime::packet::arp::ArpRepr::parse(a);
}

fn ipv4<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) {
    black_box((p.version(), p.header_len(), p.tos(), p.dscp(), p.ecn(), p.total_len(), p.ident()));
    black_box((p.flags_frag(), p.dont_frag(), p.more_frags(), p.frag_offset_units(), p.frag_offset()));
    black_box((p.is_fragment(), p.ttl(), p.protocol(), p.checksum(), p.src_addr(), p.dst_addr()));
    black_box((p.options().len(), p.option_iter().count(), p.verify_checksum(), p.payload().len()));
    black_box(nftvm_runtime::packet::ipv4::Ipv4Repr::parse(p));
}

fn ipv6<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) {
    black_box((p.version(), p.traffic_class(), p.flow_label(), p.payload_len(), p.next_header()));
    black_box((p.hop_limit(), p.src_addr(), p.dst_addr(), p.total_len(), p.payload().len()));
    black_box(nftvm_runtime::packet::ipv6::Ipv6Repr::parse(p));
}

fn ext<T: AsRef<[u8]>>(h: &Ipv6ExtHeader<T>) {
    black_box((h.kind(), h.next_header(), h.len_byte(), h.header_len(), h.data().len()));
    black_box((h.options().count(), h.routing_type(), h.segments_left(), h.frag_word()));
    black_box((h.frag_offset(), h.more_frags(), h.frag_ident(), h.ah_spi(), h.ah_sequence()));
    black_box((h.mobility_type(), h.mobility_checksum()));
}

/// The views of a transport header of protocol `proto` over `seg`, with checksum checks.
fn transport(seg: &[u8], proto: u8, src: IpAddr, dst: IpAddr) {
    let (s4, d4) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s, d),
        _ => (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST),
    };
    let (s6, d6) = match (src, dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => (s, d),
        _ => (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED),
    };
    match proto {
        6 => {
            for t in
                [Some(TcpPacket::new_unchecked(seg)), TcpPacket::new_checked(seg).ok()].into_iter().flatten()
            {
                black_box((t.src_port(), t.dst_port(), t.seq_number(), t.ack_number(), t.header_len()));
                black_box((t.reserved(), t.flags(), t.has_flags(0x12), t.window_len(), t.checksum()));
                black_box((t.urgent_at(), t.options().len(), t.option_iter().count(), t.payload().len()));
                black_box((t.segment_len(), t.verify_checksum_v4(s4, d4), t.verify_checksum_v6(s6, d6)));
                black_box((TcpOptions::parse(&t).len(), TcpRepr::parse(&t).buffer_len()));
            }
        }
        17 => {
            let u = UdpPacket::new_unchecked(seg);
            black_box((u.src_port(), u.dst_port(), u.len(), u.is_empty(), u.checksum(), u.payload().len()));
            black_box((u.datagram().len(), u.verify_checksum_v4(s4, d4), u.verify_checksum_v6(s6, d6)));
            let _ = UdpPacket::new_header_checked(seg);
            if let Ok(u) = UdpPacket::new_checked(seg) {
                black_box(nftvm_runtime::packet::udp::UdpRepr::parse(&u));
            }
        }
        136 => {
            let u = UdpLitePacket::new_unchecked(seg);
            black_box((u.src_port(), u.dst_port(), u.checksum_coverage(), u.covered_len(), u.checksum()));
            black_box((u.payload().len(), u.verify_checksum_v4(s4, d4), u.verify_checksum_v6(s6, d6)));
            let _ = UdpLitePacket::new_header_checked(seg);
            let _ = UdpLitePacket::new_checked(seg);
        }
        132 => {
            let s = SctpPacket::new_unchecked(seg);
            black_box((s.src_port(), s.dst_port(), s.verification_tag(), s.checksum_bytes()));
            black_box((s.chunks().count(), s.verify_checksum()));
            let _ = SctpPacket::new_checked(seg);
        }
        1 => {
            let i = Icmpv4Packet::new_unchecked(seg);
            black_box((i.msg_type(), i.code(), i.checksum(), i.rest_of_header(), i.ident(), i.seq_no()));
            black_box((i.next_hop_mtu(), i.pointer(), i.is_error(), i.data().len(), i.verify_checksum()));
            if let Ok(i) = Icmpv4Packet::new_checked(seg) {
                black_box(nftvm_runtime::packet::icmpv4::Icmpv4Repr::parse(&i).buffer_len());
            }
        }
        58 => {
            let i = Icmpv6Packet::new_unchecked(seg);
            black_box((i.msg_type(), i.code(), i.checksum(), i.body_word(), i.ident(), i.seq_no()));
            black_box((i.mtu(), i.is_error(), i.data().len(), i.verify_checksum(s6, d6)));
            if let Ok(i) = Icmpv6Packet::new_checked(seg) {
                black_box(nftvm_runtime::packet::icmpv6::Icmpv6Repr::parse(&i).buffer_len());
            }
        }
        47 => {
            let g = GrePacket::new_unchecked(seg);
            black_box((g.flags(), g.version(), g.protocol(), g.header_len(), g.key(), g.pptp_call_id()));
            black_box(g.payload().len());
            let _ = GrePacket::new_checked(seg);
        }
        _ => {}
    }
}

/// Everything the dissection result offers, and the views at the offsets it names.
fn facts(frame: &[u8], info: &PacketInfo) {
    black_box(format!("{info:?}"));
    black_box((info.transport_offset(), info.link_offset(), info.network_len(), info.ethertype()));
    for base in [PayloadBase::Link, PayloadBase::Network, PayloadBase::Transport, PayloadBase::Inner] {
        black_box(info.payload_base(base));
    }
    if let Some(t) = info.tuple() {
        black_box((t.to_string(), t.src_port(), t.dst_port()));
    }
    if let Some(t) = &info.transport {
        black_box(t.ports());
    }
    if let Some(e) = &info.transport_error {
        black_box(e.to_string());
    }
    assert!(info.nhoff <= info.network_end && info.network_end <= frame.len(), "offsets out of the frame");
    let packet = &frame[..info.network_end];
    let ip = &packet[info.nhoff..];
    match info.ip_version {
        IpVersion::V4 => ipv4(&Ipv4Packet::new_unchecked(ip)),
        IpVersion::V6 => {
            ipv6(&Ipv6Packet::new_unchecked(ip));
            for h in info.ext_headers.as_slice() {
                ext(&Ipv6ExtHeader::new_unchecked(h.kind, packet.get(h.offset..).unwrap_or(&[])));
                let _ =
                    black_box(ipv6_chain::find_hdr(packet, info.nhoff, Some(h.kind), FindFlags::default()));
            }
            for flags in [FindFlags::default(), FindFlags::PKTINFO, FindFlags { auth: false, skip_rh: true }]
            {
                let _ = black_box(ipv6_chain::find_hdr(packet, info.nhoff, None, flags));
                let _ = black_box(ipv6_chain::find_hdr(packet, info.nhoff, Some(43), flags));
            }
        }
    }
    if let Some(proto) = info.l4proto {
        transport(packet.get(info.thoff..).unwrap_or(&[]), proto, info.src_addr, info.dst_addr);
    }
    if let Some(err) = &info.icmp_error {
        black_box(err.inner.and_then(|v| v.tuple).map(|t| t.to_string()));
    }
}

/// Rewrites on a copy of the IP packet, as NAT, `payload write` and forwarding do them.
fn rewrites(frame: &[u8], info: &PacketInfo, k: &[u8; 8], header_checksum_was_valid: bool) {
    let base = frame[..info.network_end].to_vec();
    let side = if k[0] & 1 == 0 { Side::Source } else { Side::Destination };
    let port = u16::from_be_bytes([k[1], k[2]]);
    let addr = match info.ip_version {
        IpVersion::V4 => IpAddr::V4(Ipv4Addr::new(k[3], k[4], k[5], k[6])),
        IpVersion::V6 => {
            IpAddr::V6(Ipv6Addr::new(u16::from(k[3]), 0, 0, 0, 0, 0, u16::from(k[4]), u16::from(k[5])))
        }
    };
    let v4_header_ok =
        |p: &[u8]| Ipv4Packet::new_unchecked(p.get(info.nhoff..).unwrap_or(&[])).verify_checksum();
    let check = |p: &[u8], what: &str| {
        if info.ip_version == IpVersion::V4 && header_checksum_was_valid && !what.is_empty() {
            assert!(v4_header_ok(p), "{what} broke a valid IPv4 header checksum");
        }
        let _ = dissect_with(p, info.link.map_or(LinkType::Raw, |l| l.link_type), &DissectOptions::default());
    };

    let mut p = base.clone();
    if rewrite::set_addr(&mut p, info.nhoff, side, addr).is_ok() {
        check(&p, "set_addr");
    }
    let mut p = base.clone();
    if rewrite::set_port(&mut p, info.nhoff, side, port).is_ok() {
        check(&p, "set_port");
    }
    let mut p = base.clone();
    if rewrite::set_icmp_id(&mut p, info.nhoff, port).is_ok() {
        check(&p, "set_icmp_id");
    }
    let mut p = base.clone();
    if rewrite::decrement_ttl(&mut p, info.nhoff).is_ok() {
        check(&p, "decrement_ttl");
    }
    // NAT manip to a target derived from the packet's own tuple (or a made-up one).
    let target = info.tuple().map_or(
        Tuple { src: addr, dst: addr, protocol: k[7], l4: TupleL4::Ports { src: port, dst: !port } },
        |mut t| {
            t.src = addr;
            t.l4 = match t.l4 {
                TupleL4::Ports { dst, .. } => TupleL4::Ports { src: port, dst },
                TupleL4::Icmp { kind, code, .. } => TupleL4::Icmp { id: port, kind, code },
                other => other,
            };
            t
        },
    );
    let mut p = base.clone();
    if rewrite::manip(&mut p, info.nhoff, info.ip_version, &target, side).is_ok() {
        check(&p, "manip");
    }
    if let Some(err) = &info.icmp_error {
        let inner = err.inner.and_then(|v| v.tuple).unwrap_or(target);
        let mut p = base.clone();
        let icmp_off = err.inner_nhoff - 8;
        if rewrite::icmp_error_translate(
            &mut p,
            info.nhoff,
            icmp_off,
            (&inner, side.opposite()),
            (&target, side),
        )
        .is_ok()
        {
            check(&p, "icmp_error_translate");
        }
    }
    // payload write at a fuzz-chosen offset, with every checksum option.
    let mut p = base;
    let offset = usize::from(k[1]) + if k[0] & 2 == 0 { info.nhoff } else { info.thoff };
    let bytes = &k[2..2 + usize::from(k[0] >> 5).min(6)];
    let write = PayloadWrite {
        offset,
        bytes,
        inet_csum_offset: (k[0] & 4 != 0).then_some(info.thoff + usize::from(k[7] & 0x1f)),
        l4_pseudo_header: k[0] & 8 != 0,
        sctp_crc: k[0] & 16 != 0,
    };
    let _ = payload_write(&mut p, &write, &L4Context::from(info));
    check(&p, ""); // a payload write may change the IPv4 header without a checksum update
}
