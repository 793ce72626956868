//! `ct` keys: token, datatype, width, byte order, and how each key takes a direction
//! (`ct original saddr`): never (`ct state`), ignored (`ct original protocol` lists as
//! `ct protocol`), optional (`ct reply bytes`) or required (`ct original ip saddr`).
//! `ct saddr`/`ct daddr` take their type (IPv4 or IPv6) from the network protocol the rule
//! has established; `ct original ip saddr` names it.

use crate::types::{ByteOrder, Type};
use nftvm_vm::keys::{CtKey, Family};

/// How a key combines with `original`/`reply`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirRule {
    /// No direction allowed (`ct original mark` is an error).
    Forbidden,
    /// Accepted and dropped when listing (`ct l3proto`, `ct protocol`).
    Ignored,
    /// With or without (`ct bytes`, `ct reply zone`).
    Optional,
    /// Must be given (`ct saddr`, `ct proto-dst`, `ct original ip saddr`).
    Required,
}

/// Facts about one ct key.
#[derive(Debug, PartialEq)]
pub struct CtInfo {
    pub key: CtKey,
    /// The rule-language words after the direction (`proto-src`, `ip saddr`).
    pub token: &'static str,
    /// Datatype; None for `saddr`/`daddr`, whose type comes from the network protocol.
    pub ty: Option<Type>,
    /// Width in bits (0 when it follows the network protocol).
    pub bits: u32,
    pub order: ByteOrder,
    pub dir: DirRule,
    /// The family the key's addresses belong to (`ct … ip saddr` is IPv4 only).
    pub family: Option<Family>,
    /// `ct <key> set …` is allowed.
    pub settable: bool,
}

macro_rules! ct {
    ($key:ident, $tok:expr, $ty:expr, $bits:expr, $order:ident, $dir:ident, $fam:expr, $set:expr) => {
        CtInfo {
            key: CtKey::$key,
            token: $tok,
            ty: $ty,
            bits: $bits,
            order: ByteOrder::$order,
            dir: DirRule::$dir,
            family: $fam,
            settable: $set,
        }
    };
}

/// Every ct key, in kernel order.
pub static CT_KEYS: &[CtInfo] = &[
    ct!(State, "state", Some(Type::CtState), 32, Host, Forbidden, None, false),
    ct!(Direction, "direction", Some(Type::CtDir), 8, Host, Forbidden, None, false),
    ct!(Status, "status", Some(Type::CtStatus), 32, Host, Forbidden, None, false),
    ct!(Mark, "mark", Some(Type::Mark), 32, Host, Forbidden, None, true),
    ct!(Secmark, "secmark", Some(Type::Integer), 32, Host, Forbidden, None, true),
    ct!(Expiration, "expiration", Some(Type::Time), 32, Host, Forbidden, None, false),
    ct!(Helper, "helper", Some(Type::String), 128, Host, Forbidden, None, false),
    ct!(L3Protocol, "l3proto", Some(Type::NfProto), 8, Host, Ignored, None, false),
    ct!(Src, "saddr", None, 0, Network, Required, None, false),
    ct!(Dst, "daddr", None, 0, Network, Required, None, false),
    ct!(Protocol, "protocol", Some(Type::InetProto), 8, Network, Ignored, None, false),
    ct!(ProtoSrc, "proto-src", Some(Type::InetService), 16, Network, Required, None, false),
    ct!(ProtoDst, "proto-dst", Some(Type::InetService), 16, Network, Required, None, false),
    ct!(Labels, "label", Some(Type::CtLabel), 128, Host, Forbidden, None, true),
    ct!(Pkts, "packets", Some(Type::Integer), 64, Host, Optional, None, false),
    ct!(Bytes, "bytes", Some(Type::Integer), 64, Host, Optional, None, false),
    ct!(AvgPkt, "avgpkt", Some(Type::Integer), 64, Host, Optional, None, false),
    ct!(Zone, "zone", Some(Type::Integer), 16, Host, Optional, None, true),
    ct!(EventMask, "event", Some(Type::CtEvent), 32, Host, Forbidden, None, true),
    ct!(SrcIp, "ip saddr", Some(Type::Ipv4Addr), 32, Network, Required, Some(Family::Ip), false),
    ct!(DstIp, "ip daddr", Some(Type::Ipv4Addr), 32, Network, Required, Some(Family::Ip), false),
    ct!(SrcIp6, "ip6 saddr", Some(Type::Ipv6Addr), 128, Network, Required, Some(Family::Ip6), false),
    ct!(DstIp6, "ip6 daddr", Some(Type::Ipv6Addr), 128, Network, Required, Some(Family::Ip6), false),
    ct!(Id, "id", Some(Type::Integer), 32, Network, Forbidden, None, false),
];

/// The facts about a key.
pub fn info(key: CtKey) -> &'static CtInfo {
    CT_KEYS.iter().find(|c| c.key == key).unwrap_or(&CT_KEYS[0])
}

/// The key named by one word (`state`, `proto-dst`).
pub fn by_token(word: &str) -> Option<&'static CtInfo> {
    CT_KEYS.iter().find(|c| c.token == word)
}

/// The key named by a protocol word and a field (`ip`, `saddr`).
pub fn by_proto_field(proto: &str, field: &str) -> Option<&'static CtInfo> {
    CT_KEYS.iter().find(|c| c.token.split_once(' ') == Some((proto, field)))
}

/// `ct saddr`/`ct daddr` once the network protocol is known: the IPv4 or IPv6 key's type.
pub fn address_type(family: Family) -> Option<(Type, u32)> {
    match family {
        Family::Ip => Some((Type::Ipv4Addr, 32)),
        Family::Ip6 => Some((Type::Ipv6Addr, 128)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_key_has_one_entry() {
        for &k in CtKey::ALL {
            assert_eq!(CT_KEYS.iter().filter(|c| c.key == k).count(), 1, "{k}");
        }
        assert_eq!(by_token("proto-dst").unwrap().key, CtKey::ProtoDst);
        assert_eq!(by_proto_field("ip6", "daddr").unwrap().key, CtKey::DstIp6);
        assert_eq!(info(CtKey::Mark).dir, DirRule::Forbidden);
        assert_eq!(info(CtKey::Zone).dir, DirRule::Optional);
        assert!(by_token("ip saddr").is_some() && by_token("ip").is_none());
    }
}
