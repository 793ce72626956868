//! A builder for test and example packets, with correct lengths and checksums by default.
//!
//! ```
//! use nftvm_runtime::packet::PacketBuilder;
//! use nftvm_runtime::packet::tcp::flags::{ACK, SYN};
//!
//! let syn = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2])
//!     .tcp(40000, 80)
//!     .flags(SYN)
//!     .seq(1000)
//!     .mss(1460)
//!     .build();
//! let reply = PacketBuilder::ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
//!     .tcp(80, 40000)
//!     .flags(SYN | ACK)
//!     .payload(b"hi")
//!     .build();
//! let unreachable = PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 1]).icmp_error(3, 3, &syn).build();
//! # assert!(nftvm_runtime::packet::dissect_ip(&unreachable).unwrap().icmp_error.is_some());
//! # let _ = reply;
//! ```
//!
//! One builder covers the layers: pick the network layer ([`PacketBuilder::ipv4`],
//! [`PacketBuilder::ipv6`]), optionally a link layer ([`PacketBuilder::ethernet`],
//! [`PacketBuilder::vlan`]), one transport ([`PacketBuilder::tcp`], `udp`, `udplite`, `sctp`,
//! `icmp_echo_request`, `icmp_error`, `gre`, or a raw `protocol`), then set fields. Setters for
//! a transport the packet does not have are ignored. [`PacketBuilder::build`] gives one
//! packet; [`PacketBuilder::build_fragments`] splits it the way the kernel fragments.

use super::ethernet::{self, EthernetAddress};
use super::icmpv4;
use super::icmpv6;
use super::ip::protocol;
use super::ipv4::{Ipv4Packet, Ipv4Repr};
use super::ipv6::{Ipv6Packet, Ipv6Repr};
use super::sctp::{SctpChunkRepr, SctpPacket, SctpRepr};
use super::tcp::{TcpOptions, TcpPacket, TcpRepr};
use crate::checksum;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How much of the offending packet Linux quotes in an ICMP error (`icmp_send`: 576 bytes
/// minus the IP and ICMP headers).
pub const ICMP_QUOTE_LIMIT: usize = 576 - 20 - 8;
/// How much Linux quotes in an ICMPv6 error (`icmp6_send`: the IPv6 minimum MTU minus the
/// IPv6 and ICMPv6 headers).
pub const ICMPV6_QUOTE_LIMIT: usize = 1280 - 40 - 8;

#[derive(Clone, Debug)]
enum Network {
    V4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        tos: u8,
        ident: u16,
        dont_frag: bool,
        options: Vec<u8>,
    },
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        traffic_class: u8,
        flow_label: u32,
        ident: u32,
        ext: Vec<(u8, Vec<u8>)>,
    },
}

#[derive(Clone, Debug)]
enum Transport {
    Raw(u8),
    Tcp(TcpRepr),
    Udp { src_port: u16, dst_port: u16, no_checksum: bool },
    UdpLite { src_port: u16, dst_port: u16, coverage: u16 },
    Sctp(SctpRepr),
    Icmp { kind: u8, code: u8, rest: u32 },
    Gre { flags: u16, protocol: u16, key: Option<u32> },
}

#[derive(Clone, Debug)]
struct Link {
    src: EthernetAddress,
    dst: EthernetAddress,
    vlans: Vec<u16>,
}

/// Builds packets; see the module documentation.
#[derive(Clone, Debug)]
pub struct PacketBuilder {
    link: Option<Link>,
    network: Network,
    transport: Transport,
    payload: Vec<u8>,
    fragment: Option<(u16, bool, u32)>,
    corrupt_checksum: bool,
}

impl PacketBuilder {
    /// An IPv4 packet (TTL 64, no options) carrying a raw payload of protocol 255 until a
    /// transport is chosen.
    pub fn ipv4(src: impl Into<Ipv4Addr>, dst: impl Into<Ipv4Addr>) -> PacketBuilder {
        PacketBuilder::with(Network::V4 {
            src: src.into(),
            dst: dst.into(),
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: false,
            options: Vec::new(),
        })
    }

    /// An IPv6 packet (hop limit 64, no extension headers).
    pub fn ipv6(src: impl Into<Ipv6Addr>, dst: impl Into<Ipv6Addr>) -> PacketBuilder {
        PacketBuilder::with(Network::V6 {
            src: src.into(),
            dst: dst.into(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            ident: 0,
            ext: Vec::new(),
        })
    }

    /// An IPv4 or IPv6 packet; mixed families fall back to IPv6 with IPv4-mapped addresses.
    pub fn ip(src: IpAddr, dst: IpAddr) -> PacketBuilder {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => PacketBuilder::ipv4(src, dst),
            (src, dst) => PacketBuilder::ipv6(to_v6(src), to_v6(dst)),
        }
    }

    fn with(network: Network) -> PacketBuilder {
        PacketBuilder {
            link: None,
            network,
            transport: Transport::Raw(255),
            payload: Vec::new(),
            fragment: None,
            corrupt_checksum: false,
        }
    }

    // ----- link layer -----

    /// Wrap the packet in an Ethernet II header.
    pub fn ethernet(mut self, src: [u8; 6], dst: [u8; 6]) -> PacketBuilder {
        let vlans = self.link.take().map(|l| l.vlans).unwrap_or_default();
        self.link = Some(Link { src: EthernetAddress(src), dst: EthernetAddress(dst), vlans });
        self
    }

    /// Add an 802.1Q tag (VLAN id and priority in `tci`); implies Ethernet (with zero MACs
    /// unless [`PacketBuilder::ethernet`] sets them). Call again for QinQ (outermost first).
    pub fn vlan(mut self, tci: u16) -> PacketBuilder {
        let link = self.link.get_or_insert(Link {
            src: EthernetAddress::default(),
            dst: EthernetAddress::default(),
            vlans: Vec::new(),
        });
        link.vlans.push(tci);
        self
    }

    // ----- network layer -----

    /// IPv4 TTL or IPv6 hop limit.
    pub fn ttl(mut self, value: u8) -> PacketBuilder {
        match &mut self.network {
            Network::V4 { ttl, .. } => *ttl = value,
            Network::V6 { hop_limit, .. } => *hop_limit = value,
        }
        self
    }

    /// IPv4 TOS or IPv6 traffic class (DSCP · 4 + ECN).
    pub fn tos(mut self, value: u8) -> PacketBuilder {
        match &mut self.network {
            Network::V4 { tos, .. } => *tos = value,
            Network::V6 { traffic_class, .. } => *traffic_class = value,
        }
        self
    }

    /// IPv4 identification; for IPv6 the fragment identification
    /// [`PacketBuilder::build_fragments`] uses.
    pub fn ident(mut self, value: u16) -> PacketBuilder {
        match &mut self.network {
            Network::V4 { ident, .. } => *ident = value,
            Network::V6 { ident, .. } => *ident = u32::from(value),
        }
        self
    }

    /// Set IPv4's don't-fragment flag.
    pub fn dont_frag(mut self) -> PacketBuilder {
        if let Network::V4 { dont_frag, .. } = &mut self.network {
            *dont_frag = true;
        }
        self
    }

    /// IPv4 option bytes (padded with END to a multiple of 4).
    pub fn ipv4_options(mut self, bytes: &[u8]) -> PacketBuilder {
        if let Network::V4 { options, .. } = &mut self.network {
            *options = bytes.to_vec();
        }
        self
    }

    /// IPv6 flow label.
    pub fn flow_label(mut self, value: u32) -> PacketBuilder {
        if let Network::V6 { flow_label, .. } = &mut self.network {
            *flow_label = value & 0x000f_ffff;
        }
        self
    }

    /// Append an IPv6 extension header of `kind` whose bytes after next-header and length are
    /// `body` (zero-padded to the kind's unit; the length byte is computed).
    pub fn ext_header(mut self, kind: u8, body: &[u8]) -> PacketBuilder {
        if let Network::V6 { ext, .. } = &mut self.network {
            ext.push((kind, body.to_vec()));
        }
        self
    }

    /// Append a hop-by-hop options header holding `options` (TLVs), PadN-padded.
    pub fn hop_by_hop(self, options: &[u8]) -> PacketBuilder {
        self.ext_header(protocol::HOPOPTS, &pad_tlv_options(options))
    }

    /// Append a destination options header holding `options` (TLVs), PadN-padded.
    pub fn dest_options(self, options: &[u8]) -> PacketBuilder {
        self.ext_header(protocol::DSTOPTS, &pad_tlv_options(options))
    }

    /// Append a routing header (type, segments left, then `data`: e.g. addresses for type 0).
    pub fn routing(self, routing_type: u8, segments_left: u8, data: &[u8]) -> PacketBuilder {
        let mut body = vec![routing_type, segments_left, 0, 0, 0, 0];
        body.extend_from_slice(data);
        self.ext_header(protocol::ROUTING, &body)
    }

    /// Append an authentication header (SPI, sequence number, ICV).
    pub fn auth_header(self, spi: u32, sequence: u32, icv: &[u8]) -> PacketBuilder {
        let mut body = vec![0, 0];
        body.extend_from_slice(&spi.to_be_bytes());
        body.extend_from_slice(&sequence.to_be_bytes());
        body.extend_from_slice(icv);
        self.ext_header(protocol::AH, &body)
    }

    /// Make this packet one fragment: offset in bytes (a multiple of 8), more-fragments flag,
    /// identification. The transport (header and payload, as built) is the fragment's data —
    /// for a non-first fragment choose a raw [`PacketBuilder::protocol`].
    pub fn fragment(mut self, offset: u16, more: bool, ident: u32) -> PacketBuilder {
        self.fragment = Some((offset & !7, more, ident));
        self
    }

    // ----- transports -----

    /// A raw payload of IP protocol `number` (no transport header built).
    pub fn protocol(mut self, number: u8) -> PacketBuilder {
        self.transport = Transport::Raw(number);
        self
    }

    /// A TCP segment: window 65535, no flags, no options.
    pub fn tcp(mut self, src_port: u16, dst_port: u16) -> PacketBuilder {
        self.transport =
            Transport::Tcp(TcpRepr { src_port, dst_port, window_len: 65535, ..TcpRepr::default() });
        self
    }

    /// A UDP datagram with a checksum.
    pub fn udp(mut self, src_port: u16, dst_port: u16) -> PacketBuilder {
        self.transport = Transport::Udp { src_port, dst_port, no_checksum: false };
        self
    }

    /// A UDP-Lite datagram with checksum coverage `coverage` (0 = everything).
    pub fn udplite(mut self, src_port: u16, dst_port: u16, coverage: u16) -> PacketBuilder {
        self.transport = Transport::UdpLite { src_port, dst_port, coverage };
        self
    }

    /// An SCTP packet with no chunks yet (add them with [`PacketBuilder::chunk`]).
    pub fn sctp(mut self, src_port: u16, dst_port: u16, verification_tag: u32) -> PacketBuilder {
        self.transport =
            Transport::Sctp(SctpRepr { src_port, dst_port, verification_tag, chunks: Vec::new() });
        self
    }

    /// An ICMP (IPv4) or ICMPv6 echo request.
    pub fn icmp_echo_request(self, ident: u16, seq: u16) -> PacketBuilder {
        let kind = if self.is_v6() { icmpv6::msg_type::ECHO_REQUEST } else { icmpv4::msg_type::ECHO_REQUEST };
        self.icmp(kind, 0, (u32::from(ident) << 16) | u32::from(seq))
    }

    /// An ICMP (IPv4) or ICMPv6 echo reply.
    pub fn icmp_echo_reply(self, ident: u16, seq: u16) -> PacketBuilder {
        let kind = if self.is_v6() { icmpv6::msg_type::ECHO_REPLY } else { icmpv4::msg_type::ECHO_REPLY };
        self.icmp(kind, 0, (u32::from(ident) << 16) | u32::from(seq))
    }

    /// Any ICMP/ICMPv6 message: type, code, bytes 4..8 (the payload follows).
    pub fn icmp(mut self, kind: u8, code: u8, rest_of_header: u32) -> PacketBuilder {
        self.transport = Transport::Icmp { kind, code, rest: rest_of_header };
        self
    }

    /// An ICMP/ICMPv6 error of `kind`/`code` quoting `original` (an IP packet — first nibble
    /// 4 or 6 — or else an Ethernet frame, whose IP packet is quoted) as Linux does: as much as fits in 576 bytes
    /// (IPv4) or 1280 bytes (IPv6). Use [`PacketBuilder::rest_of_header`] for an MTU or
    /// pointer, and [`PacketBuilder::quote_limit`] to quote less.
    pub fn icmp_error(self, kind: u8, code: u8, original: &[u8]) -> PacketBuilder {
        let limit = if self.is_v6() { ICMPV6_QUOTE_LIMIT } else { ICMP_QUOTE_LIMIT };
        let ip = strip_link(original);
        let quoted = ip.get(..ip.len().min(limit)).unwrap_or(ip).to_vec();
        self.icmp(kind, code, 0).payload(&quoted)
    }

    /// ICMP bytes 4..8 (next-hop MTU, pointer, gateway, echo id+sequence).
    pub fn rest_of_header(mut self, value: u32) -> PacketBuilder {
        if let Transport::Icmp { rest, .. } = &mut self.transport {
            *rest = value;
        }
        self
    }

    /// Quote at most `limit` bytes of the original packet (e.g. 28: IP header + 8 bytes).
    pub fn quote_limit(mut self, limit: usize) -> PacketBuilder {
        self.payload.truncate(limit);
        self
    }

    /// A GRE header (version 0) for payload protocol `protocol` (an ethertype).
    pub fn gre(mut self, protocol: u16) -> PacketBuilder {
        self.transport = Transport::Gre { flags: 0, protocol, key: None };
        self
    }

    /// A PPTP (GRE version 1) header with `call_id`.
    pub fn gre_pptp(mut self, call_id: u16) -> PacketBuilder {
        self.transport =
            Transport::Gre { flags: 0x2001, protocol: super::gre::PROTO_PPP, key: Some(u32::from(call_id)) };
        self
    }

    // ----- transport fields -----

    /// TCP flags (see `tcp::flags`).
    pub fn flags(self, value: u8) -> PacketBuilder {
        self.edit_tcp(|tcp| tcp.flags = value)
    }

    /// TCP sequence number.
    pub fn seq(self, value: u32) -> PacketBuilder {
        self.edit_tcp(|tcp| tcp.seq_number = value)
    }

    /// TCP acknowledgement number (set the ACK flag yourself).
    pub fn ack(self, value: u32) -> PacketBuilder {
        self.edit_tcp(|tcp| tcp.ack_number = value)
    }

    /// TCP window.
    pub fn window(self, value: u16) -> PacketBuilder {
        self.edit_tcp(|tcp| tcp.window_len = value)
    }

    /// TCP urgent pointer.
    pub fn urgent(self, value: u16) -> PacketBuilder {
        self.edit_tcp(|tcp| tcp.urgent_at = value)
    }

    /// TCP MSS option.
    pub fn mss(self, value: u16) -> PacketBuilder {
        self.tcp_options(|o| o.mss = Some(value))
    }

    /// TCP window scale option.
    pub fn window_scale(self, shift: u8) -> PacketBuilder {
        self.tcp_options(|o| o.window_scale = Some(shift))
    }

    /// TCP SACK-permitted option.
    pub fn sack_permitted(self) -> PacketBuilder {
        self.tcp_options(|o| o.sack_permitted = true)
    }

    /// TCP timestamps option.
    pub fn timestamps(self, value: u32, echo: u32) -> PacketBuilder {
        self.tcp_options(|o| o.timestamps = Some((value, echo)))
    }

    /// TCP SACK blocks.
    pub fn sack(self, blocks: &[(u32, u32)]) -> PacketBuilder {
        self.tcp_options(|o| o.sack = blocks.to_vec())
    }

    /// Edit the TCP header (nothing for other transports).
    fn edit_tcp(mut self, edit: impl FnOnce(&mut TcpRepr)) -> PacketBuilder {
        if let Transport::Tcp(tcp) = &mut self.transport {
            edit(tcp);
        }
        self
    }

    fn tcp_options(self, edit: impl FnOnce(&mut TcpOptions)) -> PacketBuilder {
        self.edit_tcp(|tcp| edit(&mut tcp.options))
    }

    /// Send UDP without a checksum (field 0; only meaningful for IPv4).
    pub fn no_checksum(mut self) -> PacketBuilder {
        if let Transport::Udp { no_checksum, .. } = &mut self.transport {
            *no_checksum = true;
        }
        self
    }

    /// Add an SCTP chunk.
    pub fn chunk(mut self, kind: u8, flags: u8, value: &[u8]) -> PacketBuilder {
        if let Transport::Sctp(sctp) = &mut self.transport {
            sctp.chunks.push(SctpChunkRepr { kind, flags, value: value.to_vec() });
        }
        self
    }

    /// Payload bytes after the transport header.
    pub fn payload(mut self, bytes: &[u8]) -> PacketBuilder {
        self.payload = bytes.to_vec();
        self
    }

    /// Flip the transport checksum (or the IPv4 header checksum for a raw protocol) so that it
    /// is wrong.
    pub fn corrupt_checksum(mut self) -> PacketBuilder {
        self.corrupt_checksum = true;
        self
    }

    // ----- building -----

    fn is_v6(&self) -> bool {
        matches!(self.network, Network::V6 { .. })
    }

    fn protocol_number(&self) -> u8 {
        match &self.transport {
            Transport::Raw(number) => *number,
            Transport::Tcp(_) => protocol::TCP,
            Transport::Udp { .. } => protocol::UDP,
            Transport::UdpLite { .. } => protocol::UDPLITE,
            Transport::Sctp(_) => protocol::SCTP,
            Transport::Icmp { .. } => {
                if self.is_v6() {
                    protocol::ICMPV6
                } else {
                    protocol::ICMP
                }
            }
            Transport::Gre { .. } => protocol::GRE,
        }
    }

    /// The pseudo-header partial sum for a transport of `length` bytes.
    fn pseudo(&self, proto: u8, length: usize) -> u32 {
        let length = u32::try_from(length).unwrap_or(u32::MAX);
        match &self.network {
            Network::V4 { src, dst, .. } => checksum::pseudo_header_v4(*src, *dst, proto, length),
            Network::V6 { src, dst, .. } => checksum::pseudo_header_v6(*src, *dst, proto, length),
        }
    }

    /// The transport header and payload, checksummed.
    fn transport_bytes(&self) -> Vec<u8> {
        let proto = self.protocol_number();
        let mut bytes = match &self.transport {
            Transport::Raw(_) => return self.payload.clone(),
            Transport::Tcp(repr) => {
                let repr = TcpRepr { payload_len: self.payload.len(), ..repr.clone() };
                let mut bytes = vec![0u8; repr.buffer_len()];
                let header_len = repr.header_len();
                repr.emit(&mut TcpPacket::new_unchecked(&mut bytes[..]));
                bytes[header_len..].copy_from_slice(&self.payload);
                let sum = checksum::finish(checksum::sum(&bytes, self.pseudo(proto, bytes.len())));
                bytes[16..18].copy_from_slice(&sum.to_be_bytes());
                bytes
            }
            Transport::Udp { src_port, dst_port, no_checksum } => {
                let mut bytes = header_then(&[0u8; 8], &self.payload);
                let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
                put(&mut bytes, 0, &src_port.to_be_bytes());
                put(&mut bytes, 2, &dst_port.to_be_bytes());
                put(&mut bytes, 4, &len.to_be_bytes());
                if !no_checksum {
                    let sum = checksum::finish(checksum::sum(&bytes, self.pseudo(proto, bytes.len())));
                    put(&mut bytes, 6, &checksum::udp_transmitted(sum).to_be_bytes());
                }
                bytes
            }
            Transport::UdpLite { src_port, dst_port, coverage } => {
                let mut bytes = header_then(&[0u8; 8], &self.payload);
                put(&mut bytes, 0, &src_port.to_be_bytes());
                put(&mut bytes, 2, &dst_port.to_be_bytes());
                put(&mut bytes, 4, &coverage.to_be_bytes());
                let covered = match usize::from(*coverage) {
                    0 => bytes.len(),
                    n => n.min(bytes.len()),
                };
                let sum = checksum::finish(checksum::sum(&bytes[..covered], self.pseudo(proto, bytes.len())));
                put(&mut bytes, 6, &checksum::udp_transmitted(sum).to_be_bytes());
                bytes
            }
            Transport::Sctp(repr) => {
                let mut bytes = vec![0u8; repr.buffer_len()];
                repr.emit(&mut SctpPacket::new_unchecked(&mut bytes[..]));
                bytes.extend_from_slice(&self.payload);
                if !self.payload.is_empty() {
                    SctpPacket::new_unchecked(&mut bytes[..]).fill_checksum();
                }
                bytes
            }
            Transport::Icmp { kind, code, rest } => {
                let mut bytes = header_then(&[*kind, *code, 0, 0], &[]);
                bytes.extend_from_slice(&rest.to_be_bytes());
                bytes.extend_from_slice(&self.payload);
                let initial = if self.is_v6() { self.pseudo(proto, bytes.len()) } else { 0 };
                let sum = checksum::finish(checksum::sum(&bytes, initial));
                put(&mut bytes, 2, &sum.to_be_bytes());
                bytes
            }
            Transport::Gre { flags, protocol, key } => {
                let mut bytes = Vec::new();
                bytes.extend_from_slice(&(flags | if key.is_some() { 0x2000 } else { 0 }).to_be_bytes());
                bytes.extend_from_slice(&protocol.to_be_bytes());
                if let Some(key) = key {
                    let key = if flags & 7 == 1 {
                        // PPTP: payload length, then call id.
                        (u32::try_from(self.payload.len()).unwrap_or(0) << 16) | (key & 0xffff)
                    } else {
                        *key
                    };
                    bytes.extend_from_slice(&key.to_be_bytes());
                }
                bytes.extend_from_slice(&self.payload);
                bytes
            }
        };
        if self.corrupt_checksum {
            let at = match &self.transport {
                Transport::Tcp(_) => Some(16),
                Transport::Udp { .. } | Transport::UdpLite { .. } => Some(6),
                Transport::Icmp { .. } => Some(2),
                Transport::Sctp(_) => Some(8),
                _ => None,
            };
            if let Some(byte) = at.and_then(|at| bytes.get_mut(at)) {
                *byte ^= 0x5a;
            }
        }
        bytes
    }

    /// The IPv6 extension headers as bytes, chained, the last one's next header `last_next`;
    /// returns the first header's type.
    fn ext_bytes(ext: &[(u8, Vec<u8>)], last_next: u8) -> (u8, Vec<u8>) {
        let mut out = Vec::new();
        for (index, (kind, body)) in ext.iter().enumerate() {
            let next = ext.get(index + 1).map_or(last_next, |(k, _)| *k);
            out.extend_from_slice(&ext_header_bytes(*kind, next, body));
        }
        (ext.first().map_or(last_next, |(k, _)| *k), out)
    }

    /// The IP packet: network header(s) around `data` (transport bytes or a fragment of them).
    fn network_bytes(&self, data: &[u8], fragment: Option<(u16, bool, u32)>) -> Vec<u8> {
        let proto = self.protocol_number();
        match &self.network {
            Network::V4 { src, dst, ttl, tos, ident, dont_frag, options } => {
                let mut repr = Ipv4Repr::new(*src, *dst, proto, data.len());
                repr.ttl = *ttl;
                repr.tos = *tos;
                repr.ident = *ident;
                repr.dont_frag = *dont_frag;
                repr.options = options.clone();
                if let Some((offset, more, frag_ident)) = fragment {
                    repr.frag_offset = offset;
                    repr.more_frags = more;
                    repr.ident = frag_ident as u16;
                }
                let mut bytes = vec![0u8; repr.buffer_len()];
                let header_len = repr.header_len();
                repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]));
                bytes[header_len..].copy_from_slice(data);
                if self.corrupt_checksum && matches!(self.transport, Transport::Raw(_)) {
                    bytes[10] ^= 0x5a;
                }
                bytes
            }
            Network::V6 { ext, .. } => {
                if let Some((offset, _, _)) = fragment {
                    // A single fragment: the fragmentable headers travel in the first one.
                    let (_, after) = ext.split_at(unfragmentable_len(ext));
                    let mut chunk = if offset == 0 { Self::ext_bytes(after, proto).1 } else { Vec::new() };
                    chunk.extend_from_slice(data);
                    return self.v6_fragment(&chunk, fragment);
                }
                let (first_next, headers) = Self::ext_bytes(ext, proto);
                self.v6_packet(first_next, &headers, data)
            }
        }
    }

    fn link_wrap(&self, ip: Vec<u8>) -> Vec<u8> {
        let Some(link) = &self.link else { return ip };
        let mut frame = Vec::with_capacity(ethernet::HEADER_LEN + 4 * link.vlans.len() + ip.len());
        frame.extend_from_slice(&link.dst.0);
        frame.extend_from_slice(&link.src.0);
        for tci in &link.vlans {
            frame.extend_from_slice(&ethernet::ethertype::VLAN.to_be_bytes());
            frame.extend_from_slice(&tci.to_be_bytes());
        }
        let ethertype = if self.is_v6() { ethernet::ethertype::IPV6 } else { ethernet::ethertype::IPV4 };
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame
    }

    /// The packet (an Ethernet frame if a link layer was chosen, else an IP packet).
    pub fn build(&self) -> Vec<u8> {
        let transport = self.transport_bytes();
        self.link_wrap(self.network_bytes(&transport, self.fragment))
    }

    /// The packet split into fragments carrying at most `max_data` bytes of the fragmentable
    /// part each (rounded down to a multiple of 8, at least 8), in order, as Linux's
    /// `ip_fragment`/`ip6_fragment` slice it. The transport checksum covers the whole
    /// datagram. Fragments take their identification from [`PacketBuilder::ident`]. A packet
    /// whose fragmentable part fits in one piece is not fragmented (one packet, as `build`).
    pub fn build_fragments(&self, max_data: usize) -> Vec<Vec<u8>> {
        let transport = self.transport_bytes();
        let step = (max_data / 8).max(1) * 8;
        let ident = match &self.network {
            Network::V4 { ident, .. } => u32::from(*ident),
            Network::V6 { ident, .. } => *ident,
        };
        let data = match &self.network {
            Network::V4 { .. } => transport,
            Network::V6 { ext, .. } => {
                // The fragmentable extension headers travel inside the fragments.
                let split = unfragmentable_len(ext);
                let (_, after) = ext.split_at(split);
                let (_, mut bytes) = Self::ext_bytes(after, self.protocol_number());
                bytes.extend_from_slice(&transport);
                bytes
            }
        };
        if data.len() <= max_data {
            return vec![self.build()];
        }
        let mut out = Vec::new();
        let mut offset = 0usize;
        while offset < data.len() || offset == 0 {
            let end = (offset + step).min(data.len());
            let more = end < data.len();
            let chunk = &data[offset..end];
            let frag = Some((u16::try_from(offset).unwrap_or(0xfff8), more, ident));
            let packet = match &self.network {
                Network::V4 { .. } => self.network_bytes(chunk, frag),
                Network::V6 { .. } => self.v6_fragment(chunk, frag),
            };
            out.push(self.link_wrap(packet));
            offset = end;
            if !more {
                break;
            }
        }
        out
    }

    /// An IPv6 fragment whose data is `chunk` of the fragmentable part.
    fn v6_fragment(&self, chunk: &[u8], fragment: Option<(u16, bool, u32)>) -> Vec<u8> {
        let Network::V6 { ext, .. } = &self.network else { return Vec::new() };
        let split = unfragmentable_len(ext);
        let (before, after) = ext.split_at(split);
        let first_after = after.first().map_or(self.protocol_number(), |(k, _)| *k);
        let (offset, more, ident) = fragment.unwrap_or((0, false, 0));
        // Build the unfragmentable part + fragment header around the raw chunk.
        let (first, before_bytes) = Self::ext_bytes(before, protocol::FRAGMENT);
        let mut headers = before_bytes;
        headers.push(first_after);
        headers.push(0);
        headers.extend_from_slice(&(offset | u16::from(more)).to_be_bytes());
        headers.extend_from_slice(&ident.to_be_bytes());
        self.v6_packet(first, &headers, chunk)
    }

    /// An IPv6 packet with this builder's addresses and header fields: next header
    /// `first_next`, the extension header bytes `headers`, then `data` (empty when the
    /// network is not IPv6).
    fn v6_packet(&self, first_next: u8, headers: &[u8], data: &[u8]) -> Vec<u8> {
        let Network::V6 { src, dst, hop_limit, traffic_class, flow_label, .. } = &self.network else {
            return Vec::new();
        };
        let mut repr = Ipv6Repr::new(*src, *dst, first_next, headers.len() + data.len());
        repr.hop_limit = *hop_limit;
        repr.traffic_class = *traffic_class;
        repr.flow_label = *flow_label;
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut bytes[..]));
        bytes[40..40 + headers.len()].copy_from_slice(headers);
        bytes[40 + headers.len()..].copy_from_slice(data);
        bytes
    }
}

/// How many leading extension headers stay in front of a fragment header
/// (`ip6_find_1stfragopt`: hop-by-hop, routing, and destination options unless they follow a
/// routing header).
fn unfragmentable_len(ext: &[(u8, Vec<u8>)]) -> usize {
    let mut seen_routing = false;
    for (index, (kind, _)) in ext.iter().enumerate() {
        match *kind {
            protocol::HOPOPTS => {}
            protocol::ROUTING => seen_routing = true,
            protocol::DSTOPTS if !seen_routing => {}
            _ => return index,
        }
    }
    ext.len()
}

/// One extension header's bytes: next header, length byte, body padded to the kind's unit.
fn ext_header_bytes(kind: u8, next: u8, body: &[u8]) -> Vec<u8> {
    let len = match kind {
        protocol::FRAGMENT => 8,
        protocol::AH => (2 + body.len()).div_ceil(8).max(2) * 8,
        _ => (2 + body.len()).div_ceil(8) * 8,
    };
    let len_byte = match kind {
        protocol::FRAGMENT => 0,
        protocol::AH => (len / 4 - 2) as u8,
        _ => (len / 8 - 1) as u8,
    };
    let mut out = vec![0u8; len];
    out[0] = next;
    out[1] = len_byte;
    let n = body.len().min(len - 2);
    out[2..2 + n].copy_from_slice(&body[..n]);
    out
}

/// Pad TLV options so that, after the 2-byte header, they fill a multiple of 8 bytes (Pad1
/// for one byte, PadN otherwise).
fn pad_tlv_options(options: &[u8]) -> Vec<u8> {
    let mut body = options.to_vec();
    let pad = (8 - (2 + body.len()) % 8) % 8;
    match pad {
        0 => {}
        1 => body.push(0),
        n => {
            body.push(1);
            body.push((n - 2) as u8);
            body.extend(std::iter::repeat_n(0, n - 2));
        }
    }
    body
}

fn header_then(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(slot) = bytes.get_mut(at..at + value.len()) {
        slot.copy_from_slice(value);
    }
}

fn to_v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The IP packet inside `frame`: itself when it starts with an IP version nibble, else what
/// follows an Ethernet header (and VLAN tags).
fn strip_link(frame: &[u8]) -> &[u8] {
    if super::ip::IpVersion::of_packet(frame).is_some() {
        return frame;
    }
    match super::parse::dissect_with(
        frame,
        super::link::LinkType::Ethernet,
        &super::parse::DissectOptions { verify_ipv4_checksum: false },
    ) {
        Ok(info) => frame.get(info.nhoff..).unwrap_or(frame),
        Err(_) => frame,
    }
}
