//! Connection tuples: the (addresses, protocol, ports / ICMP id+type+code) key of one
//! direction of a flow, as `nf_conntrack_tuple` holds it, and its inversion.
//!
//! A tuple is a small `Copy` value so the table can hash and compare it cheaply. IPv4
//! addresses live in the low 32 bits of a `u128`; the family says how to read them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IANA protocol numbers the tracker knows by name.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;
}

/// The network layer of a tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum L3 {
    #[default]
    Ipv4,
    Ipv6,
}

impl L3 {
    /// The `NFPROTO_*` number (2 for IPv4, 10 for IPv6), as `conntrack -o extended` prints it.
    pub fn nfproto(self) -> u8 {
        match self {
            L3::Ipv4 => 2,
            L3::Ipv6 => 10,
        }
    }

    /// The family an address belongs to.
    pub fn of(addr: IpAddr) -> L3 {
        match addr {
            IpAddr::V4(_) => L3::Ipv4,
            IpAddr::V6(_) => L3::Ipv6,
        }
    }
}

/// An address as a number: IPv4 in the low 32 bits.
pub fn addr_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address `bits` denotes in family `l3`.
pub fn addr_from_bits(l3: L3, bits: u128) -> IpAddr {
    match l3 {
        // Truncation is the point: an IPv4 tuple only ever holds 32 significant bits.
        L3::Ipv4 => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        L3::Ipv6 => IpAddr::V6(Ipv6Addr::from(bits)),
    }
}

/// One direction of a connection.
///
/// For port protocols (TCP, UDP, UDP-Lite, SCTP) `src_id`/`dst_id` are the ports. For
/// ICMP/ICMPv6 `src_id` is the echo identifier and `dst_id` holds `type << 8 | code`, which
/// is where the kernel keeps them (`src.u.icmp.id`, `dst.u.icmp.type/code`). For GRE they
/// are the keys (`src.u.gre.key`, `dst.u.gre.key`: a PPTP call ID, version 0 has both at
/// zero). Other protocols have both at zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Tuple {
    pub src: u128,
    pub dst: u128,
    pub src_id: u16,
    pub dst_id: u16,
    pub proto: u8,
    pub l3: L3,
}

impl Tuple {
    /// A port-protocol tuple (TCP, UDP, UDP-Lite, SCTP).
    pub fn ports(src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> Tuple {
        Tuple {
            src: addr_bits(src),
            dst: addr_bits(dst),
            src_id: sport,
            dst_id: dport,
            proto,
            l3: L3::of(src),
        }
    }

    /// An ICMP or ICMPv6 tuple.
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8, id: u16) -> Tuple {
        let proto = if L3::of(src) == L3::Ipv4 { proto::ICMP } else { proto::ICMPV6 };
        Tuple {
            src: addr_bits(src),
            dst: addr_bits(dst),
            src_id: id,
            dst_id: u16::from(icmp_type) << 8 | u16::from(code),
            proto,
            l3: L3::of(src),
        }
    }

    /// A GRE tuple with its keys.
    pub fn gre(src: IpAddr, dst: IpAddr, src_key: u16, dst_key: u16) -> Tuple {
        Tuple { src_id: src_key, dst_id: dst_key, ..Tuple::bare(src, dst, proto::GRE) }
    }

    /// A tuple of a protocol without ports (generic tracking).
    pub fn bare(src: IpAddr, dst: IpAddr, proto: u8) -> Tuple {
        Tuple { src: addr_bits(src), dst: addr_bits(dst), src_id: 0, dst_id: 0, proto, l3: L3::of(src) }
    }

    pub fn src_addr(&self) -> IpAddr {
        addr_from_bits(self.l3, self.src)
    }

    pub fn dst_addr(&self) -> IpAddr {
        addr_from_bits(self.l3, self.dst)
    }

    pub fn sport(&self) -> u16 {
        self.src_id
    }

    pub fn dport(&self) -> u16 {
        self.dst_id
    }

    pub fn is_icmp(&self) -> bool {
        self.proto == proto::ICMP || self.proto == proto::ICMPV6
    }

    pub fn icmp_type(&self) -> u8 {
        (self.dst_id >> 8) as u8
    }

    pub fn icmp_code(&self) -> u8 {
        (self.dst_id & 0xff) as u8
    }

    pub fn icmp_id(&self) -> u16 {
        self.src_id
    }

    /// Whether this protocol's tuple carries ports.
    pub fn has_ports(&self) -> bool {
        has_ports(self.proto)
    }

    /// The tuple of the other direction (`nf_ct_invert_tuple`), or `None` for an ICMP type
    /// that has no reply (the kernel cannot track such a packet: it is INVALID).
    pub fn invert(&self) -> Option<Tuple> {
        let (src_id, dst_id) = if self.is_icmp() {
            let reply = icmp_reply_type(self.proto, self.icmp_type())?;
            (self.src_id, u16::from(reply) << 8 | u16::from(self.icmp_code()))
        } else {
            (self.dst_id, self.src_id)
        };
        Some(Tuple { src: self.dst, dst: self.src, src_id, dst_id, proto: self.proto, l3: self.l3 })
    }
}

/// Whether protocol `proto` has a port pair in its tuple.
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP)
}

/// The reply type of an ICMP/ICMPv6 query type (the kernel's `invmap`), if it has one.
pub fn icmp_reply_type(proto: u8, icmp_type: u8) -> Option<u8> {
    if proto == proto::ICMP {
        match icmp_type {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    } else {
        match icmp_type {
            128 => Some(129),
            129 => Some(128),
            139 => Some(140),
            140 => Some(139),
            _ => None,
        }
    }
}

/// The name `conntrack` prints for a layer-4 protocol (`__proto2str`).
pub fn proto_name(proto: u8) -> &'static str {
    match proto {
        proto::TCP => "tcp",
        proto::UDP => "udp",
        proto::UDPLITE => "udplite",
        proto::ICMP => "icmp",
        proto::ICMPV6 => "icmpv6",
        proto::SCTP => "sctp",
        proto::GRE => "gre",
        33 => "dccp",
        _ => "unknown",
    }
}

impl fmt::Display for Tuple {
    /// `src=… dst=… sport=… dport=…` (or the ICMP / GRE form) without a trailing blank.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "src={} dst={}", self.src_addr(), self.dst_addr())?;
        if self.is_icmp() {
            write!(f, " type={} code={} id={}", self.icmp_type(), self.icmp_code(), self.icmp_id())
        } else if self.has_ports() {
            write!(f, " sport={} dport={}", self.src_id, self.dst_id)
        } else if self.proto == proto::GRE {
            write!(f, " srckey=0x{:x} dstkey=0x{:x}", self.src_id, self.dst_id)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn port_tuple_inverts_by_swapping() {
        let t = Tuple::ports(v4("10.0.0.1"), v4("10.0.0.2"), proto::TCP, 1000, 80);
        let r = t.invert().unwrap();
        assert_eq!(r.src_addr(), v4("10.0.0.2"));
        assert_eq!((r.sport(), r.dport()), (80, 1000));
        assert_eq!(r.invert(), Some(t));
    }

    #[test]
    fn icmp_echo_inverts_to_reply_and_errors_do_not() {
        let t = Tuple::icmp(v4("10.0.0.1"), v4("10.0.0.2"), 8, 0, 77);
        let r = t.invert().unwrap();
        assert_eq!((r.icmp_type(), r.icmp_code(), r.icmp_id()), (0, 0, 77));
        assert!(Tuple::icmp(v4("10.0.0.1"), v4("10.0.0.2"), 3, 1, 0).invert().is_none());
        let v6 = Tuple::icmp("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 128, 0, 5);
        assert_eq!(v6.invert().unwrap().icmp_type(), 129);
        assert!(
            Tuple::icmp("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 135, 0, 5).invert().is_none()
        );
    }

    #[test]
    fn display_matches_conntrack_tool_fields() {
        let t = Tuple::ports(v4("10.9.0.1"), v4("10.9.0.2"), proto::UDP, 5555, 9999);
        assert_eq!(t.to_string(), "src=10.9.0.1 dst=10.9.0.2 sport=5555 dport=9999");
        let i = Tuple::icmp(v4("10.9.0.1"), v4("10.9.0.2"), 8, 0, 4660);
        assert_eq!(i.to_string(), "src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=4660");
    }
}
