//! Conntrack labels: `ct label 127` is a 128-bit host-order bitmap with that bit set.
//!
//! nft names labels through `/etc/connlabel.conf`; we accept bit numbers only, and print
//! the lowest set bit, as nft does when it knows no name.

use super::TypeError;
use super::value::Value;

/// Number of label bits.
pub const CT_LABEL_BITS: u32 = 128;

pub(super) fn parse_label(text: &str) -> Result<u128, TypeError> {
    let bit = super::integer::parse_number(text).ok_or_else(|| {
        TypeError::new(format!("/etc/connlabel.conf: could not parse conntrack label \"{text}\""))
    })?;
    if bit >= u128::from(CT_LABEL_BITS) {
        return Err(TypeError::new(format!("{text}: bit {bit} out of range ({CT_LABEL_BITS} max)")));
    }
    Ok(1u128 << bit)
}

pub(super) fn print_label(value: &Value) -> String {
    match value.to_u128() {
        Some(0) | None => "0".to_string(),
        Some(n) => n.trailing_zeros().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ByteOrder, PrintOpts, Type};

    #[test]
    fn labels_are_bits() {
        let v = Type::CtLabel.parse("127").unwrap();
        assert_eq!(v.bits(), 128);
        assert_eq!(v.order(), ByteOrder::Host);
        assert_eq!(v.bytes()[15], 0x80);
        assert_eq!(Type::CtLabel.print(&v, &PrintOpts::default()), "127");
        assert!(Type::CtLabel.parse("128").unwrap_err().message.contains("out of range"));
        assert!(Type::CtLabel.parse("foo").is_err());
    }
}
