//! What a load reads, independent of how it was written: the *storage* (a header counted from
//! a base, a meta key, a conntrack key, an option…) plus a bit range inside it. `tcp dport`,
//! `@th,16,16` and iptables' `--dport` all read transport-header bits 16..32, so they land on
//! the same storage and bits, and the engine treats them as one dimension.
//!
//! Storages are per packet context ([`Ctx`]): the network header of an IPv4 packet is not
//! the network header of an IPv6 packet. The context also fixes some loads to constants
//! (`meta nfproto` is `ipv4` for an IPv4 packet) and makes some loads aliases of others
//! (`ip protocol` is `meta l4proto` for IPv4); see `operand.rs`.

use crate::proto::Proto;
use crate::proto::exthdr::ExthdrOp;
use crate::proto::fib::FibResult;
use crate::proto::misc::NumgenType;
use crate::proto::rt::RtKey;
use crate::proto::selector::TunnelKey;
use crate::proto::socket::SocketKey;
use crate::proto::xfrm::{XfrmDir, XfrmKey};
use nftvm_vm::keys::{CtDir, CtKey, Family, Hook, MetaKey, PayloadBase};

/// The kind of packet a base chain sees. `inet` tables see both IPv4 and IPv6 packets, so
/// their chains are analysed once per context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ctx {
    Ipv4,
    Ipv6,
    Arp,
    Bridge,
    Netdev,
}

impl Ctx {
    /// The contexts whose packets a table of `family` sees.
    pub fn of_family(family: Family) -> &'static [Ctx] {
        match family {
            Family::Ip => &[Ctx::Ipv4],
            Family::Ip6 => &[Ctx::Ipv6],
            Family::Inet => &[Ctx::Ipv4, Ctx::Ipv6],
            Family::Arp => &[Ctx::Arp],
            Family::Bridge => &[Ctx::Bridge],
            Family::Netdev => &[Ctx::Netdev],
        }
    }

    /// The family word a counterexample prints (`ip`, `ip6`, …).
    pub fn name(self) -> &'static str {
        match self {
            Ctx::Ipv4 => "ip",
            Ctx::Ipv6 => "ip6",
            Ctx::Arp => "arp",
            Ctx::Bridge => "bridge",
            Ctx::Netdev => "netdev",
        }
    }

    /// True for the contexts where IPv4/IPv6 header semantics are known.
    pub fn is_ip(self) -> bool {
        matches!(self, Ctx::Ipv4 | Ctx::Ipv6)
    }
}

/// Where a base chain runs: a packet context and a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point {
    pub ctx: Ctx,
    pub hook: Hook,
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.ctx.name(), self.hook.name())
    }
}

/// A bit-addressable place a packet or its state is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// A header counted from `base` (`inner`: inside a tunnel).
    Payload {
        ctx: Ctx,
        base: PayloadBase,
        inner: Option<Proto>,
    },
    Meta(MetaKey),
    /// `meta protocol` / `meta l4proto` of the packet inside a tunnel (a guard before its
    /// fields), as free as the inner header itself.
    InnerMeta {
        tunnel: Proto,
        key: MetaKey,
    },
    /// A conntrack key (`dir` only for per-direction keys).
    Ct {
        key: CtKey,
        dir: Option<CtDir>,
    },
    /// The fields of an IPv6 extension header / IPv4 or TCP option / SCTP chunk.
    Exthdr {
        op: ExthdrOp,
        kind: u32,
    },
    /// Whether such a header/option/chunk is present.
    ExthdrPresent {
        op: ExthdrOp,
        kind: u32,
    },
    Rt(RtKey),
    Fib {
        flags: u32,
        result: FibResult,
    },
    Socket {
        key: SocketKey,
        level: u32,
    },
    Osf {
        ttl: u8,
        version: bool,
    },
    Ipsec {
        dir: XfrmDir,
        spnum: u32,
        key: XfrmKey,
    },
    Tunnel(TunnelKey),
    /// `numgen random mod N`: a per-packet random number, a free input.
    Numgen {
        mode: NumgenType,
        modulus: u32,
        offset: u32,
    },
    /// IPv6 only: the packet is a non-first fragment (transport loads fail on it). IPv4
    /// reads the same fact from the header's fragment offset.
    Ipv6Fragment,
    /// The outcome of one rate limiter / quota / connection limit (0: under, 1: over).
    Limiter(u32),
    /// The outcome of a `flow add`, a limiter too (0: offloaded, the rule goes on; 1: not).
    Offload(u32),
}

impl Storage {
    /// True for packet headers and options (bit-addressed, read from the packet).
    pub fn is_header(&self) -> bool {
        matches!(self, Storage::Payload { .. } | Storage::Exthdr { .. })
    }

    /// True for storages that belong to the conntrack entry rather than the packet.
    pub fn is_conntrack(&self) -> bool {
        matches!(self, Storage::Ct { .. })
    }

    /// A short name used when no loaded field names the bits.
    pub fn describe(&self) -> String {
        match self {
            Storage::Payload { base, inner, .. } => match inner {
                Some(t) => format!("{} {} header", t.name(), base.name()),
                None => format!("{} header", base.name()),
            },
            Storage::Meta(k) => format!("meta {}", crate::proto::meta::info(*k).token),
            Storage::InnerMeta { tunnel, key } => {
                format!("{} meta {}", tunnel.name(), crate::proto::meta::info(*key).token)
            }
            Storage::Ct { key, dir } => match dir {
                Some(d) => format!("ct {} {}", d.name(), crate::proto::ct::info(*key).token),
                None => format!("ct {}", crate::proto::ct::info(*key).token),
            },
            Storage::Exthdr { op, kind } => format!("{} option {kind}", op.netlink_name()),
            Storage::ExthdrPresent { op, kind } => format!("{} option {kind} present", op.netlink_name()),
            Storage::Rt(k) => format!("rt {k:?}").to_lowercase(),
            Storage::Fib { result, .. } => format!("fib {result:?}").to_lowercase(),
            Storage::Socket { key, .. } => format!("socket {key:?}").to_lowercase(),
            Storage::Osf { .. } => "osf".into(),
            Storage::Ipsec { key, .. } => format!("ipsec {key:?}").to_lowercase(),
            Storage::Tunnel(k) => format!("tunnel {k:?}").to_lowercase(),
            Storage::Numgen { modulus, .. } => format!("numgen mod {modulus}"),
            Storage::Ipv6Fragment => "ip6 non-first fragment".into(),
            Storage::Limiter(i) => format!("limiter #{i} over"),
            Storage::Offload(i) => format!("flow add (limiter #{i}) not offloaded"),
        }
    }
}

/// Hooks where a packet has no output device (`oif` reads 0, `oifname` reads "").
pub fn hook_has_no_oif(hook: Hook) -> bool {
    matches!(hook, Hook::Prerouting | Hook::Input | Hook::Ingress)
}

/// Hooks where a packet has no input device (locally generated).
pub fn hook_has_no_iif(hook: Hook) -> bool {
    hook == Hook::Output
}
