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

/// A dynamic set of two per-source `ct count` elements (`ct state new tcp flags syn add @s
/// { ip saddr ct count over 5 } drop`); a new connection's SYN whose source is not in it
/// (the set was full) is dropped (`ct state new tcp flags syn ip saddr != @s drop`).
fn per_source_set_of_2() -> String {
    per_source_set(2, 5)
}

/// [`per_source_set_of_2`] with room for `size` sources, `limit` connections each.
fn per_source_set(size: u32, limit: u32) -> String {
    let new_syn = "  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ payload load 1b @ transport header + 13 => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x02 ) ^ 0x00 ]
  [ cmp neq reg 1 0x00 ]
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ payload load 4b @ network header + 12 => reg 1 ]";
    format!(
        "table ip t
set ip t s flags 0x20 key 4n size {size}
chain ip t fwd type filter hook forward priority 0 policy accept

ip t fwd
{new_syn}
  [ dynset add reg_key 1 set s expr [ connlimit count {limit} flags 1 ] ]
  [ immediate reg 0 drop ]

ip t fwd
{new_syn}
  [ lookup reg 1 set s 0x1 ]
  [ immediate reg 0 drop ]
"
    )
}

const RST: u8 = 0x04;

/// The set's garbage collection removes an element whose connection list counts nothing,
/// so a set filled by the sources of closed connections takes new sources again — as Linux
/// does (checked on 6.18: a `size 2` set filled by two connections, both reset, took a
/// third source after its next collection, and refused it before).
#[test]
fn a_full_sets_elements_go_when_their_connections_close() {
    let mut p = pipeline(&per_source_set_of_2());
    let syn = |src: &str| tcp4(src, 40000, "10.0.2.2", 80, SYN, 100, 0, b"");
    for src in ["10.0.1.2", "10.0.1.3"] {
        let steps = [
            (TUNA, syn(src)),
            (TUNB, tcp4("10.0.2.2", 80, src, 40000, SYN | ACK, 500, 101, b"")),
            (TUNA, tcp4(src, 40000, "10.0.2.2", 80, ACK, 101, 501, b"")),
            (TUNA, tcp4(src, 40000, "10.0.2.2", 80, RST, 101, 0, b"")),
        ];
        for (k, (iif, packet)) in steps.iter().enumerate() {
            let o = send(&mut p, *iif, 1, packet);
            assert_eq!(o.packet.fate, Fate::Accepted, "{src}, segment {k}: {o:#?}");
        }
    }
    // Full: a third source is not added, and its SYN is dropped.
    let o = send(&mut p, TUNA, 1, &syn("10.0.1.4"));
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "{o:#?}");
    // The collection (every second) finds both lists empty (their connections closed):
    // the elements go, and a new source takes a place.
    p.tick(2 * SECOND);
    let o = send(&mut p, TUNA, 2, &syn("10.0.1.5"));
    assert_eq!(o.packet.fate, Fate::Accepted, "{o:#?}");
}

/// `ct state new ct count over 2 drop` in forward.
const CT_COUNT_OVER_2: &str = "table ip t
chain ip t fwd type filter hook forward priority 0 policy accept

ip t fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ connlimit count 2 flags 1 ]
  [ immediate reg 0 drop ]
";

/// `-m connlimit --connlimit-above 2` (per source address) dropping.
const CONNLIMIT_ABOVE_2: &str = "table ip t
chain ip t fwd type filter hook forward priority 0 policy accept

ip t fwd
  [ match name connlimit rev 1 above 2 mask 32 saddr ]
  [ immediate reg 0 drop ]
";

/// A client's SYN to 10.0.2.2:80 from source port `sport`.
fn syn_from(sport: u16) -> Vec<u8> {
    tcp4("10.0.1.2", sport, "10.0.2.2", 80, SYN, 100, 0, b"")
}

/// Two pipelines (two workers, a conntrack table each) counting connections together and
/// sharing their program state (its meters and the sets the rules write), as `nftvm run
/// --workers 2` makes them.
fn two_workers(program: &str) -> [nftvm_runtime::pipeline::Pipeline; 2] {
    use nftvm_runtime::pipeline::{Pipeline, PipelineConfig, VmEngine};
    use std::sync::Arc;
    let prog = nftvm_vm::text::assemble(program).unwrap_or_else(|e| panic!("assemble: {e}"));
    let prog = Arc::new(nftvm_vm::verify(prog).unwrap_or_else(|e| panic!("verify: {e}")));
    let state = Arc::new(nftvm_vm::interp::SharedState::new());
    let counts = Arc::new(nftvm_runtime::pipeline::conncount::SharedCounts::new());
    [0, 1].map(|worker| {
        let engine = VmEngine::interpreter(prog.clone(), 0).sharing(Some(&state));
        let mut p = Pipeline::new(host(), Box::new(engine), PipelineConfig::default());
        p.share_conn_counts(Some(counts.clone()), worker);
        p
    })
}

/// The kernel counts every CPU's connections in one list: two workers' pipelines, each
/// with the connections of its own flows, count them together — a rule's `ct count` and
/// `-m connlimit`'s address groups alike — and a connection one worker sees close leaves
/// the others' counts at that worker's next collection.
#[test]
fn workers_count_their_connections_together() {
    for program in [CT_COUNT_OVER_2, CONNLIMIT_ABOVE_2] {
        let [mut a, mut b] = two_workers(program);
        let accepted = |o: &nftvm_runtime::pipeline::Outcome| o.packet.fate == Fate::Accepted;
        assert!(accepted(&send(&mut a, TUNA, 1, &syn_from(40001))), "1st connection on worker 0");
        assert!(accepted(&send(&mut b, TUNA, 1, &syn_from(40002))), "2nd connection on worker 1");
        // Worker 0 holds one connection, worker 1 another: a third is over 2.
        let o = send(&mut a, TUNA, 1, &syn_from(40003));
        assert!(matches!(o.packet.fate, Fate::Dropped(_)), "3rd connection, {program}: {o:#?}");
        let o = send(&mut b, TUNA, 1, &syn_from(40004));
        assert!(matches!(o.packet.fate, Fate::Dropped(_)), "4th connection, {program}: {o:#?}");
        // Worker 1's connection is reset; once its timers have collected its lists, worker
        // 0 lets a new connection through.
        let rst = tcp4("10.0.2.2", 80, "10.0.1.2", 40002, 0x04 | ACK, 500, 101, b"");
        send(&mut b, TUNB, 2, &rst);
        b.tick(3 * SECOND);
        let o = send(&mut a, TUNA, 3, &syn_from(40005));
        assert!(accepted(&o), "after the reset, {program}: {o:#?}");
    }
}

/// A reload loads new rules, whose lists start empty as the kernel's do after `nft -f`:
/// the connections counted by the old rules are not in them (an established connection is
/// never added), so a new connection is counted alone.
#[test]
fn a_reload_starts_the_counts_over() {
    let mut p = pipeline(CT_COUNT_OVER_2);
    for sport in [40001, 40002] {
        assert_eq!(send(&mut p, TUNA, 1, &syn_from(sport)).packet.fate, Fate::Accepted);
    }
    let o = send(&mut p, TUNA, 1, &syn_from(40003));
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "{o:#?}");
    let prog = nftvm_vm::text::assemble(CT_COUNT_OVER_2).expect("assembles");
    p.reload(std::sync::Arc::new(nftvm_vm::verify(prog).expect("verifies"))).expect("reloads");
    let o = send(&mut p, TUNA, 2, &syn_from(40004));
    assert_eq!(o.packet.fate, Fate::Accepted, "{o:#?}");
}

/// `add @s { ip saddr ct count over 2 }` on two workers: the set is one copy, and an
/// element's connections are counted over both workers' tables — a source's third
/// connection is over 2 whichever workers hold the first two — and the element goes (its
/// place in a full set free again) only once no worker counts a connection in it.
#[test]
fn workers_count_a_set_elements_connections_together() {
    let [mut a, mut b] = two_workers(&per_source_set(1, 2));
    let syn = |src: &str, sport: u16| tcp4(src, sport, "10.0.2.2", 80, SYN, 100, 0, b"");
    let rst = |sport: u16| tcp4("10.0.1.2", sport, "10.0.2.2", 80, RST, 101, 0, b"");
    let accepted = |o: &nftvm_runtime::pipeline::Outcome| o.packet.fate == Fate::Accepted;
    assert!(accepted(&send(&mut a, TUNA, 1, &syn("10.0.1.2", 40001))), "1st connection on worker 0");
    assert!(accepted(&send(&mut b, TUNA, 1, &syn("10.0.1.2", 40002))), "2nd connection on worker 1");
    let o = send(&mut a, TUNA, 1, &syn("10.0.1.2", 40003));
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "3rd connection of the source: {o:#?}");
    // Worker 0's connection closes: worker 1 still counts one in the element, which stays
    // and keeps the (one-place) set full.
    send(&mut a, TUNA, 2, &rst(40001));
    a.tick(3 * SECOND);
    let o = send(&mut a, TUNA, 3, &syn("10.0.1.3", 40004));
    assert!(matches!(o.packet.fate, Fate::Dropped(_)), "the set is still full: {o:#?}");
    // Worker 1's closes too: the element goes at the next collection, and another source
    // takes its place.
    send(&mut b, TUNA, 4, &rst(40002));
    b.tick(5 * SECOND);
    let o = send(&mut a, TUNA, 5, &syn("10.0.1.3", 40005));
    assert!(accepted(&o), "{o:#?}");
}
