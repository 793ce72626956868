//! `dynset`: add, update or delete the register's key in a set from the packet path
//! (nft_dynset.c) — meters, `add @set`, `update @set`. Expressions attached to the
//! statement (counter, limit, quota, last, `ct count`) run with per-element state and may
//! break the rule.

use crate::expr::Expr;
use crate::interp::Eval;
use crate::program::{Program, SetId};
use crate::reg::Reg;
use crate::set::SetData;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynsetOp {
    Add,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dynset {
    pub op: DynsetOp,
    pub sreg_key: Reg,
    pub set: SetId,
    pub sreg_data: Option<Reg>,
    pub timeout_ms: Option<u64>,
    pub exprs: Vec<Expr>,
    /// `NFT_DYNSET_F_INV` (not printed).
    pub invert: bool,
}

impl Dynset {
    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let op = match self.op {
            DynsetOp::Add => "add",
            DynsetOp::Update => "update",
            DynsetOp::Delete => "delete",
        };
        let _ = write!(o, "{op} reg_key {} set {}", self.sreg_key, p.set_name(self.set));
        if let Some(r) = self.sreg_data {
            let _ = write!(o, " sreg_data {r}");
        }
        if let Some(t) = self.timeout_ms {
            let _ = write!(o, " timeout {t}ms");
        }
        print_clauses(p, &self.exprs, o);
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Dynset> {
        let op = match c.next()? {
            "add" => DynsetOp::Add,
            "update" => DynsetOp::Update,
            "delete" => DynsetOp::Delete,
            t => return Err(format!("unknown dynset operation `{t}`")),
        };
        c.expect("reg_key")?;
        let sreg_key = c.reg()?;
        c.expect("set")?;
        let set = a.set_ref(c.next()?)?;
        a.key_from_reg(set, sreg_key);
        let sreg_data = if c.eat("sreg_data") { Some(c.reg()?) } else { None };
        // The data register is read in the map's data order (a `mark` map's is the host's).
        let data_order = a.prog.set(set).and_then(|s| s.data_fields().first()).map(|f| f.order);
        if let (Some(r), Some(order)) = (sreg_data, data_order) {
            a.consume(r, order);
        }
        let timeout_ms = if c.eat("timeout") { Some(c.num_suffix("ms")?) } else { None };
        let mut exprs = Vec::new();
        if !c.at_end() {
            exprs = parse_clauses(c.raw(), a)?;
            c.rest();
        }
        Ok(Dynset { op, sreg_key, set, sreg_data, timeout_ms, exprs, invert: false })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let s = c.set(self.set)?;
        if s.key_len() == 0 {
            return Err(format!("set `{}` has no key", s.name));
        }
        if s.flags & crate::set::flags::CONSTANT != 0 {
            return Err(format!("dynset on constant set `{}`", s.name));
        }
        c.read(self.sreg_key, s.key_len())?;
        match (self.sreg_data, &s.data) {
            (Some(r), SetData::Value { .. }) => c.read(r, s.data_len())?,
            (Some(_), _) => return Err(format!("dynset data for `{}`, which is not a data map", s.name)),
            (None, SetData::Value { .. } | SetData::Verdict) if self.op != DynsetOp::Delete => {
                return Err(format!("dynset on map `{}` needs sreg_data", s.name));
            }
            _ => {}
        }
        if self.timeout_ms.is_some() && s.flags & crate::set::flags::TIMEOUT == 0 {
            return Err(format!("dynset timeout on set `{}` without timeout flag", s.name));
        }
        element_exprs_allowed(&self.exprs)
    }

    /// The expressions a new element carries: the dynset's own, else its set's.
    pub fn element_exprs<'a>(&'a self, set: &'a crate::set::Set) -> &'a [Expr] {
        if self.exprs.is_empty() { &set.exprs } else { &self.exprs }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let Some(def) = e.prog.set(self.set) else { return e.brk() };
        let Some(key) = e.regs.get(self.sreg_key, def.key_len()) else { return e.brk() };
        let mut k = [0u8; 64];
        let klen = key.len();
        k[..klen].copy_from_slice(key);
        let key = &k[..klen];
        let now = e.now();
        let len = e.packet_len();
        if self.op == DynsetOp::Delete {
            if e.state.set_mut(self.set.index(), |backend| backend.delete(key, now)).is_none() {
                e.brk();
            }
            return;
        }
        let data = match self.sreg_data {
            Some(r) => match e.regs.get(r, def.data_len()) {
                Some(d) => crate::data::Data::new(d, crate::data::ByteOrder::Network),
                None => return e.regs.brk(),
            },
            None => None,
        };
        let timeout_ms = self.timeout_ms.or(def.timeout_ms).filter(|t| *t > 0);
        let timeout = timeout_ms.map(|ms| ms.saturating_mul(1_000_000));
        let size = def.size.unwrap_or(0xffff);
        let env = &mut *e.env;
        let refresh = self.op == DynsetOp::Update;
        let exprs = self.element_exprs(def);
        // The element and its expressions, in the set (which may be locked: a shared set);
        // `None` inside: the set is full or cannot change.
        let updated = e.state.set_mut(self.set.index(), |backend| {
            let mut gone = |list| env.connlimit_gc(list);
            let slots = backend.update(key, data, timeout, refresh, now, size, exprs, &mut gone)?;
            Some(element_exprs(exprs, slots, len, now, env))
        });
        let answer = match updated {
            Some(Some(answer)) => answer,
            Some(None) => {
                if !self.invert {
                    e.regs.brk();
                }
                return;
            }
            None => return e.brk(),
        };
        e.match_answer(answer);
        // An inverted dynset breaks the rule once the element is there, whatever its
        // expressions said (`nft_dynset_eval`).
        if self.invert {
            e.regs.brk();
        }
    }
}

/// Element expressions as ` expr [ name body ]` clauses (a dynset's, a set declaration's).
pub(crate) fn print_clauses(p: &Program, exprs: &[Expr], o: &mut String) {
    for e in exprs {
        let mut body = String::new();
        e.print_body(p, &mut body);
        let _ = write!(o, " expr [ {}", e.name());
        if !body.is_empty() {
            let _ = write!(o, " {body}");
        }
        o.push_str(" ]");
    }
}

/// The expressions of `expr [ name body ]` clauses (the text from the first on).
pub(crate) fn parse_clauses(raw: &str, a: &mut Asm) -> PResult<Vec<Expr>> {
    let mut exprs = Vec::new();
    let mut rest = &raw[raw.find("expr [").ok_or("expected `expr [`")?..];
    while let Some(start) = rest.find("expr [") {
        let after = &rest[start + 6..];
        let end = after.find(" ]").ok_or("expected `]` after an element expression")?;
        let inner = after[..end].trim();
        let (name, body) = inner.split_once(' ').unwrap_or((inner, ""));
        exprs.push(Expr::parse(name, body, a)?);
        rest = &after[end + 2..];
    }
    Ok(exprs)
}

/// Only stateful expressions may be attached to a set element (by a dynset, or by the set's
/// declaration).
pub fn element_exprs_allowed(exprs: &[Expr]) -> Result<(), String> {
    match exprs.iter().find(|e| {
        !matches!(e, Expr::Counter(_) | Expr::Limit(_) | Expr::Quota(_) | Expr::Last(_) | Expr::Connlimit(_))
    }) {
        Some(e) => Err(format!("`{}` cannot be attached to a set element", e.name())),
        None => Ok(()),
    }
}

/// Runs the per-element expressions in order until one breaks the rule, as
/// `nft_set_elem_update_expr` does; answers as an x_tables match: `Some(false)` when one
/// broke the rule, `None` when one dropped the packet (a `ct count` with no tuple to count;
/// the expressions after it still run), else `Some(true)`.
fn element_exprs(
    exprs: &[Expr],
    slots: &mut [crate::interp::Slot],
    len: u64,
    now: u64,
    env: &mut dyn crate::interp::Env,
) -> Option<bool> {
    use crate::expr::{counter, limit, quota};
    use crate::interp::Slot;
    let mut dropped = false;
    for (ex, slot) in exprs.iter().zip(slots.iter_mut()) {
        let broke = match ex {
            Expr::Counter(_) => {
                counter::count(slot, len);
                false
            }
            Expr::Limit(l) => limit::over_limit(l, slot, l.cost(len), now),
            Expr::Quota(q) => quota::over_quota(q, slot, len),
            Expr::Last(_) => {
                *slot = Slot::Last { at: Some(now) };
                false
            }
            Expr::Connlimit(c) => match slot {
                Slot::Conns(list) => match c.answer(env, *list) {
                    Some(holds) => !holds,
                    None => {
                        dropped = true;
                        false
                    }
                },
                _ => true,
            },
            _ => false,
        };
        if broke {
            return Some(false);
        }
    }
    (!dropped).then_some(true)
}

/// Fresh per-element state for the expressions of a dynset.
pub fn element_slots(exprs: &[Expr], now: u64) -> Vec<crate::interp::Slot> {
    use crate::interp::Slot;
    exprs
        .iter()
        .map(|ex| match ex {
            Expr::Counter(c) => Slot::Counter { packets: c.packets, bytes: c.bytes },
            Expr::Limit(l) => Slot::Limit { tokens: l.tokens_max(), last: now },
            Expr::Quota(q) => Slot::Quota { consumed: q.consumed },
            Expr::Connlimit(_) => Slot::Conns(crate::expr::connlimit::ConnList::new_element()),
            _ => Slot::Last { at: None },
        })
        .collect()
}
