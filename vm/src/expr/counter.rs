//! `counter`: count packets and bytes (nft_counter.c). The counts live in
//! [`crate::interp::ProgramState`]; the expression holds the initial values.

use crate::interp::{Eval, Slot};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
    /// State slot, assigned by the verifier.
    pub slot: u32,
}

impl Counter {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "pkts {} bytes {}", self.packets, self.bytes);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Counter> {
        c.expect("pkts")?;
        let packets = c.num()?;
        c.expect("bytes")?;
        let bytes = c.num()?;
        Ok(Counter { packets, bytes, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let len = e.packet_len();
        if let Some(s) = e.state.slots.get_mut(self.slot as usize) {
            count(s, len);
        }
    }
}

/// Adds one packet of `len` bytes to a counter slot.
pub(crate) fn count(s: &mut Slot, len: u64) {
    if let Slot::Counter { packets, bytes } = s {
        *packets += 1;
        *bytes += len;
    }
}
