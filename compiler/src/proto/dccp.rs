//! DCCP generic header (transport): ports and the 4-bit packet type.

use super::{Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Dccp,
    name: "dccp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("sport", Type::InetService, 0, 16),
        Field::new("dport", Type::InetService, 16, 16),
        Field::new("type", Type::DccpPktType, 67, 4),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: None,
    inner: None,
};
