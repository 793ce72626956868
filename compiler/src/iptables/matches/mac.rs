//! `mac`: source MAC address (`--mac-source xx:xx:xx:xx:xx:xx`).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, hooks};
use crate::iptables::save::SaveBuf;

/// `XTTYPE_ETHERMAC`: six `:`-separated hex bytes of one or two digits.
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let bad = || format!("Invalid MAC address \"{s}\" specified: expecting xx:xx:xx:xx:xx:xx");
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 {
            return Err(bad());
        }
        out[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// `xx:xx:xx:xx:xx:xx` (lowercase, two digits each).
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// The mac match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mac {
    pub addr: [u8; 6],
    pub invert: bool,
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("mac-source", 0).inv().mand()];

impl Extension for Mac {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.addr = parse_mac(call.arg)?;
        self.invert = call.invert;
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "mac-source", format_mac(&self.addr));
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::PRE | hooks::IN | hooks::FWD, "mac match")
    }
}
