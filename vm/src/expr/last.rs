//! `last`: remember when the rule last matched (nft_last.c).

use crate::interp::{Eval, Slot};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Last {
    /// Milliseconds since last use at load time; `None` is "never".
    pub msecs: Option<u64>,
    pub slot: u32,
}

impl Last {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = match self.msecs {
            None => write!(o, "never"),
            Some(ms) => write!(o, "{ms}"),
        };
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Last> {
        let msecs = if c.eat("never") { None } else { Some(c.num()?) };
        Ok(Last { msecs, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let now = e.now();
        if let Some(Slot::Last { at }) = e.state.slots.get_mut(self.slot as usize) {
            *at = Some(now);
        }
    }
}
