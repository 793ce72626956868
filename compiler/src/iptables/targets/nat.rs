//! NAT targets: `SNAT`, `DNAT`, `MASQUERADE`, `REDIRECT` (address/port ranges and flags) and
//! `NETMAP` (prefix-to-prefix mapping). All live in the nat table.

use crate::iptables::Family;
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, hooks};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::{Addr, AddrMask, parse_host_mask};
use crate::iptables::values::num::parse_uint_prefix;
use crate::iptables::values::ranges::PortRange;
use crate::iptables::values::services;

/// Which NAT target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

/// A NAT range (`struct nf_nat_range2`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatRange {
    /// `NF_NAT_RANGE_MAP_IPS`: first and last address.
    pub addrs: Option<(Addr, Addr)>,
    /// `NF_NAT_RANGE_PROTO_SPECIFIED`: port range.
    pub ports: Option<PortRange>,
    /// `NF_NAT_RANGE_PROTO_OFFSET`: base port of a shifted port map (`a-b/base`).
    pub base_port: Option<u16>,
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
}

/// SNAT / DNAT / MASQUERADE / REDIRECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nat {
    pub kind: NatKind,
    pub range: NatRange,
}

impl Nat {
    pub fn new(kind: NatKind) -> Nat {
        Nat { kind, range: NatRange::default() }
    }
}

const O_TO: u8 = 0;
const O_TO_PORTS: u8 = 1;
const O_RANDOM: u8 = 2;
const O_RANDOM_FULLY: u8 = 3;
const O_PERSISTENT: u8 = 4;

static SNAT_OPTS: [OptSpec; 4] = [
    OptSpec::arg("to-source", O_TO).mand(),
    OptSpec::flag("random", O_RANDOM),
    OptSpec::flag("random-fully", O_RANDOM_FULLY),
    OptSpec::flag("persistent", O_PERSISTENT),
];
static DNAT_OPTS: [OptSpec; 3] = [
    OptSpec::arg("to-destination", O_TO).mand(),
    OptSpec::flag("random", O_RANDOM),
    OptSpec::flag("persistent", O_PERSISTENT),
];
static MASQ_OPTS: [OptSpec; 3] = [
    OptSpec::arg("to-ports", O_TO_PORTS),
    OptSpec::flag("random", O_RANDOM),
    OptSpec::flag("random-fully", O_RANDOM_FULLY),
];
static REDIRECT_OPTS: [OptSpec; 2] =
    [OptSpec::arg("to-ports", O_TO_PORTS), OptSpec::flag("random", O_RANDOM)];

/// A port by number or by any service name (`xtables_service_to_port(name, NULL)`).
fn port_or_service(s: &str) -> Option<(u16, &str)> {
    if let Some((v, rest)) = parse_uint_prefix(s, 0, 65535) {
        return Some((v as u16, rest));
    }
    services::lookup(s, None).map(|p| (p, ""))
}

/// `port[-port[/base]]` of NAT targets.
fn parse_nat_ports(arg: &str, portok: bool, r: &mut NatRange) -> Result<(), String> {
    if !portok {
        return Err("Need TCP, UDP, SCTP or DCCP with port specification".into());
    }
    let (lo, rest) = port_or_service(arg).ok_or_else(|| format!("Port `{arg}' not valid"))?;
    let rest = match rest.chars().next() {
        None => {
            r.ports = Some(PortRange::single(lo));
            return Ok(());
        }
        Some('-') => &rest[1..],
        Some(':') => return Err("Invalid port:port syntax - use dash".into()),
        Some(_) => return Err(format!("Garbage after port value: `{rest}'")),
    };
    let (hi, rest) = parse_uint_prefix(rest, 0, 65535).ok_or_else(|| format!("Port `{rest}' not valid"))?;
    if hi < u64::from(lo) {
        return Err(format!("Port range `{arg}' funky"));
    }
    r.ports = Some(PortRange { lo, hi: hi as u16 });
    let base = match rest.chars().next() {
        None => return Ok(()),
        Some('/') => &rest[1..],
        Some(_) => return Err(format!("Garbage after port range: `{rest}'")),
    };
    let b = match parse_uint_prefix(base, 1, 65535) {
        Some((v, "")) => v as u16,
        _ => services::lookup(base, None).ok_or_else(|| format!("Port `{base}' not valid"))?,
    };
    r.base_port = Some(b);
    Ok(())
}

fn inet_pton(s: &str, family: Family) -> Option<Addr> {
    match family {
        Family::Ipv4 => s.parse().ok().map(Addr::V4),
        Family::Ipv6 => s.parse().ok().map(Addr::V6),
    }
}

/// `addr[-addr][:port[-port[/base]]]`, IPv6 addresses in brackets when ports follow.
fn parse_to(arg: &str, portok: bool, family: Family, r: &mut NatRange) -> Result<(), String> {
    let (addr_part, port_part) = match arg.find('[') {
        None => {
            let colon = arg.find(':').filter(|&i| !arg[i + 1..].contains(':'));
            match colon {
                Some(i) => (&arg[..i], Some(&arg[i + 1..])),
                None => (arg, None),
            }
        }
        Some(open) => {
            let close = arg[open..].find(']').map(|i| i + open);
            let Some(close) = close.filter(|_| family == Family::Ipv6) else {
                return Err("Invalid address format".into());
            };
            let after = &arg[close + 1..];
            let port = after.find(':').map(|i| &after[i + 1..]);
            (&arg[open + 1..close], port)
        }
    };
    if let Some(p) = port_part {
        parse_nat_ports(p, portok, r)?;
        if addr_part.is_empty() {
            return Ok(());
        }
    }
    let (a, b) = match addr_part.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (addr_part, None),
    };
    let min = inet_pton(a, family).ok_or_else(|| format!("Bad IP address \"{a}\""))?;
    let max = match b {
        Some(b) => inet_pton(b, family).ok_or_else(|| format!("Bad IP address \"{b}\""))?,
        None => min,
    };
    r.addrs = Some((min, max));
    Ok(())
}

impl NatRange {
    /// The range part of the save form: `addr[-addr][:port[-port][/base]]`, IPv6 in brackets
    /// when ports are given.
    pub fn format(&self, family: Family) -> String {
        let mut s = String::new();
        let brackets = family == Family::Ipv6 && self.ports.is_some();
        if let Some((min, max)) = &self.addrs {
            if brackets {
                s.push('[');
            }
            s.push_str(&min.to_string());
            if min != max {
                s.push('-');
                s.push_str(&max.to_string());
            }
            if brackets {
                s.push(']');
            }
        }
        if let Some(p) = &self.ports {
            s.push_str(&format!(":{}", p.lo));
            if p.hi != p.lo {
                s.push_str(&format!("-{}", p.hi));
            }
            if let Some(b) = self.base_port {
                s.push_str(&format!("/{b}"));
            }
        }
        s
    }
}

impl Extension for Nat {
    fn options(&self) -> &'static [OptSpec] {
        match self.kind {
            NatKind::Snat => &SNAT_OPTS,
            NatKind::Dnat => &DNAT_OPTS,
            NatKind::Masquerade => &MASQ_OPTS,
            NatKind::Redirect => &REDIRECT_OPTS,
        }
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let portok = call.cx.ip.proto.is_some_and(|p| [6, 17, 132, 33, 1].contains(&p.value));
        match call.spec.id {
            O_TO => parse_to(call.arg, portok, call.family(), &mut self.range)?,
            O_TO_PORTS => parse_nat_ports(call.arg, portok, &mut self.range)?,
            O_RANDOM => self.range.random = true,
            O_RANDOM_FULLY => self.range.random_fully = true,
            _ => self.range.persistent = true,
        }
        Ok(())
    }

    fn finish(&mut self, _seen: u64, cx: &ParseCx<'_>) -> Result<(), String> {
        // Only DNAT revision 2 (both families) supports shifted port maps; REDIRECT refuses.
        if self.range.base_port.is_some() && self.kind == NatKind::Redirect {
            return Err("Shifted portmap ranges not supported with this kernel".into());
        }
        let _ = cx;
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        let s = self.range.format(out.family);
        if !s.is_empty() {
            match self.kind {
                NatKind::Snat => out.push(&format!(" --to-source {s}")),
                NatKind::Dnat => out.push(&format!(" --to-destination {s}")),
                NatKind::Masquerade | NatKind::Redirect => {
                    out.push(&format!(" --to-ports {}", s.strip_prefix(':').unwrap_or(&s)))
                }
            }
        }
        if self.range.random {
            out.push(" --random");
        }
        if self.range.random_fully {
            out.push(" --random-fully");
        }
        if self.range.persistent {
            out.push(" --persistent");
        }
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        let (name, allowed) = match self.kind {
            NatKind::Snat => ("SNAT", hooks::POST | hooks::IN),
            NatKind::Dnat => ("DNAT", hooks::PRE | hooks::OUT),
            NatKind::Masquerade => ("MASQUERADE", hooks::POST),
            NatKind::Redirect => ("REDIRECT", hooks::PRE | hooks::OUT),
        };
        cx.require_table(&["nat"], name)?;
        cx.require_hooks(allowed, name)
    }
}

/// The NETMAP target: map the address into `to` keeping the host part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Netmap {
    /// Network address (masked) and mask.
    pub to: AddrMask,
}

impl Netmap {
    pub fn new(f: Family) -> Netmap {
        Netmap { to: AddrMask { addr: Addr::zero(f), mask: Addr::prefix_mask(f, f.addr_bits()) } }
    }
}

static NETMAP_OPTS: [OptSpec; 1] = [OptSpec::arg("to", 0).mand()];

impl Extension for Netmap {
    fn options(&self) -> &'static [OptSpec] {
        &NETMAP_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let hm = parse_host_mask(call.arg, call.family())?;
        self.to = AddrMask { addr: hm.addr.and(&hm.mask), mask: hm.mask };
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.push(&format!(" --to {}", self.to.save_form()));
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_table(&["nat"], "NETMAP")
    }
}
