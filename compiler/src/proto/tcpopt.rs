//! TCP options (`tcp option maxseg size`): kind numbers and field layouts. SACK blocks 1-3
//! are separate names (`sack1 left`); `sack0` is `sack`. A number names any other kind,
//! with only `kind` and `length`.

use super::Field;
use super::exthdr::ExtDesc;
use crate::types::Type;

const KIND: Field = Field::new("kind", Type::Integer, 0, 8);
const LENGTH: Field = Field::new("length", Type::Integer, 8, 8);

const fn sack_block(name: &'static str, fields: &'static [Field]) -> ExtDesc {
    ExtDesc { name, kind: 5, fields, indexed: None }
}

const fn left(offset: u32) -> Field {
    Field::new("left", Type::Integer, offset, 32)
}

const fn right(offset: u32) -> Field {
    Field::new("right", Type::Integer, offset, 32)
}

const SACK0: &[Field] = &[KIND, LENGTH, left(16), right(48)];
const SACK1: &[Field] = &[KIND, LENGTH, left(80), right(112)];
const SACK2: &[Field] = &[KIND, LENGTH, left(144), right(176)];
const SACK3: &[Field] = &[KIND, LENGTH, left(208), right(240)];

pub static OPTIONS: &[ExtDesc] = &[
    ExtDesc { name: "eol", kind: 0, fields: &[KIND], indexed: None },
    ExtDesc { name: "nop", kind: 1, fields: &[KIND], indexed: None },
    ExtDesc {
        name: "maxseg",
        kind: nftvm_vm::expr::exthdr::TCPOPT_MSS as u32,
        fields: &[KIND, LENGTH, Field::new("size", Type::Integer, 16, 16)],
        indexed: None,
    },
    ExtDesc {
        name: "window",
        kind: 3,
        fields: &[KIND, LENGTH, Field::new("count", Type::Integer, 16, 8)],
        indexed: None,
    },
    ExtDesc { name: "sack-perm", kind: 4, fields: &[KIND, LENGTH], indexed: None },
    sack_block("sack", SACK0),
    sack_block("sack1", SACK1),
    sack_block("sack2", SACK2),
    sack_block("sack3", SACK3),
    ExtDesc {
        name: "timestamp",
        kind: 8,
        fields: &[
            KIND,
            LENGTH,
            Field::new("tsval", Type::Integer, 16, 32),
            Field::new("tsecr", Type::Integer, 48, 32),
        ],
        indexed: None,
    },
    ExtDesc { name: "md5sig", kind: 19, fields: &[KIND, LENGTH], indexed: None },
    ExtDesc {
        name: "mptcp",
        kind: 30,
        fields: &[KIND, LENGTH, Field::new("subtype", Type::MptcpSubtype, 16, 4)],
        indexed: None,
    },
    ExtDesc { name: "fastopen", kind: 34, fields: &[KIND, LENGTH], indexed: None },
];

/// Layout for a kind we have no name for.
pub static FALLBACK: ExtDesc = ExtDesc { name: "", kind: 0, fields: &[KIND, LENGTH], indexed: None };

/// An option by name (`sack0` is `sack`).
pub fn by_name(name: &str) -> Option<&'static ExtDesc> {
    let name = if name == "sack0" { "sack" } else { name };
    OPTIONS.iter().find(|o| o.name == name)
}

/// The named option for a kind number (the first, for SACK), if any.
pub fn by_kind(kind: u32) -> Option<&'static ExtDesc> {
    OPTIONS.iter().find(|o| o.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_nfts_payloads() {
        // `tcp option sack2 left 1` loads 4b @ 5 + 18; `maxseg size` 2b @ 2 + 2.
        let left = by_name("sack2").unwrap().field("left").unwrap();
        assert_eq!(left.load_span(), (18, 4));
        assert_eq!(by_name("sack0").unwrap().name, "sack");
        assert_eq!(by_name("maxseg").unwrap().field("size").unwrap().load_span(), (2, 2));
        assert_eq!(by_kind(2).unwrap().name, "maxseg");
        assert!(by_name("foobar").is_none());
    }
}
