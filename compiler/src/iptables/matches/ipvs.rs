//! `ipvs`: properties of IPVS-handled connections.

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx};
use crate::iptables::ip::Inv;
use crate::iptables::parse::parse_protocol;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{AddrMask, parse_host_mask};
use crate::iptables::values::ranges::parse_port_gai;

/// IPVS forwarding methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsMethod {
    Gate,
    Ipip,
    Masq,
}

/// The ipvs match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipvs {
    /// `[!] --ipvs` alone (also implied by every other option).
    pub ipvs: Option<bool>,
    pub vproto: Option<Inv<u8>>,
    pub vaddr: Option<Inv<AddrMask>>,
    pub vport: Option<Inv<u16>>,
    /// `true` = REPLY.
    pub vdir_reply: Option<bool>,
    pub vmethod: Option<Inv<IpvsMethod>>,
    pub vportctl: Option<Inv<u16>>,
}

static OPTS: [OptSpec; 7] = [
    OptSpec::flag("ipvs", 0).inv(),
    OptSpec::arg("vproto", 1).inv(),
    OptSpec::arg("vaddr", 2).inv(),
    OptSpec::arg("vport", 3).inv(),
    OptSpec::arg("vdir", 4),
    OptSpec::arg("vmethod", 5).inv(),
    OptSpec::arg("vportctl", 6).inv(),
];

impl Extension for Ipvs {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let inv = call.invert;
        let a = call.arg;
        match call.spec.id {
            0 => self.ipvs = Some(inv),
            1 => {
                let p = parse_protocol(a).ok_or_else(|| format!("unknown protocol \"{a}\" specified"))?;
                self.vproto = Some(Inv::new(p, inv));
            }
            2 => self.vaddr = Some(Inv::new(parse_host_mask(a, call.family())?, inv)),
            3 => self.vport = Some(Inv::new(parse_port_gai(a)?, inv)),
            4 => {
                self.vdir_reply = Some(if a.eq_ignore_ascii_case("ORIGINAL") {
                    false
                } else if a.eq_ignore_ascii_case("REPLY") {
                    true
                } else {
                    return Err(format!(
                        "Bad value for \"--vdir\" option: \"{a}\" (expecting ORIGINAL or REPLY)"
                    ));
                })
            }
            5 => {
                let m = if a.eq_ignore_ascii_case("GATE") {
                    IpvsMethod::Gate
                } else if a.eq_ignore_ascii_case("IPIP") {
                    IpvsMethod::Ipip
                } else if a.eq_ignore_ascii_case("MASQ") {
                    IpvsMethod::Masq
                } else {
                    return Err(format!(
                        "Bad value for \"--vmethod\" option: \"{a}\" (expecting GATE, IPIP or MASQ)"
                    ));
                };
                self.vmethod = Some(Inv::new(m, inv));
            }
            _ => self.vportctl = Some(Inv::new(parse_port_gai(a)?, inv)),
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen == 0 {
            return Err("At least one option is required".into());
        }
        if seen & !1 != 0 && self.ipvs == Some(true) {
            return Err("! --ipvs cannot be together with other options".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let only_ipvs = self.vproto.is_none()
            && self.vaddr.is_none()
            && self.vport.is_none()
            && self.vdir_reply.is_none()
            && self.vmethod.is_none()
            && self.vportctl.is_none();
        if let (true, Some(inv)) = (only_ipvs, self.ipvs) {
            out.opt(inv, "ipvs");
        }
        if let Some(p) = &self.vproto {
            out.opt_val(p.invert, "vproto", p.value);
        }
        if let Some(a) = &self.vaddr {
            out.opt_val(a.invert, "vaddr", a.value.numeric_form());
        }
        if let Some(p) = &self.vport {
            out.opt_val(p.invert, "vport", p.value);
        }
        if let Some(reply) = self.vdir_reply {
            out.push(if reply { " --vdir REPLY" } else { " --vdir ORIGINAL" });
        }
        if let Some(m) = &self.vmethod {
            let name = match m.value {
                IpvsMethod::Gate => "GATE",
                IpvsMethod::Ipip => "IPIP",
                IpvsMethod::Masq => "MASQ",
            };
            out.opt_val(m.invert, "vmethod", name);
        }
        if let Some(p) = &self.vportctl {
            out.opt_val(p.invert, "vportctl", p.value);
        }
    }
}
