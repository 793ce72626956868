//! `ecn`: ECN bits of the TCP header (CWR, ECE) and of the IP header (ECT codepoint).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// The ecn match; each field is `Some(negated)` when given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ecn {
    pub tcp_cwr: Option<bool>,
    pub tcp_ece: Option<bool>,
    /// ECT codepoint 0–3 and negation.
    pub ip_ect: Option<(u8, bool)>,
}

static OPTS: [OptSpec; 3] = [
    OptSpec::flag("ecn-tcp-cwr", 0).inv(),
    OptSpec::flag("ecn-tcp-ece", 1).inv(),
    OptSpec::arg("ecn-ip-ect", 2).inv(),
];

impl Extension for Ecn {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.tcp_cwr = Some(call.invert),
            1 => self.tcp_ece = Some(call.invert),
            _ => {
                let v = parse_uint(call.arg, 0, 3)
                    .ok_or("bad value for option \"--ecn-ip-ect\", or out of range (0-3)")?;
                self.ip_ect = Some((v as u8, call.invert));
            }
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("some option required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(inv) = self.tcp_ece {
            out.opt(inv, "ecn-tcp-ece");
        }
        if let Some(inv) = self.tcp_cwr {
            out.opt(inv, "ecn-tcp-cwr");
        }
        if let Some((v, inv)) = self.ip_ect {
            out.opt_val(inv, "ecn-ip-ect", v);
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        if self.tcp_cwr.is_some() || self.tcp_ece.is_some() {
            cx.require_proto(&[6], "ecn TCP flag tests")?;
        }
        Ok(())
    }
}
