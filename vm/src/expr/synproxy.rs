//! `synproxy`: answer SYNs with SYN cookies on behalf of the server (nft_synproxy.c); the
//! runtime does the TCP work.

use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Synproxy {
    pub mss: u16,
    pub wscale: u8,
    /// `NF_SYNPROXY_OPT_*` (timestamp, sack-perm …; not printed).
    pub flags: u32,
}

impl Synproxy {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "mss {} wscale {}", self.mss, self.wscale);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Synproxy> {
        c.expect("mss")?;
        let mss = c.num()?;
        c.expect("wscale")?;
        let wscale = c.num()?;
        Ok(Synproxy { mss, wscale, flags: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.wscale > 14 {
            return Err("synproxy wscale above 14".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let v = e.env.synproxy(self.mss, self.wscale, self.flags);
        if v != crate::verdict::Verdict::Continue {
            e.regs.verdict = v;
        }
    }
}
