//! Packets the host itself builds, byte for byte as Linux builds them (checked against
//! Linux 6.18 with the kernel oracle):
//!
//! * ICMP errors (`__icmp_send`): TOS `0xc0 | (tos & 0x1e)`, TTL 64, no DF, the offending
//!   packet quoted from its IP header up to 576 bytes in all; ICMPv6 errors (`icmp6_send`):
//!   hop limit 64, traffic class 0, the offending packet quoted up to 1280 bytes in all.
//! * TCP resets from `reject with tcp reset` (`nf_send_reset`): TOS 0, ID 0, DF, TTL 64,
//!   window 0 — IPv6 with traffic class and flow label 0; and from the host's own stack
//!   for a closed port (`tcp_v4_send_reset`, `tcp_v6_send_reset`): the same shape, but with
//!   the segment's TOS / traffic class (ECN bits cleared).
//! * Echo replies: the request's identifier, sequence and data.
//!
//! What Linux leaves to chance is not reproducible and is set to fixed values here: the
//! IPv4 identification of ICMP messages (a hashed counter; here a counter) and the IPv6
//! flow label of ICMPv6 messages and stack resets (a flow hash; here 0). Comparisons with
//! the kernel must ignore those two fields of generated packets.

use std::net::IpAddr;

use crate::checksum;

/// `icmp_pointers[type].error` (and types above `NR_ICMP_TYPES` count as errors).
fn icmpv4_is_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12) || t > 18
}

/// May the host send an ICMP error about `ip` (`__icmp_send`'s and `icmp6_send`'s
/// refusals: not about non-first fragments, ICMP errors, or packets to broadcast or
/// multicast addresses or from unspecified/multicast sources)? `to_group` says the
/// packet's route was broadcast or multicast; `ptb` relaxes the multicast rule for IPv6
/// "packet too big".
pub fn may_send_error(ip: &[u8], to_group: bool, ptb: bool) -> bool {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => {
            if to_group || u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
                return false;
            }
            if ip[9] == 1 {
                let th = usize::from(ip[0] & 0x0f) * 4;
                match ip.get(th) {
                    Some(&t) if !icmpv4_is_error(t) => {}
                    _ => return false,
                }
            }
            true
        }
        Some(6) if ip.len() >= 40 => {
            let dst_mc = ip[24] == 0xff;
            if (dst_mc || to_group) && !ptb {
                return false;
            }
            let src_unspec = ip[8..24].iter().all(|b| *b == 0);
            if src_unspec || ip[8] == 0xff {
                return false;
            }
            match crate::packet::ipv6_chain::skip_exthdr(ip, 40, ip[6]) {
                Some(s) if s.next_header == 58 => match ip.get(s.offset) {
                    Some(&t) => t & 0x80 != 0,
                    None => false,
                },
                _ => true,
            }
        }
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn ipv4_header(
    tos: u8,
    id: u16,
    df: bool,
    ttl: u8,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    len: usize,
) -> Vec<u8> {
    let mut h = vec![0x45, tos];
    h.extend_from_slice(&(len as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&(if df { 0x4000u16 } else { 0 }).to_be_bytes());
    h.extend_from_slice(&[ttl, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum::checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

fn ipv6_header(
    tclass: u8,
    flow: u32,
    next: u8,
    hop: u8,
    src: [u8; 16],
    dst: [u8; 16],
    plen: usize,
) -> Vec<u8> {
    let word = 6u32 << 28 | u32::from(tclass) << 20 | (flow & 0xfffff);
    let mut h = word.to_be_bytes().to_vec();
    h.extend_from_slice(&(plen as u16).to_be_bytes());
    h.extend_from_slice(&[next, hop]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

fn v4(a: IpAddr) -> Option<[u8; 4]> {
    match a {
        IpAddr::V4(x) => Some(x.octets()),
        IpAddr::V6(_) => None,
    }
}

fn v6(a: IpAddr) -> Option<[u8; 16]> {
    match a {
        IpAddr::V6(x) => Some(x.octets()),
        IpAddr::V4(_) => None,
    }
}

fn addrs4(ip: &[u8]) -> ([u8; 4], [u8; 4]) {
    ([ip[12], ip[13], ip[14], ip[15]], [ip[16], ip[17], ip[18], ip[19]])
}

fn addrs6(ip: &[u8]) -> ([u8; 16], [u8; 16]) {
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&ip[8..24]);
    d.copy_from_slice(&ip[24..40]);
    (s, d)
}

/// An ICMP (IPv4) or ICMPv6 error about `ip`, from `src`. `rest` is the 4 bytes after the
/// checksum (next-hop MTU, parameter-problem pointer …). `id` is the IPv4 identification.
pub fn icmp_error(ip: &[u8], kind: u8, code: u8, rest: u32, src: IpAddr, id: u16) -> Option<Vec<u8>> {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => {
            let (osrc, _) = addrs4(ip);
            let quote = &ip[..ip.len().min(576 - 28)];
            let mut icmp = vec![kind, code, 0, 0];
            icmp.extend_from_slice(&rest.to_be_bytes());
            icmp.extend_from_slice(quote);
            let c = checksum::checksum(&icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let tos = 0xc0 | (ip[1] & 0x1e);
            let mut p = ipv4_header(tos, id, false, 64, 1, v4(src)?, osrc, 20 + icmp.len());
            p.extend_from_slice(&icmp);
            Some(p)
        }
        Some(6) if ip.len() >= 40 => {
            let (osrc, _) = addrs6(ip);
            let quote = &ip[..ip.len().min(1280 - 48)];
            let mut icmp = vec![kind, code, 0, 0];
            icmp.extend_from_slice(&rest.to_be_bytes());
            icmp.extend_from_slice(quote);
            let s = v6(src)?;
            let sum = checksum::sum(&icmp, pseudo6(&s, &osrc, 58, icmp.len()));
            icmp[2..4].copy_from_slice(&checksum::finish(sum).to_be_bytes());
            let mut p = ipv6_header(0, 0, 58, 64, s, osrc, icmp.len());
            p.extend_from_slice(&icmp);
            Some(p)
        }
        _ => None,
    }
}

fn pseudo6(src: &[u8; 16], dst: &[u8; 16], proto: u8, len: usize) -> u32 {
    checksum::pseudo_header_v6((*src).into(), (*dst).into(), proto, u32::try_from(len).unwrap_or(u32::MAX))
}

/// Who sends a TCP reset, which decides its TOS / traffic class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetBy {
    /// `reject with tcp reset` (`nf_send_reset`): TOS 0.
    Reject,
    /// The host's stack for a closed port: the segment's DS field, ECN bits cleared.
    Stack,
}

/// The reset answering the TCP segment at `th` of `ip` (`nf_reject_ip_tcphdr_put`,
/// `tcp_v4_send_reset`): from its destination to its source; with the segment's ACK as
/// sequence number if it had ACK set, else acknowledging everything it carried. `None` for
/// a reset (no reset answers a reset) or a truncated header.
pub fn tcp_reset(ip: &[u8], th: usize, by: ResetBy) -> Option<Vec<u8>> {
    let tcp = ip.get(th..th + 20)?;
    let flags = tcp[13];
    if flags & 0x04 != 0 {
        return None;
    }
    let doff = usize::from(tcp[12] >> 4) * 4;
    let data_len = ip.len().saturating_sub(th + doff) as u32;
    let mut r = vec![0u8; 20];
    r[0..2].copy_from_slice(&tcp[2..4]);
    r[2..4].copy_from_slice(&tcp[0..2]);
    if flags & 0x10 != 0 {
        r[4..8].copy_from_slice(&tcp[8..12]);
        r[13] = 0x04;
    } else {
        let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let ack = seq
            .wrapping_add(u32::from(flags & 0x02 != 0))
            .wrapping_add(u32::from(flags & 0x01 != 0))
            .wrapping_add(data_len);
        r[8..12].copy_from_slice(&ack.to_be_bytes());
        r[13] = 0x14;
    }
    r[12] = 5 << 4;
    let (b0, b1) = (ip.first().copied().unwrap_or(0), ip.get(1).copied().unwrap_or(0));
    let ds = match by {
        ResetBy::Reject => 0,
        ResetBy::Stack if b0 >> 4 == 4 => b1 & !0x03,
        ResetBy::Stack => (b0 << 4 | b1 >> 4) & !0x03,
    };
    match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let (s, d) = addrs4(ip);
            let sum = checksum::sum(&r, checksum::pseudo_header_v4(d.into(), s.into(), 6, 20));
            r[16..18].copy_from_slice(&checksum::finish(sum).to_be_bytes());
            let mut p = ipv4_header(ds, 0, true, 64, 6, d, s, 40);
            p.extend_from_slice(&r);
            Some(p)
        }
        Some(6) => {
            let (s, d) = addrs6(ip);
            let sum = checksum::sum(&r, pseudo6(&d, &s, 6, 20));
            r[16..18].copy_from_slice(&checksum::finish(sum).to_be_bytes());
            let mut p = ipv6_header(ds, 0, 6, 64, d, s, 20);
            p.extend_from_slice(&r);
            Some(p)
        }
        _ => None,
    }
}

/// The echo reply to the echo request at `th` of `ip`, sent from `src`; TOS / traffic
/// class as the request's.
pub fn echo_reply(ip: &[u8], th: usize, src: IpAddr, id: u16) -> Option<Vec<u8>> {
    let req = ip.get(th..)?;
    if req.len() < 8 {
        return None;
    }
    let mut icmp = req.to_vec();
    match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let (osrc, _) = addrs4(ip);
            icmp[0] = 0;
            icmp[2..4].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(&icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let mut p = ipv4_header(ip[1], id, false, 64, 1, v4(src)?, osrc, 20 + icmp.len());
            p.extend_from_slice(&icmp);
            Some(p)
        }
        Some(6) => {
            let (osrc, _) = addrs6(ip);
            let s = v6(src)?;
            icmp[0] = 129;
            icmp[2..4].copy_from_slice(&[0, 0]);
            let sum = checksum::sum(&icmp, pseudo6(&s, &osrc, 58, icmp.len()));
            icmp[2..4].copy_from_slice(&checksum::finish(sum).to_be_bytes());
            let tclass = ((u16::from_be_bytes([ip[0], ip[1]]) >> 4) & 0xff) as u8;
            let mut p = ipv6_header(tclass, 0, 58, 64, s, osrc, icmp.len());
            p.extend_from_slice(&icmp);
            Some(p)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // Inputs and outputs recorded from Linux 6.18 (kernel oracle), IP ids zeroed where the
    // kernel picks them.
    #[test]
    fn resets_match_linux() {
        let syn = hex("45000028123440004006129a0a0001020a0001010fa0001600000064000000005002faf08ed50000");
        assert_eq!(
            tcp_reset(&syn, 20, ResetBy::Stack).unwrap(),
            hex("4500002800004000400624ce0a0001010a00010200160fa000000000000000655014000089b30000")
        );
        let ack = hex("4500002a12344000400612980a0001020a0001010fa00016000000640000022b5010faf0142100007879");
        assert_eq!(
            tcp_reset(&ack, 20, ResetBy::Reject).unwrap(),
            hex("4500002800004000400624ce0a0001010a00010200160fa00000022b000000005004000087fd0000")
        );
    }

    #[test]
    fn icmp_errors_match_linux() {
        let udp = hex("4500002112344000401112960a0001020a0001010fa00035000d962a68656c6c6f");
        let got = icmp_error(&udp, 3, 3, 0, "10.0.1.1".parse().unwrap(), 0x3ad9).unwrap();
        assert_eq!(
            got,
            hex(
                "45c0003d3ad90000400129250a0001010a0001020303131e000000004500002112344000401112960a0001020a0001010fa00035000d962a68656c6c6f"
            )
        );
        let udp6 = hex(
            "60000000000d1140fd000001000000000000000000000002fd0000010000000000000000000000010fa00035000db22668656c6c6f",
        );
        let got = icmp_error(&udp6, 1, 4, 0, "fd00:1::1".parse().unwrap(), 0).unwrap();
        let mut want = hex(
            "600c1e5a003d3a40fd000001000000000000000000000001fd0000010000000000000000000000020104934e0000000060000000000d1140fd000001000000000000000000000002fd0000010000000000000000000000010fa00035000db22668656c6c6f",
        );
        want[1..4].copy_from_slice(&[0, 0, 0]);
        assert_eq!(got, want);
    }

    #[test]
    fn echo_replies_match_linux() {
        let req = hex("45000028123440004001129f0a0001020a00010108006ab2000700016e6674766d2d6f7261636c65");
        assert_eq!(
            echo_reply(&req, 20, "10.0.1.1".parse().unwrap(), 0x3ad6).unwrap(),
            hex("450000283ad60000400129fd0a0001010a000102000072b2000700016e6674766d2d6f7261636c65")
        );
    }

    #[test]
    fn no_errors_about_errors_or_later_fragments() {
        let err = hex(
            "45c0003d3ad90000400129250a0001010a0001020303131e000000004500002112344000401112960a0001020a0001010fa00035000d962a68656c6c6f",
        );
        assert!(!may_send_error(&err, false, false));
        let mut frag = hex("4500002112344000401112960a0001020a0001010fa00035000d962a68656c6c6f");
        frag[7] = 1;
        assert!(!may_send_error(&frag, false, false));
        frag[7] = 0;
        assert!(may_send_error(&frag, false, false));
        assert!(!may_send_error(&frag, true, false));
    }
}
