//! Protocol header templates and the meta/ct/… key tables: what nft's `proto.c`, `meta.c`,
//! `ct.c`, `exthdr.c`, `tcpopt.c` and friends know, as data.
//!
//! - A [`ProtoDesc`] per protocol (one file each): its header base, its fields ([`Field`]:
//!   bit offset, bit length, datatype, byte order), which field (or meta key) names the next
//!   protocol, and which numbers link to which upper protocols.
//! - [`deps`]: the implicit dependencies nft inserts before a payload match (`meta l4proto 6`
//!   before `tcp dport` in inet; `meta nfproto ipv4` before `ip saddr`; `ether type 8021q`
//!   before `vlan id` in bridge; `icmp type { echo-request, echo-reply }` before `icmp id`).
//! - Key tables: [`meta`], [`ct`], [`rt`], [`fib`], [`socket`], [`osf`], [`misc`] (numgen,
//!   hash), [`xfrm`]; extension headers: [`exthdr`] (IPv6), [`tcpopt`], [`ipopt`],
//!   [`sctp_chunk`].
//! - [`selector`]: resolve a word path from the grammar (`ct original ip saddr`, `tcp dport`,
//!   `iifname`) into one of the above.

pub mod ah;
pub mod arp;
pub mod comp;
pub mod ct;
pub mod dccp;
pub mod deps;
pub mod esp;
pub mod ether;
pub mod exthdr;
pub mod fib;
pub mod gre;
pub mod icmp;
pub mod icmpv6;
pub mod igmp;
pub mod ip;
pub mod ip6;
pub mod ipopt;
pub mod meta;
pub mod misc;
pub mod osf;
pub mod rt;
pub mod sctp;
pub mod sctp_chunk;
pub mod selector;
pub mod socket;
pub mod tcp;
pub mod tcpopt;
pub mod th;
pub mod tunnel;
pub mod udp;
pub mod vlan;
pub mod xfrm;

#[cfg(test)]
mod payload_oracle;

use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::{MetaKey, PayloadBase};

/// Which ICMP type a field only exists in (nft adds a type match before using it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IcmpDep {
    /// `icmp id`/`sequence`: echo-request or echo-reply.
    Echo,
    /// `icmp mtu`: destination-unreachable.
    Mtu,
    /// `icmp gateway`: redirect.
    Address,
    /// `icmpv6 mtu`: packet-too-big.
    V6Mtu,
    /// `icmpv6 parameter-problem`: parameter-problem.
    V6Pptr,
    /// `icmpv6 id`/`sequence`: echo-request or echo-reply.
    V6Echo,
    /// `icmpv6 max-delay`: mld-listener-query.
    V6Mgmq,
    /// `icmpv6 taddr`: neighbour discovery, redirect and MLD messages.
    V6Address,
    /// `icmpv6 daddr`: nd-redirect.
    V6Redirect,
}

impl IcmpDep {
    /// The types nft requires (one: `cmp eq`; several: an anonymous set), in nft's order.
    pub fn types(self) -> &'static [u8] {
        match self {
            IcmpDep::Echo => &[8, 0],
            IcmpDep::Mtu => &[3],
            IcmpDep::Address => &[5],
            IcmpDep::V6Mtu => &[2],
            IcmpDep::V6Pptr => &[4],
            IcmpDep::V6Echo => &[128, 129],
            IcmpDep::V6Mgmq => &[130],
            IcmpDep::V6Address => &[135, 136, 137, 130, 131, 132],
            IcmpDep::V6Redirect => &[137],
        }
    }

    /// The datatype of the type field the dependency matches.
    pub fn type_datatype(self) -> Type {
        match self {
            IcmpDep::Echo | IcmpDep::Mtu | IcmpDep::Address => Type::IcmpType,
            _ => Type::Icmpv6Type,
        }
    }
}

/// One header field: where it is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The word that names it (`dport`, `saddr`, `frag-off`).
    pub name: &'static str,
    /// Its datatype.
    pub ty: Type,
    /// Offset in bits from the start of its header.
    pub offset: u32,
    /// Length in bits.
    pub len: u32,
    /// Byte order of its value.
    pub order: ByteOrder,
    /// ICMP type the field depends on, if any.
    pub icmp_dep: Option<IcmpDep>,
}

impl Field {
    /// A big-endian field.
    pub const fn new(name: &'static str, ty: Type, offset: u32, len: u32) -> Field {
        Field { name, ty, offset, len, order: ByteOrder::Network, icmp_dep: None }
    }

    /// A field that only exists in some ICMP messages.
    pub const fn icmp(name: &'static str, ty: Type, offset: u32, len: u32, dep: IcmpDep) -> Field {
        Field { name, ty, offset, len, order: ByteOrder::Network, icmp_dep: Some(dep) }
    }

    /// Byte offset and byte length of the smallest load covering the field (what `payload
    /// load Nb @ base + off` reads).
    pub fn load_span(&self) -> (u32, u32) {
        let start = self.offset / 8;
        let end = (self.offset + self.len).div_ceil(8);
        (start, end - start)
    }

    /// The load nft uses for `field addr/prefix`: a byte-aligned prefix of a byte-aligned
    /// field loads only the prefix bytes (`ip saddr 192.168.2.0/24` is a 3-byte load); other
    /// prefixes load the whole field and mask it.
    pub fn prefix_load_span(&self, prefix: u32) -> (u32, u32) {
        let (off, len) = self.load_span();
        if !self.is_bitfield() && prefix.is_multiple_of(8) && prefix > 0 && prefix <= self.len {
            (off, prefix / 8)
        } else {
            (off, len)
        }
    }

    /// True if the field does not start and end on byte boundaries.
    pub fn is_bitfield(&self) -> bool {
        !self.offset.is_multiple_of(8) || !self.len.is_multiple_of(8)
    }

    /// Bits between the field's last bit and the end of the load (how far a value must be
    /// shifted left to line up with the loaded bytes).
    pub fn shift(&self) -> u32 {
        let (_, bytes) = self.load_span();
        bytes * 8 - (self.offset % 8) - self.len
    }

    /// The `bitwise` mask that isolates the field in its load (network order), or None when
    /// the field is byte-aligned.
    pub fn mask(&self) -> Option<Value> {
        if !self.is_bitfield() {
            return None;
        }
        let (_, bytes) = self.load_span();
        let ones = crate::types::value::max_for(self.len) << self.shift();
        Value::from_uint(bytes * 8, ByteOrder::Network, ones).ok()
    }
}

/// What selects the protocol above this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoKey {
    /// A header field (`ether type`, `ah nexthdr`).
    Field(&'static str),
    /// A meta key (`meta l4proto` for ip/ip6, `meta nfproto` for inet, `meta protocol` for
    /// netdev).
    Meta { key: MetaKey, ty: Type, bits: u32 },
}

/// Checksum kind of a header (payload writes update it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Internet checksum (`csum_type 1`).
    Inet,
    /// SCTP CRC32c (`csum_type 2`).
    Sctp,
}

/// Tunnel facts for `inner` matches (vxlan, geneve, gre, gretap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inner {
    /// Tunnel header size in bytes.
    pub hdrsize: u32,
    /// `NFT_INNER_HDRSIZE | LL | NH | TH` flags.
    pub flags: u32,
    /// Tunnel type number.
    pub kind: u32,
}

/// Every protocol nft knows, plus its three placeholder protocols (`Inet`, `InetService`,
/// `Netdev`) that stand for "ip or ip6", "some transport" and "some link layer".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Ether,
    Vlan,
    Arp,
    Ip,
    Ip6,
    Icmp,
    Icmpv6,
    Igmp,
    Tcp,
    Udp,
    Udplite,
    Sctp,
    Dccp,
    Ah,
    Esp,
    Comp,
    Th,
    Gre,
    Gretap,
    Vxlan,
    Geneve,
    Inet,
    InetService,
    Netdev,
}

/// A protocol header template.
#[derive(Debug)]
pub struct ProtoDesc {
    pub proto: Proto,
    /// Name as the rule language spells it.
    pub name: &'static str,
    /// Header base the offsets count from.
    pub base: PayloadBase,
    /// Fields, in nft's template order.
    pub fields: &'static [Field],
    /// What names the upper protocol.
    pub protocol_key: Option<ProtoKey>,
    /// Upper protocols by the protocol key's value.
    pub links: &'static [(u32, Proto)],
    /// Header length in bits, for link-layer stacking (ether 112, vlan 32); 0 otherwise.
    pub length: u32,
    /// Checksum field and kind.
    pub checksum: Option<(&'static str, Checksum)>,
    /// Tunnel facts.
    pub inner: Option<Inner>,
}

impl ProtoDesc {
    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The value of the protocol key that selects `upper`.
    pub fn link_number(&self, upper: Proto) -> Option<u32> {
        self.links.iter().find(|&&(_, p)| p == upper).map(|&(n, _)| n)
    }

    /// The upper protocol a protocol-key value selects.
    pub fn upper(&self, number: u32) -> Option<Proto> {
        self.links.iter().find(|&&(n, _)| n == number).map(|&(_, p)| p)
    }

    /// True for the placeholder protocols.
    pub fn is_dummy(&self) -> bool {
        matches!(self.proto, Proto::Inet | Proto::InetService | Proto::Netdev)
    }
}

/// Protocols a rule can name, in nft's order.
pub const ALL: &[Proto] = &[
    Proto::Ah,
    Proto::Esp,
    Proto::Comp,
    Proto::Icmp,
    Proto::Igmp,
    Proto::Udp,
    Proto::Udplite,
    Proto::Tcp,
    Proto::Dccp,
    Proto::Sctp,
    Proto::Th,
    Proto::Ip,
    Proto::Ip6,
    Proto::Icmpv6,
    Proto::Arp,
    Proto::Vlan,
    Proto::Ether,
    Proto::Vxlan,
    Proto::Geneve,
    Proto::Gre,
    Proto::Gretap,
];

impl Proto {
    /// The template.
    pub fn desc(self) -> &'static ProtoDesc {
        match self {
            Proto::Ether => &ether::DESC,
            Proto::Vlan => &vlan::DESC,
            Proto::Arp => &arp::DESC,
            Proto::Ip => &ip::DESC,
            Proto::Ip6 => &ip6::DESC,
            Proto::Icmp => &icmp::DESC,
            Proto::Icmpv6 => &icmpv6::DESC,
            Proto::Igmp => &igmp::DESC,
            Proto::Tcp => &tcp::DESC,
            Proto::Udp => &udp::UDP,
            Proto::Udplite => &udp::UDPLITE,
            Proto::Sctp => &sctp::DESC,
            Proto::Dccp => &dccp::DESC,
            Proto::Ah => &ah::DESC,
            Proto::Esp => &esp::DESC,
            Proto::Comp => &comp::DESC,
            Proto::Th => &th::DESC,
            Proto::Gre => &gre::GRE,
            Proto::Gretap => &gre::GRETAP,
            Proto::Vxlan => &tunnel::VXLAN,
            Proto::Geneve => &tunnel::GENEVE,
            Proto::Inet => &deps::INET,
            Proto::InetService => &deps::INET_SERVICE,
            Proto::Netdev => &deps::NETDEV,
        }
    }

    /// Name as the rule language spells it.
    pub fn name(self) -> &'static str {
        self.desc().name
    }

    /// Look a (non-placeholder) protocol up by name.
    pub fn from_name(name: &str) -> Option<Proto> {
        ALL.iter().copied().find(|p| p.name() == name)
    }

    /// Header base.
    pub fn base(self) -> PayloadBase {
        self.desc().base
    }

    /// The outer header a tunnel's packets are recognised by: GRE for `gretap` (GRE carrying
    /// Ethernet, the same IP protocol 47), the tunnel itself otherwise.
    pub fn carrier(self) -> Proto {
        match self {
            Proto::Gretap => Proto::Gre,
            p => p,
        }
    }
}

/// The upper protocols every IP-like header links to, by IP protocol number.
pub(crate) const INET_UPPER: &[(u32, Proto)] = &[
    (50, Proto::Esp),
    (51, Proto::Ah),
    (108, Proto::Comp),
    (17, Proto::Udp),
    (136, Proto::Udplite),
    (6, Proto::Tcp),
    (33, Proto::Dccp),
    (132, Proto::Sctp),
];

/// Upper protocols of IPv4, IPv6 and the transport placeholder.
pub(crate) const IP_UPPER: &[(u32, Proto)] = &[
    (1, Proto::Icmp),
    (2, Proto::Igmp),
    (58, Proto::Icmpv6),
    (50, Proto::Esp),
    (51, Proto::Ah),
    (108, Proto::Comp),
    (17, Proto::Udp),
    (136, Proto::Udplite),
    (6, Proto::Tcp),
    (33, Proto::Dccp),
    (132, Proto::Sctp),
    (47, Proto::Gre),
    (47, Proto::Gretap),
];

/// Upper protocols of a link layer, by ether type.
pub(crate) const LL_UPPER: &[(u32, Proto)] = &[
    (0x0800, Proto::Ip),
    (0x0806, Proto::Arp),
    (0x86dd, Proto::Ip6),
    (0x8100, Proto::Vlan),
    (0x88a8, Proto::Vlan),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_resolves_by_name() {
        for &p in ALL {
            assert_eq!(Proto::from_name(p.name()), Some(p));
            assert_eq!(p.desc().proto, p);
        }
        assert_eq!(Proto::from_name("inet"), None);
    }

    #[test]
    fn fields_fit_their_datatypes() {
        for &p in ALL {
            for f in p.desc().fields {
                let tb = f.ty.bits();
                assert!(
                    tb == 0 || tb == f.len || f.ty == Type::IcmpCode,
                    "{} {}: {} vs {}",
                    p.name(),
                    f.name,
                    tb,
                    f.len
                );
            }
        }
    }

    #[test]
    fn bitfield_spans_and_masks() {
        let dscp = ip::DESC.field("dscp").unwrap();
        assert_eq!(dscp.load_span(), (1, 1));
        assert_eq!(dscp.mask().unwrap().bytes(), &[0xfc]);
        assert_eq!(dscp.shift(), 2);
        let flow = ip6::DESC.field("flowlabel").unwrap();
        assert_eq!(flow.load_span(), (1, 3));
        assert_eq!(flow.mask().unwrap().bytes(), &[0x0f, 0xff, 0xff]);
        let dport = tcp::DESC.field("dport").unwrap();
        assert_eq!(dport.load_span(), (2, 2));
        assert!(dport.mask().is_none());
    }
}
