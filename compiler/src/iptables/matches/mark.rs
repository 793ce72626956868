//! `mark` (packet mark) and `connmark` (connection mark): `[!] --mark value[/mask]`.

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint_prefix;

/// `value[/mask]` as `xtables_parse_val_mask` reads it (mask defaults to all ones; the value
/// is not masked).
pub fn parse_mark_mask(s: &str) -> Result<(u32, u32), String> {
    let (v, rest) = parse_uint_prefix(s, 0, u32::MAX as u64)
        .ok_or_else(|| format!("bad integer value \"{s}\": expecting VALUE[/MASK] (32-bit)"))?;
    if rest.is_empty() {
        return Ok((v as u32, u32::MAX));
    }
    let m = rest.strip_prefix('/').ok_or_else(|| format!("trailing garbage after value \"{s}\""))?;
    let (mask, rest) =
        parse_uint_prefix(m, 0, u32::MAX as u64).ok_or_else(|| format!("bad integer mask in \"{s}\""))?;
    if !rest.is_empty() {
        return Err(format!("trailing garbage after value \"{s}\""));
    }
    Ok((v as u32, mask as u32))
}

/// ` 0xVALUE` or ` 0xVALUE/0xMASK` (`xtables_print_mark_mask`).
pub fn format_mark_mask(mark: u32, mask: u32) -> String {
    if mask == u32::MAX { format!("0x{mark:x}") } else { format!("0x{mark:x}/0x{mask:x}") }
}

/// A mark test: `(mark & mask) == value`, possibly negated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkMatch {
    pub mark: u32,
    pub mask: u32,
    pub invert: bool,
}

impl Default for MarkMatch {
    fn default() -> MarkMatch {
        MarkMatch { mark: 0, mask: u32::MAX, invert: false }
    }
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("mark", 0).inv().mand()];

impl Extension for MarkMatch {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let (mark, mask) = parse_mark_mask(call.arg)?;
        *self = MarkMatch { mark, mask, invert: call.invert };
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "mark", format_mark_mask(self.mark, self.mask));
    }
}

/// The `mark` match (packet mark).
pub type Mark = MarkMatch;
/// The `connmark` match (connection mark); same syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connmark(pub MarkMatch);

impl Extension for Connmark {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.0.parse(call)
    }
    fn save(&self, out: &mut SaveBuf) {
        self.0.save(out)
    }
}
