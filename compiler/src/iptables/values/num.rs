//! Integer parsing with the C library semantics iptables relies on (`strtoumax` through
//! `xtables_strtoul`): optional leading blanks, optional `+`, no `-`, base 0 meaning `0x…`
//! hexadecimal / `0…` octal / decimal. Extensions that accept `0x10` or `020` do so because
//! of this, so every numeric option goes through here.

/// Result of scanning a number at the start of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned {
    pub value: u64,
    /// Bytes consumed (the rest of the string starts here).
    pub end: usize,
}

/// `strtoumax(s, &end, base)` restricted to what `xtables_strtoul_base` accepts: `None` when
/// there are no digits, a `-` sign, or the value overflows 64 bits.
pub fn scan_u64(s: &str, base: u32) -> Option<Scanned> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'-') => return None,
        Some(b'+') => i += 1,
        _ => {}
    }
    let mut base = base;
    let has_hex_prefix = |at: usize| {
        bytes.get(at) == Some(&b'0')
            && matches!(bytes.get(at + 1), Some(b'x' | b'X'))
            && bytes.get(at + 2).is_some_and(|b| b.is_ascii_hexdigit())
    };
    if (base == 0 || base == 16) && has_hex_prefix(i) {
        i += 2;
        base = 16;
    } else if base == 0 {
        base = if bytes.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = bytes.get(i).and_then(|&b| (b as char).to_digit(base)) {
        match value.checked_mul(base as u64).and_then(|v| v.checked_add(d as u64)) {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start || overflow {
        return None;
    }
    Some(Scanned { value, end: i })
}

/// A whole string as an unsigned integer within `min..=max` (base 0), like
/// `xtables_strtoul(s, NULL, …)`.
pub fn parse_uint(s: &str, min: u64, max: u64) -> Option<u64> {
    parse_uint_base(s, min, max, 0)
}

/// [`parse_uint`] with an explicit base.
pub fn parse_uint_base(s: &str, min: u64, max: u64, base: u32) -> Option<u64> {
    let n = scan_u64(s, base)?;
    (n.end == s.len() && n.value >= min && n.value <= max).then_some(n.value)
}

/// A number at the start of `s` within `min..=max`; returns it and the unparsed rest, like
/// `xtables_strtoul(s, &end, …)`.
pub fn parse_uint_prefix(s: &str, min: u64, max: u64) -> Option<(u64, &str)> {
    let n = scan_u64(s, 0)?;
    (n.value >= min && n.value <= max).then(|| (n.value, &s[n.end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_semantics() {
        assert_eq!(parse_uint("22", 0, 65535), Some(22));
        assert_eq!(parse_uint("0x16", 0, 65535), Some(22));
        assert_eq!(parse_uint("026", 0, 65535), Some(22));
        assert_eq!(parse_uint(" +7", 0, 10), Some(7));
        assert_eq!(parse_uint("-1", 0, 10), None);
        assert_eq!(parse_uint("65536", 0, 65535), None);
        assert_eq!(parse_uint("", 0, 10), None);
        assert_eq!(parse_uint("12a", 0, 100), None);
        assert_eq!(parse_uint("18446744073709551615", 0, u64::MAX), Some(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616", 0, u64::MAX), None);
        assert_eq!(parse_uint_prefix("10:20", 0, 100), Some((10, ":20")));
        // "0x" without hex digits is the number 0 followed by "x".
        assert_eq!(parse_uint_prefix("0x", 0, 100), Some((0, "x")));
        assert_eq!(parse_uint("09", 0, 100), None);
    }
}
