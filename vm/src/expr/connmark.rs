//! `target name CONNMARK rev 2` — iptables' `-j CONNMARK`, run as iptables-nft runs it when
//! nft has no statement for it: the kernel's target (`xt_connmark`, revision 2). nft can
//! copy a mark whole, or masked on one side, but not merge some bits of one mark into
//! another (`--restore-mark --nfmask`, `--save-mark --ctmask`: OpenWrt's mwan3 keeps the
//! WAN choice in a few bits of both marks that way). The three modes, as the kernel:
//!
//! - set: `ctmark = ((ctmark & ~ctmask) ^ ctmark_value) << shift`;
//! - save: `ctmark = (ctmark & ~ctmask) ^ ((mark & nfmask) << shift)`;
//! - restore: `mark = (mark & ~nfmask) ^ ((ctmark & ctmask) << shift)`
//!
//! (`<<` or `>>` by the shift's direction). A packet without a connection is left alone.

use crate::interp::Eval;
use crate::keys::{CtKey, MetaKey};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// What the target changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ConnmarkMode {
    /// The connection's mark from a constant.
    #[default]
    Set,
    /// The connection's mark from the packet's.
    Save,
    /// The packet's mark from the connection's.
    Restore,
}

/// One `-j CONNMARK` (the kernel's `xt_connmark_tginfo2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Connmark {
    pub mode: ConnmarkMode,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    /// Shift right (else left).
    pub shift_right: bool,
    /// 0..=31.
    pub shift_bits: u8,
}

impl ConnmarkMode {
    fn name(self) -> &'static str {
        match self {
            ConnmarkMode::Set => "set",
            ConnmarkMode::Save => "save",
            ConnmarkMode::Restore => "restore",
        }
    }
}

impl Connmark {
    fn shift(&self, v: u32) -> u32 {
        let n = u32::from(self.shift_bits & 31);
        if self.shift_right { v >> n } else { v << n }
    }

    /// The marks after the target, from the packet's mark and the connection's.
    pub fn apply(&self, mark: u32, ctmark: u32) -> (u32, u32) {
        match self.mode {
            ConnmarkMode::Set => (mark, self.shift((ctmark & !self.ctmask) ^ self.ctmark)),
            ConnmarkMode::Save => (mark, (ctmark & !self.ctmask) ^ self.shift(mark & self.nfmask)),
            ConnmarkMode::Restore => ((mark & !self.nfmask) ^ self.shift(ctmark & self.ctmask), ctmark),
        }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name CONNMARK rev 2 mode {} ctmark 0x{:08x} ctmask 0x{:08x} nfmask 0x{:08x} shift {} {}",
            self.mode.name(),
            self.ctmark,
            self.ctmask,
            self.nfmask,
            if self.shift_right { "right" } else { "left" },
            self.shift_bits
        );
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Connmark> {
        c.expect_all(&["name", "CONNMARK", "rev", "2", "mode"])?;
        let mode = match c.next()? {
            "set" => ConnmarkMode::Set,
            "save" => ConnmarkMode::Save,
            "restore" => ConnmarkMode::Restore,
            w => return Err(format!("expected set, save or restore, found `{w}`")),
        };
        let word = |c: &mut Cursor, name: &str| -> PResult<u32> {
            c.expect(name)?;
            u32::try_from(c.hex()?).map_err(|_| format!("{name} is more than 32 bits"))
        };
        let (ctmark, ctmask, nfmask) = (word(c, "ctmark")?, word(c, "ctmask")?, word(c, "nfmask")?);
        c.expect("shift")?;
        let shift_right = match c.next()? {
            "left" => false,
            "right" => true,
            w => return Err(format!("expected left or right, found `{w}`")),
        };
        let shift_bits = c.num()?;
        Ok(Connmark { mode, ctmark, ctmask, nfmask, shift_right, shift_bits })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.shift_bits > 31 {
            return Err(format!("CONNMARK shifts by {} bits (at most 31)", self.shift_bits));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let mut ct = [0u8; 4];
        if !e.env.ct_get(CtKey::Mark, None, &mut ct) {
            return;
        }
        let mut m = [0u8; 4];
        let mark = if e.env.meta_get(MetaKey::Mark, &mut m) { u32::from_le_bytes(m) } else { 0 };
        let ctmark = u32::from_le_bytes(ct);
        let (new_mark, new_ctmark) = self.apply(mark, ctmark);
        if self.mode == ConnmarkMode::Restore {
            e.env.meta_set(MetaKey::Mark, &new_mark.to_le_bytes());
        } else if new_ctmark != ctmark {
            e.env.ct_set(CtKey::Mark, None, &new_ctmark.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three modes on marks whose bits tell them apart (mwan3's masks, a shift).
    #[test]
    fn modes_merge_the_masked_bits() {
        let restore =
            Connmark { mode: ConnmarkMode::Restore, ctmask: 0x3f00, nfmask: 0x3f00, ..Connmark::default() };
        assert_eq!(restore.apply(0xffff_00ff, 0x1234_5678), (0xffff_16ff, 0x1234_5678));
        let save =
            Connmark { mode: ConnmarkMode::Save, ctmask: 0x3f00, nfmask: 0x3f00, ..Connmark::default() };
        assert_eq!(save.apply(0x0000_2a11, 0xffff_ffff), (0x0000_2a11, 0xffff_eaff));
        let shifted = Connmark {
            mode: ConnmarkMode::Save,
            ctmask: 0xff00,
            nfmask: 0xff,
            shift_bits: 8,
            ..Connmark::default()
        };
        assert_eq!(shifted.apply(0x12ab, 0), (0x12ab, 0xab00));
        let set = Connmark {
            mode: ConnmarkMode::Set,
            ctmark: 0x10,
            ctmask: 0xf0,
            shift_right: true,
            shift_bits: 4,
            ..Connmark::default()
        };
        assert_eq!(set.apply(7, 0xabcd), (7, 0x0ab1));
    }
}
