//! ARP header (network layer): hardware/protocol types and lengths, operation, and the
//! Ethernet/IPv4 sender and target addresses (two-word field names: `saddr ip`).

use super::{Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Arp,
    name: "arp",
    base: PayloadBase::Network,
    fields: &[
        Field::new("htype", Type::Integer, 0, 16),
        Field::new("ptype", Type::EtherType, 16, 16),
        Field::new("hlen", Type::Integer, 32, 8),
        Field::new("plen", Type::Integer, 40, 8),
        Field::new("operation", Type::ArpOp, 48, 16),
        Field::new("saddr ether", Type::EtherAddr, 64, 48),
        Field::new("saddr ip", Type::Ipv4Addr, 112, 32),
        Field::new("daddr ether", Type::EtherAddr, 144, 48),
        Field::new("daddr ip", Type::Ipv4Addr, 192, 32),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: None,
    inner: None,
};
