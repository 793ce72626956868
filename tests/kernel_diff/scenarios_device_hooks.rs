//! The device hooks. Ingress: netdev chains bound to a device (and inet ingress chains),
//! which see a packet as it arrives, before the IP layer and conntrack. Rules match and
//! count, drop, set the mark (seen again in forward) and rewrite the DSCP (the forwarded
//! bytes show it, header checksum included); `ct state` there finds no connection yet. Two
//! chains on one device run in priority order; the other device's chains do not see the
//! packet. Egress: netdev chains that see what a device transmits — forwarded packets, the
//! host's own ICMP errors, each fragment of a packet too big for the link — without an
//! input device. Packets whose IP header fails the receive checks (a wrong checksum, lengths
//! past the packet, a short header, a cut packet) reach the ingress chains before the IP
//! layer drops them; an inet ingress chain drops those it cannot find the transport header of
//! before its rules run.

use std::net::{IpAddr, SocketAddr};

use crate::harness::Scenario;
use crate::pkt::*;

/// Host `k` on tuna's side (`b`: tunb's).
fn host(v6: bool, b: bool, k: usize) -> IpAddr {
    let net = if b { 2 } else { 1 };
    ip(&if v6 { format!("fd00:{net}::{:x}", 2 + k) } else { format!("10.0.{net}.{}", 2 + k) })
}

/// Rules any ingress chain may hold.
const RULES: [&str; 12] = [
    "ip saddr 10.0.1.2 counter",
    "ip6 saddr fd00:1::3 counter drop",
    "meta protocol ip6 counter",
    "udp dport 53 counter drop",
    "tcp flags syn counter",
    "meta mark set 0x7 counter",
    "ip dscp set cs4 counter",
    "ip6 dscp set af21 counter",
    "ip ttl 64 counter",
    "meta l4proto icmp counter",
    "meta iifname \"tuna\" counter",
    "counter",
];

/// Only in netdev chains: `notrack` (the kernel allows it at ingress, hook number 0 as
/// prerouting); only in inet chains: `ct` (conntrack has no netdev family; at ingress it has
/// not seen the packet yet) and `meta nfproto` (nft refuses it elsewhere).
const NETDEV_ONLY: [&str; 1] = ["notrack counter"];
const INET_ONLY: [&str; 3] =
    ["ct state invalid counter", "ct state new counter", "meta nfproto ipv4 counter"];

fn chain(rng: &mut Rng, name: &str, device: &str, inet: bool) -> String {
    let prio = *rng.pick(&[-100, 0, 0, 10]);
    let policy = if rng.chance(10) { "drop" } else { "accept" };
    let own: &[&str] = if inet { &INET_ONLY } else { &NETDEV_ONLY };
    let rules: Vec<&str> = (0..2 + rng.below(4))
        .map(|_| if rng.chance(20) { *rng.pick(own) } else { *rng.pick(&RULES) })
        .collect();
    format!(
        " chain {name} {{\n  type filter hook ingress device \"{device}\" priority {prio}; policy {policy};\n  {}\n }}\n",
        rules.join("\n  ")
    )
}

/// Rules an egress chain may hold.
const EGRESS_RULES: [&str; 9] = [
    "udp dport 123 counter drop",
    "ip dscp set cs2 counter",
    "ip6 dscp set cs2 counter",
    "meta iifname \"tuna\" counter",
    "meta oifname \"tunb\" counter",
    "meta mark 0x7 counter",
    "meta l4proto icmp counter",
    "ip frag-off & 0x1fff != 0 counter",
    "counter",
];

/// An egress chain. An IPv6 host sends MLD reports and neighbor solicitations of its own at
/// times of its choosing; the chain lets ICMPv6 pass first, uncounted, so that its counters
/// only count what the scenario caused.
fn egress_chain(rng: &mut Rng, name: &str, device: &str) -> String {
    let prio = *rng.pick(&[-10, 0, 0, 10]);
    let mut rules = vec!["meta l4proto ipv6-icmp accept"];
    rules.extend((0..2 + rng.below(4)).map(|_| *rng.pick(&EGRESS_RULES)));
    format!(
        " chain {name} {{\n  type filter hook egress device \"{device}\" priority {prio}; policy accept;\n  {}\n }}\n",
        rules.join("\n  ")
    )
}

/// From `c` to `s`: a one-byte UDP query to the port `udp_port` picks (`what` 0), a TCP SYN to
/// port 80 (1) or an echo request (2).
fn probe(
    rng: &mut Rng,
    c: IpAddr,
    s: IpAddr,
    what: usize,
    udp_port: impl FnOnce(&mut Rng) -> u16,
) -> Vec<u8> {
    match what {
        0 => {
            let from = SocketAddr::new(c, 40000 + rng.u16() % 1000);
            udp(from, SocketAddr::new(s, udp_port(rng)), b"q")
        }
        1 => {
            let from = SocketAddr::new(c, 40000 + rng.u16() % 1000);
            tcp(from, SocketAddr::new(s, 80), SYN, rng.u32(), 0, b"")
        }
        _ => echo(c, s, rng.u16(), 1),
    }
}

pub fn device_hooks(rng: &mut Rng, i: usize) -> Scenario {
    let mut netdev = chain(rng, "in", "tuna", false);
    if rng.chance(40) {
        netdev += &chain(rng, "in2", "tuna", false);
    }
    if rng.chance(30) {
        netdev += &chain(rng, "back", "tunb", false);
    }
    // A link too small for some packets: they leave in fragments, each through egress.
    let small_link = rng.chance(30);
    if small_link || rng.chance(50) {
        netdev += &egress_chain(rng, "out", "tunb");
    }
    if rng.chance(25) {
        let device = *rng.pick(&["tunb", "tuna"]);
        netdev += &egress_chain(rng, "out2", device);
    }
    let mut ruleset = format!("table netdev n {{\n{netdev}}}\n");
    if rng.chance(35) {
        ruleset += &format!("table inet i {{\n{}}}\n", chain(rng, "in", "tuna", true));
    }
    // Forward counts what ingress left: the mark, the DSCP, new connections.
    ruleset += "table inet f {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  meta mark 0x7 counter\n  ip dscp cs4 counter\n  ip6 dscp af21 counter\n  ct state new counter\n  ct state untracked counter\n  counter\n }\n}\n";
    let mut sc = Scenario::new(format!("device-hooks-{i}"), ruleset);
    if small_link {
        sc.mtu.push(("tunb", 1280));
    }
    if small_link {
        for k in 0..2 {
            let (c, s) = (host(false, false, k), host(false, true, k));
            sc.send("tuna", udp(SocketAddr::new(c, 41000 + k as u16), SocketAddr::new(s, 9), &[b'y'; 1400]));
        }
    }
    for _ in 0..8 + rng.below(6) {
        let v6 = rng.chance(35);
        let (c, s) = (host(v6, false, rng.below(3)), host(v6, true, rng.below(3)));
        let what = [0, 1, 1, 2][rng.below(4)];
        let p = probe(rng, c, s, what, |rng| *rng.pick(&[53, 123]));
        let p = match rng.below(10) {
            0 | 1 => with_ttl(&p, 64),
            2 => with_ttl(&p, 1),
            _ => p,
        };
        let sent = sc.send("tuna", p);
        if rng.chance(40) {
            sc.reply_if_sent("tunb", sent, |seen| {
                if seen.get(9).copied() == Some(17) || seen.get(6).copied() == Some(17) {
                    udp_reply(seen, b"r")
                } else {
                    tcp_reply(seen, SYN | ACK, 7, 1, b"")
                }
            });
        }
    }
    // Packets the IP layer drops, after the ingress hook has seen them.
    for _ in 0..rng.below(4) {
        let kind = rng.below(MALFORMED);
        let v6 = kind == MALFORMED - 1;
        let (c, s) = (host(v6, false, rng.below(3)), host(v6, true, rng.below(3)));
        let what = rng.below(3);
        let p = probe(rng, c, s, what, |_| 53);
        sc.send("tuna", malformed(&with_ttl(&p, 64), kind));
    }
    sc
}
