//! Hop-by-hop options as a Linux router checks them on receipt (`ip6_rcv_core` →
//! `ipv6_parse_hopopts` → `ip6_parse_tlv`), after the ingress hook and before prerouting:
//! every router reads this header, so a bad one never reaches netfilter's IP hooks.
//!
//! The header must be whole; at most 7 bytes of padding in a row (Pad1, PadN), PadN bytes
//! zero; at most [`MAX_OPTIONS`] other options (`net.ipv6.max_hbh_opts_number`); a router
//! alert of length 2; an IOAM option 4n-aligned (IOAM itself is off, so it is skipped); no
//! CALIPSO option (no CALIPSO domain is configured) — each failure drops the packet. An
//! unknown option is skipped, drops the packet, or drops it with an ICMPv6 parameter
//! problem, as the two high bits of its type say (no error for a multicast destination when
//! they are `11`); a jumbo payload option in a packet that is no jumbogram gets a
//! parameter problem about the field at fault (or, of the wrong length or alignment, a
//! silent drop).

/// `net.ipv6.max_hbh_opts_number`'s default.
pub const MAX_OPTIONS: usize = 8;

/// Option types (`IPV6_TLV_*`).
mod kind {
    pub const PAD1: u8 = 0;
    pub const PADN: u8 = 1;
    pub const ROUTER_ALERT: u8 = 5;
    pub const CALIPSO: u8 = 7;
    pub const IOAM: u8 = 0x31;
    pub const JUMBO: u8 = 0xc2;
}

/// ICMPv6 parameter problem codes (`ICMPV6_HDR_FIELD`, `ICMPV6_UNK_OPTION`).
pub const ERRONEOUS_FIELD: u8 = 0;
pub const UNRECOGNIZED_OPTION: u8 = 2;

/// What the receive path does with an IPv6 packet's hop-by-hop header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No hop-by-hop header, or a valid one.
    Pass,
    /// Dropped silently; why.
    Drop(&'static str),
    /// Dropped with an ICMPv6 parameter problem (`code`; `pointer`: the offset in the packet
    /// of the byte at fault).
    ParamProblem { code: u8, pointer: u32 },
}

/// Checks the hop-by-hop header of `ip` (from its IP header on), if it is an IPv6 packet.
pub fn check(ip: &[u8]) -> Verdict {
    if ip.first().map(|b| b >> 4) != Some(6) || ip.get(6) != Some(&0) {
        return Verdict::Pass;
    }
    let Some(&units) = ip.get(41) else { return Verdict::Drop("hop-by-hop header cut short") };
    let end = 40 + (usize::from(units) + 1) * 8;
    if ip.len() < end {
        return Verdict::Drop("hop-by-hop header cut short");
    }
    let multicast = ip.get(24) == Some(&0xff);
    let (mut off, mut padding, mut options) = (42, 0, 0);
    while off < end {
        let t = ip[off];
        if t == kind::PAD1 {
            padding += 1;
            if padding > 7 {
                return Verdict::Drop("more than 7 bytes of hop-by-hop padding");
            }
            off += 1;
            continue;
        }
        let Some(&len) = ip.get(off + 1).filter(|_| end - off >= 2) else {
            return Verdict::Drop("hop-by-hop option cut short");
        };
        let optlen = usize::from(len) + 2;
        if optlen > end - off {
            return Verdict::Drop("hop-by-hop option runs past its header");
        }
        if t == kind::PADN {
            padding += optlen;
            if padding > 7 {
                return Verdict::Drop("more than 7 bytes of hop-by-hop padding");
            }
            if ip[off + 2..off + optlen].iter().any(|b| *b != 0) {
                return Verdict::Drop("PadN bytes not zero");
            }
        } else {
            options += 1;
            if options > MAX_OPTIONS {
                return Verdict::Drop("too many hop-by-hop options");
            }
            let pointer = off as u32;
            match t {
                kind::ROUTER_ALERT if len != 2 => return Verdict::Drop("router alert of the wrong length"),
                kind::ROUTER_ALERT => {}
                kind::IOAM if off & 3 != 0 => return Verdict::Drop("IOAM option not 4n-aligned"),
                kind::IOAM => {}
                kind::CALIPSO => return Verdict::Drop("CALIPSO option without a CALIPSO domain"),
                kind::JUMBO if len != 4 || off & 3 != 2 => {
                    return Verdict::Drop("jumbo payload option of the wrong length or alignment");
                }
                kind::JUMBO => {
                    let length = u32::from_be_bytes([ip[off + 2], ip[off + 3], ip[off + 4], ip[off + 5]]);
                    // A length a plain packet could have; else the payload length is not zero:
                    // either way no jumbogram.
                    let pointer = if length <= 0xffff { pointer + 2 } else { pointer };
                    return Verdict::ParamProblem { code: ERRONEOUS_FIELD, pointer };
                }
                _ => match t >> 6 {
                    0 => {}
                    1 => return Verdict::Drop("unknown hop-by-hop option (discard)"),
                    3 if multicast => return Verdict::Drop("unknown hop-by-hop option (discard)"),
                    _ => return Verdict::ParamProblem { code: UNRECOGNIZED_OPTION, pointer },
                },
            }
            padding = 0;
        }
        off += optlen;
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv6 header (next header hop-by-hop) followed by a hop-by-hop header `body`
    /// (next header 59).
    fn packet(body: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, body.len() as u8 + 2, 0, 64];
        p.extend_from_slice(&[0xfd; 32]);
        p.extend_from_slice(&[59, ((body.len() + 2) / 8 - 1) as u8]);
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn linux_receive_rules() {
        assert_eq!(check(&packet(&[1, 4, 0, 0, 0, 0])), Verdict::Pass);
        // An IPv4 header (byte 6 is its flags) is none of this check's business.
        let v4 = [0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        assert_eq!(check(&v4), Verdict::Pass);
        assert_eq!(check(&packet(&[5, 2, 0, 0, 1, 0])), Verdict::Pass, "router alert, PadN");
        assert!(
            matches!(check(&packet(&[1, 2, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0])), Verdict::Drop(_)),
            "9 pad bytes"
        );
        assert!(matches!(check(&packet(&[1, 4, 0, 7, 0, 0])), Verdict::Drop(_)), "PadN not zero");
        assert!(matches!(check(&packet(&[5, 3, 0, 0, 0, 0])), Verdict::Drop(_)), "router alert length 3");
        assert!(matches!(check(&packet(&[0x5e, 0, 1, 2, 0, 0])), Verdict::Drop(_)), "discard");
        assert_eq!(
            check(&packet(&[0x9e, 0, 1, 2, 0, 0])),
            Verdict::ParamProblem { code: UNRECOGNIZED_OPTION, pointer: 42 }
        );
        assert_eq!(check(&packet(&[0x1e, 0, 1, 2, 0, 0])), Verdict::Pass, "skip");
        // Nine skippable options.
        let mut many = Vec::new();
        for _ in 0..9 {
            many.extend_from_slice(&[0x1e, 0]);
        }
        many.extend_from_slice(&[1, 2, 0, 0]);
        assert!(matches!(check(&packet(&many)), Verdict::Drop(_)), "too many options");
        // The header claims 16 bytes; 8 follow.
        let mut cut = packet(&[1, 4, 0, 0, 0, 0]);
        cut[41] = 1;
        assert!(matches!(check(&cut), Verdict::Drop(_)));
    }
}
