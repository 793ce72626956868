//! The packet as the VM sees it: bytes and the header offsets the runtime parsed.

use crate::keys::{Family, Hook, PayloadBase};

/// One packet under evaluation. The runtime parses headers; the VM reads and writes bytes
/// through the offsets, and a load outside the packet breaks the rule (never panics).
#[derive(Debug)]
pub struct PacketCtx<'a> {
    /// The packet bytes, starting at the link-layer header if there is one, else at the
    /// network header. Payload writes change them in place.
    pub data: &'a mut [u8],
    /// Offset of the link-layer (MAC) header; `None` when the packet has none (raw IP,
    /// locally generated packets): link-header loads then break.
    pub link_off: Option<usize>,
    /// Offset of the network header.
    pub network_off: usize,
    /// Offset of the transport header; `None` for non-first fragments and unknown protocols
    /// (transport-header loads then break, as in the kernel).
    pub transport_off: Option<usize>,
    /// The layer-4 protocol (`meta l4proto`), after IPv6 extension headers.
    pub l4proto: u8,
    /// The packet's protocol family (`meta nfproto`): ip or ip6 (arp, bridge, netdev for those
    /// hooks).
    pub nfproto: Family,
    /// The link-layer protocol (`meta protocol`, an ethertype such as 0x0800).
    pub protocol: u16,
    pub hook: Hook,
}

impl<'a> PacketCtx<'a> {
    /// A packet that starts at its IPv4/IPv6 header; the transport offset is found by
    /// walking the header (IPv4 options, IPv6 extension headers; none for fragments).
    pub fn from_ip(data: &'a mut [u8], hook: Hook) -> PacketCtx<'a> {
        let (nfproto, protocol) = match data.first().map(|b| b >> 4) {
            Some(6) => (Family::Ip6, 0x86dd),
            _ => (Family::Ip, 0x0800),
        };
        let (transport_off, l4proto) = match nfproto {
            Family::Ip6 => crate::interp::headers::ipv6_transport(data, 0),
            _ => crate::interp::headers::ipv4_transport(data, 0),
        };
        PacketCtx { data, link_off: None, network_off: 0, transport_off, l4proto, nfproto, protocol, hook }
    }

    /// Is `meta l4proto` known? For ip and ip6 chains always; netdev and bridge chains find
    /// it in IPv4 and IPv6 packets too (the kernel validates their header for them).
    pub fn l4proto_known(&self) -> bool {
        match self.nfproto {
            Family::Ip | Family::Ip6 => true,
            Family::Netdev | Family::Bridge => matches!(self.protocol, 0x0800 | 0x86dd),
            _ => false,
        }
    }

    /// Packet length as `meta len` reports it (from the network header on).
    pub fn len(&self) -> usize {
        self.data.len().saturating_sub(self.network_off)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start offset of a payload base (inner: the payload after a TCP/UDP header).
    pub fn base_offset(&self, base: PayloadBase) -> Option<usize> {
        match base {
            PayloadBase::Link => self.link_off,
            PayloadBase::Network => Some(self.network_off),
            PayloadBase::Transport => self.transport_off,
            PayloadBase::Inner => self.inner_offset(),
            PayloadBase::Tunnel => None,
        }
    }

    /// Where the data after the transport header starts (TCP: data offset, UDP: 8 bytes).
    pub fn inner_offset(&self) -> Option<usize> {
        let th = self.transport_off?;
        match self.l4proto {
            6 => {
                let doff = (*self.data.get(th + 12)? >> 4) as usize * 4;
                (doff >= 20).then_some(th + doff)
            }
            17 | 136 => Some(th + 8),
            _ => None,
        }
    }

    /// The source address (with `dest`, the destination) as the network header holds it:
    /// 4 bytes for IPv4, 16 for IPv6; None for another family or a header cut short.
    pub fn address(&self, dest: bool) -> Option<&[u8]> {
        let (at, len) = address_span(self.nfproto, dest)?;
        self.bytes(self.network_off + at, len)
    }

    /// `len` bytes at absolute offset `off`, if inside the packet.
    pub fn bytes(&self, off: usize, len: usize) -> Option<&[u8]> {
        self.data.get(off..off.checked_add(len)?)
    }

    pub fn bytes_mut(&mut self, off: usize, len: usize) -> Option<&mut [u8]> {
        self.data.get_mut(off..off.checked_add(len)?)
    }
}

/// Where the source address (with `dest`, the destination) sits in a network header of
/// `family`: its offset and length; None for families without one.
pub fn address_span(family: Family, dest: bool) -> Option<(usize, usize)> {
    match family {
        Family::Ip => Some((if dest { 16 } else { 12 }, 4)),
        Family::Ip6 => Some((if dest { 24 } else { 8 }, 16)),
        _ => None,
    }
}
