//! Rewriting addresses, ports and ids the way Linux NAT does, with the kernel's own
//! incremental checksum arithmetic (see `crate::checksum` for the ±0 discussion), so that the
//! bytes nftvm emits equal the bytes Linux emits.
//!
//! The central functions mirror the kernel one to one:
//!
//! * [`manip`] is `nf_nat_ipv4_manip_pkt` / `nf_nat_ipv6_manip_pkt`: rewrite one side
//!   (source or destination) of a packet to a target tuple — layer 4 first (port or ICMP id,
//!   and the pseudo-header part of the L4 checksum), then the address (and, for IPv4, the
//!   header checksum). The layer-4 protocol is the *target's*, as in the kernel.
//! * [`icmp_error_translate`] is `nf_nat_icmp_reply_translation` /
//!   `nf_nat_icmpv6_reply_translation` (minus the conntrack-status decisions, which belong to
//!   the NAT code): rewrite the quoted packet, recompute the ICMP checksum, rewrite the outer
//!   header.
//! * [`decrement_ttl`] is `ip_decrease_ttl` (and the IPv6 hop-limit decrement).
//!
//! Kernel facts reproduced here: a zero UDP checksum is left zero (IPv6 too) and a result of
//! zero is stored as `0xffff`; UDP-Lite always updates; TCP, DCCP and SCTP update their checksum only
//! when the whole fixed header is inside the packet (a quoted header inside an ICMP error has
//! only 8 bytes guaranteed) — but then the kernel *does* update them, even inside a quote;
//! SCTP recomputes the CRC32c over everything from its header to the end of the packet;
//! ICMP ids are rewritten only for query types and always from the target's source id;
//! ICMPv6 always gets the pseudo-header update; GRE rewrites only the PPTP call id, and only
//! on destination manipulation.
//!
//! Every function takes `packet` ending where the IP packet ends (the kernel's `skb->len`
//! after `pskb_trim_rcsum`), with the IP header at `nhoff`: use
//! `&mut frame[..info.network_end]`.

use super::field::{get_array, get_u8, get_u16, set_bytes, set_u8, set_u16};
use super::icmpv4;
use super::icmpv6;
use super::ip::{IpVersion, protocol};
use super::ipv6_chain;
use super::tuple::{Tuple, TupleL4};
use crate::checksum;
use std::fmt;
use std::net::IpAddr;

/// Which side of the packet a rewrite changes (`NF_NAT_MANIP_SRC` / `_DST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The source address/port.
    Source,
    /// The destination address/port.
    Destination,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Source => Side::Destination,
            Side::Destination => Side::Source,
        }
    }
}

/// Why a rewrite could not be done (the kernel's manip functions return false, and NAT drops
/// the packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewriteError {
    /// The packet ends before `needed` bytes (`skb_ensure_writable` fails).
    Truncated {
        /// Bytes needed from the start of the buffer.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The ICMP error's checksum is wrong (`nf_ip_checksum` fails): no translation.
    BadIcmpChecksum {
        /// Offset of the ICMP header.
        offset: usize,
    },
    /// A GRE version other than 0 or 1.
    UnknownGreVersion {
        /// Offset of the GRE header.
        offset: usize,
    },
    /// The target's address family does not match the packet's.
    FamilyMismatch,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::Truncated { needed, available } => {
                write!(f, "packet too short to rewrite: need {needed} bytes, have {available}")
            }
            RewriteError::BadIcmpChecksum { offset } => write!(f, "bad ICMP checksum at offset {offset}"),
            RewriteError::UnknownGreVersion { offset } => write!(f, "unknown GRE version at offset {offset}"),
            RewriteError::FamilyMismatch => {
                write!(f, "address family of the target does not match the packet")
            }
        }
    }
}

impl std::error::Error for RewriteError {}

/// Result of a rewrite.
pub type Result<T> = std::result::Result<T, RewriteError>;

fn writable(packet: &[u8], needed: usize) -> Result<()> {
    if packet.len() < needed {
        Err(RewriteError::Truncated { needed, available: packet.len() })
    } else {
        Ok(())
    }
}

/// The new layer-4 identifier a target gives one side: its port, or for ICMP its id.
fn target_port(target: &Tuple, side: Side) -> u16 {
    match (target.l4, side) {
        (TupleL4::Ports { src, .. }, Side::Source) => src,
        (TupleL4::Ports { dst, .. }, Side::Destination) => dst,
        _ => 0,
    }
}

fn target_addr(target: &Tuple, side: Side) -> IpAddr {
    match side {
        Side::Source => target.src,
        Side::Destination => target.dst,
    }
}

/// Offset of the source (or destination) address in an IP header.
fn addr_offset(version: IpVersion, side: Side) -> usize {
    match (version, side) {
        (IpVersion::V4, Side::Source) => 12,
        (IpVersion::V4, Side::Destination) => 16,
        (IpVersion::V6, Side::Source) => 8,
        (IpVersion::V6, Side::Destination) => 24,
    }
}

/// `nf_nat_csum_update`: fold the address change of `side` (old address read from the IP
/// header at `iphdroff`, new from `new`) into the L4 checksum at `check_at`, as
/// `inet_proto_csum_replace4/16` with `pseudohdr = true`.
fn pseudo_header_update(
    packet: &mut [u8],
    iphdroff: usize,
    version: IpVersion,
    side: Side,
    new: IpAddr,
    check_at: usize,
) {
    let at = iphdroff + addr_offset(version, side);
    let check = get_u16(packet, check_at);
    let updated = match (version, new) {
        (IpVersion::V4, IpAddr::V4(new)) => {
            checksum::replace32(check, u32::from_be_bytes(get_array(packet, at)), u32::from(new))
        }
        (IpVersion::V6, IpAddr::V6(new)) => {
            checksum::replace_addr6(check, &get_array(packet, at), &new.octets())
        }
        _ => check,
    };
    set_u16(packet, check_at, updated);
}

/// `l4proto_manip_pkt`: rewrite the layer-4 header at `hdroff` for `target` on `side`.
fn l4_manip(
    packet: &mut [u8],
    iphdroff: usize,
    hdroff: usize,
    version: IpVersion,
    target: &Tuple,
    side: Side,
) -> Result<()> {
    let port_at = hdroff + if side == Side::Source { 0 } else { 2 };
    let new_addr = target_addr(target, side);
    match target.protocol {
        protocol::TCP | protocol::DCCP => {
            // 8 bytes are guaranteed; the checksum only if the whole fixed header is there
            // (TCP: 20 bytes, checksum at 16; DCCP: 12 bytes, checksum at 6).
            let (header_len, check_field) =
                if target.protocol == protocol::TCP { (20, super::tcp::CHECKSUM_OFFSET) } else { (12, 6) };
            let full = packet.len() >= hdroff + header_len;
            writable(packet, hdroff + if full { header_len } else { 8 })?;
            let (old, new) = (get_u16(packet, port_at), target_port(target, side));
            set_u16(packet, port_at, new);
            if full {
                let check_at = hdroff + check_field;
                pseudo_header_update(packet, iphdroff, version, side, new_addr, check_at);
                set_u16(packet, check_at, checksum::replace16(get_u16(packet, check_at), old, new));
            }
        }
        protocol::UDP | protocol::UDPLITE => {
            writable(packet, hdroff + 8)?;
            let check_at = hdroff + super::udp::CHECKSUM_OFFSET;
            let do_csum = target.protocol == protocol::UDPLITE || get_u16(packet, check_at) != 0;
            let (old, new) = (get_u16(packet, port_at), target_port(target, side));
            if do_csum {
                pseudo_header_update(packet, iphdroff, version, side, new_addr, check_at);
                let updated = checksum::replace16(get_u16(packet, check_at), old, new);
                set_u16(packet, check_at, checksum::udp_transmitted(updated));
            }
            set_u16(packet, port_at, new);
        }
        protocol::SCTP => {
            let full = packet.len() >= hdroff + super::sctp::HEADER_LEN;
            writable(packet, hdroff + if full { super::sctp::HEADER_LEN } else { 8 })?;
            set_u16(packet, port_at, target_port(target, side));
            if full {
                let crc = checksum::sctp_checksum(
                    packet.get(hdroff..).unwrap_or(&[]),
                    super::sctp::CHECKSUM_OFFSET,
                );
                set_bytes(packet, hdroff + super::sctp::CHECKSUM_OFFSET, &crc);
            }
        }
        protocol::ICMP => {
            writable(packet, hdroff + 8)?;
            if icmpv4::has_ident(get_u8(packet, hdroff)) {
                set_ident(packet, hdroff, target);
            }
        }
        protocol::ICMPV6 => {
            writable(packet, hdroff + 8)?;
            pseudo_header_update(packet, iphdroff, version, side, new_addr, hdroff + icmpv6::CHECKSUM_OFFSET);
            let kind = get_u8(packet, hdroff);
            if kind == icmpv6::msg_type::ECHO_REQUEST || kind == icmpv6::msg_type::ECHO_REPLY {
                set_ident(packet, hdroff, target);
            }
        }
        protocol::GRE => {
            writable(packet, hdroff + 8)?;
            if side == Side::Destination {
                match get_u16(packet, hdroff) & super::gre::flag::VERSION {
                    0 => {}
                    1 => {
                        if let TupleL4::Gre { dst_key, .. } = target.l4 {
                            set_u16(packet, hdroff + 6, dst_key);
                        }
                    }
                    _ => return Err(RewriteError::UnknownGreVersion { offset: hdroff }),
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// ICMP/ICMPv6 query id ← the target's source id, checksum by `csum_replace2`.
fn set_ident(packet: &mut [u8], hdroff: usize, target: &Tuple) {
    let TupleL4::Icmp { id, .. } = target.l4 else { return };
    let check_at = hdroff + 2;
    let old = get_u16(packet, hdroff + 4);
    set_u16(packet, check_at, checksum::replace16(get_u16(packet, check_at), old, id));
    set_u16(packet, hdroff + 4, id);
}

/// `nf_nat_ipv4_manip_pkt` / `nf_nat_ipv6_manip_pkt`: rewrite `side` of the IP packet at
/// `nhoff` to `target` (address, and port/id per the target's protocol), fixing checksums.
pub fn manip(packet: &mut [u8], nhoff: usize, version: IpVersion, target: &Tuple, side: Side) -> Result<()> {
    let new_addr = target_addr(target, side);
    match (version, new_addr) {
        (IpVersion::V4, IpAddr::V4(new)) => {
            writable(packet, nhoff + 20)?;
            let hdroff = nhoff + usize::from(get_u8(packet, nhoff) & 0x0f) * 4;
            l4_manip(packet, nhoff, hdroff, version, target, side)?;
            let at = nhoff + addr_offset(version, side);
            let old = u32::from_be_bytes(get_array(packet, at));
            let check = checksum::replace32(get_u16(packet, nhoff + 10), old, u32::from(new));
            set_u16(packet, nhoff + 10, check);
            set_bytes(packet, at, &new.octets());
            Ok(())
        }
        (IpVersion::V6, IpAddr::V6(new)) => {
            writable(packet, nhoff + 40)?;
            let next = get_u8(packet, nhoff + 6);
            if let Some(skipped) = ipv6_chain::skip_exthdr(packet, nhoff + 40, next)
                && !skipped.is_later_fragment()
            {
                l4_manip(packet, nhoff, skipped.offset, version, target, side)?;
            }
            set_bytes(packet, nhoff + addr_offset(version, side), &new.octets());
            Ok(())
        }
        _ => Err(RewriteError::FamilyMismatch),
    }
}

/// The tuple of the packet at `nhoff` as it is now, with `side` changed to `addr` and
/// `port`: a convenient target for [`manip`] when only one field changes.
fn self_target(
    packet: &[u8],
    nhoff: usize,
    version: IpVersion,
    l4proto: u8,
    side: Side,
    addr: Option<IpAddr>,
    port: Option<u16>,
) -> Tuple {
    let read_addr = |s: Side| -> IpAddr {
        let at = nhoff + addr_offset(version, s);
        match version {
            IpVersion::V4 => IpAddr::from(get_array::<4>(packet, at)),
            IpVersion::V6 => IpAddr::from(get_array::<16>(packet, at)),
        }
    };
    let mut target = Tuple {
        src: read_addr(Side::Source),
        dst: read_addr(Side::Destination),
        protocol: l4proto,
        l4: TupleL4::None,
    };
    match side {
        Side::Source => target.src = addr.unwrap_or(target.src),
        Side::Destination => target.dst = addr.unwrap_or(target.dst),
    }
    target.l4 = match l4_offset(packet, nhoff, version) {
        Some(hdroff) => {
            let (src, dst) = (get_u16(packet, hdroff), get_u16(packet, hdroff + 2));
            match (l4proto, side) {
                (protocol::ICMP | protocol::ICMPV6, _) => TupleL4::Icmp {
                    id: port.unwrap_or(get_u16(packet, hdroff + 4)),
                    kind: get_u8(packet, hdroff),
                    code: get_u8(packet, hdroff + 1),
                },
                (_, Side::Source) => TupleL4::Ports { src: port.unwrap_or(src), dst },
                (_, Side::Destination) => TupleL4::Ports { src, dst: port.unwrap_or(dst) },
            }
        }
        None => TupleL4::None,
    };
    target
}

/// The layer-4 header offset NAT would use (IPv4: after the header; IPv6: after
/// `ipv6_skip_exthdr`), None when there is none.
fn l4_offset(packet: &[u8], nhoff: usize, version: IpVersion) -> Option<usize> {
    match version {
        IpVersion::V4 => Some(nhoff + usize::from(get_u8(packet, nhoff) & 0x0f) * 4),
        IpVersion::V6 => ipv6_chain::skip_exthdr(packet, nhoff + 40, get_u8(packet, nhoff + 6))
            .filter(|s| !s.is_later_fragment())
            .map(|s| s.offset),
    }
}

/// The protocol NAT would see (IPv4 protocol field; IPv6 after skipping extension headers).
fn l4_protocol(packet: &[u8], nhoff: usize, version: IpVersion) -> u8 {
    match version {
        IpVersion::V4 => get_u8(packet, nhoff + 9),
        IpVersion::V6 => ipv6_chain::skip_exthdr(packet, nhoff + 40, get_u8(packet, nhoff + 6))
            .map_or(protocol::NONE, |s| s.next_header),
    }
}

fn version_of(packet: &[u8], nhoff: usize) -> IpVersion {
    if get_u8(packet, nhoff) >> 4 == 6 { IpVersion::V6 } else { IpVersion::V4 }
}

/// Set the source or destination address of the IP packet at `nhoff`, fixing the IPv4 header
/// checksum and the pseudo-header part of the TCP/UDP/UDP-Lite/ICMPv6 checksum (SCTP: CRC
/// recomputed) exactly as NAT does.
pub fn set_addr(packet: &mut [u8], nhoff: usize, side: Side, addr: IpAddr) -> Result<()> {
    let version = version_of(packet, nhoff);
    let proto = l4_protocol(packet, nhoff, version);
    let target = self_target(packet, nhoff, version, proto, side, Some(addr), None);
    manip(packet, nhoff, version, &target, side)
}

/// Set the source or destination port of a TCP/UDP/UDP-Lite/SCTP packet, as NAT does.
pub fn set_port(packet: &mut [u8], nhoff: usize, side: Side, port: u16) -> Result<()> {
    let version = version_of(packet, nhoff);
    let proto = l4_protocol(packet, nhoff, version);
    let target = self_target(packet, nhoff, version, proto, side, None, Some(port));
    manip(packet, nhoff, version, &target, side)
}

/// Set the ICMP/ICMPv6 query identifier (echo, and for ICMP the other query types), as NAT
/// does; other messages are left alone.
pub fn set_icmp_id(packet: &mut [u8], nhoff: usize, id: u16) -> Result<()> {
    let version = version_of(packet, nhoff);
    let proto = l4_protocol(packet, nhoff, version);
    let target = self_target(packet, nhoff, version, proto, Side::Source, None, Some(id));
    manip(packet, nhoff, version, &target, Side::Source)
}

/// Decrement the IPv4 TTL (header checksum as `ip_decrease_ttl`) or the IPv6 hop limit, and
/// return the new value. A TTL of 0 stays 0 (the forward path sends "time exceeded" for
/// TTL ≤ 1 before decrementing).
pub fn decrement_ttl(packet: &mut [u8], nhoff: usize) -> Result<u8> {
    match version_of(packet, nhoff) {
        IpVersion::V4 => {
            writable(packet, nhoff + 20)?;
            let ttl = get_u8(packet, nhoff + 8);
            if ttl == 0 {
                return Ok(0);
            }
            set_u16(packet, nhoff + 10, checksum::decrement_ttl(get_u16(packet, nhoff + 10)));
            set_u8(packet, nhoff + 8, ttl - 1);
            Ok(ttl - 1)
        }
        IpVersion::V6 => {
            writable(packet, nhoff + 40)?;
            let hop_limit = get_u8(packet, nhoff + 7).saturating_sub(1);
            set_u8(packet, nhoff + 7, hop_limit);
            Ok(hop_limit)
        }
    }
}

/// `nf_nat_icmp_reply_translation` / `nf_nat_icmpv6_reply_translation`, the packet part:
///
/// 1. verify the ICMP/ICMPv6 checksum (a bad one: no translation, the kernel drops);
/// 2. [`manip`] the quoted packet (at `icmp_off + 8`) to `inner_target` on `inner_side`
///    (the kernel passes the reply tuple and the opposite of the hook's manip type);
/// 3. recompute the ICMP checksum over the whole message;
/// 4. [`manip`] the outer packet to `outer_target` on `outer_side` (its protocol must be
///    ICMP/ICMPv6, as the kernel sets `target.dst.protonum`).
///
/// Whether to translate at all (conntrack status bits, redirects) is the NAT code's call.
pub fn icmp_error_translate(
    packet: &mut [u8],
    nhoff: usize,
    icmp_off: usize,
    inner: (&Tuple, Side),
    outer: (&Tuple, Side),
) -> Result<()> {
    let version = version_of(packet, nhoff);
    writable(packet, icmp_off + 8 + if version == IpVersion::V4 { 20 } else { 40 })?;
    if !icmp_checksum_ok(packet, nhoff, icmp_off, version) {
        return Err(RewriteError::BadIcmpChecksum { offset: icmp_off });
    }
    manip(packet, icmp_off + 8, version, inner.0, inner.1)?;
    fill_icmp_checksum(packet, nhoff, icmp_off, version);
    manip(packet, nhoff, version, outer.0, outer.1)
}

fn icmp_pseudo(packet: &[u8], nhoff: usize, icmp_off: usize, version: IpVersion) -> u32 {
    match version {
        IpVersion::V4 => 0,
        IpVersion::V6 => {
            let length = u32::try_from(packet.len().saturating_sub(icmp_off)).unwrap_or(u32::MAX);
            checksum::pseudo_header_v6(
                get_array::<16>(packet, nhoff + 8).into(),
                get_array::<16>(packet, nhoff + 24).into(),
                protocol::ICMPV6,
                length,
            )
        }
    }
}

fn icmp_checksum_ok(packet: &[u8], nhoff: usize, icmp_off: usize, version: IpVersion) -> bool {
    let message = packet.get(icmp_off..).unwrap_or(&[]);
    checksum::verify(message, icmp_pseudo(packet, nhoff, icmp_off, version))
}

fn fill_icmp_checksum(packet: &mut [u8], nhoff: usize, icmp_off: usize, version: IpVersion) {
    set_u16(packet, icmp_off + 2, 0);
    let pseudo = icmp_pseudo(packet, nhoff, icmp_off, version);
    let value = checksum::finish(checksum::sum(packet.get(icmp_off..).unwrap_or(&[]), pseudo));
    set_u16(packet, icmp_off + 2, value);
}
