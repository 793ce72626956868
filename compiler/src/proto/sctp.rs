//! SCTP common header (transport). Chunks live in [`super::sctp_chunk`].

use super::{Checksum, Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Sctp,
    name: "sctp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("sport", Type::InetService, 0, 16),
        Field::new("dport", Type::InetService, 16, 16),
        Field::new("vtag", Type::Integer, 32, 32),
        Field::new("checksum", Type::Integer, 64, 32),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: Some(("checksum", Checksum::Sctp)),
    inner: None,
};
