//! `helper`: the connection's conntrack helper name.

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;

/// The helper match (`[!] --helper NAME`, at most 29 bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub invert: bool,
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("helper", 0).inv().mand()];

impl Extension for Helper {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.name =
            crate::iptables::targets::log::truncate_bytes(call.arg, nftvm_vm::expr::xt_helper::MAX_NAME);
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.opt_str(self.invert, "helper", &self.name);
    }
}
