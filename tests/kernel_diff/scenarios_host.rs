//! Host scenarios: packets for the router itself (input chains, the host's answers),
//! `reject` in its forms, TTL / hop-limit expiry, MTU (fragmentation needed, packet too
//! big, fragmentation on output), fragments (reassembly and refragmentation), and hook
//! priorities (several base chains on one hook, accept continuing, marks between chains).

use std::net::{IpAddr, SocketAddr};

use nftvm_runtime::packet::PacketBuilder;

use crate::harness::Scenario;
use crate::pkt::*;

fn client(rng: &mut Rng, v6: bool) -> IpAddr {
    let c = 2 + rng.below(200) as u8;
    if v6 { ip(&format!("fd00:1::{c:x}")) } else { ip(&format!("10.0.1.{c}")) }
}

fn server(rng: &mut Rng, v6: bool) -> IpAddr {
    let s = 2 + rng.below(200) as u8;
    if v6 { ip(&format!("fd00:2::{s:x}")) } else { ip(&format!("10.0.2.{s}")) }
}

fn me(v6: bool) -> IpAddr {
    if v6 { ip("fd00:1::1") } else { ip("10.0.1.1") }
}

/// Packets to the host: echo, TCP to closed ports, UDP, unknown protocols; input rules that
/// accept, drop, or reject in several ways; with and without conntrack.
pub fn local(rng: &mut Rng, i: usize) -> Scenario {
    let stateful = rng.bool();
    let ct = if stateful {
        "ct state established,related accept\n        ct state invalid drop\n        "
    } else {
        ""
    };
    let rules = format!(
        "table inet filter {{
    chain input {{
        type filter hook input priority filter; policy accept;
        {ct}tcp dport 22 accept
        tcp dport 23 drop
        tcp dport 24 reject with tcp reset
        udp dport 25 reject
        udp dport 26 reject with icmpx admin-prohibited
        meta nfproto ipv4 udp dport 27 reject with icmp host-unreachable
        meta nfproto ipv6 udp dport 27 reject with icmpv6 addr-unreachable
        tcp dport 28 counter reject
    }}
}}"
    );
    let mut sc = Scenario::new(format!("local-{i}"), rules);
    for _ in 0..6 {
        let v6 = rng.bool();
        let c = client(rng, v6);
        let cp = rng.port();
        let p = match rng.below(6) {
            0 => echo(c, me(v6), rng.next_u64() as u16, 1),
            1 => tcp(
                SocketAddr::new(c, cp),
                SocketAddr::new(me(v6), *rng.pick(&[22, 23, 24, 28, 80])),
                SYN,
                rng.next_u64() as u32,
                0,
                b"",
            ),
            2 => tcp(
                SocketAddr::new(c, cp),
                SocketAddr::new(me(v6), *rng.pick(&[22, 24, 80])),
                ACK | PSH,
                5,
                77,
                b"hello",
            ),
            3 => udp(
                SocketAddr::new(c, cp),
                SocketAddr::new(me(v6), *rng.pick(&[25, 26, 27, 53])),
                b"datagram",
            ),
            4 => PacketBuilder::ip(c, me(v6))
                .protocol(*rng.pick(&[99u8, 47, 253]))
                .payload(b"payload!")
                .build(),
            _ => echo(c, if v6 { ip("fd00:2::1") } else { ip("10.0.2.1") }, 9, 9),
        };
        sc.send("tuna", p);
    }
    sc
}

/// `reject` in forward (tcp reset, icmp, icmpx) after conntrack, sometimes after dnat.
pub fn reject_forward(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let dnat = rng.bool() && !v6;
    let s = server(rng, v6);
    let nat = if dnat {
        crate::scenarios_nat::prerouting_nat(&[
            format!("tcp dport 9000-9100 dnat to {s}"),
            format!("udp dport 9000-9100 dnat to {s}"),
        ])
    } else {
        String::new()
    };
    let rules = format!(
        "table inet filter {{
    chain forward {{
        type filter hook forward priority filter; policy accept;
        ct state established accept
        tcp dport {{ 9001, 81 }} reject with tcp reset
        udp dport {{ 9002, 82 }} reject
        tcp dport {{ 9003, 83 }} reject with icmpx port-unreachable
        udp dport {{ 9004, 84 }} reject with icmpx no-route
    }}
}}
{nat}"
    );
    let mut sc = Scenario::new(format!("reject-forward-{i}"), rules);
    let c = client(rng, v6);
    let dst = if dnat { ip("10.0.1.1") } else { s };
    let base = if dnat { 9000 } else { 80 };
    for _ in 0..4 {
        let k = 1 + rng.below(4) as u16;
        let cp = rng.port();
        let p = if k % 2 == 1 {
            tcp(
                SocketAddr::new(c, cp),
                SocketAddr::new(dst, base + k),
                if rng.bool() { SYN } else { ACK },
                rng.next_u64() as u32,
                3,
                b"x",
            )
        } else {
            udp(SocketAddr::new(c, cp), SocketAddr::new(dst, base + k), b"request")
        };
        sc.send("tuna", p);
    }
    // An established flow, then a reject of one of its packets is not possible: accept.
    sc
}

/// TTL / hop limit 1 when forwarding: time exceeded, with or without conntrack and NAT.
pub fn ttl(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let rules = *rng.pick(&[
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  counter\n }\n}",
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy drop;\n  ct state established,related accept\n  ct state new accept\n }\n}",
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n }\n}\ntable inet nat {\n chain post {\n  type nat hook postrouting priority srcnat;\n  oifname \"tunb\" masquerade\n }\n}",
    ]);
    let mut sc = Scenario::new(format!("ttl-{i}"), rules);
    let c = client(rng, v6);
    let s = server(rng, v6);
    let cp = rng.port();
    let first = udp(SocketAddr::new(c, cp), SocketAddr::new(s, 33434), b"probe");
    sc.send("tuna", with_ttl(&first, 1));
    sc.send("tuna", first.clone());
    sc.send("tuna", with_ttl(&udp(SocketAddr::new(c, cp), SocketAddr::new(s, 33435), b"probe"), 1));
    sc.send(
        "tuna",
        with_ttl(
            &tcp(SocketAddr::new(c, cp), SocketAddr::new(s, 80), SYN, 1, 0, b""),
            if rng.bool() { 0 } else { 1 },
        ),
    );
    sc.send("tuna", with_ttl(&echo(c, s, 3, 3), 2));
    sc
}

/// A small MTU on tunb: DF packets too big (ICMP fragmentation needed), others fragmented;
/// IPv6 packet too big.
pub fn mtu(rng: &mut Rng, i: usize) -> Scenario {
    let rules = *rng.pick(&[
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n }\n}",
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  ct state new counter\n }\n}",
    ]);
    let mut sc = Scenario::new(format!("mtu-{i}"), rules);
    sc.mtu.push(("tunb", *rng.pick(&[1280u32, 1300, 1400])));
    for _ in 0..3 {
        let v6 = rng.bool();
        let c = client(rng, v6);
        let s = server(rng, v6);
        let n = 1200 + rng.below(300);
        let payload = rng.bytes(n);
        let p = if rng.bool() {
            tcp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, 80), ACK | PSH, 1, 1, &payload)
        } else {
            let b = PacketBuilder::ip(c, s).ident(rng.next_u64() as u16).udp(rng.port(), 9).payload(&payload);
            b.build()
        };
        sc.send("tuna", p);
    }
    sc
}

/// `tcp option maxseg size set rt mtu` on forwarded SYNs (MSS clamping the nft way): the
/// smaller MTU of the route out and the route back to the source, less the headers, or 536
/// when that MTU is not above them (`nft_rt`'s `get_tcpmss`). MTUs differ per interface,
/// down to the smallest Linux allows each family.
pub fn rt_mtu(rng: &mut Rng, i: usize) -> Scenario {
    let rules = "table inet clamp {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  tcp flags syn tcp option maxseg size set rt mtu counter\n }\n}";
    let mut sc = Scenario::new(format!("rt-mtu-{i}"), rules);
    let v6 = rng.bool();
    let mtus: &[u32] = if v6 { &[1280, 1400, 1500, 9000] } else { &[68, 100, 576, 1400, 1500, 9000] };
    if !v6 {
        // (Below 1280 an interface has no IPv6.)
        sc.ifaces = vec![("tuna", vec!["10.0.1.1/24"]), ("tunb", vec!["10.0.2.1/24"])];
    }
    sc.mtu.push(("tuna", *rng.pick(mtus)));
    sc.mtu.push(("tunb", *rng.pick(mtus)));
    for _ in 0..4 {
        let (from_a, c, s) = if rng.bool() {
            (true, client(rng, v6), server(rng, v6))
        } else {
            (false, server(rng, v6), client(rng, v6))
        };
        let mss = *rng.pick(&[536u16, 1460, 8960, 65495]);
        let syn = tcp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, 80), SYN, rng.u32(), 0, b"");
        let [hi, lo] = mss.to_be_bytes();
        sc.send(if from_a { "tuna" } else { "tunb" }, with_tcp_options(&syn, &[2, 4, hi, lo]));
    }
    sc
}

/// Fragmented datagrams: forwarded (reassembled and refragmented when conntrack is on, as
/// they come otherwise), to the host, out of order, duplicated, overlapping.
pub fn fragments(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let stateful = rng.bool();
    let rules = if stateful {
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy drop;\n  ct state established,related accept\n  ct state new udp dport 9 accept\n  ct state new meta l4proto { icmp, ipv6-icmp } accept\n }\n}"
    } else {
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  udp dport 10 drop\n }\n}"
    };
    let mut sc = Scenario::new(format!("fragments-{}-{i}", if stateful { "ct" } else { "stateless" }), rules);
    let c = client(rng, v6);
    let s = server(rng, v6);
    let n = 60 + rng.below(400);
    let id = rng.next_u64() as u16 | 1;
    let b = PacketBuilder::ip(c, s).ident(id).udp(rng.port(), *rng.pick(&[9u16, 10])).payload(&rng.bytes(n));
    let mut frags = b.build_fragments(8 * (4 + rng.below(20)));
    match rng.below(4) {
        0 => frags.reverse(),
        1 => {
            let d = frags[0].clone();
            frags.insert(1, d);
        }
        _ => {}
    }
    for f in frags {
        sc.send("tuna", f);
    }
    // A fragmented echo to the host.
    let e = PacketBuilder::ip(c, me(v6)).ident(id ^ 0x55).icmp_echo_request(7, 1).payload(&rng.bytes(200));
    for f in e.build_fragments(64) {
        sc.send("tuna", f);
    }
    sc
}

/// Several base chains on one hook at various priorities: marks set early are seen later,
/// `accept` ends only its chain, a drop anywhere ends the packet.
pub fn priorities(rng: &mut Rng, i: usize) -> Scenario {
    let p1 = *rng.pick(&[-150i32, -10, 0, 10]);
    let p2 = *rng.pick(&[-5i32, 0, 5, 20]);
    let rules = format!(
        "table inet a {{
    chain early {{
        type filter hook forward priority {p1}; policy accept;
        udp dport 1000-1999 meta mark set 1
        udp dport 2000-2999 accept
        tcp dport 22 meta mark set 2
    }}
    chain pre {{
        type filter hook prerouting priority -300; policy accept;
        udp dport 3000-3999 meta mark set 3
    }}
}}
table ip b {{
    chain late {{
        type filter hook forward priority {p2}; policy accept;
        meta mark 1 drop
        meta mark 3 udp dport 3500-3999 drop
        udp dport 2500-2999 drop
    }}
}}
table ip6 c {{
    chain late6 {{
        type filter hook forward priority {p2}; policy accept;
        meta mark 2 drop
        meta mark 3 drop
    }}
}}"
    );
    let mut sc = Scenario::new(format!("priorities-{i}"), rules);
    for _ in 0..6 {
        let v6 = rng.bool();
        let c = client(rng, v6);
        let s = server(rng, v6);
        let p = if rng.below(4) == 0 {
            tcp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, 22), SYN, 9, 0, b"")
        } else {
            udp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, 500 + rng.below(3600) as u16), b"x")
        };
        sc.send("tuna", p);
    }
    sc
}

/// Hairpin forwarding: a packet leaves through the interface it came in on.
pub fn hairpin(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let rules = "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  counter\n }\n}";
    let mut sc = Scenario::new(format!("hairpin-{i}"), rules);
    let a = client(rng, v6);
    let b = client(rng, v6);
    let p = udp(SocketAddr::new(a, rng.port()), SocketAddr::new(b, 53), b"same link");
    sc.send("tuna", p.clone());
    sc.send("tuna", p);
    sc
}

/// Hop-by-hop options checked on receipt, before prerouting (`ip6_rcv_core`): valid headers
/// (router alert, skippable unknown options, padding), and bad ones — more than 7 bytes of
/// padding in a row, non-zero PadN, a router alert of the wrong length, more than 8 options,
/// unknown options whose type says discard (01), discard and report (10), or report unless
/// multicast (11), CALIPSO, IOAM aligned and not, jumbo payload options — forwarded to the
/// server or sent to the host, IPv6 UDP and echo requests.
pub fn hop_by_hop(rng: &mut Rng, i: usize) -> Scenario {
    use nftvm_runtime::packet::ip::protocol::HOPOPTS;
    let rules = "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  counter\n }\n chain input {\n  type filter hook input priority filter; policy accept;\n  counter\n }\n}";
    let mut sc = Scenario::new(format!("hop-by-hop-{i}"), rules);
    for k in 0..10 + rng.below(6) {
        let mut body: Vec<u8> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let option: Vec<u8> = match rng.below(14) {
                0 => vec![5, 2, 0, 0],
                1 => vec![5, *rng.pick(&[0u8, 3, 4]), 0, 0, 0, 0],
                2 => vec![0x1e, 2, 7, 7],
                3 => vec![*rng.pick(&[0x5eu8, 0x9e, 0xde]), 2, 1, 2],
                4 => vec![0],
                5 => vec![1, *rng.pick(&[0u8, 2, 4, 6]), 0, 0, 0, 0, 0, 0],
                6 => vec![1, 2, 0, 9],
                7 => vec![7, 8, 0, 0, 0, 1, 0, 0, 0, 0],
                8 => vec![0x31, 2, 0, 0],
                9 => vec![0xc2, 4, 0, 1, 0, 0],
                10 => vec![0xc2, 4, 0, 0, 0, 9],
                11 => (0..9).flat_map(|_| [0x1e, 0]).collect(),
                _ => vec![0x1e, 0],
            };
            // PadN's length says how many of the zeros follow it.
            let option = if option.first() == Some(&1) {
                option[..2 + usize::from(option[1]).min(option.len() - 2)].to_vec()
            } else {
                option
            };
            body.extend_from_slice(&option);
        }
        let rem = (8 - (2 + body.len()) % 8) % 8;
        match rem {
            0 => {}
            1 => body.push(0),
            n => body.extend(
                std::iter::once(1).chain(std::iter::once((n - 2) as u8)).chain(std::iter::repeat_n(0, n - 2)),
            ),
        }
        let c = client(rng, true);
        let to_host = rng.chance(20);
        let d = if to_host { me(true) } else { server(rng, true) };
        let (IpAddr::V6(c6), IpAddr::V6(d6)) = (c, d) else { continue };
        let b = PacketBuilder::ipv6(c6, d6).ext_header(HOPOPTS, &body);
        let p = if rng.chance(25) {
            b.icmp_echo_request(0x77, k as u16).payload(b"ping").build()
        } else {
            b.udp(40000 + k as u16, 53).payload(b"q").build()
        };
        sc.send("tuna", p);
    }
    sc
}
