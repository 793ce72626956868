//! IPv4 options (`ip option rr ptr`): loose/strict source route, record route, router alert.

use super::Field;
use super::exthdr::ExtDesc;
use crate::types::Type;

const TYPE: Field = Field::new("type", Type::Integer, 0, 8);
const LENGTH: Field = Field::new("length", Type::Integer, 8, 8);
const PTR: Field = Field::new("ptr", Type::Integer, 16, 8);
const ADDR: Field = Field::new("addr", Type::Ipv4Addr, 24, 32);

pub static OPTIONS: &[ExtDesc] = &[
    ExtDesc { name: "lsrr", kind: 131, fields: &[TYPE, LENGTH, PTR, ADDR], indexed: None },
    ExtDesc { name: "rr", kind: 7, fields: &[TYPE, LENGTH, PTR, ADDR], indexed: None },
    ExtDesc { name: "ssrr", kind: 137, fields: &[TYPE, LENGTH, PTR, ADDR], indexed: None },
    ExtDesc {
        name: "ra",
        kind: 148,
        fields: &[TYPE, LENGTH, Field::new("value", Type::Integer, 16, 16)],
        indexed: None,
    },
];

/// An option by name.
pub fn by_name(name: &str) -> Option<&'static ExtDesc> {
    OPTIONS.iter().find(|o| o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(by_name("ra").unwrap().kind, 148);
        assert_eq!(by_name("lsrr").unwrap().field("addr").unwrap().load_span(), (3, 4));
    }
}
