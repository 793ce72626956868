//! Minimal header walking the VM needs on its own: the transport offset of an IP packet
//! (for [`super::PacketCtx::from_ip`]) and IPv6 extension header chains (for `exthdr`).

/// IPv6 extension header numbers the walks treat apart.
pub const ROUTING: u8 = 43;
pub const FRAGMENT: u8 = 44;
pub const AUTH: u8 = 51;

/// The length of an extension header of type `next` whose length byte is `hl`: a fragment
/// header has 8 bytes, AH counts 4-byte words after the first two, the others 8-byte units
/// after the first.
fn ext_len(next: u8, hl: u8) -> usize {
    match next {
        FRAGMENT => 8,
        AUTH => (usize::from(hl) + 2) * 4,
        _ => (usize::from(hl) + 1) * 8,
    }
}

/// IPv6 extension headers that are walked past, as the kernel's `ipv6_ext_hdr` does:
/// hop-by-hop, routing, fragment, destination options, AH. A mobility header is the
/// packet's transport (its `meta l4proto`), as in the kernel.
pub fn is_ipv6_ext(nexthdr: u8) -> bool {
    matches!(nexthdr, 0 | 43 | 44 | 60 | 51)
}

/// Transport offset and protocol of an IPv4 packet at `off`; no offset for non-first
/// fragments or truncated headers.
pub fn ipv4_transport(data: &[u8], off: usize) -> (Option<usize>, u8) {
    let (Some(vihl), Some(proto)) = (data.get(off), data.get(off + 9)) else { return (None, 0) };
    let ihl = (vihl & 0x0f) as usize * 4;
    let frag = data.get(off + 6..off + 8).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]) & 0x1fff);
    if ihl < 20 || frag != 0 {
        return (None, *proto);
    }
    let th = off + ihl;
    ((th <= data.len()).then_some(th), *proto)
}

/// Transport offset and protocol of an IPv6 packet at `off`, after extension headers.
pub fn ipv6_transport(data: &[u8], off: usize) -> (Option<usize>, u8) {
    let Some(mut next) = data.get(off + 6).copied() else { return (None, 0) };
    let mut pos = off + 40;
    for _ in 0..16 {
        if !is_ipv6_ext(next) {
            return ((pos <= data.len()).then_some(pos), next);
        }
        let (Some(nh), Some(hl)) = (data.get(pos).copied(), data.get(pos + 1).copied()) else {
            return (None, next);
        };
        if next == FRAGMENT {
            let fo = data.get(pos + 2..pos + 4).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]) & 0xfff8);
            if fo != 0 {
                return (None, nh);
            }
        }
        pos += ext_len(next, hl);
        next = nh;
    }
    (None, next)
}

/// Where an IPv6 packet's upper-layer header starts, as the kernel's `ipv6_skip_exthdr`
/// finds it from the packet at `off`: its offset and the fragment offset field of a
/// fragment header on the way (0 without one). The walk stops at a later fragment's
/// fragment header; `Err` when a header is cut short or the chain says "no next header".
pub fn ipv6_skip_exthdr(data: &[u8], off: usize) -> Result<(usize, u16), Malformed> {
    const NO_NEXT: u8 = 59;
    let mut next = *data.get(off + 6).ok_or(Malformed)?;
    let mut pos = off + 40;
    let mut frag_off = 0;
    while is_ipv6_ext(next) || next == NO_NEXT {
        if next == NO_NEXT {
            return Err(Malformed);
        }
        let hp = data.get(pos..pos + 2).ok_or(Malformed)?;
        if next == FRAGMENT {
            let fo = data.get(pos + 2..pos + 4).ok_or(Malformed)?;
            frag_off = u16::from_be_bytes([fo[0], fo[1]]);
            if frag_off & !7 != 0 {
                break;
            }
        }
        pos += ext_len(next, hp[1]);
        next = hp[0];
    }
    Ok((pos, frag_off))
}

/// A header of an IPv6 extension header chain is cut short (the kernel's `-EBADMSG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// Offset of IPv6 extension header `target` in the packet at `off`, as the kernel's
/// `ipv6_find_hdr` finds it: `Ok(None)` when the chain has no such header (or a non-first
/// fragment hides the rest), `Err` when a header on the way to it, or its own first bytes,
/// are cut short.
pub fn ipv6_find_hdr(data: &[u8], off: usize, target: u8) -> Result<Option<usize>, Malformed> {
    let Some(&first) = data.get(off + 6) else { return Ok(None) };
    let (mut next, mut pos) = (first, off + 40);
    loop {
        let found = next == target;
        if !is_ipv6_ext(next) {
            return Ok(found.then_some(pos));
        }
        let hp = data.get(pos..pos + 2).ok_or(Malformed)?;
        match next {
            ROUTING => {
                data.get(pos..pos + 4).ok_or(Malformed)?;
            }
            FRAGMENT => {
                let fo = data.get(pos + 2..pos + 4).ok_or(Malformed)?;
                if u16::from_be_bytes([fo[0], fo[1]]) & 0xfff8 != 0 {
                    return Ok(found.then_some(pos));
                }
            }
            _ => {}
        }
        if found {
            return Ok(Some(pos));
        }
        pos += ext_len(next, hp[1]);
        next = hp[0];
    }
}

/// [`ipv6_find_hdr`]'s header, `None` when it is missing or the chain is cut short.
pub fn ipv6_find_ext(data: &[u8], off: usize, target: u8) -> Option<usize> {
    ipv6_find_hdr(data, off, target).ok().flatten()
}
