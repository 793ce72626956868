//! `objref`: apply a named stateful object, fixed or chosen by a map lookup (nft_objref.c).
//! Counter, quota, limit and connlimit objects are evaluated by the VM with their state;
//! other object types go to [`crate::interp::Env::object`].

use crate::expr::{counter, limit, quota};
use crate::interp::Eval;
use crate::object::ObjectKind;
use crate::program::{ObjId, Program, SetId};
use crate::reg::Reg;
use crate::set::{ElemData, SetData};
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum Objref {
    /// `objref type T name N`.
    Imm { obj_type: u32, obj: ObjId },
    /// `objref sreg R set S`: the object map's element for the key.
    Map { sreg: Reg, set: SetId },
}

impl Objref {
    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let _ = match self {
            Objref::Imm { obj_type, obj } => write!(o, "type {obj_type} name {}", p.object_name(*obj)),
            Objref::Map { sreg, set } => write!(o, "sreg {sreg} set {}", p.set_name(*set)),
        };
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Objref> {
        match c.next()? {
            "type" => {
                let obj_type = c.num()?;
                c.expect("name")?;
                let obj = a.object_ref(c.next()?, obj_type)?;
                Ok(Objref::Imm { obj_type, obj })
            }
            "sreg" => {
                let sreg = c.reg()?;
                c.expect("set")?;
                let set = a.set_ref(c.next()?)?;
                a.key_from_reg(set, sreg);
                Ok(Objref::Map { sreg, set })
            }
            t => Err(format!("expected `type` or `sreg`, found `{t}`")),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            Objref::Imm { obj_type, obj } => {
                let o = c.object(*obj)?;
                if o.kind.type_number() != *obj_type && !matches!(o.kind, ObjectKind::Other { .. }) {
                    return Err(format!("object `{}` is not of type {obj_type}", o.name));
                }
                Ok(())
            }
            Objref::Map { sreg, set } => {
                let s = c.set(*set)?;
                if !matches!(s.data, SetData::Object { .. }) {
                    return Err(format!("set `{}` is not an object map", s.name));
                }
                c.read(*sreg, s.key_len())
            }
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let obj = match self {
            Objref::Imm { obj, .. } => *obj,
            Objref::Map { sreg, set } => {
                let now = e.now();
                let Some(def) = e.prog.set(*set) else { return e.brk() };
                let Some(key) = e.regs.get(*sreg, def.key_len()) else { return e.brk() };
                let object = |b: &crate::set::SetBackend| match b.lookup(key, now).and_then(|f| f.data) {
                    Some(ElemData::Object(o)) => Some(*o),
                    _ => None,
                };
                match e.state.set(set.index(), object) {
                    Some(Some(o)) => o,
                    Some(None) => return e.regs.brk(),
                    None => return e.brk(),
                }
            }
        };
        apply(e, obj);
    }
}

/// Evaluates object `obj` for the packet.
pub(crate) fn apply(e: &mut Eval, obj: ObjId) {
    let Some(o) = e.prog.object(obj) else { return e.brk() };
    let len = e.packet_len();
    let now = e.now();
    let brk = match &o.kind {
        ObjectKind::Counter(_) => {
            if let Some(s) = e.state.object_slot(obj) {
                counter::count(s, len);
            }
            false
        }
        ObjectKind::Quota(q) => {
            e.state.meter(e.state.object_index(obj), |s| quota::over_quota(q, s, len)) == Some(true)
        }
        ObjectKind::Limit(l) => {
            let cost = l.cost(len);
            e.state.meter(e.state.object_index(obj), |s| limit::over_limit(l, s, cost, now)) == Some(true)
        }
        ObjectKind::Connlimit(cl) => {
            let slot = e.state.object_index(obj) as u32;
            let answer = cl.answer(e.env, crate::expr::connlimit::ConnList::Slot(slot));
            e.match_answer(answer);
            false
        }
        _ => {
            let v = e.env.object(o);
            if v != Verdict::Continue {
                e.regs.verdict = v;
            }
            false
        }
    };
    if brk {
        e.brk();
    }
}
