//! TCP (RFC 9293): a zero-copy view of a segment, its options (MSS, window scale,
//! SACK-permitted, SACK, timestamps) walked the way Linux conntrack walks them, the walk
//! nf_tables' `tcp option` matches use, and a `Repr` that emits options in Linux's layout.
//!
//! The view's buffer is the whole segment (the IP payload), which is what the checksum covers.

use super::error::{ErrorKind, ParseError, Result};
use super::field::{
    get_range, get_range_mut, get_u8, get_u16, get_u32, need, set_bytes, set_u8, set_u16, set_u32,
};
use super::ip::protocol;
use crate::checksum;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of the header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// Offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 16;

/// TCP flag bits of header byte 13 (what `tcp flags` matches).
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// TCP option kinds (`TCPOPT_*`).
pub mod option {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No operation.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERM: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMP: u8 = 8;
    /// Multipath TCP.
    pub const MPTCP: u8 = 30;
}

/// A view of a TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wrap a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wrap a buffer holding at least the header its data offset announces (≥ 20 bytes).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        need(buffer.as_ref(), "TCP header", MIN_HEADER_LEN)?;
        let packet = TcpPacket { buffer };
        let header_len = packet.header_len();
        if header_len < MIN_HEADER_LEN {
            return Err(ParseError::new(
                12,
                ErrorKind::BadHeaderLength { header: "TCP", length: header_len },
            ));
        }
        need(packet.buffer.as_ref(), "TCP header", header_len)?;
        Ok(packet)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole segment.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }

    /// Acknowledgement number.
    pub fn ack_number(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 8)
    }

    /// Header length in bytes (data offset · 4).
    pub fn header_len(&self) -> usize {
        usize::from(get_u8(self.buffer.as_ref(), 12) >> 4) * 4
    }

    /// The four reserved bits after the data offset (bit 0 is the old NS / AccECN AE bit).
    pub fn reserved(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 12) & 0x0f
    }

    /// The flag byte (see [`flags`]).
    pub fn flags(&self) -> u8 {
        get_u8(self.buffer.as_ref(), 13)
    }

    /// True when all of `mask` is set.
    pub fn has_flags(&self, mask: u8) -> bool {
        self.flags() & mask == mask
    }

    /// Window.
    pub fn window_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 14)
    }

    /// Checksum.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), CHECKSUM_OFFSET)
    }

    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 18)
    }

    /// Option bytes.
    pub fn options(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len())
    }

    /// Options parsed with Linux conntrack's rules (see [`TcpOptionIter`]).
    pub fn option_iter(&self) -> TcpOptionIter<'_> {
        TcpOptionIter::new(self.options())
    }

    /// Payload after the header.
    pub fn payload(&self) -> &[u8] {
        get_range(self.buffer.as_ref(), self.header_len(), usize::MAX)
    }

    /// Segment length as TCP sequence space counts it (payload, +1 for SYN, +1 for FIN).
    pub fn segment_len(&self) -> usize {
        self.payload().len()
            + usize::from(self.has_flags(flags::SYN))
            + usize::from(self.has_flags(flags::FIN))
    }

    /// True when the checksum over this segment and the IPv4 pseudo-header is right.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let data = self.buffer.as_ref();
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        checksum::verify(data, checksum::pseudo_header_v4(src, dst, protocol::TCP, length))
    }

    /// True when the checksum over this segment and the IPv6 pseudo-header is right.
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        checksum::verify(data, checksum::pseudo_header_v6(src, dst, protocol::TCP, length))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Set the source port (checksum untouched).
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 0, port);
    }

    /// Set the destination port (checksum untouched).
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), 2, port);
    }

    /// Set the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), 4, value);
    }

    /// Set the acknowledgement number.
    pub fn set_ack_number(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), 8, value);
    }

    /// Set the header length (multiple of 4, 20..=60), clearing the reserved bits.
    pub fn set_header_len(&mut self, len: usize) {
        set_u8(self.buffer.as_mut(), 12, (((len / 4) & 0x0f) as u8) << 4);
    }

    /// Set the flag byte.
    pub fn set_flags(&mut self, value: u8) {
        set_u8(self.buffer.as_mut(), 13, value);
    }

    /// Set the window.
    pub fn set_window_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 14, value);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), CHECKSUM_OFFSET, value);
    }

    /// Set the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), 18, value);
    }

    /// Mutable option bytes.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        get_range_mut(self.buffer.as_mut(), MIN_HEADER_LEN, len)
    }

    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        get_range_mut(self.buffer.as_mut(), len, usize::MAX)
    }

    /// Compute the checksum with the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = checksum::transport_checksum_v4(src, dst, protocol::TCP, self.buffer.as_ref());
        self.set_checksum(value);
    }

    /// Compute the checksum with the IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let value = checksum::transport_checksum_v6(src, dst, protocol::TCP, self.buffer.as_ref());
        self.set_checksum(value);
    }
}

/// One TCP option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (the walk stops after it).
    EndOfList,
    /// No operation (padding).
    NoOperation,
    /// Maximum segment size.
    MaxSegmentSize(u16),
    /// Window scale shift count (as sent; conntrack clamps it to 14).
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks: the raw pairs of 32-bit left/right edges.
    Sack(&'a [u8]),
    /// Timestamps.
    Timestamps {
        /// Timestamp value.
        value: u32,
        /// Timestamp echo reply.
        echo: u32,
    },
    /// Any other option, or a known kind with an unexpected length (ignored by conntrack).
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option bytes after kind and length.
        data: &'a [u8],
    },
}

/// Walks TCP options with the rules of Linux conntrack's `tcp_options`/`tcp_sack`: EOL ends
/// the list, NOP is one byte, any other option needs a length in `2..=remaining` — a "silly"
/// or partial option ends the walk with an error item.
#[derive(Clone, Debug)]
pub struct TcpOptionIter<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> TcpOptionIter<'a> {
    /// Walk the option bytes of a header (what follows its fixed 20 bytes).
    pub fn new(options: &'a [u8]) -> TcpOptionIter<'a> {
        TcpOptionIter { data: options, at: 0 }
    }
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.at..)?;
        let kind = *rest.first()?;
        let offset = MIN_HEADER_LEN + self.at;
        match kind {
            option::EOL => {
                self.at = self.data.len();
                return Some(Ok(TcpOption::EndOfList));
            }
            option::NOP => {
                self.at += 1;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        let len = rest.get(1).map_or(0, |&l| usize::from(l));
        if rest.len() < 2 || len < 2 || len > rest.len() {
            self.at = self.data.len();
            return Some(Err(ParseError::new(
                offset,
                ErrorKind::BadField { header: "TCP option", field: "length", value: len as u64 },
            )));
        }
        self.at += len;
        let data = get_range(rest, 2, len);
        let parsed = match (kind, len) {
            (option::MSS, 4) => TcpOption::MaxSegmentSize(get_u16(data, 0)),
            (option::WINDOW, 3) => TcpOption::WindowScale(get_u8(data, 0)),
            (option::SACK_PERM, 2) => TcpOption::SackPermitted,
            (option::SACK, _) if len >= 10 && (len - 2) % 8 == 0 => TcpOption::Sack(data),
            (option::TIMESTAMP, 10) => {
                TcpOption::Timestamps { value: get_u32(data, 0), echo: get_u32(data, 4) }
            }
            _ => TcpOption::Unknown { kind, data },
        };
        Some(Ok(parsed))
    }
}

/// One step of nf_tables' TCP option walk (`nft_exthdr_tcp_eval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NftOptionStep {
    /// The option kind byte.
    pub kind: u8,
    /// Offset of the kind byte from the start of the TCP header.
    pub offset: usize,
    /// The length the walk advances by.
    pub len: usize,
}

/// The walk nf_tables uses for `tcp option ...` (`nft_exthdr_tcp_eval`), over a whole TCP
/// header (`header` holds at least `header_len` bytes): starting at byte 20, while
/// `offset < header_len - 1`; kinds 0 (EOL) and 1 (NOP), and any length byte of 0, advance by
/// one; otherwise by the length byte. Note that EOL does not end this walk.
pub fn nft_option_walk(header: &[u8]) -> impl Iterator<Item = NftOptionStep> + '_ {
    let header_len = TcpPacket::new_unchecked(header).header_len().min(header.len());
    let mut at = MIN_HEADER_LEN;
    std::iter::from_fn(move || {
        if at + 1 >= header_len {
            return None;
        }
        let kind = get_u8(header, at);
        let len_byte = get_u8(header, at + 1);
        let len = if kind <= option::NOP || len_byte == 0 { 1 } else { usize::from(len_byte) };
        let step = NftOptionStep { kind, offset: at, len };
        at += len;
        Some(step)
    })
}

/// The TCP options of a [`TcpRepr`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size.
    pub mss: Option<u16>,
    /// Window scale.
    pub window_scale: Option<u8>,
    /// SACK permitted.
    pub sack_permitted: bool,
    /// Timestamps (value, echo reply).
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks (left, right), at most 4 (3 with timestamps) are emitted.
    pub sack: Vec<(u32, u32)>,
}

impl TcpOptions {
    /// Collect the options of a segment (well-formed options before any error).
    pub fn parse<T: AsRef<[u8]>>(packet: &TcpPacket<T>) -> TcpOptions {
        let mut out = TcpOptions::default();
        for item in packet.option_iter() {
            match item {
                Ok(TcpOption::MaxSegmentSize(mss)) => out.mss = Some(mss),
                Ok(TcpOption::WindowScale(shift)) => out.window_scale = Some(shift),
                Ok(TcpOption::SackPermitted) => out.sack_permitted = true,
                Ok(TcpOption::Timestamps { value, echo }) => out.timestamps = Some((value, echo)),
                Ok(TcpOption::Sack(blocks)) => {
                    out.sack = blocks.chunks_exact(8).map(|b| (get_u32(b, 0), get_u32(b, 4))).collect();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        out
    }

    fn sack_blocks(&self) -> &[(u32, u32)] {
        let max = if self.timestamps.is_some() { 3 } else { 4 };
        self.sack.get(..self.sack.len().min(max)).unwrap_or(&[])
    }

    /// Length of the emitted options (a multiple of 4).
    pub fn len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() || self.sack_permitted {
            len += if self.timestamps.is_some() { 12 } else { 4 };
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        if !self.sack_blocks().is_empty() {
            len += 4 + 8 * self.sack_blocks().len();
        }
        len
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the options in the order and alignment Linux's `tcp_options_write` uses: MSS;
    /// SACK-permitted folded into the timestamp option's padding (or NOP NOP SACK_PERM);
    /// NOP + window scale; NOP NOP + SACK blocks.
    pub fn emit(&self, out: &mut [u8]) {
        let mut bytes: Vec<u8> = Vec::with_capacity(40);
        if let Some(mss) = self.mss {
            bytes.extend_from_slice(&[option::MSS, 4]);
            bytes.extend_from_slice(&mss.to_be_bytes());
        }
        match (self.timestamps, self.sack_permitted) {
            (Some((value, echo)), sack_perm) => {
                if sack_perm {
                    bytes.extend_from_slice(&[option::SACK_PERM, 2]);
                } else {
                    bytes.extend_from_slice(&[option::NOP, option::NOP]);
                }
                bytes.extend_from_slice(&[option::TIMESTAMP, 10]);
                bytes.extend_from_slice(&value.to_be_bytes());
                bytes.extend_from_slice(&echo.to_be_bytes());
            }
            (None, true) => bytes.extend_from_slice(&[option::NOP, option::NOP, option::SACK_PERM, 2]),
            (None, false) => {}
        }
        if let Some(shift) = self.window_scale {
            bytes.extend_from_slice(&[option::NOP, option::WINDOW, 3, shift]);
        }
        let blocks = self.sack_blocks();
        if !blocks.is_empty() {
            bytes.extend_from_slice(&[option::NOP, option::NOP, option::SACK, (2 + 8 * blocks.len()) as u8]);
            for (left, right) in blocks {
                bytes.extend_from_slice(&left.to_be_bytes());
                bytes.extend_from_slice(&right.to_be_bytes());
            }
        }
        set_bytes(out, 0, get_range(&bytes, 0, out.len()));
    }
}

/// The contents of a TCP header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgement number.
    pub ack_number: u32,
    /// Flag byte.
    pub flags: u8,
    /// Window.
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_at: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload length.
    pub payload_len: usize,
}

impl TcpRepr {
    /// Read a checked segment's header.
    pub fn parse<T: AsRef<[u8]>>(packet: &TcpPacket<T>) -> TcpRepr {
        TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            options: TcpOptions::parse(packet),
            payload_len: packet.payload().len(),
        }
    }

    /// Header length (options included, at most 60).
    pub fn header_len(&self) -> usize {
        (MIN_HEADER_LEN + self.options.len()).min(60)
    }

    /// Header plus payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Write the header (checksum field zero: fill it with the pseudo-header afterwards).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(self.header_len());
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);
        self.options.emit(packet.options_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_option_layout() {
        // The 20 option bytes of a Linux SYN (as seen in any capture): MSS 1460, SACK_PERM,
        // TS, NOP, WS 7.
        let expected = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
        let options = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 0)),
            sack: Vec::new(),
        };
        assert_eq!(options.len(), 20);
        let mut out = [0u8; 20];
        options.emit(&mut out);
        assert_eq!(out, expected);

        let mut segment = [0u8; 40];
        segment[12] = 0xa0;
        segment[20..].copy_from_slice(&expected);
        let packet = TcpPacket::new_checked(&segment[..]).unwrap();
        assert_eq!(TcpOptions::parse(&packet), options);
    }

    #[test]
    fn conntrack_walk_stops_at_silly_options() {
        let mut segment = [0u8; 28];
        segment[12] = 0x70;
        segment[20..28].copy_from_slice(&[1, 3, 1, 9, 0, 0, 0, 0]); // WS len 1 is silly
        let packet = TcpPacket::new_checked(&segment[..]).unwrap();
        let items: Vec<_> = packet.option_iter().collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }

    #[test]
    fn nft_walk_does_not_stop_at_eol() {
        let mut segment = [0u8; 28];
        segment[12] = 0x70;
        segment[20..28].copy_from_slice(&[0, 0, 4, 2, 8, 0, 1, 1]);
        let steps: Vec<_> = nft_option_walk(&segment).map(|s| (s.kind, s.offset)).collect();
        assert_eq!(steps, vec![(0, 20), (0, 21), (4, 22), (8, 24), (0, 25), (1, 26)]);
    }

    #[test]
    fn header_length_checks() {
        let mut segment = [0u8; 20];
        segment[12] = 0x40;
        assert!(matches!(
            TcpPacket::new_checked(&segment[..]).unwrap_err().kind,
            ErrorKind::BadHeaderLength { .. }
        ));
        segment[12] = 0x60;
        assert!(TcpPacket::new_checked(&segment[..]).is_err());
        assert!(TcpPacket::new_checked(&segment[..19]).is_err());
    }
}
