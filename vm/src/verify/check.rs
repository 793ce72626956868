//! Per-rule verification state: which register words hold a value, and what the rule may
//! refer to.

use crate::keys::{Family, Hook};
use crate::object::Object;
use crate::program::{BaseChain, ChainId, ChainKind, ObjId, Program, SetId};
use crate::reg::{DATA_WORDS, Reg};
use crate::set::Set;
use crate::verdict::Verdict;

/// What an expression's verifier rule sees.
pub struct Check<'p> {
    pub prog: &'p Program,
    /// Family of the rule's table.
    pub family: Family,
    pub chain: ChainId,
    /// The chain's hook, if it is a base chain.
    pub base: Option<&'p BaseChain>,
    written: [bool; DATA_WORDS],
}

impl<'p> Check<'p> {
    pub fn new(prog: &'p Program, family: Family, chain: ChainId, base: Option<&'p BaseChain>) -> Check<'p> {
        Check { prog, family, chain, base, written: [false; DATA_WORDS] }
    }

    /// The expression reads `len` bytes at `reg`: it must be a data register, the bytes must
    /// fit the register file and have been written earlier in the rule.
    pub fn read(&mut self, reg: Reg, len: usize) -> Result<(), String> {
        let span = span(reg, len)?;
        for w in span.start / 4..span.end.div_ceil(4) {
            if !self.written[w] {
                return Err(format!("reads reg {reg} ({len} bytes) before it is written"));
            }
        }
        Ok(())
    }

    /// The expression writes `len` bytes at `reg`.
    pub fn write(&mut self, reg: Reg, len: usize) -> Result<(), String> {
        let span = span(reg, len)?;
        for w in span.start / 4..span.end.div_ceil(4) {
            self.written[w] = true;
        }
        Ok(())
    }

    /// A write that may target the verdict register (map lookups with `dreg 0`).
    pub fn write_data_or_verdict(&mut self, reg: Reg, len: usize, is_verdict: bool) -> Result<(), String> {
        if reg.is_verdict() {
            return if is_verdict { Ok(()) } else { Err("data written to the verdict register".into()) };
        }
        if is_verdict {
            return Err(format!("verdict written to data register reg {reg}"));
        }
        self.write(reg, len)
    }

    pub fn set(&self, id: SetId) -> Result<&'p Set, String> {
        self.prog.set(id).ok_or_else(|| format!("reference to missing set #{}", id.0))
    }

    pub fn object(&self, id: ObjId) -> Result<&'p Object, String> {
        self.prog.object(id).ok_or_else(|| format!("reference to missing object #{}", id.0))
    }

    /// A verdict's jump/goto target must exist, be in the same table and not be a base chain.
    pub fn verdict(&self, v: Verdict) -> Result<(), String> {
        let Some(target) = v.target() else { return Ok(()) };
        let t =
            self.prog.chain(target).ok_or_else(|| format!("{} to missing chain #{}", v.name(), target.0))?;
        let own = self.prog.chain(self.chain).map(|c| c.table);
        if own != Some(t.table) {
            return Err(format!("{} to chain `{}` of another table", v.name(), t.name));
        }
        if t.base.is_some() {
            return Err(format!("{} to base chain `{}`", v.name(), t.name));
        }
        Ok(())
    }

    /// For expressions only valid in some chain types/hooks (nat, masq, …): checked when the
    /// rule is in a base chain (regular chains inherit from their callers, not checked).
    pub fn require_base(&self, kinds: &[ChainKind], hooks: &[Hook], what: &str) -> Result<(), String> {
        let Some(b) = self.base else { return Ok(()) };
        if !kinds.is_empty() && !kinds.contains(&b.kind) {
            return Err(format!("{what} is not allowed in a {} chain", b.kind.name()));
        }
        if !hooks.is_empty() && !hooks.contains(&b.hook) {
            return Err(format!("{what} is not allowed in the {} hook", b.hook.name()));
        }
        Ok(())
    }
}

fn span(reg: Reg, len: usize) -> Result<std::ops::Range<usize>, String> {
    if reg.is_verdict() {
        return Err("data access to the verdict register (reg 0)".into());
    }
    if reg.word().is_none() {
        return Err(format!("reg {reg} is not a register"));
    }
    if len == 0 {
        return Err(format!("zero-length access to reg {reg}"));
    }
    reg.span(len).ok_or_else(|| format!("{len} bytes at reg {reg} overflow the register file"))
}
