//! ICMPv6 header (transport), with the message-specific fields of echo, packet-too-big,
//! parameter-problem, MLD and neighbour discovery.

use super::{Checksum, Field, IcmpDep, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Icmpv6,
    name: "icmpv6",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("type", Type::Icmpv6Type, 0, 8),
        Field::new("code", Type::Icmpv6Code, 8, 8),
        Field::new("checksum", Type::Integer, 16, 16),
        Field::icmp("parameter-problem", Type::Integer, 32, 32, IcmpDep::V6Pptr),
        Field::icmp("mtu", Type::Integer, 32, 32, IcmpDep::V6Mtu),
        Field::icmp("id", Type::Integer, 32, 16, IcmpDep::V6Echo),
        Field::icmp("sequence", Type::Integer, 48, 16, IcmpDep::V6Echo),
        Field::icmp("max-delay", Type::Integer, 32, 16, IcmpDep::V6Mgmq),
        Field::icmp("taddr", Type::Ipv6Addr, 64, 128, IcmpDep::V6Address),
        Field::icmp("daddr", Type::Ipv6Addr, 192, 128, IcmpDep::V6Redirect),
    ],
    protocol_key: Some(ProtoKey::Field("type")),
    links: &[],
    length: 0,
    checksum: Some(("checksum", Checksum::Inet)),
    inner: None,
};
