//! TCP header (transport). Options live in [`super::tcpopt`].

use super::{Checksum, Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Tcp,
    name: "tcp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("sport", Type::InetService, 0, 16),
        Field::new("dport", Type::InetService, 16, 16),
        Field::new("sequence", Type::Integer, 32, 32),
        Field::new("ackseq", Type::Integer, 64, 32),
        Field::new("doff", Type::Integer, 96, 4),
        Field::new("reserved", Type::Integer, 100, 4),
        Field::new("flags", Type::TcpFlag, 104, 8),
        Field::new("window", Type::Integer, 112, 16),
        Field::new("checksum", Type::Integer, 128, 16),
        Field::new("urgptr", Type::Integer, 144, 16),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: Some(("checksum", Checksum::Inet)),
    inner: None,
};
