//! Parse errors for packet data: what was wrong and at which byte offset.
//!
//! Packets are user data, so every view constructor and the dissector return these instead of
//! panicking. Offsets are relative to the buffer handed to the parser; the dissector shifts
//! errors from inner headers so that they name the offset in the whole frame.

use std::fmt;

/// What was wrong with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The buffer ends before the header (or the length a header announces) does.
    Truncated { header: &'static str, needed: usize, available: usize },
    /// A version field holds something else than expected (IPv4 vs IPv6).
    BadVersion { header: &'static str, found: u8 },
    /// A header length field is smaller than the fixed header, or not a valid multiple.
    BadHeaderLength { header: &'static str, length: usize },
    /// A total/payload length field disagrees with the header or the buffer.
    BadLength { header: &'static str, length: usize, available: usize },
    /// A checksum that the receiving stack verifies before netfilter is wrong.
    BadChecksum { header: &'static str },
    /// A field holds a value the protocol does not allow.
    BadField { header: &'static str, field: &'static str, value: u64 },
    /// The link layer carries something other than IPv4/IPv6 (e.g. ARP): not for the inet
    /// hooks, but not malformed either.
    NotIp { ethertype: u16 },
    /// A capture link type this reader does not understand.
    UnsupportedLinkType { link_type: u32 },
    /// A well-formed feature this implementation does not handle (e.g. IPv6 jumbograms).
    Unsupported { what: &'static str },
}

/// A packet parse error: its [`ErrorKind`] and the byte offset it refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Offset of the offending header or field, from the start of the parsed buffer.
    pub offset: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl ParseError {
    /// An error at `offset`.
    pub fn new(offset: usize, kind: ErrorKind) -> ParseError {
        ParseError { offset, kind }
    }

    /// A truncation error: `header` needs `needed` bytes, the buffer has `available`.
    pub fn truncated(offset: usize, header: &'static str, needed: usize, available: usize) -> ParseError {
        ParseError::new(offset, ErrorKind::Truncated { header, needed, available })
    }

    /// The same error, for a buffer that starts `base` bytes into a larger one.
    pub fn shifted(self, base: usize) -> ParseError {
        ParseError { offset: self.offset.saturating_add(base), kind: self.kind }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated { header, needed, available } => {
                write!(f, "truncated {header}: need {needed} bytes, have {available}")
            }
            ErrorKind::BadVersion { header, found } => write!(f, "{header}: bad version {found}"),
            ErrorKind::BadHeaderLength { header, length } => {
                write!(f, "{header}: bad header length {length}")
            }
            ErrorKind::BadLength { header, length, available } => {
                write!(f, "{header}: length {length} does not fit the {available} bytes available")
            }
            ErrorKind::BadChecksum { header } => write!(f, "{header}: bad checksum"),
            ErrorKind::BadField { header, field, value } => {
                write!(f, "{header}: bad {field} {value:#x}")
            }
            ErrorKind::NotIp { ethertype } => write!(f, "not an IP packet (ethertype {ethertype:#06x})"),
            ErrorKind::UnsupportedLinkType { link_type } => {
                write!(f, "unsupported link type {link_type}")
            }
            ErrorKind::Unsupported { what } => write!(f, "unsupported: {what}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at packet offset {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Result of a packet parse.
pub type Result<T> = std::result::Result<T, ParseError>;
