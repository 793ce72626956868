//! `reject`: drop the packet and have the runtime answer with an ICMP error or a TCP reset
//! (nft_reject.c). Type 0 icmp unreachable (code), 1 tcp reset, 2 icmpx unreachable.

use crate::interp::{Eval, RejectRequest};
use crate::keys::Hook;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    pub kind: u32,
    pub code: u8,
}

impl Reject {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "type {} code {}", self.kind, self.code);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Reject> {
        c.expect("type")?;
        let kind = c.num()?;
        c.expect("code")?;
        let code = c.num()?;
        Ok(Reject { kind, code })
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        if self.kind > 2 {
            return Err(format!("unknown reject type {}", self.kind));
        }
        c.require_base(
            &[],
            &[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Ingress],
            "reject",
        )
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.env.reject(RejectRequest { kind: self.kind, code: self.code });
        e.regs.verdict = Verdict::Drop;
    }
}
