//! SCTP (RFC 9260): the 12-byte common header, the chunk list, and the CRC32c checksum
//! (stored least significant byte first, as Linux's `sctp_compute_cksum` does).

use super::error::{ErrorKind, ParseError, Result};
use super::field::{
    get_array, get_range, get_u8, get_u16, get_u32, need, set_bytes, set_u8, set_u16, set_u32,
};
use crate::checksum;

/// Length of the common header.
pub const HEADER_LEN: usize = 12;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 8;
/// Length of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 4;

/// Chunk types.
pub mod chunk_type {
    /// Payload data.
    pub const DATA: u8 = 0;
    /// Initiation.
    pub const INIT: u8 = 1;
    /// Initiation acknowledgement.
    pub const INIT_ACK: u8 = 2;
    /// Selective acknowledgement.
    pub const SACK: u8 = 3;
    /// Heartbeat request.
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort.
    pub const ABORT: u8 = 6;
    /// Shutdown.
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation error.
    pub const ERROR: u8 = 9;
    /// State cookie.
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: u8 = 11;
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
}

/// A view of an SCTP packet; the buffer is the whole packet (the IP payload), which is what
/// the CRC covers.
#[derive(Clone, Copy, Debug)]
pub struct SctpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SctpPacket<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> SctpPacket<T> {
        SctpPacket { buffer }
    }

    /// Wrap a buffer holding at least the common header.
    pub fn new_checked(buffer: T) -> Result<SctpPacket<T>> {
        need(buffer.as_ref(), "SCTP header", HEADER_LEN)?;
        Ok(SctpPacket { buffer })
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

    /// Verification tag.
    pub fn verification_tag(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// The checksum field's bytes as stored.
    pub fn checksum_bytes(&self) -> [u8; 4] {
        get_array(self.buffer.as_ref(), CHECKSUM_OFFSET)
    }

    /// The chunks, walked as nf_tables' `sctp chunk` match does (see [`SctpChunkIter`]).
    pub fn chunks(&self) -> SctpChunkIter<'_> {
        SctpChunkIter { data: self.buffer.as_ref(), at: HEADER_LEN }
    }

    /// True when the CRC32c checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::sctp_checksum(self.buffer.as_ref(), CHECKSUM_OFFSET) == self.checksum_bytes()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SctpPacket<T> {
    /// Set the source port (checksum untouched).
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 0, port);
    }

    /// Set the destination port (checksum untouched).
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 2, port);
    }

    /// Set the verification tag.
    pub fn set_verification_tag(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), 4, value);
    }

    /// Recompute the CRC32c over the whole packet.
    pub fn fill_checksum(&mut self) {
        let value = checksum::sctp_checksum(self.buffer.as_ref(), CHECKSUM_OFFSET);
        set_bytes(self.buffer.as_mut(), CHECKSUM_OFFSET, &value);
    }
}

/// One chunk: type, flags, length field, offset in the packet and value bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SctpChunk<'a> {
    /// Chunk type.
    pub kind: u8,
    /// Chunk flags.
    pub flags: u8,
    /// The length field (header included, padding excluded).
    pub length: u16,
    /// Offset of the chunk from the start of the SCTP packet.
    pub offset: usize,
    /// The chunk's value (clamped to the packet).
    pub value: &'a [u8],
}

/// Walks chunks from offset 12 in steps of the 4-byte-padded length. A truncated chunk
/// header or a zero length ends the walk with an error item (nf_tables stops there;
/// conntrack's `do_basic_checks` calls the packet invalid).
#[derive(Clone, Debug)]
pub struct SctpChunkIter<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for SctpChunkIter<'a> {
    type Item = Result<SctpChunk<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        let offset = self.at;
        let rest = get_range(self.data, offset, usize::MAX);
        if rest.len() < CHUNK_HEADER_LEN {
            self.at = self.data.len();
            return Some(Err(ParseError::truncated(
                offset,
                "SCTP chunk header",
                CHUNK_HEADER_LEN,
                rest.len(),
            )));
        }
        let length = get_u16(rest, 2);
        if length == 0 {
            self.at = self.data.len();
            return Some(Err(ParseError::new(
                offset,
                ErrorKind::BadField { header: "SCTP chunk", field: "length", value: 0 },
            )));
        }
        self.at = offset.saturating_add(usize::from(length).div_ceil(4) * 4);
        Some(Ok(SctpChunk {
            kind: get_u8(rest, 0),
            flags: get_u8(rest, 1),
            length,
            offset,
            value: get_range(rest, CHUNK_HEADER_LEN, usize::from(length)),
        }))
    }
}

/// One chunk to emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpChunkRepr {
    /// Chunk type.
    pub kind: u8,
    /// Chunk flags.
    pub flags: u8,
    /// Value bytes (padding is added on emit).
    pub value: Vec<u8>,
}

/// The contents of an SCTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
    /// Chunks.
    pub chunks: Vec<SctpChunkRepr>,
}

impl SctpRepr {
    /// Packet length: header plus padded chunks.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self.chunks.iter().map(|c| (CHUNK_HEADER_LEN + c.value.len()).div_ceil(4) * 4).sum::<usize>()
    }

    /// Write the packet, CRC32c included.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut SctpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_verification_tag(self.verification_tag);
        let buffer = packet.buffer.as_mut();
        let mut at = HEADER_LEN;
        for chunk in &self.chunks {
            let length = CHUNK_HEADER_LEN + chunk.value.len();
            set_u8(buffer, at, chunk.kind);
            set_u8(buffer, at + 1, chunk.flags);
            set_u16(buffer, at + 2, u16::try_from(length).unwrap_or(u16::MAX));
            set_bytes(buffer, at + CHUNK_HEADER_LEN, &chunk.value);
            let padded = length.div_ceil(4) * 4;
            for pad in length..padded {
                set_u8(buffer, at + pad, 0);
            }
            at += padded;
        }
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_crc() {
        let repr = SctpRepr {
            src_port: 5000,
            dst_port: 80,
            verification_tag: 0,
            chunks: vec![
                SctpChunkRepr { kind: chunk_type::INIT, flags: 0, value: vec![0xab; 16] },
                SctpChunkRepr { kind: chunk_type::DATA, flags: 3, value: vec![1, 2, 3] },
            ],
        };
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut SctpPacket::new_unchecked(&mut bytes[..]));
        let packet = SctpPacket::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum());
        let chunks: Vec<_> = packet.chunks().collect::<Result<_>>().unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!((chunks[1].kind, chunks[1].flags, chunks[1].length, chunks[1].offset), (0, 3, 7, 32));
        assert_eq!(chunks[1].value, &[1, 2, 3]);
        bytes[20] ^= 1;
        assert!(!SctpPacket::new_checked(&bytes[..]).unwrap().verify_checksum());
    }
}
