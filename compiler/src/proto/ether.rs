//! Ethernet header (link layer): destination, source, ether type.

use super::{Field, LL_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Ether,
    name: "ether",
    base: PayloadBase::Link,
    fields: &[
        Field::new("daddr", Type::EtherAddr, 0, 48),
        Field::new("saddr", Type::EtherAddr, 48, 48),
        Field::new("type", Type::EtherType, 96, 16),
    ],
    protocol_key: Some(ProtoKey::Field("type")),
    links: LL_UPPER,
    length: 14 * 8,
    checksum: None,
    inner: None,
};

/// `ARPHRD_ETHER`: the `meta iiftype` value that proves a packet has an Ethernet header.
pub const ARPHRD_ETHER: u16 = 1;
