//! The tracker's view of one packet: everything connection tracking needs, filled in by the
//! pipeline from its dissector, so that conntrack does not depend on packet parsing.
//!
//! Values are host-order numbers. Lengths follow the kernel: `len` is the length of the
//! packet from the network header on (`skb->len` at the conntrack hooks), which is what
//! the byte counters add up.

use std::net::IpAddr;

use super::tuple::{self, L3, Tuple};

/// Nanoseconds on the packet clock (pcap timestamps offline, a monotonic clock live).
pub type Time = u64;

/// One second on the packet clock.
pub const SECOND: Time = 1_000_000_000;

/// TCP flag bits, as in the TCP header's flag byte.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The TCP header fields conntrack reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// The window field as sent (unscaled).
    pub window: u16,
    /// The flag byte (see [`tcp_flags`]).
    pub flags: u8,
    /// The data offset field (header length in 32-bit words).
    pub doff: u8,
    /// The option bytes (`doff * 4 - 20` bytes, or fewer if the packet is cut short).
    pub options: &'a [u8],
    /// Bytes from the start of the TCP header to the end of the packet.
    pub l4_len: u32,
}

impl TcpInfo<'_> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Payload bytes (`skb->len - dataoff - doff*4`), zero if the header claims more.
    pub fn payload_len(&self) -> u32 {
        self.l4_len.saturating_sub(u32::from(self.doff) * 4)
    }
}

/// The UDP / UDP-Lite header fields conntrack checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpInfo {
    pub sport: u16,
    pub dport: u16,
    /// The length field (checksum coverage for UDP-Lite).
    pub len_field: u16,
    pub checksum: u16,
    /// Bytes from the start of the UDP header to the end of the packet.
    pub l4_len: u32,
}

/// The transport part of a packet quoted inside an ICMP error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotedL4 {
    /// TCP, UDP, UDP-Lite, SCTP: the first four bytes of the quoted header.
    Ports { sport: u16, dport: u16 },
    /// ICMP/ICMPv6 (the first eight bytes of the quoted header).
    Icmp { icmp_type: u8, code: u8, id: u16 },
    /// GRE version 1 (PPTP): its keys ([`L4::Gre`]).
    Gre { src_key: u16, dst_key: u16 },
    /// Another protocol (tracked by addresses only).
    Other,
}

/// The packet quoted in an ICMP error message (the "inner" header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub l4: QuotedL4,
}

impl Quoted {
    /// The tuple of the quoted packet, as the kernel reads it (`nf_ct_get_tuplepr`).
    pub fn tuple(&self) -> Option<Tuple> {
        if L3::of(self.src) != L3::of(self.dst) {
            return None;
        }
        match self.l4 {
            QuotedL4::Ports { sport, dport } => {
                Some(Tuple::ports(self.src, self.dst, self.proto, sport, dport))
            }
            QuotedL4::Icmp { icmp_type, code, id } => {
                Some(Tuple::icmp(self.src, self.dst, icmp_type, code, id))
            }
            QuotedL4::Gre { src_key, dst_key } => Some(Tuple::gre(self.src, self.dst, src_key, dst_key)),
            QuotedL4::Other if tuple::has_ports(self.proto) => None,
            QuotedL4::Other => Some(Tuple::bare(self.src, self.dst, self.proto)),
        }
    }
}

/// The ICMP / ICMPv6 header fields conntrack reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpInfo {
    pub icmp_type: u8,
    pub code: u8,
    /// Bytes 4..6 of the header (the echo identifier; read for every type, as the kernel does).
    pub id: u16,
    /// For error messages: the quoted packet, or `None` when it is missing, truncated below
    /// the ports, or a non-first fragment.
    pub quoted: Option<Quoted>,
}

/// The transport layer as conntrack needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp(TcpInfo<'a>),
    Udp(UdpInfo),
    UdpLite(UdpInfo),
    Icmp(IcmpInfo),
    /// SCTP (and other port protocols the pipeline parses): only the ports.
    Sctp {
        sport: u16,
        dport: u16,
    },
    /// GRE version 1 (PPTP): the call ID as the destination key, the source key from the
    /// PPTP helper's keymap (0 without one) — `gre_pkt_to_tuple`. A version 0 packet is
    /// [`L4::Other`] (both keys 0).
    Gre {
        src_key: u16,
        dst_key: u16,
    },
    /// A protocol tracked generically (by addresses only).
    Other,
    /// The transport header is missing or shorter than the tuple needs: conntrack cannot
    /// build a tuple and the packet is INVALID.
    Truncated,
}

/// One packet as seen by the conntrack hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The layer-4 protocol number (after IPv6 extension headers).
    pub proto: u8,
    pub l4: L4<'a>,
    /// Length from the network header to the end of the packet.
    pub len: u32,
    /// The conntrack zone (from a `ct zone set` in a raw chain); 0 by default.
    pub zone: u16,
    /// The packet's time.
    pub now: Time,
    /// A non-first fragment (no transport header): conntrack does not track it.
    pub fragment: bool,
    /// False when the pipeline verified the transport checksum at prerouting and found it
    /// wrong (`nf_conntrack_checksum=1`): such packets are INVALID for TCP, UDP and ICMP.
    pub checksum_ok: bool,
}

impl<'a> PacketInfo<'a> {
    /// A packet with the given addresses and transport, zone 0, good checksum.
    pub fn new(src: IpAddr, dst: IpAddr, proto: u8, l4: L4<'a>, len: u32, now: Time) -> PacketInfo<'a> {
        PacketInfo { src, dst, proto, l4, len, zone: 0, now, fragment: false, checksum_ok: true }
    }

    pub fn l3(&self) -> L3 {
        L3::of(self.src)
    }

    /// The packet's tuple (`nf_ct_get_tuple`), or `None` if one cannot be built.
    pub fn tuple(&self) -> Option<Tuple> {
        if self.fragment || L3::of(self.src) != L3::of(self.dst) {
            return None;
        }
        match self.l4 {
            L4::Tcp(t) => Some(Tuple::ports(self.src, self.dst, self.proto, t.sport, t.dport)),
            L4::Udp(u) | L4::UdpLite(u) => {
                Some(Tuple::ports(self.src, self.dst, self.proto, u.sport, u.dport))
            }
            L4::Sctp { sport, dport } => Some(Tuple::ports(self.src, self.dst, self.proto, sport, dport)),
            // ICMP in IPv6 or ICMPv6 in IPv4 is never valid for its tracker.
            L4::Icmp(i) if (self.proto == tuple::proto::ICMP) == (self.l3() == L3::Ipv4) => {
                Some(Tuple::icmp(self.src, self.dst, i.icmp_type, i.code, i.id))
            }
            L4::Icmp(_) => None,
            L4::Gre { src_key, dst_key } => Some(Tuple::gre(self.src, self.dst, src_key, dst_key)),
            L4::Other if tuple::has_ports(self.proto) => None,
            L4::Other => Some(Tuple::bare(self.src, self.dst, self.proto)),
            L4::Truncated => None,
        }
    }
}
