//! Sets and maps: named declarations ([`Set`]), anonymous sets written inline ([`SetLit`]),
//! and their elements ([`SetElem`]).
//!
//! Element keys are constants of the set's key type: [`ExprKind::Value`](super::ExprKind),
//! `Prefix`, `Range`, `Concat` of those, or `CatchAll`. Interval sets keep elements as the user
//! wrote them (prefixes and ranges, not yet merged); [`crate::check`] merges overlapping and
//! adjacent intervals where nft does (anonymous sets, `auto-merge`) and codegen turns them
//! into interval boundaries.

use super::Span;
use super::expr::Expr;
use super::object::ObjectType;
use super::stmt::Stmt;
use crate::types::{ByteOrder, Type};

/// `set`/`map`/`meter` declaration in a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    pub name: String,
    pub kind: SetKind,
    /// Key fields (one, or several for a concatenated key `ipv4_addr . inet_service`).
    pub key: Vec<KeyField>,
    /// Declared with `typeof` (printed as `typeof <exprs>`); the key fields then carry
    /// their expressions.
    pub key_typeof: bool,
    /// What a map maps to (None for plain sets).
    pub data: Option<SetData>,
    pub flags: SetFlags,
    /// Default element timeout, milliseconds.
    pub timeout: Option<u64>,
    /// `gc-interval`, milliseconds.
    pub gc_interval: Option<u64>,
    /// `size N`.
    pub size: Option<u32>,
    pub policy: Option<SetPolicy>,
    pub auto_merge: bool,
    pub comment: Option<String>,
    /// Stateful statements every element gets (`counter`, `quota …`, `limit …`, `last`).
    pub stmts: Vec<Stmt>,
    pub elems: Vec<SetElem>,
    pub span: Span,
    pub handle: u64,
}

/// `set`, `map` or `meter` (a dynamic set created by a `meter` statement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetKind {
    Set,
    Map,
    Meter,
}

/// One key (or data) component: its datatype, width and byte order, and for `typeof`
/// declarations the expression it was taken from.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyField {
    pub ty: Type,
    pub bits: u32,
    pub order: ByteOrder,
    /// `typeof ip saddr`: the expression (printed instead of the type name).
    pub expr: Option<Expr>,
}

/// What a map's elements map to.
#[derive(Clone, Debug, PartialEq)]
pub enum SetData {
    /// Data values (`: ipv4_addr`, `: interval ipv4_addr . inet_service`, `: verdict`).
    Value { fields: Vec<KeyField>, interval: bool },
    /// Object maps (`: counter`, `: quota`, `: ct helper`, …).
    Object(ObjectType),
}

/// `flags constant, dynamic, interval, timeout`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetFlags {
    pub constant: bool,
    pub dynamic: bool,
    pub interval: bool,
    pub timeout: bool,
}

/// `policy performance|memory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetPolicy {
    Performance,
    Memory,
}

impl SetPolicy {
    pub fn name(self) -> &'static str {
        match self {
            SetPolicy::Performance => "performance",
            SetPolicy::Memory => "memory",
        }
    }
}

/// An anonymous set (or map) written inline in a rule: `{ 22, 80-90 }`,
/// `{ 10.0.0.1 : accept, * : drop }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetLit {
    pub elems: Vec<SetElem>,
    /// True when any key is a range or prefix (the kernel set needs the interval flag).
    pub interval: bool,
}

/// One element: a key, its options and (for maps) its data.
#[derive(Clone, Debug, PartialEq)]
pub struct SetElem {
    pub key: Expr,
    pub data: Option<Expr>,
    /// `timeout`, milliseconds (`Some(u64::MAX)` is `timeout never`).
    pub timeout: Option<u64>,
    /// `expires`, milliseconds.
    pub expires: Option<u64>,
    pub comment: Option<String>,
    /// Per-element stateful statements (`counter packets 1 bytes 2`, `quota 10 mbytes`).
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

impl Set {
    /// An empty set with the given key fields.
    pub fn new(name: impl Into<String>, key: Vec<KeyField>) -> Set {
        Set {
            name: name.into(),
            kind: SetKind::Set,
            key,
            key_typeof: false,
            data: None,
            flags: SetFlags::default(),
            timeout: None,
            gc_interval: None,
            size: None,
            policy: None,
            auto_merge: false,
            comment: None,
            stmts: Vec::new(),
            elems: Vec::new(),
            span: Span::default(),
            handle: 0,
        }
    }

    /// True for maps (value, verdict or object data).
    pub fn is_map(&self) -> bool {
        self.data.is_some()
    }

    /// True for verdict maps.
    pub fn is_vmap(&self) -> bool {
        matches!(&self.data, Some(SetData::Value { fields, .. }) if fields.first().is_some_and(|f| f.ty == Type::Verdict))
    }

    /// Register width of the key (members padded to 32 bits when concatenated).
    pub fn key_bits(&self) -> u32 {
        if self.key.len() == 1 {
            self.key[0].bits
        } else {
            self.key.iter().map(|k| k.bits.div_ceil(32) * 32).sum()
        }
    }
}

impl SetElem {
    /// An element with just a key.
    pub fn new(key: Expr) -> SetElem {
        let span = key.span;
        SetElem { key, data: None, timeout: None, expires: None, comment: None, stmts: Vec::new(), span }
    }

    /// A map element.
    pub fn mapping(key: Expr, data: Expr) -> SetElem {
        SetElem { data: Some(data), ..SetElem::new(key) }
    }
}

impl KeyField {
    pub fn new(ty: Type, bits: u32, order: ByteOrder) -> KeyField {
        KeyField { ty, bits, order, expr: None }
    }

    /// A key field of a type's own width and byte order (`ipv4_addr`, `inet_service`).
    pub fn of(ty: Type) -> KeyField {
        KeyField::new(ty, ty.bits(), ty.order())
    }
}

/// The inclusive numeric interval `[low, high]` a single-field key covers: a value is
/// `[v, v]`, a range its ends, a prefix its first and last address. None for strings,
/// concatenations, catch-all and values wider than 128 bits. (Codegen's interval sets and
/// the checker's overlap tests use this.)
pub fn key_bounds(key: &Expr) -> Option<(u128, u128)> {
    use super::ExprKind;
    match &key.kind {
        ExprKind::Value(v) if !key.ty.is_string() => {
            let n = v.to_u128()?;
            Some((n, n))
        }
        ExprKind::Range { low, high } => Some((low.to_u128()?, high.to_u128()?)),
        ExprKind::Prefix { value, len } if !key.ty.is_string() => {
            Some((value.to_u128()?, value.prefix_last(*len).ok()?.to_u128()?))
        }
        _ => None,
    }
}

/// The first pair of elements whose intervals overlap (indices into `elems`).
pub fn first_overlap(elems: &[SetElem]) -> Option<(usize, usize)> {
    let mut spans: Vec<(u128, u128, usize)> =
        elems.iter().enumerate().filter_map(|(i, e)| key_bounds(&e.key).map(|(l, h)| (l, h, i))).collect();
    spans.sort();
    spans.windows(2).find(|w| w[1].0 <= w[0].1).map(|w| (w[0].2, w[1].2))
}
