//! `dccp`: ports, packet types and option presence.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::{PortRange, parse_port_range_gai};

/// DCCP packet type names (bit = type number).
pub const DCCP_TYPES: &[&str] = &[
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK",
    "INVALID",
];
/// `INVALID` also covers the unassigned types 11–15.
pub const DCCP_INVALID_MASK: u16 = 0xfc00;

/// The dccp match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dccp {
    pub sport: Option<Inv<PortRange>>,
    pub dport: Option<Inv<PortRange>>,
    /// Bit `n` set: packet type `n` matches.
    pub types: Option<Inv<u16>>,
    pub option: Option<Inv<u8>>,
}

static OPTS: [OptSpec; 6] = [
    OptSpec::arg("source-port", 0).inv(),
    OptSpec::arg("sport", 0).inv(),
    OptSpec::arg("destination-port", 1).inv(),
    OptSpec::arg("dport", 1).inv(),
    OptSpec::arg("dccp-types", 2).inv(),
    OptSpec::arg("dccp-option", 3).inv(),
];

fn format_types(mask: u16) -> String {
    let mut names = Vec::new();
    for (i, n) in DCCP_TYPES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            names.push(*n);
            if *n == "INVALID" {
                break;
            }
        }
    }
    names.join(",")
}

impl Extension for Dccp {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let inv = call.invert;
        match call.spec.id {
            0 => self.sport = Some(Inv::new(parse_port_range_gai(call.arg)?, inv)),
            1 => self.dport = Some(Inv::new(parse_port_range_gai(call.arg)?, inv)),
            2 => {
                let mut mask = 0u16;
                for t in call.arg.split(',').filter(|t| !t.is_empty()) {
                    let i = DCCP_TYPES.iter().position(|n| n.eq_ignore_ascii_case(t)).ok_or_else(|| {
                        format!("Unknown DCCP type `{t}': expecting {}", DCCP_TYPES.join(", "))
                    })?;
                    mask |= 1 << i;
                }
                if mask & (1 << 10) != 0 {
                    mask |= DCCP_INVALID_MASK;
                }
                self.types = Some(Inv::new(mask, inv));
            }
            _ => {
                let v = parse_uint(call.arg, 1, 255).ok_or_else(|| {
                    "bad value for option \"--dccp-option\", or out of range (1-255)".to_string()
                })?;
                self.option = Some(Inv::new(v as u8, inv));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if let Some(p) = &self.sport {
            out.opt_val(p.invert, "sport", p.value);
        }
        if let Some(p) = &self.dport {
            out.opt_val(p.invert, "dport", p.value);
        }
        if let Some(t) = &self.types {
            out.opt_val(t.invert, "dccp-types", format_types(t.value));
        }
        if let Some(o) = &self.option {
            out.opt_val(o.invert, "dccp-option", o.value);
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&[33], "dccp match")
    }
}
