//! ICMPv6 (RFC 4443): a zero-copy view, message types (errors are types below 128 and quote
//! the offending packet), checksums with the IPv6 pseudo-header, and a `Repr`.

use super::error::Result;
use super::field::{get_range, get_range_mut, get_u8, get_u16, get_u32, need, set_u8, set_u16, set_u32};
use super::ip::protocol;
use crate::checksum;
use std::net::Ipv6Addr;

/// Length of the header (type, code, checksum, 4 bytes of message body).
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 2;

/// ICMPv6 message types.
pub mod msg_type {
    /// Destination unreachable.
    pub const DEST_UNREACH: u8 = 1;
    /// Packet too big.
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter problem.
    pub const PARAMETER_PROBLEM: u8 = 4;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
    /// Multicast listener query.
    pub const MLD_QUERY: u8 = 130;
    /// Multicast listener report.
    pub const MLD_REPORT: u8 = 131;
    /// Multicast listener done.
    pub const MLD_DONE: u8 = 132;
    /// Router solicitation.
    pub const ROUTER_SOLICITATION: u8 = 133;
    /// Router advertisement.
    pub const ROUTER_ADVERTISEMENT: u8 = 134;
    /// Neighbour solicitation.
    pub const NEIGHBOUR_SOLICITATION: u8 = 135;
    /// Neighbour advertisement.
    pub const NEIGHBOUR_ADVERTISEMENT: u8 = 136;
    /// Redirect.
    pub const REDIRECT: u8 = 137;
    /// MLDv2 report.
    pub const MLD2_REPORT: u8 = 143;
}

/// True for error messages (types 0..=127): they quote the packet that caused them.
pub fn is_error(msg_type: u8) -> bool {
    msg_type < 128
}

/// A view of an ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Icmpv6Packet<T> {
        Icmpv6Packet { buffer }
    }

    /// Wrap a buffer holding at least the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Icmpv6Packet<T>> {
        need(buffer.as_ref(), "ICMPv6 header", HEADER_LEN)?;
        Ok(Icmpv6Packet { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0)
    }

    /// Code.
    pub fn code(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 1)
    }

    /// Checksum.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), CHECKSUM_OFFSET)
    }

    /// Bytes 4..8 as one word (identifier+sequence, MTU, pointer...).
    pub fn body_word(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// Echo identifier (bytes 4..6).
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    /// Echo sequence number (bytes 6..8).
    pub fn seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// MTU of a "packet too big" (bytes 4..8).
    pub fn mtu(&self) -> u32 {
        self.body_word()
    }

    /// True for an error message.
    pub fn is_error(&self) -> bool {
        is_error(self.msg_type())
    }

    /// Everything after the 8-byte header.
    pub fn data(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), HEADER_LEN, usize::MAX)
    }

    /// True when the checksum (with the IPv6 pseudo-header) over the whole message is right.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        checksum::verify(data, checksum::pseudo_header_v6(src, dst, protocol::ICMPV6, length))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Set the message type.
    pub fn set_msg_type(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), 0, value);
    }

    /// Set the code.
    pub fn set_code(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), 1, value);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM_OFFSET, value);
    }

    /// Set bytes 4..8.
    pub fn set_body_word(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), 4, value);
    }

    /// Set the echo identifier (checksum untouched).
    pub fn set_ident(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 4, value);
    }

    /// Mutable data after the header.
    pub fn data_mut(&mut self) -> &mut [u8] {
        get_range_mut(self.buffer.as_mut(), HEADER_LEN, usize::MAX)
    }

    /// Recompute the checksum with the IPv6 pseudo-header.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let value = checksum::transport_checksum_v6(src, dst, protocol::ICMPV6, self.buffer.as_ref());
        self.set_checksum(value);
    }
}

/// The contents of an ICMPv6 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv6Repr<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes 4..8.
    pub body_word: u32,
    /// Data after the header.
    pub data: &'a [u8],
}

impl<'a> Icmpv6Repr<'a> {
    /// An echo request.
    pub fn echo_request(ident: u16, seq_no: u16, data: &'a [u8]) -> Icmpv6Repr<'a> {
        Icmpv6Repr {
            msg_type: msg_type::ECHO_REQUEST,
            code: 0,
            body_word: (u32::from(ident) << 16) | u32::from(seq_no),
            data,
        }
    }

    /// An echo reply.
    pub fn echo_reply(ident: u16, seq_no: u16, data: &'a [u8]) -> Icmpv6Repr<'a> {
        Icmpv6Repr { msg_type: msg_type::ECHO_REPLY, ..Icmpv6Repr::echo_request(ident, seq_no, data) }
    }

    /// An error quoting `quoted`.
    pub fn error(msg_type: u8, code: u8, body_word: u32, quoted: &'a [u8]) -> Icmpv6Repr<'a> {
        Icmpv6Repr { msg_type, code, body_word, data: quoted }
    }

    /// Read a checked message.
    pub fn parse(packet: &Icmpv6Packet<&'a [u8]>) -> Icmpv6Repr<'a> {
        let bytes: &'a [u8] = packet.buffer;
        Icmpv6Repr {
            msg_type: get_u8(bytes, 0),
            code: get_u8(bytes, 1),
            body_word: get_u32(bytes, 4),
            data: get_range(bytes, HEADER_LEN, usize::MAX),
        }
    }

    /// Header plus data length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data.len()
    }

    /// Write the message with its checksum for the given addresses.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Icmpv6Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) {
        packet.set_msg_type(self.msg_type);
        packet.set_code(self.code);
        packet.set_body_word(self.body_word);
        let data = packet.data_mut();
        let n = data.len().min(self.data.len());
        data[..n].copy_from_slice(&self.data[..n]);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_round_trip() {
        let (src, dst): (Ipv6Addr, Ipv6Addr) = ("fe80::1".parse().unwrap(), "fe80::2".parse().unwrap());
        let repr = Icmpv6Repr::echo_reply(9, 10, b"pong");
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv6Packet::new_unchecked(&mut bytes[..]), src, dst);
        let packet = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(src, dst));
        assert!(!packet.verify_checksum(dst, "fe80::3".parse().unwrap()));
        assert_eq!(Icmpv6Repr::parse(&packet), repr);
        assert!(is_error(msg_type::PACKET_TOO_BIG));
        assert!(!is_error(msg_type::ECHO_REPLY));
    }
}
