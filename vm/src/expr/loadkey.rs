//! Shared shape of the "load a keyed value from the runtime" expressions (`rt`, `socket`,
//! `xfrm`, `tunnel`): a key name table with lengths and byte orders.

use crate::data::ByteOrder;

/// One key: number, printed name, register length, byte order.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    pub num: u32,
    pub name: &'static str,
    pub len: usize,
    pub order: ByteOrder,
}

pub fn by_num(table: &[KeyInfo], num: u32) -> Option<&KeyInfo> {
    table.iter().find(|k| k.num == num)
}

pub fn by_name<'t>(table: &'t [KeyInfo], name: &str) -> Option<&'t KeyInfo> {
    table.iter().find(|k| k.name == name)
}

pub const fn key(num: u32, name: &'static str, len: usize, order: ByteOrder) -> KeyInfo {
    KeyInfo { num, name, len, order }
}
