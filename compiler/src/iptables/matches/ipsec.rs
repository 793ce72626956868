//! IPsec header matches: `esp` and `ah` (SPI ranges; IPv6 `ah` also header length and
//! reserved field) and `ipcomp` (compression parameter index).

use crate::iptables::Family;
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::{Range64, parse_range64};

/// A 32-bit SPI range; the default `0:4294967295` matches everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiRange {
    pub range: Range64,
    pub invert: bool,
}

impl Default for SpiRange {
    fn default() -> SpiRange {
        SpiRange { range: Range64 { lo: 0, hi: u32::MAX as u64 }, invert: false }
    }
}

impl SpiRange {
    fn parse(call: &OptCall<'_>) -> Result<SpiRange, String> {
        let range =
            parse_range64(call.arg, 0, u32::MAX as u64).map_err(|e| format!("--{}: {e}", call.spec.name))?;
        Ok(SpiRange { range, invert: call.invert })
    }

    /// Printed unless it is the default.
    pub fn is_default(&self) -> bool {
        *self == SpiRange::default()
    }

    fn save(&self, out: &mut SaveBuf, name: &str) {
        if !self.is_default() {
            out.opt_val(self.invert, name, self.range);
        }
    }
}

/// The esp match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Esp {
    pub spi: SpiRange,
}

static ESP_OPTS: [OptSpec; 1] = [OptSpec::arg("espspi", 0).inv()];

impl Extension for Esp {
    fn options(&self) -> &'static [OptSpec] {
        &ESP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.spi = SpiRange::parse(call)?;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        self.spi.save(out, "espspi");
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[50], "esp match")
    }
}

/// The ah match (IPv4: SPI; IPv6: SPI, header length, reserved field zero).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ah {
    pub spi: SpiRange,
    /// IPv6 only: `--ahlen`.
    pub len: Option<(u32, bool)>,
    /// IPv6 only: `--ahres`.
    pub res: bool,
}

static AH4_OPTS: [OptSpec; 1] = [OptSpec::arg("ahspi", 0).inv()];
static AH6_OPTS: [OptSpec; 3] =
    [OptSpec::arg("ahspi", 0).inv(), OptSpec::arg("ahlen", 1).inv(), OptSpec::flag("ahres", 2)];

/// The ah match of one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AhMatch {
    pub family: Family,
    pub ah: Ah,
}

impl Extension for AhMatch {
    fn options(&self) -> &'static [OptSpec] {
        match self.family {
            Family::Ipv4 => &AH4_OPTS,
            Family::Ipv6 => &AH6_OPTS,
        }
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            0 => self.ah.spi = SpiRange::parse(call)?,
            1 => {
                let v = parse_uint(call.arg, 0, u32::MAX as u64)
                    .ok_or("bad value for option \"--ahlen\", or out of range (0-4294967295)")?;
                self.ah.len = Some((v as u32, call.invert));
            }
            _ => self.ah.res = true,
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        self.ah.spi.save(out, "ahspi");
        if let Some((len, inv)) = self.ah.len
            && (len != 0 || inv)
        {
            out.opt_val(inv, "ahlen", len);
        }
        if self.ah.res {
            out.push(" --ahres");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        match self.family {
            Family::Ipv4 => cx.require_proto(&[51], "ah match"),
            Family::Ipv6 => Ok(()),
        }
    }
}

/// The ipcomp match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipcomp {
    pub spi: SpiRange,
    pub res: bool,
}

static IPCOMP_OPTS: [OptSpec; 2] = [OptSpec::arg("ipcompspi", 0).inv(), OptSpec::flag("compres", 1)];

impl Extension for Ipcomp {
    fn options(&self) -> &'static [OptSpec] {
        &IPCOMP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.spi = SpiRange::parse(call)?;
        } else {
            self.res = true;
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        self.spi.save(out, "ipcompspi");
        if self.res {
            out.push(" --compres");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[108], "ipcomp match")
    }
}
