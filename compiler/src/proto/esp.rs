//! IPsec Encapsulating Security Payload header (transport base).

use super::{Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Esp,
    name: "esp",
    base: PayloadBase::Transport,
    fields: &[Field::new("spi", Type::Integer, 0, 32), Field::new("sequence", Type::Integer, 32, 32)],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: None,
    inner: None,
};
