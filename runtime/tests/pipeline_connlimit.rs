//! iptables' `-m connlimit` as the kernel's xt match runs it (`xt_connlimit` over
//! `nf_conncount`), beside nft's per-element `ct count` that `iptables-translate` writes:
//! without `--syn` the packet that closes the last connection of its address group is
//! dropped, and the group stays to drop the late packets of that connection too. The
//! kernel differential suite (`dynset` group) checks the same against Linux.

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::conntrack::SECOND;
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::pipeline::Fate;
use support::*;

/// Forwarded TCP counted per source address; the match holds up to 5 connections.
const CONNLIMIT_UPTO_5: &str = "table ip t
chain ip t fwd type filter hook forward priority 0 policy accept

ip t fwd
  [ match name connlimit rev 1 upto 5 mask 32 saddr ]
  [ counter pkts 0 bytes 0 ]
";

/// A segment of the connection 10.0.1.2:40000 → 10.0.2.2:80, from the client or back.
fn seg(from_client: bool, flags: u8, seq: u32, ack: u32) -> (IfaceId, Vec<u8>) {
    if from_client {
        (TUNA, tcp4("10.0.1.2", 40000, "10.0.2.2", 80, flags, seq, ack, b""))
    } else {
        (TUNB, tcp4("10.0.2.2", 80, "10.0.1.2", 40000, flags, seq, ack, b""))
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

#[test]
fn the_packet_closing_a_groups_last_connection_is_dropped_and_the_group_stays() {
    let mut p = pipeline(CONNLIMIT_UPTO_5);
    let handshake_and_close = [
        seg(true, SYN, 100, 0),
        seg(false, SYN | ACK, 500, 101),
        seg(true, ACK, 101, 501),
        seg(true, FIN | ACK, 101, 501),
        seg(false, FIN | ACK, 501, 102),
    ];
    for (k, (iif, packet)) in handshake_and_close.iter().enumerate() {
        let o = send(&mut p, *iif, 1, packet);
        assert_eq!(o.packet.fate, Fate::Accepted, "segment {k}: {o:#?}");
    }
    // The last ACK puts the connection in TIME_WAIT: its group, collected, counts nothing,
    // and the connection (established) is not counted again: the kernel's hotdrop.
    let (iif, last_ack) = seg(true, ACK, 102, 502);
    let o = send(&mut p, iif, 1, &last_ack);
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "{o:#?}");
    // Collected by the timers, the empty group is kept: the retransmitted ACK is dropped
    // too (a group made afresh would count it and let it pass).
    p.tick(5 * SECOND);
    let o = send(&mut p, iif, 5, &last_ack);
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "{o:#?}");
    // A new connection of the group is counted and passes.
    let syn = tcp4("10.0.1.2", 40001, "10.0.2.2", 80, SYN, 900, 0, b"");
    let o = send(&mut p, TUNA, 5, &syn);
    assert_eq!(o.packet.fate, Fate::Accepted, "{o:#?}");
}
