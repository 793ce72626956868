//! IP Payload Compression header (transport base).

use super::{Field, INET_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Comp,
    name: "comp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("nexthdr", Type::InetProto, 0, 8),
        Field::new("flags", Type::Bitmask, 8, 8),
        Field::new("cpi", Type::Integer, 16, 16),
    ],
    protocol_key: Some(ProtoKey::Field("nexthdr")),
    links: INET_UPPER,
    length: 0,
    checksum: None,
    inner: None,
};
