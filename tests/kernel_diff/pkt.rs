//! Packets for the scenarios (built with the runtime's packet builder), and replies built
//! from a packet as it was seen on the wire.

use std::net::{IpAddr, SocketAddr};

use nftvm_runtime::packet::PacketBuilder;

use crate::harness::Scenario;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub use nftvm_testkit::Rng;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn base(src: IpAddr, dst: IpAddr, id: u16) -> PacketBuilder {
    PacketBuilder::ip(src, dst).ident(id)
}

pub fn tcp(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    base(src.ip(), dst.ip(), (seq as u16) ^ 0x5a5a)
        .dont_frag()
        .tcp(src.port(), dst.port())
        .flags(flags)
        .seq(seq)
        .ack(ack)
        .window(64240)
        .payload(payload)
        .build()
}

pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    base(src.ip(), dst.ip(), 0x4d2).udp(src.port(), dst.port()).payload(payload).build()
}

pub fn echo(src: IpAddr, dst: IpAddr, id: u16, seq: u16) -> Vec<u8> {
    let b = base(src, dst, id ^ 0x77);
    b.icmp_echo_request(id, seq).payload(b"nftvm-diff-echo").build()
}

/// Sets an IPv6 packet's payload length to what it holds (after cutting it short).
pub fn fix_v6_length(p: &mut [u8]) {
    let len = (p.len() - 40) as u16;
    p[4..6].copy_from_slice(&len.to_be_bytes());
}

/// Recomputes an IPv4 header's checksum (over at least the 20-byte fixed header).
pub fn fix_ipv4_checksum(p: &mut [u8]) {
    p[10..12].copy_from_slice(&[0, 0]);
    let ihl = (usize::from(p[0] & 0x0f) * 4).max(20);
    let c = nftvm_runtime::checksum::checksum(&p[..ihl]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Ways an IP header fails the receive checks ([`malformed`]).
pub const MALFORMED: usize = 5;

/// The packet (IPv4 for kinds 0–3, IPv6 for 4) broken as kind `kind` says, everything else
/// in order: 0 a wrong IPv4 header checksum; 1 an IPv4 total length 8 bytes past the packet;
/// 2 an IPv4 header length of 16 bytes; 3 the IPv4 packet cut to its first 12 bytes; 4 an
/// IPv6 payload length 8 bytes past the packet.
pub fn malformed(p: &[u8], kind: usize) -> Vec<u8> {
    let mut p = p.to_vec();
    match kind {
        0 => p[11] ^= 0x5a,
        1 => {
            let len = u16::from_be_bytes([p[2], p[3]]) + 8;
            p[2..4].copy_from_slice(&len.to_be_bytes());
            fix_ipv4_checksum(&mut p);
        }
        2 => {
            p[0] = 0x44;
            fix_ipv4_checksum(&mut p);
        }
        3 => p.truncate(12),
        _ => {
            let len = u16::from_be_bytes([p[4], p[5]]) + 8;
            p[4..6].copy_from_slice(&len.to_be_bytes());
        }
    }
    p
}

/// The same packet with another TTL / hop limit (IPv4 header checksum fixed).
pub fn with_ttl(p: &[u8], ttl: u8) -> Vec<u8> {
    let mut p = p.to_vec();
    if p[0] >> 4 == 4 {
        p[8] = ttl;
        fix_ipv4_checksum(&mut p);
    } else {
        p[7] = ttl;
    }
    p
}

/// A TCP packet (built without options nor extension headers) with `options` after its
/// 20-byte header, padded with end-of-list bytes to a 4-byte multiple: data offset, IP
/// length and both checksums follow. For option shapes the builder does not write.
pub fn with_tcp_options(p: &[u8], options: &[u8]) -> Vec<u8> {
    use nftvm_runtime::checksum::{finish, pseudo_header_v4, pseudo_header_v6, sum};
    let v4 = p[0] >> 4 == 4;
    let th = if v4 { usize::from(p[0] & 0x0f) * 4 } else { 40 };
    let mut opts = options.to_vec();
    opts.resize(options.len().div_ceil(4) * 4, 0);
    let mut p = p.to_vec();
    p.splice(th + 20..th + 20, opts.iter().copied());
    p[th + 12] = (p[th + 12] & 0x0f) + ((((20 + opts.len()) / 4) as u8) << 4);
    if v4 {
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        fix_ipv4_checksum(&mut p);
    } else {
        fix_v6_length(&mut p);
    }
    p[th + 16..th + 18].fill(0);
    let seg_len = (p.len() - th) as u32;
    let (src, dst) = endpoints(&p);
    let pseudo = match (src.ip(), dst.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => pseudo_header_v4(a, b, 6, seg_len),
        (IpAddr::V6(a), IpAddr::V6(b)) => pseudo_header_v6(a, b, 6, seg_len),
        _ => unreachable!("both addresses of one family"),
    };
    let c = finish(sum(&p[th..], pseudo));
    p[th + 16..th + 18].copy_from_slice(&c.to_be_bytes());
    p
}

/// Source and destination endpoints of a TCP/UDP packet (port 0 for others).
pub fn endpoints(p: &[u8]) -> (SocketAddr, SocketAddr) {
    let (src, dst, th): (IpAddr, IpAddr, usize) = if p[0] >> 4 == 4 {
        (
            IpAddr::from([p[12], p[13], p[14], p[15]]),
            IpAddr::from([p[16], p[17], p[18], p[19]]),
            usize::from(p[0] & 0x0f) * 4,
        )
    } else {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&p[8..24]);
        d.copy_from_slice(&p[24..40]);
        (IpAddr::from(s), IpAddr::from(d), 40)
    };
    let port = |at: usize| p.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    (SocketAddr::new(src, port(th)), SocketAddr::new(dst, port(th + 2)))
}

/// A TCP segment answering `seen` (from its destination to its source).
pub fn tcp_reply(seen: &[u8], flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let (s, d) = endpoints(seen);
    tcp(d, s, flags, seq, ack, payload)
}

/// A UDP datagram answering `seen`.
pub fn udp_reply(seen: &[u8], payload: &[u8]) -> Vec<u8> {
    let (s, d) = endpoints(seen);
    udp(d, s, payload)
}

/// An ICMP / ICMPv6 error about `seen`, sent by `from` to `seen`'s source.
pub fn icmp_error_about(seen: &[u8], from: IpAddr, kind: u8, code: u8) -> Vec<u8> {
    let (s, _) = endpoints(seen);
    PacketBuilder::ip(from, s.ip()).icmp_error(kind, code, seen).build()
}

/// An echo reply answering the echo request `seen`.
pub fn echo_reply(seen: &[u8]) -> Vec<u8> {
    let (s, d) = endpoints(seen);
    let th = if seen[0] >> 4 == 4 { usize::from(seen[0] & 0x0f) * 4 } else { 40 };
    let id = u16::from_be_bytes([seen[th + 4], seen[th + 5]]);
    let seq = u16::from_be_bytes([seen[th + 6], seen[th + 7]]);
    PacketBuilder::ip(d.ip(), s.ip())
        .ident(id ^ 0x99)
        .icmp_echo_reply(id, seq)
        .payload(b"nftvm-diff-echo")
        .build()
}

/// The same packet with another TOS / IPv6 traffic class (IPv4 header checksum fixed).
pub fn with_tos(p: &[u8], tos: u8) -> Vec<u8> {
    let mut p = p.to_vec();
    if p[0] >> 4 == 4 {
        p[1] = tos;
        fix_ipv4_checksum(&mut p);
    } else {
        p[0] = 0x60 | tos >> 4;
        p[1] = (p[1] & 0x0f) | tos << 4;
    }
    p
}

/// How a [`tcp_conversation`] goes.
pub struct Talk {
    /// The client sends `1..=data` bytes, the server answers `0..answer`.
    pub data: usize,
    pub answer: usize,
    /// The ruleset may drop what the server answers: its packets are then left out.
    pub may_drop: bool,
    /// The client ends with a FIN or, on a coin toss, a RST (else always a FIN).
    pub may_reset: bool,
}

/// A TCP conversation from `c` (on `cif`) to `s` (on `sif`): handshake, one segment of data
/// each way, then the client closes. The server's packets answer what came out of the
/// router, so they follow NAT.
pub fn tcp_conversation(
    sc: &mut Scenario,
    rng: &mut Rng,
    (c, s): (SocketAddr, SocketAddr),
    (cif, sif): (&'static str, &'static str),
    talk: &Talk,
) {
    let cs = rng.next_u64() as u32;
    let ss = rng.next_u64() as u32;
    let syn = sc.send(cif, tcp(c, s, SYN, cs, 0, b""));
    sc.answer(sif, syn, talk.may_drop, move |seen| tcp_reply(seen, SYN | ACK, ss, cs.wrapping_add(1), b""));
    sc.send(cif, tcp(c, s, ACK, cs.wrapping_add(1), ss.wrapping_add(1), b""));
    let n = 1 + rng.below(talk.data) as u32;
    let data = rng.bytes(n as usize);
    sc.send(cif, tcp(c, s, ACK | PSH, cs.wrapping_add(1), ss.wrapping_add(1), &data));
    let m = rng.below(talk.answer) as u32;
    let reply = rng.bytes(m as usize);
    sc.answer(sif, syn, talk.may_drop, move |seen| {
        tcp_reply(seen, ACK | PSH, ss.wrapping_add(1), cs.wrapping_add(1 + n), &reply)
    });
    if talk.may_reset && !rng.bool() {
        sc.send(cif, tcp(c, s, RST, cs.wrapping_add(1 + n), 0, b""));
    } else {
        sc.send(cif, tcp(c, s, FIN | ACK, cs.wrapping_add(1 + n), ss.wrapping_add(1 + m), b""));
    }
}
