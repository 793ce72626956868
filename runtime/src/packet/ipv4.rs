//! IPv4 (RFC 791): a zero-copy view of the header (with options and fragment fields), its
//! validation exactly as the kernel's `ip_rcv_core` does it, and a `Repr` to parse and emit.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{get_array, get_range, get_range_mut, get_u8, get_u16, set_bytes, set_u8, set_u16};
use crate::checksum;
use std::net::Ipv4Addr;

/// Length of the header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// Length of the longest header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

/// Offsets of the fixed header fields.
pub mod field {
    /// Version and IHL.
    pub const VER_IHL: usize = 0;
    /// TOS (DSCP and ECN).
    pub const TOS: usize = 1;
    /// Total length.
    pub const TOTAL_LEN: usize = 2;
    /// Identification.
    pub const IDENT: usize = 4;
    /// Flags and fragment offset.
    pub const FLAGS_FRAG: usize = 6;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: usize = 10;
    /// Source address.
    pub const SRC_ADDR: usize = 12;
    /// Destination address.
    pub const DST_ADDR: usize = 16;
}

/// The "reserved" (evil) flag bit of the flags/fragment-offset word.
pub const FLAG_RESERVED: u16 = 0x8000;
/// Don't fragment.
pub const FLAG_DF: u16 = 0x4000;
/// More fragments.
pub const FLAG_MF: u16 = 0x2000;
/// Fragment offset mask, in 8-byte units (the kernel's `IP_OFFSET`).
pub const OFFSET_MASK: u16 = 0x1fff;

/// IPv4 option numbers (`IPOPT_*`).
pub mod option {
    /// End of option list.
    pub const END: u8 = 0;
    /// No operation.
    pub const NOOP: u8 = 1;
    /// Record route.
    pub const RR: u8 = 7;
    /// Timestamp.
    pub const TIMESTAMP: u8 = 68;
    /// Security.
    pub const SECURITY: u8 = 130;
    /// Loose source and record route.
    pub const LSRR: u8 = 131;
    /// Strict source and record route.
    pub const SSRR: u8 = 137;
    /// Router alert.
    pub const RA: u8 = 148;
}

/// A view of an IPv4 packet.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap a buffer without checking it (reads of missing bytes give zeros).
    pub fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wrap a buffer holding a whole IPv4 packet, validated as `ip_rcv_core` does before the
    /// prerouting hook: version 4, IHL ≥ 5, the header present, `IHL·4 ≤ total length ≤
    /// buffer length`. Bytes after the total length (link padding) are allowed; the header
    /// checksum is not checked here (see [`Ipv4Packet::verify_checksum`]).
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Ipv4Packet::new_header_checked(buffer)?;
        let available = packet.buffer.as_ref().len();
        let total = usize::from(packet.total_len());
        if total > available {
            return Err(ParseError::new(
                field::TOTAL_LEN,
                ErrorKind::BadLength { header: "IPv4 total length", length: total, available },
            ));
        }
        if total < packet.header_len() {
            return Err(ParseError::new(
                field::TOTAL_LEN,
                ErrorKind::BadLength {
                    header: "IPv4 total length",
                    length: total,
                    available: packet.header_len(),
                },
            ));
        }
        Ok(packet)
    }

    /// Wrap a buffer that holds at least a complete header (version 4, IHL ≥ 5, IHL·4 bytes),
    /// without looking at the total length: for headers quoted inside ICMP errors.
    pub fn new_header_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let data = buffer.as_ref();
        if data.len() < MIN_HEADER_LEN {
            return Err(ParseError::truncated(0, "IPv4 header", MIN_HEADER_LEN, data.len()));
        }
        let packet = Ipv4Packet { buffer };
        if packet.version() != 4 {
            return Err(ParseError::new(
                0,
                ErrorKind::BadVersion { header: "IPv4", found: packet.version() },
            ));
        }
        if packet.header_len() < MIN_HEADER_LEN {
            return Err(ParseError::new(
                0,
                ErrorKind::BadHeaderLength { header: "IPv4", length: packet.header_len() },
            ));
        }
        let available = packet.buffer.as_ref().len();
        if packet.header_len() > available {
            return Err(ParseError::truncated(0, "IPv4 header", packet.header_len(), available));
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

    /// Version field (4).
    pub fn version(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL · 4).
    pub fn header_len(&self) -> usize {
        usize::from(get_u8(self.buffer.as_ref(), field::VER_IHL) & 0x0f) * 4
    }

    /// The TOS byte (DSCP · 4 + ECN).
    pub fn tos(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::TOS)
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total length (header and payload).
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT)
    }

    /// The raw flags/fragment-offset word.
    pub fn flags_frag(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units (what the kernel keeps as `fragoff`).
    pub fn frag_offset_units(&self) -> u16 {
        self.flags_frag() & OFFSET_MASK
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        self.frag_offset_units().wrapping_mul(8)
    }

    /// True for any fragment (MF set or a non-zero offset), as `ip_is_fragment`.
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::TTL)
    }

    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        get_u8(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// Header checksum.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_array::<4>(self.buffer.as_ref(), field::SRC_ADDR))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_array::<4>(self.buffer.as_ref(), field::DST_ADDR))
    }

    /// The option bytes (between the fixed header and IHL · 4).
    pub fn options(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len())
    }

    /// The options, walked as the kernel's `__ip_options_compile` walks them.
    pub fn option_iter(&self) -> Ipv4OptionIter<'_> {
        Ipv4OptionIter { options: self.options(), at: 0 }
    }

    /// True when the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(get_range(self.buffer.as_ref(), 0, self.header_len()), 0)
    }

    /// The payload: from the end of the header to the total length (clamped to the buffer).
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), self.header_len(), usize::from(self.total_len()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Set version 4 and the header length (a multiple of 4, at most 60).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = ((len / 4) & 0x0f) as u8;
        set_u8(self.buffer.as_mut(), field::VER_IHL, 0x40 | ihl);
    }

    /// Set the TOS byte.
    pub fn set_tos(&mut self, tos: u8) {
        set_u8(self.buffer.as_mut(), field::TOS, tos);
    }

    /// Set the total length.
    pub fn set_total_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), field::TOTAL_LEN, len);
    }

    /// Set the identification.
    pub fn set_ident(&mut self, ident: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT, ident);
    }

    /// Set the raw flags/fragment-offset word.
    pub fn set_flags_frag(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::FLAGS_FRAG, value);
    }

    /// Set the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        set_u8(self.buffer.as_mut(), field::TTL, ttl);
    }

    /// Set the protocol.
    pub fn set_protocol(&mut self, protocol: u8) {
        set_u8(self.buffer.as_mut(), field::PROTOCOL, protocol);
    }

    /// Set the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Set the source address (checksums untouched: see `packet::rewrite` for that).
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        set_bytes(self.buffer.as_mut(), field::SRC_ADDR, &addr.octets());
    }

    /// Set the destination address (checksums untouched).
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        set_bytes(self.buffer.as_mut(), field::DST_ADDR, &addr.octets());
    }

    /// Recompute the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let value = checksum::checksum(get_range(self.buffer.as_ref(), 0, len));
        self.set_checksum(value);
    }

    /// Mutable option bytes.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        get_range_mut(self.buffer.as_mut(), MIN_HEADER_LEN, len)
    }

    /// Mutable payload (up to the total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (from, to) = (self.header_len(), usize::from(self.total_len()));
        get_range_mut(self.buffer.as_mut(), from, to)
    }
}

/// One IPv4 option: its type, offset within the header and bytes (type and length included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// Option type.
    pub kind: u8,
    /// Offset from the start of the IPv4 header.
    pub offset: usize,
    /// The option's bytes, type byte first.
    pub bytes: &'a [u8],
}

/// Walks IPv4 options: `END` stops, `NOOP` is one byte, every other option needs a length
/// byte in `2..=remaining` (otherwise an error, as `__ip_options_compile` rejects it).
#[derive(Clone, Debug)]
pub struct Ipv4OptionIter<'a> {
    options: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Ipv4OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.options.get(self.at..)?;
        let kind = *rest.first()?;
        let offset = MIN_HEADER_LEN + self.at;
        let len = match kind {
            option::END => {
                self.at = self.options.len();
                return None;
            }
            option::NOOP => 1,
            _ => {
                let len = rest.get(1).map_or(0, |&l| usize::from(l));
                if rest.len() < 2 || len < 2 || len > rest.len() {
                    self.at = self.options.len();
                    return Some(Err(ParseError::new(
                        offset,
                        ErrorKind::BadField { header: "IPv4 option", field: "length", value: len as u64 },
                    )));
                }
                len
            }
        };
        self.at += len;
        Some(Ok(Ipv4Option { kind, offset, bytes: get_range(rest, 0, len) }))
    }
}

/// The contents of an IPv4 header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// TOS byte (DSCP · 4 + ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't fragment.
    pub dont_frag: bool,
    /// More fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// Option bytes; padded with END to a multiple of 4 on emit (at most 40).
    pub options: Vec<u8>,
    /// Payload length.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// A plain header: TTL 64, DF clear, no options.
    pub fn new(src_addr: Ipv4Addr, dst_addr: Ipv4Addr, protocol: u8, payload_len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr,
            dst_addr,
            protocol,
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: Vec::new(),
            payload_len,
        }
    }

    /// Read a checked packet's header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            options: packet.options().to_vec(),
            payload_len: usize::from(packet.total_len()).saturating_sub(packet.header_len()),
        }
    }

    /// Header length, options padded.
    pub fn header_len(&self) -> usize {
        (MIN_HEADER_LEN + self.options.len().min(MAX_HEADER_LEN - MIN_HEADER_LEN)).div_ceil(4) * 4
    }

    /// Header plus payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Write the header (checksum included) into the start of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let header_len = self.header_len();
        packet.set_header_len(header_len);
        packet.set_tos(self.tos);
        packet.set_total_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.set_ident(self.ident);
        let mut flags = (self.frag_offset / 8) & OFFSET_MASK;
        if self.dont_frag {
            flags |= FLAG_DF;
        }
        if self.more_frags {
            flags |= FLAG_MF;
        }
        packet.set_flags_frag(flags);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        let options = packet.options_mut();
        options.fill(option::END);
        let n = self.options.len().min(options.len());
        options[..n].copy_from_slice(&self.options[..n]);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real header from RFC 1071-style examples: 45 00 00 73 00 00 40 00 40 11 b8 61
    // c0 a8 00 01 c0 a8 00 c7 (the widely used Wikipedia example, checksum 0xb861).
    const HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0,
        0xa8, 0x00, 0xc7,
    ];

    fn packet_bytes() -> Vec<u8> {
        let mut bytes = HEADER.to_vec();
        bytes.resize(0x73, 0);
        bytes
    }

    #[test]
    fn fields_of_a_known_header() {
        let bytes = packet_bytes();
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.total_len(), 0x73);
        assert!(packet.dont_frag());
        assert!(!packet.is_fragment());
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), 17);
        assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert!(packet.verify_checksum());
        assert_eq!(packet.payload().len(), 0x73 - 20);
    }

    #[test]
    fn emit_reproduces_the_known_checksum() {
        let bytes = packet_bytes();
        let repr = Ipv4Repr::parse(&Ipv4Packet::new_checked(&bytes[..]).unwrap());
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..20], &HEADER[..]);
    }

    #[test]
    fn rejects_what_ip_rcv_rejects() {
        let bytes = packet_bytes();
        assert!(Ipv4Packet::new_checked(&bytes[..19]).is_err());
        assert!(Ipv4Packet::new_checked(&bytes[..0x72]).is_err(), "total length beyond buffer");
        let mut bad = bytes.clone();
        bad[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&bad[..]).unwrap_err().kind,
            ErrorKind::BadHeaderLength { .. }
        ));
        bad[0] = 0x65;
        assert!(matches!(Ipv4Packet::new_checked(&bad[..]).unwrap_err().kind, ErrorKind::BadVersion { .. }));
        let mut short_total = bytes.clone();
        short_total[3] = 19;
        assert!(Ipv4Packet::new_checked(&short_total[..]).is_err());
    }

    #[test]
    fn options_walk() {
        let mut bytes = packet_bytes();
        bytes[0] = 0x47; // 28-byte header
        bytes[20..28].copy_from_slice(&[option::NOOP, option::RA, 4, 0, 0, option::END, 9, 9]);
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        let options: Vec<_> = packet.option_iter().collect::<Result<_>>().unwrap();
        assert_eq!(options.len(), 2);
        assert_eq!(options[1].kind, option::RA);
        assert_eq!(options[1].offset, 21);
        bytes[22] = 9; // RA length runs past the options
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.option_iter().any(|o| o.is_err()));
    }
}
