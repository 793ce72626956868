//! The dissector: from a captured frame to the offsets and facts netfilter works with,
//! computed exactly as the kernel computes them.
//!
//! * Link layer: Ethernet (with 802.1Q/802.1ad tags), raw IP, Linux cooked captures, BSD
//!   loopback. Non-IP frames (ARP, ...) yield [`ErrorKind::NotIp`].
//! * Network layer: validated as `ip_rcv_core`/`ipv6_rcv` validate before the prerouting hook
//!   (a frame they would drop is an error), then trimmed to the IP length (link padding is
//!   not part of the packet, as `pskb_trim_rcsum` makes it).
//! * nf_tables' packet info (`nft_set_pktinfo_ipv4`/`_ipv6`): [`PacketInfo::l4proto`],
//!   [`PacketInfo::thoff`], [`PacketInfo::fragoff`]. For IPv6 these come from
//!   `ipv6_find_hdr` with `IP6_FH_F_AUTH`, so an AH header is reported as the L4 protocol.
//! * Connection tracking's view (`get_l4proto` + `nf_ct_get_tuple`): [`PacketInfo::ct`], which
//!   skips AH in IPv6 and gives up on non-first fragments, and for ICMP/ICMPv6 errors the
//!   quoted packet's tuple ([`PacketInfo::icmp_error`]), for RELATED.
//!
//! Offsets are absolute: counted from the start of the frame given to [`dissect`].
//! Malformed transport headers do not make the dissection fail (the kernel does not drop
//! them before netfilter either): they leave [`PacketInfo::transport`] empty and are described
//! by [`PacketInfo::transport_error`].

use super::error::{ErrorKind, ParseError, Result};
use super::ethernet::{self, EthernetAddress, EthernetFrame};
use super::field::{get_array, get_range, get_u8, get_u16, get_u32};
use super::gre::{self, GrePacket};
use super::icmpv4::{self, Icmpv4Packet};
use super::icmpv6::{self, Icmpv6Packet};
use super::ip::{IpVersion, protocol};
use super::ipv4::Ipv4Packet;
use super::ipv6::{self, Ipv6Packet};
use super::ipv6_chain::{self, ExtHeaderChain, FindFlags};
use super::link::LinkType;
use super::sctp::SctpPacket;
use super::tcp::TcpPacket;
use super::tuple::{Tuple, TupleL4};
use super::udp::UdpPacket;
use super::udplite::UdpLitePacket;
use super::vlan::{self, VlanRepr, VlanTag};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How strict the dissector is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DissectOptions {
    /// Reject IPv4 packets whose header checksum is wrong, as `ip_rcv_core` drops them before
    /// prerouting. Turn off for locally generated packets (output path). Default: on.
    pub verify_ipv4_checksum: bool,
}

impl Default for DissectOptions {
    fn default() -> DissectOptions {
        DissectOptions { verify_ipv4_checksum: true }
    }
}

/// The most VLAN tags recorded (more are walked but not kept).
pub const MAX_VLAN_TAGS: usize = 2;

/// What the link layer said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The capture's link type.
    pub link_type: LinkType,
    /// Length of the link-layer header (Ethernet + tags, SLL header, ...): the network header
    /// starts here.
    pub header_len: usize,
    /// True when there is a real MAC header (Ethernet) for nf_tables' `ll` payload base to
    /// read; cooked and loopback captures have none.
    pub mac_header: bool,
    /// Ethernet source address (or the SLL link-layer address when it is 6 bytes).
    pub src_mac: Option<EthernetAddress>,
    /// Ethernet destination address.
    pub dst_mac: Option<EthernetAddress>,
    /// VLAN tags, outermost first.
    pub vlans: [Option<VlanRepr>; MAX_VLAN_TAGS],
    /// The Linux packet type (`PACKET_HOST` 0, `BROADCAST` 1, `MULTICAST` 2, `OTHERHOST` 3,
    /// `OUTGOING` 4) when the capture records it (SLL/SLL2).
    pub pkttype: Option<u8>,
}

/// The fragment facts of a packet that is a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Fragment offset in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub ident: u32,
    /// Offset of the IPv6 fragment header (None for IPv4).
    pub header_offset: Option<usize>,
}

/// The transport header's main fields, when it is present and readable (first fragments and
/// unfragmented packets only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Flag byte.
        flags: u8,
        /// Window.
        window: u16,
        /// Header length.
        header_len: usize,
    },
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Length field.
        length: u16,
        /// Checksum field (0: none).
        checksum: u16,
    },
    /// UDP-Lite.
    UdpLite {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Checksum coverage field.
        coverage: u16,
    },
    /// SCTP.
    Sctp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Verification tag.
        vtag: u32,
    },
    /// ICMP.
    Icmp {
        /// Message type.
        kind: u8,
        /// Code.
        code: u8,
        /// Identifier (bytes 4..6).
        ident: u16,
        /// Sequence (bytes 6..8).
        seq: u16,
    },
    /// ICMPv6.
    Icmpv6 {
        /// Message type.
        kind: u8,
        /// Code.
        code: u8,
        /// Identifier (bytes 4..6).
        ident: u16,
        /// Sequence (bytes 6..8).
        seq: u16,
    },
    /// GRE.
    Gre {
        /// Version.
        version: u8,
        /// Payload protocol.
        protocol: u16,
        /// Key, if present.
        key: Option<u32>,
    },
    /// Another protocol (ESP, AH, OSPF, ...): only `thoff` is known.
    Other,
}

impl Transport {
    /// Source and destination ports, for protocols that have them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            Transport::Tcp { src_port, dst_port, .. }
            | Transport::Udp { src_port, dst_port, .. }
            | Transport::UdpLite { src_port, dst_port, .. }
            | Transport::Sctp { src_port, dst_port, .. } => Some((src_port, dst_port)),
            _ => None,
        }
    }
}

/// Connection tracking's view of a (possibly quoted) packet: `get_l4proto` succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtView {
    /// Protocol conntrack tracks (IPv6 extension headers, AH included, skipped).
    pub protonum: u8,
    /// Offset of that protocol's header (`dataoff`).
    pub dataoff: usize,
    /// The tuple, or None when `nf_ct_get_tuple` fails (layer-4 header too short, GREv1
    /// that is not PPTP).
    pub tuple: Option<Tuple>,
}

/// An ICMP or ICMPv6 error and the packet it quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpErrorInfo {
    /// Message type.
    pub kind: u8,
    /// Code.
    pub code: u8,
    /// Offset of the quoted IP header (ICMP header + 8).
    pub inner_nhoff: usize,
    /// Conntrack's view of the quoted packet, or None when `nf_ct_get_tuplepr` would fail
    /// early (quoted header missing, or a non-first fragment): the error is then not RELATED.
    pub inner: Option<CtView>,
}

/// Everything the runtime and the VM need to know about a frame's structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Link-layer facts (None for raw IP).
    pub link: Option<LinkInfo>,
    /// IPv4 or IPv6.
    pub ip_version: IpVersion,
    /// Offset of the network header (the link header's length).
    pub nhoff: usize,
    /// End of the IP packet (network header + IP length); bytes after it are link padding.
    pub network_end: usize,
    /// Source address.
    pub src_addr: IpAddr,
    /// Destination address.
    pub dst_addr: IpAddr,
    /// nf_tables' `pkt->tprot` (`meta l4proto`); None when the kernel leaves
    /// `NFT_PKTINFO_L4PROTO` unset (an IPv6 chain `ipv6_find_hdr` cannot walk).
    pub l4proto: Option<u8>,
    /// nf_tables' transport header offset (absolute). Set for fragments too; for IPv6
    /// non-first fragments the kernel leaves it 0, i.e. here it equals `nhoff`.
    pub thoff: usize,
    /// nf_tables' `pkt->fragoff`: for IPv4 the 13-bit offset field (8-byte units), for IPv6
    /// the offset in bytes. Non-zero means "no transport header".
    pub fragoff: u16,
    /// Fragment facts when the packet is a fragment (first ones included).
    pub fragment: Option<FragmentInfo>,
    /// IPv6 extension headers in order (empty for IPv4).
    pub ext_headers: ExtHeaderChain,
    /// The transport header's fields, when `fragoff == 0`, `l4proto` is known and the header
    /// is readable.
    pub transport: Option<Transport>,
    /// Why the transport header is missing or inconsistent, if it is.
    pub transport_error: Option<ParseError>,
    /// Connection tracking's view (None: conntrack cannot track it and calls it INVALID).
    pub ct: Option<CtView>,
    /// For ICMP/ICMPv6 error messages: the quoted packet.
    pub icmp_error: Option<IcmpErrorInfo>,
}

impl PacketInfo {
    /// The transport header offset nf_tables' `th`-based payload loads use: Some only when the
    /// L4 protocol is known and the packet is not a non-first fragment.
    pub fn transport_offset(&self) -> Option<usize> {
        (self.l4proto.is_some() && self.fragoff == 0).then_some(self.thoff)
    }

    /// The offset of nf_tables' link-layer payload base (`ll`): the start of the frame when
    /// it has a real MAC header, else None (the kernel fails loads when the MAC header length
    /// is 0, as on TUN devices).
    pub fn link_offset(&self) -> Option<usize> {
        self.link.filter(|link| link.mac_header).map(|_| 0)
    }

    /// Where a payload expression with `base` starts loading, as `nft_payload_eval` decides
    /// (None: the load fails and the rule does not match). Inner/tunnel bases are not
    /// supported.
    pub fn payload_base(&self, base: nftvm_vm::keys::PayloadBase) -> Option<usize> {
        use nftvm_vm::keys::PayloadBase;
        match base {
            PayloadBase::Link => self.link_offset(),
            PayloadBase::Network => Some(self.nhoff),
            PayloadBase::Transport => self.transport_offset(),
            PayloadBase::Inner | PayloadBase::Tunnel => None,
        }
    }

    /// The IP packet's length (`meta len` at the inet hooks, where `skb->len` starts at the
    /// network header).
    pub fn network_len(&self) -> usize {
        self.network_end - self.nhoff
    }

    /// The link-layer protocol (`meta protocol`): 0x0800 or 0x86dd.
    pub fn ethertype(&self) -> u16 {
        self.ip_version.ethertype()
    }

    /// The conntrack tuple, when conntrack can build one.
    pub fn tuple(&self) -> Option<Tuple> {
        self.ct.and_then(|ct| ct.tuple)
    }
}

/// Dissect a frame of the given link type with default options.
pub fn dissect(frame: &[u8], link_type: LinkType) -> Result<PacketInfo> {
    dissect_with(frame, link_type, &DissectOptions::default())
}

/// Dissect a raw IP packet (IPv4 or IPv6 by its version nibble).
pub fn dissect_ip(packet: &[u8]) -> Result<PacketInfo> {
    dissect(packet, LinkType::Raw)
}

/// Dissect a frame of the given link type.
pub fn dissect_with(frame: &[u8], link_type: LinkType, options: &DissectOptions) -> Result<PacketInfo> {
    let (link, nhoff, version) = parse_link(frame, link_type)?;
    match version {
        IpVersion::V4 => dissect_ipv4(frame, link, nhoff, options),
        IpVersion::V6 => dissect_ipv6(frame, link, nhoff),
    }
}

/// What the netdev ingress hook knows of a frame whose IP header does not validate
/// (`dissect_with` failed past the link layer): the network header's place and the
/// addresses where the fixed header holds them, no transport header and no `meta l4proto`
/// (the kernel's `nft_set_pktinfo_unspec`). The IP layer drops such a packet after the
/// ingress hook ([`crate::pipeline::Skb::arrived`]); only the link layer failing is an error.
pub fn dissect_network_only(frame: &[u8], link_type: LinkType) -> Result<PacketInfo> {
    let (link, nhoff, ip_version) = parse_link(frame, link_type)?;
    let ip = get_range(frame, nhoff, usize::MAX);
    // (Zeros where the frame is too short for the fixed header.)
    let (src_addr, dst_addr) = match ip_version {
        IpVersion::V4 => (IpAddr::from(get_array::<4>(ip, 12)), IpAddr::from(get_array::<4>(ip, 16))),
        IpVersion::V6 => (IpAddr::from(get_array::<16>(ip, 8)), IpAddr::from(get_array::<16>(ip, 24))),
    };
    Ok(PacketInfo {
        link,
        ip_version,
        nhoff,
        network_end: frame.len(),
        src_addr,
        dst_addr,
        l4proto: None,
        thoff: nhoff,
        fragoff: 0,
        fragment: None,
        ext_headers: ExtHeaderChain::default(),
        transport: None,
        transport_error: None,
        ct: None,
        icmp_error: None,
    })
}

fn version_for_ethertype(ethertype: u16, offset: usize) -> Result<IpVersion> {
    match ethertype {
        ethernet::ethertype::IPV4 => Ok(IpVersion::V4),
        ethernet::ethertype::IPV6 => Ok(IpVersion::V6),
        _ => Err(ParseError::new(offset, ErrorKind::NotIp { ethertype })),
    }
}

fn link_info(link_type: LinkType, header_len: usize) -> LinkInfo {
    LinkInfo {
        link_type,
        header_len,
        mac_header: false,
        src_mac: None,
        dst_mac: None,
        vlans: [None; MAX_VLAN_TAGS],
        pkttype: None,
    }
}

fn parse_link(frame: &[u8], link_type: LinkType) -> Result<(Option<LinkInfo>, usize, IpVersion)> {
    match link_type {
        LinkType::Ethernet => parse_ethernet(frame),
        LinkType::Raw => match IpVersion::of_packet(frame) {
            Some(version) => Ok((None, 0, version)),
            None if frame.is_empty() => Err(ParseError::truncated(0, "IP header", 1, 0)),
            None => {
                Err(ParseError::new(0, ErrorKind::BadVersion { header: "IP", found: get_u8(frame, 0) >> 4 }))
            }
        },
        LinkType::Ipv4 => Ok((None, 0, IpVersion::V4)),
        LinkType::Ipv6 => Ok((None, 0, IpVersion::V6)),
        LinkType::LinuxSll => {
            if frame.len() < 16 {
                return Err(ParseError::truncated(0, "Linux cooked header", 16, frame.len()));
            }
            let mut info = link_info(link_type, 16);
            info.pkttype = u8::try_from(get_u16(frame, 0)).ok();
            if get_u16(frame, 4) == 6 {
                info.src_mac = Some(EthernetAddress(get_array(frame, 6)));
            }
            let version = version_for_ethertype(get_u16(frame, 14), 14)?;
            Ok((Some(info), 16, version))
        }
        LinkType::LinuxSll2 => {
            if frame.len() < 20 {
                return Err(ParseError::truncated(0, "Linux cooked v2 header", 20, frame.len()));
            }
            let mut info = link_info(link_type, 20);
            info.pkttype = Some(get_u8(frame, 10));
            if get_u8(frame, 11) == 6 {
                info.src_mac = Some(EthernetAddress(get_array(frame, 12)));
            }
            let version = version_for_ethertype(get_u16(frame, 0), 0)?;
            Ok((Some(info), 20, version))
        }
        LinkType::Null => {
            if frame.len() < 4 {
                return Err(ParseError::truncated(0, "loopback header", 4, frame.len()));
            }
            // The family is in the capturing host's byte order: accept either.
            let family = match get_u32(frame, 0) {
                big if big < 0x100 => big,
                little => little.swap_bytes(),
            };
            let version = match family {
                2 => IpVersion::V4,
                10 | 24 | 28 | 30 => IpVersion::V6,
                other => {
                    return Err(ParseError::new(
                        0,
                        ErrorKind::BadField { header: "loopback", field: "family", value: other.into() },
                    ));
                }
            };
            Ok((Some(link_info(link_type, 4)), 4, version))
        }
        LinkType::Other(number) => {
            Err(ParseError::new(0, ErrorKind::UnsupportedLinkType { link_type: number }))
        }
    }
}

fn parse_ethernet(frame: &[u8]) -> Result<(Option<LinkInfo>, usize, IpVersion)> {
    let eth = EthernetFrame::new_checked(frame)?;
    let mut info = link_info(LinkType::Ethernet, ethernet::HEADER_LEN);
    info.mac_header = true;
    info.src_mac = Some(eth.src_addr());
    info.dst_mac = Some(eth.dst_addr());
    let mut ethertype = eth.ethertype();
    let mut at = ethernet::HEADER_LEN;
    let mut tags = 0;
    while ethernet::ethertype::is_vlan(ethertype) {
        let tag = VlanTag::new_checked(get_range(frame, at, usize::MAX)).map_err(|e| e.shifted(at))?;
        if let Some(slot) = info.vlans.get_mut(tags) {
            *slot = Some(VlanRepr::parse(ethertype, &tag));
        }
        tags += 1;
        ethertype = tag.ethertype();
        at += vlan::TAG_LEN;
    }
    info.header_len = at;
    let version = version_for_ethertype(ethertype, at - 2)?;
    Ok((Some(info), at, version))
}

fn dissect_ipv4(
    frame: &[u8],
    link: Option<LinkInfo>,
    nhoff: usize,
    options: &DissectOptions,
) -> Result<PacketInfo> {
    let ip = Ipv4Packet::new_checked(get_range(frame, nhoff, usize::MAX)).map_err(|e| e.shifted(nhoff))?;
    if options.verify_ipv4_checksum && !ip.verify_checksum() {
        return Err(ParseError::new(nhoff + 10, ErrorKind::BadChecksum { header: "IPv4 header" }));
    }
    let network_end = nhoff + usize::from(ip.total_len());
    let packet = get_range(frame, 0, network_end);
    let thoff = nhoff + ip.header_len();
    let protocol = ip.protocol();
    let fragoff = ip.frag_offset_units();
    let fragment = ip.is_fragment().then(|| FragmentInfo {
        offset: ip.frag_offset(),
        more: ip.more_frags(),
        ident: u32::from(ip.ident()),
        header_offset: None,
    });
    let (transport, transport_error) =
        if fragoff == 0 { parse_transport(packet, thoff, protocol) } else { (None, None) };
    let ct = if fragoff == 0 { Some(ct_view(packet, nhoff, thoff, protocol, IpVersion::V4)) } else { None };
    let icmp_error = ct.and_then(|ct| icmp_error(packet, &ct, IpVersion::V4));
    Ok(PacketInfo {
        link,
        ip_version: IpVersion::V4,
        nhoff,
        network_end,
        src_addr: IpAddr::V4(ip.src_addr()),
        dst_addr: IpAddr::V4(ip.dst_addr()),
        l4proto: Some(protocol),
        thoff,
        fragoff,
        fragment,
        ext_headers: ExtHeaderChain::default(),
        transport,
        transport_error,
        ct,
        icmp_error,
    })
}

fn dissect_ipv6(frame: &[u8], link: Option<LinkInfo>, nhoff: usize) -> Result<PacketInfo> {
    let ip = Ipv6Packet::new_checked(get_range(frame, nhoff, usize::MAX)).map_err(|e| e.shifted(nhoff))?;
    let network_end = nhoff + ip.total_len();
    let packet = get_range(frame, 0, network_end);
    let ext_headers = ipv6_chain::walk(packet, nhoff);
    let fragment = ext_headers.find(protocol::FRAGMENT).map(|pos| {
        let header = super::ipv6_ext::Ipv6ExtHeader::new_unchecked(
            protocol::FRAGMENT,
            get_range(packet, pos.offset, pos.offset + pos.len),
        );
        FragmentInfo {
            offset: header.frag_offset(),
            more: header.more_frags(),
            ident: header.frag_ident(),
            header_offset: Some(pos.offset),
        }
    });

    // nf_tables: ipv6_find_hdr(skb, &thoff, -1, &frag_off, IP6_FH_F_AUTH).
    let (l4proto, thoff, fragoff) = match ipv6_chain::find_hdr(packet, nhoff, None, FindFlags::PKTINFO) {
        Ok(found) => {
            let thoff = found.offset.unwrap_or(nhoff);
            if thoff - nhoff > usize::from(u16::MAX) {
                (None, nhoff, 0)
            } else {
                (Some(found.next_header), thoff, found.fragoff)
            }
        }
        Err(_) => (None, nhoff, 0),
    };
    let (transport, transport_error) = match l4proto {
        Some(proto) if fragoff == 0 => parse_transport(packet, thoff, proto),
        _ => (None, None),
    };

    // Conntrack: ipv6_skip_exthdr from the end of the fixed header.
    let ct = ipv6_chain::skip_exthdr(packet, nhoff + ipv6::HEADER_LEN, ip.next_header())
        .filter(|skipped| !skipped.is_later_fragment())
        .map(|skipped| ct_view(packet, nhoff, skipped.offset, skipped.next_header, IpVersion::V6));
    let icmp_error = ct.and_then(|ct| icmp_error(packet, &ct, IpVersion::V6));
    Ok(PacketInfo {
        link,
        ip_version: IpVersion::V6,
        nhoff,
        network_end,
        src_addr: IpAddr::V6(ip.src_addr()),
        dst_addr: IpAddr::V6(ip.dst_addr()),
        l4proto,
        thoff,
        fragoff,
        fragment,
        ext_headers,
        transport,
        transport_error,
        ct,
        icmp_error,
    })
}

/// Read the transport header at `thoff` of `packet` (which ends where the IP packet ends).
fn parse_transport(packet: &[u8], thoff: usize, proto: u8) -> TransportRead {
    let segment = get_range(packet, thoff, usize::MAX);
    // What a checked view reads, or its error (offsets from the start of the packet).
    fn read<V>(view: Result<V>, thoff: usize, fields: impl FnOnce(V) -> Transport) -> TransportRead {
        match view {
            Ok(v) => (Some(fields(v)), None),
            Err(e) => (None, Some(e.shifted(thoff))),
        }
    }
    // UDP and UDP-Lite: the ports are read when the header is there; a bad length or
    // coverage is reported besides.
    let whole_error = |full: Result<()>, (transport, error): TransportRead| {
        (transport, error.or_else(|| full.err().map(|e| e.shifted(thoff))))
    };
    match proto {
        protocol::TCP => read(TcpPacket::new_checked(segment), thoff, |tcp| Transport::Tcp {
            src_port: tcp.src_port(),
            dst_port: tcp.dst_port(),
            seq: tcp.seq_number(),
            ack: tcp.ack_number(),
            flags: tcp.flags(),
            window: tcp.window_len(),
            header_len: tcp.header_len(),
        }),
        protocol::UDP => whole_error(
            UdpPacket::new_checked(segment).map(drop),
            read(UdpPacket::new_header_checked(segment), thoff, |udp| Transport::Udp {
                src_port: udp.src_port(),
                dst_port: udp.dst_port(),
                length: udp.len(),
                checksum: udp.checksum(),
            }),
        ),
        protocol::UDPLITE => whole_error(
            UdpLitePacket::new_checked(segment).map(drop),
            read(UdpLitePacket::new_header_checked(segment), thoff, |udp| Transport::UdpLite {
                src_port: udp.src_port(),
                dst_port: udp.dst_port(),
                coverage: udp.checksum_coverage(),
            }),
        ),
        protocol::SCTP => read(SctpPacket::new_checked(segment), thoff, |sctp| Transport::Sctp {
            src_port: sctp.src_port(),
            dst_port: sctp.dst_port(),
            vtag: sctp.verification_tag(),
        }),
        protocol::ICMP => read(Icmpv4Packet::new_checked(segment), thoff, |icmp| Transport::Icmp {
            kind: icmp.msg_type(),
            code: icmp.code(),
            ident: icmp.ident(),
            seq: icmp.seq_no(),
        }),
        protocol::ICMPV6 => read(Icmpv6Packet::new_checked(segment), thoff, |icmp| Transport::Icmpv6 {
            kind: icmp.msg_type(),
            code: icmp.code(),
            ident: icmp.ident(),
            seq: icmp.seq_no(),
        }),
        protocol::GRE => read(GrePacket::new_checked(segment), thoff, |g| Transport::Gre {
            version: g.version(),
            protocol: g.protocol(),
            key: g.key(),
        }),
        _ => (Some(Transport::Other), None),
    }
}

/// A transport header's fields and the error found in it.
type TransportRead = (Option<Transport>, Option<ParseError>);

/// Conntrack's view of the packet whose network header is at `nhoff` and whose tracked
/// protocol `protonum` starts at `dataoff`.
fn ct_view(packet: &[u8], nhoff: usize, dataoff: usize, protonum: u8, version: IpVersion) -> CtView {
    CtView { protonum, dataoff, tuple: ct_tuple(packet, nhoff, dataoff, protonum, version) }
}

/// `nf_ct_get_tuple`: None where the kernel function returns false.
fn ct_tuple(packet: &[u8], nhoff: usize, dataoff: usize, protonum: u8, version: IpVersion) -> Option<Tuple> {
    let (src, dst) = match version {
        IpVersion::V4 => {
            get_range(packet, nhoff + 12, nhoff + 20).get(..8)?;
            (
                IpAddr::V4(Ipv4Addr::from(get_array::<4>(packet, nhoff + 12))),
                IpAddr::V4(Ipv4Addr::from(get_array::<4>(packet, nhoff + 16))),
            )
        }
        IpVersion::V6 => {
            get_range(packet, nhoff + 8, nhoff + 40).get(..32)?;
            (
                IpAddr::V6(Ipv6Addr::from(get_array::<16>(packet, nhoff + 8))),
                IpAddr::V6(Ipv6Addr::from(get_array::<16>(packet, nhoff + 24))),
            )
        }
    };
    let l4 = get_range(packet, dataoff, usize::MAX);
    let l4 = match protonum {
        protocol::ICMP | protocol::ICMPV6 => {
            l4.get(..8)?;
            TupleL4::Icmp { id: get_u16(l4, 4), kind: get_u8(l4, 0), code: get_u8(l4, 1) }
        }
        protocol::GRE => {
            if l4.len() < gre::BASE_LEN || get_u16(l4, 0) & gre::flag::VERSION != 1 {
                TupleL4::None
            } else if l4.len() < 8 {
                TupleL4::Gre { src_key: 0, dst_key: 0 }
            } else if get_u16(l4, 2) != gre::PROTO_PPP {
                return None;
            } else {
                TupleL4::Gre { src_key: 0, dst_key: get_u16(l4, 6) }
            }
        }
        protocol::TCP | protocol::UDP | protocol::UDPLITE | protocol::SCTP | protocol::DCCP => {
            l4.get(..4)?;
            TupleL4::Ports { src: get_u16(l4, 0), dst: get_u16(l4, 2) }
        }
        _ => TupleL4::None,
    };
    Some(Tuple { src, dst, protocol: protonum, l4 })
}

/// For ICMP/ICMPv6 errors (header readable), the quoted packet as `nf_ct_get_tuplepr` sees it.
fn icmp_error(packet: &[u8], ct: &CtView, version: IpVersion) -> Option<IcmpErrorInfo> {
    let header = get_range(packet, ct.dataoff, usize::MAX);
    header.get(..8)?;
    let (kind, code) = (get_u8(header, 0), get_u8(header, 1));
    let is_error = match (version, ct.protonum) {
        (IpVersion::V4, protocol::ICMP) => icmpv4::is_error(kind),
        (IpVersion::V6, protocol::ICMPV6) => icmpv6::is_error(kind),
        _ => return None,
    };
    if !is_error {
        return None;
    }
    let inner_nhoff = ct.dataoff + 8;
    Some(IcmpErrorInfo { kind, code, inner_nhoff, inner: inner_ct_view(packet, inner_nhoff, version) })
}

/// `get_l4proto` + `nf_ct_get_tuple` on the quoted header at `nhoff`.
fn inner_ct_view(packet: &[u8], nhoff: usize, version: IpVersion) -> Option<CtView> {
    match version {
        IpVersion::V4 => {
            // ipv4_get_l4proto: 20 bytes readable, not a non-first fragment, dataoff within.
            let header = get_range(packet, nhoff, usize::MAX);
            header.get(..20)?;
            if get_u16(header, 6) & super::ipv4::OFFSET_MASK != 0 {
                return None;
            }
            let dataoff = nhoff + usize::from(get_u8(header, 0) & 0x0f) * 4;
            if dataoff > packet.len() {
                return None;
            }
            Some(ct_view(packet, nhoff, dataoff, get_u8(header, 9), version))
        }
        IpVersion::V6 => {
            // ipv6_get_l4proto: the next-header byte readable, then ipv6_skip_exthdr.
            let next = *packet.get(nhoff + 6)?;
            let skipped = ipv6_chain::skip_exthdr(packet, nhoff + ipv6::HEADER_LEN, next)?;
            if skipped.is_later_fragment() {
                return None;
            }
            Some(ct_view(packet, nhoff, skipped.offset, skipped.next_header, version))
        }
    }
}
