//! `target name HMARK rev 0` — iptables' `-j HMARK`, run as iptables-nft runs it: the
//! kernel's target (`xt_HMARK`). It sets the packet mark to a hash of the packet's (or its
//! connection's) addresses, ports or SPI and protocol, each masked — `jhash` of three words
//! with the rule's seed, scaled to `0..modulus` and moved by `offset` — so that a cluster's
//! nodes agree on who takes a flow whichever direction it comes from (the addresses, and
//! the ports, are put in order first).
//!
//! Packet mode reads the headers as the kernel does: for an ICMP error the quoted packet's;
//! no ports for ICMP, fragments or protocols without ports (AH's SPI counts as ports); an
//! IPv6 header chain that cannot be walked hashes an all-zero tuple, a quoted header that
//! cannot be read leaves the mark alone. Connection mode (`--hmark-tuple ct`) takes the
//! original direction's source and the reply direction's source, address and port.

use super::hash::jhash_3words;
use crate::interp::Eval;
use crate::keys::{CtDir, CtKey, Family, MetaKey};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// One `-j HMARK` (the kernel's `xt_hmark_info`). Masks and port values are numbers as
/// the packet's bytes read big-endian: ports `source << 16 | destination`, or an SPI.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Hmark {
    /// Hash the connection's tuples (`--hmark-tuple ct`), else the packet's headers.
    pub ct: bool,
    /// Address masks (IPv4: the low 32 bits).
    pub src_mask: u128,
    pub dst_mask: u128,
    pub port_mask: u32,
    pub port_set: u32,
    pub proto_mask: u16,
    pub rnd: u32,
    /// At least 1.
    pub modulus: u32,
    pub offset: u32,
}

/// What is hashed: addresses (masked, folded to 32 bits), ports (ordered), protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tuple {
    src: u32,
    dst: u32,
    ports: u32,
    proto: u8,
}

/// Bytes of an address, masked and folded to one 32-bit number (IPv6: the four words
/// XOR-ed).
fn fold(addr: &[u8], mask: u128) -> u32 {
    let word =
        |i: usize| addr.get(4 * i..4 * i + 4).map_or(0, |w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    if addr.len() == 4 {
        return word(0) & mask as u32;
    }
    (0..4).fold(0, |x, i| x ^ (word(i) & (mask >> (96 - 32 * i)) as u32))
}

/// Where a protocol's "ports" start in its header (`proto_ports_offset`).
fn ports_offset(proto: u8) -> Option<usize> {
    match proto {
        6 | 17 | 33 | 50 | 132 | 136 => Some(0),
        51 => Some(4),
        _ => None,
    }
}

/// `ipv6_ext_hdr`.
fn ipv6_ext(next: u8) -> bool {
    matches!(next, 0 | 43 | 44 | 51 | 59 | 60)
}

/// The kernel's `ipv6_find_hdr` with `IP6_FH_F_AUTH` for the IPv6 header at `at`: the
/// upper-layer protocol (or AH), where it starts, and whether a fragment header was seen;
/// `None` when the chain cannot be walked.
fn find_ipv6_upper(d: &[u8], at: usize) -> Option<(u8, usize, bool)> {
    if d.get(at)? >> 4 != 6 {
        return None;
    }
    let mut next = *d.get(at + 6)?;
    let mut start = at + 40;
    let mut frag = false;
    loop {
        if !ipv6_ext(next) || next == 59 {
            break;
        }
        let (hdr_next, hdr_len) = (*d.get(start)?, *d.get(start + 1)?);
        let len = match next {
            44 => {
                frag = true;
                let off = u16::from_be_bytes([*d.get(start + 2)?, *d.get(start + 3)?]) & !7;
                if off != 0 {
                    // A later fragment: the protocol it carries, if no header follows.
                    return (!ipv6_ext(hdr_next) || hdr_next == 59).then_some((hdr_next, start, true));
                }
                8
            }
            51 => break,
            _ => (usize::from(hdr_len) + 1) << 3,
        };
        next = hdr_next;
        start += len;
    }
    Some((next, start, frag))
}

impl Hmark {
    /// The ports word: `(bytes & port_mask) | port_set`, then the larger port first.
    fn ports(&self, raw: [u8; 4]) -> u32 {
        let hp = (u32::from_be_bytes(raw) & self.port_mask) | self.port_set;
        let (src, dst) = (hp >> 16, hp & 0xffff);
        if dst > src { dst << 16 | src } else { src << 16 | dst }
    }

    /// The mark for a tuple.
    fn mark(&self, t: Tuple) -> u32 {
        let (src, dst) = if t.dst < t.src { (t.dst, t.src) } else { (t.src, t.dst) };
        let hash =
            jhash_3words(src, dst, t.ports, self.rnd) ^ u32::from(u16::from(t.proto) & self.proto_mask);
        (((u64::from(hash) * u64::from(self.modulus)) >> 32) as u32).wrapping_add(self.offset)
    }

    /// Ports read `at` in `d`, if there (else none).
    fn ports_at(&self, d: &[u8], at: usize) -> u32 {
        d.get(at..at + 4).map_or(0, |b| self.ports([b[0], b[1], b[2], b[3]]))
    }

    /// The tuple of an IPv4 packet; `None` leaves the mark alone.
    fn ipv4_tuple(&self, d: &[u8], net: usize) -> Option<Tuple> {
        let mut at = net;
        let ihl = usize::from(d.get(net)? & 0x0f) * 4;
        if *d.get(net + 9)? == 1
            && let Some(icmp) = d.get(net + ihl..net + ihl + 8)
            && matches!(icmp[0], 3 | 4 | 5 | 11 | 12)
        {
            at = net + ihl + 8;
            d.get(at..at + 20)?;
        }
        let ip = d.get(at..at + 20)?;
        let mut t = Tuple {
            src: fold(&ip[12..16], self.src_mask),
            dst: fold(&ip[16..20], self.dst_mask),
            ports: 0,
            proto: ip[9],
        };
        let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
        if t.proto != 1
            && !fragment
            && let Some(off) = ports_offset(t.proto)
        {
            t.ports = self.ports_at(d, at + usize::from(ip[0] & 0x0f) * 4 + off);
        }
        Some(t)
    }

    /// The tuple of an IPv6 packet; `None` leaves the mark alone.
    fn ipv6_tuple(&self, d: &[u8], net: usize) -> Option<Tuple> {
        let Some((mut next, mut upper, mut frag)) = find_ipv6_upper(d, net) else {
            return Some(Tuple::default());
        };
        let mut ip = net;
        if !frag
            && next == 58
            && let Some(&kind) = d.get(upper)
            && d.get(upper..upper + 8).is_some()
            && kind != 0
            && kind < 128
        {
            ip = upper + 8;
            d.get(ip..ip + 40)?;
            (next, upper, frag) = find_ipv6_upper(d, ip)?;
        }
        let addrs = d.get(ip + 8..ip + 40)?;
        let mut t = Tuple {
            src: fold(&addrs[..16], self.src_mask),
            dst: fold(&addrs[16..], self.dst_mask),
            ports: 0,
            proto: next,
        };
        if next != 58
            && !frag
            && let Some(off) = ports_offset(next)
        {
            t.ports = self.ports_at(d, upper + off);
        }
        Some(t)
    }

    /// The tuple of the packet's connection; `None` without one.
    fn ct_tuple(&self, e: &mut Eval) -> Option<Tuple> {
        let v6 = e.pkt.nfproto == Family::Ip6;
        let mut addr = [0u8; 16];
        let addr = &mut addr[..if v6 { 16 } else { 4 }];
        let mut get = |key, dir, out: &mut [u8]| e.env.ct_get(key, Some(dir), out);
        get(CtKey::Src, CtDir::Original, addr).then_some(())?;
        let src = fold(addr, self.src_mask);
        get(CtKey::Src, CtDir::Reply, addr).then_some(())?;
        let dst = fold(addr, self.dst_mask);
        let mut proto = [0u8; 1];
        get(CtKey::Protocol, CtDir::Original, &mut proto).then_some(())?;
        let mut t = Tuple { src, dst, ports: 0, proto: proto[0] };
        if t.proto != 1 {
            let (mut sp, mut dp) = ([0u8; 2], [0u8; 2]);
            if get(CtKey::ProtoSrc, CtDir::Original, &mut sp) && get(CtKey::ProtoSrc, CtDir::Reply, &mut dp) {
                t.ports = self.ports([sp[0], sp[1], dp[0], dp[1]]);
            }
        }
        Some(t)
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name HMARK rev 0 src-mask 0x{:x} dst-mask 0x{:x} port-mask 0x{:08x} port-set 0x{:08x} proto-mask 0x{:x} rnd 0x{:08x} mod {} offset {}",
            self.src_mask,
            self.dst_mask,
            self.port_mask,
            self.port_set,
            self.proto_mask,
            self.rnd,
            self.modulus,
            self.offset
        );
        if self.ct {
            o.push_str(" ct");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Hmark> {
        c.expect_all(&["name", "HMARK", "rev", "0"])?;
        let wide = |c: &mut Cursor, word: &str| -> PResult<u128> {
            c.expect(word)?;
            let t = c.next()?;
            let digits = t.strip_prefix("0x").ok_or_else(|| format!("{word}: expected 0x…, found `{t}`"))?;
            u128::from_str_radix(digits, 16).map_err(|_| format!("{word}: bad hex `{t}`"))
        };
        let (src_mask, dst_mask) = (wide(c, "src-mask")?, wide(c, "dst-mask")?);
        let word = |c: &mut Cursor, name: &str| -> PResult<u32> {
            c.expect(name)?;
            u32::try_from(c.hex()?).map_err(|_| format!("{name} is more than 32 bits"))
        };
        let (port_mask, port_set) = (word(c, "port-mask")?, word(c, "port-set")?);
        let proto_mask =
            u16::try_from(word(c, "proto-mask")?).map_err(|_| "proto-mask is more than 16 bits")?;
        let rnd = word(c, "rnd")?;
        c.expect("mod")?;
        let modulus = c.num()?;
        c.expect("offset")?;
        let offset = c.num()?;
        Ok(Hmark {
            ct: c.eat("ct"),
            src_mask,
            dst_mask,
            port_mask,
            port_set,
            proto_mask,
            rnd,
            modulus,
            offset,
        })
    }

    /// The kernel refuses a modulus of 0; HMARK exists for IPv4 and IPv6 tables.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.modulus == 0 {
            return Err("HMARK needs a modulus of at least 1".into());
        }
        if !matches!(c.family, Family::Ip | Family::Ip6) {
            return Err("target HMARK runs in ip and ip6 tables only".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let tuple = if self.ct {
            self.ct_tuple(e)
        } else {
            let (d, net) = (&*e.pkt.data, e.pkt.network_off);
            match e.pkt.nfproto {
                Family::Ip => self.ipv4_tuple(d, net),
                Family::Ip6 => self.ipv6_tuple(d, net),
                _ => None,
            }
        };
        if let Some(t) = tuple {
            e.env.meta_set(MetaKey::Mark, &self.mark(t).to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's `jhash_3words` of known inputs, and the ordering that makes a flow's two
    /// directions hash alike.
    #[test]
    fn both_directions_of_a_flow_get_one_mark() {
        let h = Hmark {
            src_mask: u128::from(u32::MAX),
            dst_mask: u128::from(u32::MAX),
            port_mask: u32::MAX,
            rnd: 4,
            modulus: 42,
            ..Hmark::default()
        };
        let a = Tuple { src: 0x0a00_0102, dst: 0x0a00_0203, ports: h.ports([0x9c, 0x40, 0, 80]), proto: 6 };
        let b = Tuple { src: 0x0a00_0203, dst: 0x0a00_0102, ports: h.ports([0, 80, 0x9c, 0x40]), proto: 6 };
        assert_eq!(h.mark(a), h.mark(b));
        assert!(h.mark(a) < 42);
        assert_eq!(h.ports([0, 80, 0x9c, 0x40]), 0x9c40_0050);
    }
}
