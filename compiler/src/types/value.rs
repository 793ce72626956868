//! Typed constants: a fixed bit width, the bytes as a register holds them, and their byte order.
//!
//! Every constant of the IR is a [`Value`]. Its bytes are in *memory order*: exactly what
//! `immediate`/`cmp` put into a register (network order is most significant byte first; host
//! order is little-endian, as on the machines the VM runs on and as the kernel stores `meta
//! mark`). Strings (`ifname`, `ct helper`) are their characters, zero-padded. Sub-byte fields
//! (`ip dscp` is 6 bits) hold their number in the smallest number of bytes; codegen shifts them
//! into place. Arithmetic works on the number the bytes denote (up to 128 bits), so the
//! evaluator can fold `0x0f << 1`, build prefix masks and check ranges without caring where
//! the bytes came from.

use std::cmp::Ordering;
use std::fmt;

/// Byte order of a value in a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Big endian, as packet headers carry it (`ip saddr`, `tcp dport`, `meta protocol`).
    Network,
    /// The host's order (little endian): `meta mark`, `ct state`, strings.
    Host,
}

/// Why a value could not be built or combined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueError {
    /// The number does not fit the width: nft says "Value N exceeds valid range 0-MAX".
    OutOfRange { value: u128, max: u128 },
    /// A string is longer than its field (`ifname` holds 15 characters and a NUL).
    StringTooLong { len: usize, max: usize },
    /// Two operands of different widths.
    WidthMismatch { left: u32, right: u32 },
    /// Arithmetic on a value wider than 128 bits.
    TooWide { bits: u32 },
    /// Byte slice length does not match the width.
    BadLength { bits: u32, len: usize },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::OutOfRange { value, max } => {
                write!(f, "Value {value} exceeds valid range 0-{max}")
            }
            ValueError::StringTooLong { len, max } => {
                write!(f, "String exceeds maximum length of {max} ({len} given)")
            }
            ValueError::WidthMismatch { left, right } => {
                write!(f, "width mismatch: {left} bits vs {right} bits")
            }
            ValueError::TooWide { bits } => write!(f, "{bits}-bit value is too wide for arithmetic"),
            ValueError::BadLength { bits, len } => {
                write!(f, "{len} bytes do not hold a {bits}-bit value")
            }
        }
    }
}

impl std::error::Error for ValueError {}

/// A typed constant: width in bits, byte order and the bytes in memory order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Value {
    bits: u32,
    order: ByteOrder,
    bytes: Vec<u8>,
}

/// Bytes needed for `bits`.
pub fn bytes_for(bits: u32) -> usize {
    bits.div_ceil(8) as usize
}

/// Register space a value of `bits` occupies (rounded up to 32-bit words, as nf_tables pads
/// concatenation members and set keys).
pub fn padded_len(bits: u32) -> usize {
    bits.div_ceil(32) as usize * 4
}

/// The largest number `bits` can hold (`bits` ≤ 128).
pub fn max_for(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

impl Value {
    /// A number of `bits` width. Fails if it does not fit.
    pub fn from_uint(bits: u32, order: ByteOrder, value: u128) -> Result<Value, ValueError> {
        if bits > 128 {
            return Err(ValueError::TooWide { bits });
        }
        let max = max_for(bits);
        if value > max {
            return Err(ValueError::OutOfRange { value, max });
        }
        let len = bytes_for(bits);
        let be = value.to_be_bytes();
        let mut bytes = be[16 - len..].to_vec();
        if order == ByteOrder::Host {
            bytes.reverse();
        }
        Ok(Value { bits, order, bytes })
    }

    /// Bytes already in memory order.
    pub fn from_bytes(bits: u32, order: ByteOrder, bytes: &[u8]) -> Result<Value, ValueError> {
        if bytes.len() != bytes_for(bits) {
            return Err(ValueError::BadLength { bits, len: bytes.len() });
        }
        Ok(Value { bits, order, bytes: bytes.to_vec() })
    }

    /// A string zero-padded to `len` bytes (host order), as `ifname`/`ct helper` fields hold
    /// them. The string plus its terminating NUL must fit.
    pub fn padded_string(text: &str, len: usize) -> Result<Value, ValueError> {
        let raw = text.as_bytes();
        if raw.len() + 1 > len {
            return Err(ValueError::StringTooLong { len: raw.len(), max: len.saturating_sub(1) });
        }
        let mut bytes = raw.to_vec();
        bytes.resize(len, 0);
        Ok(Value { bits: (len * 8) as u32, order: ByteOrder::Host, bytes })
    }

    /// The bytes of a string without padding or NUL (nft's match on `"eth*"` compares only
    /// the prefix).
    pub fn raw_string(text: &str) -> Value {
        let bytes = text.as_bytes().to_vec();
        Value { bits: (bytes.len() * 8) as u32, order: ByteOrder::Host, bytes }
    }

    /// Width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Width in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for a zero-width value.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Byte order.
    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// The bytes in memory order.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes padded with zeros to whole 32-bit words (register layout).
    pub fn padded_bytes(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.resize(padded_len(self.bits), 0);
        out
    }

    /// The number the bytes denote, if the value is at most 128 bits wide.
    pub fn to_u128(&self) -> Option<u128> {
        if self.bytes.len() > 16 {
            return None;
        }
        let mut acc: u128 = 0;
        let mut push = |b: &u8| acc = (acc << 8) | u128::from(*b);
        match self.order {
            ByteOrder::Network => self.bytes.iter().for_each(&mut push),
            ByteOrder::Host => self.bytes.iter().rev().for_each(&mut push),
        }
        Some(acc)
    }

    /// The number, if it fits 64 bits.
    pub fn to_u64(&self) -> Option<u64> {
        self.to_u128().and_then(|v| u64::try_from(v).ok())
    }

    /// The string held in the bytes, up to the first NUL.
    pub fn to_str_lossy(&self) -> String {
        let end = self.bytes.iter().position(|&b| b == 0).unwrap_or(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[..end]).into_owned()
    }

    /// The same number in another byte order (the `byteorder` expression).
    pub fn with_order(&self, order: ByteOrder) -> Value {
        if order == self.order {
            return self.clone();
        }
        let mut bytes = self.bytes.clone();
        bytes.reverse();
        Value { bits: self.bits, order, bytes }
    }

    /// The same number at another width (fails if it does not fit).
    pub fn resized(&self, bits: u32) -> Result<Value, ValueError> {
        let v = self.to_u128().ok_or(ValueError::TooWide { bits: self.bits })?;
        Value::from_uint(bits, self.order, v)
    }

    fn number(&self) -> Result<u128, ValueError> {
        self.to_u128().ok_or(ValueError::TooWide { bits: self.bits })
    }

    fn same_width(&self, other: &Value) -> Result<(u128, u128), ValueError> {
        if self.bits != other.bits {
            return Err(ValueError::WidthMismatch { left: self.bits, right: other.bits });
        }
        Ok((self.number()?, other.number()?))
    }

    fn rebuild(&self, v: u128) -> Result<Value, ValueError> {
        Value::from_uint(self.bits, self.order, v & max_for(self.bits))
    }

    /// Bitwise and (same width; the result keeps `self`'s byte order).
    pub fn and(&self, other: &Value) -> Result<Value, ValueError> {
        let (a, b) = self.same_width(other)?;
        self.rebuild(a & b)
    }

    /// Bitwise or.
    pub fn or(&self, other: &Value) -> Result<Value, ValueError> {
        let (a, b) = self.same_width(other)?;
        self.rebuild(a | b)
    }

    /// Bitwise xor.
    pub fn xor(&self, other: &Value) -> Result<Value, ValueError> {
        let (a, b) = self.same_width(other)?;
        self.rebuild(a ^ b)
    }

    /// Bitwise not within the width.
    pub fn not(&self) -> Result<Value, ValueError> {
        let a = self.number()?;
        self.rebuild(!a)
    }

    /// Shift left within the width (bits shifted out are lost).
    pub fn shl(&self, n: u32) -> Result<Value, ValueError> {
        let a = self.number()?;
        self.rebuild(a.checked_shl(n).unwrap_or(0))
    }

    /// Logical shift right.
    pub fn shr(&self, n: u32) -> Result<Value, ValueError> {
        let a = self.number()?;
        self.rebuild(a.checked_shr(n).unwrap_or(0))
    }

    /// True if every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.bytes.iter().all(|&b| b == 0)
    }

    /// Numeric comparison (same width).
    pub fn cmp_numeric(&self, other: &Value) -> Option<Ordering> {
        let (a, b) = self.same_width(other).ok()?;
        Some(a.cmp(&b))
    }

    /// A mask with the top `prefix` bits of `bits` set (`/24` → `0xffffff00`).
    pub fn prefix_mask(bits: u32, order: ByteOrder, prefix: u32) -> Result<Value, ValueError> {
        if prefix > bits {
            return Err(ValueError::OutOfRange { value: u128::from(prefix), max: u128::from(bits) });
        }
        if bits > 128 {
            return Err(ValueError::TooWide { bits });
        }
        Value::from_uint(bits, order, max_for(bits) ^ max_for(bits - prefix))
    }

    /// The prefix length of a mask like `0xffffff00` (None if the ones are not contiguous from
    /// the top).
    pub fn mask_prefix_len(&self) -> Option<u32> {
        let v = self.to_u128()?;
        let ones = v.count_ones();
        let expected = Value::prefix_mask(self.bits, self.order, ones).ok()?.to_u128()?;
        (expected == v).then_some(ones)
    }

    /// The last value of the prefix `self/prefix` (host bits all ones), for ranges.
    pub fn prefix_last(&self, prefix: u32) -> Result<Value, ValueError> {
        let mask = Value::prefix_mask(self.bits, self.order, prefix)?;
        self.or(&mask.not()?)
    }

    /// Concatenate values into register layout: each member padded to 32-bit words.
    pub fn concat(values: &[Value]) -> Vec<u8> {
        values.iter().flat_map(|v| v.padded_bytes()).collect()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = match self.order {
            ByteOrder::Network => "be",
            ByteOrder::Host => "he",
        };
        write!(f, "Value({}b {order} ", self.bits)?;
        for b in &self.bytes {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_order_follows_byte_order() {
        let port = Value::from_uint(16, ByteOrder::Network, 22).unwrap();
        assert_eq!(port.bytes(), &[0x00, 0x16]);
        let mark = Value::from_uint(32, ByteOrder::Host, 4).unwrap();
        assert_eq!(mark.bytes(), &[4, 0, 0, 0]);
        assert_eq!(mark.to_u128(), Some(4));
        assert_eq!(port.with_order(ByteOrder::Host).bytes(), &[0x16, 0x00]);
        assert_eq!(port.with_order(ByteOrder::Host).to_u128(), Some(22));
    }

    #[test]
    fn range_errors_use_nft_wording() {
        let err = Value::from_uint(4, ByteOrder::Network, 22).unwrap_err();
        assert_eq!(err.to_string(), "Value 22 exceeds valid range 0-15");
        assert!(Value::from_uint(128, ByteOrder::Network, u128::MAX).is_ok());
    }

    #[test]
    fn strings_are_zero_padded() {
        let v = Value::padded_string("eth0", 16).unwrap();
        assert_eq!(v.len(), 16);
        assert_eq!(&v.bytes()[..5], b"eth0\0");
        assert_eq!(v.to_str_lossy(), "eth0");
        assert!(Value::padded_string("0123456789abcdef", 16).is_err());
        assert!(Value::padded_string("0123456789abcde", 16).is_ok());
    }

    #[test]
    fn arithmetic_folds_constants() {
        let a = Value::from_uint(32, ByteOrder::Host, 0x0f).unwrap();
        assert_eq!(a.shl(1).unwrap().to_u128(), Some(0x1e));
        let b = Value::from_uint(32, ByteOrder::Host, 0x11).unwrap();
        let c = Value::from_uint(32, ByteOrder::Host, 0x1331).unwrap();
        assert_eq!(b.xor(&c).unwrap().to_u128(), Some(0x1320));
        assert_eq!(b.and(&c).unwrap().to_u128(), Some(0x11));
        assert_eq!(a.not().unwrap().to_u128(), Some(0xffff_fff0));
        let d = Value::from_uint(16, ByteOrder::Host, 1).unwrap();
        assert!(a.and(&d).is_err());
        assert_eq!(a.shl(40).unwrap().to_u128(), Some(0));
    }

    #[test]
    fn prefixes_and_masks() {
        let m = Value::prefix_mask(32, ByteOrder::Network, 24).unwrap();
        assert_eq!(m.bytes(), &[0xff, 0xff, 0xff, 0x00]);
        assert_eq!(m.mask_prefix_len(), Some(24));
        assert_eq!(Value::prefix_mask(32, ByteOrder::Network, 0).unwrap().to_u128(), Some(0));
        assert_eq!(Value::prefix_mask(128, ByteOrder::Network, 128).unwrap().to_u128(), Some(u128::MAX));
        let net = Value::from_bytes(32, ByteOrder::Network, &[192, 168, 2, 0]).unwrap();
        assert_eq!(net.prefix_last(24).unwrap().bytes(), &[192, 168, 2, 255]);
        let odd = Value::from_uint(32, ByteOrder::Network, 0xff00ff00).unwrap();
        assert_eq!(odd.mask_prefix_len(), None);
        assert!(Value::prefix_mask(32, ByteOrder::Network, 33).is_err());
    }

    #[test]
    fn concatenation_pads_members_to_words() {
        let addr = Value::from_bytes(32, ByteOrder::Network, &[1, 2, 3, 4]).unwrap();
        let port = Value::from_uint(16, ByteOrder::Network, 80).unwrap();
        assert_eq!(Value::concat(&[addr, port]), vec![1, 2, 3, 4, 0, 80, 0, 0]);
    }

    #[test]
    fn sub_byte_fields_hold_their_number() {
        let dscp = Value::from_uint(6, ByteOrder::Network, 0x38).unwrap();
        assert_eq!(dscp.bytes(), &[0x38]);
        assert!(Value::from_uint(6, ByteOrder::Network, 64).is_err());
    }
}
