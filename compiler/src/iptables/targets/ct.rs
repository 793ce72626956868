//! `CT` (conntrack template: notrack, helper, timeout policy, events, zone) and `NOTRACK`
//! (an alias of `CT --notrack`). Both only work in the raw table.

use crate::eval::ct_helpers::{Lookup, lookup};
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::lower::ir_family;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// Conntrack event names (`IPCT_*` bit positions = index).
pub const CT_EVENTS: &[&str] = &[
    "new",
    "related",
    "destroy",
    "reply",
    "assured",
    "protoinfo",
    "helper",
    "mark",
    "natseqinfo",
    "secmark",
];
/// Expectation event names (`IPEXP_*`).
pub const EXP_EVENTS: &[&str] = &["new"];

/// Zone direction (`--zone-orig` / `--zone-reply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneDir {
    Both,
    Original,
    Reply,
}

/// A conntrack zone: a number or `mark` (take it from the packet mark).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zone {
    pub id: u16,
    pub from_mark: bool,
    pub dir: ZoneDir,
}

/// The CT target (revision 1/2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ct {
    pub notrack: bool,
    /// Helper name (at most 15 bytes).
    pub helper: String,
    /// Timeout policy name (at most 31 bytes).
    pub timeout: String,
    /// Bits by index into [`CT_EVENTS`].
    pub ct_events: u32,
    /// Bits by index into [`EXP_EVENTS`].
    pub exp_events: u32,
    pub zone: Option<Zone>,
}

const O_NOTRACK: u8 = 0;
const O_HELPER: u8 = 1;
const O_TIMEOUT: u8 = 2;
const O_CTEVENTS: u8 = 3;
const O_EXPEVENTS: u8 = 4;
const O_ZONE_ORIG: u8 = 5;
const O_ZONE_REPLY: u8 = 6;
const O_ZONE: u8 = 7;

static OPTS: [OptSpec; 8] = [
    OptSpec::flag("notrack", O_NOTRACK),
    OptSpec::arg("helper", O_HELPER),
    OptSpec::arg("timeout", O_TIMEOUT),
    OptSpec::arg("ctevents", O_CTEVENTS),
    OptSpec::arg("expevents", O_EXPEVENTS),
    OptSpec::arg("zone-orig", O_ZONE_ORIG),
    OptSpec::arg("zone-reply", O_ZONE_REPLY),
    OptSpec::arg("zone", O_ZONE),
];

fn parse_events(s: &str, table: &[&str]) -> Result<u32, String> {
    let mut mask = 0;
    for t in s.split(',') {
        let i = table
            .iter()
            .position(|n| *n == t)
            .ok_or_else(|| format!("Unknown event type \"{t}\": expecting {}", table.join(", ")))?;
        mask |= 1 << i;
    }
    Ok(mask)
}

fn format_events(mask: u32, table: &[&str]) -> String {
    table
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn limited(s: &str, max: usize, what: &str) -> Result<String, String> {
    if s.len() > max {
        return Err(format!("{what} name \"{s}\" is longer than {max} bytes"));
    }
    Ok(s.to_string())
}

impl Extension for Ct {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_NOTRACK => self.notrack = true,
            O_HELPER => self.helper = limited(call.arg, 15, "helper")?,
            O_TIMEOUT => self.timeout = limited(call.arg, 31, "timeout policy")?,
            O_CTEVENTS => self.ct_events = parse_events(call.arg, CT_EVENTS)?,
            O_EXPEVENTS => self.exp_events = parse_events(call.arg, EXP_EVENTS)?,
            id => {
                let dir = match id {
                    O_ZONE_ORIG => ZoneDir::Original,
                    O_ZONE_REPLY => ZoneDir::Reply,
                    _ => ZoneDir::Both,
                };
                let zone = if call.arg.eq_ignore_ascii_case("mark") {
                    Zone { id: 0, from_mark: true, dir }
                } else {
                    let id = parse_uint(call.arg, 0, u16::MAX as u64).ok_or_else(|| {
                        format!("Cannot parse {} as a zone ID (0-65535 or \"mark\")", call.arg)
                    })?;
                    Zone { id: id as u16, from_mark: false, dir }
                };
                self.zone = Some(zone);
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if self.notrack {
            out.push(" --notrack");
        }
        if !self.helper.is_empty() {
            out.push(&format!(" --helper {}", self.helper));
        }
        if !self.timeout.is_empty() {
            out.push(&format!(" --timeout {}", self.timeout));
        }
        if self.ct_events != 0 {
            out.push(&format!(" --ctevents {}", format_events(self.ct_events, CT_EVENTS)));
        }
        if self.exp_events != 0 {
            out.push(&format!(" --expevents {}", format_events(self.exp_events, EXP_EVENTS)));
        }
        if let Some(z) = &self.zone
            && (z.from_mark || z.id != 0)
        {
            let suffix = match z.dir {
                ZoneDir::Both => "",
                ZoneDir::Original => "-orig",
                ZoneDir::Reply => "-reply",
            };
            if z.from_mark {
                out.push(&format!(" --zone{suffix} mark"));
            } else {
                out.push(&format!(" --zone{suffix} {}", z.id));
            }
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["raw"], "CT")?;
        // xt_CT looks the helper up for the rule's protocol and family.
        match cx.ip.positive_proto() {
            Some(proto) if lookup(&self.helper, proto, ir_family(cx.family)) == Lookup::Refused => {
                Err(format!("No such helper \"{}\" for this protocol and family", self.helper))
            }
            _ => Ok(()),
        }
    }
}

/// The NOTRACK target (no options).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notrack;

impl Extension for Notrack {
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(&mut self, _call: &mut OptCall<'_>) -> Result<(), String> {
        Ok(())
    }
    fn save(&self, _out: &mut SaveBuf) {}
    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["raw"], "NOTRACK")
    }
}
