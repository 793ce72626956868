//! Output fragmentation (`ip_finish_output` → `ip_fragment` → `ip_do_fragment`, and
//! `ip6_finish_output` → `ip6_fragment`).
//!
//! A packet that reassembly built keeps its original fragments, and Linux re-emits exactly
//! those pieces (the `frag_list` fast path) as long as each fits the MTU and no one changed
//! the payload length; otherwise it cuts the packet into MTU-sized pieces (the slow path).
//! IPv4 fragments carry the first fragment's header (TTL, identification, addresses as NAT
//! left them): the first keeps DF if the datagram had it, later ones lose DF and the
//! options that are not copied into fragments. IPv6 fragments get a fresh fragment header
//! after the unfragmentable part.

use super::FragLayout;
use crate::checksum;

/// The result of output fragmentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragmented {
    /// Sent as it is.
    Whole,
    /// Sent as these fragments, in order.
    Pieces(Vec<Vec<u8>>),
    /// Too big and may not be fragmented: ICMP "fragmentation needed" / "packet too big"
    /// with this MTU goes back to the sender.
    TooBig { mtu: u32 },
}

/// Cuts `packet` (an IP packet) for an interface of MTU `mtu`. `layout` is the packet's
/// reassembly record; `ignore_df` is set for reassembled packets (`skb->ignore_df`).
pub fn fragment(packet: &[u8], layout: Option<&FragLayout>, mtu: u32, ignore_df: bool) -> Fragmented {
    match packet.first().map(|b| b >> 4) {
        Some(4) => fragment_v4(packet, layout, mtu as usize, ignore_df),
        Some(6) => fragment_v6(packet, layout, mtu as usize, ignore_df),
        _ => Fragmented::Whole,
    }
}

fn fragment_v4(p: &[u8], layout: Option<&FragLayout>, mtu: usize, ignore_df: bool) -> Fragmented {
    if p.len() < 20 || !(p.len() > mtu || layout.is_some()) {
        return Fragmented::Whole;
    }
    let frag_off = u16::from_be_bytes([p[6], p[7]]);
    let df = frag_off & 0x4000 != 0;
    let max_size = layout.map_or(0, |l| l.max_size);
    if df && (!ignore_df || max_size > mtu) {
        return Fragmented::TooBig { mtu: mtu as u32 };
    }
    let mut eff = mtu;
    if max_size > 0 && max_size < eff {
        eff = max_size;
    }
    let hlen = usize::from(p[0] & 0x0f) * 4;
    if eff < hlen + 8 || p.len() < hlen {
        return Fragmented::TooBig { mtu: mtu as u32 };
    }
    let space = eff - hlen;
    let payload = &p[hlen..];
    let orig_offset = usize::from(frag_off & 0x1fff) * 8;
    let not_last = frag_off & 0x2000 != 0;
    let fast = layout.filter(|l| orig_offset == 0 && !not_last && fits(&l.sizes, payload.len(), space));
    let pmtu_df = layout.is_some_and(|l| l.pmtu_df);
    let sizes = match fast {
        Some(l) => l.sizes.clone(),
        None => slow_sizes(payload.len(), space),
    };
    if sizes.len() <= 1 && fast.is_none() && p.len() <= mtu {
        return Fragmented::Whole;
    }
    let mut header = p[..hlen].to_vec();
    let mut pieces = Vec::with_capacity(sizes.len());
    let mut at = 0usize;
    for (i, &n) in sizes.iter().enumerate() {
        let last = i + 1 == sizes.len();
        let off = orig_offset + at;
        let mut bits = (off / 8) as u16 & 0x1fff;
        if fast.is_some() {
            if i == 0 {
                bits |= frag_off & 0x4000;
            }
            if !last {
                bits |= 0x2000;
            }
        } else {
            if pmtu_df {
                bits |= 0x4000;
            }
            if !last || not_last {
                bits |= 0x2000;
            }
        }
        let mut piece = Vec::with_capacity(hlen + n);
        piece.extend_from_slice(&header);
        piece.extend_from_slice(&payload[at..at + n]);
        piece[2..4].copy_from_slice(&((hlen + n) as u16).to_be_bytes());
        piece[6..8].copy_from_slice(&bits.to_be_bytes());
        piece[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&piece[..hlen]);
        piece[10..12].copy_from_slice(&c.to_be_bytes());
        pieces.push(piece);
        if i == 0 {
            options_fragment(&mut header);
        }
        at += n;
    }
    Fragmented::Pieces(pieces)
}

/// Do the original fragment sizes still describe this payload within `space`?
fn fits(sizes: &[usize], total: usize, space: usize) -> bool {
    sizes.iter().sum::<usize>() == total
        && !sizes.is_empty()
        && sizes.iter().enumerate().all(|(i, &n)| n <= space && (n % 8 == 0 || i + 1 == sizes.len()))
}

/// `ip_do_fragment`'s slow path: pieces of `space` rounded down to 8 bytes.
fn slow_sizes(total: usize, space: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let mut n = left.min(space);
        if n < left {
            n &= !7;
        }
        if n == 0 {
            break;
        }
        out.push(n);
        left -= n;
    }
    out
}

/// `ip_options_fragment`: options without the "copied" flag become NOPs.
fn options_fragment(header: &mut [u8]) {
    let mut i = 20;
    while i < header.len() {
        match header[i] {
            0 => return,
            1 => {
                i += 1;
                continue;
            }
            kind => {
                let Some(&len) = header.get(i + 1) else { return };
                let len = usize::from(len);
                if len < 2 || i + len > header.len() {
                    return;
                }
                if kind & 0x80 == 0 {
                    header[i..i + len].fill(1);
                }
                i += len;
            }
        }
    }
}

/// `ip6_find_1stfragopt`: the length of the unfragmentable part and the offset of the
/// next-header byte that names the first fragmentable header.
fn unfragmentable(p: &[u8]) -> Option<(usize, usize)> {
    let mut prev = 6;
    let mut next = *p.get(6)?;
    let mut pos = 40;
    let mut routing = false;
    for _ in 0..16 {
        match next {
            0 => {}
            43 => routing = true,
            60 if routing => return Some((pos, prev)),
            60 => {}
            _ => return Some((pos, prev)),
        }
        let hl = usize::from(*p.get(pos + 1)?);
        prev = pos;
        next = *p.get(pos)?;
        pos += (hl + 1) * 8;
    }
    None
}

fn fragment_v6(p: &[u8], layout: Option<&FragLayout>, mtu: usize, ignore_df: bool) -> Fragmented {
    let max_size = layout.map_or(0, |l| l.max_size);
    if p.len() < 40 || !(p.len() > mtu || (max_size > 0 && p.len() > max_size)) {
        return Fragmented::Whole;
    }
    if !ignore_df && p.len() > mtu {
        return Fragmented::TooBig { mtu: mtu as u32 };
    }
    let mut eff = mtu;
    if max_size > 0 {
        if max_size > mtu {
            return Fragmented::TooBig { mtu: mtu as u32 };
        }
        eff = max_size.max(1280);
    }
    let Some((hlen, prev)) = unfragmentable(p) else { return Fragmented::Whole };
    if eff < hlen + 16 || p.len() < hlen {
        return Fragmented::TooBig { mtu: mtu as u32 };
    }
    let space = eff - hlen - 8;
    let next = p[prev];
    let body = &p[hlen..];
    let fast = layout.filter(|l| fits(&l.sizes, body.len(), space));
    let sizes = match fast {
        Some(l) => l.sizes.clone(),
        None => slow_sizes(body.len(), space & !7),
    };
    let ident = layout.map_or(0, |l| l.ident);
    let mut pieces = Vec::with_capacity(sizes.len());
    let mut at = 0usize;
    for (i, &n) in sizes.iter().enumerate() {
        let last = i + 1 == sizes.len();
        let mut piece = Vec::with_capacity(hlen + 8 + n);
        piece.extend_from_slice(&p[..hlen]);
        piece[prev] = 44;
        let off = (at as u16 & !7) | u16::from(!last);
        piece.extend_from_slice(&[next, 0]);
        piece.extend_from_slice(&off.to_be_bytes());
        piece.extend_from_slice(&ident.to_be_bytes());
        piece.extend_from_slice(&body[at..at + n]);
        let plen = (piece.len() - 40) as u16;
        piece[4..6].copy_from_slice(&plen.to_be_bytes());
        pieces.push(piece);
        at += n;
    }
    Fragmented::Pieces(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defrag::{Defrag, Gather, User};
    use crate::packet::PacketBuilder;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn roundtrip(frags: &[Vec<u8>]) -> (Vec<u8>, FragLayout) {
        let mut d = Defrag::default();
        for f in frags {
            if let Gather::Done { packet, layout } = d.gather(f, User::Conntrack(0), 0, 0) {
                return (packet, layout);
            }
        }
        panic!("not reassembled");
    }

    #[test]
    fn reassembled_ipv4_is_cut_at_the_original_boundaries() {
        let frags = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .ident(9)
            .udp(1, 2)
            .payload(&[1u8; 100])
            .build_fragments(48);
        let (whole, layout) = roundtrip(&frags);
        assert_eq!(fragment(&whole, Some(&layout), 1500, true), Fragmented::Pieces(frags.clone()));
        // A smaller MTU forces the slow path.
        match fragment(&whole, Some(&layout), 44, true) {
            Fragmented::Pieces(p) => {
                assert!(p.iter().all(|x| x.len() <= 44));
                assert_eq!(p.iter().map(|x| x.len() - 20).sum::<usize>(), 108);
            }
            other => panic!("{other:?}"),
        }
        // Not reassembled and small enough: whole.
        assert_eq!(fragment(&frags[2], None, 1500, false), Fragmented::Whole);
    }

    #[test]
    fn df_packets_too_big_are_refused() {
        let p = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .dont_frag()
            .udp(1, 2)
            .payload(&[0u8; 1400])
            .build();
        assert_eq!(fragment(&p, None, 1280, false), Fragmented::TooBig { mtu: 1280 });
        let q = PacketBuilder::ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .udp(1, 2)
            .payload(&[0u8; 1400])
            .build();
        match fragment(&q, None, 1280, false) {
            Fragmented::Pieces(p) => assert_eq!(p.iter().map(|x| x.len()).collect::<Vec<_>>(), [1276, 172]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reassembled_ipv6_is_cut_at_the_original_boundaries() {
        let frags = PacketBuilder::ipv6(Ipv6Addr::LOCALHOST, "fd00::2".parse::<Ipv6Addr>().unwrap())
            .ident(0x0b0c)
            .udp(1, 2)
            .payload(&[3u8; 100])
            .build_fragments(48);
        let (whole, layout) = roundtrip(&frags);
        assert_eq!(fragment(&whole, Some(&layout), 1500, true), Fragmented::Pieces(frags));
    }
}
