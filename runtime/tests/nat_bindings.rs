//! NAT bindings: source port kept when free, another one from the right range on a
//! collision, port and address ranges, `persistent`, null bindings, DNAT port ranges, and
//! the per-direction rewrite instructions (including ICMP errors).
//!
//! The address chosen within a range is checked against what Linux 6.18 chose for the
//! same tuples (observed with `nft` + `conntrack -L` in a network namespace).

#[path = "conntrack_support.rs"]
mod support;

use std::net::IpAddr;

use nftvm_runtime::conntrack::packet::{Quoted, QuotedL4};
use nftvm_runtime::conntrack::{Config, ConfirmDrop, Conntrack, CtInfo, PacketInfo, Tracked, builder};
use nftvm_runtime::nat::{HeaderRewrite, Manip, NatAction, NatRange, Side, flags};
use support::*;

/// Tracks a new packet, runs the NAT binding of `manip` with `range` (or a null binding),
/// and confirms it.
fn bind(
    ct: &mut Conntrack,
    pkt: &PacketInfo<'_>,
    manip: Manip,
    range: Option<NatRange>,
) -> Result<Tracked, ConfirmDrop> {
    let t = ct.track(pkt).expect("room");
    let id = t.conn.expect("tracked");
    assert!(ct.nat_needed(&t, manip));
    match range {
        Some(r) => ct.nat_setup(id, &r, manip).expect("bind"),
        None => ct.nat_null_binding(id, manip).expect("null bind"),
    }
    // The other hook's null binding, as the kernel makes it when a nat chain exists there.
    if ct.nat_needed(&t, manip.other()) {
        ct.nat_null_binding(id, manip.other()).expect("null bind");
    }
    ct.finish(&t, None).map(|_| t)
}

fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> PacketInfo<'static> {
    builder::udp(ip(src), ip(dst), sport, dport, 10, at(1))
}

fn snat_addr_of(ct: &Conntrack, t: &Tracked) -> (IpAddr, u16) {
    let c = ct.get(t.conn.unwrap()).unwrap();
    (c.reply().dst_addr(), c.reply().dport())
}

#[test]
fn address_in_range_is_the_kernels_choice() {
    // (source, range, expected) observed on Linux 6.18: `snat to 10.9.0.100-10.9.0.200`,
    // the same with `persistent`, and `snat to 172.16.0.0-172.31.255.255`, destination
    // 10.9.0.2, zone 0.
    let observed = [
        ("10.9.0.1", "10.9.0.167", "10.9.0.102", "172.26.181.228"),
        ("10.9.0.3", "10.9.0.139", "10.9.0.105", "172.22.55.238"),
        ("10.9.0.4", "10.9.0.140", "10.9.0.118", "172.22.87.114"),
        ("10.9.0.5", "10.9.0.162", "10.9.0.101", "172.25.236.109"),
        ("10.9.0.6", "10.9.0.180", "10.9.0.192", "172.28.211.47"),
    ];
    let small = NatRange::addrs(ip("10.9.0.100"), ip("10.9.0.200"));
    let big = NatRange::addrs(ip("172.16.0.0"), ip("172.31.255.255"));
    for (src, plain, persistent, wide) in observed {
        let mut ct = Conntrack::new(Config::default());
        let t = bind(&mut ct, &udp(src, 5001, "10.9.0.2", 7777), Manip::Src, Some(small)).unwrap();
        assert_eq!(snat_addr_of(&ct, &t), (ip(plain), 5001), "{src}");
        let t = bind(
            &mut ct,
            &udp(src, 5002, "10.9.0.2", 7778),
            Manip::Src,
            Some(small.with_flags(flags::PERSISTENT)),
        )
        .unwrap();
        assert_eq!(snat_addr_of(&ct, &t), (ip(persistent), 5002), "{src} persistent");
        let t = bind(&mut ct, &udp(src, 5003, "10.9.0.2", 7779), Manip::Src, Some(big)).unwrap();
        assert_eq!(snat_addr_of(&ct, &t), (ip(wide), 5003), "{src} wide");
    }
}

#[test]
fn source_port_kept_when_free_else_another_from_its_class() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("192.0.2.1"));
    let a = bind(&mut ct, &udp("10.0.0.1", 5000, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
    assert_eq!(snat_addr_of(&ct, &a), (ip("192.0.2.1"), 5000));
    let c = ct.get(a.conn.unwrap()).unwrap();
    assert!(c.nat().is_some_and(|n| n.src_nat && !n.dst_nat));

    // Another host, same source port, same destination: 192.0.2.1:5000 is taken.
    let b = bind(&mut ct, &udp("10.0.0.2", 5000, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
    let (addr, port) = snat_addr_of(&ct, &b);
    assert_eq!(addr, ip("192.0.2.1"));
    assert_ne!(port, 5000);
    assert!(port >= 1024, "a port >= 1024 stays in 1024-65535");

    // Privileged source ports stay privileged: < 512 → 1..511, 512..1023 → 600..1023.
    bind(&mut ct, &udp("10.0.0.1", 123, "198.51.100.7", 123), Manip::Src, Some(to)).unwrap();
    let d = bind(&mut ct, &udp("10.0.0.2", 123, "198.51.100.7", 123), Manip::Src, Some(to)).unwrap();
    let (_, port) = snat_addr_of(&ct, &d);
    assert!((1..=511).contains(&port) && port != 123, "{port}");
    bind(&mut ct, &udp("10.0.0.1", 700, "198.51.100.7", 9), Manip::Src, Some(to)).unwrap();
    let e = bind(&mut ct, &udp("10.0.0.2", 700, "198.51.100.7", 9), Manip::Src, Some(to)).unwrap();
    let (_, port) = snat_addr_of(&ct, &e);
    assert!((600..=1023).contains(&port) && port != 700, "{port}");
}

#[test]
fn explicit_port_range() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("192.0.2.1")).with_ports(20000, 20009);
    let mut seen = Vec::new();
    for i in 0..10u8 {
        let src = format!("10.0.0.{}", i + 1);
        let t = bind(&mut ct, &udp(&src, 5000, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
        let (_, port) = snat_addr_of(&ct, &t);
        assert!((20000..=20009).contains(&port));
        assert!(!seen.contains(&port), "ports are unique");
        seen.push(port);
    }
    // The range is exhausted: the binding is made but the tuple clashes, and the kernel
    // drops the packet when it confirms it.
    let r = bind(&mut ct, &udp("10.0.0.99", 5000, "198.51.100.7", 53), Manip::Src, Some(to));
    assert_eq!(r, Err(ConfirmDrop::Clash));
    assert_eq!(ct.len(), 10);

    // A single-port range is used even if taken (and then clashes).
    let one = NatRange::addr(ip("192.0.2.1")).with_ports(20000, 20000);
    assert_eq!(
        bind(&mut ct, &udp("10.0.0.98", 5000, "198.51.100.7", 53), Manip::Src, Some(one)),
        Err(ConfirmDrop::Clash)
    );
}

#[test]
fn random_flags_move_the_port_even_when_free() {
    let mut ct = Conntrack::new(Config::default());
    let moved = (0..20u16)
        .filter(|i| {
            let to = NatRange::addr(ip("192.0.2.1")).with_flags(flags::PROTO_RANDOM_FULLY);
            let t =
                bind(&mut ct, &udp("10.0.0.1", 6000 + i, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
            let (_, port) = snat_addr_of(&ct, &t);
            assert!(port >= 1024);
            port != 6000 + i
        })
        .count();
    assert!(moved >= 19, "fully-random picks a random port ({moved} of 20 moved)");
}

#[test]
fn dnat_port_range_starts_at_its_first_port() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("10.1.1.10")).with_ports(8080, 8090);
    let t = bind(&mut ct, &udp("198.51.100.7", 4000, "192.0.2.1", 80), Manip::Dst, Some(to)).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert_eq!((c.reply().src_addr(), c.reply().sport()), (ip("10.1.1.10"), 8080));
    assert!(c.nat().is_some_and(|n| n.dst_nat && !n.src_nat));
    // A destination port already inside the range is kept.
    let t = bind(&mut ct, &udp("198.51.100.7", 4001, "192.0.2.1", 8085), Manip::Dst, Some(to)).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert_eq!(c.reply().sport(), 8085);
    // DNAT without ports never changes the port.
    let t = bind(
        &mut ct,
        &udp("198.51.100.7", 4002, "192.0.2.1", 53),
        Manip::Dst,
        Some(NatRange::addr(ip("10.1.1.10"))),
    )
    .unwrap();
    assert_eq!(ct.get(t.conn.unwrap()).unwrap().reply().sport(), 53);
}

#[test]
fn null_binding_remaps_a_clashing_source_port() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("192.0.2.1"));
    bind(&mut ct, &udp("10.0.0.1", 5000, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
    // The NAT box itself uses 192.0.2.1:5000 towards the same server: no rule matches, the
    // null binding keeps the address but must move the port.
    let t = bind(&mut ct, &udp("192.0.2.1", 5000, "198.51.100.7", 53), Manip::Src, None).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert_eq!(c.reply().dst_addr(), ip("192.0.2.1"));
    assert_ne!(c.reply().dport(), 5000);
    // Without a clash a null binding changes nothing.
    let t = bind(&mut ct, &udp("192.0.2.1", 5001, "198.51.100.7", 53), Manip::Src, None).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert!(c.nat().is_none());
    assert!(ct.nat_initialized(t.conn.unwrap(), Manip::Src));
}

#[test]
fn bindings_are_made_once_and_reused_by_later_packets() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("192.0.2.1"));
    let first = bind(&mut ct, &udp("10.0.0.1", 5000, "198.51.100.7", 53), Manip::Src, Some(to)).unwrap();
    let again = ct.track(&udp("10.0.0.1", 5000, "198.51.100.7", 53)).unwrap();
    assert_eq!(again.conn, first.conn);
    assert!(!ct.nat_needed(&again, Manip::Src), "no nat chain for a known flow");
    let rw = ct.nat_rewrite(&again, Manip::Src);
    assert_eq!(
        rw,
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Src, addr: ip("192.0.2.1"), l4: Some(5000) },
            inner: None
        }
    );
    assert_eq!(ct.nat_rewrite(&again, Manip::Dst), NatAction::None);
    ct.finish(&again, None).unwrap();

    // The reply comes to the NAT address and is translated back at prerouting.
    let reply = ct.track(&udp("198.51.100.7", 53, "192.0.2.1", 5000)).unwrap();
    assert_eq!(reply.info, CtInfo::EstablishedReply);
    assert_eq!(
        ct.nat_rewrite(&reply, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: ip("10.0.0.1"), l4: Some(5000) },
            inner: None
        }
    );
    assert_eq!(ct.nat_rewrite(&reply, Manip::Src), NatAction::None);
    ct.finish(&reply, None).unwrap();
}

#[test]
fn dnat_rewrites_both_directions() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("10.1.1.10")).with_ports(8080, 8080);
    let t = bind(&mut ct, &udp("198.51.100.7", 4000, "192.0.2.1", 80), Manip::Dst, Some(to)).unwrap();
    assert_eq!(
        ct.nat_rewrite(&t, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: ip("10.1.1.10"), l4: Some(8080) },
            inner: None
        }
    );
    let r = ct.track(&udp("10.1.1.10", 8080, "198.51.100.7", 4000)).unwrap();
    assert_eq!(r.info, CtInfo::EstablishedReply);
    assert_eq!(
        ct.nat_rewrite(&r, Manip::Src),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Src, addr: ip("192.0.2.1"), l4: Some(80) },
            inner: None
        }
    );
    ct.finish(&r, None).unwrap();
}

#[test]
fn icmp_error_translates_outer_and_quoted_headers() {
    let mut ct = Conntrack::new(Config::default());
    bind(
        &mut ct,
        &udp("10.0.0.1", 5000, "198.51.100.7", 53),
        Manip::Src,
        Some(NatRange::addr(ip("192.0.2.1"))),
    )
    .unwrap();
    // A router on the way reports the NATed packet as unreachable.
    let quoted = Quoted {
        src: ip("192.0.2.1"),
        dst: ip("198.51.100.7"),
        proto: 17,
        l4: QuotedL4::Ports { sport: 5000, dport: 53 },
    };
    let err = builder::icmp_error(ip("203.0.113.9"), ip("192.0.2.1"), 3, 3, quoted, at(2));
    let t = ct.track(&err).unwrap();
    assert_eq!(t.info, CtInfo::RelatedReply);
    assert_eq!(t.icmp_error, Some(3));
    assert!(!ct.nat_needed(&t, Manip::Dst));
    assert_eq!(
        ct.nat_rewrite(&t, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: ip("10.0.0.1"), l4: None },
            inner: Some(HeaderRewrite { side: Side::Src, addr: ip("10.0.0.1"), l4: Some(5000) }),
        }
    );
    assert_eq!(ct.nat_rewrite(&t, Manip::Src), NatAction::None);
    ct.finish(&t, None).unwrap();
}

#[test]
fn icmp_echo_id_is_kept_or_moved() {
    let mut ct = Conntrack::new(Config::default());
    let to = NatRange::addr(ip("192.0.2.1"));
    let a = builder::icmp(ip("10.0.0.1"), ip("198.51.100.7"), 8, 77, at(1));
    let t = bind(&mut ct, &a, Manip::Src, Some(to)).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    assert_eq!((c.reply().dst_addr(), c.reply().icmp_id()), (ip("192.0.2.1"), 77));
    let b = builder::icmp(ip("10.0.0.2"), ip("198.51.100.7"), 8, 77, at(1));
    let t = bind(&mut ct, &b, Manip::Src, Some(to)).unwrap();
    let c = ct.get(t.conn.unwrap()).unwrap();
    let moved = c.reply().icmp_id();
    assert_ne!(moved, 77);
    // Both directions carry the new identifier.
    assert_eq!(
        ct.nat_rewrite(&t, Manip::Src),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Src, addr: ip("192.0.2.1"), l4: Some(moved) },
            inner: None
        }
    );
}

#[test]
fn same_source_keeps_its_mapping() {
    // find_appropriate_src: a second flow from the same source address and port gets the
    // mapping of the first one when it is free.
    let mut ct = Conntrack::new(Config::default());
    let range = NatRange::addrs(ip("192.0.2.1"), ip("192.0.2.200")).with_ports(30000, 40000);
    let a = bind(&mut ct, &udp("10.0.0.1", 5000, "198.51.100.7", 53), Manip::Src, Some(range)).unwrap();
    let first = snat_addr_of(&ct, &a);
    let b = bind(&mut ct, &udp("10.0.0.1", 5000, "198.51.100.8", 53), Manip::Src, Some(range)).unwrap();
    assert_eq!(snat_addr_of(&ct, &b), first);
}

/// `nf_nat_used_tuple_harder`: when the last free ports of a small range are gone, a new
/// TCP SYN may take over the mapping of a source-NATed connection in TIME_WAIT whose
/// sequence numbers it has passed.
#[test]
fn syn_reclaims_a_time_wait_mapping() {
    let mut ct = Conntrack::new(Config::default());
    let server = ip("198.51.100.7");
    let range = NatRange::addr(ip("192.0.2.1")).with_ports(5000, 5001);
    let tcp = |src: &str, sport: u16, flags: u8, seq: u32, ack: u32| {
        builder::tcp(ip(src), server, sport, 80, flags, seq, ack, 64_000, 0, &[], at(1))
    };
    let from_server = |nat_port: u16, flags: u8, seq: u32, ack: u32| {
        builder::tcp(server, ip("192.0.2.1"), 80, nat_port, flags, seq, ack, 64_000, 0, &[], at(1))
    };
    // A: handshake and close to TIME_WAIT through 192.0.2.1:5000.
    let a = bind(&mut ct, &tcp("10.0.0.1", 5000, SYN, 1000, 0), Manip::Src, Some(range)).unwrap();
    assert_eq!(snat_addr_of(&ct, &a).1, 5000);
    for (pkt, from_client) in [
        (from_server(5000, SYN | ACK, 9000, 1001), false),
        (tcp("10.0.0.1", 5000, ACK, 1001, 9001), true),
        (tcp("10.0.0.1", 5000, FIN | ACK, 1001, 9001), true),
        (from_server(5000, ACK, 9001, 1002), false),
        (from_server(5000, FIN | ACK, 9001, 1002), false),
        (tcp("10.0.0.1", 5000, ACK, 1002, 9002), true),
    ] {
        let t = ct.track(&pkt).unwrap();
        assert_ne!(t.info, CtInfo::Invalid, "from client: {from_client}");
        ct.finish(&t, None).unwrap();
    }
    let a_id = a.conn.unwrap();
    assert_eq!(ct.get(a_id).unwrap().tcp_state(), Some(nftvm_runtime::conntrack::TcpState::TimeWait));
    // B takes the other port.
    let b = bind(&mut ct, &tcp("10.0.0.2", 5000, SYN, 50, 0), Manip::Src, Some(range)).unwrap();
    assert_eq!(snat_addr_of(&ct, &b).1, 5001);
    // C's SYN is past A's sequence numbers: A's mapping is reclaimed.
    let c = bind(&mut ct, &tcp("10.0.0.3", 5000, SYN, 5000, 0), Manip::Src, Some(range)).unwrap();
    assert_eq!(snat_addr_of(&ct, &c).1, 5000);
    assert!(ct.get(a_id).is_none());
}
