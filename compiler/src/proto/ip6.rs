//! IPv6 header (network layer). Like IPv4, the upper protocol is matched with `meta l4proto`,
//! which skips extension headers.

use super::{Field, IP_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::{MetaKey, PayloadBase};

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Ip6,
    name: "ip6",
    base: PayloadBase::Network,
    fields: &[
        Field::new("version", Type::Integer, 0, 4),
        Field::new("dscp", Type::Dscp, 4, 6),
        Field::new("ecn", Type::Ecn, 10, 2),
        Field::new("flowlabel", Type::Integer, 12, 20),
        Field::new("length", Type::Integer, 32, 16),
        Field::new("nexthdr", Type::InetProto, 48, 8),
        Field::new("hoplimit", Type::Integer, 56, 8),
        Field::new("saddr", Type::Ipv6Addr, 64, 128),
        Field::new("daddr", Type::Ipv6Addr, 192, 128),
    ],
    protocol_key: Some(ProtoKey::Meta { key: MetaKey::L4proto, ty: Type::InetProto, bits: 8 }),
    links: IP_UPPER,
    length: 0,
    checksum: None,
    inner: None,
};
