//! `ttl` (IPv4 TTL) and `hl` (IPv6 hop limit): `--ttl-eq/-lt/-gt N`, `! --ttl-eq N`.

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// How the value is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CmpMode {
    #[default]
    Eq,
    Ne,
    Lt,
    Gt,
}

/// A TTL / hop-limit comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TtlCmp {
    pub mode: CmpMode,
    pub value: u8,
}

const O_EQ: u8 = 0;
const O_LT: u8 = 1;
const O_GT: u8 = 2;
const ANY: u64 = bit(O_EQ) | bit(O_LT) | bit(O_GT);

static TTL_OPTS: [OptSpec; 4] = [
    OptSpec::arg("ttl-lt", O_LT).excl(ANY),
    OptSpec::arg("ttl-gt", O_GT).excl(ANY),
    OptSpec::arg("ttl-eq", O_EQ).excl(ANY).inv(),
    OptSpec::arg("ttl", O_EQ).excl(ANY),
];
static HL_OPTS: [OptSpec; 4] = [
    OptSpec::arg("hl-lt", O_LT).excl(ANY),
    OptSpec::arg("hl-gt", O_GT).excl(ANY),
    OptSpec::arg("hl-eq", O_EQ).excl(ANY).inv(),
    OptSpec::arg("hl", O_EQ).excl(ANY),
];

impl TtlCmp {
    fn parse_cmp(&mut self, call: &OptCall<'_>) -> Result<(), String> {
        self.value = parse_uint(call.arg, 0, 255).ok_or_else(|| {
            format!("bad value \"{}\" for \"--{}\": expecting 0-255", call.arg, call.spec.name)
        })? as u8;
        self.mode = match call.spec.id {
            O_EQ if call.invert => CmpMode::Ne,
            O_EQ => CmpMode::Eq,
            O_LT => CmpMode::Lt,
            _ => CmpMode::Gt,
        };
        Ok(())
    }

    fn save_as(&self, out: &mut SaveBuf, prefix: &str) {
        let (bang, op) = match self.mode {
            CmpMode::Eq => ("", "eq"),
            CmpMode::Ne => (" !", "eq"),
            CmpMode::Lt => ("", "lt"),
            CmpMode::Gt => ("", "gt"),
        };
        out.push(&format!("{bang} --{prefix}-{op} {}", self.value));
    }
}

/// The ttl match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ttl(pub TtlCmp);
/// The hl match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hl(pub TtlCmp);

impl Extension for Ttl {
    fn options(&self) -> &'static [OptSpec] {
        &TTL_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.0.parse_cmp(call)
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & ANY == 0 {
            return Err("You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        self.0.save_as(out, "ttl")
    }
}

impl Extension for Hl {
    fn options(&self) -> &'static [OptSpec] {
        &HL_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.0.parse_cmp(call)
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & ANY == 0 {
            return Err("You must specify one of `--hl-eq', `--hl-lt', `--hl-gt'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        self.0.save_as(out, "hl")
    }
}
