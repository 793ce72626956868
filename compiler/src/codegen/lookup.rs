//! Map lookups (nft's `netlink_gen_map`): the key into a register, then `lookup … dreg N`
//! into the register the consumer allocated (data maps), or into the verdict register
//! (`dreg 0`, verdict maps) from a register of its own. Object maps are looked up by the
//! `objref` expression instead (see [`super::stmt`]).

use super::error::LResult;
use super::expr::is_concat;
use super::load::type_id;
use super::regs::{reg, words_for};
use super::rule::{Gen, Loaded};
use super::set::{DataShape, is_interval_key, lit_is_interval, part, parts_of};
use crate::ir::{Expr, ExprKind, SetLit};
use crate::types::Type;
use nftvm_vm::expr::lookup::Lookup;
use nftvm_vm::{Expr as VmExpr, Reg, SetId};

/// What a map lookup yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapKind {
    Data,
    Verdict,
    /// Object map of this `NFT_OBJECT_*` type.
    Object(u32),
}

/// The data shape of an anonymous map from its elements (`result` is the lookup's type).
fn anon_shape(lit: &SetLit, result: &Expr, kind: MapKind) -> DataShape {
    match kind {
        MapKind::Verdict => return DataShape::Verdict,
        MapKind::Object(t) => return DataShape::Object(t),
        MapKind::Data => {}
    }
    let datas: Vec<&Expr> = lit.elems.iter().filter_map(|e| e.data.as_ref()).collect();
    let interval = datas.iter().any(|d| is_interval_key(d));
    let mut parts = match datas.first() {
        Some(d) => parts_of(d),
        None => vec![part(result.ty, result.bits, result.order)],
    };
    if interval {
        parts.extend(parts.clone());
    }
    let type_id = datas.first().map_or(result.ty.netlink_id(), |d| type_id(d));
    DataShape::Value { type_id, parts, interval }
}

impl Gen<'_, '_> {
    /// Look `key` up in `map` (an anonymous map or `@name`). With `dreg`, the data lands
    /// there and the key is generated into it too; without, the verdict register is the
    /// destination and the key gets a register of its own.
    pub(crate) fn lookup_map(
        &mut self,
        key: &Expr,
        map: &Expr,
        dreg: Option<u32>,
        result: &Expr,
    ) -> LResult<SetId> {
        let kind = match (dreg, result.ty) {
            (None, _) | (_, Type::Verdict) => MapKind::Verdict,
            _ => MapKind::Data,
        };
        self.lookup_map_kind(key, map, dreg, result, kind)
    }

    /// Generate the key of a map lookup and declare/resolve the map; returns the key's
    /// register content and the map.
    pub(crate) fn map_key(
        &mut self,
        key: &Expr,
        map: &Expr,
        word: u32,
        result: &Expr,
        kind: MapKind,
    ) -> LResult<(Loaded, SetId)> {
        match &map.kind {
            ExprKind::Set(lit) => {
                let l = self.key(key, word, lit_is_interval(lit), true)?;
                let shape = anon_shape(lit, result, kind);
                let id = self.anon_set(lit, &l, type_id(key), shape)?;
                Ok((l, id))
            }
            ExprKind::SetRef(name) => {
                let decl = self.cx.set_decl(self.t, name).ok_or_else(|| format!("unknown map `@{name}`"))?;
                let l = self.key(key, word, decl.flags.interval, false)?;
                Ok((l, self.cx.set_id(self.t, name)?))
            }
            _ => Err("map lookup into something that is not a map".into()),
        }
    }

    pub(crate) fn lookup_map_kind(
        &mut self,
        key: &Expr,
        map: &Expr,
        dreg: Option<u32>,
        result: &Expr,
        kind: MapKind,
    ) -> LResult<SetId> {
        let concat = is_concat(key);
        let word = match dreg {
            Some(d) => d,
            None => self.regs.get_for(concat, key.bits)?,
        };
        let bump = if concat && dreg.is_some() { words_for(key.bits) } else { 0 };
        self.regs.bump(bump);
        let r = self.map_key(key, map, word, result, kind);
        self.regs.unbump(bump);
        let (l, set) = r?;
        let dest = dreg.map_or(Reg::VERDICT, reg);
        self.emit(VmExpr::Lookup(Lookup { sreg: l.reg(), set, dreg: Some(dest), flags: None }));
        if dreg.is_none() {
            self.regs.release_for(concat, key.bits);
        }
        Ok(set)
    }

    /// `key vmap { … }` / `key vmap @m` as a statement.
    pub(crate) fn vmap(&mut self, e: &Expr) -> LResult<()> {
        let ExprKind::Map(m) = &e.kind else { return Err("verdict map statement without a map".into()) };
        self.lookup_map_kind(&m.key, &m.map, None, e, MapKind::Verdict)?;
        Ok(())
    }
}
