//! UDP and UDP-Lite headers (transport). UDP carries the VXLAN and Geneve tunnels.

use super::{Field, Proto, ProtoDesc};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static UDP: ProtoDesc = ProtoDesc {
    proto: Proto::Udp,
    name: "udp",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("sport", Type::InetService, 0, 16),
        Field::new("dport", Type::InetService, 16, 16),
        Field::new("length", Type::Integer, 32, 16),
        Field::new("checksum", Type::Integer, 48, 16),
    ],
    protocol_key: None,
    links: &[(0, Proto::Vxlan), (0, Proto::Geneve)],
    length: 0,
    checksum: None,
    inner: None,
};

pub static UDPLITE: ProtoDesc = ProtoDesc {
    proto: Proto::Udplite,
    name: "udplite",
    base: PayloadBase::Transport,
    fields: &[
        Field::new("sport", Type::InetService, 0, 16),
        Field::new("dport", Type::InetService, 16, 16),
        Field::new("csumcov", Type::Integer, 32, 16),
        Field::new("checksum", Type::Integer, 48, 16),
    ],
    protocol_key: None,
    links: &[],
    length: 0,
    checksum: None,
    inner: None,
};
