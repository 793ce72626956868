//! Sets and maps in the program: anonymous sets and maps declared by a rule (`__set%d`,
//! `__map%d`, `__objmap%d`, flagged anonymous and constant), named sets and maps of a table,
//! and the encoding of their elements.
//!
//! A key is encoded the way the left side's register holds it (`Part`s): bit fields read
//! only masked get their constants shifted into place, host-order integers converted to
//! network order for interval lookups get their constants converted too, and concatenation
//! members are padded to 32-bit words. Interval sets go through [`super::interval`];
//! concatenations with ranges (the kernel's pipapo sets) carry a start and an end key per
//! element instead.

use super::data::{self, bytes_of, vm_order};
use super::error::LResult;
use super::interval::{self, Segment};
use super::program::Cx;
use super::rule::{Gen, Loaded, Part};
use super::stmt::vm_verdict;
use crate::ir::{self, Expr, ExprKind, SetData as IrData, SetElem, SetLit};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::data::{ByteOrder as VmOrder, Data, Field};
use nftvm_vm::set::{ElemData, Element, Set, SetData, elem_flags, flags};
use nftvm_vm::{SetId, TableId};

/// What a map's elements carry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DataShape {
    None,
    Verdict,
    /// Data values: the parts of one value (several for a concatenation); `interval` data
    /// holds a low and a high value (NAT ranges).
    Value {
        type_id: u32,
        parts: Vec<Part>,
        interval: bool,
    },
    /// Object maps: the `NFT_OBJECT_*` type.
    Object(u32),
}

/// A key or data part for a value of the given type, width and order.
pub(crate) fn part(ty: Type, bits: u32, order: ByteOrder) -> Part {
    Part { ty, bytes: bytes_of(bits).max(1), order, shift: 0, to_network: false }
}

/// The parts of a (possibly concatenated) value expression.
pub(crate) fn parts_of(e: &Expr) -> Vec<Part> {
    match &e.kind {
        ExprKind::Concat(members) => members.iter().map(|m| part(m.ty, m.bits, m.order)).collect(),
        _ => vec![part(e.ty, e.bits, e.order)],
    }
}

fn fields(parts: &[Part]) -> Vec<Field> {
    parts.iter().map(|p| Field::new(p.bytes.min(255) as u8, vm_order(p.ty, p.order))).collect()
}

/// True when an element key is not a single value (a range or prefix, also inside a
/// concatenation): the set needs the interval flag.
pub(crate) fn is_interval_key(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Range { .. } | ExprKind::Prefix { .. } => true,
        ExprKind::Concat(m) => m.iter().any(is_interval_key),
        _ => false,
    }
}

/// Does this anonymous set need the interval flag?
pub(crate) fn lit_is_interval(lit: &SetLit) -> bool {
    lit.interval || lit.elems.iter().any(|e| is_interval_key(&e.key))
}

/// The bytes of a constant as the part holds it.
fn part_bytes(p: &Part, v: &Value) -> LResult<Vec<u8>> {
    let mut b = if p.shift > 0 {
        let n = v.to_u128().ok_or("bit field constant wider than 128 bits")?;
        let shifted = n.checked_shl(p.shift).unwrap_or(0);
        data::net_uint(shifted, p.bytes as usize)?.bytes().to_vec()
    } else if p.to_network {
        data::to_network(v).bytes().to_vec()
    } else {
        v.bytes().to_vec()
    };
    b.resize(p.bytes as usize, 0);
    Ok(b)
}

/// `[low, high]` of a single-part key element.
fn part_range(p: &Part, e: &Expr) -> LResult<(Vec<u8>, Vec<u8>)> {
    match &e.kind {
        ExprKind::Value(v) => {
            let b = part_bytes(p, v)?;
            Ok((b.clone(), b))
        }
        ExprKind::Range { low, high } => Ok((part_bytes(p, low)?, part_bytes(p, high)?)),
        ExprKind::Prefix { value, len } => {
            let b = part_bytes(p, value)?;
            Ok(interval::prefix_range(&b, *len))
        }
        _ => Err(format!("unsupported set element {}", super::expr::kind_name(e))),
    }
}

/// Element members against parts (a concatenation, or the element itself).
fn members<'e>(parts: &[Part], e: &'e Expr) -> LResult<Vec<&'e Expr>> {
    match &e.kind {
        ExprKind::Concat(m) if parts.len() > 1 || m.len() > 1 => {
            if m.len() != parts.len() {
                return Err(format!("element has {} members, the key {}", m.len(), parts.len()));
            }
            Ok(m.iter().collect())
        }
        ExprKind::Concat(m) => Ok(m.iter().collect()),
        _ => Ok(vec![e]),
    }
}

/// A whole key from per-part bytes (concatenations: each part padded to a word).
fn join(parts: &[Part], pieces: Vec<Vec<u8>>) -> Vec<u8> {
    if parts.len() == 1 {
        return pieces.into_iter().next().unwrap_or_default();
    }
    let mut out = Vec::new();
    for mut p in pieces {
        let padded = p.len().div_ceil(4) * 4;
        p.resize(padded, 0);
        out.extend(p);
    }
    out
}

fn key_data(bytes: &[u8]) -> LResult<Data> {
    data::raw(bytes, VmOrder::Network)
}

/// The lowering context elements need: the table (chains for verdicts, objects for object
/// maps).
pub(crate) struct ElemCx<'c, 'r> {
    pub cx: &'c Cx<'r>,
    pub t: usize,
}

impl ElemCx<'_, '_> {
    /// Map data for an element.
    fn data(&self, shape: &DataShape, e: &Expr) -> LResult<ElemData> {
        match shape {
            DataShape::Verdict => match &e.kind {
                ExprKind::Verdict(v) => Ok(ElemData::Verdict(vm_verdict(self.cx, self.t, v)?)),
                _ => Err("verdict map element without a verdict".into()),
            },
            DataShape::Object(ty) => {
                let name = match &e.kind {
                    ExprKind::Value(v) => v.to_str_lossy(),
                    _ => return Err("object map element without an object name".into()),
                };
                Ok(ElemData::Object(self.cx.object_id(self.t, *ty, &name)?))
            }
            DataShape::Value { parts, interval, .. } => {
                let n = if *interval { parts.len() / 2 } else { parts.len() };
                let parts = &parts[..n];
                let ms = members(parts, e)?;
                let mut lows = Vec::new();
                let mut highs = Vec::new();
                for (p, m) in parts.iter().zip(ms) {
                    let (l, h) = part_range(p, m)?;
                    lows.push(l);
                    highs.push(h);
                }
                let bytes = if *interval {
                    let all: Vec<Part> = parts.iter().chain(parts.iter()).copied().collect();
                    lows.extend(highs);
                    join(&all, lows)
                } else {
                    join(parts, lows)
                };
                let order = parts.first().map_or(VmOrder::Network, |p| vm_order(p.ty, p.order));
                Ok(ElemData::Value(data::raw(&bytes, order)?))
            }
            DataShape::None => Err("set element with data".into()),
        }
    }

    /// The elements of a set keyed by `parts`.
    pub fn elements(
        &self,
        parts: &[Part],
        elems: &[SetElem],
        interval: bool,
        shape: &DataShape,
        automerge: bool,
        first_segment: bool,
    ) -> LResult<Vec<Element>> {
        let mut out = Vec::with_capacity(elems.len());
        let mut segs = Vec::new();
        let mut catchall = Vec::new();
        let concat = parts.len() > 1;
        for el in elems {
            let data = match &el.data {
                Some(d) => Some(self.data(shape, d)?),
                None => None,
            };
            if matches!(el.key.kind, ExprKind::CatchAll) {
                let mut e = Element::new(Data::default());
                e.flags = elem_flags::CATCHALL;
                e.data = data;
                catchall.push(e);
                continue;
            }
            let ms = members(parts, &el.key)?;
            let mut lows = Vec::with_capacity(ms.len());
            let mut highs = Vec::with_capacity(ms.len());
            for (p, m) in parts.iter().zip(ms) {
                let (l, h) = part_range(p, m)?;
                lows.push(l);
                highs.push(h);
            }
            let (timeout_ms, expires_ms) = (el.timeout.filter(|t| *t != u64::MAX), el.expires);
            if interval && !concat {
                segs.push(Segment {
                    low: lows.pop().unwrap_or_default(),
                    high: highs.pop().unwrap_or_default(),
                    data,
                    timeout_ms,
                    expires_ms,
                    comment: el.comment.clone(),
                });
                continue;
            }
            let mut e = Element::new(key_data(&join(parts, lows))?);
            if interval {
                e.key_end = Some(key_data(&join(parts, highs))?);
            }
            e.data = data;
            e.timeout_ms = timeout_ms;
            e.expires_ms = expires_ms;
            e.udata = interval::udata(el.comment.as_deref(), false);
            out.push(e);
        }
        if interval && !concat {
            let map = !matches!(shape, DataShape::None);
            out = interval::encode(&interval::normalize(segs, map, automerge), first_segment);
        }
        out.extend(catchall);
        Ok(out)
    }
}

impl Gen<'_, '_> {
    /// Declare the anonymous set (or map) `lit` for a key loaded as `key`.
    pub fn anon_set(
        &mut self,
        lit: &SetLit,
        key: &Loaded,
        key_type: u32,
        shape: DataShape,
    ) -> LResult<SetId> {
        let interval = lit_is_interval(lit);
        let (name, mut fl) = match shape {
            DataShape::None => ("__set%d", 0),
            DataShape::Verdict | DataShape::Value { .. } => ("__map%d", flags::MAP),
            DataShape::Object(_) => ("__objmap%d", flags::OBJECT),
        };
        fl |= flags::ANONYMOUS | flags::CONSTANT;
        if interval {
            fl |= flags::INTERVAL;
            if key.parts.len() > 1 {
                fl |= flags::CONCAT;
            }
        }
        let ecx = ElemCx { cx: self.cx, t: self.t };
        let elements = ecx.elements(&key.parts, &lit.elems, interval, &shape, true, true)?;
        let mut set = Set::new(name, self.cx.table_id(self.t), fl, fields(&key.parts));
        set.key_type = key_type;
        set.data = vm_data(&shape);
        set.elements = elements;
        Ok(self.cx.prog.add_set(set))
    }
}

fn vm_data(shape: &DataShape) -> SetData {
    match shape {
        DataShape::None => SetData::None,
        DataShape::Verdict => SetData::Verdict,
        DataShape::Value { type_id, parts, .. } => {
            SetData::Value { data_type: *type_id, fields: fields(parts) }
        }
        DataShape::Object(t) => SetData::Object { obj_type: *t },
    }
}

/// Key parts of a named set: the declared fields, in network order when an interval set
/// compares them (host-order integers are converted on lookup).
pub(crate) fn named_key_parts(s: &ir::Set) -> Vec<Part> {
    let interval = s.flags.interval;
    s.key
        .iter()
        .map(|k| {
            let mut p = part(k.ty, k.bits, k.order);
            if interval && k.order == ByteOrder::Host && !k.ty.is_string() {
                p.order = ByteOrder::Network;
                p.to_network = true;
            }
            p
        })
        .collect()
}

/// The data shape of a named map.
pub(crate) fn named_data_shape(s: &ir::Set) -> DataShape {
    match &s.data {
        None => DataShape::None,
        Some(IrData::Object(t)) => DataShape::Object(*t as u32),
        Some(IrData::Value { fields, interval }) => {
            if fields.first().is_some_and(|f| f.ty == Type::Verdict) {
                return DataShape::Verdict;
            }
            let mut parts: Vec<Part> = fields.iter().map(|f| part(f.ty, f.bits, f.order)).collect();
            if *interval {
                parts.extend(parts.clone());
            }
            let types: Vec<Type> = fields.iter().map(|f| f.ty).collect();
            DataShape::Value { type_id: super::load::types_id(&types), parts, interval: *interval }
        }
    }
}

/// A named set or map of table `t`.
pub(crate) fn named(cx: &Cx<'_>, t: usize, s: &ir::Set) -> LResult<Set> {
    let parts = named_key_parts(s);
    let shape = named_data_shape(s);
    let mut fl = 0;
    if s.flags.constant {
        fl |= flags::CONSTANT;
    }
    if s.flags.interval {
        fl |= flags::INTERVAL;
        if parts.len() > 1 {
            fl |= flags::CONCAT;
        }
    }
    match shape {
        DataShape::None => {}
        DataShape::Object(_) => fl |= flags::OBJECT,
        _ => fl |= flags::MAP,
    }
    if s.flags.timeout || s.timeout.is_some() {
        fl |= flags::TIMEOUT;
    }
    if s.flags.dynamic || s.kind == ir::SetKind::Meter {
        fl |= flags::EVAL;
    }
    let ecx = ElemCx { cx, t };
    let elements = ecx.elements(&parts, &s.elems, s.flags.interval, &shape, s.auto_merge, true)?;
    let table: TableId = cx.table_id(t);
    let mut set = Set::new(&s.name, table, fl, fields(&parts));
    let types: Vec<Type> = s.key.iter().map(|k| k.ty).collect();
    set.key_type = super::load::types_id(&types);
    set.data = vm_data(&shape);
    set.timeout_ms = s.timeout;
    set.gc_interval_ms = s.gc_interval.map(|g| g.min(u64::from(u32::MAX)) as u32);
    set.policy = s.policy.map(|p| match p {
        ir::SetPolicy::Performance => 0,
        ir::SetPolicy::Memory => 1,
    });
    set.size = s.size;
    set.elements = elements;
    set.exprs = s.stmts.iter().filter_map(super::stmt::stateful).collect();
    Ok(set)
}
