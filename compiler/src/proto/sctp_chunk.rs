//! SCTP chunks (`sctp chunk init num-inbound-streams`): chunk type numbers and the fields
//! after the common type/flags/length.

use super::Field;
use super::exthdr::ExtDesc;
use crate::types::Type;

const TYPE: Field = Field::new("type", Type::Integer, 0, 8);
const FLAGS: Field = Field::new("flags", Type::Integer, 8, 8);
const LENGTH: Field = Field::new("length", Type::Integer, 16, 16);

const fn f(name: &'static str, offset: u32, len: u32) -> Field {
    Field::new(name, Type::Integer, offset, len)
}

const fn common(name: &'static str, kind: u32) -> ExtDesc {
    ExtDesc { name, kind, fields: &[TYPE, FLAGS, LENGTH], indexed: None }
}

const INIT_FIELDS: &[Field] = &[
    TYPE,
    FLAGS,
    LENGTH,
    f("init-tag", 32, 32),
    f("a-rwnd", 64, 32),
    f("num-outbound-streams", 96, 16),
    f("num-inbound-streams", 112, 16),
    f("initial-tsn", 128, 32),
];

pub static CHUNKS: &[ExtDesc] = &[
    ExtDesc {
        name: "data",
        kind: 0,
        fields: &[
            TYPE,
            FLAGS,
            LENGTH,
            f("tsn", 32, 32),
            f("stream", 64, 16),
            f("ssn", 80, 16),
            f("ppid", 96, 32),
        ],
        indexed: None,
    },
    ExtDesc { name: "init", kind: 1, fields: INIT_FIELDS, indexed: None },
    ExtDesc { name: "init-ack", kind: 2, fields: INIT_FIELDS, indexed: None },
    ExtDesc {
        name: "sack",
        kind: 3,
        fields: &[
            TYPE,
            FLAGS,
            LENGTH,
            f("cum-tsn-ack", 32, 32),
            f("a-rwnd", 64, 32),
            f("num-gap-ack-blocks", 96, 16),
            f("num-dup-tsns", 112, 16),
        ],
        indexed: None,
    },
    common("heartbeat", 4),
    common("heartbeat-ack", 5),
    common("abort", 6),
    ExtDesc {
        name: "shutdown",
        kind: 7,
        fields: &[TYPE, FLAGS, LENGTH, f("cum-tsn-ack", 32, 32)],
        indexed: None,
    },
    common("shutdown-ack", 8),
    common("error", 9),
    common("cookie-echo", 10),
    common("cookie-ack", 11),
    ExtDesc {
        name: "ecne",
        kind: 12,
        fields: &[TYPE, FLAGS, LENGTH, f("lowest-tsn", 32, 32)],
        indexed: None,
    },
    ExtDesc { name: "cwr", kind: 13, fields: &[TYPE, FLAGS, LENGTH, f("lowest-tsn", 32, 32)], indexed: None },
    common("shutdown-complete", 14),
    // The chunks of RFC 8260 (interleaving), 6525 (stream reconfiguration) and 4820
    // (padding), by the names `iptables-translate` gives them (`--chunk-types only` lists
    // them as `missing`); only their common header is named here.
    common("i-data", 64),
    common("re-config", 130),
    common("pad", 132),
    common("i-forward-tsn", 194),
    ExtDesc {
        name: "asconf-ack",
        kind: 128,
        fields: &[TYPE, FLAGS, LENGTH, f("seqno", 32, 32)],
        indexed: None,
    },
    ExtDesc {
        name: "forward-tsn",
        kind: 192,
        fields: &[TYPE, FLAGS, LENGTH, f("new-cum-tsn", 32, 32)],
        indexed: None,
    },
    ExtDesc { name: "asconf", kind: 193, fields: &[TYPE, FLAGS, LENGTH, f("seqno", 32, 32)], indexed: None },
];

/// A chunk by name.
pub fn by_name(name: &str) -> Option<&'static ExtDesc> {
    CHUNKS.iter().find(|c| c.name == name)
}

/// nft's name of chunk type `kind`, if it has one.
pub fn name_of(kind: u8) -> Option<&'static str> {
    CHUNKS.iter().find(|c| c.kind == u32::from(kind)).map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks() {
        assert_eq!(by_name("asconf").unwrap().kind, 193);
        assert_eq!(by_name("init").unwrap().field("num-inbound-streams").unwrap().load_span(), (14, 2));
        assert!(by_name("bogus").is_none());
        assert_eq!(by_name("i-forward-tsn").unwrap().kind, 194);
        assert_eq!((name_of(132), name_of(15)), (Some("pad"), None));
    }
}
