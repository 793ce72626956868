//! `rt` keys (routing information): `rt classid`, `rt [ip|ip6] nexthop`, `rt mtu`,
//! `rt ipsec`. Not in the shared key vocabulary yet, so the numbers (`NFT_RT_*`) and the
//! names `--debug=netlink` prints live here.

use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::Family;

/// `NFT_RT_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RtKey {
    Classid = 0,
    Nexthop4 = 1,
    Nexthop6 = 2,
    TcpMss = 3,
    Xfrm = 4,
}

impl RtKey {
    /// The name `nft --debug=netlink` prints (`rt load nexthop6`).
    pub fn netlink_name(self) -> &'static str {
        match self {
            RtKey::Classid => "classid",
            RtKey::Nexthop4 => "nexthop4",
            RtKey::Nexthop6 => "nexthop6",
            RtKey::TcpMss => "tcpmss",
            RtKey::Xfrm => "ipsec",
        }
    }
}

/// Facts about one rt key.
#[derive(Debug, PartialEq)]
pub struct RtInfo {
    pub key: RtKey,
    pub token: &'static str,
    pub ty: Type,
    pub bits: u32,
    pub order: ByteOrder,
    /// `rt nexthop`: the key depends on the network protocol (`rt ip nexthop` is printed).
    pub needs_nfproto: bool,
}

pub static RT_KEYS: &[RtInfo] = &[
    RtInfo {
        key: RtKey::Classid,
        token: "classid",
        ty: Type::Realm,
        bits: 32,
        order: ByteOrder::Host,
        needs_nfproto: false,
    },
    RtInfo {
        key: RtKey::Nexthop4,
        token: "nexthop",
        ty: Type::Ipv4Addr,
        bits: 32,
        order: ByteOrder::Network,
        needs_nfproto: true,
    },
    RtInfo {
        key: RtKey::Nexthop6,
        token: "nexthop",
        ty: Type::Ipv6Addr,
        bits: 128,
        order: ByteOrder::Network,
        needs_nfproto: true,
    },
    RtInfo {
        key: RtKey::TcpMss,
        token: "mtu",
        ty: Type::Integer,
        bits: 16,
        order: ByteOrder::Host,
        needs_nfproto: false,
    },
    RtInfo {
        key: RtKey::Xfrm,
        token: "ipsec",
        ty: Type::Boolean,
        bits: 8,
        order: ByteOrder::Host,
        needs_nfproto: false,
    },
];

/// The facts about a key.
pub fn info(key: RtKey) -> &'static RtInfo {
    RT_KEYS.iter().find(|r| r.key == key).unwrap_or(&RT_KEYS[0])
}

/// The key a word names; `nexthop` resolves by family (IPv4 unless `Ip6`).
pub fn by_token(word: &str, family: Option<Family>) -> Option<&'static RtInfo> {
    let key = match word {
        "classid" => RtKey::Classid,
        "nexthop" if family == Some(Family::Ip6) => RtKey::Nexthop6,
        "nexthop" => RtKey::Nexthop4,
        "mtu" => RtKey::TcpMss,
        "ipsec" => RtKey::Xfrm,
        _ => return None,
    };
    Some(info(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nexthop_follows_family() {
        assert_eq!(by_token("nexthop", Some(Family::Ip6)).unwrap().key, RtKey::Nexthop6);
        assert_eq!(by_token("nexthop", None).unwrap().key, RtKey::Nexthop4);
        assert_eq!(by_token("mtu", None).unwrap().netlink_name_check(), "tcpmss");
        assert!(by_token("bogus", None).is_none());
    }

    impl RtInfo {
        fn netlink_name_check(&self) -> &'static str {
            self.key.netlink_name()
        }
    }
}
