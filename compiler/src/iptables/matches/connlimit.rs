//! `connlimit`: number of connections per address group (masked source or destination).

use crate::iptables::Family;
use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::parse_mask;

/// The connlimit match (revision 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connlimit {
    pub limit: u32,
    /// `true`: `--connlimit-upto` semantics (match while count ≤ limit); this is the
    /// kernel's invert flag: `--connlimit-above N` is `!upto`, `! --connlimit-upto` is above.
    pub upto: bool,
    /// Prefix length grouping addresses.
    pub mask_len: u8,
    /// Count per destination (`--connlimit-daddr`) instead of source.
    pub daddr: bool,
}

impl Connlimit {
    pub fn new(f: Family) -> Connlimit {
        Connlimit { limit: 0, upto: false, mask_len: f.addr_bits(), daddr: false }
    }
}

const O_UPTO: u8 = 0;
const O_ABOVE: u8 = 1;
const O_MASK: u8 = 2;
const O_SADDR: u8 = 3;
const O_DADDR: u8 = 4;

static OPTS: [OptSpec; 5] = [
    OptSpec::arg("connlimit-upto", O_UPTO).excl(bit(O_ABOVE)).inv(),
    OptSpec::arg("connlimit-above", O_ABOVE).excl(bit(O_UPTO)).inv(),
    OptSpec::arg("connlimit-mask", O_MASK),
    OptSpec::flag("connlimit-saddr", O_SADDR).excl(bit(O_DADDR)),
    OptSpec::flag("connlimit-daddr", O_DADDR).excl(bit(O_SADDR)),
];

impl Extension for Connlimit {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_UPTO | O_ABOVE => {
                self.limit = crate::iptables::values::num::parse_uint(call.arg, 0, u32::MAX as u64)
                    .ok_or_else(|| {
                        format!(
                            "bad value for option \"--{}\", or out of range (0-4294967295)",
                            call.spec.name
                        )
                    })? as u32;
                self.upto = (call.spec.id == O_UPTO) != call.invert;
            }
            O_MASK => {
                let m = parse_mask(call.arg, call.family()).ok_or_else(|| {
                    format!(
                        "bad value for option \"--connlimit-mask\": neither a valid network mask nor a valid CIDR (0-{})",
                        call.family().addr_bits()
                    )
                })?;
                self.mask_len = m
                    .mask_to_prefix_len()
                    .unwrap_or_else(|| m.octets().iter().map(|b| b.count_ones() as u8).sum());
            }
            O_SADDR => self.daddr = false,
            _ => self.daddr = true,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & (bit(O_UPTO) | bit(O_ABOVE)) == 0 {
            return Err("You must specify \"--connlimit-above\" or \"--connlimit-upto\"".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let op = if self.upto { "connlimit-upto" } else { "connlimit-above" };
        out.push(&format!(" --{op} {} --connlimit-mask {}", self.limit, self.mask_len));
        out.push(if self.daddr { " --connlimit-daddr" } else { " --connlimit-saddr" });
    }
}
