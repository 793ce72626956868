//! `policy`: IPsec policy the packet was/will be processed with (direction, policy, and a
//! list of policy elements separated by `--next`).

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::ip::Inv;
use crate::iptables::parse::parse_protocol;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{AddrMask, parse_host_mask};
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::protocols::etc_protocol_name;

/// IPsec mode of a policy element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpsecMode {
    Transport,
    Tunnel,
}

/// One policy element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyElem {
    pub reqid: Option<Inv<u32>>,
    pub spi: Option<Inv<u32>>,
    pub proto: Option<Inv<u8>>,
    pub mode: Option<Inv<IpsecMode>>,
    pub tunnel_src: Option<Inv<AddrMask>>,
    pub tunnel_dst: Option<Inv<AddrMask>>,
}

impl PolicyElem {
    fn is_empty(&self) -> bool {
        *self == PolicyElem::default()
    }
}

/// The policy match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// `--dir in` (true) / `out`.
    pub dir_in: Option<bool>,
    /// `--pol none` (true) / `ipsec`.
    pub pol_none: bool,
    pub strict: bool,
    pub elems: Vec<PolicyElem>,
}

const O_DIR: u8 = 0;
const O_POL: u8 = 1;
const O_STRICT: u8 = 2;
const O_REQID: u8 = 3;
const O_SPI: u8 = 4;
const O_TSRC: u8 = 5;
const O_TDST: u8 = 6;
const O_PROTO: u8 = 7;
const O_MODE: u8 = 8;
const O_NEXT: u8 = 9;

static OPTS: [OptSpec; 10] = [
    OptSpec::arg("dir", O_DIR),
    OptSpec::arg("pol", O_POL),
    OptSpec::flag("strict", O_STRICT),
    OptSpec::arg("reqid", O_REQID).multi().inv(),
    OptSpec::arg("spi", O_SPI).multi().inv(),
    OptSpec::arg("tunnel-src", O_TSRC).multi().inv(),
    OptSpec::arg("tunnel-dst", O_TDST).multi().inv(),
    OptSpec::arg("proto", O_PROTO).multi().inv(),
    OptSpec::arg("mode", O_MODE).multi().inv(),
    OptSpec::flag("next", O_NEXT).multi().also(bit(O_STRICT)),
];

/// At most 4 policy elements.
pub const MAX_ELEMS: usize = 4;

impl Extension for Policy {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if self.elems.is_empty() {
            self.elems.push(PolicyElem::default());
        }
        let inv = call.invert;
        let a = call.arg;
        let fam = call.family();
        let Some(e) = self.elems.last_mut() else { return Ok(()) };
        let double = |name: &str| format!("double --{name} option");
        match call.spec.id {
            O_DIR => {
                self.dir_in = Some(match a {
                    "in" => true,
                    "out" => false,
                    _ => return Err(format!("invalid dir \"{a}\": expecting in or out")),
                })
            }
            O_POL => {
                self.pol_none = match a {
                    "none" => true,
                    "ipsec" => false,
                    _ => return Err(format!("invalid policy \"{a}\": expecting none or ipsec")),
                }
            }
            O_STRICT => self.strict = true,
            O_REQID | O_SPI => {
                let v = parse_uint(a, 0, u32::MAX as u64).ok_or_else(|| {
                    format!("bad value for option \"--{}\", or out of range (0-4294967295)", call.spec.name)
                })? as u32;
                let slot = if call.spec.id == O_REQID { &mut e.reqid } else { &mut e.spi };
                if slot.is_some() {
                    return Err(double(call.spec.name));
                }
                *slot = Some(Inv::new(v, inv));
            }
            O_TSRC | O_TDST => {
                let hm = parse_host_mask(a, fam)?;
                let slot = if call.spec.id == O_TSRC { &mut e.tunnel_src } else { &mut e.tunnel_dst };
                if slot.is_some() {
                    return Err(double(call.spec.name));
                }
                *slot = Some(Inv::new(hm, inv));
            }
            O_PROTO => {
                if e.proto.is_some() {
                    return Err(double("proto"));
                }
                let p = parse_protocol(a).ok_or_else(|| format!("unknown protocol \"{a}\" specified"))?;
                if ![51, 50, 108].contains(&p) {
                    return Err("protocol must be ah/esp/ipcomp".into());
                }
                e.proto = Some(Inv::new(p, inv));
            }
            O_MODE => {
                if e.mode.is_some() {
                    return Err(double("mode"));
                }
                let m = match a {
                    "transport" => IpsecMode::Transport,
                    "tunnel" => IpsecMode::Tunnel,
                    _ => return Err(format!("invalid mode \"{a}\": expecting transport or tunnel")),
                };
                e.mode = Some(Inv::new(m, inv));
            }
            _ => {
                if self.elems.len() == MAX_ELEMS {
                    return Err("maximum policy depth reached".into());
                }
                self.elems.push(PolicyElem::default());
            }
        }
        Ok(())
    }
    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if self.dir_in.is_none() {
            return Err("neither --dir in nor --dir out specified".into());
        }
        if self.elems.is_empty() {
            self.elems.push(PolicyElem::default());
        }
        if self.pol_none {
            if self.strict {
                return Err("policy none but --strict given".into());
            }
            if self.elems.len() > 1 || !self.elems[0].is_empty() {
                return Err("policy none but policy given".into());
            }
            self.elems.clear();
        }
        for (i, e) in self.elems.iter().enumerate() {
            if self.strict && e.is_empty() {
                return Err(format!(
                    "empty policy element {i}. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required."
                ));
            }
            let tunnel_addr = e.tunnel_src.is_some() || e.tunnel_dst.is_some();
            // An element without --mode has the kernel's mode 0: transport.
            let not_tunnel = matches!(
                e.mode,
                Some(Inv { value: IpsecMode::Tunnel, invert: true })
                    | Some(Inv { value: IpsecMode::Transport, invert: false })
                    | None
            );
            if tunnel_addr && not_tunnel {
                return Err("--tunnel-src/--tunnel-dst is only valid in tunnel mode".into());
            }
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        out.push(if self.dir_in == Some(true) { " --dir in" } else { " --dir out" });
        out.push(if self.pol_none { " --pol none" } else { " --pol ipsec" });
        if self.strict {
            out.push(" --strict");
        }
        for (i, e) in self.elems.iter().enumerate() {
            if let Some(r) = &e.reqid {
                out.opt_val(r.invert, "reqid", r.value);
            }
            if let Some(s) = &e.spi {
                out.opt_val(s.invert, "spi", format!("0x{:x}", s.value));
            }
            if let Some(p) = &e.proto {
                let name = etc_protocol_name(p.value).map_or_else(|| p.value.to_string(), str::to_string);
                out.opt_val(p.invert, "proto", name);
            }
            if let Some(m) = &e.mode {
                let name = match m.value {
                    IpsecMode::Transport => "transport",
                    IpsecMode::Tunnel => "tunnel",
                };
                out.opt_val(m.invert, "mode", name);
            }
            if let Some(d) = &e.tunnel_dst {
                out.opt_val(d.invert, "tunnel-dst", d.value.numeric_form());
            }
            if let Some(s) = &e.tunnel_src {
                out.opt_val(s.invert, "tunnel-src", s.value.numeric_form());
            }
            if i + 1 < self.elems.len() {
                out.push(" --next");
            }
        }
    }
}
