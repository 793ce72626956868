//! nf_tables' `payload write` (`nft_payload_set_eval`): store bytes into a packet and keep its
//! checksums right the way the kernel does.
//!
//! With `csum_type inet` the checksum at `csum_offset` is updated from the partial sums of the
//! old and new bytes; with the `L4CSUM_PSEUDOHDR` flag the transport checksum (TCP, UDP with
//! a non-zero checksum, UDP-Lite, ICMPv6; nothing for non-first fragments) gets the same
//! update, because the bytes are part of its pseudo-header. Both use `nft_csum_replace`,
//! which stores a result of `0x0000` as `0xffff` — for every protocol, unlike NAT (see
//! `crate::checksum`). With `csum_type sctp` the CRC32c is recomputed after the store.
//!
//! Which writes are allowed at all (`nft_nh_write_ok`, `nft_th_write_ok`,
//! `nft_payload_csum_write_ok`) is the VM's business: it passes `inet_csum_offset` only when
//! the kernel would update that checksum.

use super::field::{get_u16, set_bytes, set_u16};
use super::ip::protocol;
use crate::checksum;
use std::fmt;

/// The layer-4 facts `payload write` needs, from the packet info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L4Context {
    /// nf_tables' `tprot` (None: `NFT_PKTINFO_L4PROTO` unset).
    pub l4proto: Option<u8>,
    /// Transport header offset (absolute).
    pub thoff: usize,
    /// nf_tables' `fragoff`.
    pub fragoff: u16,
}

impl From<&super::parse::PacketInfo> for L4Context {
    fn from(info: &super::parse::PacketInfo) -> L4Context {
        L4Context { l4proto: info.l4proto, thoff: info.thoff, fragoff: info.fragoff }
    }
}

/// One `payload write`, with absolute offsets into the packet buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadWrite<'a> {
    /// Where the bytes go.
    pub offset: usize,
    /// The new bytes.
    pub bytes: &'a [u8],
    /// `csum_type inet`: the absolute offset of the checksum to update, when the kernel's
    /// write-ok checks allow it.
    pub inet_csum_offset: Option<usize>,
    /// `csum_flags L4CSUM_PSEUDOHDR`: update the transport checksum too.
    pub l4_pseudo_header: bool,
    /// `csum_type sctp`: recompute the SCTP CRC32c afterwards.
    pub sctp_crc: bool,
}

/// The write failed (the kernel's `NFT_BREAK`): bytes or checksum outside the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadWriteError {
    /// The offset that could not be reached.
    pub offset: usize,
}

impl fmt::Display for PayloadWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payload write outside the packet at offset {}", self.offset)
    }
}

impl std::error::Error for PayloadWriteError {}

/// Perform `write` on `packet` (which ends where the IP packet ends).
pub fn payload_write(
    packet: &mut [u8],
    write: &PayloadWrite<'_>,
    l4: &L4Context,
) -> Result<(), PayloadWriteError> {
    let end =
        write.offset.checked_add(write.bytes.len()).ok_or(PayloadWriteError { offset: write.offset })?;
    if write.inet_csum_offset.is_some() || write.l4_pseudo_header {
        let old = packet.get(write.offset..end).ok_or(PayloadWriteError { offset: write.offset })?;
        let fsum = checksum::sum(old, 0);
        let tsum = checksum::sum(write.bytes, 0);
        if let Some(at) = write.inet_csum_offset {
            update_checksum(packet, at, fsum, tsum)?;
        }
        if write.l4_pseudo_header
            && let Some(at) = l4_checksum_offset(packet, l4)
        {
            update_checksum(packet, at, fsum, tsum)?;
        }
    }
    match packet.get_mut(write.offset..end) {
        Some(slot) => slot.copy_from_slice(write.bytes),
        None => return Err(PayloadWriteError { offset: write.offset }),
    }
    if write.sctp_crc && l4.l4proto == Some(protocol::SCTP) && l4.fragoff == 0 {
        let header_end = l4.thoff.saturating_add(super::sctp::HEADER_LEN);
        if packet.len() < header_end {
            return Err(PayloadWriteError { offset: l4.thoff });
        }
        let crc =
            checksum::sctp_checksum(packet.get(l4.thoff..).unwrap_or(&[]), super::sctp::CHECKSUM_OFFSET);
        set_bytes(packet, l4.thoff + super::sctp::CHECKSUM_OFFSET, &crc);
    }
    Ok(())
}

/// `nft_payload_l4csum_offset`: where the transport checksum is, if it needs updating.
fn l4_checksum_offset(packet: &[u8], l4: &L4Context) -> Option<usize> {
    if l4.fragoff != 0 {
        return None;
    }
    let field = match l4.l4proto? {
        protocol::TCP => super::tcp::CHECKSUM_OFFSET,
        protocol::UDP => {
            // A UDP checksum of zero (or an unreadable header) means "none": skip.
            if packet.len() < l4.thoff.saturating_add(super::udp::HEADER_LEN)
                || get_u16(packet, l4.thoff + super::udp::CHECKSUM_OFFSET) == 0
            {
                return None;
            }
            super::udp::CHECKSUM_OFFSET
        }
        protocol::UDPLITE => super::udplite::CHECKSUM_OFFSET,
        protocol::ICMPV6 => super::icmpv6::CHECKSUM_OFFSET,
        _ => return None,
    };
    Some(l4.thoff + field)
}

fn update_checksum(packet: &mut [u8], at: usize, fsum: u32, tsum: u32) -> Result<(), PayloadWriteError> {
    if packet.len() < at.saturating_add(2) {
        return Err(PayloadWriteError { offset: at });
    }
    let updated = checksum::nft_replace(get_u16(packet, at), fsum, tsum);
    set_u16(packet, at, updated);
    Ok(())
}
