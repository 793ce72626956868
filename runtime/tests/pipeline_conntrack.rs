//! Conntrack and NAT in the pipeline: entries are confirmed only when a packet is accepted
//! (a dropped first packet leaves none), `notrack` gives untracked packets, nat chains run
//! for a connection's first packet only and its binding applies to later packets and to
//! replies.

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::conntrack::CtInfo;
use nftvm_runtime::pipeline::Fate;
use support::*;

/// Accept new UDP to port 53 (counter), established both ways; drop the rest.
const STATEFUL: &str = "table inet f
chain inet f fwd type filter hook forward priority 0 policy drop

inet f fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ immediate reg 0 accept ]

inet f fwd
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0035 ]
  [ immediate reg 0 accept ]
";

#[test]
fn an_accepted_first_packet_confirms_its_entry_and_a_dropped_one_leaves_none() {
    let mut p = pipeline(STATEFUL);
    let dropped = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 54, b"q"));
    assert!(matches!(dropped.packet.fate, Fate::Dropped(_)));
    assert_eq!(dropped.packet.ct_state, Some(CtInfo::New));
    assert!(ct_lines(&p).is_empty(), "a dropped first packet leaves no entry: {:?}", ct_lines(&p));

    let q = send(&mut p, TUNA, 2, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    assert_eq!(q.packet.fate, Fate::Accepted);
    assert_eq!(ct_lines(&p).len(), 1);
    let reply = send(&mut p, TUNB, 3, &udp4("10.0.2.2", 53, "10.0.1.2", 1000, b"a"));
    assert_eq!(reply.packet.ct_state, Some(CtInfo::EstablishedReply));
    assert_eq!(reply.packet.fate, Fate::Accepted);
    assert!(!ct_lines(&p)[0].contains("UNREPLIED"), "{:?}", ct_lines(&p));
}

#[test]
fn notrack_makes_packets_untracked() {
    let prog = "table ip raw
chain ip raw pre type filter hook prerouting priority -300 policy accept
table ip f
chain ip f fwd type filter hook forward priority 0 policy drop

ip raw pre
  [ notrack ]

ip f fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000040 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ immediate reg 0 accept ]
";
    let mut p = pipeline(prog);
    let o = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    assert_eq!(o.packet.ct_state, Some(CtInfo::Untracked));
    assert_eq!(o.packet.fate, Fate::Accepted);
    assert!(ct_lines(&p).is_empty());
}

/// Masquerade out of tunb, with a counter in the nat chain (it must count one packet per
/// connection).
const MASQ: &str = "table ip nat
chain ip nat post type nat hook postrouting priority 100 policy accept

ip nat post
  [ meta load oifname => reg 1 ]
  [ cmp eq reg 1 0x74756e62 0x00000000 0x00000000 0x00000000 ]
  [ counter pkts 0 bytes 0 ]
  [ masq ]
";

#[test]
fn nat_chains_run_only_for_the_first_packet_and_the_binding_applies_both_ways() {
    let mut p = pipeline(MASQ);
    for t in 1..=3 {
        let o = send(&mut p, TUNA, t, &udp4("10.0.1.2", 40000, "10.0.2.2", 53, b"q"));
        let out = single_out(&o, TUNB);
        assert_eq!(&out[12..16], &[10, 0, 2, 1], "masqueraded to tunb's address");
        let nat_rules = o.packet.rules.iter().filter(|r| p.program().chain_name(r.chain) == "post").count();
        assert_eq!(nat_rules, usize::from(t == 1), "packet {t}: the nat chain runs only for the first");
    }
    assert_eq!(p.engine().state().counter(0), Some((1, 29)));
    let back = send(&mut p, TUNB, 4, &udp4("10.0.2.2", 53, "10.0.2.1", 40000, b"a"));
    let out = single_out(&back, TUNA);
    assert_eq!(&out[16..20], &[10, 0, 1, 2], "the reply is de-masqueraded");
    assert_eq!(back.packet.ct_state, Some(CtInfo::EstablishedReply));
}

#[test]
fn a_reset_reject_closes_an_established_connection() {
    // nf_ct_set_closing (Linux 6.x): CLOSE with CLOSE's timeout.
    let prog = "table inet f
chain inet f fwd type filter hook forward priority 0 policy accept

inet f fwd
  [ meta load len => reg 1 ]
  [ cmp gt reg 1 0x0000012c ]
  [ reject type 1 code 0 ]

inet f fwd
  [ ct load state => reg 1 ]
";
    let mut p = pipeline(prog);
    send(&mut p, TUNA, 1, &tcp4("10.0.1.2", 5000, "10.0.2.2", 80, 0x02, 100, 0, b""));
    send(&mut p, TUNB, 1, &tcp4("10.0.2.2", 80, "10.0.1.2", 5000, 0x12, 900, 101, b""));
    send(&mut p, TUNA, 1, &tcp4("10.0.1.2", 5000, "10.0.2.2", 80, 0x10, 101, 901, b""));
    assert!(ct_lines(&p)[0].contains(" ESTABLISHED "), "{:?}", ct_lines(&p));
    let big = send(&mut p, TUNA, 2, &tcp4("10.0.1.2", 5000, "10.0.2.2", 80, 0x18, 101, 901, &[0u8; 400]));
    assert!(matches!(big.packet.fate, Fate::Dropped(_)));
    let rst = single_out(&big, TUNA);
    assert_eq!(rst[33] & 0x04, 0x04, "a reset goes back to the client");
    let lines = ct_lines(&p);
    assert!(lines[0].starts_with("tcp      6 10 CLOSE "), "{lines:?}");
}

/// Only established/related traffic, counted.
const ESTABLISHED_ONLY: &str = "table inet f
chain inet f fwd type filter hook forward priority 0 policy drop

inet f fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 0 accept ]
";

#[test]
fn a_reload_builds_a_new_engine_on_the_same_kind_and_conntrack_survives() {
    use std::sync::Arc;

    use nftvm_runtime::pipeline::VmEngine;
    use nftvm_vm::Engine;

    for kind in Engine::ALL {
        let prog = |text: &str| {
            Arc::new(nftvm_vm::verify(nftvm_vm::text::assemble(text).expect("asm")).expect("ok"))
        };
        let engine = VmEngine::build(prog(STATEFUL), kind, 0).expect("engine");
        let mut p = nftvm_runtime::pipeline::Pipeline::new(host(), Box::new(engine), Default::default());
        let q = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
        assert_eq!(q.packet.fate, Fate::Accepted, "{kind}");

        p.reload(prog(ESTABLISHED_ONLY)).expect("reload");
        assert_eq!(p.engine().kind(), kind);
        assert_eq!(ct_lines(&p).len(), 1, "{kind}: the entry survives the reload");
        let reply = send(&mut p, TUNB, 2, &udp4("10.0.2.2", 53, "10.0.1.2", 1000, b"a"));
        assert_eq!(reply.packet.ct_state, Some(CtInfo::EstablishedReply), "{kind}");
        assert_eq!(reply.packet.fate, Fate::Accepted, "{kind}");
        let fresh = send(&mut p, TUNA, 3, &udp4("10.0.1.3", 1000, "10.0.2.2", 53, b"q"));
        assert!(matches!(fresh.packet.fate, Fate::Dropped(_)), "{kind}: the new rules apply");
        // The new program's state is its own: its counter saw the reply only.
        assert_eq!(p.engine().state().counter(0).map(|c| c.0), Some(1), "{kind}");
    }
}
