//! UDP tunnels (VXLAN, Geneve): their own fields are read at the tunnel header base (inside
//! an `inner` expression); they carry an Ethernet frame.

use super::{Field, Inner, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

/// `NFT_INNER_HDRSIZE`: the tunnel header has a fixed size.
pub const INNER_HDRSIZE: u32 = 1 << 0;
/// `NFT_INNER_LL`: an inner link layer follows.
pub const INNER_LL: u32 = 1 << 1;
/// `NFT_INNER_NH`: an inner network header follows.
pub const INNER_NH: u32 = 1 << 2;
/// `NFT_INNER_TH`: an inner transport header follows.
pub const INNER_TH: u32 = 1 << 3;

const TUNNEL_UPPER: &[(u32, Proto)] =
    &[(0x0800, Proto::Ip), (0x0806, Proto::Arp), (0x86dd, Proto::Ip6), (0x8100, Proto::Vlan)];

pub static VXLAN: ProtoDesc = ProtoDesc {
    proto: Proto::Vxlan,
    name: "vxlan",
    base: PayloadBase::Tunnel,
    fields: &[Field::new("flags", Type::Bitmask, 0, 8), Field::new("vni", Type::Integer, 32, 24)],
    protocol_key: None,
    links: TUNNEL_UPPER,
    length: 0,
    checksum: None,
    inner: Some(Inner { hdrsize: 8, flags: INNER_HDRSIZE | INNER_LL | INNER_NH | INNER_TH, kind: 1 }),
};

pub static GENEVE: ProtoDesc = ProtoDesc {
    proto: Proto::Geneve,
    name: "geneve",
    base: PayloadBase::Tunnel,
    fields: &[Field::new("type", Type::EtherType, 16, 16), Field::new("vni", Type::Integer, 32, 24)],
    protocol_key: None,
    links: TUNNEL_UPPER,
    length: 0,
    checksum: None,
    inner: Some(Inner { hdrsize: 8, flags: INNER_HDRSIZE | INNER_LL | INNER_NH | INNER_TH, kind: 2 }),
};
