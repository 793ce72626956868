//! `addrtype`: routing type of the source/destination address (LOCAL, UNICAST, …).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit, hooks};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::names::is_ci_prefix;

/// Route types (`RTN_*`; bit = number).
pub const ADDR_TYPES: &[&str] = &[
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

/// The addrtype match (revision 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addrtype {
    /// Bits by [`ADDR_TYPES`] index, and negation.
    pub src: Option<(u16, bool)>,
    pub dst: Option<(u16, bool)>,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
}

const O_SRC: u8 = 0;
const O_DST: u8 = 1;
const O_IN: u8 = 2;
const O_OUT: u8 = 3;

static OPTS: [OptSpec; 4] = [
    OptSpec::arg("src-type", O_SRC).inv(),
    OptSpec::arg("dst-type", O_DST).inv(),
    OptSpec::flag("limit-iface-in", O_IN).excl(bit(O_OUT)),
    OptSpec::flag("limit-iface-out", O_OUT).excl(bit(O_IN)),
];

fn parse_types(s: &str) -> Result<u16, String> {
    let mut mask = 0;
    for tok in s.split(',') {
        let i = ADDR_TYPES
            .iter()
            .position(|n| is_ci_prefix(tok, n))
            .ok_or_else(|| format!("bad type \"{tok}\": expecting {}", ADDR_TYPES.join(", ")))?;
        mask |= 1 << i;
    }
    Ok(mask)
}

fn format_types(mask: u16) -> String {
    ADDR_TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

impl Extension for Addrtype {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_SRC => self.src = Some((parse_types(call.arg)?, call.invert)),
            O_DST => self.dst = Some((parse_types(call.arg)?, call.invert)),
            O_IN => self.limit_iface_in = true,
            _ => self.limit_iface_out = true,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & (bit(O_SRC) | bit(O_DST)) == 0 {
            return Err("you must specify --src-type or --dst-type".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some((m, inv)) = self.src.filter(|(m, _)| *m != 0) {
            out.opt_val(inv, "src-type", format_types(m));
        }
        if let Some((m, inv)) = self.dst.filter(|(m, _)| *m != 0) {
            out.opt_val(inv, "dst-type", format_types(m));
        }
        if self.limit_iface_in {
            out.push(" --limit-iface-in");
        }
        if self.limit_iface_out {
            out.push(" --limit-iface-out");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        if self.limit_iface_in {
            cx.require_hooks(hooks::PRE | hooks::IN | hooks::FWD, "--limit-iface-in")?;
        }
        if self.limit_iface_out {
            cx.require_hooks(hooks::OUT | hooks::POST | hooks::FWD, "--limit-iface-out")?;
        }
        Ok(())
    }
}
