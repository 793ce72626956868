//! Targets that rewrite header fields: `TTL`, `HL`, `DSCP`, `TOS`, `ECN`, `CLASSIFY`,
//! `TCPOPTSTRIP`, `CHECKSUM`.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::matches::dscp::{dscp_class, dscp_value, parse_tos_mask};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// How TTL / HL change the field (the VM's target runs the same modes).
pub use nftvm_vm::expr::ttl::TtlMode;

/// The TTL (IPv4) / HL (IPv6) targets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TtlTarget {
    /// `true`: HL (`--hl-*`), else TTL (`--ttl-*`).
    pub hl: bool,
    pub mode: TtlMode,
    pub value: u8,
}

const ANY3: u64 = bit(0) | bit(1) | bit(2);
static TTL_OPTS: [OptSpec; 3] = [
    OptSpec::arg("ttl-set", 0).excl(ANY3),
    OptSpec::arg("ttl-dec", 1).excl(ANY3),
    OptSpec::arg("ttl-inc", 2).excl(ANY3),
];
static HL_OPTS: [OptSpec; 3] = [
    OptSpec::arg("hl-set", 0).excl(ANY3),
    OptSpec::arg("hl-dec", 1).excl(ANY3),
    OptSpec::arg("hl-inc", 2).excl(ANY3),
];

impl Extension for TtlTarget {
    fn options(&self) -> &'static [OptSpec] {
        if self.hl { &HL_OPTS } else { &TTL_OPTS }
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let min = if call.spec.id == 0 { 0 } else { 1 };
        self.value = parse_uint(call.arg, min, 255).ok_or_else(|| {
            format!("bad value for option \"--{}\", or out of range ({min}-255)", call.spec.name)
        })? as u8;
        self.mode = match call.spec.id {
            0 => TtlMode::Set,
            1 => TtlMode::Dec,
            _ => TtlMode::Inc,
        };
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & ANY3 == 0 {
            return Err("You must specify an action".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let p = if self.hl { "hl" } else { "ttl" };
        let op = match self.mode {
            TtlMode::Set => "set",
            TtlMode::Dec => "dec",
            TtlMode::Inc => "inc",
        };
        out.push(&format!(" --{p}-{op} {}", self.value));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], if self.hl { "HL" } else { "TTL" })
    }
}

/// The DSCP target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DscpTarget {
    pub dscp: u8,
}

static DSCP_OPTS: [OptSpec; 2] =
    [OptSpec::arg("set-dscp", 0).excl(bit(1)), OptSpec::arg("set-dscp-class", 1).excl(bit(0))];

impl Extension for DscpTarget {
    fn options(&self) -> &'static [OptSpec] {
        &DSCP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.dscp = if call.spec.id == 0 { dscp_value(call)? } else { dscp_class(call.arg)? };
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("Parameter --set-dscp is required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --set-dscp 0x{:02x}", self.dscp));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "DSCP")
    }
}

/// The TOS target (revision 1): `tos = (tos & ~mask) ^ value`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TosTarget {
    pub value: u8,
    pub mask: u8,
}

const TOS_ANY: u64 = bit(0) | bit(1) | bit(2) | bit(3);
static TOS_OPTS: [OptSpec; 4] = [
    OptSpec::arg("set-tos", 0).excl(TOS_ANY),
    OptSpec::arg("and-tos", 1).excl(TOS_ANY),
    OptSpec::arg("or-tos", 2).excl(TOS_ANY),
    OptSpec::arg("xor-tos", 3).excl(TOS_ANY),
];

impl Extension for TosTarget {
    fn options(&self) -> &'static [OptSpec] {
        &TOS_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let u8v = || {
            parse_uint(call.arg, 0, 255).map(|v| v as u8).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range (0-255)", call.spec.name)
            })
        };
        (self.value, self.mask) = match call.spec.id {
            0 => parse_tos_mask(call.arg, 0x3f)?,
            1 => (0, !u8v()?),
            2 => {
                let v = u8v()?;
                (v, v)
            }
            _ => (u8v()?, 0),
        };
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("An action is required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --set-tos 0x{:02x}/0x{:02x}", self.value, self.mask));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "TOS")
    }
}

/// The ECN target (IPv4): rewrite ECN bits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EcnTarget {
    pub set_ece: Option<u8>,
    pub set_cwr: Option<u8>,
    pub set_ip_ect: Option<u8>,
}

static ECN_OPTS: [OptSpec; 4] = [
    OptSpec::flag("ecn-tcp-remove", 0).excl(bit(1) | bit(2)),
    OptSpec::arg("ecn-tcp-cwr", 1).excl(bit(0)),
    OptSpec::arg("ecn-tcp-ece", 2).excl(bit(0)),
    OptSpec::arg("ecn-ip-ect", 3),
];

impl Extension for EcnTarget {
    fn options(&self) -> &'static [OptSpec] {
        &ECN_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let ranged = |max| {
            parse_uint(call.arg, 0, max).map(|v| v as u8).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range (0-{max})", call.spec.name)
            })
        };
        match call.spec.id {
            0 => {
                self.set_ece = Some(0);
                self.set_cwr = Some(0);
            }
            1 => self.set_cwr = Some(ranged(1)?),
            2 => self.set_ece = Some(ranged(1)?),
            _ => self.set_ip_ect = Some(ranged(3)?),
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("An operation is required".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.set_ece == Some(0) && self.set_cwr == Some(0) && self.set_ip_ect.is_none() {
            out.push(" --ecn-tcp-remove");
            return;
        }
        if let Some(v) = self.set_ece {
            out.push(&format!(" --ecn-tcp-ece {v}"));
        }
        if let Some(v) = self.set_cwr {
            out.push(&format!(" --ecn-tcp-cwr {v}"));
        }
        if let Some(v) = self.set_ip_ect {
            out.push(&format!(" --ecn-ip-ect {v}"));
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "ECN")?;
        if self.set_ece.is_some() || self.set_cwr.is_some() {
            cx.require_proto(&[6], "ECN TCP bit rewriting")?;
        }
        Ok(())
    }
}

/// The CLASSIFY target: tc class `major:minor` (hexadecimal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classify {
    pub priority: u32,
}

static CLASSIFY_OPTS: [OptSpec; 1] = [OptSpec::arg("set-class", 0).mand()];

impl Extension for Classify {
    fn options(&self) -> &'static [OptSpec] {
        &CLASSIFY_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let bad = || format!("Bad class value \"{}\": expecting MAJOR:MINOR (hexadecimal)", call.arg);
        let (a, b) = call.arg.split_once(':').ok_or_else(bad)?;
        let hex = |s: &str| {
            let t = s.trim_start();
            let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
            let n = t.bytes().take_while(u8::is_ascii_hexdigit).count();
            u32::from_str_radix(&t[..n], 16).ok()
        };
        let major = hex(a).ok_or_else(bad)?;
        let minor = hex(b).ok_or_else(bad)?;
        self.priority = (major << 16) | (minor & 0xffff);
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --set-class {:04x}:{:04x}", self.priority >> 16, self.priority & 0xffff));
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(
            crate::iptables::ext::hooks::OUT
                | crate::iptables::ext::hooks::FWD
                | crate::iptables::ext::hooks::POST,
            "CLASSIFY",
        )
    }
}

/// TCP option names of TCPOPTSTRIP.
pub const TCP_OPTION_NAMES: &[(&str, u8)] =
    &[("wscale", 3), ("mss", 2), ("sack-permitted", 4), ("sack", 5), ("timestamp", 8), ("md5", 19)];

/// The TCPOPTSTRIP target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tcpoptstrip {
    /// Option numbers (2–255) to strip, ascending.
    pub options: Vec<u8>,
}

static TCPOPTSTRIP_OPTS: [OptSpec; 1] = [OptSpec::arg("strip-options", 0)];

impl Extension for Tcpoptstrip {
    fn options(&self) -> &'static [OptSpec] {
        &TCPOPTSTRIP_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        for item in call.arg.split(',') {
            let opt = match TCP_OPTION_NAMES.iter().find(|(n, _)| *n == item) {
                Some(&(_, o)) => o,
                None => {
                    parse_uint(item, 0, 255).ok_or_else(|| format!("Bad TCP option value \"{item}\""))? as u8
                }
            };
            if opt < 2 {
                return Err("Option value may not be 0 or 1".into());
            }
            if self.options.contains(&opt) {
                return Err(format!("Option \"{item}\" already specified"));
            }
            self.options.push(opt);
        }
        self.options.sort_unstable();
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if !self.options.is_empty() {
            let list: Vec<String> = self.options.iter().map(u8::to_string).collect();
            out.push(&format!(" --strip-options {}", list.join(",")));
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "TCPOPTSTRIP")?;
        cx.require_proto(&[6], "TCPOPTSTRIP")
    }
}

/// The CHECKSUM target (`--checksum-fill`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    pub fill: bool,
}

static CHECKSUM_OPTS: [OptSpec; 1] = [OptSpec::flag("checksum-fill", 0).mand()];

impl Extension for Checksum {
    fn options(&self) -> &'static [OptSpec] {
        &CHECKSUM_OPTS
    }
    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<(), String> {
        self.fill = true;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.fill {
            out.push(" --checksum-fill");
        }
    }
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["mangle"], "CHECKSUM")
    }
}
