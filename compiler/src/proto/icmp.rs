//! ICMP header (transport). `id`/`sequence`, `gateway` and `mtu` only exist in some message
//! types; their [`IcmpDep`] says which.

use super::{Checksum, Field, IcmpDep, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Icmp,
    name: "icmp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("type", Type::IcmpType, 0, 8),
        Field::new("code", Type::IcmpCode, 8, 8),
        Field::new("checksum", Type::Integer, 16, 16),
        Field::icmp("id", Type::Integer, 32, 16, IcmpDep::Echo),
        Field::icmp("sequence", Type::Integer, 48, 16, IcmpDep::Echo),
        Field::icmp("gateway", Type::Integer, 32, 32, IcmpDep::Address),
        Field::icmp("mtu", Type::Integer, 48, 16, IcmpDep::Mtu),
    ],
    protocol_key: Some(ProtoKey::Field("type")),
    links: &[],
    length: 0,
    checksum: Some(("checksum", Checksum::Inet)),
    inner: None,
};
