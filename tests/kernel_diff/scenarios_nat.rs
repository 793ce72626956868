//! NAT scenarios: masquerade, snat (with port ranges), dnat, redirect, port collisions,
//! ICMP errors about NATed flows, FTP (active and passive) through NAT with the helper, and
//! TFTP with the helper, direct and through masquerade.

use std::net::{IpAddr, SocketAddr};

use crate::harness::Scenario;
use crate::pkt::*;

pub fn client(rng: &mut Rng, v6: bool) -> IpAddr {
    let c = 2 + rng.below(200) as u8;
    if v6 { ip(&format!("fd00:1::{c:x}")) } else { ip(&format!("10.0.1.{c}")) }
}

pub fn server(rng: &mut Rng, v6: bool) -> IpAddr {
    let s = 2 + rng.below(200) as u8;
    if v6 { ip(&format!("fd00:2::{s:x}")) } else { ip(&format!("10.0.2.{s}")) }
}

/// NAT conversations: the client on `tuna`, the server on `tunb`, every packet let through.
const TUNS: (&str, &str) = ("tuna", "tunb");
const TALK: Talk = Talk { data: 100, answer: 80, may_drop: false, may_reset: false };

/// `table ip nat` masquerading what leaves through tunb.
pub const MASQUERADE_TUNB: &str = "table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname \"tunb\" masquerade\n }\n}";

/// `table ip nat` with `rules` (one per line) in a dstnat prerouting chain.
pub fn prerouting_nat(rules: &[String]) -> String {
    let body: String = rules.iter().map(|r| format!("  {r}\n")).collect();
    format!(
        "table ip nat {{\n chain pre {{\n  type nat hook prerouting priority dstnat; policy accept;\n{body} }}\n}}"
    )
}

/// `table inet filter` giving new connections to `port` over `proto` the helper of object
/// `(name, type)` in prerouting, a forward chain of `forward` rules (policy drop), further
/// `chains`, then `nat`.
pub fn helper_filter(
    object: (&str, &str),
    proto: &str,
    port: u16,
    forward: &str,
    chains: &str,
    nat: &str,
) -> String {
    let (name, helper) = object;
    format!(
        "table inet filter {{
    ct helper {name} {{
        type \"{helper}\" protocol {proto};
    }}
    chain pre {{
        type filter hook prerouting priority filter; policy accept;
        {proto} dport {port} ct helper set \"{name}\"
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        {forward}
    }}
{chains}}}
{nat}"
    )
}

/// [`helper_filter`] for a control connection to `port` whose data connection the forward
/// chain lets through only as RELATED (counted), the router itself accepting nothing; the
/// packets of connections whose master has the helper (`ct helper`) counted first.
pub fn related_only(object: (&str, &str), proto: &str, port: u16, nat: &str) -> String {
    let helper = object.1;
    let forward = format!(
        "ct helper \"{helper}\" counter\n        ct state related counter accept\n        ct state established accept\n        {proto} dport {port} ct state new accept"
    );
    let input = "    chain input {\n        type filter hook input priority filter; policy drop;\n    }\n";
    helper_filter(object, proto, port, &forward, input, nat)
}

/// A helper scenario's kind in its name: IPv6, masquerade or direct.
pub fn kind(v6: bool, masq: bool) -> &'static str {
    match (v6, masq) {
        (true, _) => "v6",
        (false, true) => "masquerade",
        (false, false) => "direct",
    }
}

/// A TCP handshake from `ca` on tuna to `sa` on tunb (the server answers whatever NAT made
/// of the client); the SYN's step and the two initial sequence numbers.
pub fn handshake(sc: &mut Scenario, rng: &mut Rng, ca: SocketAddr, sa: SocketAddr) -> (usize, u32, u32) {
    let cs = rng.next_u64() as u32;
    let ss = rng.next_u64() as u32;
    let syn = sc.send("tuna", tcp(ca, sa, SYN, cs, 0, b""));
    sc.send_from("tunb", syn, move |seen| tcp_reply(seen, SYN | ACK, ss, cs.wrapping_add(1), b""));
    sc.send("tuna", tcp(ca, sa, ACK, cs.wrapping_add(1), ss.wrapping_add(1), b""));
    (syn, cs, ss)
}

/// The TCP payload and sequence number of a segment.
pub fn tcp_parts(p: &[u8]) -> (u32, u32, Vec<u8>) {
    let th = if p[0] >> 4 == 4 { usize::from(p[0] & 0x0f) * 4 } else { 40 };
    let seq = u32::from_be_bytes([p[th + 4], p[th + 5], p[th + 6], p[th + 7]]);
    let ack = u32::from_be_bytes([p[th + 8], p[th + 9], p[th + 10], p[th + 11]]);
    let doff = usize::from(p[th + 12] >> 4) * 4;
    (seq, ack, p[th + doff..].to_vec())
}

fn nat_filter(extra: &str) -> String {
    format!(
        "table inet filter {{
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state new accept
    }}
}}
{extra}"
    )
}

/// Masquerade out of tunb: TCP, UDP and echo flows, replies de-masqueraded; sometimes two
/// clients with the same source port (a collision: another port is chosen).
pub fn masquerade(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let family = if rng.bool() {
        "inet"
    } else if v6 {
        "ip6"
    } else {
        "ip"
    };
    let nat = format!(
        "table {family} nat {{
    chain post {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname \"tunb\" masquerade
    }}
}}"
    );
    let mut sc = Scenario::new(format!("masquerade-{i}"), nat_filter(&nat));
    let s = server(rng, v6);
    let c1 = client(rng, v6);
    let sport = rng.port();
    match rng.below(4) {
        0 => {
            tcp_conversation(&mut sc, rng, (SocketAddr::new(c1, sport), SocketAddr::new(s, 80)), TUNS, &TALK)
        }
        1 => {
            let q = sc.send("tuna", udp(SocketAddr::new(c1, sport), SocketAddr::new(s, 53), b"query"));
            sc.send_from("tunb", q, |seen| udp_reply(seen, b"answer"));
            // The server's host says the port is unreachable: translated back (RELATED).
            let (k, c) = if v6 { (1, 4) } else { (3, 3) };
            sc.send_from("tunb", q, move |seen| {
                let (_, d) = endpoints(seen);
                icmp_error_about(seen, d.ip(), k, c)
            });
        }
        2 => {
            let id = rng.next_u64() as u16;
            let e = sc.send("tuna", echo(c1, s, id, 1));
            sc.send_from("tunb", e, echo_reply);
        }
        _ => {
            // Collision: two clients, same source port, same server.
            sc.port_choice_free = true;
            let mut c2 = client(rng, v6);
            if c2 == c1 {
                c2 = if v6 { ip("fd00:1::ee") } else { ip("10.0.1.250") };
            }
            let a = sc.send("tuna", udp(SocketAddr::new(c1, sport), SocketAddr::new(s, 53), b"one"));
            let b = sc.send("tuna", udp(SocketAddr::new(c2, sport), SocketAddr::new(s, 53), b"two"));
            sc.send_from("tunb", b, |seen| udp_reply(seen, b"to-two"));
            sc.send_from("tunb", a, |seen| udp_reply(seen, b"to-one"));
        }
    }
    sc
}

/// snat to an address (sometimes with a port range), dnat to a server behind the router.
pub fn snat_dnat(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let s = server(rng, v6);
    let c = client(rng, v6);
    let (fam, pub_addr, to_addr) =
        if v6 { ("ip6", "fd00:1::1", "fd00:2::64") } else { ("ip", "10.0.1.1", "10.0.2.100") };
    let variant = rng.below(4);
    let mut sc_port_free = false;
    let nat = match variant {
        0 => format!(
            "table {fam} nat {{\n chain post {{\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname \"tunb\" snat to {to_addr}\n }}\n}}"
        ),
        1 => {
            // Linux picks a random port in the range for a source NAT.
            sc_port_free = true;
            let to = if v6 { format!("[{to_addr}]") } else { to_addr.to_string() };
            format!(
                "table {fam} nat {{\n chain post {{\n  type nat hook postrouting priority srcnat; policy accept;\n  meta l4proto {{ tcp, udp }} oifname \"tunb\" snat to {to}:20000-20010\n }}\n}}"
            )
        }
        _ => {
            let to = if v6 { format!("[{s}]") } else { s.to_string() };
            format!(
                "table {fam} nat {{\n chain pre {{\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 8080 dnat to {to}:80\n  udp dport 5353 dnat to {to}\n }}\n}}"
            )
        }
    };
    let mut sc = Scenario::new(format!("snat-dnat-{i}"), nat_filter(&nat));
    sc.port_choice_free = sc_port_free;
    let dst = if variant >= 2 { ip(pub_addr) } else { s };
    let cport = rng.port();
    if rng.bool() {
        let dport = if variant >= 2 { 8080 } else { 80 };
        tcp_conversation(&mut sc, rng, (SocketAddr::new(c, cport), SocketAddr::new(dst, dport)), TUNS, &TALK);
    } else {
        let dport = if variant >= 2 { 5353 } else { 53 };
        let q = sc.send("tuna", udp(SocketAddr::new(c, cport), SocketAddr::new(dst, dport), &rng.bytes(12)));
        sc.send_from("tunb", q, |seen| udp_reply(seen, b"reply"));
        sc.send("tuna", udp(SocketAddr::new(c, cport), SocketAddr::new(dst, dport), b"second"));
    }
    sc
}

/// redirect to a local port: the packet goes to the host (closed port: a reset or port
/// unreachable comes back, with the original destination as its source).
pub fn redirect(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let fam = if v6 { "ip6" } else { "ip" };
    let nat = format!(
        "table {fam} nat {{\n chain pre {{\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 80 redirect to :8080\n  udp dport 53 redirect\n }}\n}}\n\
         table inet filter {{\n chain input {{\n  type filter hook input priority filter; policy accept;\n  tcp dport 8080 counter\n }}\n}}"
    );
    let mut sc = Scenario::new(format!("redirect-{i}"), nat);
    let c = client(rng, v6);
    let s = server(rng, v6);
    let cp = rng.port();
    sc.send("tuna", tcp(SocketAddr::new(c, cp), SocketAddr::new(s, 80), SYN, rng.next_u64() as u32, 0, b""));
    sc.send("tuna", udp(SocketAddr::new(c, cp), SocketAddr::new(s, 53), b"dns?"));
    sc.send("tuna", tcp(SocketAddr::new(c, cp), SocketAddr::new(s, 443), SYN, 1, 0, b""));
    sc
}

/// Finds `h1,h2,h3,h4,p1,p2` in FTP text: the address and port it announces.
fn ftp_endpoint(text: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(text).ok()?;
    let s = match s.find('(') {
        Some(i) => &s[i..],
        None => s.get(4..)?,
    };
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u16> = s[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|x| !x.is_empty())
        .take(6)
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    if nums.len() < 6 {
        return None;
    }
    let addr = IpAddr::from([nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8]);
    Some(SocketAddr::new(addr, nums[4] << 8 | nums[5]))
}

/// FTP through masquerade (active: PORT rewritten, the server's data connection comes back
/// RELATED and is NATed to the client) or through dnat (passive: the server's 227 reply is
/// rewritten to the public address).
pub fn ftp(rng: &mut Rng, i: usize) -> Scenario {
    let passive = rng.bool();
    let c = client(rng, false);
    let s = server(rng, false);
    let nat = if passive {
        format!(
            "table ip nat {{\n chain pre {{\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 21 dnat to {s}\n }}\n chain post {{\n  type nat hook postrouting priority srcnat; policy accept;\n }}\n}}"
        )
    } else {
        MASQUERADE_TUNB.to_string()
    };
    let forward = "ct state established,related accept\n        tcp dport 21 ct state new accept";
    let rules = helper_filter(("ftp-standard", "ftp"), "tcp", 21, forward, "", &nat);
    let mut sc = Scenario::new(format!("ftp-{}-{i}", if passive { "passive" } else { "active" }), rules);
    let dst = if passive { ip("10.0.1.1") } else { s };
    let ca = SocketAddr::new(c, rng.port());
    let sa_ = SocketAddr::new(dst, 21);
    let (syn, cs, ss) = handshake(&mut sc, rng, ca, sa_);
    let banner = b"220 ready\r\n".to_vec();
    let bl = banner.len() as u32;
    sc.send_from("tunb", syn, move |seen| {
        tcp_reply(seen, ACK | PSH, ss.wrapping_add(1), cs.wrapping_add(1), &banner)
    });
    let mut cseq = cs.wrapping_add(1);
    let sseq = ss.wrapping_add(1 + bl);
    let user = b"USER ftp\r\n";
    sc.send("tuna", tcp(ca, sa_, ACK | PSH, cseq, sseq, user));
    cseq = cseq.wrapping_add(user.len() as u32);
    if passive {
        sc.send("tuna", tcp(ca, sa_, ACK | PSH, cseq, sseq, b"PASV\r\n"));
        cseq = cseq.wrapping_add(6);
        let dport = 20000 + rng.below(20000) as u16;
        let octets = match s {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(_) => [0; 4],
        };
        let text = format!(
            "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
            octets[0],
            octets[1],
            octets[2],
            octets[3],
            dport >> 8,
            dport & 0xff
        );
        let reply =
            sc.send_from("tunb", syn, move |seen| tcp_reply(seen, ACK | PSH, sseq, cseq, text.as_bytes()));
        // The client connects where the (rewritten) 227 told it to.
        let dcs = rng.next_u64() as u32;
        let cport = rng.port();
        let data_syn = sc.steps.len();
        sc.steps.push(crate::harness::Step {
            iface: "tuna",
            packet: crate::harness::Packet::From {
                step: reply,
                index: 0,
                make: Box::new(move |seen| {
                    let (_, _, payload) = tcp_parts(seen);
                    let to = ftp_endpoint(&payload).unwrap_or(SocketAddr::new(ip("10.0.1.1"), 1));
                    tcp(SocketAddr::new(c, cport), to, SYN, dcs, 0, b"")
                }),
                optional: false,
            },
        });
        let dss = rng.next_u64() as u32;
        sc.send_from("tunb", data_syn, move |seen| tcp_reply(seen, SYN | ACK, dss, dcs.wrapping_add(1), b""));
    } else {
        let lport = 30000 + rng.below(20000) as u16;
        let oct = match c {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(_) => [0; 4],
        };
        let cmd =
            format!("PORT {},{},{},{},{},{}\r\n", oct[0], oct[1], oct[2], oct[3], lport >> 8, lport & 0xff);
        let port_step = sc.send("tuna", tcp(ca, sa_, ACK | PSH, cseq, sseq, cmd.as_bytes()));
        cseq = cseq.wrapping_add(cmd.len() as u32);
        // The server acknowledges what it received (the rewritten command's length).
        sc.send_from("tunb", port_step, move |seen| {
            let (seq, _, payload) = tcp_parts(seen);
            tcp_reply(seen, ACK | PSH, sseq, seq.wrapping_add(payload.len() as u32), b"200 PORT ok\r\n")
        });
        // The data connection from port 20 to where PORT said (after NAT).
        let dss = rng.next_u64() as u32;
        let data_syn = sc.steps.len();
        sc.steps.push(crate::harness::Step {
            iface: "tunb",
            packet: crate::harness::Packet::From {
                step: port_step,
                index: 0,
                make: Box::new(move |seen| {
                    let (_, _, payload) = tcp_parts(seen);
                    let to = ftp_endpoint(&payload).unwrap_or(SocketAddr::new(ip("10.0.2.1"), 1));
                    let (_, srv) = endpoints(seen);
                    tcp(SocketAddr::new(srv.ip(), 20), to, SYN, dss, 0, b"")
                }),
                optional: false,
            },
        });
        let dcs = rng.next_u64() as u32;
        sc.send_from("tuna", data_syn, move |seen| tcp_reply(seen, SYN | ACK, dcs, dss.wrapping_add(1), b""));
        // More control traffic after the length change: sequence numbers are adjusted.
        sc.send("tuna", tcp(ca, sa_, ACK | PSH, cseq, sseq.wrapping_add(13), b"LIST\r\n"));
    }
    sc
}

/// TFTP with the helper, directly or through masquerade: a request goes to port 69 and the
/// server answers from a port of its own, a flow the forward chain lets through only as
/// RELATED (NATed back to the client behind masquerade). The request is a read or write —
/// which the helper expects an answer to — or another opcode, which it does not; the client
/// acknowledges over the new flow, and a packet from yet another server port must not ride
/// on the expectation the first answer used up.
pub fn tftp(rng: &mut Rng, i: usize) -> Scenario {
    let masq = rng.bool();
    let v6 = !masq && rng.bool();
    let c = client(rng, v6);
    let s = server(rng, v6);
    let nat = if masq { MASQUERADE_TUNB } else { "" };
    let forward = "ct state established,related accept\n        udp dport 69 ct state new accept";
    let rules = helper_filter(("tftp-69", "tftp"), "udp", 69, forward, "", nat);
    let opcode = *rng.pick(&[1u8, 2, 1, 2, 3, 4, 5]);
    let name = format!("tftp-{}-{}-{i}", if masq { "masquerade" } else { "direct" }, opcode);
    let mut sc = Scenario::new(name, rules);
    let ca = SocketAddr::new(c, rng.port());
    let mut request = vec![0, opcode];
    request.extend_from_slice(b"pxelinux.0\0octet\0");
    let req = sc.send("tuna", udp(ca, SocketAddr::new(s, 69), &request));
    let sport = rng.port();
    // The answer from the server's own port to wherever the request came from.
    let data = sc.send_from("tunb", req, move |seen| {
        let (from, _) = endpoints(seen);
        udp(SocketAddr::new(s, sport), from, &[0, 3, 0, 1, b'x'])
    });
    sc.send("tuna", udp(ca, SocketAddr::new(s, sport), &[0, 4, 0, 1]));
    sc.reply_if_sent("tunb", data, move |seen| {
        let (_, to) = endpoints(seen);
        udp(SocketAddr::new(s, sport), to, &[0, 3, 0, 2, b'y'])
    });
    let other = sport ^ 0x100;
    sc.send_from("tunb", req, move |seen| {
        let (from, _) = endpoints(seen);
        udp(SocketAddr::new(s, other), from, &[0, 5, 0, 0, 0])
    });
    sc
}

/// A `ct expectation` object: a new TCP connection to port 5000 announces that the server
/// will connect back to the client's port 5001 (a helper written in the ruleset), and the
/// forward chain lets that connection through only as RELATED. The server connects back to
/// the expected port or another, once or twice (the expectation is used up by the first).
/// Directly, or to the router's address with a dnat to the server (Linux 6.18 does not make
/// the connection back follow the master's NAT).
pub fn ct_expectation(rng: &mut Rng, i: usize) -> Scenario {
    let dnat = rng.bool();
    let c = client(rng, false);
    let s = server(rng, false);
    let size = 1 + rng.below(2);
    let nat = if dnat { prerouting_nat(&[format!("tcp dport 5000 dnat to {s}")]) } else { String::new() };
    // A table before it holds an object of the same name: objects belong to their table.
    let rules = format!(
        "table ip decoy {{
    ct expectation back {{
        protocol tcp
        dport 6001
        timeout 1m
        size 1
        l3proto ip
    }}
}}
table ip filter {{
    ct expectation back {{
        protocol tcp
        dport 5001
        timeout 1m
        size {size}
        l3proto ip
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        tcp dport 5000 ct state new ct expectation set \"back\" accept
    }}
}}
{nat}"
    );
    let name = format!("ct-expectation-{}-{i}", if dnat { "dnat" } else { "direct" });
    let mut sc = Scenario::new(name, rules);
    let ca = SocketAddr::new(c, rng.port());
    let to = if dnat { ip("10.0.1.1") } else { s };
    let cs = rng.next_u64() as u32;
    sc.send("tuna", tcp(ca, SocketAddr::new(to, 5000), SYN, cs, 0, b""));
    for _ in 0..1 + rng.below(2) {
        let dport = *rng.pick(&[5001u16, 5001, 5002]);
        let ss = rng.next_u64() as u32;
        let back =
            sc.send("tunb", tcp(SocketAddr::new(s, rng.port()), SocketAddr::new(c, dport), SYN, ss, 0, b""));
        let cs2 = rng.next_u64() as u32;
        sc.reply_if_sent("tuna", back, move |seen| tcp_reply(seen, SYN | ACK, cs2, ss.wrapping_add(1), b""));
    }
    sc
}

/// `-j DNAT`/`-j SNAT` with a shifted port map (`a-b/base`), which iptables-nft loads as the
/// kernel's xt target: destination ports 1000-1100 onto the server's 2000-2100 (TCP) or onto
/// ten ports 5000-5009 (UDP, so that ports 10 apart collide: the second takes the next free
/// port), and sometimes the client's source ports shifted into 30000-30099 on the way out.
pub fn shifted_nat(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let s = server(rng, v6);
    let (tool, public, out_addr) = if v6 {
        ("ip6tables-save", "fd00:1::1", "fd00:2::1")
    } else {
        ("iptables-save", "10.0.1.1", "10.0.2.1")
    };
    let bracket = |a: &str| if v6 { format!("[{a}]") } else { a.to_string() };
    let server_text = bracket(&s.to_string());
    let mut rules = vec![
        format!(
            "-A PREROUTING -i tuna -p tcp -m tcp --dport 1000:1100 -j DNAT --to-destination {server_text}:2000-2100/1000"
        ),
        format!(
            "-A PREROUTING -i tuna -p udp -m udp --dport 1000:1100 -j DNAT --to-destination {server_text}:5000-5009/1000"
        ),
    ];
    let shift_sources = rng.bool();
    if shift_sources {
        rules.push(format!(
            "-A POSTROUTING -o tunb -p udp -j SNAT --to-source {}:30000-30099/40000",
            bracket(out_addr)
        ));
    }
    let body: String = rules.iter().map(|r| format!("{r}\n")).collect();
    let ruleset = format!(
        "# Generated by {tool} v1.8.9 (nf_tables)\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{body}COMMIT\n"
    );
    let mut sc = Scenario::new(format!("shifted-nat-{i}"), ruleset);
    // The SNAT range is searched from the shifted port on: where that one is taken the
    // kernel's choice is deterministic too (the next free), so ports are compared exactly.
    let c = client(rng, v6);
    for _ in 0..3 + rng.below(3) {
        let dport = 1000 + rng.below(101) as u16;
        let cport = if shift_sources { 40000 + rng.below(200) as u16 } else { rng.port() };
        if rng.bool() {
            let pair = (SocketAddr::new(c, cport), SocketAddr::new(ip(public), dport));
            tcp_conversation(&mut sc, rng, pair, TUNS, &TALK);
        } else {
            let to = SocketAddr::new(ip(public), dport);
            let q = sc.send("tuna", udp(SocketAddr::new(c, cport), to, b"q"));
            sc.send_from("tunb", q, |seen| udp_reply(seen, b"r"));
            // Ten ports further on: the same server port, taken — the next one is used.
            let twin = SocketAddr::new(ip(public), if dport <= 1090 { dport + 10 } else { dport - 10 });
            let q2 = sc.send("tuna", udp(SocketAddr::new(c, cport), twin, b"q2"));
            sc.send_from("tunb", q2, |seen| udp_reply(seen, b"r2"));
        }
    }
    sc
}
