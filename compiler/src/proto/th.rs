//! `th`: the ports every port-based transport header shares (tcp, udp, udplite, dccp, sctp),
//! for matching without naming the protocol.

use super::{Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Th,
    name: "th",
    base: PayloadBase::Transport,
    fields: &[Field::new("sport", Type::InetService, 0, 16), Field::new("dport", Type::InetService, 16, 16)],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: None,
    inner: None,
};
