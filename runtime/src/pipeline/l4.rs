//! Small transport-layer helpers the pipeline needs: verifying an L4 checksum (conntrack
//! at prerouting, `reject`, the host's stack), and conntrack's view of a packet.
//!
//! Offsets here are relative to the IP header (`ip` starts at it).

use std::net::IpAddr;

use crate::checksum;
use crate::conntrack::packet::{IcmpInfo, L4, PacketInfo as CtPacket, Quoted, QuotedL4, TcpInfo, UdpInfo};
use crate::conntrack::{Segment, Time};
use crate::packet::{PacketInfo, TupleL4};

fn pseudo(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::pseudo_header_v4(s, d, proto, len),
        (IpAddr::V6(s), IpAddr::V6(d)) => checksum::pseudo_header_v6(s, d, proto, len),
        _ => 0,
    }
}

/// Whether the layer-4 checksum of `proto` at `l4off` is right (UDP's "no checksum" counts
/// as right; protocols without a ones' complement checksum are always right).
pub fn checksum_ok(ip: &[u8], src: IpAddr, dst: IpAddr, proto: u8, l4off: usize) -> bool {
    let Some(seg) = ip.get(l4off..) else { return false };
    match proto {
        6 | 58 => checksum::verify(seg, pseudo(src, dst, proto, seg.len())),
        17 => seg.get(6..8) == Some(&[0, 0][..]) || checksum::verify(seg, pseudo(src, dst, proto, seg.len())),
        1 => checksum::verify(seg, 0),
        _ => true,
    }
}

/// Conntrack's description of the packet `frame` (dissected as `info`).
pub fn ct_packet<'a>(
    frame: &'a [u8],
    info: &PacketInfo,
    zone: u16,
    now: Time,
    checksum_ok: bool,
) -> CtPacket<'a> {
    let len = u32::try_from(info.network_len()).unwrap_or(u32::MAX);
    let end = info.network_end.min(frame.len());
    let Some(view) = info.ct else {
        let mut p =
            CtPacket::new(info.src_addr, info.dst_addr, info.l4proto.unwrap_or(0), L4::Truncated, len, now);
        p.fragment = info.fragoff != 0;
        p.zone = zone;
        return p;
    };
    let l4 = frame.get(view.dataoff..end).unwrap_or(&[]);
    let u16_at = |at: usize| l4.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let u32_at = |at: usize| l4.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let l4_len = u32::try_from(l4.len()).unwrap_or(u32::MAX);
    let proto = view.protonum;
    let layer4 = match proto {
        // nf_ct_get_tuple failed (a GRE version 1 packet that is not PPTP …).
        _ if view.tuple.is_none() => L4::Truncated,
        6 => match (u16_at(0), u16_at(2), u32_at(4), u32_at(8), l4.get(12), l4.get(13), u16_at(14)) {
            (Some(sport), Some(dport), Some(seq), Some(ack), Some(&off), Some(&flags), Some(window))
                if l4.len() >= 20 =>
            {
                let doff = off >> 4;
                let opt_end = (usize::from(doff) * 4).clamp(20, l4.len());
                L4::Tcp(TcpInfo {
                    sport,
                    dport,
                    seq,
                    ack,
                    window,
                    flags,
                    doff,
                    options: &l4[20..opt_end],
                    l4_len,
                })
            }
            _ => L4::Truncated,
        },
        17 | 136 => match (u16_at(0), u16_at(2), u16_at(4), u16_at(6)) {
            (Some(sport), Some(dport), Some(len_field), Some(checksum)) => {
                let u = UdpInfo { sport, dport, len_field, checksum, l4_len };
                if proto == 17 { L4::Udp(u) } else { L4::UdpLite(u) }
            }
            _ => L4::Truncated,
        },
        1 | 58 => match (l4.first(), l4.get(1), u16_at(4)) {
            (Some(&icmp_type), Some(&code), Some(id)) if l4.len() >= 8 => {
                let quoted = info.icmp_error.and_then(|e| e.inner).and_then(|v| v.tuple).map(|t| Quoted {
                    src: t.src,
                    dst: t.dst,
                    proto: t.protocol,
                    l4: match t.l4 {
                        TupleL4::Ports { src, dst } => QuotedL4::Ports { sport: src, dport: dst },
                        TupleL4::Icmp { id, kind, code } => QuotedL4::Icmp { icmp_type: kind, code, id },
                        TupleL4::Gre { src_key, dst_key } => QuotedL4::Gre { src_key, dst_key },
                        TupleL4::None => QuotedL4::Other,
                    },
                });
                L4::Icmp(IcmpInfo { icmp_type, code, id, quoted })
            }
            _ => L4::Truncated,
        },
        132 => match (u16_at(0), u16_at(2)) {
            (Some(sport), Some(dport)) => L4::Sctp { sport, dport },
            _ => L4::Truncated,
        },
        47 => match view.tuple.map(|t| t.l4) {
            Some(TupleL4::Gre { src_key, dst_key }) => L4::Gre { src_key, dst_key },
            _ => L4::Other,
        },
        _ => L4::Other,
    };
    let mut p = CtPacket::new(info.src_addr, info.dst_addr, proto, layer4, len, now);
    p.zone = zone;
    p.checksum_ok = checksum_ok;
    p
}

/// The TCP segment at `th` of `ip` as the confirm point needs it (helper, sequence
/// adjustment); `sack` receives the SACK blocks.
pub fn segment<'a>(ip: &'a [u8], th: usize, sack: &'a mut Vec<(u32, u32)>) -> Option<Segment<'a>> {
    let tcp = ip.get(th..)?;
    if tcp.len() < 20 {
        return None;
    }
    let doff = usize::from(tcp[12] >> 4) * 4;
    let opts = tcp.get(20..doff.min(tcp.len()))?;
    sack.clear();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > opts.len() {
                    break;
                }
                if kind == 5 {
                    for b in opts[i + 2..i + len].chunks_exact(8) {
                        sack.push((
                            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                            u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                        ));
                    }
                }
                i += len;
            }
        }
    }
    Some(Segment {
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        ack: u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]),
        flags: tcp[13],
        payload: tcp.get(doff..).unwrap_or(&[]),
        sack: sack.as_slice(),
        l3_len: u32::try_from(ip.len()).unwrap_or(u32::MAX),
    })
}
