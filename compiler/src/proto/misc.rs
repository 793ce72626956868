//! Generated values: `numgen inc|random mod N [offset M]` and
//! `jhash <expr> mod N [seed S] [offset M]` / `symhash mod N [offset M]`. All yield a 32-bit
//! host-order integer.

use crate::types::{ByteOrder, Type};

/// `NFT_NG_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumgenType {
    Inc = 0,
    Random = 1,
}

impl NumgenType {
    pub fn token(self) -> &'static str {
        match self {
            NumgenType::Inc => "inc",
            NumgenType::Random => "random",
        }
    }

    pub fn from_token(word: &str) -> Option<NumgenType> {
        [NumgenType::Inc, NumgenType::Random].into_iter().find(|t| t.token() == word)
    }
}

/// `NFT_HASH_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    Jenkins = 0,
    Sym = 1,
}

impl HashKind {
    pub fn token(self) -> &'static str {
        match self {
            HashKind::Jenkins => "jhash",
            HashKind::Sym => "symhash",
        }
    }

    pub fn from_token(word: &str) -> Option<HashKind> {
        [HashKind::Jenkins, HashKind::Sym].into_iter().find(|t| t.token() == word)
    }
}

/// What numgen and hash yield.
pub const RESULT: (Type, u32, ByteOrder) = (Type::Integer, 32, ByteOrder::Host);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(NumgenType::from_token("random"), Some(NumgenType::Random));
        assert_eq!(HashKind::from_token("jhash"), Some(HashKind::Jenkins));
        assert_eq!(HashKind::from_token("md5"), None);
    }
}
