//! The dissector against the kernel's rules: `nft_set_pktinfo_ipv4/ipv6` (l4proto, thoff,
//! fragoff), `ipv6_find_hdr`/`ipv6_skip_exthdr`, conntrack's `get_l4proto` +
//! `nf_ct_get_tuple`, ICMP error inner tuples, and the drops of `ip_rcv_core`/`ipv6_rcv`.
//! Expected values are worked out by hand from those rules for each packet layout.

use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::ipv6_chain::{self, FindError, FindFlags};
use nftvm_runtime::packet::tcp::flags::{ACK, SYN};
use nftvm_runtime::packet::{
    DissectOptions, ErrorKind, IpVersion, LinkType, PacketBuilder, Transport, Tuple, TupleL4, dissect,
    dissect_ip, dissect_with,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const A4: [u8; 4] = [192, 0, 2, 1];
const B4: [u8; 4] = [198, 51, 100, 7];
const A6: [u16; 8] = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1];
const B6: [u16; 8] = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 2];

fn ports(src: u16, dst: u16) -> TupleL4 {
    TupleL4::Ports { src, dst }
}

#[test]
fn ipv4_tcp_offsets_and_tuple() {
    let packet = PacketBuilder::ipv4(A4, B4).tcp(40000, 80).flags(SYN).seq(7).mss(1460).build();
    let info = dissect_ip(&packet).unwrap();
    assert_eq!(info.ip_version, IpVersion::V4);
    assert_eq!((info.nhoff, info.thoff, info.network_end), (0, 20, 44));
    assert_eq!((info.l4proto, info.fragoff, info.transport_offset()), (Some(6), 0, Some(20)));
    assert!(matches!(
        info.transport,
        Some(Transport::Tcp { src_port: 40000, dst_port: 80, flags: SYN, seq: 7, header_len: 24, .. })
    ));
    let tuple = info.tuple().unwrap();
    assert_eq!(
        tuple,
        Tuple { src: IpAddr::from(A4), dst: IpAddr::from(B4), protocol: 6, l4: ports(40000, 80) }
    );
    assert_eq!(info.network_len(), 44);
    assert!(info.icmp_error.is_none() && info.fragment.is_none() && info.transport_error.is_none());
}

#[test]
fn ipv4_options_move_the_transport_header() {
    let packet = PacketBuilder::ipv4(A4, B4).ipv4_options(&[148, 4, 0, 0]).udp(53, 53).payload(b"q").build();
    let info = dissect_ip(&packet).unwrap();
    assert_eq!(info.thoff, 24);
    assert_eq!(info.ct.unwrap().dataoff, 24);
    assert!(matches!(info.transport, Some(Transport::Udp { length: 9, .. })));
}

#[test]
fn ipv4_fragments_follow_nft_set_pktinfo_ipv4() {
    let fragments = PacketBuilder::ipv4(A4, B4).ident(0x77).udp(1, 2).payload(&[9; 40]).build_fragments(16);
    assert_eq!(fragments.len(), 3, "48 bytes of UDP in 16-byte pieces");
    let first = dissect_ip(&fragments[0]).unwrap();
    assert_eq!((first.fragoff, first.transport_offset()), (0, Some(20)));
    assert!(first.transport.is_some() && first.ct.is_some());
    let frag = first.fragment.unwrap();
    assert_eq!((frag.offset, frag.more, frag.ident), (0, true, 0x77));

    let second = dissect_ip(&fragments[1]).unwrap();
    // fragoff is the raw 13-bit field (8-byte units): 16 bytes → 2.
    assert_eq!((second.l4proto, second.thoff, second.fragoff), (Some(17), 20, 2));
    assert_eq!(second.transport_offset(), None);
    assert!(
        second.transport.is_none() && second.ct.is_none(),
        "conntrack's ipv4_get_l4proto refuses later fragments"
    );
    assert_eq!(second.fragment.unwrap().offset, 16);
    let last = dissect_ip(&fragments[2]).unwrap();
    assert!(!last.fragment.unwrap().more);
}

#[test]
fn ipv6_extension_headers_are_walked_like_ipv6_find_hdr() {
    let packet = PacketBuilder::ipv6(A6, B6)
        .hop_by_hop(&[5, 2, 0, 0])
        .routing(0, 1, &[0; 16])
        .dest_options(&[])
        .tcp(1, 2)
        .flags(ACK)
        .build();
    let info = dissect_ip(&packet).unwrap();
    // 40 + HBH 8 + routing 24 + DST 8.
    assert_eq!((info.l4proto, info.thoff, info.fragoff), (Some(protocol::TCP), 80, 0));
    let kinds: Vec<_> = info.ext_headers.as_slice().iter().map(|h| (h.kind, h.offset, h.len)).collect();
    assert_eq!(kinds, vec![(0, 40, 8), (43, 48, 24), (60, 72, 8)]);
    assert_eq!(info.ct.unwrap().dataoff, 80);

    // exthdr lookups with a target.
    let find = |target, flags| ipv6_chain::find_hdr(&packet, 0, Some(target), flags);
    assert_eq!(find(protocol::ROUTING, FindFlags::default()).unwrap().offset, Some(48));
    assert_eq!(find(protocol::DSTOPTS, FindFlags::default()).unwrap().offset, Some(72));
    assert_eq!(find(protocol::FRAGMENT, FindFlags::default()), Err(FindError::NotFound));
    // IP6_FH_F_SKIP_RH: a routing header with segments left ≠ 0 still matches.
    assert_eq!(find(protocol::ROUTING, FindFlags { auth: false, skip_rh: true }).unwrap().offset, Some(48));
}

#[test]
fn ipv6_routing_header_without_segments_left_is_skipped_with_skip_rh() {
    let packet = PacketBuilder::ipv6(A6, B6).routing(0, 0, &[0; 16]).udp(1, 2).build();
    let flags = FindFlags { auth: false, skip_rh: true };
    assert_eq!(ipv6_chain::find_hdr(&packet, 0, Some(protocol::ROUTING), flags), Err(FindError::NotFound));
}

#[test]
fn ipv6_ah_is_the_l4proto_for_nft_but_skipped_by_conntrack() {
    let packet = PacketBuilder::ipv6(A6, B6).auth_header(0x100, 1, &[0; 4]).tcp(5, 6).build();
    let info = dissect_ip(&packet).unwrap();
    // nft_set_pktinfo_ipv6 passes IP6_FH_F_AUTH: the walk stops at AH.
    assert_eq!((info.l4proto, info.thoff), (Some(protocol::AH), 40));
    assert!(matches!(info.transport, Some(Transport::Other)));
    // ipv6_skip_exthdr skips AH ((2 + 2) * 4 = 16 bytes).
    let ct = info.ct.unwrap();
    assert_eq!((ct.protonum, ct.dataoff), (protocol::TCP, 56));
    assert_eq!(ct.tuple.unwrap().l4, ports(5, 6));
}

#[test]
fn ipv6_fragments_follow_nft_set_pktinfo_ipv6() {
    let b = PacketBuilder::ipv6(A6, B6).hop_by_hop(&[]).udp(7, 8).payload(&[1; 30]).fragment(0, true, 0xabcd);
    let first = dissect_ip(&b.build()).unwrap();
    assert_eq!((first.l4proto, first.thoff, first.fragoff), (Some(protocol::UDP), 56, 0));
    let frag = first.fragment.unwrap();
    assert_eq!((frag.offset, frag.more, frag.ident, frag.header_offset), (0, true, 0xabcd, Some(48)));
    assert_eq!(first.ct.unwrap().tuple.unwrap().l4, ports(7, 8));

    let later =
        PacketBuilder::ipv6(A6, B6).protocol(protocol::UDP).payload(&[0; 16]).fragment(24, false, 9).build();
    let info = dissect_ip(&later).unwrap();
    // ipv6_find_hdr returns the fragment's next header without touching the offset: thoff = 0.
    assert_eq!((info.l4proto, info.thoff, info.fragoff), (Some(protocol::UDP), 0, 24));
    assert_eq!(info.transport_offset(), None);
    assert!(info.ct.is_none(), "ipv6_get_l4proto refuses later fragments");

    // A later fragment whose next header is another extension header: ipv6_find_hdr fails,
    // the packet info is "unspec" (no l4proto).
    let odd = PacketBuilder::ipv6(A6, B6)
        .protocol(protocol::DSTOPTS)
        .payload(&[0; 16])
        .fragment(24, false, 9)
        .build();
    let info = dissect_ip(&odd).unwrap();
    assert_eq!((info.l4proto, info.thoff, info.fragoff), (None, 0, 0));
}

#[test]
fn ipv6_no_next_header_and_mobility() {
    let none = PacketBuilder::ipv6(A6, B6).dest_options(&[]).protocol(protocol::NONE).build();
    let info = dissect_ip(&none).unwrap();
    assert_eq!((info.l4proto, info.thoff), (Some(protocol::NONE), 48));
    assert!(info.ct.is_none(), "ipv6_skip_exthdr fails on NEXTHDR_NONE");

    // The mobility header is not an extension header to the kernel: it is the l4proto.
    let mh =
        PacketBuilder::ipv6(A6, B6).protocol(protocol::MOBILITY).payload(&[59, 0, 5, 0, 0, 0, 0, 0]).build();
    let info = dissect_ip(&mh).unwrap();
    assert_eq!((info.l4proto, info.thoff), (Some(protocol::MOBILITY), 40));
    assert_eq!(info.ct.unwrap().protonum, protocol::MOBILITY);
}

#[test]
fn ipv6_chain_running_past_the_packet() {
    // A hop-by-hop header claiming 16 bytes in a packet with only 8 after the fixed header.
    let mut packet = PacketBuilder::ipv6(A6, B6).hop_by_hop(&[]).protocol(protocol::NONE).build();
    packet[41] = 1;
    let info = dissect_ip(&packet).unwrap();
    // find_hdr reads only the next-header byte of HBH, then NONE ends the walk at 40 + 16.
    assert_eq!((info.l4proto, info.thoff), (Some(protocol::NONE), 56));
    // A truncated fragment header is EBADMSG: no l4proto.
    let mut frag = PacketBuilder::ipv6(A6, B6).protocol(protocol::FRAGMENT).payload(&[17, 0, 0]).build();
    frag[6] = protocol::FRAGMENT;
    let info = dissect_ip(&frag).unwrap();
    assert_eq!(info.l4proto, None);
    assert_eq!(
        ipv6_chain::find_hdr(&frag, 0, None, FindFlags::PKTINFO),
        Err(FindError::BadMessage { offset: 40 })
    );
}

#[test]
fn icmp_error_carries_the_inner_tuple() {
    let original = PacketBuilder::ipv4(A4, B4).tcp(40000, 80).flags(SYN).build();
    let error = PacketBuilder::ipv4([203, 0, 113, 1], A4).icmp_error(3, 1, &original).build();
    let info = dissect_ip(&error).unwrap();
    assert_eq!(info.l4proto, Some(protocol::ICMP));
    let outer = info.tuple().unwrap();
    assert_eq!(outer.l4, TupleL4::Icmp { id: 0, kind: 3, code: 1 });
    let icmp = info.icmp_error.unwrap();
    assert_eq!((icmp.kind, icmp.code, icmp.inner_nhoff), (3, 1, 28));
    let inner = icmp.inner.unwrap();
    assert_eq!(inner.dataoff, 48);
    assert_eq!(inner.tuple, dissect_ip(&original).unwrap().tuple());

    // Only 8 bytes of the TCP header quoted: still enough for the ports.
    let short =
        PacketBuilder::ipv4([203, 0, 113, 1], A4).icmp_error(11, 0, &original).quote_limit(28).build();
    let inner = dissect_ip(&short).unwrap().icmp_error.unwrap().inner.unwrap();
    assert_eq!(inner.tuple.unwrap().l4, ports(40000, 80));
    // Only 2 bytes of it: nf_ct_get_tuple fails.
    let shorter =
        PacketBuilder::ipv4([203, 0, 113, 1], A4).icmp_error(11, 0, &original).quote_limit(22).build();
    let inner = dissect_ip(&shorter).unwrap().icmp_error.unwrap().inner.unwrap();
    assert_eq!(inner.tuple, None);
    // An echo request is not an error.
    let echo = PacketBuilder::ipv4(A4, B4).icmp_echo_request(0x4242, 1).build();
    let info = dissect_ip(&echo).unwrap();
    assert!(info.icmp_error.is_none());
    assert_eq!(info.tuple().unwrap().l4, TupleL4::Icmp { id: 0x4242, kind: 8, code: 0 });
}

#[test]
fn icmpv6_error_carries_the_inner_tuple() {
    let original = PacketBuilder::ipv6(A6, B6).dest_options(&[]).udp(5353, 53).payload(b"x").build();
    let error = PacketBuilder::ipv6(B6, A6).icmp_error(1, 4, &original).build();
    let info = dissect_ip(&error).unwrap();
    let icmp = info.icmp_error.unwrap();
    assert_eq!(icmp.inner_nhoff, 48);
    let inner = icmp.inner.unwrap();
    assert_eq!((inner.protonum, inner.dataoff), (protocol::UDP, 48 + 48));
    assert_eq!(inner.tuple, dissect_ip(&original).unwrap().tuple());
    let echo = PacketBuilder::ipv6(A6, B6).icmp_echo_reply(3, 4).build();
    assert!(dissect_ip(&echo).unwrap().icmp_error.is_none());
}

#[test]
fn ethernet_vlan_and_padding() {
    // A 54-byte TCP/IPv4 frame padded to Ethernet's 60-byte minimum.
    let mut frame = PacketBuilder::ipv4(A4, B4)
        .tcp(1, 2)
        .ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .vlan(0x2064)
        .build();
    frame.resize(64, 0);
    let info = dissect(&frame, LinkType::Ethernet).unwrap();
    let link = info.link.unwrap();
    assert!(link.mac_header);
    assert_eq!(link.vlans[0].unwrap().vlan_id(), 100);
    assert_eq!((info.nhoff, info.thoff, info.network_end), (18, 38, 58));
    assert_eq!(info.network_len(), 40);

    let mut arp = frame.clone();
    arp[16..18].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(dissect(&arp, LinkType::Ethernet).unwrap_err().kind, ErrorKind::NotIp { ethertype: 0x0806 });
}

#[test]
fn cooked_and_loopback_link_types() {
    let ip = PacketBuilder::ipv6(A6, B6).udp(1, 2).build();
    let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 0x86, 0xdd];
    sll.extend_from_slice(&ip);
    let info = dissect(&sll, LinkType::LinuxSll).unwrap();
    let link = info.link.unwrap();
    assert_eq!((info.nhoff, link.pkttype, link.mac_header), (16, Some(4), false));
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&PacketBuilder::ipv4(A4, B4).build());
    assert_eq!(dissect(&null, LinkType::Null).unwrap().nhoff, 4);
    assert!(matches!(
        dissect(&null, LinkType::Other(147)).unwrap_err().kind,
        ErrorKind::UnsupportedLinkType { .. }
    ));
}

#[test]
fn what_ip_rcv_drops_is_an_error_with_an_offset() {
    let packet = PacketBuilder::ipv4(A4, B4).udp(1, 2).payload(&[0; 10]).build();
    let mut bad = packet.clone();
    bad[10] ^= 1;
    let err = dissect_ip(&bad).unwrap_err();
    assert_eq!((err.offset, err.kind), (10, ErrorKind::BadChecksum { header: "IPv4 header" }));
    let relaxed = DissectOptions { verify_ipv4_checksum: false };
    assert!(dissect_with(&bad, LinkType::Raw, &relaxed).is_ok());

    let err = dissect_ip(&packet[..packet.len() - 1]).unwrap_err();
    assert_eq!(err.offset, 2, "total length beyond the buffer");
    let frame = PacketBuilder::ipv4(A4, B4).udp(1, 2).ethernet([0; 6], [0; 6]).build();
    let err = dissect(&frame[..30], LinkType::Ethernet).unwrap_err();
    assert_eq!(err.offset, 14, "IPv4 header truncated, reported at the network header");

    let v6 = PacketBuilder::ipv6(A6, B6).udp(1, 2).build();
    let err = dissect_ip(&v6[..v6.len() - 2]).unwrap_err();
    assert_eq!(err.offset, 4);
    assert!(dissect_ip(&[]).is_err());
    assert!(dissect_ip(&[0x50]).is_err());
}

#[test]
fn malformed_transport_headers_do_not_fail_the_dissection() {
    // TCP with a data offset of 4 (16 bytes): nft still has thoff, conntrack still has ports.
    let mut packet = PacketBuilder::ipv4(A4, B4).tcp(1000, 2000).build();
    packet[32] = 0x40;
    let info = dissect(&packet, LinkType::Ipv4).unwrap();
    assert!(info.transport.is_none());
    let err = info.transport_error.unwrap();
    assert_eq!(err.offset, 32);
    assert_eq!(info.tuple().unwrap().l4, ports(1000, 2000));

    // A UDP length larger than the datagram.
    let mut udp = PacketBuilder::ipv4(A4, B4).udp(1, 2).build();
    udp[25] = 9;
    let info = dissect_ip(&udp).unwrap();
    assert!(info.transport.is_some());
    assert!(matches!(info.transport_error.unwrap().kind, ErrorKind::BadLength { .. }));

    // Two bytes of TCP: no ports, no tuple.
    let stub = PacketBuilder::ipv4(A4, B4).protocol(protocol::TCP).payload(&[0, 1]).build();
    let info = dissect_ip(&stub).unwrap();
    assert_eq!(info.ct.unwrap().tuple, None);
    assert_eq!(info.l4proto, Some(protocol::TCP));
}

#[test]
fn gre_pptp_tuple() {
    let pptp = PacketBuilder::ipv4(A4, B4).gre_pptp(0x1234).payload(&[0xff, 0x03]).build();
    let info = dissect_ip(&pptp).unwrap();
    assert_eq!(info.tuple().unwrap().l4, TupleL4::Gre { src_key: 0, dst_key: 0x1234 });
    let plain = PacketBuilder::ipv4(A4, B4).gre(0x0800).build();
    assert_eq!(dissect_ip(&plain).unwrap().tuple().unwrap().l4, TupleL4::None);
    assert!(matches!(
        dissect_ip(&plain).unwrap().transport,
        Some(Transport::Gre { version: 0, protocol: 0x0800, .. })
    ));
}

#[test]
fn addresses_are_reported() {
    let info = dissect_ip(&PacketBuilder::ipv6(A6, B6).build()).unwrap();
    assert_eq!(info.src_addr, IpAddr::V6(Ipv6Addr::from(A6)));
    let info = dissect_ip(&PacketBuilder::ipv4(A4, B4).build()).unwrap();
    assert_eq!(info.dst_addr, IpAddr::V4(Ipv4Addr::from(B4)));
    assert_eq!(info.ethertype(), 0x0800);
}

#[test]
fn payload_bases_follow_nft_payload_eval() {
    use nftvm_vm::keys::PayloadBase;
    let frame = PacketBuilder::ipv4(A4, B4).udp(1, 2).ethernet([0; 6], [0; 6]).build();
    let info = dissect(&frame, LinkType::Ethernet).unwrap();
    assert_eq!(info.payload_base(PayloadBase::Link), Some(0));
    assert_eq!(info.payload_base(PayloadBase::Network), Some(14));
    assert_eq!(info.payload_base(PayloadBase::Transport), Some(34));
    assert_eq!(info.payload_base(PayloadBase::Inner), None);
    // Raw IP (a TUN device): no MAC header, so `ll` loads fail.
    let info = dissect_ip(&frame[14..]).unwrap();
    assert_eq!(info.payload_base(PayloadBase::Link), None);
    // A later fragment: no transport header.
    let later = PacketBuilder::ipv4(A4, B4).protocol(6).payload(&[0; 8]).fragment(8, false, 1).build();
    assert_eq!(dissect_ip(&later).unwrap().payload_base(PayloadBase::Transport), None);
}
