//! Sets the packet path changes (`nft_dynset`): port knocking (`add`, `update`, `delete
//! @set` and lookups of what was added), per-key meters (`limit`, `quota` in the element),
//! and connection limits — `ct count` in a set element (one connection list per source, as
//! iptables' `-m connlimit` keeps too) and in a rule. What the sets held shows in which
//! later packets pass, in the rule counters and in `conntrack -L`.

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_xt_targets::host;

/// The address family's words: (`ip`/`ip6`, set key type).
fn family(v6: bool) -> (&'static str, &'static str) {
    if v6 { ("ip6", "ipv6_addr") } else { ("ip", "ipv4_addr") }
}

/// A SYN from host `k` on tuna's side to a server on tunb's, to `port`.
fn syn(rng: &mut Rng, v6: bool, k: usize, port: u16) -> Vec<u8> {
    let c = SocketAddr::new(host(v6, false, k), 40000 + rng.u16() % 1000);
    let s = SocketAddr::new(host(v6, true, 0), port);
    tcp(c, s, SYN, rng.u32(), 0, b"")
}

/// Port knocking: a packet to 1000 adds its source (or its source and port 22) to a set,
/// one to 1001 deletes it; port 22 is open to what the set holds. Sets of two elements at
/// most (full until collected, deletes or not), or with timeouts, now and then.
pub fn knock(rng: &mut Rng, i: usize) -> Scenario {
    let concat = rng.chance(30);
    // A set of two elements: deleted elements keep their places until the set's collection,
    // put an hour away (on the kernel's default second it could run within a scenario).
    let full = rng.chance(30);
    let size = if full { "gc-interval 1h; size 2; " } else { "" };
    let flags =
        if full || rng.chance(30) { "flags dynamic,timeout; timeout 1h; " } else { "flags dynamic; " };
    let op = if rng.bool() { "add" } else { "update" };
    let mut sets = String::new();
    let mut rules = String::new();
    for v6 in [false, true] {
        let (ipw, ty) = family(v6);
        let set = if v6 { "in6" } else { "in4" };
        let (key_type, key, lookup) = if concat {
            (format!("{ty} . inet_service"), format!("{ipw} saddr . 22"), format!("{ipw} saddr . tcp dport"))
        } else {
            (ty.to_string(), format!("{ipw} saddr"), format!("{ipw} saddr"))
        };
        sets += &format!("    set {set} {{ type {key_type}; {flags}{size}}}\n");
        rules += &format!("        tcp dport 1000 {op} @{set} {{ {key} }} counter drop\n");
        rules += &format!("        tcp dport 1001 delete @{set} {{ {key} }} counter drop\n");
        rules += &format!("        tcp dport 22 {lookup} @{set} counter accept\n");
    }
    let ruleset = format!(
        "table inet knock {{\n{sets}    chain forward {{\n        type filter hook forward priority filter; policy accept;\n{rules}        tcp dport 22 counter drop\n    }}\n}}"
    );
    let mut sc = Scenario::new(format!("knock-{i}"), ruleset);
    for _ in 0..10 + rng.below(5) {
        let v6 = rng.chance(30);
        let port = *rng.pick(&[1000u16, 1000, 1001, 22, 22, 22]);
        let k = rng.below(3);
        sc.send("tuna", syn(rng, v6, k, port));
    }
    sc
}

/// Meters: a token bucket per source (`limit rate [over] 1/minute burst N packets`: no
/// token comes back within a scenario) and a byte quota per source.
pub fn meter(rng: &mut Rng, i: usize) -> Scenario {
    let burst = 1 + rng.below(3);
    let quota = 60 + 40 * rng.below(6);
    let size = if rng.chance(30) { " size 2;" } else { "" };
    let mut sets = String::new();
    let mut rules = String::new();
    for v6 in [false, true] {
        let (ipw, ty) = family(v6);
        let n = if v6 { 6 } else { 4 };
        for s in ["over", "under", "quota"] {
            sets += &format!("    set {s}{n} {{ type {ty}; flags dynamic;{size} }}\n");
        }
        rules += &format!(
            "        udp dport 53 update @over{n} {{ {ipw} saddr limit rate over 1/minute burst {burst} packets }} counter drop\n"
        );
        rules += &format!(
            "        udp dport 54 add @under{n} {{ {ipw} saddr limit rate 1/minute burst {burst} packets }} counter accept\n"
        );
        rules += &format!(
            "        udp dport 55 add @quota{n} {{ {ipw} saddr quota over {quota} bytes }} counter drop\n"
        );
    }
    let ruleset = format!(
        "table inet meters {{\n{sets}    chain forward {{\n        type filter hook forward priority filter; policy accept;\n{rules}        udp dport 54 counter drop\n    }}\n}}"
    );
    let mut sc = Scenario::new(format!("meter-{i}"), ruleset);
    for _ in 0..10 + rng.below(6) {
        let v6 = rng.chance(30);
        let c = SocketAddr::new(host(v6, false, rng.below(3)), 40000 + rng.u16() % 1000);
        let s = SocketAddr::new(host(v6, true, 0), *rng.pick(&[53u16, 54, 55]));
        let n = rng.below(60);
        sc.send("tuna", udp(c, s, &rng.bytes(n)));
    }
    sc
}

/// One TCP connection the script may still talk on: the step whose packet the server
/// answered, and the sequence numbers.
struct Open {
    synack: usize,
    cs: u32,
    ss: u32,
}

/// The server's SYN-ACK to the client's SYN (step `syn`, initial sequence numbers `cs` and
/// `ss`) and the client's ACK, each sent when the packet it answers came out.
fn answer_syn(sc: &mut Scenario, syn: usize, cs: u32, ss: u32) -> Open {
    let synack =
        sc.reply_if_sent("tunb", syn, move |seen| tcp_reply(seen, SYN | ACK, ss, cs.wrapping_add(1), b""));
    let (cs, ss) = (cs.wrapping_add(1), ss.wrapping_add(1));
    sc.reply_if_sent("tuna", synack, move |seen| tcp_reply(seen, ACK, cs, ss, b""));
    Open { synack, cs, ss }
}

/// The client closes an open connection: a RST (`reset`), or FIN, FIN-ACK and the last ACK.
fn close(sc: &mut Scenario, o: &Open, reset: bool) {
    let (synack, cs, ss) = (o.synack, o.cs, o.ss);
    if reset {
        sc.reply_if_sent("tuna", synack, move |seen| tcp_reply(seen, RST, cs, 0, b""));
        return;
    }
    let fin = sc.reply_if_sent("tuna", synack, move |seen| tcp_reply(seen, FIN | ACK, cs, ss, b""));
    let finack =
        sc.reply_if_sent("tunb", fin, move |seen| tcp_reply(seen, FIN | ACK, ss, cs.wrapping_add(1), b""));
    sc.reply_if_sent("tuna", finack, move |seen| {
        tcp_reply(seen, ACK, cs.wrapping_add(1), ss.wrapping_add(1), b"")
    });
}

/// A client's packet to the server whose transport header is too short for conntrack to read
/// a tuple from (ICMP under 8 bytes, a port pair under 4): no connection, and a `ct count`
/// that counts it drops it (`nf_ct_get_tuplepr` fails in `nft_connlimit`).
fn headless(rng: &mut Rng, v6: bool) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let (src, dst) = (host(v6, false, rng.below(3)), host(v6, true, 0));
    let echo = if v6 { 128 } else { 8 };
    let (proto, header) = match rng.below(3) {
        0 => (if v6 { 58 } else { 1 }, &[echo, 0, 0, 0, 0, 1, 0][..rng.below(8)]),
        1 => (6, &[0x9c, 0x40, 0, 80][..rng.below(4)]),
        _ => (17, &[0x9c, 0x40, 0, 80][..rng.below(4)]),
    };
    PacketBuilder::ip(src, dst).protocol(proto).payload(header).build()
}

/// Connection limits: clients on tuna's side open TCP connections (some answered, some
/// retransmitted), close some by RST or FIN, talk on others; nft counts connections per
/// source in set elements (`add @s { ip saddr ct count over N }`, only for new connections
/// or for every packet) or per rule, iptables with `-m connlimit` (with `--syn`, as firewalls
/// write it, or on every packet; per source or destination, masked or not); now and then a
/// client sends a packet conntrack reads no tuple from ([`headless`]). Steps are more than two jiffies apart, so the kernel
/// collects every list it counts in.
pub fn conncount(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.chance(30);
    let (ipw, ty) = family(v6);
    let limit = 1 + rng.below(3);
    let ruleset = match rng.below(5) {
        0 | 1 => {
            let new = if rng.bool() { "ct state new " } else { "" };
            format!(
                "table inet cc {{\n    set perhost {{ type {ty}; flags dynamic; }}\n    chain forward {{\n        type filter hook forward priority filter; policy accept;\n        {new}add @perhost {{ {ipw} saddr ct count over {limit} }} counter drop\n        counter\n    }}\n}}"
            )
        }
        2 => format!(
            "table inet cc {{\n    chain forward {{\n        type filter hook forward priority filter; policy accept;\n        tcp dport 80 ct count over {} counter drop\n        counter\n    }}\n}}",
            limit + 2
        ),
        _ => {
            let tool = if v6 { "ip6tables-save" } else { "iptables-save" };
            let mask = match rng.below(3) {
                0 => 24,
                _ if v6 => 128,
                _ => 32,
            };
            let group = if rng.chance(25) { "--connlimit-daddr" } else { "--connlimit-saddr" };
            // As firewalls write it (`--syn`: only new connections counted), or on every
            // packet, where xt_connlimit's own rules show: a group's first packet counted
            // whatever its state, a packet whose group then counts nothing dropped.
            let rule = match rng.below(3) {
                0 => format!(
                    "-p tcp --syn -m connlimit --connlimit-above {limit} --connlimit-mask {mask} {group} -j DROP"
                ),
                1 => format!(
                    "-p tcp -m connlimit --connlimit-above {limit} --connlimit-mask {mask} {group} -j DROP"
                ),
                _ => format!(
                    "-p tcp -m connlimit --connlimit-upto {limit} --connlimit-mask {mask} {group} -j ACCEPT\n-A FORWARD -p tcp -j DROP"
                ),
            };
            format!(
                "# Generated by {tool} v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD {rule}\n-A FORWARD\nCOMMIT\n"
            )
        }
    };
    let mut sc = Scenario::new(format!("conncount-{i}"), ruleset);
    sc.settle_ms = 10;
    let mut open: Vec<Open> = Vec::new();
    for _ in 0..10 + rng.below(5) {
        if rng.chance(10) {
            sc.send("tuna", headless(rng, v6));
            continue;
        }
        match rng.below(10) {
            0..=5 => {
                let c = SocketAddr::new(host(v6, false, rng.below(3)), 40000 + rng.u16() % 1000);
                let s = SocketAddr::new(host(v6, true, 0), 80);
                let (cs, ss) = (rng.u32(), rng.u32());
                let syn = sc.send("tuna", tcp(c, s, SYN, cs, 0, b""));
                if rng.chance(20) {
                    sc.send("tuna", tcp(c, s, SYN, cs, 0, b""));
                }
                if rng.chance(20) {
                    continue;
                }
                open.push(answer_syn(&mut sc, syn, cs, ss));
            }
            6 | 7 if !open.is_empty() => {
                let o = open.remove(rng.below(open.len()));
                close(&mut sc, &o, rng.bool());
            }
            _ if !open.is_empty() => {
                let at = rng.below(open.len());
                let o = &mut open[at];
                let (cs, ss) = (o.cs, o.ss);
                let n = 1 + rng.below(40);
                let data = rng.bytes(n);
                sc.reply_if_sent("tuna", o.synack, move |seen| tcp_reply(seen, ACK | PSH, cs, ss, &data));
                o.cs = cs.wrapping_add(n as u32);
            }
            _ => {}
        }
    }
    sc
}

/// A per-source `ct count` set of a `size`, filled: a new source is refused (its SYN
/// dropped) until the set's garbage collection — every second — removes the elements whose
/// connections all closed (reset or finished); then new sources take their places.
pub fn conncount_gc(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.chance(30);
    let (ipw, ty) = family(v6);
    let size = 1 + rng.below(3);
    let ruleset = format!(
        "table inet cc {{\n    set perhost {{ type {ty}; size {size}; flags dynamic; }}\n    chain forward {{\n        type filter hook forward priority filter; policy accept;\n        ct state new tcp flags syn add @perhost {{ {ipw} saddr ct count over 5 }}\n        ct state new tcp flags syn {ipw} saddr != @perhost counter drop\n        counter\n    }}\n}}"
    );
    let mut sc = Scenario::new(format!("conncount-gc-{i}"), ruleset);
    sc.settle_ms = 10;
    // Sources 0..size fill the set; each connection is closed, or (a third of them) stays.
    for k in 0..size {
        let c = SocketAddr::new(host(v6, false, k), 40000 + rng.u16() % 1000);
        let s = SocketAddr::new(host(v6, true, 0), 80);
        let (cs, ss) = (rng.u32(), rng.u32());
        let syn = sc.send("tuna", tcp(c, s, SYN, cs, 0, b""));
        let o = answer_syn(&mut sc, syn, cs, ss);
        match rng.below(3) {
            0 => close(&mut sc, &o, true),
            1 => close(&mut sc, &o, false),
            _ => {}
        }
    }
    // Full: the next source is refused. After the collection, two new sources try.
    sc.send("tuna", syn(rng, v6, size, 80));
    sc.pause(2_500);
    sc.send("tuna", syn(rng, v6, size + 1, 80));
    sc.send("tuna", syn(rng, v6, size + 2, 80));
    sc
}

/// Sets as listed: sources add themselves to sets with timeouts (the set's, or an update's
/// own, which the listing shows beside the set's when the update created the element), to
/// concatenated sets whose elements count their packets (the dynset's `counter`, or the
/// set's own `counter` declaration), and to a data map (`: mark`); a wait now and then lets
/// the elements of a one-second timeout expire; a declared element's comment is listed
/// with it. What matters is the end: `nft list
/// ruleset`'s set blocks. (`last` in an element is beyond this machine's nft 1.0.6.)
pub fn listed(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.chance(30);
    let (ipw, ty) = family(v6);
    let short = rng.chance(40);
    let timeout = if short { "1s" } else { *rng.pick(&["30s", "5m", "1h"]) };
    let update_timeout = *rng.pick(&["10s", "2m", "1h"]);
    let set_counter = rng.bool();
    let size = if rng.chance(30) { "size 3; " } else { "" };
    let mark = rng.u32();
    let (counted_decl, counted_stmt) = if set_counter { ("counter; ", "") } else { ("", " counter") };
    // Sometimes the ruleset declares a client with a comment, which the listing keeps.
    let declared = match rng.bool() {
        true => format!(" elements = {{ {} comment \"client {i}\" }}", host(v6, false, rng.below(4))),
        false => String::new(),
    };
    let ruleset = format!(
        "table inet listed {{
    set seen {{ type {ty}; flags dynamic,timeout; timeout {timeout};{declared} }}
    set flows {{ type {ty} . inet_service; flags dynamic; {size}{counted_decl}}}
    map marks {{ type {ty} : mark; flags dynamic,timeout; timeout 1h; }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        udp dport 53 add @seen {{ {ipw} saddr }}
        udp dport 54 update @seen {{ {ipw} saddr timeout {update_timeout} }}
        meta l4proto udp add @flows {{ {ipw} saddr . udp dport{counted_stmt} }}
        udp dport 55 update @marks {{ {ipw} saddr : {mark:#010x} }}
        counter
    }}
}}"
    );
    let mut sc = Scenario::new(format!("listed-{i}"), ruleset);
    let steps = 8 + rng.below(6);
    let wait_at = if short && rng.bool() { Some(rng.below(steps)) } else { None };
    for step in 0..steps {
        if wait_at == Some(step) {
            sc.pause(1_500);
        }
        let c = SocketAddr::new(host(v6, false, rng.below(4)), 40000 + rng.u16() % 1000);
        let s = SocketAddr::new(host(v6, true, 0), *rng.pick(&[53u16, 53, 54, 55, 56, 57]));
        let n = 1 + rng.below(30);
        let data = rng.bytes(n);
        sc.send("tuna", udp(c, s, &data));
    }
    sc
}
