//! `dup` and `fwd` against the kernel. A third device, tunc, is where copies go.
//!
//! [`dup`]: ip and ip6 tables copy what a client on tuna sends a server on tunb (and the
//! answers) to a host on tunc — in prerouting (the copy one TTL less), forward or
//! postrouting (a copy is not copied again), out of `device "tunc"` or routed there, or
//! towards a gateway without a route (no copy); the copies are untracked in output, keep
//! the mark the original had at the `dup` and not one set after it, and may be dropped in
//! output; rule counters and the bytes on tunc show what was sent. (Counters count TCP and
//! UDP only: the kernel's own MLD reports from the new device pass output and postrouting
//! too.)
//!
//! [`netdev`]: netdev ingress chains on tuna copy packets out of tunc as they are (`dup to
//! "tunc"`), forward them out of tunb or tunc themselves (`fwd to`, the forward chain never
//! seeing them) or to a neighbour (`fwd ip to … device …`, one TTL less; a packet of the
//! other family passes), an egress chain on the target device seeing them or not (it
//! counts TCP and UDP only: the kernel's MLD reports leave the new device too).
//!
//! [`tee`]: iptables' `-j TEE`, the same copies from the kernel's xt target.

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;

fn with_tunc(sc: &mut Scenario) {
    sc.ifaces.push(("tunc", vec!["10.0.3.1/24", "fd00:3::1/64"]));
}

/// The traffic of these scenarios, from a client on tuna to a server on tunb: a UDP query,
/// answered; a TCP SYN to port 80, answered with a SYN-ACK when `answer`; and, when
/// `last_hop`, a UDP packet with TTL (hop limit) 1.
fn talk(sc: &mut Scenario, rng: &mut Rng, v6: bool, answer: bool, last_hop: bool) {
    let (c, s) = if v6 { (ip("fd00:1::2"), ip("fd00:2::2")) } else { (ip("10.0.1.2"), ip("10.0.2.2")) };
    let (ca, sa) = (SocketAddr::new(c, rng.port()), SocketAddr::new(s, 5000));
    let q = sc.send("tuna", udp(ca, sa, &rng.bytes(8)));
    sc.reply_if_sent("tunb", q, |seen| udp_reply(seen, b"answer"));
    let cs = rng.next_u64() as u32;
    let syn = sc.send("tuna", tcp(ca, SocketAddr::new(s, 80), SYN, cs, 0, b""));
    if answer {
        sc.reply_if_sent("tunb", syn, move |seen| tcp_reply(seen, SYN | ACK, 7, cs.wrapping_add(1), b""));
    }
    if last_hop {
        sc.send("tuna", with_ttl(&udp(ca, sa, b"last hop"), 1));
    }
}

/// Where a statement of the dup scenario sits.
const DUP_AT: [&str; 3] = ["pre", "forward", "post"];

pub fn dup(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let (fam, gw, far) =
        if v6 { ("ip6", "fd00:3::9", "2001:db8:77::1") } else { ("ip", "10.0.3.9", "198.51.100.1") };
    let at = *rng.pick(&DUP_AT);
    let target = match rng.below(5) {
        0 | 1 => format!("dup to {gw} device \"tunc\""),
        2 => format!("dup to {gw}"),
        3 => format!("dup to {far}"),
        _ => format!("dup to {gw} device \"tunb\""),
    };
    let filter = *rng.pick(&[
        "udp dport 5000 ",
        "meta l4proto tcp ",
        "meta l4proto { tcp, udp } ",
        "iifname \"tuna\" ",
    ]);
    let mark_before = rng.bool();
    let stmt = if mark_before {
        format!("{filter}meta mark set 5 {target}")
    } else {
        format!("{filter}{target} meta mark set 6")
    };
    let rule = |chain: &str| if chain == at { stmt.as_str() } else { "meta l4proto { tcp, udp } counter" };
    let drop_copies = if rng.chance(25) {
        "ct state untracked meta l4proto udp counter drop"
    } else {
        "meta l4proto { tcp, udp } counter"
    };
    let rules = format!(
        "table {fam} t {{
    chain pre {{
        type filter hook prerouting priority filter; policy accept;
        {}
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        {}
    }}
    chain post {{
        type filter hook postrouting priority filter; policy accept;
        {}
        ct state untracked meta l4proto {{ tcp, udp }} counter
        oifname \"tunc\" meta l4proto {{ tcp, udp }} counter
        meta mark 5 meta l4proto {{ tcp, udp }} counter
        meta mark 6 meta l4proto {{ tcp, udp }} counter
    }}
    chain out {{
        type filter hook output priority filter; policy accept;
        ct state untracked meta l4proto {{ tcp, udp }} counter
        {drop_copies}
        meta mark 5 meta l4proto {{ tcp, udp }} counter
    }}
}}",
        rule("pre"),
        rule("forward"),
        rule("post"),
    );
    let small = rng.chance(30);
    let name = if small { format!("dup-{fam}-{at}-small-mtu-{i}") } else { format!("dup-{fam}-{at}-{i}") };
    let mut sc = Scenario::new(name, rules);
    with_tunc(&mut sc);
    talk(&mut sc, rng, v6, true, true);
    if small {
        // A copy too big for tunc: it has the don't-fragment bit (IPv4), so the original's
        // source hears of the smaller MTU; the original leaves tunb whole.
        sc.mtu.push(("tunc", 1280));
        let (c, s) = if v6 { (ip("fd00:1::2"), ip("fd00:2::2")) } else { (ip("10.0.1.2"), ip("10.0.2.2")) };
        let big = rng.bytes(1300);
        sc.send("tuna", udp(SocketAddr::new(c, rng.port()), SocketAddr::new(s, 5000), &big));
    }
    sc
}

pub fn netdev(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let neigh =
        if v6 { "fwd ip6 to fd00:2::9 device \"tunb\"" } else { "fwd ip to 10.0.2.9 device \"tunb\"" };
    let other =
        if v6 { "fwd ip to 10.0.2.9 device \"tunb\"" } else { "fwd ip6 to fd00:2::9 device \"tunb\"" };
    let stmt = match rng.below(6) {
        0 => "udp dport 5000 dup to \"tunc\"".to_string(),
        1 => "dup to \"tunc\" udp dport 5000 counter drop".to_string(),
        2 => "udp dport 5000 fwd to \"tunc\"".to_string(),
        3 => "meta l4proto tcp fwd to \"tunb\"".to_string(),
        4 => format!("udp dport 5000 {neigh}"),
        _ => format!("udp dport 5000 {other}"),
    };
    let egress = if rng.bool() {
        let verdict = if rng.chance(30) { "drop" } else { "accept" };
        format!(
            " chain eg {{\n  type filter hook egress device \"tunc\" priority 0; policy {verdict};\n  meta l4proto {{ tcp, udp }} counter\n }}\n"
        )
    } else {
        String::new()
    };
    let rules = format!(
        "table netdev t {{
 chain in {{
  type filter hook ingress device \"tuna\" priority 0; policy accept;
  {stmt}
  counter
 }}
{egress}}}
table inet f {{
 chain forward {{
  type filter hook forward priority filter; policy accept;
  counter
 }}
}}"
    );
    let mut sc = Scenario::new(format!("netdev-dup-fwd-{i}"), rules);
    with_tunc(&mut sc);
    talk(&mut sc, rng, v6, false, true);
    sc
}

/// iptables' `-j TEE` (the kernel's xt_TEE, which copies as `dup` does): mangle rules copy
/// UDP or TCP towards a host behind tunc, with `--oif` or routed, in PREROUTING, FORWARD or
/// POSTROUTING; FORWARD and POSTROUTING count the copies (untracked, with `-m state`).
pub fn tee(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = rng.bool();
    let gw = if v6 { "fd00:3::9" } else { "10.0.3.9" };
    let chain = *rng.pick(&["PREROUTING", "FORWARD", "POSTROUTING"]);
    let oif = if rng.bool() { " --oif tunc" } else { "" };
    let proto = *rng.pick(&["-p udp", "-p tcp"]);
    let mangle = vec![
        format!("-A {chain} {proto} -j TEE --gateway {gw}{oif}"),
        "-A POSTROUTING -m state --state UNTRACKED -p udp".to_string(),
        "-A POSTROUTING -o tunc -p tcp".to_string(),
    ];
    let forward = vec!["-A FORWARD -m state --state NEW".to_string()];
    let rules = super::scenarios_xt_targets::save_file(v6, &mangle, &forward);
    let mut sc = Scenario::new(format!("tee-{i}"), rules);
    with_tunc(&mut sc);
    talk(&mut sc, rng, v6, false, false);
    sc
}
