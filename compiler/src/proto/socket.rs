//! `socket` keys: `socket transparent`, `socket mark`, `socket wildcard`,
//! `socket cgroupv2 level N`.

use crate::types::{ByteOrder, Type};

/// `NFT_SOCKET_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketKey {
    Transparent = 0,
    Mark = 1,
    Wildcard = 2,
    Cgroupv2 = 3,
}

/// Facts about one socket key.
#[derive(Debug, PartialEq)]
pub struct SocketInfo {
    pub key: SocketKey,
    pub token: &'static str,
    pub ty: Type,
    /// Width in bits.
    pub bits: u32,
    /// Largest value a match may compare with (nft: "Value 2 exceeds valid range 0-1").
    pub max_value: Option<u128>,
    pub order: ByteOrder,
    /// Takes `level N` after the key.
    pub takes_level: bool,
}

pub static SOCKET_KEYS: &[SocketInfo] = &[
    SocketInfo {
        key: SocketKey::Transparent,
        token: "transparent",
        ty: Type::Integer,
        bits: 8,
        max_value: Some(1),
        order: ByteOrder::Host,
        takes_level: false,
    },
    SocketInfo {
        key: SocketKey::Mark,
        token: "mark",
        ty: Type::Mark,
        bits: 32,
        max_value: None,
        order: ByteOrder::Host,
        takes_level: false,
    },
    SocketInfo {
        key: SocketKey::Wildcard,
        token: "wildcard",
        ty: Type::Integer,
        bits: 8,
        max_value: Some(1),
        order: ByteOrder::Host,
        takes_level: false,
    },
    SocketInfo {
        key: SocketKey::Cgroupv2,
        token: "cgroupv2",
        ty: Type::CgroupV2,
        bits: 64,
        max_value: None,
        order: ByteOrder::Host,
        takes_level: true,
    },
];

/// The key a word names.
pub fn by_token(word: &str) -> Option<&'static SocketInfo> {
    SOCKET_KEYS.iter().find(|s| s.token == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_is_a_byte_holding_zero_or_one() {
        let t = by_token("transparent").unwrap();
        assert!(t.ty.parse_as("1", t.bits, t.order).is_ok());
        assert_eq!(t.max_value, Some(1));
        assert!(by_token("cgroupv2").unwrap().takes_level);
    }
}
