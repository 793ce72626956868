//! `notrack`: the packet skips connection tracking (nft_ct.c's notrack).

use crate::interp::Eval;
use crate::keys::{Family, Hook};
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

    /// Prerouting and output, as the kernel's validation — which compares hook numbers, so
    /// netdev ingress (number 0, as prerouting) passes too.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let hooks: &[Hook] =
            if c.family == Family::Netdev { &[Hook::Ingress] } else { &[Hook::Prerouting, Hook::Output] };
        c.require_base(&[], hooks, "notrack")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.env.notrack();
    }
}
