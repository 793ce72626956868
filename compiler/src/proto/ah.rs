//! IPsec Authentication Header (transport base; links to the protocol it protects).

use super::{Field, INET_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Ah,
    name: "ah",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("nexthdr", Type::InetProto, 0, 8),
        Field::new("hdrlength", Type::Integer, 8, 8),
        Field::new("reserved", Type::Integer, 16, 16),
        Field::new("spi", Type::Integer, 32, 32),
        Field::new("sequence", Type::Integer, 64, 32),
    ],
    protocol_key: Some(ProtoKey::Field("nexthdr")),
    links: INET_UPPER,
    length: 0,
    checksum: None,
    inner: None,
};
