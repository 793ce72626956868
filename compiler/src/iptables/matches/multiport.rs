//! `multiport`: up to 15 source/destination ports or port ranges (a range counts twice).

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::ranges::{PortRange, ServiceProto, parse_port};

/// Which ports `multiport` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultiportKind {
    Source,
    Destination,
    /// `--ports`: source or destination.
    Either,
}

/// The multiport match (revision 1: ranges and negation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multiport {
    pub kind: MultiportKind,
    /// Single ports are ranges with `lo == hi`.
    pub ports: Vec<PortRange>,
    pub invert: bool,
}

impl Default for Multiport {
    fn default() -> Multiport {
        Multiport { kind: MultiportKind::Source, ports: Vec::new(), invert: false }
    }
}

/// `XT_MULTI_PORTS`: slots available (a range takes two).
pub const MAX_PORT_SLOTS: usize = 15;

const O_SRC: u8 = 0;
const O_DST: u8 = 1;
const O_BOTH: u8 = 2;
const ANY: u64 = bit(O_SRC) | bit(O_DST) | bit(O_BOTH);

static OPTS: [OptSpec; 5] = [
    OptSpec::arg("source-ports", O_SRC).inv().excl(ANY),
    OptSpec::arg("sports", O_SRC).inv().excl(ANY),
    OptSpec::arg("destination-ports", O_DST).inv().excl(ANY),
    OptSpec::arg("dports", O_DST).inv().excl(ANY),
    OptSpec::arg("ports", O_BOTH).inv().excl(ANY),
];

/// The protocols multiport works with.
pub const MULTIPORT_PROTOS: [u8; 5] = [6, 17, 136, 132, 33];

fn service_proto(cx: &ParseCx<'_>) -> Result<ServiceProto, String> {
    match cx.ip.proto {
        Some(p) if p.invert => Err("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP".into()),
        Some(p) if MULTIPORT_PROTOS.contains(&p.value) => Ok(ServiceProto::of_proto(Some(p.value))),
        Some(_) => Err("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP".into()),
        None => Err("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".into()),
    }
}

impl Extension for Multiport {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let sp = service_proto(&call.cx)?;
        let mut ports = Vec::new();
        let mut slots = 0;
        for item in call.arg.split(',') {
            if slots >= MAX_PORT_SLOTS {
                return Err("too many ports specified (at most 15, a range counts as two)".into());
            }
            match item.split_once(':') {
                Some((a, b)) => {
                    if slots == MAX_PORT_SLOTS - 1 {
                        return Err("too many ports specified (at most 15, a range counts as two)".into());
                    }
                    let lo = parse_port(a, sp)?;
                    let hi = parse_port(b, sp)?;
                    if lo >= hi {
                        return Err(format!("invalid portrange `{item}' specified"));
                    }
                    ports.push(PortRange { lo, hi });
                    slots += 2;
                }
                None => {
                    ports.push(PortRange::single(parse_port(item, sp)?));
                    slots += 1;
                }
            }
        }
        self.kind = match call.spec.id {
            O_SRC => MultiportKind::Source,
            O_DST => MultiportKind::Destination,
            _ => MultiportKind::Either,
        };
        self.ports = ports;
        self.invert = call.invert;
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("no ports specified".into());
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        let name = match self.kind {
            MultiportKind::Source => "sports",
            MultiportKind::Destination => "dports",
            MultiportKind::Either => "ports",
        };
        let list: Vec<String> = self.ports.iter().map(|p| p.to_string()).collect();
        out.opt_val(self.invert, name, list.join(","));
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_proto(&MULTIPORT_PROTOS, "multiport")
    }
}
