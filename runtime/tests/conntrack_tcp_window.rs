//! TCP window tracking and the special cases of the TCP tracker, with expected outcomes
//! worked out from `tcp_in_window` / `nf_conntrack_tcp_packet` (Linux 6.x):
//! in/out of window data and ACKs, window scaling, SACK, RST checks, SYN retransmits,
//! TIME_WAIT reopening, unreplied RSTs, ASSURED and the per-state timeouts.
//!
//! Every conversation starts from client ISN 1000 and server ISN 500000, 64000-byte
//! windows, so after the handshake the client's data may start at 1001 up to 65001 and the
//! server has acknowledged up to 1001.

#[path = "conntrack_support.rs"]
mod support;

use nftvm_runtime::conntrack::{Config, CtInfo, SECOND, TcpState, builder};
use support::*;

fn established(cfg: Config) -> Flow {
    let mut f = Flow::new(cfg);
    f.send(0, SYN, 0);
    f.send(1, SYN | ACK, 0);
    f.send(0, ACK, 0);
    assert_eq!(f.state(), Some(TcpState::Established));
    f
}

fn packets(f: &Flow, dir: usize) -> u64 {
    f.conn().map_or(0, |c| c.counters[dir].packets)
}

#[test]
fn data_inside_the_window_is_tracked() {
    let mut f = established(Config::default());
    let t = f.send(0, ACK | PSH, 1000);
    assert_eq!(t.info, CtInfo::Established);
    assert_eq!(packets(&f, 0), 3);
    let t = f.send(1, ACK | PSH, 500);
    assert_eq!(t.info, CtInfo::EstablishedReply);
}

#[test]
fn data_far_beyond_the_window_is_invalid_unless_liberal() {
    // seq 201001 with 100 bytes overshoots the receiver's window end (65001) by more than
    // the largest window it ever advertised (64000): INVALID.
    let mut f = established(Config::default());
    let before = packets(&f, 0);
    let t = f.run(&f.packet(0, ACK, 201_001, 500_001, 100));
    assert_eq!(t.info, CtInfo::Invalid);
    assert_eq!(packets(&f, 0), before, "invalid packets are not counted");

    let mut f = established(Config { tcp_be_liberal: true, ..Config::default() });
    let t = f.run(&f.packet(0, ACK, 201_001, 500_001, 100));
    assert_eq!(t.info, CtInfo::Established);
}

#[test]
fn a_small_overshoot_is_let_through_without_tracking() {
    // seq 101001: beyond the window end but within a window's worth: the kernel lets it
    // pass ("bytes more than expected") without counting it.
    let mut f = established(Config::default());
    let before = packets(&f, 0);
    let t = f.run(&f.packet(0, ACK, 101_001, 500_001, 100));
    assert_eq!(t.info, CtInfo::Established);
    assert_eq!(packets(&f, 0), before);
}

#[test]
fn ack_for_unseen_data_is_invalid() {
    let mut f = established(Config::default());
    let t = f.run(&f.packet(0, ACK, 1001, 500_011, 0));
    assert_eq!(t.info, CtInfo::Invalid);
}

#[test]
fn old_retransmission_is_ignored_not_invalid() {
    let mut f = established(Config::default());
    let before = packets(&f, 0);
    // Ends more than a window before what the client already sent.
    let t = f.run(&f.packet(0, ACK, 1001u32.wrapping_sub(70_000), 500_001, 10));
    assert_eq!(t.info, CtInfo::Established);
    assert_eq!(packets(&f, 0), before);
    assert_eq!(f.state(), Some(TcpState::Established));
}

/// A handshake with 512-byte windows, window-scale options as given, then one ACK each way.
fn scaled(client_ws: bool, server_ws: bool) -> Flow {
    let mut f = Flow::new(Config::default());
    f.window = 512;
    let ws: &[u8] = &[1, 3, 3, 7];
    let none: &[u8] = &[];
    let syn = builder::tcp(
        f.addr[0],
        f.addr[1],
        40000,
        80,
        SYN,
        1000,
        0,
        512,
        0,
        if client_ws { ws } else { none },
        f.now,
    );
    assert_ne!(f.run(&syn).info, CtInfo::Invalid);
    let synack = builder::tcp(
        f.addr[1],
        f.addr[0],
        80,
        40000,
        SYN | ACK,
        500_000,
        1001,
        512,
        0,
        if server_ws { ws } else { none },
        f.now,
    );
    assert_ne!(f.run(&synack).info, CtInfo::Invalid);
    f.seq = [1001, 500_001];
    f.send(0, ACK, 0);
    f.send(1, ACK, 0);
    f
}

#[test]
fn window_scaling_only_when_both_sides_offer_it() {
    // With scale 7 a 512 window means 65536 bytes: a segment at 61001 is in window.
    let mut f = scaled(true, true);
    let before = packets(&f, 0);
    let t = f.run(&f.packet(0, ACK, 61_001, 500_001, 100));
    assert_eq!(t.info, CtInfo::Established);
    assert_eq!(packets(&f, 0), before + 1);
    // Without scaling (either side not offering it) the window is 512 bytes and the same
    // segment overshoots by far more than that: INVALID.
    for (c, s) in [(false, false), (true, false), (false, true)] {
        let mut f = scaled(c, s);
        let t = f.run(&f.packet(0, ACK, 61_001, 500_001, 100));
        assert_eq!(t.info, CtInfo::Invalid, "client ws {c}, server ws {s}");
    }
}

#[test]
fn sack_edges_count_only_when_sack_is_permitted() {
    let sack_perm: &[u8] = &[1, 1, 4, 2];
    for permitted in [true, false] {
        let mut f = Flow::new(Config::default());
        let syn = f.packet(0, SYN, 1000, 0, 0);
        f.run(&syn);
        let synack = builder::tcp(
            f.addr[1],
            f.addr[0],
            80,
            40000,
            SYN | ACK,
            500_000,
            1001,
            64_000,
            0,
            if permitted { sack_perm } else { &[] },
            f.now,
        );
        f.run(&synack);
        f.seq = [1001, 500_001];
        f.send(0, ACK, 0);
        // A SACK block whose right edge (500101) lies beyond anything the server sent.
        let sack: &[u8] = &[1, 1, 5, 10, 0, 7, 161, 136, 0, 7, 162, 37];
        let pkt = builder::tcp(f.addr[0], f.addr[1], 40000, 80, ACK, 1001, 500_001, 64_000, 0, sack, f.now);
        let t = f.run(&pkt);
        let expect = if permitted { CtInfo::Invalid } else { CtInfo::Established };
        assert_eq!(t.info, expect, "sack permitted: {permitted}");
    }
}

#[test]
fn rst_checks() {
    // In window and exactly at the acknowledged sequence: CLOSE with the 10 s timeout.
    let mut f = established(Config::default());
    assert_ne!(f.run(&f.packet(0, RST, 1001, 0, 0)).info, CtInfo::Invalid);
    assert_eq!(f.state(), Some(TcpState::Close));
    assert_eq!(f.conn().unwrap().remaining_secs(f.now), 10);

    // Before what the peer acknowledged: "invalid rst".
    let mut f = established(Config::default());
    assert_eq!(f.run(&f.packet(0, RST, 900, 0, 0)).info, CtInfo::Invalid);
    assert_eq!(f.state(), Some(TcpState::Established));
    // Unless nf_conntrack_tcp_ignore_invalid_rst is set.
    let mut f = established(Config { tcp_ignore_invalid_rst: true, ..Config::default() });
    assert_ne!(f.run(&f.packet(0, RST, 900, 0, 0)).info, CtInfo::Invalid);

    // In window but not exact on an assured connection: the state is kept (a challenge
    // ACK may follow) but the timeout drops to CLOSE's 10 s.
    let mut f = established(Config::default());
    assert_ne!(f.run(&f.packet(0, RST, 1051, 0, 0)).info, CtInfo::Invalid);
    assert_eq!(f.state(), Some(TcpState::Established));
    assert_eq!(f.conn().unwrap().remaining_secs(f.now), 10);
}

#[test]
fn rst_answering_an_unreplied_syn_deletes_the_entry() {
    let mut f = Flow::new(Config::default());
    f.send(0, SYN, 0);
    let t = f.run(&f.packet(1, RST | ACK, 0, 1001, 0));
    assert_eq!(t.info, CtInfo::EstablishedReply);
    assert!(f.conn().is_none());
    assert_eq!(f.ct.len(), 0);
}

#[test]
fn syn_retransmit_does_not_refresh_the_timeout() {
    let mut f = Flow::new(Config::default());
    f.now = at(1);
    f.send(0, SYN, 0);
    assert_eq!(f.conn().unwrap().remaining_secs(at(1)), 120);
    f.now = at(50);
    let t = f.run(&f.packet(0, SYN, 1000, 0, 0));
    assert_eq!(t.info, CtInfo::New);
    let c = f.conn().unwrap();
    assert_eq!(c.remaining_secs(at(50)), 71);
    assert_eq!(c.counters[0].packets, 1, "a SYN retransmit is not counted either");
}

#[test]
fn time_wait_is_reopened_by_a_new_syn() {
    let mut f = established(Config::default());
    f.send(0, FIN | ACK, 0);
    f.send(1, ACK, 0);
    f.send(1, FIN | ACK, 0);
    f.send(0, ACK, 0);
    assert_eq!(f.state(), Some(TcpState::TimeWait));
    let old = f.conn().unwrap().id;
    let t = f.run(&f.packet(0, SYN, 90_000, 0, 0));
    assert_eq!(t.info, CtInfo::New);
    let c = f.conn().unwrap();
    assert_ne!(c.id, old);
    assert_eq!(c.tcp_state(), Some(TcpState::SynSent));
    assert_eq!(f.ct.len(), 1);
}

#[test]
fn assured_and_timeouts_along_a_handshake() {
    let mut f = Flow::new(Config::default());
    f.send(0, SYN, 0);
    let c = f.conn().unwrap();
    assert_eq!((c.remaining_secs(f.now), c.has(ASSURED_BIT)), (120, false));
    f.send(1, SYN | ACK, 0);
    let c = f.conn().unwrap();
    assert_eq!(
        (c.tcp_state(), c.remaining_secs(f.now), c.has(ASSURED_BIT)),
        (Some(TcpState::SynRecv), 60, false)
    );
    f.send(0, ACK, 0);
    let c = f.conn().unwrap();
    assert_eq!((c.remaining_secs(f.now), c.has(ASSURED_BIT)), (432_000, true));
    // Unacknowledged data shortens the timeout to 300 s until it is acknowledged.
    f.send(0, ACK | PSH, 100);
    assert_eq!(f.conn().unwrap().remaining_secs(f.now), 300);
    f.send(1, ACK, 0);
    assert_eq!(f.conn().unwrap().remaining_secs(f.now), 432_000);
    // Closing: FIN_WAIT 120, CLOSE_WAIT 60, LAST_ACK 30, TIME_WAIT 120.
    for (dir, flags, state, secs) in [
        (0, FIN | ACK, TcpState::FinWait, 120),
        (1, ACK, TcpState::CloseWait, 60),
        (1, FIN | ACK, TcpState::LastAck, 30),
        (0, ACK, TcpState::TimeWait, 120),
    ] {
        f.send(dir, flags, 0);
        let c = f.conn().unwrap();
        assert_eq!((c.tcp_state(), c.remaining_secs(f.now)), (Some(state), secs));
    }
}

const ASSURED_BIT: u32 = nftvm_vm::keys::ct_status::ASSURED;

#[test]
fn mid_stream_pickup_is_not_assured_until_both_ways() {
    let mut f = Flow::new(Config::default());
    f.seq = [77_000, 900_000];
    let t = f.send(0, ACK | PSH, 100);
    assert_eq!(t.info, CtInfo::New);
    let c = f.conn().unwrap();
    assert_eq!(
        (c.tcp_state(), c.remaining_secs(f.now), c.has(ASSURED_BIT)),
        (Some(TcpState::Established), 300, false)
    );
    f.send(1, ACK, 0);
    assert!(!f.conn().unwrap().has(ASSURED_BIT));
    f.send(0, ACK, 0);
    let c = f.conn().unwrap();
    assert!(c.has(ASSURED_BIT));
    assert_eq!(c.remaining_secs(f.now), 432_000);
}

#[test]
fn entries_expire_on_the_packet_clock() {
    let mut f = established(Config::default());
    f.send(0, FIN | ACK, 0);
    f.send(1, ACK, 0);
    f.send(1, FIN | ACK, 0);
    f.send(0, ACK, 0);
    let closed_at = f.now;
    // Still there a moment before TIME_WAIT's 120 s are over.
    f.now = closed_at + 120 * SECOND - 1;
    let t = f.run(&f.packet(0, ACK, f.seq[0], f.seq[1], 0));
    assert_eq!(t.info, CtInfo::Established);
    // Gone at 120 s: the same segment now starts a new (picked-up) connection.
    f.now = closed_at + 240 * SECOND;
    let t = f.run(&f.packet(0, ACK, f.seq[0], f.seq[1], 0));
    assert_eq!(t.info, CtInfo::New);
}

/// Segments crafted and injected into a forwarding Linux 6.18 namespace; the lines are what
/// `conntrack -L` showed after each one (`use=` differs there: queued packets hold
/// references).
#[test]
fn simultaneous_open_as_observed_on_linux() {
    let mut f = Flow::new(Config::default());
    f.addr = [ip("10.8.0.50"), ip("10.99.0.5")];
    let o = "src=10.8.0.50 dst=10.99.0.5 sport=40000 dport=80";
    let r = "src=10.99.0.5 dst=10.8.0.50 sport=80 dport=40000";
    let steps: [(usize, u8, u32, u32, String); 5] = [
        (0, SYN, 1000, 0, format!("119 SYN_SENT {o} packets=1 bytes=40 [UNREPLIED] {r} packets=0 bytes=0")),
        (1, SYN, 500_000, 0, format!("119 SYN_SENT2 {o} packets=1 bytes=40 {r} packets=0 bytes=0")),
        (1, SYN | ACK, 500_000, 1001, format!("59 SYN_RECV {o} packets=1 bytes=40 {r} packets=1 bytes=40")),
        (0, SYN | ACK, 1000, 500_001, format!("59 SYN_RECV {o} packets=2 bytes=80 {r} packets=1 bytes=40")),
        (
            1,
            ACK,
            500_001,
            1001,
            format!("431999 ESTABLISHED {o} packets=2 bytes=80 {r} packets=2 bytes=80 [ASSURED]"),
        ),
    ];
    for (dir, flags, seq, ack, line) in steps {
        f.now += SECOND / 20;
        let t = f.run(&f.packet(dir, flags, seq, ack, 0));
        assert_ne!(t.info, CtInfo::Invalid);
        assert_eq!(f.ct.dump(f.now + SECOND / 2), [format!("tcp      6 {line} mark=0 use=1")]);
    }
}
