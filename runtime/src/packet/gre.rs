//! GRE (RFC 2784/2890) and the enhanced GRE of PPTP (RFC 2637, version 1): enough to find the
//! optional fields, the payload protocol and, for PPTP, the call id conntrack keys on.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{get_range, get_u16, get_u32, need};

/// Length of the mandatory part (flags/version and protocol).
pub const BASE_LEN: usize = 4;

/// Flag bits of the first 16-bit word.
pub mod flag {
    /// Checksum present.
    pub const CHECKSUM: u16 = 0x8000;
    /// Routing present (RFC 1701).
    pub const ROUTING: u16 = 0x4000;
    /// Key present.
    pub const KEY: u16 = 0x2000;
    /// Sequence number present.
    pub const SEQUENCE: u16 = 0x1000;
    /// Acknowledgement present (version 1).
    pub const ACK: u16 = 0x0080;
    /// Version mask.
    pub const VERSION: u16 = 0x0007;
}

/// The PPP protocol number PPTP carries (`GRE_PROTO_PPP`).
pub const PROTO_PPP: u16 = 0x880b;

/// A view of a GRE header.
#[derive(Clone, Copy, Debug)]
pub struct GrePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GrePacket<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> GrePacket<T> {
        GrePacket { buffer }
    }

    /// Wrap a buffer holding the whole header its flags announce.
    pub fn new_checked(buffer: T) -> Result<GrePacket<T>> {
        need(buffer.as_ref(), "GRE header", BASE_LEN)?;
        let packet = GrePacket { buffer };
        if packet.version() > 1 {
            return Err(ParseError::new(
                0,
                ErrorKind::BadField { header: "GRE", field: "version", value: packet.version().into() },
            ));
        }
        need(packet.buffer.as_ref(), "GRE header", packet.header_len())?;
        Ok(packet)
    }

    /// The flags/version word.
    pub fn flags(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Version (0 plain GRE, 1 PPTP).
    pub fn version(&self) -> u8 {
        (self.flags() & flag::VERSION) as u8
    }

    /// Protocol type of the payload (an ethertype).
    pub fn protocol(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    fn key_offset(&self) -> usize {
        BASE_LEN + if self.flags() & (flag::CHECKSUM | flag::ROUTING) != 0 { 4 } else { 0 }
    }

    /// Header length with the optional fields (routing entries of RFC 1701 not included).
    pub fn header_len(&self) -> usize {
        let flags = self.flags();
        let mut len = self.key_offset();
        if flags & flag::KEY != 0 {
            len += 4;
        }
        if flags & flag::SEQUENCE != 0 {
            len += 4;
        }
        if self.version() == 1 && flags & flag::ACK != 0 {
            len += 4;
        }
        len
    }

    /// The key, when present.
    pub fn key(&self) -> Option<u32> {
        (self.flags() & flag::KEY != 0).then(|| get_u32(self.buffer.as_ref(), self.key_offset()))
    }

    /// PPTP (version 1): the call id (low half of the key field, at offset 6).
    pub fn pptp_call_id(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 6)
    }

    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), self.header_len(), usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields() {
        let bytes = [0x30, 0x00, 0x08, 0x00, 0, 0, 0, 42, 0, 0, 0, 7, 0x45];
        let gre = GrePacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(gre.header_len(), 12);
        assert_eq!(gre.key(), Some(42));
        assert_eq!(gre.payload(), &[0x45]);
        assert!(GrePacket::new_checked(&bytes[..11]).is_err());
        let pptp = [0x30, 0x01, 0x88, 0x0b, 0x00, 0x10, 0x12, 0x34, 0, 0, 0, 1];
        let gre = GrePacket::new_checked(&pptp[..]).unwrap();
        assert_eq!(gre.version(), 1);
        assert_eq!(gre.pptp_call_id(), 0x1234);
        assert_eq!(gre.header_len(), 12);
    }
}
