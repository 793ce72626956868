//! `lookup`: is the register's key in a set? With `dreg`, copy the map's data (or, with
//! `dreg 0`, its verdict) for the key found (nft_lookup.c). Flag 0x1 inverts the match.

use crate::interp::Eval;
use crate::program::{Program, SetId};
use crate::reg::Reg;
use crate::set::{ElemData, SetBackend, SetData};
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::parse_hex};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_LOOKUP_F_INV`.
pub const F_INV: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    pub sreg: Reg,
    pub set: SetId,
    pub dreg: Option<Reg>,
    /// `NFTA_LOOKUP_FLAGS` when present (printed as `0x1`).
    pub flags: Option<u32>,
}

impl Lookup {
    pub fn inverted(&self) -> bool {
        self.flags.unwrap_or(0) & F_INV != 0
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let _ = write!(o, "reg {} set {}", self.sreg, p.set_name(self.set));
        if let Some(d) = self.dreg {
            let _ = write!(o, " dreg {d}");
        }
        if let Some(f) = self.flags {
            let _ = write!(o, " 0x{f:x}");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Lookup> {
        let sreg = c.kw_reg()?;
        c.expect("set")?;
        let set = a.set_ref(c.next()?)?;
        let dreg = if c.eat("dreg") { Some(c.reg()?) } else { None };
        let flags = if c.at_end() { None } else { Some(parse_hex(c.next()?)? as u32) };
        a.key_from_reg(set, sreg);
        if let Some(d) = dreg
            && !d.is_verdict()
        {
            let len = a.prog.set(set).map_or(4, |s| s.data_len());
            a.wrote_set_data(d, len, set);
        }
        Ok(Lookup { sreg, set, dreg, flags })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let set = c.set(self.set)?;
        if set.key_len() == 0 {
            return Err(format!("set `{}` has no key", set.name));
        }
        c.read(self.sreg, set.key_len())?;
        if let Some(d) = self.dreg {
            if self.inverted() {
                return Err("inverted lookup cannot load map data".into());
            }
            match set.data {
                SetData::Verdict => c.write_data_or_verdict(d, 16, true)?,
                SetData::Value { .. } => c.write_data_or_verdict(d, set.data_len(), false)?,
                _ => return Err(format!("lookup with dreg on `{}`, which is not a map", set.name)),
            }
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let now = e.now();
        let Some(def) = e.prog.set(self.set) else { return e.brk() };
        let Some(key) = e.regs.get(self.sreg, def.key_len()) else { return e.brk() };
        // The element's data, copied out of the set (which may be locked: a shared set).
        let wants_data = self.dreg.is_some();
        let look = |set: &SetBackend| set.lookup(key, now).map(|f| f.data.filter(|_| wants_data).cloned());
        let Some(found) = e.state.set(self.set.index(), look) else { return e.brk() };
        if found.is_some() == self.inverted() {
            return e.brk();
        }
        let (Some(dreg), Some(data)) = (self.dreg, found) else { return };
        match data {
            Some(ElemData::Verdict(v)) if dreg.is_verdict() => e.regs.verdict = v,
            Some(ElemData::Value(d)) => {
                if !e.regs.store(dreg, d.bytes()) {
                    e.brk();
                }
            }
            _ => e.brk(),
        }
    }
}
