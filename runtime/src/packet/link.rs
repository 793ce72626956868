//! Capture link types (the pcap `LINKTYPE_*` registry) and how each one frames a packet.

/// A capture file's link-layer header type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `LINKTYPE_NULL` (0): BSD loopback, a 4-byte host-order address family.
    Null,
    /// `LINKTYPE_ETHERNET` (1): Ethernet II, optionally 802.1Q/802.1ad tagged.
    Ethernet,
    /// `LINKTYPE_RAW` (101): a raw IPv4 or IPv6 packet (version from the first nibble).
    Raw,
    /// `LINKTYPE_LINUX_SLL` (113): Linux "cooked" capture, 16-byte header.
    LinuxSll,
    /// `LINKTYPE_IPV4` (228): a raw IPv4 packet.
    Ipv4,
    /// `LINKTYPE_IPV6` (229): a raw IPv6 packet.
    Ipv6,
    /// `LINKTYPE_LINUX_SLL2` (276): Linux "cooked" capture v2, 20-byte header.
    LinuxSll2,
    /// Any other link type, by number (recorded but not dissected).
    Other(u32),
}

impl LinkType {
    /// The link type for a pcap/pcapng link-type number.
    pub fn from_number(number: u32) -> LinkType {
        match number {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::Raw,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The pcap/pcapng link-type number.
    pub fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(number) => number,
        }
    }
}
