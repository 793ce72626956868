//! `MARK` (packet mark) and `CONNMARK` (connection mark) targets.
//!
//! Both keep the kernel's normal form: a mark `m` and mask `k` meaning
//! `new = (old & ~k) ^ m`; `--set-mark`, `--and-mark`, `--or-mark`, `--xor-mark` are
//! spellings of it (iptables-save always prints `--set-xmark m/k`).

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::matches::mark::parse_mark_mask;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

const O_SET_MARK: u8 = 0;
const O_AND_MARK: u8 = 1;
const O_OR_MARK: u8 = 2;
const O_XOR_MARK: u8 = 3;
const O_SET_XMARK: u8 = 4;
const O_SAVE_MARK: u8 = 5;
const O_RESTORE_MARK: u8 = 6;
const O_CTMASK: u8 = 7;
const O_NFMASK: u8 = 8;
const O_MASK: u8 = 9;
const O_LEFT_SHIFT: u8 = 10;
const O_RIGHT_SHIFT: u8 = 11;
const MARK_ANY: u64 = bit(O_SET_MARK) | bit(O_AND_MARK) | bit(O_OR_MARK) | bit(O_XOR_MARK) | bit(O_SET_XMARK);
const OP_ANY: u64 = MARK_ANY | bit(O_SAVE_MARK) | bit(O_RESTORE_MARK);

fn u32_arg(call: &OptCall<'_>) -> Result<u32, String> {
    parse_uint(call.arg, 0, u32::MAX as u64).map(|v| v as u32).ok_or_else(|| {
        format!("bad value for option \"--{}\", or out of range (0-4294967295)", call.spec.name)
    })
}

/// `(mark, mask)` of a mark-setting option.
fn xmark(call: &OptCall<'_>, set_mark_plain: bool) -> Result<(u32, u32), String> {
    Ok(match call.spec.id {
        O_SET_XMARK => parse_mark_mask(call.arg)?,
        O_SET_MARK if set_mark_plain => (u32_arg(call)?, u32::MAX),
        O_SET_MARK => {
            let (m, k) = parse_mark_mask(call.arg)?;
            (m, m | k)
        }
        O_AND_MARK => (0, !u32_arg(call)?),
        O_OR_MARK => {
            let v = u32_arg(call)?;
            (v, v)
        }
        _ => (u32_arg(call)?, 0),
    })
}

/// The MARK target: `new = (old & ~mask) ^ mark`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarkTarget {
    pub mark: u32,
    pub mask: u32,
}

static MARK_OPTS: [OptSpec; 5] = [
    OptSpec::arg("set-xmark", O_SET_XMARK).excl(MARK_ANY),
    OptSpec::arg("set-mark", O_SET_MARK).excl(MARK_ANY),
    OptSpec::arg("and-mark", O_AND_MARK).excl(MARK_ANY),
    OptSpec::arg("or-mark", O_OR_MARK).excl(MARK_ANY),
    OptSpec::arg("xor-mark", O_XOR_MARK).excl(MARK_ANY),
];

impl Extension for MarkTarget {
    fn options(&self) -> &'static [OptSpec] {
        &MARK_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        (self.mark, self.mask) = xmark(call, false)?;
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("One of the --set-xmark, --{and,or,xor,set}-mark options is required".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --set-xmark 0x{:x}/0x{:x}", self.mark, self.mask));
    }
}

/// What CONNMARK does (the VM's target runs the same modes; its module says how).
pub use nftvm_vm::expr::connmark::ConnmarkMode;

/// Shift direction of CONNMARK revision 2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ShiftDir {
    #[default]
    Left,
    Right,
}

/// The CONNMARK target (revision 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnmarkTarget {
    pub mode: ConnmarkMode,
    pub ctmark: u32,
    pub ctmask: u32,
    pub nfmask: u32,
    pub shift_dir: ShiftDir,
    pub shift_bits: u8,
}

impl Default for ConnmarkTarget {
    fn default() -> ConnmarkTarget {
        ConnmarkTarget {
            mode: ConnmarkMode::Set,
            ctmark: 0,
            ctmask: u32::MAX,
            nfmask: u32::MAX,
            shift_dir: ShiftDir::Left,
            shift_bits: 0,
        }
    }
}

const MASKS: u64 = bit(O_CTMASK) | bit(O_NFMASK);
static CONNMARK_OPTS: [OptSpec; 12] = [
    OptSpec::arg("set-xmark", O_SET_XMARK).excl(OP_ANY),
    OptSpec::arg("set-mark", O_SET_MARK).excl(OP_ANY),
    OptSpec::arg("and-mark", O_AND_MARK).excl(OP_ANY),
    OptSpec::arg("or-mark", O_OR_MARK).excl(OP_ANY),
    OptSpec::arg("xor-mark", O_XOR_MARK).excl(OP_ANY),
    OptSpec::flag("save-mark", O_SAVE_MARK).excl(OP_ANY),
    OptSpec::flag("restore-mark", O_RESTORE_MARK).excl(OP_ANY),
    OptSpec::arg("left-shift-mark", O_LEFT_SHIFT),
    OptSpec::arg("right-shift-mark", O_RIGHT_SHIFT),
    OptSpec::arg("ctmask", O_CTMASK).excl(bit(O_MASK)),
    OptSpec::arg("nfmask", O_NFMASK).excl(bit(O_MASK)),
    OptSpec::arg("mask", O_MASK).excl(MASKS),
];

impl Extension for ConnmarkTarget {
    fn options(&self) -> &'static [OptSpec] {
        &CONNMARK_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_SAVE_MARK => self.mode = ConnmarkMode::Save,
            O_RESTORE_MARK => self.mode = ConnmarkMode::Restore,
            O_CTMASK => self.ctmask = u32_arg(call)?,
            O_NFMASK => self.nfmask = u32_arg(call)?,
            O_MASK => {
                let v = u32_arg(call)?;
                self.nfmask = v;
                self.ctmask = v;
            }
            O_LEFT_SHIFT | O_RIGHT_SHIFT => {
                self.shift_bits = parse_uint(call.arg, 0, 32).ok_or_else(|| {
                    format!("bad value for option \"--{}\", or out of range (0-32)", call.spec.name)
                })? as u8;
                self.shift_dir = if call.spec.id == O_LEFT_SHIFT { ShiftDir::Left } else { ShiftDir::Right };
            }
            _ => {
                self.mode = ConnmarkMode::Set;
                (self.ctmark, self.ctmask) = xmark(call, false)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & OP_ANY == 0 {
            return Err("No operation specified: expecting --set-xmark, --set-mark, --and-mark, --or-mark, \
                        --xor-mark, --save-mark or --restore-mark"
                .into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        match self.mode {
            ConnmarkMode::Set => out.push(&format!(" --set-xmark 0x{:x}/0x{:x}", self.ctmark, self.ctmask)),
            ConnmarkMode::Save => {
                out.push(&format!(" --save-mark --nfmask 0x{:x} --ctmask 0x{:x}", self.nfmask, self.ctmask))
            }
            ConnmarkMode::Restore => out
                .push(&format!(" --restore-mark --nfmask 0x{:x} --ctmask 0x{:x}", self.nfmask, self.ctmask)),
        }
        if self.shift_bits != 0 {
            let op = match self.shift_dir {
                ShiftDir::Left => "left-shift-mark",
                ShiftDir::Right => "right-shift-mark",
            };
            out.push(&format!(" --{op} {}", self.shift_bits));
        }
    }
}
