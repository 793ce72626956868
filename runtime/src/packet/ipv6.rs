//! IPv6 (RFC 8200) fixed header: a zero-copy view, validation as the kernel's `ipv6_rcv`
//! performs it, and a `Repr`. Extension headers live in `ipv6_ext` (views) and
//! `ipv6_chain` (walking them as the kernel does).

use super::error::{ErrorKind, ParseError, Result};
use super::field::{
    get_array, get_range, get_range_mut, get_u8, get_u16, get_u32, set_bytes, set_u8, set_u16, set_u32,
};
use std::net::Ipv6Addr;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

/// Offsets of the header fields.
pub mod field {
    /// Version, traffic class, flow label.
    pub const VER_TC_FLOW: usize = 0;
    /// Payload length.
    pub const PAYLOAD_LEN: usize = 4;
    /// Next header.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address.
    pub const SRC_ADDR: usize = 8;
    /// Destination address.
    pub const DST_ADDR: usize = 24;
}

/// A view of an IPv6 packet.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wrap a buffer holding a whole IPv6 packet, validated as `ipv6_rcv` does: version 6 and
    /// `40 + payload length ≤ buffer length` (bytes beyond are link padding). A zero payload
    /// length with a hop-by-hop header would be a jumbogram, which is not supported.
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let packet = Ipv6Packet::new_header_checked(buffer)?;
        let available = packet.buffer.as_ref().len();
        if packet.payload_len() == 0 && packet.next_header() == super::ip::protocol::HOPOPTS {
            return Err(ParseError::new(
                field::PAYLOAD_LEN,
                ErrorKind::Unsupported { what: "IPv6 jumbogram" },
            ));
        }
        let total = HEADER_LEN + usize::from(packet.payload_len());
        if total > available {
            return Err(ParseError::new(
                field::PAYLOAD_LEN,
                ErrorKind::BadLength { header: "IPv6 payload length", length: total, available },
            ));
        }
        Ok(packet)
    }

    /// Wrap a buffer holding at least the 40-byte header with version 6, ignoring the payload
    /// length: for headers quoted inside ICMPv6 errors.
    pub fn new_header_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let data = buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(ParseError::truncated(0, "IPv6 header", HEADER_LEN, data.len()));
        }
        let packet = Ipv6Packet { buffer };
        if packet.version() != 6 {
            return Err(ParseError::new(
                0,
                ErrorKind::BadVersion { header: "IPv6", found: packet.version() },
            ));
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole underlying buffer.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0) >> 4
    }

    /// Traffic class (DSCP · 4 + ECN).
    pub fn traffic_class(&self) -> u8 {
        ((get_u16(self.buffer.as_ref(), 0) >> 4) & 0xff) as u8
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 0) & 0x000f_ffff
    }

    /// Payload length (everything after the fixed header, extension headers included).
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    /// Next header.
    pub fn next_header(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::NEXT_HEADER)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::HOP_LIMIT)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(get_array::<16>(self.buffer.as_ref(), field::SRC_ADDR))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(get_array::<16>(self.buffer.as_ref(), field::DST_ADDR))
    }

    /// Total length: header plus payload length.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// The payload (extension headers included), up to the payload length.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), HEADER_LEN, self.total_len())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Set version 6, traffic class and flow label.
    pub fn set_version_class_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let word = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        set_u32(self.buffer.as_mut(), field::VER_TC_FLOW, word);
    }

    /// Set the payload length.
    pub fn set_payload_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }

    /// Set the next header.
    pub fn set_next_header(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), field::NEXT_HEADER, value);
    }

    /// Set the hop limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), field::HOP_LIMIT, value);
    }

    /// Set the source address (no checksum adjustment: see `packet::rewrite`).
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        set_bytes(self.buffer.as_mut(), field::SRC_ADDR, &addr.octets());
    }

    /// Set the destination address (no checksum adjustment).
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        set_bytes(self.buffer.as_mut(), field::DST_ADDR, &addr.octets());
    }

    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        get_range_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }
}

/// The contents of an IPv6 fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label.
    pub flow_label: u32,
    /// Payload length (extension headers included).
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// A plain header with hop limit 64.
    pub fn new(src_addr: Ipv6Addr, dst_addr: Ipv6Addr, next_header: u8, payload_len: usize) -> Ipv6Repr {
        Ipv6Repr {
            src_addr,
            dst_addr,
            next_header,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len,
        }
    }

    /// Read a checked packet's header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Ipv6Repr {
        Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
            payload_len: usize::from(packet.payload_len()),
        }
    }

    /// Header length (40).
    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        packet.set_version_class_flow(self.traffic_class, self.flow_label);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let repr = Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: 17,
            hop_limit: 7,
            traffic_class: 0xb8,
            flow_label: 0x12345,
            payload_len: 4,
        };
        let mut bytes = vec![0u8; repr.buffer_len() + 2];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(&bytes[..4], &[0x6b, 0x81, 0x23, 0x45]);
        let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&packet), repr);
        assert_eq!(packet.payload().len(), 4);
        assert!(Ipv6Packet::new_checked(&bytes[..43]).is_err());
        bytes[0] = 0x4b;
        assert!(Ipv6Packet::new_checked(&bytes[..]).is_err());
    }
}
