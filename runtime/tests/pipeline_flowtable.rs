//! Flowtables: `flow add @f` offloads a forwarded connection once it qualifies; its later
//! packets arriving on the flowtable's devices are forwarded from the ingress hook (NAT
//! applied, TTL decremented, counted when the flowtable counts) without prerouting, forward
//! or postrouting; a TCP FIN or RST, or 30 s without packets, sends it back to the slow path.

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::pipeline::{Fate, Outcome};
use nftvm_vm::keys::Hook;
use support::*;

/// `flow add @ft` for everything forwarded, on both routers' interfaces; a counter rule
/// after it counts the packets that reached the forward hook.
fn program(extra: &str) -> String {
    format!(
        "table inet t
chain inet t fwd type filter hook forward priority 0 policy accept
chain inet t post type nat hook postrouting priority 100 policy accept
flowtable inet t ft hook ingress priority 0 device tuna device tunb counter

inet t fwd
  [ flow_offload flowtable ft ]

inet t fwd
  [ counter pkts 0 bytes 0 ]
{extra}"
    )
}

const MASQUERADE: &str = "
inet t post
  [ meta load oifname => reg 1 ]
  [ cmp eq reg 1 0x74756e62 0x00000000 0x00000000 0x00000000 ]
  [ masq ]
";

fn saw_forward(o: &Outcome) -> bool {
    o.packet.path.contains(&Hook::Forward)
}

#[test]
fn udp_is_offloaded_once_confirmed_and_then_skips_the_ip_hooks() {
    let mut p = pipeline(&program(""));
    let out = udp4("10.0.1.2", 5000, "10.0.2.2", 53, b"q");
    let back = udp4("10.0.2.2", 53, "10.0.1.2", 5000, b"a");
    // The first packet's connection is not confirmed in the forward hook: no offload.
    let o = send(&mut p, TUNA, 1, &out);
    assert!(saw_forward(&o));
    assert!(!ct_lines(&p)[0].contains("OFFLOAD"), "{:?}", ct_lines(&p));
    // The reply's connection is confirmed: offloaded (and the rule goes on).
    let o = send(&mut p, TUNB, 2, &back);
    assert!(saw_forward(&o) && o.packet.rules.iter().any(|r| r.rule == 1), "{o:#?}");
    assert!(ct_lines(&p)[0].contains("[OFFLOAD]"), "{:?}", ct_lines(&p));
    // From now on both directions take the fast path from their device's ingress hook.
    for (iif, oif, pkt) in [(TUNA, TUNB, &out), (TUNB, TUNA, &back)] {
        let o = send(&mut p, iif, 3, pkt);
        assert_eq!(o.packet.fate, Fate::Accepted);
        assert_eq!(o.packet.path, [Hook::Ingress], "no IP hook: {o:#?}");
        let sent = single_out(&o, oif);
        assert_eq!(sent[8], 63, "TTL decremented");
        assert!(nftvm_runtime::checksum::verify(&sent[..20], 0));
    }
    // The flowtable counts: 2 packets each way in the slow path (1 + 1 accounted by
    // conntrack) plus one each way in the fast path.
    let line = &ct_lines(&p)[0];
    assert!(line.contains("packets=2") && !line.contains("packets=1 "), "{line}");
}

#[test]
fn an_idle_flow_goes_back_to_the_slow_path_and_is_offloaded_again() {
    let mut p = pipeline(&program(""));
    let out = udp4("10.0.1.2", 5000, "10.0.2.2", 53, b"q");
    let back = udp4("10.0.2.2", 53, "10.0.1.2", 5000, b"a");
    send(&mut p, TUNA, 1, &out);
    send(&mut p, TUNB, 2, &back);
    assert!(!saw_forward(&send(&mut p, TUNA, 20, &out)), "offloaded");
    // 30 s after the last packet the flow is gone: the next packet is forwarded normally,
    // and offloads the connection again.
    let o = send(&mut p, TUNA, 51, &out);
    assert!(saw_forward(&o), "{o:#?}");
    assert!(!saw_forward(&send(&mut p, TUNA, 52, &out)));
}

#[test]
fn tcp_offloads_when_established_and_a_fin_returns_to_the_slow_path() {
    let mut p = pipeline(&program(""));
    let (syn, synack, ack) = (0x02, 0x12, 0x10);
    let c = |flags, seq, ackn| tcp4("10.0.1.2", 40000, "10.0.2.2", 80, flags, seq, ackn, b"");
    let s = |flags, seq, ackn| tcp4("10.0.2.2", 80, "10.0.1.2", 40000, flags, seq, ackn, b"");
    send(&mut p, TUNA, 1, &c(syn, 100, 0));
    send(&mut p, TUNB, 1, &s(synack, 500, 101));
    // The handshake's last ACK makes the connection established and assured in the
    // prerouting hook, so the forward hook offloads it.
    let o = send(&mut p, TUNA, 1, &c(ack, 101, 501));
    assert!(saw_forward(&o));
    assert!(ct_lines(&p)[0].contains("[OFFLOAD]"), "{:?}", ct_lines(&p));
    let o = send(&mut p, TUNB, 1, &s(ack, 501, 101));
    assert_eq!(o.packet.path, [Hook::Ingress]);
    let data = tcp4("10.0.1.2", 40000, "10.0.2.2", 80, ack, 101, 501, b"GET /");
    let o = send(&mut p, TUNA, 2, &data);
    assert_eq!(o.packet.path, [Hook::Ingress], "offloaded: {:?}", ct_lines(&p));
    // A FIN tears the flow down and is forwarded through the hooks.
    let o = send(&mut p, TUNA, 3, &c(0x11, 106, 501));
    assert!(saw_forward(&o), "{o:#?}");
    assert!(!ct_lines(&p)[0].contains("OFFLOAD"), "{:?}", ct_lines(&p));
}

#[test]
fn the_fast_path_applies_the_connections_nat() {
    let mut p = pipeline(&program(MASQUERADE));
    let out = udp4("10.0.1.2", 5000, "10.0.2.2", 53, b"q");
    let o = send(&mut p, TUNA, 1, &out);
    let first = single_out(&o, TUNB);
    assert_eq!(&first[12..16], &[10, 0, 2, 1], "masqueraded to tunb's address");
    let nat_port = u16::from_be_bytes([first[20], first[21]]);
    let back = udp4("10.0.2.2", 53, "10.0.2.1", nat_port, b"a");
    let o = send(&mut p, TUNB, 2, &back);
    assert_eq!(&single_out(&o, TUNA)[16..20], &[10, 0, 1, 2], "un-NATed by conntrack");
    // Offloaded: the fast path rewrites both directions itself, checksums included.
    let o = send(&mut p, TUNA, 3, &out);
    assert_eq!(o.packet.path, [Hook::Ingress]);
    let fast = single_out(&o, TUNB);
    assert_eq!(fast, first, "the same bytes the slow path sent (NAT, TTL, checksums)");
    assert_eq!(&fast[12..16], &[10, 0, 2, 1]);
    assert_eq!(u16::from_be_bytes([fast[20], fast[21]]), nat_port);
    assert!(nftvm_runtime::checksum::verify(&fast[..20], 0));
    let o = send(&mut p, TUNB, 4, &back);
    assert_eq!(o.packet.path, [Hook::Ingress]);
    let fast_back = single_out(&o, TUNA);
    assert_eq!(&fast_back[16..20], &[10, 0, 1, 2]);
    assert_eq!(u16::from_be_bytes([fast_back[22], fast_back[23]]), 5000);
}

#[test]
fn a_reload_returns_offloaded_flows_to_the_slow_path() {
    let mut p = pipeline(&program(""));
    let out = udp4("10.0.1.2", 5000, "10.0.2.2", 53, b"q");
    send(&mut p, TUNA, 1, &out);
    send(&mut p, TUNB, 2, &udp4("10.0.2.2", 53, "10.0.1.2", 5000, b"a"));
    assert!(!saw_forward(&send(&mut p, TUNA, 3, &out)), "offloaded");
    let prog = nftvm_vm::text::assemble(&program("")).expect("assembles");
    let prog = std::sync::Arc::new(nftvm_vm::verify(prog).expect("verifies"));
    p.reload(prog).expect("reloads");
    assert!(!ct_lines(&p)[0].contains("OFFLOAD"), "{:?}", ct_lines(&p));
    // The new program's flowtable offloads the connection again.
    assert!(saw_forward(&send(&mut p, TUNA, 4, &out)));
    assert!(!saw_forward(&send(&mut p, TUNA, 5, &out)));
}
