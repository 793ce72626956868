//! Packet and connection marks: the `mark` and `connmark` matches and the `MARK` and
//! `CONNMARK` targets (libxt_mark, libxt_connmark, libxt_MARK, libxt_CONNMARK).

use super::buf::{Xl, xadd};
use super::{NoXlate, XResult};
use crate::iptables::matches::mark::{Connmark, MarkMatch};
use crate::iptables::targets::mark::{ConnmarkMode, ConnmarkTarget, MarkTarget, ShiftDir};

/// ` 0x2`, ` != 0x2`, ` and 0xa == 0xa`.
fn mark_cmp(xl: &mut Xl, m: &MarkMatch) {
    if m.mask != u32::MAX {
        xadd!(xl, " and 0x{:x} {} 0x{:x}", m.mask, if m.invert { "!=" } else { "==" }, m.mark);
    } else {
        xadd!(xl, " {}0x{:x}", if m.invert { "!= " } else { "" }, m.mark);
    }
}

pub fn mark_match(m: &MarkMatch, xl: &mut Xl) -> XResult {
    xl.add("mark");
    mark_cmp(xl, m);
    Ok(())
}

pub fn connmark_match(m: &Connmark, xl: &mut Xl) -> XResult {
    xl.add("ct mark");
    mark_cmp(xl, &m.0);
    Ok(())
}

pub fn mark_target(t: &MarkTarget, xl: &mut Xl) -> XResult {
    xl.add("meta mark set ");
    let (mark, mask) = (t.mark, t.mask);
    if mask == u32::MAX {
        xadd!(xl, "0x{mark:x} ");
    } else if mark == 0 {
        xadd!(xl, "mark and 0x{:x} ", !mask);
    } else if mark == mask {
        xadd!(xl, "mark or 0x{mark:x} ");
    } else if mask == 0 {
        xadd!(xl, "mark xor 0x{mark:x} ");
    } else {
        xadd!(xl, "mark and 0x{:x} xor 0x{mark:x} ", !mask);
    }
    Ok(())
}

pub fn connmark_target(t: &ConnmarkTarget, xl: &mut Xl) -> XResult {
    let braces = if t.shift_bits != 0 { "( " } else { "" };
    let masked = |xl: &mut Xl, what: &str| -> XResult {
        if !(t.nfmask == u32::MAX && t.ctmask == u32::MAX) {
            if t.nfmask == t.ctmask {
                xadd!(xl, " and 0x{:x}", t.nfmask);
            } else {
                return Err(NoXlate::new(format!(
                    "CONNMARK: --{what} with different --nfmask and --ctmask has no nft translation"
                )));
            }
        }
        Ok(())
    };
    match t.mode {
        ConnmarkMode::Set => {
            xadd!(xl, "ct mark set {braces}");
            let (mark, mask) = (t.ctmark, t.ctmask);
            if mask == u32::MAX {
                xadd!(xl, "0x{mark:x} ");
            } else if mark == 0 {
                xadd!(xl, "ct mark and 0x{:x}", !mask);
            } else if mark == mask {
                xadd!(xl, "ct mark or 0x{mark:x}");
            } else if mask == 0 {
                xadd!(xl, "ct mark xor 0x{mark:x}");
            } else {
                xadd!(xl, "ct mark xor 0x{mark:x} and 0x{:x}", !mask);
                xl.note("iptables-translate applies the CONNMARK xor before the and (ct mark xor M and ~K), the target does (ct mark and ~K) xor M");
            }
        }
        ConnmarkMode::Save => {
            xadd!(xl, "ct mark set {braces}mark");
            masked(xl, "save-mark")?;
        }
        ConnmarkMode::Restore => {
            xadd!(xl, "meta mark set {braces}ct mark");
            masked(xl, "restore-mark")?;
        }
    }
    if t.shift_bits != 0 {
        xadd!(xl, " ) {} {}", if t.shift_dir == ShiftDir::Right { ">>" } else { "<<" }, t.shift_bits);
    }
    Ok(())
}
