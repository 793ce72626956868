//! Constant data values (`NFTA_DATA_VALUE`) and how they print.
//!
//! A value is up to 64 bytes, stored exactly as the kernel keeps it in a register: network
//! order values byte for byte, host order values as little-endian integers (nftvm defines
//! host order as little-endian, the order of every machine it targets). The kernel does not
//! know a value's byte order, but `nft --debug=netlink` prints by it: network order values
//! show their bytes in order, host order values show the whole number most significant digit
//! first (`meta mark 4` → `0x00000004`, `meta time` → `0x002bd849 0x74a8f400`, `ct zone 1` →
//! `0x0001`); either way the digits are cut into groups of 4 bytes. Each [`Data`] therefore
//! carries a [`ByteOrder`] display attribute, set by the compiler (which knows the types) or
//! inferred by the assembler from the register it is compared with.

use std::fmt;

/// Largest value (`NFT_DATA_VALUE_MAXLEN`).
pub const MAX_DATA: usize = 64;

/// The byte order a value is kept in, which decides how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// Big-endian / raw bytes (addresses, ports, strings): printed byte by byte.
    #[default]
    Network,
    /// Host (little-endian) integers (marks, interface indexes, ct state): printed as numbers.
    Host,
}

/// One field of a (possibly concatenated) set key or map data: its length and byte order.
/// Fields after the first start at a 4-byte boundary, as in the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub len: u8,
    pub order: ByteOrder,
}

impl Field {
    pub fn new(len: u8, order: ByteOrder) -> Field {
        Field { len, order }
    }
}

/// Total register length of a list of fields: every field but a lone one is padded to 4 bytes.
pub fn fields_len(fields: &[Field]) -> usize {
    match fields {
        [one] => one.len as usize,
        _ => fields.iter().map(|f| round_up4(f.len as usize)).sum(),
    }
}

/// `n` rounded up to a multiple of 4.
pub fn round_up4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// A constant value of 1..=64 bytes with its display byte order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data {
    len: u8,
    order: ByteOrder,
    bytes: [u8; MAX_DATA],
}

impl Default for Data {
    fn default() -> Self {
        Data { len: 0, order: ByteOrder::Network, bytes: [0; MAX_DATA] }
    }
}

impl Data {
    /// A value from its register bytes; `None` when longer than 64 bytes.
    pub fn new(bytes: &[u8], order: ByteOrder) -> Option<Data> {
        if bytes.len() > MAX_DATA {
            return None;
        }
        let mut d = Data { len: bytes.len() as u8, order, bytes: [0; MAX_DATA] };
        d.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(d)
    }

    /// A 4-byte host-order integer (marks, ifindexes, ct state bits).
    pub fn host_u32(v: u32) -> Data {
        Data::host_uint(v as u64, 4)
    }

    /// A host-order integer of `len` (1..=8) bytes.
    pub fn host_uint(v: u64, len: usize) -> Data {
        let len = len.clamp(1, 8);
        let mut d = Data::zeroed(len, ByteOrder::Host);
        d.bytes[..len].copy_from_slice(&v.to_le_bytes()[..len]);
        d
    }

    /// A network-order integer of `len` (1..=8) bytes.
    pub fn net_uint(v: u64, len: usize) -> Data {
        let len = len.clamp(1, 8);
        let mut d = Data::zeroed(len, ByteOrder::Network);
        d.bytes[..len].copy_from_slice(&v.to_be_bytes()[8 - len..]);
        d
    }

    /// `len` zero bytes.
    pub fn zeroed(len: usize, order: ByteOrder) -> Data {
        Data { len: len.min(MAX_DATA) as u8, order, bytes: [0; MAX_DATA] }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len as usize]
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// The same bytes with another display order.
    pub fn with_order(mut self, order: ByteOrder) -> Data {
        self.order = order;
        self
    }

    /// Keep the printed digits but change the byte order they mean (the assembler uses this
    /// when it learns a value's order only from a later consumer).
    pub fn reinterpret(mut self, order: ByteOrder) -> Data {
        if self.order != order {
            self.bytes[..self.len as usize].reverse();
            self.order = order;
        }
        self
    }

    /// The value as a host-order integer of its first `min(len, 8)` bytes (little-endian).
    pub fn as_host_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        let n = self.len().min(8);
        b[..n].copy_from_slice(&self.bytes[..n]);
        u64::from_le_bytes(b)
    }

    /// The value as a big-endian integer of its first `min(len, 8)` bytes.
    pub fn as_net_u64(&self) -> u64 {
        self.bytes().iter().take(8).fold(0u64, |acc, b| (acc << 8) | *b as u64)
    }

    /// Appends the `0x…` word groups (`0x00e8`, `0x65746830 0x00000000`), space separated.
    pub fn write_words(&self, out: &mut String, prefix: bool) {
        write_groups(out, self.bytes(), self.order, prefix);
    }

    /// Appends the value split by `fields` (`0a000000 . 000a`), without prefix: the form of
    /// set element keys and map data.
    pub fn write_fields(&self, out: &mut String, fields: &[Field]) {
        if fields.len() <= 1 {
            let order = fields.first().map_or(self.order, |f| f.order);
            write_groups(out, self.bytes(), order, false);
            return;
        }
        let mut off = 0usize;
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(" . ");
            }
            let end = (off + f.len as usize).min(self.len());
            let start = off.min(end);
            write_groups(out, &self.bytes[start..end], f.order, false);
            off += round_up4(f.len as usize);
        }
    }

    /// Parses word groups as printed by [`Data::write_words`] (`prefix`: each starts with
    /// `0x`). Each group has an even number of hex digits, at most 8.
    pub fn parse_words(words: &[&str], order: ByteOrder, prefix: bool) -> Result<Data, String> {
        let mut shown = Vec::with_capacity(16);
        for w in words {
            parse_group(w, prefix, &mut shown)?;
        }
        if order == ByteOrder::Host {
            shown.reverse();
        }
        Data::new(&shown, order).ok_or_else(|| format!("value longer than {MAX_DATA} bytes"))
    }

    /// Parses a field-split value (`0a000000 . 000a`, groups without prefix) into the value
    /// and its field lengths. The orders of `fields` (if given) decide how each field reads;
    /// without them every field is read as network order.
    pub fn parse_fields(text: &str, orders: &[ByteOrder]) -> Result<(Data, Vec<u8>), String> {
        let parts: Vec<&str> = text.split(" . ").collect();
        let single = parts.len() == 1;
        let mut bytes = Vec::with_capacity(16);
        let mut lens = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let mut shown = Vec::with_capacity(16);
            for w in part.split_whitespace() {
                parse_group(w, false, &mut shown)?;
            }
            let order = orders.get(i).copied().unwrap_or_default();
            if order == ByteOrder::Host {
                shown.reverse();
            }
            lens.push(u8::try_from(shown.len()).map_err(|_| "field too long".to_string())?);
            bytes.extend_from_slice(&shown);
            if !single {
                while bytes.len() % 4 != 0 {
                    bytes.push(0);
                }
            }
        }
        let order = orders.first().copied().unwrap_or_default();
        let data = Data::new(&bytes, order).ok_or_else(|| format!("value longer than {MAX_DATA} bytes"))?;
        Ok((data, lens))
    }
}

fn write_groups(out: &mut String, bytes: &[u8], order: ByteOrder, prefix: bool) {
    use std::fmt::Write;
    let mut shown = [0u8; MAX_DATA];
    let shown = &mut shown[..bytes.len()];
    shown.copy_from_slice(bytes);
    if order == ByteOrder::Host {
        shown.reverse();
    }
    for (i, chunk) in shown.chunks(4).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if prefix {
            out.push_str("0x");
        }
        for b in chunk {
            let _ = write!(out, "{b:02x}");
        }
    }
}

fn parse_group(w: &str, prefix: bool, out: &mut Vec<u8>) -> Result<(), String> {
    let digits = if prefix {
        w.strip_prefix("0x").ok_or_else(|| format!("expected 0x… value, found `{w}`"))?
    } else {
        w
    };
    if digits.is_empty() || digits.len() % 2 != 0 || digits.len() > 8 {
        return Err(format!("bad value group `{w}`: expected 2, 4, 6 or 8 hex digits"));
    }
    for i in (0..digits.len()).step_by(2) {
        let byte = digits
            .get(i..i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .ok_or_else(|| format!("bad hex digits in `{w}`"))?;
        out.push(byte);
    }
    Ok(())
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_words(&mut s, true);
        write!(f, "Data({s}, {:?})", self.order)
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_words(&mut s, true);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(d: &Data) -> String {
        let mut s = String::new();
        d.write_words(&mut s, true);
        s
    }

    #[test]
    fn prints_like_nft_debug_netlink() {
        assert_eq!(words(&Data::net_uint(0xe8, 2)), "0x00e8");
        assert_eq!(words(&Data::host_u32(4)), "0x00000004");
        assert_eq!(words(&Data::host_uint(1, 2)), "0x0001");
        assert_eq!(words(&Data::host_uint(12_341_234_000_000_000, 8)), "0x002bd849 0x74a8f400");
        assert_eq!(
            words(&Data::new(b"eth0\0\0\0\0\0\0\0\0\0\0\0\0", ByteOrder::Network).unwrap()),
            "0x65746830 0x00000000 0x00000000 0x00000000"
        );
        assert_eq!(
            words(&Data::new(&[0xaa, 0xbb, 0xcc, 0xaa, 0xbb, 0xcc], ByteOrder::Network).unwrap()),
            "0xaabbccaa 0xbbcc"
        );
        assert_eq!(words(&Data::new(&[0x0a, 0x8d, 0x0b], ByteOrder::Network).unwrap()), "0x0a8d0b");
    }

    #[test]
    fn parse_inverts_print() {
        for (text, order) in
            [("0x002bd849 0x74a8f400", ByteOrder::Host), ("0xaabbccaa 0xbbcc", ByteOrder::Network)]
        {
            let toks: Vec<&str> = text.split(' ').collect();
            let d = Data::parse_words(&toks, order, true).unwrap();
            assert_eq!(words(&d), text);
        }
        let d = Data::parse_words(&["0x00000004"], ByteOrder::Host, true).unwrap();
        assert_eq!(d.bytes(), &[4, 0, 0, 0]);
        assert!(Data::parse_words(&["0x123"], ByteOrder::Host, true).is_err());
        assert!(Data::parse_words(&["12"], ByteOrder::Host, true).is_err());
    }

    #[test]
    fn fields_print_per_field_order() {
        let (d, lens) =
            Data::parse_fields("0000000a . 0050", &[ByteOrder::Host, ByteOrder::Network]).unwrap();
        assert_eq!(lens, vec![4, 2]);
        assert_eq!(d.bytes(), &[10, 0, 0, 0, 0, 0x50, 0, 0]);
        let mut s = String::new();
        d.write_fields(&mut s, &[Field::new(4, ByteOrder::Host), Field::new(2, ByteOrder::Network)]);
        assert_eq!(s, "0000000a . 0050");
    }
}
