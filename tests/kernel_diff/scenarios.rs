//! Scenario generators: each template is an nft ruleset with a packet script, varied by a
//! seeded generator (addresses, ports, payloads, flags, which of several rule variants).

use std::net::{IpAddr, SocketAddr};

use nftvm_runtime::packet::PacketBuilder;

use crate::common::kernel::ConntrackSettings;
use crate::harness::Scenario;
use crate::pkt::*;

/// `min` to `min + span - 1` random bytes.
fn rng_bytes(rng: &mut Rng, min: usize, span: usize) -> Vec<u8> {
    let n = min + rng.below(span);
    rng.bytes(n)
}

/// Client and server addresses on tuna's and tunb's subnets, IPv4 or IPv6.
fn hosts(rng: &mut Rng, v6: bool) -> (IpAddr, IpAddr) {
    let c = 2 + rng.below(200) as u8;
    let s = 2 + rng.below(200) as u8;
    if v6 {
        (ip(&format!("fd00:1::{c:x}")), ip(&format!("fd00:2::{s:x}")))
    } else {
        (ip(&format!("10.0.1.{c}")), ip(&format!("10.0.2.{s}")))
    }
}

fn me(v6: bool, b: bool) -> IpAddr {
    match (v6, b) {
        (false, false) => ip("10.0.1.1"),
        (false, true) => ip("10.0.2.1"),
        (true, false) => ip("fd00:1::1"),
        (true, true) => ip("fd00:2::1"),
    }
}

const STATEFUL_FORWARD: &str = "table inet filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related counter accept
        ct state invalid counter drop
        tcp dport PORT ct state new counter accept
        udp dport PORT ct state new counter accept
        meta l4proto { icmp, ipv6-icmp } counter accept
    }
}";

/// Stateless forwarding of assorted packets, both families.
pub fn stateless(rng: &mut Rng, i: usize) -> Scenario {
    let rules = [
        "table inet filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  counter\n }\n}",
        "table ip filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  udp dport 53 drop\n }\n}\ntable ip6 filter {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  tcp dport 22 drop\n }\n}",
        "table inet filter {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n  ip saddr 10.0.1.0/25 accept\n  ip6 saddr fd00:1::/120 accept\n  meta l4proto icmp accept\n }\n}",
    ];
    let mut sc = Scenario::new(format!("stateless-{i}"), *rng.pick(&rules));
    for _ in 0..6 {
        let v6 = rng.bool();
        let (c, s) = hosts(rng, v6);
        let p = match rng.below(4) {
            0 => udp(
                SocketAddr::new(c, rng.port()),
                SocketAddr::new(s, *rng.pick(&[53, 123, 5353])),
                &rng_bytes(rng, 1, 40),
            ),
            1 => tcp(
                SocketAddr::new(c, rng.port()),
                SocketAddr::new(s, *rng.pick(&[22, 80, 443])),
                SYN,
                rng.next_u64() as u32,
                0,
                b"",
            ),
            2 => echo(c, s, rng.next_u64() as u16, 1),
            _ => {
                let back = udp(SocketAddr::new(s, 53), SocketAddr::new(c, rng.port()), b"answer");
                sc.send("tunb", back);
                continue;
            }
        };
        sc.send("tuna", p);
    }
    sc
}

/// `osf` with no fingerprints loaded (as nftvm never has them): an IPv4 TCP SYN is
/// `unknown`; other flags, UDP, IPv6 in the inet table, a TCP header cut short break the
/// rule, inverted or not; fragments of a SYN before reassembly (a prerouting chain at -450,
/// or no conntrack at all), whose later ones Linux 6.18 reads as if they began with a TCP
/// header.
pub fn osf(rng: &mut Rng, i: usize) -> Scenario {
    // With a `ct` rule conntrack (and so reassembly, at -400) is on: forward sees whole
    // datagrams; without, every fragment.
    let ct = if rng.bool() { "  ct state new counter\n" } else { "" };
    let rules = format!(
        "table inet filter {{\n chain early {{\n  type filter hook prerouting priority -450; policy accept;\n  osf name \"unknown\" counter\n  osf name != \"unknown\" counter\n }}\n chain forward {{\n  type filter hook forward priority filter; policy accept;\n{ct}  osf name \"unknown\" counter\n  osf ttl skip version \"unknown\" counter\n  osf name \"Linux\" counter\n  osf name != \"unknown\" counter\n  osf ttl loose name {{ \"Linux\", \"unknown\" }} counter\n }}\n}}"
    );
    let mut sc = Scenario::new(format!("osf-{}-{i}", if ct.is_empty() { "stateless" } else { "ct" }), rules);
    for _ in 0..6 {
        let v6 = rng.chance(25);
        let (c, s) = hosts(rng, v6);
        let (ca, sa) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, *rng.pick(&[22u16, 80, 443])));
        let seq = rng.next_u64() as u32;
        match rng.below(6) {
            0 | 1 => {
                sc.send(
                    "tuna",
                    tcp(ca, sa, *rng.pick(&[SYN, SYN, SYN | 0xc0, ACK, SYN | ACK, RST]), seq, 0, b""),
                );
            }
            2 => {
                sc.send("tunb", tcp(sa, ca, SYN | ACK, seq, 1, b""));
            }
            3 => {
                sc.send("tuna", udp(ca, sa, &rng_bytes(rng, 1, 30)));
            }
            4 if !v6 => {
                // A SYN whose TCP header is cut to 12 bytes (the IP header says so).
                let mut p = tcp(ca, sa, SYN, seq, 0, b"");
                p.truncate(20 + 12);
                p[2..4].copy_from_slice(&32u16.to_be_bytes());
                fix_ipv4_checksum(&mut p);
                sc.send("tuna", p);
            }
            _ => {
                // A SYN with data, in fragments (maybe out of order).
                let b = PacketBuilder::ip(c, s)
                    .ident(seq as u16 | 1)
                    .tcp(ca.port(), sa.port())
                    .flags(SYN)
                    .seq(seq)
                    .window(512)
                    .payload(&rng_bytes(rng, 40, 120));
                let mut frags = b.build_fragments(32);
                if rng.bool() {
                    frags.reverse();
                }
                for f in frags {
                    sc.send("tuna", f);
                }
            }
        }
    }
    sc
}

/// A TCP connection through a stateful firewall: handshake, data both ways, a close by FIN
/// or RST; sometimes an out-of-window segment or a segment to a closed port.
pub fn tcp_flow(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let port = *rng.pick(&[22u16, 80, 443, 8080]);
    let mut sc = Scenario::new(format!("tcp-flow-{i}"), STATEFUL_FORWARD.replace("PORT", &port.to_string()));
    let (ca, sa_) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, port));
    let (mut cs, mut ss) = (rng.next_u64() as u32, rng.next_u64() as u32);
    sc.send("tuna", tcp(ca, sa_, SYN, cs, 0, b""));
    cs = cs.wrapping_add(1);
    sc.send("tunb", tcp(sa_, ca, SYN | ACK, ss, cs, b""));
    ss = ss.wrapping_add(1);
    sc.send("tuna", tcp(ca, sa_, ACK, cs, ss, b""));
    for _ in 0..rng.below(3) + 1 {
        let n = 1 + rng.below(300);
        sc.send("tuna", tcp(ca, sa_, ACK | PSH, cs, ss, &rng.bytes(n)));
        cs = cs.wrapping_add(n as u32);
        let m = rng.below(200);
        sc.send("tunb", tcp(sa_, ca, ACK | PSH, ss, cs, &rng.bytes(m)));
        ss = ss.wrapping_add(m as u32);
    }
    match rng.below(5) {
        0 => {
            // Out of window: far beyond what the receiver allows.
            sc.send("tuna", tcp(ca, sa_, ACK | PSH, cs.wrapping_add(5_000_000), ss, b"late"));
        }
        1 => {
            sc.send("tunb", tcp(sa_, ca, RST | ACK, ss, cs, b""));
            sc.send("tuna", tcp(ca, sa_, ACK, cs, ss, b""));
        }
        2 => {
            // A new connection to a port the rules do not open.
            sc.send(
                "tuna",
                tcp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, port + 1), SYN, 1, 0, b""),
            );
        }
        _ => {}
    }
    sc.send("tuna", tcp(ca, sa_, FIN | ACK, cs, ss, b""));
    cs = cs.wrapping_add(1);
    sc.send("tunb", tcp(sa_, ca, FIN | ACK, ss, cs, b""));
    ss = ss.wrapping_add(1);
    sc.send("tuna", tcp(ca, sa_, ACK, cs, ss, b""));
    sc
}

/// A connection picked up in the middle (no handshake seen), with `tcp_loose` on or off,
/// and `be_liberal` varied.
pub fn midstream(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let mut sc = Scenario::new(format!("midstream-{i}"), STATEFUL_FORWARD.replace("PORT", "22"));
    sc.settings = ConntrackSettings {
        tcp_loose: rng.bool(),
        tcp_be_liberal: rng.bool(),
        ..ConntrackSettings::default()
    };
    let (ca, sa_) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, 22));
    let (cs, ss) = (rng.next_u64() as u32, rng.next_u64() as u32);
    sc.send("tuna", tcp(ca, sa_, ACK | PSH, cs, ss, &rng.bytes(20)));
    sc.send("tunb", tcp(sa_, ca, ACK | PSH, ss, cs.wrapping_add(20), &rng.bytes(10)));
    sc.send("tuna", tcp(ca, sa_, ACK, cs.wrapping_add(20), ss.wrapping_add(10), b""));
    sc
}

/// UDP request/response through a stateful firewall, and an ICMP error about the flow.
pub fn udp_flow(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let port = *rng.pick(&[53u16, 123, 5000]);
    let mut sc = Scenario::new(format!("udp-flow-{i}"), STATEFUL_FORWARD.replace("PORT", &port.to_string()));
    let (ca, sa_) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, port));
    let q = udp(ca, sa_, &rng_bytes(rng, 1, 60));
    sc.send("tuna", q.clone());
    sc.send("tunb", udp(sa_, ca, &rng_bytes(rng, 1, 200)));
    sc.send("tuna", udp(ca, sa_, b"again"));
    // An unsolicited datagram from the server side to another port: dropped.
    sc.send("tunb", udp(SocketAddr::new(s, 9), SocketAddr::new(c, 9), b"x"));
    // The server's host answers the client with port unreachable (RELATED).
    let seen = with_ttl(&q, 63);
    let (kind, code) = if v6 { (1, 4) } else { (3, 3) };
    sc.send("tunb", icmp_error_about_from(&seen, s, kind, code));
    sc
}

/// An ICMP error sent by `from` about `seen` (as forwarded).
fn icmp_error_about_from(seen: &[u8], from: IpAddr, kind: u8, code: u8) -> Vec<u8> {
    icmp_error_about(seen, from, kind, code)
}

/// Only the client side (tuna) may open a GRE flow; what is established passes.
const GRE_FROM_CLIENTS: &str = "table inet filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related counter accept
        ct state invalid counter drop
        iifname \"tuna\" meta l4proto gre ct state new counter accept
    }
}";

/// GRE through conntrack (`nf_conntrack_proto_gre`), no PPTP helper: a version 0 tunnel is
/// one connection by its addresses, answered from the server side; a version 1 (enhanced,
/// PPTP) packet's call ID is its tuple's destination key, and without the helper's keymap
/// the source key is 0 — so the server side's packets, carrying the client's call ID, are a
/// connection of their own (new, dropped here), unless both call IDs are 0; another call ID
/// is another connection; a version 1 packet that does not carry PPP is invalid.
pub fn gre_flow(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.below(4) == 0;
    let (c, s) = hosts(rng, v6);
    let mut sc = Scenario::new(format!("gre-{i}"), GRE_FROM_CLIENTS);
    let v0 = |src, dst, protocol| {
        PacketBuilder::ip(src, dst).ident(0x0e0e).gre(protocol).payload(b"tunnel").build()
    };
    let v1 = |src, dst, call| {
        PacketBuilder::ip(src, dst).ident(0x0e0f).gre_pptp(call).payload(&[0xff, 0x03]).build()
    };
    let inner = if v6 { 0x86dd } else { 0x0800 };
    if rng.bool() {
        sc.send("tuna", v0(c, s, inner));
        sc.send("tunb", v0(s, c, inner));
    }
    let zero = i % 4 == 1;
    let (client_call, server_call) =
        if zero { (0, 0) } else { (rng.next_u64() as u16 | 1, rng.next_u64() as u16 | 1) };
    // The server's call ID is what the client's packets carry, and the other way round.
    sc.send("tuna", v1(c, s, server_call));
    sc.send("tunb", v1(s, c, client_call));
    sc.send("tuna", v1(c, s, server_call));
    if rng.bool() {
        sc.send("tuna", v1(c, s, server_call ^ 0x100));
    }
    if rng.bool() {
        let mut not_ppp = v1(c, s, server_call);
        let gre = if v6 { 40 } else { 20 };
        not_ppp[gre + 2..gre + 4].copy_from_slice(&0x0800u16.to_be_bytes());
        sc.send("tuna", not_ppp);
    }
    sc
}

/// Echo requests through the firewall and to the host itself.
pub fn echo_flow(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let mut sc = Scenario::new(format!("echo-{i}"), STATEFUL_FORWARD.replace("PORT", "7"));
    let id = rng.next_u64() as u16;
    let req = echo(c, s, id, 1);
    sc.send("tuna", req.clone());
    sc.send("tunb", echo_reply(&with_ttl(&req, 63)));
    sc.send("tuna", echo(c, me(v6, rng.bool()), id ^ 1, 2));
    sc.send("tuna", echo(c, s, id, 2));
    sc
}

/// `notrack` in a raw chain: the flow stays untracked.
pub fn notrack(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let port = rng.port();
    let rules = format!(
        "table inet raw {{\n chain pre {{\n  type filter hook prerouting priority raw; policy accept;\n  udp dport {port} notrack\n  udp sport {port} notrack\n }}\n}}\n\
         table inet filter {{\n chain forward {{\n  type filter hook forward priority filter; policy drop;\n  ct state untracked counter accept\n  ct state established,related accept\n  ct state new udp dport 53 accept\n }}\n}}"
    );
    let mut sc = Scenario::new(format!("notrack-{i}"), rules);
    let ca = SocketAddr::new(c, rng.port());
    sc.send("tuna", udp(ca, SocketAddr::new(s, port), b"untracked"));
    sc.send("tunb", udp(SocketAddr::new(s, port), ca, b"back"));
    sc.send("tuna", udp(ca, SocketAddr::new(s, 53), b"tracked"));
    sc.send("tuna", udp(ca, SocketAddr::new(s, 54), b"dropped"));
    sc
}

/// A packet of an established connection rejected with a reset: the connection is then
/// closing (`nf_ct_set_closing`), and the rest of the flow is judged accordingly.
pub fn reject_established(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let rules = "table inet filter {
    chain forward {
        type filter hook forward priority filter; policy accept;
        tcp dport 80 meta length > 300 reject with tcp reset
        ct state established counter accept
    }
}";
    let mut sc = Scenario::new(format!("reject-established-{i}"), rules);
    let (ca, sa_) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, 80));
    let (cs, ss) = (rng.next_u64() as u32, rng.next_u64() as u32);
    sc.send("tuna", tcp(ca, sa_, SYN, cs, 0, b""));
    sc.send("tunb", tcp(sa_, ca, SYN | ACK, ss, cs.wrapping_add(1), b""));
    sc.send("tuna", tcp(ca, sa_, ACK, cs.wrapping_add(1), ss.wrapping_add(1), b""));
    sc.send(
        "tuna",
        tcp(ca, sa_, ACK | PSH, cs.wrapping_add(1), ss.wrapping_add(1), &rng_bytes(rng, 400, 100)),
    );
    sc.send("tuna", tcp(ca, sa_, ACK | PSH, cs.wrapping_add(1), ss.wrapping_add(1), b"small"));
    sc.send("tunb", tcp(sa_, ca, ACK, ss.wrapping_add(1), cs.wrapping_add(6), b""));
    sc
}

/// Metadata, conntrack keys and routing lookups in rules, seen through rule counters and
/// marks: marks carried from prerouting to forward and into the connection (`ct mark`),
/// `ct status`/`ct direction`/`ct original`, interface names and types, `fib` reverse-path
/// and address-type checks.
pub fn metadata(rng: &mut Rng, i: usize) -> Scenario {
    let rules = "table inet m {
    chain pre {
        type filter hook prerouting priority mangle; policy accept;
        fib saddr . iif oif missing counter drop
        fib daddr type local counter
        iifname \"tuna\" meta pkttype host meta mark set 0x10
        ct state new ct mark set meta mark
        ct direction reply counter
        ct mark 0x10 counter
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        iif \"tuna\" oif \"tunb\" counter
        iifname \"tunb\" oifname \"tuna\" counter
        meta mark 0x10 counter
        ct status seen-reply counter
        ct original ip saddr 10.0.0.0/23 counter
        ct original ip6 saddr fd00:1::/64 counter
        meta length > 100 counter
        meta l4proto udp meta nfproto ipv4 counter
        ct direction original ct state established counter
        meta iiftype 65534 counter
    }
    chain post {
        type filter hook postrouting priority filter; policy accept;
        iifname \"tuna\" oifname \"tunb\" counter
        meta mark 0x10 counter
        ct mark 0x10 ct direction reply counter
    }
}";
    let mut sc = Scenario::new(format!("metadata-{i}"), rules);
    for _ in 0..3 {
        let v6 = rng.bool();
        let (c, s) = hosts(rng, v6);
        let ca = SocketAddr::new(c, rng.port());
        let sa_ = SocketAddr::new(s, *rng.pick(&[53u16, 80]));
        let n = rng_bytes(rng, 1, 200);
        sc.send("tuna", udp(ca, sa_, &n));
        sc.send("tunb", udp(sa_, ca, b"reply"));
        sc.send("tuna", udp(ca, sa_, b"again"));
    }
    // A spoofed source (tunb's subnet arriving on tuna): reverse-path check drops it.
    let (_, s) = hosts(rng, false);
    sc.send("tuna", udp(SocketAddr::new(s, 1), SocketAddr::new(ip("10.0.2.9"), 9), b"spoof"));
    sc.send("tuna", echo(ip("10.0.1.7"), ip("10.0.1.1"), 1, 1));
    sc
}

/// Conntrack zones set before the conntrack hook: entries live in their zone (and show it),
/// the same tuple in two zones is two connections.
pub fn zones(rng: &mut Rng, i: usize) -> Scenario {
    let rules = "table inet raw {
    chain pre {
        type filter hook prerouting priority raw; policy accept;
        iifname \"tuna\" ct zone set 3
        iifname \"tunb\" udp sport 53 ct zone set 3
        iifname \"tunb\" udp sport 54 ct zone set 7
    }
}
table inet filter {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ct zone 3 ct state established counter
        ct zone 7 ct state new counter
    }
}";
    let mut sc = Scenario::new(format!("zones-{i}"), rules);
    let v6 = rng.bool();
    let (c, s) = hosts(rng, v6);
    let ca = SocketAddr::new(c, rng.port());
    sc.send("tuna", udp(ca, SocketAddr::new(s, 53), b"q"));
    sc.send("tunb", udp(SocketAddr::new(s, 53), ca, b"a"));
    sc.send("tunb", udp(SocketAddr::new(s, 54), ca, b"other zone"));
    sc
}
