//! pcapng capture files (draft-ietf-opsawg-pcapng): reading (with interface names) and writing.
//!
//! Reading understands Section Header Blocks (either byte order; a new section resets the
//! interfaces), Interface Description Blocks with the `if_name`, `if_tsresol` and
//! `if_tsoffset` options, Enhanced Packet Blocks, Simple Packet Blocks and the obsolete Packet
//! Block; other blocks are skipped. Writing emits one section: an SHB, an IDB per interface
//! (with `if_name` and `if_tsresol` = nanoseconds) and EPBs, little-endian.
//!
//! Errors name the byte offset in the file where the problem is.

use super::pcap::{CaptureError, CaptureErrorKind, CaptureRecord, CountingReader, Endian, Result, magic};
use crate::packet::link::LinkType;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// Block types.
pub mod block {
    /// Section Header Block.
    pub const SHB: u32 = 0x0a0d_0d0a;
    /// Interface Description Block.
    pub const IDB: u32 = 1;
    /// Packet Block (obsolete).
    pub const PB: u32 = 2;
    /// Simple Packet Block.
    pub const SPB: u32 = 3;
    /// Enhanced Packet Block.
    pub const EPB: u32 = 6;
}

/// The byte-order magic of a Section Header Block.
pub const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Option codes used here.
pub mod option {
    /// End of options.
    pub const END: u16 = 0;
    /// Interface name.
    pub const IF_NAME: u16 = 2;
    /// Timestamp resolution.
    pub const IF_TSRESOL: u16 = 9;
    /// Timestamp offset in seconds.
    pub const IF_TSOFFSET: u16 = 14;
}

/// The largest block accepted.
const MAX_BLOCK_LEN: u32 = super::pcap::MAX_RECORD_LEN + 4096;

/// An interface declared by an IDB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// `if_name`, if given.
    pub name: Option<Arc<str>>,
    /// Link type of its packets.
    pub link_type: LinkType,
    /// Snapshot length (0: unlimited).
    pub snaplen: u32,
    /// Timestamp units per second (from `if_tsresol`; default 10^6).
    pub units_per_second: u128,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub offset_seconds: i64,
}

impl Interface {
    fn timestamp(&self, raw: u64) -> Duration {
        let units = self.units_per_second.max(1);
        let raw = u128::from(raw);
        let seconds = u64::try_from(raw / units).unwrap_or(u64::MAX);
        let nanos = ((raw % units) * 1_000_000_000 / units) as u32;
        let seconds = seconds.saturating_add_signed(self.offset_seconds);
        Duration::new(seconds, nanos)
    }
}

/// Reads a pcapng file record by record.
#[derive(Debug)]
pub struct PcapngReader<R> {
    input: CountingReader<R>,
    endian: Endian,
    interfaces: Vec<Interface>,
    failed: bool,
}

impl<R: Read> PcapngReader<R> {
    /// Read the first Section Header Block.
    pub fn new(input: R) -> Result<PcapngReader<R>> {
        let mut input = CountingReader::new(input, 0);
        let mut first = [0u8; 4];
        input.read_exact_or_eof(&mut first, "the section header", false)?;
        PcapngReader::after_block_type(input, first)
    }

    /// Continue after the first block's 4 type bytes were read.
    pub(crate) fn after_block_type(input: CountingReader<R>, first: [u8; 4]) -> Result<PcapngReader<R>> {
        if u32::from_le_bytes(first) != magic::PCAPNG_SHB {
            return Err(CaptureError::new(0, CaptureErrorKind::BadMagic(u32::from_be_bytes(first))));
        }
        let mut reader =
            PcapngReader { input, endian: Endian::Little, interfaces: Vec::new(), failed: false };
        reader.read_section_header(0)?;
        Ok(reader)
    }

    /// The interfaces of the current section.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The next packet record, or None at the end of the file. After an error the reader stays
    /// at the end.
    pub fn next_record(&mut self) -> Result<Option<CaptureRecord>> {
        if self.failed {
            return Ok(None);
        }
        let result = self.read_record();
        self.failed = result.is_err();
        result
    }

    fn read_record(&mut self) -> Result<Option<CaptureRecord>> {
        loop {
            let at = self.input.offset;
            let mut kind = [0u8; 4];
            if !self.input.read_exact_or_eof(&mut kind, "a block header", true)? {
                return Ok(None);
            }
            if u32::from_le_bytes(kind) == block::SHB {
                self.read_section_header(at)?;
                continue;
            }
            let kind = self.endian.u32(&kind, 0);
            let mut len = [0u8; 4];
            self.input.read_exact_or_eof(&mut len, "a block header", false)?;
            let len = self.endian.u32(&len, 0);
            let body = self.read_body(at, len, 8)?;
            let record = match kind {
                block::IDB => {
                    self.interfaces.push(self.parse_idb(at, &body)?);
                    None
                }
                block::EPB => Some(self.parse_epb(at, &body)?),
                block::SPB => Some(self.parse_spb(at, &body)?),
                block::PB => Some(self.parse_pb(at, &body)?),
                _ => None,
            };
            if record.is_some() {
                return Ok(record);
            }
        }
    }

    /// Read the rest of a block of total length `len` whose first `consumed` bytes were read:
    /// its body and the trailing length copy.
    fn read_body(&mut self, at: u64, len: u32, consumed: u32) -> Result<Vec<u8>> {
        if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK_LEN {
            return Err(CaptureError::new(
                at + 4,
                CaptureErrorKind::BadLength { what: "block length", value: len.into() },
            ));
        }
        let body = self.input.read_vec((len - consumed - 4) as usize, "a block")?;
        let mut trailer = [0u8; 4];
        let trailer_at = self.input.offset;
        self.input.read_exact_or_eof(&mut trailer, "a block trailer", false)?;
        let copy = self.endian.u32(&trailer, 0);
        if copy != len {
            return Err(CaptureError::new(
                trailer_at,
                CaptureErrorKind::BadLength { what: "trailing block length", value: copy.into() },
            ));
        }
        Ok(body)
    }

    /// A Section Header Block whose type was read at `at`: byte order, version, new section.
    fn read_section_header(&mut self, at: u64) -> Result<()> {
        let mut head = [0u8; 8];
        self.input.read_exact_or_eof(&mut head, "a section header", false)?;
        self.endian = match (
            u32::from_le_bytes([head[4], head[5], head[6], head[7]]),
            u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        ) {
            (BYTE_ORDER_MAGIC, _) => Endian::Little,
            (_, BYTE_ORDER_MAGIC) => Endian::Big,
            (_, other) => return Err(CaptureError::new(at + 8, CaptureErrorKind::BadMagic(other))),
        };
        let len = self.endian.u32(&head, 0);
        if len < 28 {
            return Err(CaptureError::new(
                at + 4,
                CaptureErrorKind::BadLength { what: "block length", value: len.into() },
            ));
        }
        let body = self.read_body(at, len, 12)?;
        let (major, minor) = (self.endian.u16(&body, 0), self.endian.u16(&body, 2));
        if major != 1 {
            return Err(CaptureError::new(at + 12, CaptureErrorKind::UnsupportedVersion { major, minor }));
        }
        self.interfaces.clear();
        Ok(())
    }

    fn parse_idb(&self, at: u64, body: &[u8]) -> Result<Interface> {
        if body.len() < 8 {
            return Err(CaptureError::new(
                at,
                CaptureErrorKind::Truncated { what: "an interface description" },
            ));
        }
        let mut interface = Interface {
            name: None,
            link_type: LinkType::from_number(u32::from(self.endian.u16(body, 0))),
            snaplen: self.endian.u32(body, 4),
            units_per_second: 1_000_000,
            offset_seconds: 0,
        };
        for (code, value) in options(self.endian, body.get(8..).unwrap_or(&[])) {
            match code {
                option::IF_NAME => {
                    let text = String::from_utf8_lossy(value);
                    interface.name = Some(Arc::from(text.trim_end_matches('\0')));
                }
                option::IF_TSRESOL => {
                    if let Some(&resolution) = value.first() {
                        let exponent = u32::from(resolution & 0x7f);
                        let units = if resolution & 0x80 != 0 {
                            1u128.checked_shl(exponent)
                        } else {
                            10u128.checked_pow(exponent)
                        };
                        interface.units_per_second = units.ok_or(CaptureError::new(
                            at,
                            CaptureErrorKind::BadLength {
                                what: "timestamp resolution",
                                value: resolution.into(),
                            },
                        ))?;
                    }
                }
                option::IF_TSOFFSET if value.len() >= 8 => {
                    interface.offset_seconds = self.endian.u64(value, 0) as i64;
                }
                _ => {}
            }
        }
        Ok(interface)
    }

    fn interface(&self, at: u64, id: u32) -> Result<&Interface> {
        self.interfaces
            .get(id as usize)
            .ok_or(CaptureError::new(at + 8, CaptureErrorKind::UnknownInterface(id)))
    }

    fn record(&self, at: u64, id: u32, raw_ts: u64, original_len: u32, data: &[u8]) -> Result<CaptureRecord> {
        let interface = self.interface(at, id)?;
        Ok(CaptureRecord {
            timestamp: interface.timestamp(raw_ts),
            interface_index: id,
            interface_name: interface.name.clone(),
            link_type: interface.link_type,
            original_len,
            data: data.to_vec(),
        })
    }

    fn captured<'a>(&self, at: u64, body: &'a [u8], from: usize, captured: u32) -> Result<&'a [u8]> {
        body.get(from..from.saturating_add(captured as usize)).ok_or(CaptureError::new(
            at,
            CaptureErrorKind::BadLength { what: "captured length", value: captured.into() },
        ))
    }

    fn parse_epb(&self, at: u64, body: &[u8]) -> Result<CaptureRecord> {
        if body.len() < 20 {
            return Err(CaptureError::new(
                at,
                CaptureErrorKind::Truncated { what: "an enhanced packet block" },
            ));
        }
        let id = self.endian.u32(body, 0);
        let raw_ts = (u64::from(self.endian.u32(body, 4)) << 32) | u64::from(self.endian.u32(body, 8));
        let data = self.captured(at, body, 20, self.endian.u32(body, 12))?;
        self.record(at, id, raw_ts, self.endian.u32(body, 16), data)
    }

    fn parse_spb(&self, at: u64, body: &[u8]) -> Result<CaptureRecord> {
        if body.len() < 4 {
            return Err(CaptureError::new(at, CaptureErrorKind::Truncated { what: "a simple packet block" }));
        }
        let original_len = self.endian.u32(body, 0);
        let snaplen = self.interface(at, 0)?.snaplen;
        let mut captured = original_len.min(u32::try_from(body.len() - 4).unwrap_or(u32::MAX));
        if snaplen != 0 {
            captured = captured.min(snaplen);
        }
        let data = self.captured(at, body, 4, captured)?;
        // Simple packet blocks carry no timestamp: report none (zero), not the offset.
        let record = self.record(at, 0, 0, original_len, data)?;
        Ok(CaptureRecord { timestamp: Duration::ZERO, ..record })
    }

    fn parse_pb(&self, at: u64, body: &[u8]) -> Result<CaptureRecord> {
        if body.len() < 20 {
            return Err(CaptureError::new(at, CaptureErrorKind::Truncated { what: "a packet block" }));
        }
        let id = u32::from(self.endian.u16(body, 0));
        let raw_ts = (u64::from(self.endian.u32(body, 4)) << 32) | u64::from(self.endian.u32(body, 8));
        let data = self.captured(at, body, 20, self.endian.u32(body, 12))?;
        self.record(at, id, raw_ts, self.endian.u32(body, 16), data)
    }
}

/// The options of a block: (code, value) pairs up to `opt_endofopt` or the end.
fn options(endian: Endian, mut area: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if area.len() < 4 {
            return None;
        }
        let code = endian.u16(area, 0);
        let len = usize::from(endian.u16(area, 2));
        if code == option::END {
            return None;
        }
        let value = area.get(4..4 + len)?;
        area = area.get(4 + len.div_ceil(4) * 4..).unwrap_or(&[]);
        Some((code, value))
    })
}

impl<R: Read> Iterator for PcapngReader<R> {
    type Item = Result<CaptureRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Writes a pcapng file: one section, interfaces declared as they are first used.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    output: W,
    offset: u64,
    interfaces: Vec<(Option<Arc<str>>, LinkType)>,
}

/// The snapshot length written in IDBs (libpcap's default).
const SNAPLEN: u32 = 262_144;

impl<W: Write> PcapngWriter<W> {
    /// Write the Section Header Block.
    pub fn new(output: W) -> Result<PcapngWriter<W>> {
        let mut writer = PcapngWriter { output, offset: 0, interfaces: Vec::new() };
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        writer.write_block(block::SHB, &body)?;
        Ok(writer)
    }

    fn write_block(&mut self, kind: u32, body: &[u8]) -> Result<()> {
        let padded = body.len().div_ceil(4) * 4;
        let total = u32::try_from(padded + 12).map_err(|_| {
            CaptureError::new(
                self.offset,
                CaptureErrorKind::BadLength { what: "block length", value: padded as u64 },
            )
        })?;
        let mut bytes = Vec::with_capacity(padded + 12);
        bytes.extend_from_slice(&kind.to_le_bytes());
        bytes.extend_from_slice(&total.to_le_bytes());
        bytes.extend_from_slice(body);
        bytes.resize(padded + 8, 0);
        bytes.extend_from_slice(&total.to_le_bytes());
        self.output.write_all(&bytes).map_err(|e| CaptureError::new(self.offset, CaptureErrorKind::Io(e)))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Declare an interface (IDB with `if_name` when given and nanosecond timestamps) and
    /// return its index.
    pub fn add_interface(&mut self, name: Option<&str>, link_type: LinkType) -> Result<u32> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link_type.number() as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&SNAPLEN.to_le_bytes());
        if let Some(name) = name {
            push_option(&mut body, option::IF_NAME, name.as_bytes());
        }
        push_option(&mut body, option::IF_TSRESOL, &[9]);
        push_option(&mut body, option::END, &[]);
        self.write_block(block::IDB, &body)?;
        self.interfaces.push((name.map(Arc::from), link_type));
        Ok(u32::try_from(self.interfaces.len() - 1).unwrap_or(u32::MAX))
    }

    /// The index of the interface called `name` with `link_type`, declaring it if new.
    pub fn interface(&mut self, name: Option<&str>, link_type: LinkType) -> Result<u32> {
        let found = self.interfaces.iter().position(|(n, l)| n.as_deref() == name && *l == link_type);
        match found {
            Some(index) => Ok(u32::try_from(index).unwrap_or(u32::MAX)),
            None => self.add_interface(name, link_type),
        }
    }

    /// Write one packet on interface `interface` (an index from [`PcapngWriter::add_interface`]).
    pub fn write_packet(
        &mut self,
        interface: u32,
        timestamp: Duration,
        data: &[u8],
        original_len: u32,
    ) -> Result<()> {
        if interface as usize >= self.interfaces.len() {
            return Err(CaptureError::new(self.offset, CaptureErrorKind::UnknownInterface(interface)));
        }
        let nanos = u64::try_from(timestamp.as_nanos()).unwrap_or(u64::MAX);
        let captured = u32::try_from(data.len()).map_err(|_| {
            CaptureError::new(
                self.offset,
                CaptureErrorKind::BadLength { what: "packet length", value: data.len() as u64 },
            )
        })?;
        let mut body = Vec::with_capacity(20 + data.len());
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((nanos >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(nanos as u32).to_le_bytes());
        body.extend_from_slice(&captured.to_le_bytes());
        body.extend_from_slice(&original_len.max(captured).to_le_bytes());
        body.extend_from_slice(data);
        self.write_block(block::EPB, &body)
    }

    /// Write a record on the interface with its name and link type (declared on first use).
    pub fn write_record(&mut self, record: &CaptureRecord) -> Result<()> {
        let interface = self.interface(record.interface_name.as_deref(), record.link_type)?;
        self.write_packet(interface, record.timestamp, &record.data, record.original_len)
    }

    /// Flush and return the output.
    pub fn finish(mut self) -> Result<W> {
        self.output.flush().map_err(|e| CaptureError::new(self.offset, CaptureErrorKind::Io(e)))?;
        Ok(self.output)
    }
}

fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = value.get(..value.len().min(usize::from(u16::MAX))).unwrap_or(value);
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    body.resize(body.len().div_ceil(4) * 4, 0);
}
