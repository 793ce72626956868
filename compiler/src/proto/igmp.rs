//! IGMP header (transport).

use super::{Checksum, Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Igmp,
    name: "igmp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("type", Type::IgmpType, 0, 8),
        Field::new("mrt", Type::Integer, 8, 8),
        Field::new("checksum", Type::Integer, 16, 16),
        Field::new("group", Type::Integer, 32, 32),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: Some(("checksum", Checksum::Inet)),
    inner: None,
};
