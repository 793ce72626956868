//! `osf` (passive OS fingerprint): `osf [ttl loose|skip] name|version`, a 16-byte string.

use crate::types::{ByteOrder, Type};

/// `osf ttl …` modes (`NF_OSF_TTL_*`): 0 true (default), 1 loose, 2 skip.
pub static TTL_WORDS: &[(&str, u8)] = &[("loose", 1), ("skip", 2)];

/// `NFT_OSF_F_VERSION`: match the version too (`osf version "Linux:3.0"`).
pub const F_VERSION: u32 = 1;

/// What `osf` yields: a name up to 15 characters.
pub const TYPE: (Type, u32, ByteOrder) = (Type::String, 128, ByteOrder::Host);

/// The TTL mode a word names.
pub fn ttl(word: &str) -> Option<u8> {
    TTL_WORDS.iter().find(|(w, _)| *w == word).map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_sixteen_bytes() {
        assert!(TYPE.0.parse_as("Linux", TYPE.1, TYPE.2).is_ok());
        assert!(TYPE.0.parse_as("morethansixteenbytes", TYPE.1, TYPE.2).is_err());
        assert_eq!(ttl("skip"), Some(2));
        assert_eq!(ttl("nottl"), None);
    }
}
