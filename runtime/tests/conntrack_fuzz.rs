//! Random packets never panic the tracker, NAT or the FTP helper, and the table stays
//! consistent (every confirmed entry findable by both tuples, counts add up).
//! Seeded, so a failure reproduces.

#[path = "conntrack_support.rs"]
mod support;

use std::net::IpAddr;

use nftvm_runtime::conntrack::packet::{IcmpInfo, L4, Quoted, QuotedL4, TcpInfo, UdpInfo};
use nftvm_runtime::conntrack::{Config, Conntrack, L4Payload, PacketInfo, SECOND, Segment};
use nftvm_runtime::helper::Helper;
use nftvm_runtime::nat::{Manip, NatRange, flags};
use support::*;

use nftvm_testkit::Rng;

const FTP_LINES: &[&[u8]] = &[
    b"PORT 10,0,0,1,4,1\r\n",
    b"PORT 10,0,0,1,4",
    b"port 999,999,999,999,999,999\r\n",
    b"EPRT |1|10.0.0.1|80|\r\n",
    b"EPRT |2|::1|80|\r\n",
    b"EPRT |||\r\n",
    b"227 Entering Passive Mode (10,0,0,2,4,1)\r\n",
    b"227 nothing\r\n",
    b"229 (|||0|)\r\n",
    b"229 Entering Extended Passive Mode (|||65535|)\r\n",
    b"USER x\r\n",
    b"\r\n",
    b"P",
];

#[test]
fn random_traffic_never_panics() {
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);
    let addrs: [IpAddr; 4] = [ip("10.0.0.1"), ip("10.0.0.2"), ip("192.0.2.1"), ip("198.51.100.7")];
    let addrs6: [IpAddr; 2] = [ip("fd00::1"), ip("fd00::2")];
    let mut ct = Conntrack::new(Config { max: 64, events: true, ..Config::default() });
    let mut opts = [0u8; 40];
    let mut now = SECOND;
    for round in 0..200_000u32 {
        now += rng.next_u64() % (SECOND / 2);
        let v6 = rng.below(8) == 0;
        let (src, dst) = if v6 {
            (*rng.pick(&addrs6), *rng.pick(&addrs6))
        } else {
            (*rng.pick(&addrs), *rng.pick(&addrs))
        };
        for o in opts.iter_mut() {
            let any = rng.next_u64() as u8;
            *o = *rng.pick(&[0, 1, 2, 3, 4, 5, 8, 10, 12, 255, any]);
        }
        let opt_len = rng.below(41);
        let payload = *rng.pick(FTP_LINES);
        let kind = rng.below(6);
        let (proto, l4) = match kind {
            0 | 1 => {
                let (any_seq, any_ack) = (rng.next_u64() as u32, rng.next_u64() as u32);
                let doff = *rng.pick(&[0u8, 4, 5, 6, 10, 15]);
                let seg = TcpInfo {
                    sport: *rng.pick(&[21u16, 20, 1000, 40000]),
                    dport: *rng.pick(&[21u16, 20, 1000, 40000]),
                    seq: *rng.pick(&[0u32, 1, 1000, 1001, u32::MAX, any_seq]),
                    ack: *rng.pick(&[0u32, 1, 1000, 1001, u32::MAX, any_ack]),
                    window: *rng.pick(&[0u16, 1, 512, 65535]),
                    flags: rng.next_u64() as u8,
                    doff,
                    options: &opts[..opt_len],
                    l4_len: rng.below(200) as u32,
                };
                (6, L4::Tcp(seg))
            }
            2 => {
                let u = UdpInfo {
                    sport: *rng.pick(&[53u16, 1000]),
                    dport: *rng.pick(&[53u16, 1000]),
                    len_field: rng.below(100) as u16,
                    checksum: rng.below(2) as u16,
                    l4_len: rng.below(100) as u32,
                };
                (if rng.below(4) == 0 { 136 } else { 17 }, L4::Udp(u))
            }
            3 => {
                let quoted = (rng.below(2) == 0).then(|| Quoted {
                    src: *rng.pick(&addrs),
                    dst: *rng.pick(&addrs),
                    proto: *rng.pick(&[6u8, 17, 1, 47]),
                    l4: *rng.pick(&[
                        QuotedL4::Ports { sport: 1000, dport: 53 },
                        QuotedL4::Icmp { icmp_type: 8, code: 0, id: 1 },
                        QuotedL4::Other,
                    ]),
                });
                let i = IcmpInfo {
                    icmp_type: rng.next_u64() as u8,
                    code: rng.next_u64() as u8,
                    id: rng.below(3) as u16,
                    quoted,
                };
                (if v6 { 58 } else { *rng.pick(&[1u8, 58]) }, L4::Icmp(i))
            }
            4 => (*rng.pick(&[47u8, 132, 253]), L4::Other),
            _ => (*rng.pick(&[6u8, 17, 50]), L4::Truncated),
        };
        let mut pkt = PacketInfo::new(src, dst, proto, l4, 20 + rng.below(1500) as u32, now);
        pkt.zone = rng.below(2) as u16;
        pkt.fragment = rng.below(50) == 0;
        pkt.checksum_ok = rng.below(30) != 0;
        let Ok(t) = ct.track(&pkt) else { continue };
        if let Some(id) = t.conn {
            if rng.below(3) == 0 {
                ct.set_helper(id, Helper::Ftp);
            }
            ct.set_mark(id, rng.below(3) as u32);
            for manip in [Manip::Dst, Manip::Src] {
                if ct.nat_needed(&t, manip) {
                    if rng.below(2) == 0 {
                        let range = NatRange::addrs(ip("192.0.2.1"), ip("192.0.2.3"))
                            .with_ports(*rng.pick(&[0u16, 1024, 65535]), *rng.pick(&[0u16, 1024, 65535]))
                            .with_flags(*rng.pick(&[
                                0,
                                flags::PROTO_RANDOM_FULLY,
                                flags::PERSISTENT,
                                flags::PROTO_OFFSET,
                            ]));
                        let _ = ct.nat_setup(id, &range, manip);
                    } else {
                        let _ = ct.nat_null_binding(id, manip);
                    }
                }
                let _ = ct.nat_rewrite(&t, manip);
            }
        }
        if rng.below(10) == 0 {
            ct.abort(&t);
        } else {
            let L4::Tcp(tcp) = pkt.l4 else {
                let _ = ct.finish(&t, None);
                continue;
            };
            let seg = Segment {
                seq: tcp.seq,
                ack: tcp.ack,
                flags: tcp.flags,
                payload,
                sack: &[(1, 2)],
                l3_len: pkt.len,
            };
            let _ = ct.finish(&t, Some(&L4Payload::Tcp(seg)));
        }
        if round % 997 == 0 {
            ct.gc(now, 100);
            let _ = ct.dump(now);
            let _ = ct.dump_expectations(now);
            let _ = ct.drain_events();
        }
    }
    // Consistency: every confirmed entry is found by both of its tuples.
    for (id, c) in ct.iter() {
        for dir in 0..2 {
            let (found, d) = ct.find(&c.tuple[dir], c.zone).expect("indexed");
            // A flow from an address and port to themselves has two equal tuples.
            assert!(found == id && (d == dir || c.tuple[0] == c.tuple[1]));
        }
    }
    assert!(ct.count() <= 64 + 1);
    assert_eq!(ct.count(), ct.len());
}
