//! UDP-Lite (RFC 3828): UDP's layout with a checksum-coverage field where UDP has its length.
//! The checksum is mandatory and covers the first `coverage` bytes (0 = all) plus the
//! pseudo-header, whose length is the whole datagram's.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{get_range, get_u16, need, set_u16};
use super::ip::protocol;
use crate::checksum;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of the header.
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 6;

/// A view of a UDP-Lite datagram; the buffer is the whole datagram (the IP payload).
#[derive(Clone, Copy, Debug)]
pub struct UdpLitePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpLitePacket<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> UdpLitePacket<T> {
        UdpLitePacket { buffer }
    }

    /// Wrap a buffer holding at least the header.
    pub fn new_header_checked(buffer: T) -> Result<UdpLitePacket<T>> {
        need(buffer.as_ref(), "UDP-Lite header", HEADER_LEN)?;
        Ok(UdpLitePacket { buffer })
    }

    /// Wrap a datagram whose coverage is 0 or within `8..=length` (conntrack's check).
    pub fn new_checked(buffer: T) -> Result<UdpLitePacket<T>> {
        let packet = UdpLitePacket::new_header_checked(buffer)?;
        let coverage = usize::from(packet.checksum_coverage());
        let available = packet.buffer.as_ref().len();
        if coverage != 0 && (coverage < HEADER_LEN || coverage > available) {
            return Err(ParseError::new(
                4,
                ErrorKind::BadLength { header: "UDP-Lite checksum coverage", length: coverage, available },
            ));
        }
        Ok(packet)
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Checksum coverage field (0 = the whole datagram).
    pub fn checksum_coverage(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    /// Number of bytes the checksum covers.
    pub fn covered_len(&self) -> usize {
        match usize::from(self.checksum_coverage()) {
            0 => self.buffer.as_ref().len(),
            n => n.min(self.buffer.as_ref().len()),
        }
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), CHECKSUM_OFFSET)
    }

    /// Payload after the header.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), HEADER_LEN, usize::MAX)
    }

    fn partial(&self, pseudo: u32) -> u32 {
        checksum::sum(get_range(self.buffer.as_ref(), 0, self.covered_len()), pseudo)
    }

    fn length(&self) -> u32 {
        u32::try_from(self.buffer.as_ref().len()).unwrap_or(u32::MAX)
    }

    /// True when the checksum (IPv4 pseudo-header) is right; a zero field is never right.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() != 0
            && checksum::fold(self.partial(checksum::pseudo_header_v4(
                src,
                dst,
                protocol::UDPLITE,
                self.length(),
            ))) == 0xffff
    }

    /// True when the checksum (IPv6 pseudo-header) is right.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        self.checksum() != 0
            && checksum::fold(self.partial(checksum::pseudo_header_v6(
                src,
                dst,
                protocol::UDPLITE,
                self.length(),
            ))) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpLitePacket<T> {
    /// Set the source port.
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 0, port);
    }

    /// Set the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 2, port);
    }

    /// Set the checksum coverage.
    pub fn set_checksum_coverage(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 4, value);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM_OFFSET, value);
    }

    /// Compute the checksum with the IPv4 pseudo-header (0 is sent as 0xffff).
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::UDPLITE, self.length());
        let value = checksum::udp_transmitted(checksum::finish(self.partial(pseudo)));
        self.set_checksum(value);
    }

    /// Compute the checksum with the IPv6 pseudo-header (0 is sent as 0xffff).
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_v6(src, dst, protocol::UDPLITE, self.length());
        let value = checksum::udp_transmitted(checksum::finish(self.partial(pseudo)));
        self.set_checksum(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_rules_and_checksum() {
        let mut bytes = vec![0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0a, 0x00, 0x00, 1, 2, 3, 4];
        let (src, dst) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut packet = UdpLitePacket::new_checked(&mut bytes[..]).unwrap();
        assert_eq!(packet.covered_len(), 10);
        packet.fill_checksum_v4(src, dst);
        assert!(packet.verify_checksum_v4(src, dst));
        // Bytes beyond the coverage do not matter.
        bytes[11] ^= 0xff;
        assert!(UdpLitePacket::new_checked(&bytes[..]).unwrap().verify_checksum_v4(src, dst));
        bytes[9] ^= 0xff;
        assert!(!UdpLitePacket::new_checked(&bytes[..]).unwrap().verify_checksum_v4(src, dst));
        bytes[5] = 4;
        assert!(UdpLitePacket::new_checked(&bytes[..]).is_err());
        bytes[5] = 13;
        assert!(UdpLitePacket::new_checked(&bytes[..]).is_err());
    }
}
