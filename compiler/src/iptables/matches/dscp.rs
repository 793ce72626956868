//! `dscp` (DSCP field, by value or class name) and `tos` (TOS byte under a mask) matches,
//! and the shared class/TOS name tables.

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::{parse_uint, parse_uint_prefix};

/// DiffServ class names and their DSCP values.
pub const DSCP_CLASSES: &[(&str, u8)] = &[
    ("CS0", 0x00),
    ("CS1", 0x08),
    ("CS2", 0x10),
    ("CS3", 0x18),
    ("CS4", 0x20),
    ("CS5", 0x28),
    ("CS6", 0x30),
    ("CS7", 0x38),
    ("BE", 0x00),
    ("AF11", 0x0a),
    ("AF12", 0x0c),
    ("AF13", 0x0e),
    ("AF21", 0x12),
    ("AF22", 0x14),
    ("AF23", 0x16),
    ("AF31", 0x1a),
    ("AF32", 0x1c),
    ("AF33", 0x1e),
    ("AF41", 0x22),
    ("AF42", 0x24),
    ("AF43", 0x26),
    ("EF", 0x2e),
];

/// `class_to_dscp`: the first class whose name starts the argument (case-insensitively).
pub fn dscp_class(s: &str) -> Result<u8, String> {
    DSCP_CLASSES
        .iter()
        .find(|(n, _)| s.len() >= n.len() && s.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes()))
        .map(|&(_, v)| v)
        .ok_or_else(|| format!("Invalid DSCP value `{s}': expecting CS0-CS7, BE, AF11-AF43 or EF"))
}

/// A DSCP value 0–63.
pub fn dscp_value(call: &OptCall<'_>) -> Result<u8, String> {
    parse_uint(call.arg, 0, 0x3f)
        .map(|v| v as u8)
        .ok_or_else(|| format!("bad value for option \"--{}\", or out of range (0-63)", call.spec.name))
}

/// The dscp match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dscp {
    pub dscp: u8,
    pub invert: bool,
}

static DSCP_OPTS: [OptSpec; 2] =
    [OptSpec::arg("dscp", 0).excl(bit(1)).inv(), OptSpec::arg("dscp-class", 1).excl(bit(0)).inv()];

impl Extension for Dscp {
    fn options(&self) -> &'static [OptSpec] {
        &DSCP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.dscp = if call.spec.id == 0 { dscp_value(call)? } else { dscp_class(call.arg)? };
        self.invert = call.invert;
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("Parameter --dscp is required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "dscp", format!("0x{:02x}", self.dscp));
    }
}

/// Symbolic TOS values.
pub const TOS_NAMES: &[(&str, u8)] = &[
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

/// `XTTYPE_TOSMASK`: `value[/mask]` (mask defaults to 0xff) or a symbolic name (mask
/// `name_mask`).
pub fn parse_tos_mask(s: &str, name_mask: u8) -> Result<(u8, u8), String> {
    if let Some((v, rest)) = parse_uint_prefix(s, 0, 255) {
        if rest.is_empty() {
            return Ok((v as u8, 0xff));
        }
        if let Some(m) = rest.strip_prefix('/') {
            let m = parse_uint(m, 0, 255).ok_or_else(|| format!("Illegal value: \"{s}\""))?;
            return Ok((v as u8, m as u8));
        }
        return Err(format!("Illegal value: \"{s}\""));
    }
    TOS_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|&(_, v)| (v, name_mask))
        .ok_or_else(|| format!("Symbolic name \"{s}\" is unknown"))
}

/// The tos match (revision 1): `(tos & mask) == value`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tos {
    pub value: u8,
    pub mask: u8,
    pub invert: bool,
}

static TOS_OPTS: [OptSpec; 1] = [OptSpec::arg("tos", 0).inv().mand()];

impl Extension for Tos {
    fn options(&self) -> &'static [OptSpec] {
        &TOS_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        (self.value, self.mask) = parse_tos_mask(call.arg, 0x3f)?;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "tos", format!("0x{:02x}/0x{:02x}", self.value, self.mask));
    }
}
