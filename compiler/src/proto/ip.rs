//! IPv4 header (network layer). The upper protocol is selected with `meta l4proto` (what nft
//! generates as the dependency), though `ip protocol` is a field as well.

use super::{Checksum, Field, IP_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::{MetaKey, PayloadBase};

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Ip,
    name: "ip",
    base: PayloadBase::Network,
    fields: &[
        Field::new("version", Type::Integer, 0, 4),
        Field::new("hdrlength", Type::Integer, 4, 4),
        Field::new("dscp", Type::Dscp, 8, 6),
        Field::new("ecn", Type::Ecn, 14, 2),
        Field::new("length", Type::Integer, 16, 16),
        Field::new("id", Type::Integer, 32, 16),
        Field::new("frag-off", Type::XInteger, 48, 16),
        Field::new("ttl", Type::Integer, 64, 8),
        Field::new("protocol", Type::InetProto, 72, 8),
        Field::new("checksum", Type::Integer, 80, 16),
        Field::new("saddr", Type::Ipv4Addr, 96, 32),
        Field::new("daddr", Type::Ipv4Addr, 128, 32),
    ],
    protocol_key: Some(ProtoKey::Meta { key: MetaKey::L4proto, ty: Type::InetProto, bits: 8 }),
    links: IP_UPPER,
    length: 0,
    checksum: Some(("checksum", Checksum::Inet)),
    inner: None,
};
