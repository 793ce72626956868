//! UDP (RFC 768): a zero-copy view, its length and checksum rules, and a `Repr`.
//!
//! The checksum rule: over IPv4 a zero checksum field means "no checksum"; a computed zero is
//! sent as `0xffff`. Over IPv6 a checksum is mandatory (RFC 8200 §8.1), but the kernel's
//! conntrack and NAT treat a zero field the same way in both families (not verified, left
//! zero on rewrite), and so do we.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{get_range, get_range_mut, get_u16, need, set_u16};
use super::ip::protocol;
use crate::checksum::{self, ChecksumStatus};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of the header.
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 6;

/// A view of a UDP datagram.
#[derive(Clone, Copy, Debug)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Wrap a buffer holding at least the 8-byte header.
    pub fn new_header_checked(buffer: T) -> Result<UdpPacket<T>> {
        need(buffer.as_ref(), "UDP header", HEADER_LEN)?;
        Ok(UdpPacket { buffer })
    }

    /// Wrap a buffer holding a whole datagram: header present and `8 ≤ length ≤ buffer`
    /// (the check conntrack's `udp_error` makes; bytes beyond the length are allowed).
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let packet = UdpPacket::new_header_checked(buffer)?;
        let len = usize::from(packet.len());
        let available = packet.buffer.as_ref().len();
        if len < HEADER_LEN || len > available {
            return Err(ParseError::new(
                4,
                ErrorKind::BadLength { header: "UDP length", length: len, available },
            ));
        }
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Length field (header and payload).
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    /// True when the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), CHECKSUM_OFFSET)
    }

    /// Payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }

    /// The datagram as the length field delimits it.
    pub fn datagram(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), 0, usize::from(self.len()))
    }

    /// Verify the checksum over the datagram (as delimited by the length field) and the IPv4
    /// pseudo-header; a zero field is [`ChecksumStatus::Absent`].
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> ChecksumStatus {
        if self.checksum() == 0 {
            return ChecksumStatus::Absent;
        }
        status(checksum::verify(
            self.datagram(),
            checksum::pseudo_header_v4(src, dst, protocol::UDP, u32::from(self.len())),
        ))
    }

    /// The IPv6 counterpart of [`UdpPacket::verify_checksum_v4`].
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> ChecksumStatus {
        if self.checksum() == 0 {
            return ChecksumStatus::Absent;
        }
        status(checksum::verify(
            self.datagram(),
            checksum::pseudo_header_v6(src, dst, protocol::UDP, u32::from(self.len())),
        ))
    }
}

fn status(valid: bool) -> ChecksumStatus {
    if valid { ChecksumStatus::Valid } else { ChecksumStatus::Invalid }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Set the source port (checksum untouched).
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 0, port);
    }

    /// Set the destination port (checksum untouched).
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 2, port);
    }

    /// Set the length field.
    pub fn set_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), 4, len);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM_OFFSET, value);
    }

    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        get_range_mut(self.buffer.as_mut(), HEADER_LEN, len)
    }

    /// Compute the checksum with the IPv4 pseudo-header (a computed 0 is stored as 0xffff).
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = checksum::udp_checksum_v4(src, dst, self.datagram());
        self.set_checksum(value);
    }

    /// Compute the checksum with the IPv6 pseudo-header (a computed 0 is stored as 0xffff).
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let value = checksum::udp_checksum_v6(src, dst, self.datagram());
        self.set_checksum(value);
    }
}

/// The contents of a UDP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Read a checked datagram's header.
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> UdpRepr {
        UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()).saturating_sub(HEADER_LEN),
        }
    }

    /// Header plus payload length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write the header with a zero checksum (fill it afterwards, or leave it "absent").
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        let bytes = [0x12, 0x34, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0xaa, 0xbb, 0xcc];
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.src_port(), 0x1234);
        assert_eq!(packet.dst_port(), 53);
        assert_eq!(packet.payload(), &[0xaa, 0xbb]);
        assert_eq!(
            packet.verify_checksum_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST),
            ChecksumStatus::Absent
        );
        assert!(UdpPacket::new_checked(&bytes[..9]).is_err());
        let mut short = bytes;
        short[5] = 7;
        assert!(UdpPacket::new_checked(&short[..]).is_err());
        assert!(UdpPacket::new_header_checked(&short[..]).is_ok());
    }
}
