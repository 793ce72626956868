//! Checksums: RFC 1071/1624 examples, the kernel's ±0 behaviour, and the property that
//! every incremental update (NAT rewrites, TTL decrement, payload writes) equals a full
//! recompute over many random packets and rewrites.

mod packet_support;

use nftvm_runtime::checksum::{self, decrement_ttl, replace_addr6, replace16, replace32};
use nftvm_runtime::packet::ip::protocol;
use nftvm_runtime::packet::payload_write::{L4Context, PayloadWrite, payload_write};
use nftvm_runtime::packet::rewrite::{self, Side};
use nftvm_runtime::packet::{IpVersion, PacketBuilder, Tuple, TupleL4, dissect_ip};
use packet_support::{Rng, random_packet_of, recompute_checksums};
use std::net::IpAddr;

#[test]
fn rfc1624_section4_example() {
    // m = 0x5555 → 0x3285 with the other words summing to 0xcd7a: HC = 0xdd2f, and the
    // correct new checksum is 0x0000 (eqn. 3), where RFC 1141's eqn. 2 gave 0xffff.
    assert_eq!(checksum::finish(0xcd7a + 0x5555), 0xdd2f);
    assert_eq!(replace16(0xdd2f, 0x5555, 0x3285), 0x0000);
    // The same through the 32-bit path (a field pair 0x0000_5555 → 0x0000_3285).
    assert_eq!(replace32(0xdd2f, 0x5555, 0x3285), 0x0000);
}

#[test]
fn kernel_formulas_on_non_canonical_input() {
    // csum_replace2 with HC = 0xffff (a "-0" checksum) and m = 0xffff → m' = 0: the 16-bit
    // sums are all zero, so the kernel stores ~0 = 0xffff, not the canonical 0x0000.
    assert_eq!(replace16(0xffff, 0xffff, 0x0000), 0xffff);
    // Otherwise it lands on the canonical form.
    assert_eq!(replace16(0xffff, 0x1234, 0x1234), 0x0000);
    // csum_replace4 always produces the canonical form (its 32-bit accumulator is never 0).
    assert_eq!(replace32(0xffff, 0, 0), 0x0000);
    // nft_csum_replace maps 0 to 0xffff, for every checksum.
    assert_eq!(checksum::nft_replace(0xdd2f, 0x5555, 0x3285), 0xffff);
    // ip_decrease_ttl: 0xfeff + 0x0100 is stored as 0x0000 (the 2.2-era bug it fixed).
    assert_eq!(decrement_ttl(0xfeff), 0x0000);
    assert_eq!(decrement_ttl(0xff00), 0x0001);
}

/// Random data whose checksum field (bytes 0..2) holds the full checksum.
fn random_block(rng: &mut Rng, words: usize) -> Vec<u8> {
    let mut data = rng.bytes(words * 2);
    // Bias towards extreme words so that ±0 cases come up.
    for _ in 0..rng.below(words) {
        let at = rng.below(words) * 2;
        let value: u16 = *rng.pick(&[0, 0xffff, 1, 0xfffe, 0x8000]);
        data[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
    data[0..2].copy_from_slice(&[0, 0]);
    if checksum::fold(checksum::sum(&data, 0)) == 0 {
        data[2] = 1; // all zero: no protocol checksums all-zero data
    }
    // Sometimes force a sum of 0xffff, i.e. a checksum of 0x0000.
    if rng.chance(10) {
        data[2..4].copy_from_slice(&[0, 0]);
        let partial = checksum::fold(checksum::sum(&data, 0));
        data[2..4].copy_from_slice(&(0xffff - partial).to_be_bytes());
    }
    let value = checksum::checksum(&data);
    data[0..2].copy_from_slice(&value.to_be_bytes());
    data
}

fn full(data: &[u8]) -> u16 {
    let mut copy = data.to_vec();
    copy[0..2].copy_from_slice(&[0, 0]);
    checksum::checksum(&copy)
}

#[test]
fn incremental_equals_full_recompute_on_random_fields() {
    let mut rng = Rng::new(0x1624);
    let mut zero_results = 0;
    for _ in 0..200_000 {
        let words = 2 + rng.below(30);
        let mut data = random_block(&mut rng, words);
        let words = data.len() / 2;
        let check = u16::from_be_bytes([data[0], data[1]]);
        assert_ne!(check, 0xffff, "a full computation is never -0");
        match rng.below(3) {
            0 => {
                let at = 2 + 2 * rng.below(words - 1);
                let old = u16::from_be_bytes([data[at], data[at + 1]]);
                let new: u16 = if rng.chance(30) { *rng.pick(&[0, 0xffff, old]) } else { rng.u16() };
                data[at..at + 2].copy_from_slice(&new.to_be_bytes());
                if data[2..].iter().all(|&b| b == 0) {
                    continue; // all-zero data: no protocol checksums it
                }
                let updated = replace16(check, old, new);
                assert_eq!(updated, full(&data), "16-bit field at {at}: {old:#x} -> {new:#x}");
                zero_results += usize::from(updated == 0);
            }
            1 if words >= 3 => {
                let at = 2 + 2 * rng.below(words - 2);
                let old = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
                let new = if rng.chance(20) { *rng.pick(&[0, u32::MAX, old]) } else { rng.u32() };
                data[at..at + 4].copy_from_slice(&new.to_be_bytes());
                if data[2..].iter().any(|&b| b != 0) {
                    assert_eq!(replace32(check, old, new), full(&data));
                }
            }
            _ if words >= 9 => {
                let at = 2 + 2 * rng.below(words - 8);
                let old: [u8; 16] = data[at..at + 16].try_into().unwrap();
                let new: [u8; 16] = rng.bytes(16).try_into().unwrap();
                data[at..at + 16].copy_from_slice(&new);
                if data[2..].iter().any(|&b| b != 0) {
                    assert_eq!(replace_addr6(check, &old, &new), full(&data));
                }
            }
            _ => {}
        }
    }
    assert!(zero_results > 0, "the generator must exercise results of 0x0000");
}

#[test]
fn ttl_decrement_equals_full_recompute() {
    let mut rng = Rng::new(0x77);
    for _ in 0..50_000 {
        let ttl = 1 + rng.below(255) as u8;
        let mut packet =
            PacketBuilder::ipv4(rng.ipv4(), rng.ipv4()).ttl(ttl).ident(rng.u16()).tos(rng.u8()).build();
        let value = rewrite::decrement_ttl(&mut packet, 0).unwrap();
        assert_eq!(value, ttl - 1);
        let mut expected = packet.clone();
        recompute_checksums(&mut expected);
        assert_eq!(packet, expected);
    }
    let mut v6 = PacketBuilder::ipv6([1u16; 8], [2u16; 8]).ttl(1).build();
    assert_eq!(rewrite::decrement_ttl(&mut v6, 0).unwrap(), 0);
    assert_eq!(v6[7], 0);
}

fn random_addr(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(rng.ipv6()) } else { IpAddr::V4(rng.ipv4()) }
}

/// One random NAT-style rewrite; a refused one must leave the packet alone.
fn random_rewrite(rng: &mut Rng, packet: &mut [u8], v6: bool) {
    let before = packet.to_vec();
    let side = if rng.chance(50) { Side::Source } else { Side::Destination };
    let result = match rng.below(5) {
        0 => rewrite::set_addr(packet, 0, side, random_addr(rng, v6)),
        1 => rewrite::set_port(packet, 0, side, rng.u16()),
        2 => rewrite::set_icmp_id(packet, 0, rng.u16()),
        3 => rewrite::decrement_ttl(packet, 0).map(|_| ()),
        _ => {
            let info = dissect_ip(packet).unwrap();
            let Some(ct) = info.ct else { return };
            let l4 = match ct.protonum {
                protocol::ICMP | protocol::ICMPV6 => TupleL4::Icmp { id: rng.u16(), kind: 8, code: 0 },
                _ => TupleL4::Ports { src: rng.u16(), dst: rng.u16() },
            };
            let target =
                Tuple { src: random_addr(rng, v6), dst: random_addr(rng, v6), protocol: ct.protonum, l4 };
            let version = if v6 { IpVersion::V6 } else { IpVersion::V4 };
            rewrite::manip(packet, 0, version, &target, side)
        }
    };
    if result.is_err() {
        assert_eq!(packet, &before[..], "{result:?}");
    }
}

#[test]
fn nat_rewrites_equal_full_recompute() {
    let mut rng = Rng::new(0x5eed_0004);
    let mut cases = 0;
    for _ in 0..30_000 {
        let v6 = rng.chance(50);
        let mut packet = random_packet_of(&mut rng, v6, 0).build();
        let udp_without_checksum = {
            let info = dissect_ip(&packet).unwrap();
            info.ct
                .filter(|ct| ct.protonum == protocol::UDP)
                .map(|ct| packet[ct.dataoff + 6..ct.dataoff + 8] == [0, 0])
        };
        for _ in 0..1 + rng.below(4) {
            random_rewrite(&mut rng, &mut packet, v6);
            let mut expected = packet.clone();
            recompute_checksums(&mut expected);
            assert_eq!(packet, expected, "case {cases}");
            cases += 1;
        }
        if udp_without_checksum == Some(true) {
            let ct = dissect_ip(&packet).unwrap().ct.unwrap();
            assert_eq!(&packet[ct.dataoff + 6..ct.dataoff + 8], &[0, 0], "a zero UDP checksum stays zero");
        }
    }
    assert!(cases > 50_000);
}

#[test]
fn icmp_error_translation_restores_the_original_quote() {
    let mut rng = Rng::new(0x1c4e);
    for round in 0..2_000 {
        let v6 = round % 2 == 1;
        // A (client) → S (server), source-NATed to N: the server sees N → S.
        let client = random_addr(&mut rng, v6);
        let server = random_addr(&mut rng, v6);
        let nat = random_addr(&mut rng, v6);
        let router = random_addr(&mut rng, v6);
        let (cport, nport, sport) = (rng.u16(), rng.u16(), rng.u16());
        let base = |src, dst| PacketBuilder::ip(src, dst);
        let payload = rng.bytes_upto(40);
        let kind = rng.below(3);
        let make = |src: IpAddr, sp: u16| {
            let b = base(src, server);
            let b = match kind {
                0 => b.tcp(sp, sport).flags(0x02).seq(9),
                1 => b.udp(sp, sport),
                _ => b.sctp(sp, sport, 7).chunk(1, 0, &[0; 16]),
            };
            b.payload(&payload).build()
        };
        let original = make(client, cport);
        let translated = make(nat, nport);
        // At least the quoted IP header (the kernel refuses shorter quotes), then 8 bytes or
        // more of layer 4.
        let limit =
            if v6 { *rng.pick(&[48usize, 56, 100, 2000]) } else { *rng.pick(&[28usize, 48, 80, 2000]) };
        let (err_kind, err_code) = if v6 { (1, 4) } else { (3, 3) };
        // The router's error about the translated packet, addressed to N...
        let mut error =
            base(router, nat).icmp_error(err_kind, err_code, &translated).quote_limit(limit).build();
        // ...and what the client must receive: the same error about its own packet.
        let expected =
            base(router, client).icmp_error(err_kind, err_code, &original).quote_limit(limit).build();

        let info = dissect_ip(&error).unwrap();
        let icmp_off = info.ct.unwrap().dataoff;
        let proto = dissect_ip(&original).unwrap().ct.unwrap().protonum;
        // Reply-direction tuple (S → A) with SNAT undone: the inner packet's source becomes A.
        let inner_target = Tuple {
            src: client,
            dst: server,
            protocol: proto,
            l4: TupleL4::Ports { src: cport, dst: sport },
        };
        let outer_proto = if v6 { protocol::ICMPV6 } else { protocol::ICMP };
        let outer_target = Tuple {
            src: router,
            dst: client,
            protocol: outer_proto,
            l4: TupleL4::Icmp { id: 0, kind: 0, code: 0 },
        };
        rewrite::icmp_error_translate(
            &mut error,
            0,
            icmp_off,
            (&inner_target, Side::Source),
            (&outer_target, Side::Destination),
        )
        .unwrap();
        let crc_at = info.icmp_error.unwrap().inner.unwrap().dataoff + 8;
        if proto == protocol::SCTP && error.len() >= crc_at + 4 && limit < 2000 {
            // The kernel recomputes the CRC32c over the truncated quote (it cannot know the
            // rest), and the ICMP checksum follows; everything else is the original's.
            let crc = checksum::sctp_checksum(&error[crc_at - 8..], 8);
            assert_eq!(error[crc_at..crc_at + 4], crc);
            let mut recomputed = error.clone();
            recompute_checksums(&mut recomputed);
            assert_eq!(recomputed, error, "the ICMP checksum is right");
            let mut masked = error.clone();
            masked[crc_at..crc_at + 4].copy_from_slice(&expected[crc_at..crc_at + 4]);
            masked[icmp_off + 2..icmp_off + 4].copy_from_slice(&expected[icmp_off + 2..icmp_off + 4]);
            assert_eq!(masked, expected);
            continue;
        }
        assert_eq!(error, expected, "round {round}, quote limit {limit}");
    }
}

#[test]
fn icmp_error_translation_refuses_a_bad_checksum() {
    let original = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).udp(1, 2).build();
    let mut error = PacketBuilder::ipv4([10, 0, 0, 3], [10, 0, 0, 1])
        .icmp_error(3, 3, &original)
        .corrupt_checksum()
        .build();
    let target = dissect_ip(&original).unwrap().tuple().unwrap();
    let err = rewrite::icmp_error_translate(
        &mut error,
        0,
        20,
        (&target, Side::Source),
        (&target, Side::Destination),
    );
    assert_eq!(err, Err(rewrite::RewriteError::BadIcmpChecksum { offset: 20 }));
}

#[test]
fn payload_writes_update_checksums_like_nft_csum_replace() {
    let mut rng = Rng::new(0xface);
    let mut compared = 0;
    for _ in 0..20_000 {
        let v6 = rng.chance(50);
        let mut packet = random_packet_of(&mut rng, v6, 1).build();
        let info = dissect_ip(&packet).unwrap();
        let l4 = L4Context::from(&info);
        // `ip saddr set ...` / `ip6 daddr set ...`: network header, inet checksum at 10 for
        // IPv4 only, and the L4 pseudo-header flag.
        let (at, len) = match (v6, rng.chance(50)) {
            (false, true) => (12, 4),
            (false, false) => (16, 4),
            (true, true) => (8, 16),
            (true, false) => (24, 16),
        };
        let new = rng.bytes(len);
        let write = PayloadWrite {
            offset: at,
            bytes: &new,
            inet_csum_offset: (!v6).then_some(10),
            l4_pseudo_header: true,
            sctp_crc: false,
        };
        let before = packet.clone();
        payload_write(&mut packet, &write, &l4).unwrap();
        assert_eq!(&packet[at..at + len], &new[..]);

        let mut expected = packet.clone();
        recompute_checksums(&mut expected);
        // Where nft touched a checksum, a computed 0x0000 is stored as 0xffff.
        if !v6 && expected[10..12] == [0, 0] {
            expected[10..12].copy_from_slice(&[0xff, 0xff]);
        }
        if let (Some(proto), Some(th)) = (info.l4proto, info.transport_offset()) {
            let field = match proto {
                protocol::TCP => Some(16),
                protocol::UDP if before[th + 6..th + 8] != [0, 0] => Some(6),
                protocol::UDPLITE => Some(6),
                protocol::ICMPV6 => Some(2),
                _ => None,
            };
            if let Some(field) = field
                && expected[th + field..th + field + 2] == [0, 0]
            {
                expected[th + field..th + field + 2].copy_from_slice(&[0xff, 0xff]);
            }
            if proto == protocol::SCTP || (proto == protocol::AH && v6) {
                // SCTP's CRC (and anything behind an IPv6 AH) is not touched by this write.
                let ct = info.ct.unwrap();
                if ct.protonum == protocol::SCTP || proto == protocol::AH {
                    continue;
                }
            }
        } else {
            continue;
        }
        if info.ct.is_some_and(|ct| ct.protonum != info.l4proto.unwrap_or(0)) {
            continue;
        }
        assert_eq!(packet, expected);
        compared += 1;
    }
    assert!(compared > 10_000, "only {compared} packets compared");
}

#[test]
fn payload_write_sctp_recomputes_the_crc() {
    let mut packet =
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).sctp(1, 2, 3).chunk(0, 3, b"data").build();
    let info = dissect_ip(&packet).unwrap();
    let write = PayloadWrite {
        offset: 22,
        bytes: &[0, 99],
        inet_csum_offset: None,
        l4_pseudo_header: false,
        sctp_crc: true,
    };
    payload_write(&mut packet, &write, &L4Context::from(&info)).unwrap();
    let expected =
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).sctp(1, 99, 3).chunk(0, 3, b"data").build();
    assert_eq!(packet, expected);
    let outside = PayloadWrite { offset: packet.len() - 1, bytes: &[0, 0], ..write };
    assert!(payload_write(&mut packet, &outside, &L4Context::from(&info)).is_err());
}

#[test]
fn dccp_ports_and_addresses_like_dccp_manip_pkt() {
    let mut rng = Rng::new(33);
    for _ in 0..2_000 {
        let v6 = rng.chance(50);
        // A DCCP-Request: ports, data offset 3 (12 bytes), CsCov 0, checksum, type/X, seq.
        let mut dccp = vec![0u8; 12];
        dccp[0..4].copy_from_slice(&rng.u32().to_be_bytes());
        dccp[4] = 3;
        dccp[8] = 0x01;
        dccp.extend_from_slice(&rng.bytes_upto(20));
        let mut packet = PacketBuilder::ip(random_addr(&mut rng, v6), random_addr(&mut rng, v6))
            .protocol(protocol::DCCP)
            .payload(&dccp)
            .build();
        recompute_checksums(&mut packet);
        let side = if rng.chance(50) { Side::Source } else { Side::Destination };
        rewrite::set_port(&mut packet, 0, side, rng.u16()).unwrap();
        rewrite::set_addr(&mut packet, 0, side, random_addr(&mut rng, v6)).unwrap();
        let mut expected = packet.clone();
        recompute_checksums(&mut expected);
        assert_eq!(packet, expected);
    }
}
