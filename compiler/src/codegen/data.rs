//! IR values → register data ([`nftvm_vm::Data`]).
//!
//! The bytes are the IR [`Value`]'s bytes unchanged (memory order). What codegen adds is
//! the display order the data prints in, which is the byte order nft attaches to the value:
//! host-order integers print as numbers (`meta mark 4` → `0x00000004`), everything else —
//! network-order fields and strings, which nft keeps "host order" but prints byte by byte —
//! prints in memory order (`"eth0"` → `0x65746830 …`).

use super::error::LResult;
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::data::{ByteOrder as VmOrder, Data, Field};

/// The order data of type `ty` in byte order `order` prints in.
pub fn vm_order(ty: Type, order: ByteOrder) -> VmOrder {
    if order == ByteOrder::Host && !ty.is_string() { VmOrder::Host } else { VmOrder::Network }
}

/// Bytes needed for `bits`.
pub fn bytes_of(bits: u32) -> u32 {
    bits.div_ceil(8)
}

/// Register data from raw bytes.
pub fn raw(bytes: &[u8], order: VmOrder) -> LResult<Data> {
    Data::new(bytes, order).ok_or_else(|| format!("constant of {} bytes exceeds 64 bytes", bytes.len()))
}

/// Register data for a value of type `ty`.
pub fn value(v: &Value, ty: Type) -> LResult<Data> {
    raw(v.bytes(), vm_order(ty, v.order()))
}

/// Register data for a value, cut or zero-extended to `len` bytes (cmp data of prefixes,
/// values compared against a wider load).
pub fn value_len(v: &Value, ty: Type, len: usize) -> LResult<Data> {
    let mut b = v.bytes().to_vec();
    b.resize(len, 0);
    raw(&b, vm_order(ty, v.order()))
}

/// A set key or map data field for a value of `bits` of type `ty` in `order`.
pub fn field(ty: Type, bits: u32, order: ByteOrder) -> Field {
    Field::new(bytes_of(bits).min(255) as u8, vm_order(ty, order))
}

/// A network-order number of `len` bytes (masks, shifted constants, concatenated values).
pub fn net_uint(v: u128, len: usize) -> LResult<Data> {
    let be = v.to_be_bytes();
    if len > 16 {
        let mut b = vec![0u8; len - 16];
        b.extend_from_slice(&be);
        return raw(&b, VmOrder::Network);
    }
    raw(&be[16 - len..], VmOrder::Network)
}

/// A number of `len` bytes in the given order (host: little-endian).
pub fn uint(v: u128, len: usize, order: VmOrder) -> LResult<Data> {
    let mut d = net_uint(v, len)?;
    if order == VmOrder::Host {
        d.bytes_mut().reverse();
        d = d.with_order(VmOrder::Host);
    }
    Ok(d)
}

/// The value's number interpreted big-endian from its bytes (what `memcmp` orders by once a
/// value is in network order).
pub fn be_number(bytes: &[u8]) -> Option<u128> {
    if bytes.len() > 16 {
        return None;
    }
    Some(bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

/// A value converted to network byte order (nft's `byteorder_conversion` of constants).
pub fn to_network(v: &Value) -> Value {
    v.with_order(ByteOrder::Network)
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
    fn prints_in_nft_order() {
        let mark = Value::from_uint(32, ByteOrder::Host, 4).unwrap();
        assert_eq!(words(&value(&mark, Type::Mark).unwrap()), "0x00000004");
        let port = Value::from_uint(16, ByteOrder::Network, 22).unwrap();
        assert_eq!(words(&value(&port, Type::InetService).unwrap()), "0x0016");
        let name = Value::padded_string("eth0", 16).unwrap();
        assert_eq!(
            words(&value(&name, Type::IfName).unwrap()),
            "0x65746830 0x00000000 0x00000000 0x00000000"
        );
        assert_eq!(words(&net_uint(0x0fc0, 2).unwrap()), "0x0fc0");
        assert_eq!(words(&uint(6, 4, VmOrder::Host).unwrap()), "0x00000006");
        assert_eq!(be_number(&[1, 2]), Some(0x102));
    }
}
