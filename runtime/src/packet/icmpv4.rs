//! ICMP for IPv4 (RFC 792): a zero-copy view of the 8-byte header and its data, the message
//! types (and which of them are errors that quote the offending packet), and a `Repr`.

use super::error::Result;
use super::field::{get_range, get_range_mut, get_u8, get_u16, get_u32, need, set_u8, set_u16, set_u32};
use crate::checksum;

/// Length of the header (type, code, checksum, 4 bytes of "rest of header").
pub const HEADER_LEN: usize = 8;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 2;

/// ICMP message types (`ICMP_*`).
pub mod msg_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACH: u8 = 3;
    /// Source quench.
    pub const SOURCE_QUENCH: u8 = 4;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Router advertisement.
    pub const ROUTER_ADVERTISEMENT: u8 = 9;
    /// Router solicitation.
    pub const ROUTER_SOLICITATION: u8 = 10;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter problem.
    pub const PARAMETER_PROBLEM: u8 = 12;
    /// Timestamp request.
    pub const TIMESTAMP_REQUEST: u8 = 13;
    /// Timestamp reply.
    pub const TIMESTAMP_REPLY: u8 = 14;
    /// Information request.
    pub const INFO_REQUEST: u8 = 15;
    /// Information reply.
    pub const INFO_REPLY: u8 = 16;
    /// Address mask request.
    pub const ADDRESS_REQUEST: u8 = 17;
    /// Address mask reply.
    pub const ADDRESS_REPLY: u8 = 18;
}

/// Destination-unreachable codes.
pub mod unreach {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set.
    pub const FRAG_NEEDED: u8 = 4;
    /// Communication administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// True for the types the kernel's `icmp_is_err` calls errors: they quote the IP header and
/// at least 8 bytes of the packet that caused them.
pub fn is_error(msg_type: u8) -> bool {
    matches!(
        msg_type,
        msg_type::DEST_UNREACH
            | msg_type::SOURCE_QUENCH
            | msg_type::REDIRECT
            | msg_type::TIME_EXCEEDED
            | msg_type::PARAMETER_PROBLEM
    )
}

/// True for the query types whose bytes 4..6 are an identifier that NAT rewrites (the list in
/// the kernel's `icmp_manip_pkt`).
pub fn has_ident(msg_type: u8) -> bool {
    matches!(
        msg_type,
        msg_type::ECHO_REQUEST
            | msg_type::ECHO_REPLY
            | msg_type::TIMESTAMP_REQUEST
            | msg_type::TIMESTAMP_REPLY
            | msg_type::INFO_REQUEST
            | msg_type::INFO_REPLY
            | msg_type::ADDRESS_REQUEST
            | msg_type::ADDRESS_REPLY
    )
}

/// A view of an ICMP message.
#[derive(Clone, Copy, Debug)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wrap a buffer holding at least the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        need(buffer.as_ref(), "ICMP header", HEADER_LEN)?;
        Ok(Icmpv4Packet { buffer })
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

    /// Bytes 4..8 as one word (identifier+sequence, gateway, pointer, next-hop MTU...).
    pub fn rest_of_header(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// Identifier (bytes 4..6).
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }

    /// Sequence number (bytes 6..8).
    pub fn seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// Next-hop MTU of a "fragmentation needed" message (bytes 6..8).
    pub fn next_hop_mtu(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// Pointer of a parameter problem (byte 4).
    pub fn pointer(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 4)
    }

    /// True for an error message (see [`is_error`]).
    pub fn is_error(&self) -> bool {
        is_error(self.msg_type())
    }

    /// Everything after the header (echo data, or the quoted packet of an error).
    pub fn data(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), HEADER_LEN, usize::MAX)
    }

    /// True when the checksum over the whole message is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(self.buffer.as_ref(), 0)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
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
    pub fn set_rest_of_header(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), 4, value);
    }

    /// Set the identifier (checksum untouched).
    pub fn set_ident(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 4, value);
    }

    /// Set the sequence number (checksum untouched).
    pub fn set_seq_no(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 6, value);
    }

    /// Mutable data after the header.
    pub fn data_mut(&mut self) -> &mut [u8] {
        get_range_mut(self.buffer.as_mut(), HEADER_LEN, usize::MAX)
    }

    /// Recompute the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(value);
    }
}

/// The contents of an ICMP message: type, code, bytes 4..8 and the data after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv4Repr<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes 4..8.
    pub rest_of_header: u32,
    /// Data (echo payload, or the quoted packet of an error).
    pub data: &'a [u8],
}

impl<'a> Icmpv4Repr<'a> {
    /// An echo request.
    pub fn echo_request(ident: u16, seq_no: u16, data: &'a [u8]) -> Icmpv4Repr<'a> {
        Icmpv4Repr {
            msg_type: msg_type::ECHO_REQUEST,
            code: 0,
            rest_of_header: ident_seq(ident, seq_no),
            data,
        }
    }

    /// An echo reply.
    pub fn echo_reply(ident: u16, seq_no: u16, data: &'a [u8]) -> Icmpv4Repr<'a> {
        Icmpv4Repr { msg_type: msg_type::ECHO_REPLY, code: 0, rest_of_header: ident_seq(ident, seq_no), data }
    }

    /// An error of `msg_type`/`code` quoting `quoted` (bytes 4..8 zero unless set after).
    pub fn error(msg_type: u8, code: u8, quoted: &'a [u8]) -> Icmpv4Repr<'a> {
        Icmpv4Repr { msg_type, code, rest_of_header: 0, data: quoted }
    }

    /// Read a checked message.
    pub fn parse(packet: &Icmpv4Packet<&'a [u8]>) -> Icmpv4Repr<'a> {
        let bytes: &'a [u8] = packet.buffer;
        Icmpv4Repr {
            msg_type: get_u8(bytes, 0),
            code: get_u8(bytes, 1),
            rest_of_header: get_u32(bytes, 4),
            data: get_range(bytes, HEADER_LEN, usize::MAX),
        }
    }

    /// Header plus data length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data.len()
    }

    /// Write the message, checksum included.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        packet.set_msg_type(self.msg_type);
        packet.set_code(self.code);
        packet.set_rest_of_header(self.rest_of_header);
        let data = packet.data_mut();
        let n = data.len().min(self.data.len());
        data[..n].copy_from_slice(&self.data[..n]);
        packet.fill_checksum();
    }
}

fn ident_seq(ident: u16, seq_no: u16) -> u32 {
    (u32::from(ident) << 16) | u32::from(seq_no)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_round_trip() {
        let repr = Icmpv4Repr::echo_request(0x1234, 7, b"ping");
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut bytes[..]));
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum());
        assert_eq!(packet.ident(), 0x1234);
        assert_eq!(packet.seq_no(), 7);
        assert_eq!(Icmpv4Repr::parse(&packet), repr);
        assert!(!packet.is_error());
        assert!(is_error(msg_type::TIME_EXCEEDED));
        assert!(Icmpv4Packet::new_checked(&bytes[..7]).is_err());
    }
}
