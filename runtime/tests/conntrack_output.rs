//! `conntrack -L` / `conntrack -E` lines compared with what conntrack-tools 1.4.7 printed on
//! Linux 6.18 (accounting on) for the same conversations, replayed here with the same
//! addresses, ports and packet sizes.

#[path = "conntrack_support.rs"]
mod support;

use nftvm_runtime::conntrack::format::{self, FormatOptions};
use nftvm_runtime::conntrack::{Config, Conntrack, PacketInfo, SECOND, Time, builder};
use support::*;

fn cfg() -> Config {
    Config { events: true, ..Config::default() }
}

fn run(ct: &mut Conntrack, pkt: &PacketInfo<'_>) {
    let t = ct.track(pkt).unwrap();
    ct.finish(&t, None).unwrap();
}

/// SYN / SYN-ACK options (MSS, SACK_PERM, timestamps, NOP, window scale 7): 20 bytes.
const SYN_OPTS: &[u8] = &[2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
/// Timestamps only: 12 bytes.
const TS_OPTS: &[u8] = &[1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1];

#[test]
fn tcp_conversation_matches_kernel_lines_and_events() {
    let (c, s) = (ip("10.9.0.1"), ip("10.9.0.2"));
    let (cp, sp) = (34470, 8080);
    let mut ct = Conntrack::new(cfg());
    let clock = std::cell::Cell::new(10 * SECOND);
    let tick = |ct: &mut Conntrack, dir: usize, flags: u8, seq: u32, ack: u32, payload: u32, opts: &[u8]| {
        clock.set(clock.get() + SECOND / 1000);
        let now: Time = clock.get();
        let pkt = if dir == 0 {
            builder::tcp(c, s, cp, sp, flags, seq, ack, 502, payload, opts, now)
        } else {
            builder::tcp(s, c, sp, cp, flags, seq, ack, 502, payload, opts, now)
        };
        run(ct, &pkt);
    };
    // Handshake, "hello" each way, acknowledgements: 4 packets / 221 bytes from the client,
    // 3 / 169 from the server (SYNs 60 bytes, ACKs 52, data 57).
    tick(&mut ct, 0, SYN, 100, 0, 0, SYN_OPTS);
    tick(&mut ct, 1, SYN | ACK, 900, 101, 0, SYN_OPTS);
    tick(&mut ct, 0, ACK, 101, 901, 0, TS_OPTS);
    tick(&mut ct, 0, ACK | PSH, 101, 901, 5, TS_OPTS);
    tick(&mut ct, 1, ACK, 901, 106, 0, TS_OPTS);
    tick(&mut ct, 1, ACK | PSH, 901, 106, 5, TS_OPTS);
    tick(&mut ct, 0, ACK, 106, 906, 0, TS_OPTS);
    let lines = ct.dump(clock.get() + SECOND / 2);
    assert_eq!(
        lines,
        [
            "tcp      6 431999 ESTABLISHED src=10.9.0.1 dst=10.9.0.2 sport=34470 dport=8080 packets=4 bytes=221 \
          src=10.9.0.2 dst=10.9.0.1 sport=8080 dport=34470 packets=3 bytes=169 [ASSURED] mark=0 use=1"
        ]
    );
    // Close: server first (FIN_WAIT from its side), then the client.
    tick(&mut ct, 1, FIN | ACK, 906, 106, 0, TS_OPTS);
    tick(&mut ct, 0, ACK, 106, 907, 0, TS_OPTS);
    tick(&mut ct, 0, FIN | ACK, 106, 907, 0, TS_OPTS);
    tick(&mut ct, 1, ACK, 907, 107, 0, TS_OPTS);
    let now = clock.get();
    let lines = ct.dump(now + SECOND / 2);
    assert_eq!(
        lines,
        ["tcp      6 119 TIME_WAIT src=10.9.0.1 dst=10.9.0.2 sport=34470 dport=8080 packets=6 bytes=325 \
          src=10.9.0.2 dst=10.9.0.1 sport=8080 dport=34470 packets=5 bytes=273 [ASSURED] mark=0 use=1"]
    );
    let events: Vec<String> = ct.drain_events().into_iter().map(|e| e.line).collect();
    let o = "src=10.9.0.1 dst=10.9.0.2 sport=34470 dport=8080";
    let r = "src=10.9.0.2 dst=10.9.0.1 sport=8080 dport=34470";
    assert_eq!(
        events,
        [
            format!("    [NEW] tcp      6 120 SYN_SENT {o} [UNREPLIED] {r}"),
            format!(" [UPDATE] tcp      6 60 SYN_RECV {o} {r}"),
            format!(" [UPDATE] tcp      6 432000 ESTABLISHED {o} {r} [ASSURED]"),
            format!(" [UPDATE] tcp      6 120 FIN_WAIT {o} {r} [ASSURED]"),
            format!(" [UPDATE] tcp      6 60 CLOSE_WAIT {o} {r} [ASSURED]"),
            format!(" [UPDATE] tcp      6 30 LAST_ACK {o} {r} [ASSURED]"),
            format!(" [UPDATE] tcp      6 120 TIME_WAIT {o} {r} [ASSURED]"),
        ]
    );
    // conntrack -D: the destroy event carries the counters and the time left.
    let (id, _) = ct.find(&nftvm_runtime::conntrack::Tuple::ports(c, s, 6, cp, sp), 0).unwrap();
    let later = now + 11 * SECOND + SECOND / 2;
    ct.gc(later, 0);
    assert!(ct.delete(id));
    let events: Vec<String> = ct.drain_events().into_iter().map(|e| e.line).collect();
    assert_eq!(events.len(), 1);
    assert!(events[0].starts_with(&format!(
        "[DESTROY] tcp      6 108 TIME_WAIT {o} packets=6 bytes=325 {r} packets=5 bytes=273 [ASSURED]"
    )));
}

#[test]
fn udp_replied_then_stream() {
    // The kernel: 29 s after each of two exchanges 1 s apart, then 119 s and ASSURED
    // once a packet comes more than 2 s after the first one.
    let (c, s) = (ip("10.9.0.1"), ip("10.9.0.2"));
    let mut ct = Conntrack::new(Config::default());
    let o = "src=10.9.0.1 dst=10.9.0.2 sport=6000 dport=9998";
    let r = "src=10.9.0.2 dst=10.9.0.1 sport=9998 dport=6000";
    let expect = [
        format!("udp      17 29 {o} packets=1 bytes=29 {r} packets=1 bytes=29 mark=0 use=1"),
        format!("udp      17 29 {o} packets=2 bytes=58 {r} packets=2 bytes=58 mark=0 use=1"),
        format!("udp      17 119 {o} packets=3 bytes=87 {r} packets=3 bytes=87 [ASSURED] mark=0 use=1"),
    ];
    for (i, t) in [0u64, 1000, 2500].into_iter().enumerate() {
        let now = 100 * SECOND + t * SECOND / 1000;
        run(&mut ct, &builder::udp(c, s, 6000, 9998, 1, now));
        run(&mut ct, &builder::udp(s, c, 9998, 6000, 1, now + SECOND / 1000));
        assert_eq!(ct.dump(now + SECOND / 100), [expect[i].clone()]);
    }
}

#[test]
fn udp_icmp_generic_and_gre_lines() {
    let (c, s) = (ip("10.9.0.1"), ip("10.9.0.2"));
    let mut ct = Conntrack::new(cfg());
    let now = 5 * SECOND;
    run(&mut ct, &builder::udp(c, s, 5555, 9999, 5, now));
    run(&mut ct, &builder::icmp(c, s, 8, 4660, now));
    run(&mut ct, &builder::icmp(s, c, 0, 4660, now));
    run(&mut ct, &builder::other(c, s, 253, 24, now));
    run(&mut ct, &builder::other(c, s, 47, 24, now));
    run(&mut ct, &builder::other(ip("fd00::1"), ip("fd00::2"), 253, 8, now));
    let mut lines = ct.dump(now + SECOND / 2);
    lines.sort();
    let mut expect = vec![
        "udp      17 29 src=10.9.0.1 dst=10.9.0.2 sport=5555 dport=9999 packets=1 bytes=33 [UNREPLIED] \
         src=10.9.0.2 dst=10.9.0.1 sport=9999 dport=5555 packets=0 bytes=0 mark=0 use=1",
        "icmp     1 29 src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=4660 packets=1 bytes=36 \
         src=10.9.0.2 dst=10.9.0.1 type=0 code=0 id=4660 packets=1 bytes=36 mark=0 use=1",
        "unknown  253 599 src=10.9.0.1 dst=10.9.0.2 packets=1 bytes=44 [UNREPLIED] src=10.9.0.2 dst=10.9.0.1 \
         packets=0 bytes=0 mark=0 use=1",
        "gre      47 29 src=10.9.0.1 dst=10.9.0.2 srckey=0x0 dstkey=0x0 packets=1 bytes=44 [UNREPLIED] \
         src=10.9.0.2 dst=10.9.0.1 srckey=0x0 dstkey=0x0 packets=0 bytes=0 mark=0 use=1",
        "unknown  253 599 src=fd00::1 dst=fd00::2 packets=1 bytes=48 [UNREPLIED] src=fd00::2 dst=fd00::1 \
         packets=0 bytes=0 mark=0 use=1",
    ];
    expect.sort();
    assert_eq!(lines, expect);
    let events: Vec<String> = ct.drain_events().into_iter().map(|e| e.line).collect();
    assert!(
        events.contains(
            &"    [NEW] icmp     1 30 src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=4660 [UNREPLIED] \
          src=10.9.0.2 dst=10.9.0.1 type=0 code=0 id=4660"
                .to_string()
        )
    );
    assert!(
        events.contains(
            &" [UPDATE] icmp     1 30 src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=4660 \
          src=10.9.0.2 dst=10.9.0.1 type=0 code=0 id=4660"
                .to_string()
        )
    );
}

#[test]
fn zone_mark_helper_and_extended_fields() {
    let (c, s) = (ip("10.9.0.1"), ip("10.9.0.2"));
    let mut ct = Conntrack::new(cfg());
    let now = 5 * SECOND;
    let mut pkt = builder::udp(c, s, 5558, 9999, 5, now);
    pkt.zone = 5;
    let t = ct.track(&pkt).unwrap();
    ct.set_mark(t.conn.unwrap(), 7);
    ct.finish(&t, None).unwrap();
    // Linux 6.18: "... packets=0 bytes=0 mark=7 zone=5 use=1".
    assert_eq!(
        ct.dump(now + SECOND / 2),
        ["udp      17 29 src=10.9.0.1 dst=10.9.0.2 sport=5558 dport=9999 packets=1 bytes=33 [UNREPLIED] \
          src=10.9.0.2 dst=10.9.0.1 sport=9999 dport=5558 packets=0 bytes=0 mark=7 zone=5 use=1"]
    );
    let (id, _) = ct.find(&nftvm_runtime::conntrack::Tuple::ports(c, s, 17, 5558, 9999), 5).unwrap();
    let opts = FormatOptions { acct: true, extended: true, ..FormatOptions::default() };
    assert!(format::conn_line(ct.get(id).unwrap(), now, &opts).starts_with("ipv4     2 udp      17 30 "));
    // The same tuple in zone 0 is another connection.
    assert!(ct.find(&nftvm_runtime::conntrack::Tuple::ports(c, s, 17, 5558, 9999), 0).is_none());

    // An FTP control connection with its helper: "... mark=0 helper=ftp use=1".
    let syn = builder::tcp(c, s, 55958, 21, SYN, 1, 0, 1000, 0, &[], now);
    let t = ct.track(&syn).unwrap();
    assert!(ct.set_helper(t.conn.unwrap(), nftvm_runtime::helper::Helper::Ftp));
    ct.finish(&t, None).unwrap();
    let line = ct.dump(now).into_iter().find(|l| l.starts_with("tcp")).unwrap();
    assert!(line.ends_with(
        "[UNREPLIED] src=10.9.0.2 dst=10.9.0.1 sport=21 dport=55958 packets=0 bytes=0 mark=0 helper=ftp use=1"
    ));
}
