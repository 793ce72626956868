//! `REJECT`: drop and answer with an ICMP/ICMPv6 error or a TCP reset.

use crate::iptables::Family;
use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, hooks};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::names::is_ci_prefix;

/// What REJECT answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectWith {
    // IPv4
    IcmpNetUnreachable,
    IcmpHostUnreachable,
    IcmpProtoUnreachable,
    IcmpPortUnreachable,
    IcmpNetProhibited,
    IcmpHostProhibited,
    IcmpAdminProhibited,
    // IPv6
    Icmp6NoRoute,
    Icmp6AdmProhibited,
    Icmp6AddrUnreachable,
    Icmp6PortUnreachable,
    Icmp6PolicyFail,
    Icmp6RejectRoute,
    // both
    TcpReset,
}

/// `(canonical name, alias, value)` in iptables' table order (the order prefixes are tried).
const V4: &[(&str, &str, RejectWith)] = &[
    ("icmp-net-unreachable", "net-unreach", RejectWith::IcmpNetUnreachable),
    ("icmp-host-unreachable", "host-unreach", RejectWith::IcmpHostUnreachable),
    ("icmp-proto-unreachable", "proto-unreach", RejectWith::IcmpProtoUnreachable),
    ("icmp-port-unreachable", "port-unreach", RejectWith::IcmpPortUnreachable),
    ("icmp-net-prohibited", "net-prohib", RejectWith::IcmpNetProhibited),
    ("icmp-host-prohibited", "host-prohib", RejectWith::IcmpHostProhibited),
    ("tcp-reset", "tcp-rst", RejectWith::TcpReset),
    ("icmp-admin-prohibited", "admin-prohib", RejectWith::IcmpAdminProhibited),
];
const V6: &[(&str, &str, RejectWith)] = &[
    ("icmp6-no-route", "no-route", RejectWith::Icmp6NoRoute),
    ("icmp6-adm-prohibited", "adm-prohibited", RejectWith::Icmp6AdmProhibited),
    ("icmp6-addr-unreachable", "addr-unreach", RejectWith::Icmp6AddrUnreachable),
    ("icmp6-port-unreachable", "port-unreach", RejectWith::Icmp6PortUnreachable),
    ("tcp-reset", "tcp-reset", RejectWith::TcpReset),
    ("icmp6-policy-fail", "policy-fail", RejectWith::Icmp6PolicyFail),
    ("icmp6-reject-route", "reject-route", RejectWith::Icmp6RejectRoute),
];

fn table(f: Family) -> &'static [(&'static str, &'static str, RejectWith)] {
    match f {
        Family::Ipv4 => V4,
        Family::Ipv6 => V6,
    }
}

impl RejectWith {
    /// The name iptables-save prints.
    pub fn name(self) -> &'static str {
        V4.iter().chain(V6).find(|(_, _, w)| *w == self).map(|(n, _, _)| *n).unwrap_or("tcp-reset")
    }
}

/// The REJECT target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub with: RejectWith,
}

impl Reject {
    pub fn new(f: Family) -> Reject {
        Reject {
            with: match f {
                Family::Ipv4 => RejectWith::IcmpPortUnreachable,
                Family::Ipv6 => RejectWith::Icmp6PortUnreachable,
            },
        }
    }
}

static OPTS: [OptSpec; 1] = [OptSpec::arg("reject-with", 0)];

impl Extension for Reject {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let t = table(call.family());
        self.with = t
            .iter()
            .find(|(n, a, _)| is_ci_prefix(call.arg, n) || is_ci_prefix(call.arg, a))
            .map(|&(_, _, w)| w)
            .ok_or_else(|| {
                let names: Vec<&str> = t.iter().map(|(n, _, _)| *n).collect();
                format!("unknown reject type \"{}\": expecting {}", call.arg, names.join(", "))
            })?;
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(false, "reject-with", self.with.name());
    }

    fn check_load(&self, cx: &LoadCx<'_>) -> Result<(), String> {
        cx.require_hooks(hooks::IN | hooks::FWD | hooks::OUT, "REJECT")?;
        if self.with == RejectWith::TcpReset {
            cx.require_proto(&[6], "REJECT --reject-with tcp-reset")?;
        }
        Ok(())
    }
}
