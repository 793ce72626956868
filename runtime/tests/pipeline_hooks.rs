//! Hook semantics of the pipeline (the kernel's `nf_hook_slow` loop as nf_tables uses it):
//! base chains run in priority order (later registration first on ties, as observed on
//! Linux 6.18), `accept` ends only its chain, `drop` ends the packet, a queue without
//! listener drops unless bypassed, and the path a packet takes through the hooks.

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::pipeline::Fate;
use nftvm_vm::keys::Hook;
use support::*;

/// A forward chain per priority setting the mark to its number only if the mark is
/// still what the previous chain left; a last chain drops unless the mark is 3.
const ORDER: &str = "table ip t
chain ip t c2 type filter hook forward priority 20 policy accept
chain ip t c1 type filter hook forward priority -10 policy accept
chain ip t c3 type filter hook forward priority 30 policy accept
chain ip t check type filter hook forward priority 100 policy drop

ip t c1
  [ meta load mark => reg 1 ]
  [ cmp eq reg 1 0x00000000 ]
  [ immediate reg 1 0x00000001 ]
  [ meta set mark with reg 1 ]

ip t c2
  [ meta load mark => reg 1 ]
  [ cmp eq reg 1 0x00000001 ]
  [ immediate reg 1 0x00000002 ]
  [ meta set mark with reg 1 ]

ip t c3
  [ meta load mark => reg 1 ]
  [ cmp eq reg 1 0x00000002 ]
  [ immediate reg 1 0x00000003 ]
  [ meta set mark with reg 1 ]

ip t check
  [ meta load mark => reg 1 ]
  [ cmp eq reg 1 0x00000003 ]
  [ immediate reg 0 accept ]
";

#[test]
fn base_chains_run_in_priority_order_not_declaration_order() {
    let mut p = pipeline(ORDER);
    let o = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    assert_eq!(o.packet.fate, Fate::Accepted, "{o:#?}");
    let chains: Vec<&str> = o.packet.rules.iter().map(|r| p.program().chain_name(r.chain)).collect();
    assert_eq!(chains, ["c1", "c2", "c3", "check"]);
}

#[test]
fn equal_priorities_run_the_later_declared_chain_first() {
    // Linux inserts a hook entry before existing ones of the same priority.
    let prog = "table ip t
chain ip t a type filter hook prerouting priority 0 policy accept
chain ip t b type filter hook prerouting priority 0 policy accept

ip t a
  [ immediate reg 1 0x00000001 ]
  [ meta set mark with reg 1 ]

ip t b
  [ immediate reg 1 0x00000002 ]
  [ meta set mark with reg 1 ]
";
    let mut p = pipeline(prog);
    let o = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    let chains: Vec<&str> = o.packet.rules.iter().map(|r| p.program().chain_name(r.chain)).collect();
    assert_eq!(chains, ["b", "a"]);
}

#[test]
fn accept_ends_only_its_chain_and_drop_ends_the_packet() {
    let prog = "table inet f
chain inet f first type filter hook forward priority 0 policy accept
chain inet f second type filter hook forward priority 10 policy accept

inet f first
  [ immediate reg 0 accept ]

inet f second
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ immediate reg 0 drop ]
";
    let mut p = pipeline(prog);
    let udp = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    assert!(matches!(udp.packet.fate, Fate::Dropped(_)), "accept in `first` must not skip `second`");
    assert_eq!(udp.packet.path, [Hook::Prerouting, Hook::Forward]);
    assert!(udp.emitted.is_empty());
    let tcp = send(&mut p, TUNA, 2, &tcp4("10.0.1.2", 1000, "10.0.2.2", 80, 0x02, 1, 0, b""));
    assert_eq!(tcp.packet.fate, Fate::Accepted);
    assert_eq!(tcp.packet.path, [Hook::Prerouting, Hook::Forward, Hook::Postrouting]);
    assert_eq!(tcp.packet.oif, Some(TUNB));
}

#[test]
fn queue_without_listener_drops_unless_bypassed() {
    let prog = "table ip q
chain ip q f type filter hook forward priority 0 policy accept

ip q f
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0035 ]
  [ queue num 3 ]

ip q f
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0036 ]
  [ queue num 3 bypass ]
";
    let mut p = pipeline(prog);
    let q = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    assert!(matches!(q.packet.fate, Fate::Dropped(_)));
    let b = send(&mut p, TUNA, 2, &udp4("10.0.1.2", 1000, "10.0.2.2", 54, b"q"));
    assert_eq!(b.packet.fate, Fate::Accepted);
}

#[test]
fn packets_for_the_host_take_input_and_get_answers_through_output() {
    let prog = "table inet f
chain inet f in type filter hook input priority 0 policy accept
chain inet f out type filter hook output priority 0 policy accept
";
    let mut p = pipeline(prog);
    let echo = nftvm_runtime::packet::PacketBuilder::ipv4(v4("10.0.1.2"), v4("10.0.1.1"))
        .icmp_echo_request(9, 1)
        .payload(b"ping")
        .build();
    let o = send(&mut p, TUNA, 1, &echo);
    assert_eq!(o.packet.path, [Hook::Prerouting, Hook::Input]);
    assert!(o.packet.local);
    assert_eq!(o.out(), None, "the request itself does not leave");
    let [reply] = o.generated.as_slice() else { panic!("{o:#?}") };
    assert_eq!(reply.path, [Hook::Output, Hook::Postrouting]);
    let sent = single_out(&o, TUNA);
    assert_eq!(&sent[12..20], &[10, 0, 1, 1, 10, 0, 1, 2], "from the host to the client");
}

/// A netdev chain on `tuna` copying every packet to `tunb` (interface index 3), and an
/// egress chain on `tunb` that drops whatever leaves it when `EGRESS_DROPS` is kept.
const DUP_TO_TUNB: &str = "table netdev t
chain netdev t in type filter hook ingress device tuna priority 0 policy accept
chain netdev t out type filter hook egress device tunb priority 0 policy accept

netdev t in
  [ immediate reg 1 0x00000003 ]
  [ dup sreg_dev 1 ]
";

const EGRESS_DROPS: &str = "
netdev t out
  [ immediate reg 0 drop ]
";

#[test]
fn a_netdev_copy_dropped_at_the_target_egress_is_reported_dropped() {
    use nftvm_runtime::pipeline::Generated;
    let packet = udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q");

    let mut p = pipeline(DUP_TO_TUNB);
    let o = send(&mut p, TUNA, 1, &packet);
    assert_eq!(o.generated.len(), 1, "{o:#?}");
    assert_eq!((o.generated[0].generated, &o.generated[0].fate), (Some(Generated::Dup), &Fate::Accepted));
    assert_eq!(o.generated[0].oif, Some(TUNB));
    assert_eq!(o.emitted.len(), 2, "the copy and the forwarded original: {o:#?}");

    let mut p = pipeline(&format!("{DUP_TO_TUNB}{EGRESS_DROPS}"));
    let o = send(&mut p, TUNA, 1, &packet);
    assert_eq!(o.generated.len(), 1, "{o:#?}");
    assert!(matches!(o.generated[0].fate, Fate::Dropped(_)), "{o:#?}");
    assert_eq!(o.generated[0].oif, None);
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "the original leaves tunb too: {o:#?}");
    assert!(o.emitted.is_empty(), "{o:#?}");
}
