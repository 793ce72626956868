//! `notrack`: the packet skips connection tracking (nft_ct.c's notrack).

use crate::interp::Eval;
use crate::keys::Hook;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Notrack;

impl Notrack {
    pub(crate) fn print(&self, _p: &Program, _o: &mut String) {}

    pub(crate) fn parse(_c: &mut Cursor, _a: &mut Asm) -> PResult<Notrack> {
        Ok(Notrack)
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        c.require_base(&[], &[Hook::Prerouting, Hook::Output], "notrack")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.env.notrack();
    }
}
