//! tcpdump as the oracle: it must read the pcap and pcapng files we write, and it verifies
//! every IPv4 header, TCP, UDP, ICMP and ICMPv6 checksum of packets from the builder, of
//! packets rewritten the way NAT and `payload write` rewrite them, and of translated ICMP
//! errors. Deliberately corrupted packets must be reported as bad, proving the check bites.
//!
//! Needs `tcpdump` on the PATH (CI installs it); without it the test fails, it never skips.

mod packet_support;

use nftvm_runtime::io::pcap::{PcapWriter, Precision};
use nftvm_runtime::io::pcapng::PcapngWriter;
use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::payload_write::{L4Context, PayloadWrite, payload_write};
use nftvm_runtime::packet::rewrite::{self, Side};
use nftvm_runtime::packet::{LinkType, PacketBuilder, Tuple, TupleL4, dissect_ip};
use packet_support::{Rng, random_packet_of};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nftvm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// tcpdump's verbose decoding of `file`, one string per packet (`-tt` puts the capture time
/// in seconds at the start of each packet's first line).
fn tcpdump(file: &Path, extra: &[&str]) -> Vec<String> {
    let output = Command::new("tcpdump")
        .args(["-nn", "-vv", "-tt", "-r"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("tcpdump is needed for this test (apt-get install tcpdump): {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tcpdump failed on {}: {stderr}", file.display());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut packets: Vec<String> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            packets.push(line.to_string());
        } else if let Some(last) = packets.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    packets
}

fn bad_marks(text: &str) -> bool {
    text.contains("incorrect")
        || text.contains("bad cksum")
        || text.contains("bad udp cksum")
        || text.contains("wrong icmp cksum")
        || text.contains("bad icmp6 cksum")
}

/// What tcpdump must say about a packet whose checksums we claim are right: no complaint,
/// and a positive verdict for TCP/UDP/ICMPv6 whenever tcpdump decoded that far (it gives up
/// on, e.g., routing header types it does not know). Returns whether it gave that verdict.
fn assert_verified(text: &str, packet: &[u8]) -> bool {
    if text.contains("GRE") {
        // Our GRE payloads are random bytes that tcpdump decodes as an inner packet.
        return false;
    }
    if text.contains("RT6") {
        // With a routing header tcpdump takes the pseudo-header destination from the
        // header's last address (the sender's view); we, like the kernel at the receiving end
        // and in NAT, use the IPv6 destination field. Not comparable.
        return false;
    }
    assert!(!bad_marks(text), "tcpdump rejects a checksum:\n{text}\npacket {packet:02x?}");
    let info = dissect_ip(packet).unwrap();
    let Some(ct) = info.ct.filter(|_| info.fragment.is_none()) else { return false };
    if text.contains("(invalid)") || text.contains("[|") || text.contains("ip-proto-") {
        return false;
    }
    let field = |at: usize| packet.get(ct.dataoff + at..ct.dataoff + at + 2);
    let marker = match ct.protonum {
        protocol::TCP => "(correct)",
        protocol::UDP if field(6) != Some(&[0, 0]) => "[udp sum ok]",
        protocol::ICMPV6 => "[icmp6 sum ok]",
        _ => return false,
    };
    assert!(text.contains(marker), "tcpdump did not verify the checksum ({marker}):\n{text}");
    true
}

fn write_pcap(path: &Path, packets: &[Vec<u8>]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = PcapWriter::new(file, LinkType::Raw, Precision::Micro).unwrap();
    for (i, packet) in packets.iter().enumerate() {
        writer.write_packet(Duration::from_secs(1 + i as u64), packet, packet.len() as u32).unwrap();
    }
    writer.finish().unwrap();
}

fn random_addr(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(rng.ipv6()) } else { IpAddr::V4(rng.ipv4()) }
}

/// Random packets, many of them rewritten like NAT or `payload write` would.
fn rewritten_packets(rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    while packets.len() < count {
        let v6 = rng.chance(50);
        let mut packet = random_packet_of(rng, v6, 0).build();
        let side = if rng.chance(50) { Side::Source } else { Side::Destination };
        for _ in 0..rng.below(4) {
            let result = match rng.below(5) {
                0 => rewrite::set_addr(&mut packet, 0, side, random_addr(rng, v6)),
                1 => rewrite::set_port(&mut packet, 0, side, rng.u16()),
                2 => rewrite::set_icmp_id(&mut packet, 0, rng.u16()),
                3 => rewrite::decrement_ttl(&mut packet, 0).map(|_| ()),
                _ => {
                    // `ip saddr set` / `ip6 daddr set` with the checksum flags nft uses. (Behind
                    // an IPv6 AH nft's l4proto is AH, so the kernel leaves the TCP/UDP checksum
                    // stale: not a packet for this check.)
                    let info = dissect_ip(&packet).unwrap();
                    if info.l4proto != info.ct.map(|ct| ct.protonum) {
                        continue;
                    }
                    let (at, len) = if v6 { (8 + 16 * rng.below(2), 16) } else { (12 + 4 * rng.below(2), 4) };
                    let bytes = rng.bytes(len);
                    let write = PayloadWrite {
                        offset: at,
                        bytes: &bytes,
                        inet_csum_offset: (!v6).then_some(10),
                        l4_pseudo_header: true,
                        sctp_crc: false,
                    };
                    payload_write(&mut packet, &write, &L4Context::from(&info))
                        .map_err(|_| rewrite::RewriteError::FamilyMismatch)
                }
            };
            let _ = result;
        }
        packets.push(packet);
    }
    packets
}

#[test]
fn tcpdump_verifies_built_and_rewritten_checksums() {
    let dir = scratch_dir("tcpdump-checksums");
    let mut rng = Rng::new(0x7cd0);
    let packets = rewritten_packets(&mut rng, 3_000);
    let path = dir.join("rewritten.pcap");
    write_pcap(&path, &packets);
    let decoded = tcpdump(&path, &[]);
    assert_eq!(decoded.len(), packets.len(), "tcpdump must see every packet");
    let verified =
        decoded.iter().zip(&packets).filter(|(text, packet)| assert_verified(text, packet)).count();
    println!("tcpdump positively verified {verified} of {} transport checksums", packets.len());
    assert!(verified * 3 > packets.len(), "too few packets verified ({verified})");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tcpdump_sees_corrupted_checksums() {
    let dir = scratch_dir("tcpdump-corrupt");
    let a4 = [10, 1, 1, 1];
    let b4 = [10, 2, 2, 2];
    let (a6, b6) = ([0x2001u16, 0xdb8, 0, 0, 0, 0, 0, 1], [0x2001u16, 0xdb8, 0, 0, 0, 0, 0, 2]);
    let packets = vec![
        PacketBuilder::ipv4(a4, b4).tcp(1, 2).payload(b"x").corrupt_checksum().build(),
        PacketBuilder::ipv4(a4, b4).udp(1, 2).payload(b"x").corrupt_checksum().build(),
        PacketBuilder::ipv4(a4, b4).icmp_echo_request(1, 1).corrupt_checksum().build(),
        PacketBuilder::ipv4(a4, b4).protocol(200).corrupt_checksum().build(),
        PacketBuilder::ipv6(a6, b6).tcp(1, 2).corrupt_checksum().build(),
        PacketBuilder::ipv6(a6, b6).udp(1, 2).corrupt_checksum().build(),
        PacketBuilder::ipv6(a6, b6).icmp_echo_reply(1, 1).corrupt_checksum().build(),
    ];
    let path = dir.join("corrupt.pcap");
    write_pcap(&path, &packets);
    let decoded = tcpdump(&path, &[]);
    assert_eq!(decoded.len(), packets.len());
    for text in &decoded {
        assert!(bad_marks(text), "tcpdump should flag this checksum:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tcpdump_verifies_translated_icmp_errors() {
    let dir = scratch_dir("tcpdump-icmp");
    let mut rng = Rng::new(0x1c3);
    let mut packets = Vec::new();
    for round in 0..200 {
        let v6 = round % 2 == 1;
        let (client, server, nat, router) = (
            random_addr(&mut rng, v6),
            random_addr(&mut rng, v6),
            random_addr(&mut rng, v6),
            random_addr(&mut rng, v6),
        );
        let (cport, nport, sport) = (rng.u16(), rng.u16(), rng.u16());
        let make = |src, sp| {
            let b = PacketBuilder::ip(src, server);
            if round % 4 < 2 {
                b.udp(sp, sport).payload(b"query").build()
            } else {
                b.tcp(sp, sport).flags(2).build()
            }
        };
        let translated = make(nat, nport);
        let (kind, code) = if v6 { (1, 4) } else { (3, 3) };
        let mut error = PacketBuilder::ip(router, nat).icmp_error(kind, code, &translated).build();
        let icmp_off = dissect_ip(&error).unwrap().ct.unwrap().dataoff;
        let proto = if round % 4 < 2 { protocol::UDP } else { protocol::TCP };
        let inner = Tuple {
            src: client,
            dst: server,
            protocol: proto,
            l4: TupleL4::Ports { src: cport, dst: sport },
        };
        let outer_proto = if v6 { protocol::ICMPV6 } else { protocol::ICMP };
        let outer = Tuple { src: router, dst: client, protocol: outer_proto, l4: TupleL4::None };
        rewrite::icmp_error_translate(
            &mut error,
            0,
            icmp_off,
            (&inner, Side::Source),
            (&outer, Side::Destination),
        )
        .unwrap();
        packets.push(error);
    }
    let path = dir.join("icmp.pcap");
    write_pcap(&path, &packets);
    let decoded = tcpdump(&path, &[]);
    assert_eq!(decoded.len(), packets.len());
    for (text, packet) in decoded.iter().zip(&packets) {
        assert_verified(text, packet);
        // The quoted UDP datagrams are whole: tcpdump verifies their checksum too.
        if text.contains("udp port") || text.contains("ICMP6, destination unreachable") {
            assert!(!text.contains("bad udp cksum"), "{text}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tcpdump_reads_our_pcapng_and_nanosecond_pcap() {
    let dir = scratch_dir("tcpdump-formats");
    let frame = |vlan: u16| {
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2])
            .udp(1000, 2000)
            .payload(b"hello")
            .ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .vlan(vlan)
            .build()
    };
    let path = dir.join("two-interfaces.pcapng");
    let mut writer = PcapngWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let a = writer.add_interface(Some("tuna"), LinkType::Ethernet).unwrap();
    let b = writer.add_interface(Some("tunb"), LinkType::Ethernet).unwrap();
    writer.write_packet(a, Duration::new(10, 5), &frame(100), 60).unwrap();
    writer.write_packet(b, Duration::new(11, 0), &frame(200), 60).unwrap();
    writer.finish().unwrap();
    let decoded = tcpdump(&path, &["-e"]);
    assert_eq!(decoded.len(), 2);
    assert!(decoded[0].starts_with("10.000000") && decoded[0].contains("vlan 100"), "{}", decoded[0]);
    assert!(
        decoded[1].contains("vlan 200") && decoded[1].contains("192.0.2.1.1000 > 192.0.2.2.2000"),
        "{}",
        decoded[1]
    );

    let path = dir.join("nano.pcap");
    let packet = PacketBuilder::ipv6([1u16; 8], [2u16; 8]).icmp_echo_request(7, 8).build();
    let mut writer =
        PcapWriter::new(std::fs::File::create(&path).unwrap(), LinkType::Ipv6, Precision::Nano).unwrap();
    writer.write_packet(Duration::new(1, 123_456_789), &packet, packet.len() as u32).unwrap();
    writer.finish().unwrap();
    let decoded = tcpdump(&path, &["--nano"]);
    assert_eq!(decoded.len(), 1);
    assert!(decoded[0].starts_with("1.123456789 "), "{}", decoded[0]);
    assert!(decoded[0].contains("echo request, id 7, seq 8"), "{}", decoded[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tcpdump_decodes_builder_packets_as_intended() {
    let dir = scratch_dir("tcpdump-decode");
    let (a4, b4) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (a6, b6) = ([0x2001u16, 0xdb8, 0, 0, 0, 0, 0, 1], [0x2001u16, 0xdb8, 0, 0, 0, 0, 0, 2]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            PacketBuilder::ipv4(a4, b4)
                .tcp(40000, 80)
                .flags(0x02)
                .seq(1000)
                .window(64240)
                .mss(1460)
                .sack_permitted()
                .timestamps(1, 0)
                .window_scale(7)
                .build(),
            "10.0.0.1.40000 > 10.0.0.2.80: Flags [S], cksum",
        ),
        (
            PacketBuilder::ipv4(a4, b4)
                .tcp(1, 2)
                .flags(0x02)
                .mss(1460)
                .sack_permitted()
                .timestamps(1, 0)
                .window_scale(7)
                .build(),
            "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]",
        ),
        (
            PacketBuilder::ipv4(a4, b4)
                .tcp(1, 2)
                .flags(0x10)
                .ack(5)
                .timestamps(9, 8)
                .sack(&[(100, 200)])
                .build(),
            "options [nop,nop,TS val 9 ecr 8,nop,nop,sack 1 {100:200}]",
        ),
        (
            PacketBuilder::ipv4(a4, b4).ttl(3).ident(77).dont_frag().udp(5, 6).build(),
            "ttl 3, id 77, offset 0, flags [DF]",
        ),
        (
            PacketBuilder::ipv4(a4, b4).icmp_echo_request(0x1234, 9).payload(b"ping").build(),
            "ICMP echo request, id 4660, seq 9, length 12",
        ),
        (PacketBuilder::ipv6(a6, b6).icmp_echo_reply(3, 4).build(), "ICMP6, echo reply, id 3, seq 4"),
        (
            PacketBuilder::ipv6(a6, b6).udp(7, 8).payload(&[0; 16]).fragment(0, true, 0x99).build(),
            "frag (0x00000099:0|24)",
        ),
        (
            PacketBuilder::ipv4(a4, b4)
                .icmp_error(3, 3, &PacketBuilder::ipv4(b4, a4).udp(53, 9999).build())
                .build(),
            "ICMP 10.0.0.1 udp port 9999 unreachable",
        ),
        (PacketBuilder::ipv4(a4, b4).sctp(1, 2, 3).chunk(1, 0, &[0; 16]).build(), "1) [INIT] [init tag: 0]"),
        (PacketBuilder::ipv4(a4, b4).gre_pptp(0x55).build(), "GREv1, Flags [key present], call 85"),
    ];
    let packets: Vec<Vec<u8>> = cases.iter().map(|(p, _)| p.clone()).collect();
    let path = dir.join("decode.pcap");
    write_pcap(&path, &packets);
    let decoded = tcpdump(&path, &["-S"]);
    assert_eq!(decoded.len(), cases.len());
    for (text, (_, expected)) in decoded.iter().zip(&cases) {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
