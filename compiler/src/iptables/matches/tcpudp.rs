//! `tcp` and `udp`: source/destination port ranges, TCP flags and TCP option presence.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec};
use crate::iptables::ip::Inv;
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;
use crate::iptables::values::ranges::{PortRange, ServiceProto, parse_port_range, parse_port_range_gai};

/// TCP flag bits, in iptables' naming order.
pub const TCP_FLAG_NAMES: &[(&str, u8)] =
    &[("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20)];

/// `--tcp-flags MASK COMP`: the packet's flags ANDed with `mask` must equal `cmp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    pub mask: u8,
    pub cmp: u8,
}

/// The tcp match. Absent options are the defaults: ports `0:65535`, no flag or option test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    pub sport: Inv<PortRange>,
    pub dport: Inv<PortRange>,
    /// `--tcp-flags` / `--syn` (`--syn` is `FIN,SYN,RST,ACK SYN`).
    pub flags: Option<Inv<TcpFlags>>,
    /// `--tcp-option N` (1–255).
    pub option: Option<Inv<u8>>,
}

impl Default for Tcp {
    fn default() -> Tcp {
        Tcp {
            sport: Inv::new(PortRange::ALL, false),
            dport: Inv::new(PortRange::ALL, false),
            flags: None,
            option: None,
        }
    }
}

const O_SPORT: u8 = 0;
const O_DPORT: u8 = 1;
const O_FLAGS: u8 = 2;
const O_OPTION: u8 = 3;

static TCP_OPTS: [OptSpec; 7] = [
    OptSpec::arg("source-port", O_SPORT).inv(),
    OptSpec::arg("sport", O_SPORT).inv(),
    OptSpec::arg("destination-port", O_DPORT).inv(),
    OptSpec::arg("dport", O_DPORT).inv(),
    // --syn and --tcp-flags share an id: only one of them may be given.
    OptSpec::flag("syn", O_FLAGS).inv(),
    OptSpec::arg("tcp-flags", O_FLAGS).inv(),
    OptSpec::arg("tcp-option", O_OPTION).inv(),
];

/// A comma-separated flag list (`SYN,ACK`, `ALL`, `NONE`; case-insensitive).
pub fn parse_tcp_flag_list(s: &str) -> Result<u8, String> {
    let mut out = 0u8;
    for tok in s.split(',').filter(|t| !t.is_empty()) {
        let bits = if tok.eq_ignore_ascii_case("ALL") {
            0x3f
        } else if tok.eq_ignore_ascii_case("NONE") {
            0
        } else {
            TCP_FLAG_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(tok)).map(|&(_, b)| b).ok_or_else(
                || format!("Unknown TCP flag `{tok}': expecting FIN, SYN, RST, PSH, ACK, URG, ALL or NONE"),
            )?
        };
        out |= bits;
    }
    Ok(out)
}

/// `FIN,SYN` or `NONE`.
pub fn format_tcp_flags(bits: u8) -> String {
    let names: Vec<&str> = TCP_FLAG_NAMES.iter().filter(|(_, b)| bits & b != 0).map(|(n, _)| *n).collect();
    if names.is_empty() { "NONE".into() } else { names.join(",") }
}

fn save_ports(out: &mut SaveBuf, name: &str, p: &Inv<PortRange>) {
    if !p.value.is_all() || p.invert {
        out.opt_val(p.invert, name, p.value);
    }
}

impl Extension for Tcp {
    fn options(&self) -> &'static [OptSpec] {
        &TCP_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_SPORT => self.sport = Inv::new(parse_port_range(call.arg, ServiceProto::Tcp)?, call.invert),
            O_DPORT => self.dport = Inv::new(parse_port_range(call.arg, ServiceProto::Tcp)?, call.invert),
            O_FLAGS if call.spec.name == "syn" => {
                self.flags = Some(Inv::new(TcpFlags { mask: 0x17, cmp: 0x02 }, call.invert));
            }
            O_FLAGS => {
                let mask = parse_tcp_flag_list(call.arg)?;
                let comp = call.take_word().ok_or("--tcp-flags requires two args: MASK COMP")?;
                let cmp = parse_tcp_flag_list(comp)?;
                self.flags = Some(Inv::new(TcpFlags { mask, cmp }, call.invert));
            }
            _ => {
                let n = parse_uint(call.arg, 1, 255)
                    .ok_or_else(|| format!("Bad TCP option \"{}\": expecting a number 1-255", call.arg))?;
                self.option = Some(Inv::new(n as u8, call.invert));
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        save_ports(out, "sport", &self.sport);
        save_ports(out, "dport", &self.dport);
        if let Some(o) = &self.option {
            out.opt_val(o.invert, "tcp-option", o.value);
        }
        if let Some(f) = &self.flags
            && (f.value.mask != 0 || f.invert)
        {
            out.opt(f.invert, "tcp-flags");
            out.push(&format!(" {} {}", format_tcp_flags(f.value.mask), format_tcp_flags(f.value.cmp)));
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        // iptables-nft turns port/flag tests into nft expressions, which only need the rule's
        // protocol to be TCP (`! -p tcp` included); a match without any test (or with
        // --tcp-option) stays an xt match, which the kernel only accepts after `-p tcp`.
        let native = self.option.is_none() && *self != Tcp::default();
        require_l4(cx, 6, native, "tcp match")
    }
}

/// The protocol condition of tcp/udp (see [`Tcp::check_load`]).
fn require_l4(cx: &LoadCx<'_>, proto: u8, native: bool, what: &str) -> Result<(), String> {
    if native {
        if cx.ip.proto.is_some_and(|p| p.value == proto) {
            return Ok(());
        }
        return Err(format!("{what} requires \"-p {}\"", if proto == 6 { "tcp" } else { "udp" }));
    }
    cx.require_proto(&[proto], what)
}

/// The udp match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    pub sport: Inv<PortRange>,
    pub dport: Inv<PortRange>,
}

impl Default for Udp {
    fn default() -> Udp {
        Udp { sport: Inv::new(PortRange::ALL, false), dport: Inv::new(PortRange::ALL, false) }
    }
}

static UDP_OPTS: [OptSpec; 4] = [
    OptSpec::arg("source-port", O_SPORT).inv(),
    OptSpec::arg("sport", O_SPORT).inv(),
    OptSpec::arg("destination-port", O_DPORT).inv(),
    OptSpec::arg("dport", O_DPORT).inv(),
];

impl Extension for Udp {
    fn options(&self) -> &'static [OptSpec] {
        &UDP_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let r = Inv::new(parse_port_range_gai(call.arg)?, call.invert);
        if call.spec.id == O_SPORT {
            self.sport = r;
        } else {
            self.dport = r;
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        save_ports(out, "sport", &self.sport);
        save_ports(out, "dport", &self.dport);
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        require_l4(cx, 17, *self != Udp::default(), "udp match")
    }
}
