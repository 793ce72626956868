//! Classic libpcap capture files (pcap-savefile(5)): reading and writing, plus the record type
//! and the format-detecting reader shared with pcapng.
//!
//! Reading accepts both byte orders, microsecond (`0xa1b2c3d4`) and nanosecond
//! (`0xa1b23c4d`) timestamps, and Alexey Kuznetzov's "modified" format (`0xa1b2cd34`, records
//! with 8 extra bytes). The link type is the low 16 bits of the header's link-type field (the
//! upper bits carry FCS information). Writing produces little-endian files.
//!
//! Errors name the byte offset in the file where the problem is.

use crate::packet::link::LinkType;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The largest record accepted (a corrupt length would otherwise mean a huge allocation).
pub const MAX_RECORD_LEN: u32 = 64 * 1024 * 1024;

/// One captured packet, from pcap or pcapng.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRecord {
    /// Capture time since the Unix epoch (zero when the file gives none: pcapng simple
    /// packet blocks).
    pub timestamp: Duration,
    /// Index of the interface in the file (always 0 for pcap).
    pub interface_index: u32,
    /// The interface's name (pcapng `if_name`), when the file has one.
    pub interface_name: Option<Arc<str>>,
    /// Link-layer header type of `data`.
    pub link_type: LinkType,
    /// Length of the packet on the wire (≥ `data.len()` when the capture was truncated).
    pub original_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

/// What went wrong reading or writing a capture file.
#[derive(Debug)]
pub enum CaptureErrorKind {
    /// An I/O error.
    Io(io::Error),
    /// The file ends in the middle of a header or record.
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// Not a pcap or pcapng file (or an unknown byte-order magic).
    BadMagic(u32),
    /// A length field is impossible (too large, not a multiple of 4, disagreeing copies...).
    BadLength {
        /// Which length.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A pcapng packet refers to an interface no IDB declared.
    UnknownInterface(u32),
    /// An unsupported format version.
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
}

/// A capture-file error at a byte offset.
#[derive(Debug)]
pub struct CaptureError {
    /// Offset in the file where the problem was found.
    pub offset: u64,
    /// What went wrong.
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    /// An error at `offset`.
    pub fn new(offset: u64, kind: CaptureErrorKind) -> CaptureError {
        CaptureError { offset, kind }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at file offset {}: ", self.offset)?;
        match &self.kind {
            CaptureErrorKind::Io(e) => write!(f, "{e}"),
            CaptureErrorKind::Truncated { what } => write!(f, "file ends inside {what}"),
            CaptureErrorKind::BadMagic(magic) => write!(f, "not a pcap or pcapng file (magic {magic:#010x})"),
            CaptureErrorKind::BadLength { what, value } => write!(f, "bad {what} {value}"),
            CaptureErrorKind::UnknownInterface(id) => write!(f, "packet for undeclared interface {id}"),
            CaptureErrorKind::UnsupportedVersion { major, minor } => {
                write!(f, "unsupported format version {major}.{minor}")
            }
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CaptureErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Result of capture-file I/O.
pub type Result<T> = std::result::Result<T, CaptureError>;

/// A reader that counts the bytes it has consumed, so errors can name file offsets.
#[derive(Debug)]
pub(crate) struct CountingReader<R> {
    inner: R,
    pub(crate) offset: u64,
}

impl<R: Read> CountingReader<R> {
    pub(crate) fn new(inner: R, offset: u64) -> CountingReader<R> {
        CountingReader { inner, offset }
    }

    /// Fill `buf` completely. `Ok(false)` at a clean end of file (nothing read) when
    /// `eof_ok`; a partial read is a truncation error.
    pub(crate) fn read_exact_or_eof(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
        eof_ok: bool,
    ) -> Result<bool> {
        let start = self.offset;
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => {
                    if filled == 0 && eof_ok {
                        return Ok(false);
                    }
                    return Err(CaptureError::new(start, CaptureErrorKind::Truncated { what }));
                }
                Ok(n) => {
                    filled += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::new(self.offset, CaptureErrorKind::Io(e))),
            }
        }
        Ok(true)
    }

    /// Read exactly `len` bytes into a new vector (growing as data arrives, so a lying length
    /// cannot force a huge allocation up front).
    pub(crate) fn read_vec(&mut self, len: usize, what: &'static str) -> Result<Vec<u8>> {
        let start = self.offset;
        let mut data = Vec::with_capacity(len.min(1 << 16));
        let got = (&mut self.inner).take(len as u64).read_to_end(&mut data);
        self.offset += data.len() as u64;
        match got {
            Ok(_) if data.len() == len => Ok(data),
            Ok(_) => Err(CaptureError::new(start, CaptureErrorKind::Truncated { what })),
            Err(e) => Err(CaptureError::new(self.offset, CaptureErrorKind::Io(e))),
        }
    }
}

/// Byte order of a file or section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub(crate) fn u16(self, bytes: &[u8], at: usize) -> u16 {
        let b = [bytes.get(at).copied().unwrap_or(0), bytes.get(at + 1).copied().unwrap_or(0)];
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    pub(crate) fn u32(self, bytes: &[u8], at: usize) -> u32 {
        let mut b = [0u8; 4];
        for (i, slot) in b.iter_mut().enumerate() {
            *slot = bytes.get(at + i).copied().unwrap_or(0);
        }
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    pub(crate) fn u64(self, bytes: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        for (i, slot) in b.iter_mut().enumerate() {
            *slot = bytes.get(at + i).copied().unwrap_or(0);
        }
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
}

/// Magic numbers of the formats.
pub mod magic {
    /// pcap, microsecond timestamps.
    pub const MICROS: u32 = 0xa1b2_c3d4;
    /// pcap, nanosecond timestamps.
    pub const NANOS: u32 = 0xa1b2_3c4d;
    /// Kuznetzov's modified pcap (microseconds, 8 extra bytes per record).
    pub const MODIFIED: u32 = 0xa1b2_cd34;
    /// pcapng section header block type.
    pub const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
}

/// Timestamp precision of a pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Microseconds.
    Micro,
    /// Nanoseconds.
    Nano,
}

/// Reads a pcap file record by record.
#[derive(Debug)]
pub struct PcapReader<R> {
    input: CountingReader<R>,
    endian: Endian,
    precision: Precision,
    modified: bool,
    link_type: LinkType,
    snaplen: u32,
    failed: bool,
}

impl<R: Read> PcapReader<R> {
    /// Read the file header.
    pub fn new(input: R) -> Result<PcapReader<R>> {
        let mut input = CountingReader::new(input, 0);
        let mut first = [0u8; 4];
        input.read_exact_or_eof(&mut first, "the file header", false)?;
        PcapReader::after_magic(input, first)
    }

    /// Continue after the 4 magic bytes were read.
    pub(crate) fn after_magic(mut input: CountingReader<R>, first: [u8; 4]) -> Result<PcapReader<R>> {
        let (endian, precision, modified) = match (u32::from_le_bytes(first), u32::from_be_bytes(first)) {
            (magic::MICROS, _) => (Endian::Little, Precision::Micro, false),
            (_, magic::MICROS) => (Endian::Big, Precision::Micro, false),
            (magic::NANOS, _) => (Endian::Little, Precision::Nano, false),
            (_, magic::NANOS) => (Endian::Big, Precision::Nano, false),
            (magic::MODIFIED, _) => (Endian::Little, Precision::Micro, true),
            (_, magic::MODIFIED) => (Endian::Big, Precision::Micro, true),
            (_, other) => return Err(CaptureError::new(0, CaptureErrorKind::BadMagic(other))),
        };
        let mut header = [0u8; 20];
        input.read_exact_or_eof(&mut header, "the file header", false)?;
        let (major, minor) = (endian.u16(&header, 0), endian.u16(&header, 2));
        if major != 2 {
            return Err(CaptureError::new(4, CaptureErrorKind::UnsupportedVersion { major, minor }));
        }
        let snaplen = endian.u32(&header, 12);
        let link_type = LinkType::from_number(endian.u32(&header, 16) & 0xffff);
        Ok(PcapReader { input, endian, precision, modified, link_type, snaplen, failed: false })
    }

    /// The file's link type.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The file's snapshot length.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The timestamp precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The next record, or None at the end of the file. After an error the reader stays at
    /// the end.
    pub fn next_record(&mut self) -> Result<Option<CaptureRecord>> {
        if self.failed {
            return Ok(None);
        }
        let result = self.read_record();
        self.failed = result.is_err();
        result
    }

    fn read_record(&mut self) -> Result<Option<CaptureRecord>> {
        let at = self.input.offset;
        let mut header = [0u8; 24];
        let header = &mut header[..if self.modified { 24 } else { 16 }];
        if !self.input.read_exact_or_eof(header, "a record header", true)? {
            return Ok(None);
        }
        let seconds = u64::from(self.endian.u32(header, 0));
        let fraction = self.endian.u32(header, 4);
        let captured = self.endian.u32(header, 8);
        let original_len = self.endian.u32(header, 12);
        if captured > MAX_RECORD_LEN {
            return Err(CaptureError::new(
                at + 8,
                CaptureErrorKind::BadLength { what: "captured length", value: captured.into() },
            ));
        }
        let nanos = match self.precision {
            Precision::Micro => u64::from(fraction) * 1000,
            Precision::Nano => u64::from(fraction),
        };
        let timestamp = Duration::from_secs(seconds) + Duration::from_nanos(nanos);
        let data = self.input.read_vec(captured as usize, "a record's data")?;
        Ok(Some(CaptureRecord {
            timestamp,
            interface_index: 0,
            interface_name: None,
            link_type: self.link_type,
            original_len,
            data,
        }))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<CaptureRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Writes a little-endian pcap file.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    output: W,
    precision: Precision,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Write the file header for `link_type`, with `precision` timestamps and a snapshot length
    /// of 262144 (libpcap's default).
    pub fn new(mut output: W, link_type: LinkType, precision: Precision) -> Result<PcapWriter<W>> {
        let snaplen: u32 = 262_144;
        let magic = match precision {
            Precision::Micro => magic::MICROS,
            Precision::Nano => magic::NANOS,
        };
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&magic.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&snaplen.to_le_bytes());
        header.extend_from_slice(&link_type.number().to_le_bytes());
        output.write_all(&header).map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        Ok(PcapWriter { output, precision, snaplen })
    }

    /// Write one packet captured at `timestamp` (seconds beyond u32 are truncated, as the
    /// format cannot hold them). `original_len` below `data.len()` is raised to it.
    pub fn write_packet(&mut self, timestamp: Duration, data: &[u8], original_len: u32) -> Result<()> {
        let captured = u32::try_from(data.len()).unwrap_or(u32::MAX).min(self.snaplen);
        let fraction = match self.precision {
            Precision::Micro => timestamp.subsec_micros(),
            Precision::Nano => timestamp.subsec_nanos(),
        };
        let mut header = Vec::with_capacity(16);
        header.extend_from_slice(&(timestamp.as_secs() as u32).to_le_bytes());
        header.extend_from_slice(&fraction.to_le_bytes());
        header.extend_from_slice(&captured.to_le_bytes());
        header.extend_from_slice(&original_len.max(captured).to_le_bytes());
        let io = |e| CaptureError::new(0, CaptureErrorKind::Io(e));
        self.output.write_all(&header).map_err(io)?;
        self.output.write_all(&data[..captured as usize]).map_err(io)
    }

    /// Write a record (its interface is ignored: pcap has one link type per file).
    pub fn write_record(&mut self, record: &CaptureRecord) -> Result<()> {
        self.write_packet(record.timestamp, &record.data, record.original_len)
    }

    /// Flush and return the output.
    pub fn finish(mut self) -> Result<W> {
        self.output.flush().map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        Ok(self.output)
    }
}

/// Reads either format, detected from the first four bytes.
#[derive(Debug)]
pub enum CaptureReader<R> {
    /// A pcap file.
    Pcap(PcapReader<R>),
    /// A pcapng file.
    Pcapng(super::pcapng::PcapngReader<R>),
}

impl<R: Read> CaptureReader<R> {
    /// Detect the format and read its header.
    pub fn new(input: R) -> Result<CaptureReader<R>> {
        let mut input = CountingReader::new(input, 0);
        let mut first = [0u8; 4];
        input.read_exact_or_eof(&mut first, "the file header", false)?;
        if u32::from_le_bytes(first) == magic::PCAPNG_SHB {
            Ok(CaptureReader::Pcapng(super::pcapng::PcapngReader::after_block_type(input, first)?))
        } else {
            Ok(CaptureReader::Pcap(PcapReader::after_magic(input, first)?))
        }
    }

    /// The next record, or None at the end.
    pub fn next_record(&mut self) -> Result<Option<CaptureRecord>> {
        match self {
            CaptureReader::Pcap(reader) => reader.next_record(),
            CaptureReader::Pcapng(reader) => reader.next_record(),
        }
    }
}

impl CaptureReader<io::BufReader<std::fs::File>> {
    /// Open a capture file of either format.
    pub fn open(path: impl AsRef<Path>) -> Result<CaptureReader<io::BufReader<std::fs::File>>> {
        let file = std::fs::File::open(path).map_err(|e| CaptureError::new(0, CaptureErrorKind::Io(e)))?;
        CaptureReader::new(io::BufReader::new(file))
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<CaptureRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
