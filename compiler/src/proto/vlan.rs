//! 802.1Q VLAN tag (link layer, stacked after ether: offsets count from the tag, the
//! evaluator adds the 14 bytes of the Ethernet header, as nft's LL stacking does).

use super::{Field, LL_UPPER, Proto, ProtoDesc, ProtoKey};
use crate::types::Type;
use nftvm_vm::keys::PayloadBase;

pub static DESC: ProtoDesc = ProtoDesc {
    proto: Proto::Vlan,
    name: "vlan",
    base: PayloadBase::Link,
    fields: &[
        Field::new("pcp", Type::Integer, 0, 3),
        Field::new("dei", Type::Integer, 3, 1),
        Field::new("cfi", Type::Integer, 3, 1),
        Field::new("id", Type::Integer, 4, 12),
        Field::new("type", Type::EtherType, 16, 16),
    ],
    protocol_key: Some(ProtoKey::Field("type")),
    links: LL_UPPER,
    length: 4 * 8,
    checksum: None,
    inner: None,
};
