//! `TCPMSS`: set the TCP MSS option of SYN packets, or clamp it to the path MTU.

use crate::iptables::Family;
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, hooks};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// What TCPMSS writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MssAction {
    /// `--clamp-mss-to-pmtu`.
    #[default]
    ClampToPmtu,
    /// `--set-mss N`.
    Set(u16),
}

/// The TCPMSS target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tcpmss {
    pub action: MssAction,
}

static OPTS: [OptSpec; 2] = [OptSpec::arg("set-mss", 0), OptSpec::flag("clamp-mss-to-pmtu", 1)];

impl Extension for Tcpmss {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 1 {
            self.action = MssAction::ClampToPmtu;
            return Ok(());
        }
        // The MSS must leave room for the IP header.
        let max = match call.family() {
            Family::Ipv4 => 65535 - 20,
            Family::Ipv6 => 65535 - 40,
        };
        let v = parse_uint(call.arg, 0, max)
            .ok_or_else(|| format!("bad value for option \"--set-mss\", or out of range (0-{max})"))?;
        self.action = MssAction::Set(v as u16);
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("At least one parameter is required: --set-mss or --clamp-mss-to-pmtu".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        match self.action {
            MssAction::ClampToPmtu => out.push(" --clamp-mss-to-pmtu"),
            MssAction::Set(v) => out.push(&format!(" --set-mss {v}")),
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[6], "TCPMSS")?;
        if self.action == MssAction::ClampToPmtu {
            cx.require_hooks(hooks::FWD | hooks::OUT | hooks::POST, "TCPMSS --clamp-mss-to-pmtu")?;
        }
        Ok(())
    }
}
