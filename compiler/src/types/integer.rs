//! Integers, bitmasks and strings: the base types every other datatype falls back to.
//!
//! Numbers are read as nft reads them (GMP's base 0: `0x` hex, `0b` binary, a leading `0`
//! octal, else decimal); strings become zero-padded byte images; an unescaped trailing `*`
//! makes an interface-name wildcard (`"eth*"` compares only `eth`).

use super::TypeError;
use super::value::{ByteOrder, Value};

/// Parse an integer literal the way nft does (base prefix aware). None if it is not one.
pub fn parse_number(text: &str) -> Option<u128> {
    let (digits, radix) = if let Some(rest) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (rest, 16)
    } else if let Some(rest) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
        (rest, 2)
    } else if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u128::from_str_radix(digits, radix).ok()
}

/// Decimal rendering (hex bytes for values wider than 128 bits).
pub fn print_decimal(value: &Value) -> String {
    match value.to_u128() {
        Some(n) => n.to_string(),
        None => print_hex(value, 0),
    }
}

/// `0x…` rendering with at least `width` digits.
pub fn print_hex(value: &Value, width: u8) -> String {
    match value.to_u128() {
        Some(n) => format!("0x{n:0width$x}", width = usize::from(width)),
        None => {
            let mut s = String::from("0x");
            let bytes: Vec<u8> = match value.order() {
                ByteOrder::Network => value.bytes().to_vec(),
                ByteOrder::Host => value.bytes().iter().rev().copied().collect(),
            };
            for b in bytes {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
    }
}

/// A string literal: zero-padded to `bits` (or its own length plus NUL when `bits` is 0).
pub fn parse_string(text: &str, bits: u32) -> Result<Value, TypeError> {
    if text.is_empty() {
        return Err(TypeError::new("Empty string is not allowed"));
    }
    let len = if bits == 0 { text.len() + 1 } else { (bits / 8) as usize };
    Value::padded_string(text, len)
        .map_err(|_| TypeError::new(format!("String exceeds maximum length of {}", len.saturating_sub(1))))
}

/// Quoted string up to the first NUL; a literal trailing `*` is escaped (`"dummy\*"`) so it
/// does not read back as a wildcard.
pub fn print_string(value: &Value) -> String {
    let text = value.to_str_lossy();
    match text.strip_suffix('*') {
        Some(head) => format!("\"{head}\\*\""),
        None => format!("\"{text}\""),
    }
}

/// A string match as nft lists it: `"eth*"` for a prefix, `"eth\*"` for a literal star.
pub fn print_string_match(m: &StringMatch) -> String {
    match m {
        StringMatch::Prefix(p) => format!("\"{p}*\""),
        StringMatch::Exact(e) => match e.strip_suffix('*') {
            Some(head) => format!("\"{head}\\*\""),
            None => format!("\"{e}\""),
        },
    }
}

/// How a string literal compares against a string field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StringMatch {
    /// The whole (zero-padded) field must equal this text.
    Exact(String),
    /// Only the leading bytes must equal this text (`"eth*"`).
    Prefix(String),
}

/// Classify a string literal: a trailing unescaped `*` is a wildcard; `\*` is a literal star.
pub fn string_match(text: &str) -> StringMatch {
    if let Some(head) = text.strip_suffix("\\*") {
        return StringMatch::Exact(format!("{head}*"));
    }
    match text.strip_suffix('*') {
        Some(head) => StringMatch::Prefix(head.to_string()),
        None => StringMatch::Exact(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_gmp_base_zero() {
        assert_eq!(parse_number("22"), Some(22));
        assert_eq!(parse_number("0x38"), Some(0x38));
        assert_eq!(parse_number("0b101"), Some(5));
        assert_eq!(parse_number("010"), Some(8));
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("ssh"), None);
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_number("99999999999999999999999999999999999999999999"), None);
    }

    #[test]
    fn hex_and_decimal_printing() {
        let v = Value::from_uint(32, ByteOrder::Host, 0x32).unwrap();
        assert_eq!(print_hex(&v, 8), "0x00000032");
        assert_eq!(print_hex(&v, 0), "0x32");
        assert_eq!(print_decimal(&v), "50");
    }

    #[test]
    fn strings_and_wildcards() {
        assert_eq!(parse_string("lo", 128).unwrap().len(), 16);
        assert_eq!(parse_string("ftp", 0).unwrap().len(), 4);
        assert!(parse_string("12345678901234567", 128).is_err());
        assert!(parse_string("", 128).is_err());
        assert_eq!(string_match("dummy*"), StringMatch::Prefix("dummy".into()));
        assert_eq!(string_match("dummy\\*"), StringMatch::Exact("dummy*".into()));
        assert_eq!(string_match("dummy0"), StringMatch::Exact("dummy0".into()));
        assert_eq!(print_string_match(&string_match("dummy*")), "\"dummy*\"");
        assert_eq!(print_string_match(&string_match("dummy\\*")), "\"dummy\\*\"");
        assert_eq!(print_string(&parse_string("dummy*", 128).unwrap()), "\"dummy\\*\"");
    }
}
