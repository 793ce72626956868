//! `length`: layer-3 packet length range.

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::ranges::{PortRange, parse_range16};

/// The length match (`--length min[:max]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Length {
    pub range: PortRange,
    pub invert: bool,
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("length", 0).inv().mand()];

impl Extension for Length {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.range = parse_range16(call.arg).map_err(|e| format!("--length: {e}"))?;
        self.invert = call.invert;
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(self.invert, "length", self.range);
    }
}
