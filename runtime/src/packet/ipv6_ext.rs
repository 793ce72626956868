//! IPv6 extension headers: hop-by-hop and destination options, routing, fragment,
//! authentication (AH) and mobility. One view type covers them all (every one starts with a
//! next-header byte and most with a length byte), with accessors for each kind's own fields.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{get_range, get_u8, get_u16, get_u32, set_u8, set_u16, set_u32};
use super::ip::protocol;

/// True for the next-header values the kernel's `ipv6_ext_hdr` treats as extension headers:
/// hop-by-hop, routing, fragment, AH, "no next header" and destination options. Mobility and
/// ESP are *not* among them: to netfilter they are upper-layer protocols.
pub fn is_ext_header(next_header: u8) -> bool {
    matches!(
        next_header,
        protocol::HOPOPTS
            | protocol::ROUTING
            | protocol::FRAGMENT
            | protocol::AH
            | protocol::NONE
            | protocol::DSTOPTS
    )
}

/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// A view of one extension header of kind `kind` (its next-header value in the previous
/// header).
#[derive(Clone, Copy, Debug)]
pub struct Ipv6ExtHeader<T: AsRef<[u8]>> {
    kind: u8,
    buffer: T,
}

/// The length in bytes of an extension header of `kind` whose length byte is `len_byte`, as
/// the kernel computes it (`ipv6_optlen`, `ipv6_authlen`, 8 for fragments).
pub fn header_len(kind: u8, len_byte: u8) -> usize {
    match kind {
        protocol::FRAGMENT => FRAGMENT_HEADER_LEN,
        protocol::AH => (usize::from(len_byte) + 2) * 4,
        _ => (usize::from(len_byte) + 1) * 8,
    }
}

impl<T: AsRef<[u8]>> Ipv6ExtHeader<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(kind: u8, buffer: T) -> Ipv6ExtHeader<T> {
        Ipv6ExtHeader { kind, buffer }
    }

    /// Wrap a buffer that holds the whole header (as its own length field gives it).
    pub fn new_checked(kind: u8, buffer: T) -> Result<Ipv6ExtHeader<T>> {
        let data = buffer.as_ref();
        if data.len() < 2 {
            return Err(ParseError::truncated(0, "IPv6 extension header", 8, data.len()));
        }
        let header = Ipv6ExtHeader { kind, buffer };
        let len = header.header_len();
        let available = header.buffer.as_ref().len();
        if len > available {
            return Err(ParseError::truncated(0, "IPv6 extension header", len, available));
        }
        Ok(header)
    }

    /// The kind of header this is (the previous header's next-header value).
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// The next header after this one (for mobility: the "payload proto" byte).
    pub fn next_header(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 0)
    }

    /// The raw length byte (meaningless for fragment headers, where it is reserved).
    pub fn len_byte(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 1)
    }

    /// The header's length in bytes.
    pub fn header_len(&self) -> usize {
        header_len(self.kind, self.len_byte())
    }

    /// The header's bytes after the next-header and length bytes.
    pub fn data(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), 2, self.header_len())
    }

    /// The TLV options of a hop-by-hop or destination options header.
    pub fn options(&self) -> Ipv6OptionIter<'_> {
        Ipv6OptionIter { data: self.data(), at: 0 }
    }

    /// Routing header: routing type.
    pub fn routing_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 2)
    }

    /// Routing header: segments left.
    pub fn segments_left(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 3)
    }

    /// Fragment header: the raw offset/flags word (offset·8 | M).
    pub fn frag_word(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Fragment header: fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        self.frag_word() & !0x7
    }

    /// Fragment header: more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.frag_word() & 1 != 0
    }

    /// Fragment header: identification.
    pub fn frag_ident(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// AH: security parameters index.
    pub fn ah_spi(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// AH: sequence number.
    pub fn ah_sequence(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 8)
    }

    /// Mobility header: MH type.
    pub fn mobility_type(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 2)
    }

    /// Mobility header: checksum.
    pub fn mobility_checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 4)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6ExtHeader<T> {
    /// Set the next header.
    pub fn set_next_header(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), 0, value);
    }

    /// Set the length byte.
    pub fn set_len_byte(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), 1, value);
    }

    /// Fragment header: set offset (bytes, multiple of 8), M flag and identification.
    pub fn set_fragment(&mut self, offset: u16, more: bool, ident: u32) {
        set_u8(self.buffer.as_mut(), 1, 0);
        set_u16(self.buffer.as_mut(), 2, (offset & !0x7) | u16::from(more));
        set_u32(self.buffer.as_mut(), 4, ident);
    }

    /// Routing header: set routing type and segments left.
    pub fn set_routing(&mut self, routing_type: u8, segments_left: u8) {
        set_u8(self.buffer.as_mut(), 2, routing_type);
        set_u8(self.buffer.as_mut(), 3, segments_left);
    }
}

/// One hop-by-hop/destination option: type, offset within the header's data, value bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Option<'a> {
    /// Option type.
    pub kind: u8,
    /// Offset of the type byte from the start of the extension header.
    pub offset: usize,
    /// The option's value (empty for Pad1).
    pub value: &'a [u8],
}

/// Walks TLV options: Pad1 (type 0) is one byte; every other option is type, length, value.
#[derive(Clone, Debug)]
pub struct Ipv6OptionIter<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Ipv6OptionIter<'a> {
    type Item = Result<Ipv6Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.at..)?;
        let kind = *rest.first()?;
        let offset = 2 + self.at;
        if kind == 0 {
            self.at += 1;
            return Some(Ok(Ipv6Option { kind, offset, value: &[] }));
        }
        let Some(&len) = rest.get(1) else {
            self.at = self.data.len();
            return Some(Err(ParseError::truncated(offset, "IPv6 option", 2, rest.len())));
        };
        let end = 2 + usize::from(len);
        if end > rest.len() {
            self.at = self.data.len();
            return Some(Err(ParseError::new(
                offset,
                ErrorKind::BadField { header: "IPv6 option", field: "length", value: len.into() },
            )));
        }
        self.at += end;
        Some(Ok(Ipv6Option { kind, offset, value: get_range(rest, 2, end) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_per_kind() {
        assert_eq!(header_len(protocol::HOPOPTS, 0), 8);
        assert_eq!(header_len(protocol::ROUTING, 2), 24);
        assert_eq!(header_len(protocol::FRAGMENT, 200), 8);
        assert_eq!(header_len(protocol::AH, 4), 24);
        assert_eq!(header_len(protocol::MOBILITY, 1), 16);
        assert!(is_ext_header(protocol::NONE));
        assert!(!is_ext_header(protocol::MOBILITY));
        assert!(!is_ext_header(protocol::ESP));
    }

    #[test]
    fn fragment_fields_and_options() {
        let frag = [17u8, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef];
        let header = Ipv6ExtHeader::new_checked(protocol::FRAGMENT, &frag[..]).unwrap();
        assert_eq!(header.frag_offset(), 0x05a8);
        assert!(header.more_frags());
        assert_eq!(header.frag_ident(), 0xdead_beef);

        // Hop-by-hop with Pad1, router alert (type 5, len 2) and PadN.
        let hbh = [6u8, 1, 0, 5, 2, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0];
        let header = Ipv6ExtHeader::new_checked(protocol::HOPOPTS, &hbh[..]).unwrap();
        let options: Vec<_> = header.options().collect::<Result<_>>().unwrap();
        assert_eq!(options.iter().map(|o| o.kind).collect::<Vec<_>>(), vec![0, 5, 1]);
        assert_eq!(options[1].offset, 3);
        assert!(Ipv6ExtHeader::new_checked(protocol::ROUTING, &[0u8, 1, 0, 0, 0, 0, 0, 0][..]).is_err());
    }
}
