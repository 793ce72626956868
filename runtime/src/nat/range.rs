//! What a NAT statement asks for (`struct nf_nat_range2`): which side to rewrite, an
//! address range, a port (or ICMP id) range and the `random` / `fully-random` /
//! `persistent` flags. Masquerade and redirect are ranges whose address the pipeline
//! resolves (the out interface's address; the in interface's address or loopback).

use std::net::IpAddr;

use crate::conntrack::tuple::addr_bits;

/// Which side of the packet a NAT hook rewrites (`enum nf_nat_manip_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Manip {
    /// Source NAT: postrouting and input.
    Src,
    /// Destination NAT: prerouting and output.
    Dst,
}

impl Manip {
    pub fn other(self) -> Manip {
        match self {
            Manip::Src => Manip::Dst,
            Manip::Dst => Manip::Src,
        }
    }

    /// The manip type of a hook (`HOOK2MANIP`): source NAT in postrouting and input.
    pub fn of_hook(hook: nftvm_vm::keys::Hook) -> Manip {
        use nftvm_vm::keys::Hook;
        match hook {
            Hook::Postrouting | Hook::Input => Manip::Src,
            _ => Manip::Dst,
        }
    }
}

/// `NF_NAT_RANGE_*` flags.
pub mod flags {
    pub const MAP_IPS: u32 = 1 << 0;
    pub const PROTO_SPECIFIED: u32 = 1 << 1;
    pub const PROTO_RANDOM: u32 = 1 << 2;
    pub const PERSISTENT: u32 = 1 << 3;
    pub const PROTO_RANDOM_FULLY: u32 = 1 << 4;
    pub const PROTO_OFFSET: u32 = 1 << 5;
    /// `random` or `fully-random`.
    pub const PROTO_RANDOM_ALL: u32 = PROTO_RANDOM | PROTO_RANDOM_FULLY;
}

/// A NAT request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NatRange {
    pub flags: u32,
    /// Address range (numeric; IPv4 in the low 32 bits), used with `MAP_IPS`.
    pub min_addr: u128,
    pub max_addr: u128,
    /// Port or ICMP id range, used with `PROTO_SPECIFIED`.
    pub min_proto: u16,
    pub max_proto: u16,
    /// Base port for `PROTO_OFFSET` (port shifting, as `dnat to a:b-c/base`).
    pub base_proto: u16,
}

impl NatRange {
    /// `to ADDR`.
    pub fn addr(addr: IpAddr) -> NatRange {
        NatRange::addrs(addr, addr)
    }

    /// `to MIN-MAX`.
    pub fn addrs(min: IpAddr, max: IpAddr) -> NatRange {
        NatRange {
            flags: flags::MAP_IPS,
            min_addr: addr_bits(min),
            max_addr: addr_bits(max),
            ..NatRange::default()
        }
    }

    /// One address (numeric, as tuples hold it) and, if given, one port or key: where an
    /// expected connection is translated to, like its master.
    pub fn exactly(addr: u128, key: Option<u16>) -> NatRange {
        let (flags, key) = match key {
            Some(k) => (flags::MAP_IPS | flags::PROTO_SPECIFIED, k),
            None => (flags::MAP_IPS, 0),
        };
        NatRange { flags, min_addr: addr, max_addr: addr, min_proto: key, max_proto: key, base_proto: 0 }
    }

    /// Ports only (`redirect to :PORT`, or `masquerade to :PORTS` before the address is known).
    pub fn ports_only(min: u16, max: u16) -> NatRange {
        NatRange { flags: flags::PROTO_SPECIFIED, min_proto: min, max_proto: max, ..NatRange::default() }
    }

    /// Adds a port (or ICMP id) range.
    pub fn with_ports(mut self, min: u16, max: u16) -> NatRange {
        self.flags |= flags::PROTO_SPECIFIED;
        self.min_proto = min;
        self.max_proto = max;
        self
    }

    /// Adds flags (`random`, `fully-random`, `persistent`).
    pub fn with_flags(mut self, extra: u32) -> NatRange {
        self.flags |= extra;
        self
    }

    /// Masquerade: the rule's ports and flags, the out interface's address (as
    /// `nf_nat_masquerade_ipv4/6` build it).
    pub fn masquerade(out_addr: IpAddr, rule: &NatRange) -> NatRange {
        NatRange {
            flags: rule.flags | flags::MAP_IPS,
            min_addr: addr_bits(out_addr),
            max_addr: addr_bits(out_addr),
            ..*rule
        }
    }

    /// Redirect: destination to `local` (the in interface's primary address in
    /// prerouting, loopback in output) with the rule's ports and flags.
    pub fn redirect(local: IpAddr, rule: &NatRange) -> NatRange {
        NatRange::masquerade(local, rule)
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}
