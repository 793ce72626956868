//! `immediate`: load a constant into a data register, or set the verdict (nft_immediate.c).

use crate::data::{ByteOrder, Data};
use crate::interp::Eval;
use crate::program::Program;
use crate::reg::Reg;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Immediate {
    pub dreg: Reg,
    pub value: ImmValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ImmValue {
    Data(Data),
    Verdict(Verdict),
}

impl Immediate {
    pub fn verdict(v: Verdict) -> Immediate {
        Immediate { dreg: Reg::VERDICT, value: ImmValue::Verdict(v) }
    }

    pub fn data(dreg: Reg, d: Data) -> Immediate {
        Immediate { dreg, value: ImmValue::Data(d) }
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let _ = write!(o, "reg {} ", self.dreg);
        match &self.value {
            ImmValue::Data(d) => d.write_words(o, true),
            ImmValue::Verdict(v) => print_verdict(*v, p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<Immediate> {
        let dreg = c.kw_reg()?;
        if dreg.is_verdict() {
            let v = parse_verdict(c, a)?;
            return Ok(Immediate::verdict(v));
        }
        let d = Data::parse_words(&c.rest(), ByteOrder::Network, true)?;
        a.wrote_pending(dreg, d.len());
        Ok(Immediate::data(dreg, d))
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match &self.value {
            ImmValue::Verdict(v) => {
                if !self.dreg.is_verdict() {
                    return Err("verdict loaded into a data register".into());
                }
                c.verdict(*v)
            }
            ImmValue::Data(d) => c.write(self.dreg, d.len()),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match &self.value {
            ImmValue::Verdict(v) => e.regs.verdict = *v,
            ImmValue::Data(d) => {
                if !e.regs.store(self.dreg, d.bytes()) {
                    e.brk();
                }
            }
        }
    }

    /// Re-reads the printed constant in another byte order (assembler fix-up).
    pub(crate) fn reinterpret(&mut self, order: ByteOrder) {
        if let ImmValue::Data(d) = &mut self.value {
            *d = d.reinterpret(order);
        }
    }
}

/// `accept`, `jump -> chain`, …
pub fn print_verdict(v: Verdict, p: &Program, o: &mut String) {
    o.push_str(v.name());
    if let Some(t) = v.target() {
        let _ = write!(o, " -> {}", p.chain_name(t));
    }
}

pub(crate) fn parse_verdict(c: &mut Cursor, a: &mut Asm) -> PResult<Verdict> {
    let t = c.next()?;
    match t {
        "jump" | "goto" => {
            c.expect("->")?;
            let chain = a.chain_ref(c.next()?)?;
            Ok(if t == "jump" { Verdict::Jump(chain) } else { Verdict::Goto(chain) })
        }
        _ => Verdict::from_simple_name(t).ok_or_else(|| format!("unknown verdict `{t}`")),
    }
}
