//! `match name physdev rev 0` — iptables' `-m physdev`, run as iptables-nft runs it: the
//! kernel's match (`xt_physdev`). It tests the bridge ports a bridged packet came in on and
//! goes out by. nftvm has no bridge at run time, so no packet it sees was bridged, and the
//! kernel's answer for such a packet is the whole answer: a test matches only when it is
//! inverted (`! --physdev-is-bridged`, `! --physdev-in eth0`, …). The port names are kept
//! for the listing.

use super::xt::Tests;
use crate::interp::Eval;
use crate::keys::Hook;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `XT_PHYSDEV_OP_*`: the tests the match makes (bits of its [`Tests`]).
pub mod test_bits {
    pub const IN: u16 = 0x01;
    pub const OUT: u16 = 0x02;
    pub const BRIDGED: u16 = 0x04;
    pub const IS_IN: u16 = 0x08;
    pub const IS_OUT: u16 = 0x10;
    /// Every test.
    pub const ALL: u16 = 0x1f;
}

/// One `-m physdev` match (the kernel's `xt_physdev_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Physdev {
    /// The bridge port names `--physdev-in` and `--physdev-out` give (empty when not given).
    pub port_in: String,
    pub port_out: String,
    /// Which of [`test_bits`] the match makes.
    pub tests: Tests,
}

/// A port name in the text form (`-` for none; names have no spaces).
fn name_text(name: &str) -> &str {
    if name.is_empty() { "-" } else { name }
}

impl Physdev {
    /// The kernel's answer for a packet that was not bridged: every test made is inverted.
    pub fn matches_unbridged(&self) -> bool {
        self.tests.made & !self.tests.inverted == 0
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name physdev rev 0 ");
        self.tests.print(o, 2);
        let _ = write!(o, " in {} out {}", name_text(&self.port_in), name_text(&self.port_out));
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Physdev> {
        c.expect_all(&["name", "physdev", "rev", "0"])?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        let name = |c: &mut Cursor, word: &str| -> PResult<String> {
            c.expect(word)?;
            let n = c.next()?;
            if n.len() >= 16 {
                return Err(format!("port name `{n}` longer than 15 bytes"));
            }
            Ok(if n == "-" { String::new() } else { n.to_string() })
        };
        let port_in = name(c, "in")?;
        let port_out = name(c, "out")?;
        Ok(Physdev { port_in, port_out, tests })
    }

    /// `physdev_mt_check`: some test, no unknown one; an output port test only with
    /// `--physdev-is-bridged` (not inverted) where locally generated packets pass.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        use test_bits::*;
        if self.tests.made == 0 || !self.tests.within(ALL) {
            return Err("physdev: no test, or unknown test bits".into());
        }
        let bridged_only = self.tests.made & BRIDGED != 0 && self.tests.inverted & BRIDGED == 0;
        if self.tests.made & (OUT | IS_OUT) != 0 && !bridged_only {
            return c.require_base(
                &[],
                &[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Postrouting],
                "physdev --physdev-out or --physdev-is-out without --physdev-is-bridged",
            );
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !self.matches_unbridged() {
            e.brk();
        }
    }
}
