//! The forward path: TTL / hop-limit decrement before the forward hook, "time exceeded"
//! for TTL ≤ 1, MTU checks, and fragments — held and reassembled before conntrack, then
//! re-emitted at their original boundaries — as Linux's `ip_forward` / `ip6_forward`.

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::packet::PacketBuilder;
use nftvm_runtime::pipeline::{Fate, Generated};
use nftvm_vm::keys::Hook;
use support::*;

const ACCEPT: &str = "table inet f\nchain inet f fwd type filter hook forward priority 0 policy accept\n";

/// A forward chain that only counts (so conntrack is on).
const TRACKED: &str = "table inet f
chain inet f fwd type filter hook forward priority 0 policy accept

inet f fwd
  [ ct load state => reg 1 ]
  [ counter pkts 0 bytes 0 ]
";

fn with_ttl(p: &[u8], ttl: u8) -> Vec<u8> {
    let mut p = p.to_vec();
    p[8] = ttl;
    p[10..12].copy_from_slice(&[0, 0]);
    let c = nftvm_runtime::checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

#[test]
fn forwarding_decrements_the_ttl_before_the_forward_hook() {
    let prog = "table ip f
chain ip f fwd type filter hook forward priority 0 policy drop

ip f fwd
  [ payload load 1b @ network header + 8 => reg 1 ]
  [ cmp eq reg 1 0x3f ]
  [ immediate reg 0 accept ]
";
    let mut p = pipeline(prog);
    let o = send(&mut p, TUNA, 1, &udp4("10.0.1.2", 1000, "10.0.2.2", 53, b"q"));
    let out = single_out(&o, TUNB);
    assert_eq!(out[8], 63, "the forward chain saw TTL 63 and accepted");
    assert!(nftvm_runtime::checksum::verify(&out[..20], 0));
}

#[test]
fn ttl_one_is_answered_with_time_exceeded_and_never_reaches_forward() {
    let mut p = pipeline(ACCEPT);
    let sent = with_ttl(&udp4("10.0.1.2", 1000, "10.0.2.2", 33434, b"probe"), 1);
    let o = send(&mut p, TUNA, 1, &sent);
    assert!(matches!(o.packet.fate, Fate::Dropped(_)));
    assert_eq!(o.packet.path, [Hook::Prerouting]);
    let [err] = o.generated.as_slice() else { panic!("{o:#?}") };
    assert_eq!(err.generated, Some(Generated::IcmpError { kind: 11, code: 0 }));
    let icmp = single_out(&o, TUNA);
    assert_eq!((icmp[20], icmp[21]), (11, 0));
    assert_eq!(&icmp[12..16], &[10, 0, 1, 1], "from the address facing the sender");
    assert_eq!(&icmp[28..], &sent[..], "quotes the packet as received");
}

#[test]
fn df_packets_too_big_get_fragmentation_needed_and_others_are_fragmented() {
    let mut p = pipeline(ACCEPT);
    let b = p.host().iface_by_name("tunb").unwrap();
    p.host_mut().set_mtu(b, 1280);
    let big = PacketBuilder::ipv4(v4("10.0.1.2"), v4("10.0.2.2")).udp(1, 2).payload(&[7u8; 1400]);
    let df = send(&mut p, TUNA, 1, &big.clone().dont_frag().build());
    let icmp = single_out(&df, TUNA);
    assert_eq!((icmp[20], icmp[21]), (3, 4));
    assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1280, "next-hop MTU");
    let frag = send(&mut p, TUNA, 2, &big.build());
    let pieces: Vec<&Vec<u8>> = frag.emitted.iter().map(|e| &e.bytes).collect();
    assert_eq!(pieces.len(), 2);
    assert!(pieces.iter().all(|x| x.len() <= 1280));
}

#[test]
fn fragments_are_reassembled_before_conntrack_and_refragmented_as_they_came() {
    let mut p = pipeline(TRACKED);
    let frags = PacketBuilder::ipv4(v4("10.0.1.2"), v4("10.0.2.2"))
        .ident(0x4242)
        .udp(1000, 2000)
        .payload(&[7u8; 100])
        .build_fragments(48);
    assert_eq!(frags.len(), 3);
    let first = send(&mut p, TUNA, 1, &frags[0]);
    assert_eq!(first.packet.fate, Fate::Held);
    assert!(first.emitted.is_empty());
    let _ = send(&mut p, TUNA, 1, &frags[2]);
    let last = send(&mut p, TUNA, 1, &frags[1]);
    assert!(last.reassembled);
    assert_eq!(last.packet.fate, Fate::Accepted);
    let out: Vec<Vec<u8>> = last.emitted.iter().map(|e| e.bytes.clone()).collect();
    let expected: Vec<Vec<u8>> = frags
        .iter()
        .map(|f| {
            let mut f = with_ttl(f, 63);
            f[10..12].copy_from_slice(&[0, 0]);
            let c = nftvm_runtime::checksum::checksum(&f[..20]);
            f[10..12].copy_from_slice(&c.to_be_bytes());
            f
        })
        .collect();
    assert_eq!(out, expected, "the original fragments, TTL 63 (as Linux 6.18 emits them)");
    // Conntrack counted the datagram once, at its full length.
    assert_eq!(p.engine().state().counter(0), Some((1, 128)));
}

#[test]
fn ipv6_hop_limit_and_no_route() {
    let mut p = pipeline(ACCEPT);
    let pkt = PacketBuilder::ipv6(v6("fd00:1::2"), v6("fd00:2::2")).udp(1, 2).payload(b"x").build();
    let o = send(&mut p, TUNA, 1, &pkt);
    assert_eq!(single_out(&o, TUNB)[7], 63);
    let lost = PacketBuilder::ipv6(v6("fd00:1::2"), v6("2001:db8::1")).udp(1, 2).payload(b"x").build();
    let o = send(&mut p, TUNA, 2, &lost);
    let err = single_out(&o, TUNA);
    assert_eq!((err[40], err[41]), (1, 0), "ICMPv6 no route");
}
