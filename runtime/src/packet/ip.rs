//! IP protocol numbers (IANA "Assigned Internet Protocol Numbers") and the IP version enum
//! shared by the IPv4 and IPv6 views.

/// IP protocol / IPv6 next-header numbers, as in the kernel's `IPPROTO_*` and `NEXTHDR_*`.
pub mod protocol {
    /// IPv6 hop-by-hop options.
    pub const HOPOPTS: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IGMP.
    pub const IGMP: u8 = 2;
    /// IPv4 encapsulation (IP-in-IP).
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulation.
    pub const IPV6: u8 = 41;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// GRE.
    pub const GRE: u8 = 47;
    /// IPsec ESP.
    pub const ESP: u8 = 50;
    /// IPsec AH.
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NONE: u8 = 59;
    /// IPv6 destination options.
    pub const DSTOPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// IPv6 mobility header.
    pub const MOBILITY: u8 = 135;
    /// UDP-Lite.
    pub const UDPLITE: u8 = 136;
    /// DCCP.
    pub const DCCP: u8 = 33;

    /// The name nft prints for a protocol number, if it has one.
    pub fn name(number: u8) -> Option<&'static str> {
        Some(match number {
            HOPOPTS => "hopopts",
            ICMP => "icmp",
            IGMP => "igmp",
            IPIP => "ipip",
            TCP => "tcp",
            DCCP => "dccp",
            UDP => "udp",
            IPV6 => "ipv6",
            ROUTING => "routing",
            FRAGMENT => "fragment",
            GRE => "gre",
            ESP => "esp",
            AH => "ah",
            ICMPV6 => "ipv6-icmp",
            NONE => "none",
            DSTOPTS => "dstopts",
            SCTP => "sctp",
            MOBILITY => "mobility-header",
            UDPLITE => "udplite",
            _ => return None,
        })
    }
}

/// The IP version of a network header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpVersion {
    /// The ethertype the link layer uses for this version (the kernel's `skb->protocol`).
    pub fn ethertype(self) -> u16 {
        match self {
            IpVersion::V4 => super::ethernet::ethertype::IPV4,
            IpVersion::V6 => super::ethernet::ethertype::IPV6,
        }
    }

    /// The netfilter family number (`NFPROTO_IPV4` = 2, `NFPROTO_IPV6` = 10).
    pub fn nfproto(self) -> u8 {
        match self {
            IpVersion::V4 => 2,
            IpVersion::V6 => 10,
        }
    }

    /// The version given by the first nibble of a raw IP packet, if it is 4 or 6.
    pub fn of_packet(packet: &[u8]) -> Option<IpVersion> {
        match packet.first().map(|b| b >> 4) {
            Some(4) => Some(IpVersion::V4),
            Some(6) => Some(IpVersion::V6),
            _ => None,
        }
    }
}
