//! `ipsec in|out [spnum N] <key>`: IPsec state of the packet (`NFT_XFRM_KEY_*`), with the
//! addresses keyed by protocol (`ipsec in ip6 daddr`).

use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::Family;

/// `NFT_XFRM_KEY_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XfrmKey {
    DaddrIp4 = 1,
    DaddrIp6 = 2,
    SaddrIp4 = 3,
    SaddrIp6 = 4,
    Reqid = 5,
    Spi = 6,
}

impl XfrmKey {
    /// Name `--debug=netlink` prints (`xfrm load in 0 daddr6`).
    pub fn netlink_name(self) -> &'static str {
        match self {
            XfrmKey::DaddrIp4 => "daddr4",
            XfrmKey::DaddrIp6 => "daddr6",
            XfrmKey::SaddrIp4 => "saddr4",
            XfrmKey::SaddrIp6 => "saddr6",
            XfrmKey::Reqid => "reqid",
            XfrmKey::Spi => "spi",
        }
    }

    /// Datatype, width and byte order.
    pub fn value_type(self) -> (Type, u32, ByteOrder) {
        match self {
            XfrmKey::DaddrIp4 | XfrmKey::SaddrIp4 => (Type::Ipv4Addr, 32, ByteOrder::Network),
            XfrmKey::DaddrIp6 | XfrmKey::SaddrIp6 => (Type::Ipv6Addr, 128, ByteOrder::Network),
            XfrmKey::Reqid => (Type::Integer, 32, ByteOrder::Host),
            XfrmKey::Spi => (Type::Integer, 32, ByteOrder::Network),
        }
    }

    /// The words that print it (`spi`, `ip saddr`).
    pub fn token(self) -> &'static str {
        match self {
            XfrmKey::DaddrIp4 => "ip daddr",
            XfrmKey::DaddrIp6 => "ip6 daddr",
            XfrmKey::SaddrIp4 => "ip saddr",
            XfrmKey::SaddrIp6 => "ip6 saddr",
            XfrmKey::Reqid => "reqid",
            XfrmKey::Spi => "spi",
        }
    }

    /// The address key for a family word and field (`ip6`, `daddr`).
    pub fn address(family: Family, field: &str) -> Option<XfrmKey> {
        match (family, field) {
            (Family::Ip, "daddr") => Some(XfrmKey::DaddrIp4),
            (Family::Ip, "saddr") => Some(XfrmKey::SaddrIp4),
            (Family::Ip6, "daddr") => Some(XfrmKey::DaddrIp6),
            (Family::Ip6, "saddr") => Some(XfrmKey::SaddrIp6),
            _ => None,
        }
    }
}

/// `XFRM_POLICY_IN`/`OUT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XfrmDir {
    In = 0,
    Out = 1,
}

impl XfrmDir {
    pub fn from_token(word: &str) -> Option<XfrmDir> {
        match word {
            "in" => Some(XfrmDir::In),
            "out" => Some(XfrmDir::Out),
            _ => None,
        }
    }
}

/// The largest `spnum`.
pub const SPNUM_MAX: u32 = 255;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(XfrmKey::address(Family::Ip6, "daddr"), Some(XfrmKey::DaddrIp6));
        assert_eq!(XfrmKey::DaddrIp6.netlink_name(), "daddr6");
        assert_eq!(XfrmDir::from_token("i"), None);
    }
}
