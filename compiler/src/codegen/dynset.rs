//! Set updates from the packet path (nft's `netlink_gen_set_stmt`, `…_map_stmt`,
//! `…_meter_stmt`): `add|update|delete @set { key [: data] }` and meters, as `dynset` with the
//! key (and data) in registers and the attached stateful statements as its expressions.

use super::error::LResult;
use super::expr::is_concat;
use super::regs::reg;
use super::rule::{Gen, Mode};
use super::set::parts_of;
use super::stmt::stateful;
use crate::ir::{DynSet, DynSetOp, Meter, Stmt};
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::SetId;
use nftvm_vm::data::Field;
use nftvm_vm::expr::dynset::{Dynset, DynsetOp};
use nftvm_vm::set::{Set, flags};

fn op(o: DynSetOp) -> DynsetOp {
    match o {
        DynSetOp::Add => DynsetOp::Add,
        DynSetOp::Update => DynsetOp::Update,
        DynSetOp::Delete => DynsetOp::Delete,
    }
}

/// The expressions a set element carries (counters, limits, quotas, `last`, `ct count`).
fn element_exprs<'a>(stmts: impl Iterator<Item = &'a Stmt>) -> Vec<VmExpr> {
    stmts.filter_map(stateful).collect()
}

impl Gen<'_, '_> {
    pub(crate) fn dynset(&mut self, d: &DynSet) -> LResult<()> {
        let set = self.cx.set_id(self.t, &d.set)?;
        let kc = is_concat(&d.key);
        let key_word = self.regs.get_for(kc, d.key.bits)?;
        self.expr_into(&d.key, key_word, Mode::Value)?;
        let mut data_word = None;
        if let Some(data) = &d.data {
            let dc = is_concat(data);
            let w = self.regs.get_for(dc, data.bits)?;
            self.expr_into(data, w, Mode::Value)?;
            self.regs.release_for(dc, data.bits);
            data_word = Some(w);
        }
        self.regs.release_for(kc, d.key.bits);
        let exprs = element_exprs(d.stmts.iter());
        self.emit(VmExpr::Dynset(Dynset {
            op: op(d.op),
            sreg_key: reg(key_word),
            set,
            sreg_data: data_word.map(reg),
            timeout_ms: d.timeout,
            exprs,
            invert: false,
        }));
        Ok(())
    }

    pub(crate) fn meter(&mut self, m: &Meter) -> LResult<()> {
        let set = match self.cx.set_id(self.t, &m.name) {
            Ok(id) => id,
            Err(_) => self.meter_set(m),
        };
        let kc = is_concat(&m.key);
        let word = self.regs.get_for(kc, m.key.bits)?;
        self.expr_into(&m.key, word, Mode::Value)?;
        self.regs.release_for(kc, m.key.bits);
        let timeout = self.cx.set_decl(self.t, &m.name).and_then(|s| s.timeout);
        let exprs = element_exprs(std::iter::once(&*m.stmt));
        self.emit(VmExpr::Dynset(Dynset {
            op: if timeout.is_some() { DynsetOp::Update } else { DynsetOp::Add },
            sreg_key: reg(word),
            set,
            sreg_data: None,
            timeout_ms: timeout,
            exprs,
            invert: false,
        }));
        Ok(())
    }

    /// The set behind a meter the table does not declare.
    fn meter_set(&mut self, m: &Meter) -> SetId {
        let fields: Vec<Field> = parts_of(&m.key)
            .iter()
            .map(|p| Field::new(p.bytes as u8, super::data::vm_order(p.ty, p.order)))
            .collect();
        let mut set = Set::new(&m.name, self.cx.table_id(self.t), flags::EVAL, fields);
        set.key_type = super::load::type_id(&m.key);
        set.size = Some(m.size);
        let id = self.cx.prog.add_set(set);
        if let Some(tc) = self.cx.tables.get_mut(self.t) {
            tc.sets.insert(m.name.clone(), id);
        }
        id
    }
}
