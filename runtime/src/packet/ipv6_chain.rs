//! Walking the IPv6 extension-header chain exactly as the kernel does.
//!
//! Two kernel walkers matter to netfilter and they disagree on purpose:
//!
//! * [`find_hdr`] is `ipv6_find_hdr`: nf_tables uses it for `meta l4proto` and the transport
//!   offset (with `IP6_FH_F_AUTH`, so an AH header *is* the upper-layer protocol) and, with
//!   a target, for `exthdr` matches.
//! * [`skip_exthdr`] is `ipv6_skip_exthdr`: connection tracking and NAT use it, skipping AH.
//!
//! Both stop at a fragment header whose offset is non-zero (what follows is not a header).

use super::field::{get_u8, get_u16};
use super::ip::protocol;
use super::ipv6::HEADER_LEN;
use super::ipv6_ext::{self, is_ext_header};

/// Options of [`find_hdr`] (the kernel's `IP6_FH_F_*` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FindFlags {
    /// `IP6_FH_F_AUTH`: without a target, stop at an AH header and report it.
    pub auth: bool,
    /// `IP6_FH_F_SKIP_RH`: a routing header with no segments left does not match the target.
    pub skip_rh: bool,
}

impl FindFlags {
    /// The flags nf_tables uses to fill its packet info (`IP6_FH_F_AUTH`).
    pub const PKTINFO: FindFlags = FindFlags { auth: true, skip_rh: false };
}

/// What [`find_hdr`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The header type found (the target, or the upper-layer protocol).
    pub next_header: u8,
    /// Offset of that header from the start of the buffer. `None` in the one case where the
    /// kernel leaves its offset untouched: no target and a non-first fragment (nf_tables then
    /// has `thoff = 0`).
    pub offset: Option<usize>,
    /// Fragment offset in bytes (non-zero only when a non-first fragment stopped the walk).
    pub fragoff: u16,
    /// A fragment header was passed or found (`IP6_FH_F_FRAG`).
    pub fragment: bool,
}

/// Why [`find_hdr`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindError {
    /// `-ENOENT`: the target header is not in the chain.
    NotFound,
    /// `-EBADMSG`: the chain runs past the end of the packet at this offset.
    BadMessage {
        /// Offset of the header that could not be read.
        offset: usize,
    },
}

/// `ipv6_find_hdr`: find the header `target` (or, with `None`, the upper-layer protocol) in
/// the IPv6 packet starting at `nhoff` of `packet`, which must end where the IPv6 packet ends.
pub fn find_hdr(
    packet: &[u8],
    nhoff: usize,
    target: Option<u8>,
    flags: FindFlags,
) -> Result<Found, FindError> {
    let header_end = nhoff.checked_add(HEADER_LEN).ok_or(FindError::BadMessage { offset: nhoff })?;
    if header_end > packet.len() || get_u8(packet, nhoff) >> 4 != 6 {
        return Err(FindError::BadMessage { offset: nhoff });
    }
    let mut start = header_end;
    let mut next = get_u8(packet, nhoff + 6);
    let mut fragoff = 0u16;
    let mut fragment = false;
    loop {
        let mut found = Some(next) == target;
        if !is_ext_header(next) || next == protocol::NONE {
            if target.is_none() || found {
                break;
            }
            return Err(FindError::NotFound);
        }
        let bad = FindError::BadMessage { offset: start };
        if packet.len() < start.saturating_add(2) {
            return Err(bad);
        }
        let after = get_u8(packet, start);
        let len_byte = get_u8(packet, start + 1);
        let header_len;
        match next {
            protocol::FRAGMENT => {
                fragment = true;
                if packet.len() < start.saturating_add(4) {
                    return Err(bad);
                }
                let offset = get_u16(packet, start + 2) & !0x7;
                if offset != 0 {
                    if target.is_none() && (!is_ext_header(after) || after == protocol::NONE) {
                        return Ok(Found { next_header: after, offset: None, fragoff: offset, fragment });
                    }
                    if !found {
                        return Err(FindError::NotFound);
                    }
                    fragoff = offset;
                    break;
                }
                header_len = ipv6_ext::FRAGMENT_HEADER_LEN;
            }
            protocol::AH => {
                if flags.auth && target.is_none() {
                    break;
                }
                header_len = ipv6_ext::header_len(next, len_byte);
            }
            _ => {
                if next == protocol::ROUTING {
                    if packet.len() < start.saturating_add(4) {
                        return Err(bad);
                    }
                    if flags.skip_rh && get_u8(packet, start + 3) == 0 {
                        found = false;
                    }
                }
                header_len = ipv6_ext::header_len(next, len_byte);
            }
        }
        if found {
            break;
        }
        next = after;
        start = start.saturating_add(header_len);
    }
    Ok(Found { next_header: next, offset: Some(start), fragoff, fragment })
}

/// What [`skip_exthdr`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Offset of the first non-extension header (or of the fragment header that stopped the
    /// walk).
    pub offset: usize,
    /// Its protocol number (`FRAGMENT` when a non-first fragment stopped the walk).
    pub next_header: u8,
    /// The raw offset/flags word of the last fragment header seen (0 if none).
    pub frag_word: u16,
}

impl Skipped {
    /// True when a non-first fragment stopped the walk (conntrack then gives up).
    pub fn is_later_fragment(&self) -> bool {
        self.frag_word & !0x7 != 0
    }
}

/// `ipv6_skip_exthdr`: skip the extension headers starting at `start` (whose type is
/// `next_header`). `None` for a chain that ends in "no next header" or runs out of packet.
pub fn skip_exthdr(packet: &[u8], mut start: usize, mut next_header: u8) -> Option<Skipped> {
    let mut frag_word = 0u16;
    while is_ext_header(next_header) {
        if next_header == protocol::NONE || packet.len() < start.checked_add(2)? {
            return None;
        }
        let after = get_u8(packet, start);
        let header_len = match next_header {
            protocol::FRAGMENT => {
                if packet.len() < start.checked_add(4)? {
                    return None;
                }
                frag_word = get_u16(packet, start + 2);
                if frag_word & !0x7 != 0 {
                    break;
                }
                ipv6_ext::FRAGMENT_HEADER_LEN
            }
            _ => ipv6_ext::header_len(next_header, get_u8(packet, start + 1)),
        };
        next_header = after;
        start = start.checked_add(header_len)?;
    }
    Some(Skipped { offset: start, next_header, frag_word })
}

/// One extension header's place in a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtHeaderPos {
    /// Header type (its next-header value in the previous header).
    pub kind: u8,
    /// Offset from the start of the buffer.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

/// The most extension headers [`ExtHeaderChain`] records; a longer chain sets `overflow`.
pub const MAX_RECORDED: usize = 12;

/// The extension headers of an IPv6 packet, in order, without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtHeaderChain {
    headers: [ExtHeaderPos; MAX_RECORDED],
    count: usize,
    /// More headers followed than could be recorded.
    pub overflow: bool,
}

impl ExtHeaderChain {
    /// The recorded headers.
    pub fn as_slice(&self) -> &[ExtHeaderPos] {
        self.headers.get(..self.count).unwrap_or(&[])
    }

    /// The first header of type `kind`.
    pub fn find(&self, kind: u8) -> Option<ExtHeaderPos> {
        self.as_slice().iter().copied().find(|h| h.kind == kind)
    }

    fn push(&mut self, header: ExtHeaderPos) {
        match self.headers.get_mut(self.count) {
            Some(slot) => {
                *slot = header;
                self.count += 1;
            }
            None => self.overflow = true,
        }
    }
}

/// Record every extension header of the IPv6 packet at `nhoff` (kinds per
/// [`is_ext_header`], "no next header" excluded), stopping at the upper-layer header, after a
/// non-first fragment's header, or where the chain runs past the packet.
pub fn walk(packet: &[u8], nhoff: usize) -> ExtHeaderChain {
    let mut chain = ExtHeaderChain::default();
    let mut start = nhoff.saturating_add(HEADER_LEN);
    let mut next = get_u8(packet, nhoff + 6);
    while is_ext_header(next) && next != protocol::NONE {
        if packet.len() < start.saturating_add(2) {
            break;
        }
        let len = ipv6_ext::header_len(next, get_u8(packet, start + 1));
        if packet.len() < start.saturating_add(len) {
            break;
        }
        chain.push(ExtHeaderPos { kind: next, offset: start, len });
        if next == protocol::FRAGMENT && get_u16(packet, start + 2) & !0x7 != 0 {
            break;
        }
        next = get_u8(packet, start);
        start += len;
    }
    chain
}
