//! Sets and maps: their declaration, their elements, and the backends that look keys up.
//!
//! A [`Set`] is part of the immutable program (declaration and initial elements). At run
//! time each set is loaded into a [`SetBackend`] (in [`crate::interp::ProgramState`]) chosen
//! from its flags and key: a hash table for exact keys ([`hash`]), sorted disjoint ranges for
//! interval sets ([`interval`]), longest-prefix match for interval sets whose ranges are all
//! prefixes ([`prefix`]), and per-field ranges for concatenated intervals ([`concat`], the
//! semantics of the kernel's pipapo).
//!
//! [`concat`]: mod@concat

pub mod backend;
pub mod concat;
pub mod hash;
pub mod interval;
pub mod prefix;

pub use backend::{Found, SetBackend};

use crate::data::{Data, Field, fields_len};
use crate::program::{ObjId, TableId};
use crate::verdict::Verdict;

/// `NFT_SET_*` flags.
pub mod flags {
    pub const ANONYMOUS: u32 = 0x1;
    pub const CONSTANT: u32 = 0x2;
    pub const INTERVAL: u32 = 0x4;
    pub const MAP: u32 = 0x8;
    pub const TIMEOUT: u32 = 0x10;
    pub const EVAL: u32 = 0x20;
    pub const OBJECT: u32 = 0x40;
    pub const CONCAT: u32 = 0x80;
    pub const EXPR: u32 = 0x100;
}

/// `NFT_SET_ELEM_*` element flags.
pub mod elem_flags {
    pub const INTERVAL_END: u32 = 0x1;
    pub const CATCHALL: u32 = 0x2;
}

/// A set or map declaration with its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    /// `__set%d` / `__map%d` / `__objmap%d` for anonymous sets (as nft prints them).
    pub name: String,
    pub table: TableId,
    pub flags: u32,
    /// nft's datatype number for the key (opaque to the VM).
    pub key_type: u32,
    /// The key's fields (one for a plain key, several for a concatenation).
    pub key: Vec<Field>,
    pub data: SetData,
    pub timeout_ms: Option<u64>,
    pub gc_interval_ms: Option<u32>,
    pub policy: Option<u32>,
    pub size: Option<u32>,
    pub elements: Vec<Element>,
    /// The set's own element expressions (`counter` in its declaration): what an element
    /// added by a dynset without expressions of its own carries (the kernel clones them).
    pub exprs: Vec<crate::expr::Expr>,
}

/// What a map maps to.
#[derive(Clone, Debug, PartialEq)]
pub enum SetData {
    /// A plain set.
    None,
    /// A verdict map (`vmap`).
    Verdict,
    /// A data map: value fields.
    Value { data_type: u32, fields: Vec<Field> },
    /// An object map (`counter name … map`): the `NFT_OBJECT_*` type.
    Object { obj_type: u32 },
}

/// One element.
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    /// The key (empty for the catch-all element).
    pub key: Data,
    /// The end of a concatenated range (pipapo sets).
    pub key_end: Option<Data>,
    pub data: Option<ElemData>,
    /// `NFT_SET_ELEM_*`: interval end marker, catch-all.
    pub flags: u32,
    pub timeout_ms: Option<u64>,
    pub expires_ms: Option<u64>,
    /// Element user data as nft prints it (`userdata len 6 sum 0x6`): not interpreted.
    pub udata: Option<Udata>,
}

/// The summary nft prints of an element's user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udata {
    pub len: u32,
    pub sum: u32,
}

/// A map element's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ElemData {
    Value(Data),
    Verdict(Verdict),
    Object(ObjId),
}

impl Element {
    pub fn new(key: Data) -> Element {
        Element { key, key_end: None, data: None, flags: 0, timeout_ms: None, expires_ms: None, udata: None }
    }

    pub fn is_interval_end(&self) -> bool {
        self.flags & elem_flags::INTERVAL_END != 0
    }

    pub fn is_catchall(&self) -> bool {
        self.flags & elem_flags::CATCHALL != 0
    }
}

impl Set {
    /// An empty set with a key of `key` fields.
    pub fn new(name: &str, table: TableId, flags: u32, key: Vec<Field>) -> Set {
        Set {
            name: name.to_string(),
            table,
            flags,
            key_type: 0,
            key,
            data: SetData::None,
            timeout_ms: None,
            gc_interval_ms: None,
            policy: None,
            size: None,
            elements: Vec::new(),
            exprs: Vec::new(),
        }
    }

    /// Key length in register bytes (fields after the first padded to 4 bytes).
    pub fn key_len(&self) -> usize {
        fields_len(&self.key)
    }

    /// Data length in register bytes (16 for a verdict, 0 for a set or object map).
    pub fn data_len(&self) -> usize {
        match &self.data {
            SetData::None | SetData::Object { .. } => 0,
            SetData::Verdict => 16,
            SetData::Value { fields, .. } => fields_len(fields),
        }
    }

    pub fn data_fields(&self) -> &[Field] {
        match &self.data {
            SetData::Value { fields, .. } => fields,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        self.flags & flags::MAP != 0 || matches!(self.data, SetData::Verdict | SetData::Value { .. })
    }

    pub fn is_interval(&self) -> bool {
        self.flags & flags::INTERVAL != 0
    }

    /// `flags dynamic`: the packet path updates it, and its garbage collection removes the
    /// elements whose `ct count` lists count nothing ([`hash::HashSet::collect`]).
    pub fn is_dynamic(&self) -> bool {
        self.flags & flags::EVAL != 0
    }

    pub fn is_anonymous(&self) -> bool {
        self.flags & flags::ANONYMOUS != 0 || self.name.contains('%')
    }
}
