//! Ready-made [`PacketInfo`] values for tests, benchmarks and callers that do not parse
//! packets: lengths are those of a minimal IPv4/IPv6 header plus the transport header and
//! the payload.

use std::net::IpAddr;

use super::packet::{IcmpInfo, L4, PacketInfo, Quoted, TcpInfo, Time, UdpInfo};
use super::tuple::{L3, proto};

fn ip_header_len(addr: IpAddr) -> u32 {
    if L3::of(addr) == L3::Ipv4 { 20 } else { 40 }
}

/// A TCP segment with `payload` bytes of data and the given option bytes.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    window: u16,
    payload: u32,
    options: &[u8],
    now: Time,
) -> PacketInfo<'_> {
    let opt_len = (options.len() as u32).div_ceil(4) * 4;
    let hdr = 20 + opt_len;
    let seg = TcpInfo {
        sport,
        dport,
        seq,
        ack,
        window,
        flags,
        doff: (hdr / 4) as u8,
        options,
        l4_len: hdr + payload,
    };
    PacketInfo::new(src, dst, proto::TCP, L4::Tcp(seg), ip_header_len(src) + hdr + payload, now)
}

/// A UDP datagram with `payload` bytes and no checksum.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: u32, now: Time) -> PacketInfo<'static> {
    let l4_len = 8 + payload;
    let u = UdpInfo { sport, dport, len_field: l4_len as u16, checksum: 0, l4_len };
    PacketInfo::new(src, dst, proto::UDP, L4::Udp(u), ip_header_len(src) + l4_len, now)
}

/// An ICMP / ICMPv6 query or reply (echo: type 8/0, or 128/129) with 8 bytes of data.
pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, id: u16, now: Time) -> PacketInfo<'static> {
    let l4 = if L3::of(src) == L3::Ipv4 { proto::ICMP } else { proto::ICMPV6 };
    let i = IcmpInfo { icmp_type, code: 0, id, quoted: None };
    PacketInfo::new(src, dst, l4, L4::Icmp(i), ip_header_len(src) + 16, now)
}

/// An ICMP / ICMPv6 error quoting `quoted`.
pub fn icmp_error(
    src: IpAddr,
    dst: IpAddr,
    icmp_type: u8,
    code: u8,
    quoted: Quoted,
    now: Time,
) -> PacketInfo<'static> {
    let l4 = if L3::of(src) == L3::Ipv4 { proto::ICMP } else { proto::ICMPV6 };
    let i = IcmpInfo { icmp_type, code, id: 0, quoted: Some(quoted) };
    let quoted_len = ip_header_len(quoted.src) + 8;
    PacketInfo::new(src, dst, l4, L4::Icmp(i), ip_header_len(src) + 8 + quoted_len, now)
}

/// A packet of a protocol tracked generically, `payload` bytes after the IP header.
pub fn other(src: IpAddr, dst: IpAddr, l4proto: u8, payload: u32, now: Time) -> PacketInfo<'static> {
    PacketInfo::new(src, dst, l4proto, L4::Other, ip_header_len(src) + payload, now)
}
