//! GRE and GRE-TAP (transport base; both tunnels for `inner` matches). GRE's first 16 bits
//! are flags and version; the protocol is an ether type.

use super::{Field, Inner, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::{MetaKey, PayloadBase};

const L4PROTO: ProtoKey = ProtoKey::Meta { key: MetaKey::L4proto, ty: Type::InetProto, bits: 8 };

pub static GRE: ProtoDesc = ProtoDesc {
    proto: Proto::Gre,
    name: "gre",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("flags", Type::Integer, 0, 5),
        Field::new("version", Type::Integer, 13, 3),
        Field::new("protocol", Type::EtherType, 16, 16),
    ],
    protocol_key: Some(L4PROTO),
    links: &[],
    length: 0,
    checksum: None,
    inner: Some(Inner { hdrsize: 4, flags: super::tunnel::INNER_NH | super::tunnel::INNER_TH, kind: 3 }),
};

pub static GRETAP: ProtoDesc = ProtoDesc {
    proto: Proto::Gretap,
    name: "gretap",
    base: PayloadBase::Transport,
    fields: &[],
    protocol_key: Some(L4PROTO),
    links: &[],
    length: 0,
    checksum: None,
    inner: Some(Inner {
        hdrsize: 4,
        flags: super::tunnel::INNER_LL | super::tunnel::INNER_NH | super::tunnel::INNER_TH,
        kind: 4,
    }),
};
