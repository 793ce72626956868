//! The narrow interface between the VM and the world outside it.
//!
//! The runtime implements [`Env`]: packet metadata the VM cannot compute from the bytes
//! (marks, interfaces, sockets), conntrack state, routing lookups, and the side effects
//! (NAT, reject, dup, log …) that the VM only *requests*. All methods take plain slices and
//! small structs so a JIT can call them from `extern "C"` helpers through `&mut dyn Env`.
//! Every method has a default: unsupported lookups break the rule, actions do nothing.
//!
//! Values are exchanged in register layout: host-order numbers little-endian, addresses and
//! ports in network order, strings NUL-padded.

use crate::keys::{CtDir, CtKey, Family, MetaKey};
use crate::verdict::Verdict;

/// Which NAT operation a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    Snat,
    Dnat,
    /// `masquerade`: source NAT to the address of the out interface.
    Masquerade,
    /// `redirect`: destination NAT to a local address.
    Redirect,
}

/// A NAT request (`nat`, `masq`, `redir`). Addresses are 4 or 16 bytes, ports network order.
#[derive(Clone, Debug, PartialEq)]
pub struct NatRequest<'a> {
    pub kind: NatKind,
    /// `NFPROTO_*` the addresses belong to.
    pub family: Family,
    pub addr_min: Option<&'a [u8]>,
    pub addr_max: Option<&'a [u8]>,
    pub proto_min: Option<u16>,
    pub proto_max: Option<u16>,
    /// A shifted port map's base port (with `NF_NAT_RANGE_PROTO_OFFSET`): port `p` maps to
    /// `proto_min + (p - base) mod size`.
    pub proto_base: Option<u16>,
    /// `NF_NAT_RANGE_*` flags (0x1 map ips, 0x2 proto specified, 0x4 random, 0x8 persistent,
    /// 0x10 fully random, 0x40 netmap).
    pub flags: u32,
}

/// An ICMP or ICMPv6 error about the packet as a kernel target sends it (`icmp_send`,
/// `icmpv6_send`: unlike `reject`'s, whatever the transport checksum): its type, code and
/// the word after the checksum (a parameter problem's pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpErrorRequest {
    pub kind: u8,
    pub code: u8,
    pub rest: u32,
}

/// `reject`: `NFT_REJECT_*` type (0 icmp unreach, 1 tcp reset, 2 icmpx unreach) and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectRequest {
    pub kind: u32,
    pub code: u8,
}

/// A `log` statement to record in the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRequest<'a> {
    pub prefix: Option<&'a str>,
    pub level: Option<u32>,
    pub group: Option<u16>,
    pub flags: u32,
}

/// A `fib` lookup: `NFTA_FIB_F_*` flags and the `NFT_FIB_RESULT_*` wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibQuery {
    pub flags: u32,
    pub result: u32,
}

/// `tproxy`: divert to a local socket.
#[derive(Clone, Debug, PartialEq)]
pub struct TproxyRequest<'a> {
    pub family: Option<Family>,
    pub addr: Option<&'a [u8]>,
    pub port: Option<u16>,
}

/// What the VM asks of the runtime.
pub trait Env {
    /// The packet clock, nanoseconds (limits, timeouts, `meta time`).
    fn now_ns(&self) -> u64 {
        0
    }

    /// A random number (`numgen random`, `meta random`).
    fn random_u32(&mut self) -> u32 {
        0
    }

    /// Seconds east of UTC for `meta day`/`meta hour` (the kernel's `sys_tz`).
    fn tz_offset_secs(&self) -> i64 {
        0
    }

    /// Fills `out` (exactly the key's length) with a metadata value the VM does not derive
    /// itself; false breaks the rule (e.g. `meta oif` before routing).
    fn meta_get(&mut self, _key: MetaKey, _out: &mut [u8]) -> bool {
        false
    }

    /// `meta set`. The mark is a field of the packet, as the kernel's `skb->mark`: the JIT
    /// tells the environment of a `meta mark set` only before it next asks the environment
    /// anything and when the chain returns, so of several sets with nothing asked between
    /// them only the last arrives.
    fn meta_set(&mut self, _key: MetaKey, _value: &[u8]) {}

    /// Conntrack key of the packet's connection (`dir`: the tuple direction for address,
    /// port, bytes/packets keys). `ct state` must always answer (invalid / untracked bits);
    /// other keys return false when there is no connection.
    fn ct_get(&mut self, _key: CtKey, _dir: Option<CtDir>, _out: &mut [u8]) -> bool {
        false
    }

    fn ct_set(&mut self, _key: CtKey, _dir: Option<CtDir>, _value: &[u8]) {}

    /// `-j CT --helper NAME` (the kernel's xt_CT): the connection this packet starts, if it
    /// has no conntrack decision yet, gets the helper.
    fn ct_template_helper(&mut self, _helper: &str) {}

    /// The original-direction source address of the connection the packet's connection
    /// descends from: its master when it was expected (an FTP data connection), else itself
    /// (what `xt_cluster` hashes). `None` without a connection (untracked, invalid).
    fn ct_origin_source(&mut self) -> Option<std::net::IpAddr> {
        None
    }

    /// `notrack`: the packet gets the untracked conntrack state.
    fn notrack(&mut self) {}

    /// `flow add @f`: offload the packet's connection to the flowtable; false when it does
    /// not qualify (the rule breaks). No conntrack: false.
    fn flow_offload(&mut self, _flowtable: crate::program::FlowtableId) -> bool {
        false
    }

    /// Number of connections in a connlimit list, after counting this packet's connection
    /// there (`nf_conncount`). No conntrack: nothing is counted.
    fn connlimit_count(&mut self, _list: crate::expr::connlimit::ConnList) -> crate::expr::connlimit::Count {
        crate::expr::connlimit::Count::NotCounted
    }

    /// Collects a set element's connection list (`nft_connlimit_gc`): true when it counts
    /// no connection any more, and the set's garbage collection removes the element. No
    /// conntrack: never.
    fn connlimit_gc(&mut self, _list: crate::expr::connlimit::ConnList) -> bool {
        false
    }

    fn fib(&mut self, _q: FibQuery, _out: &mut [u8]) -> bool {
        false
    }

    /// `rt` keys (`NFT_RT_*`: 0 classid, 1 nexthop4, 2 nexthop6, 3 tcpmss, 4 ipsec).
    fn rt_get(&mut self, _key: u32, _out: &mut [u8]) -> bool {
        false
    }

    /// The MTU of a route (`dst_mtu`), for `-j TCPMSS --clamp-mss-to-pmtu`: with
    /// `to_source` false, of the route the packet takes (`None`: it has none yet); with
    /// `to_source` true, of the route back to its source address (`None`: no such route).
    fn route_mtu(&mut self, _to_source: bool) -> Option<u32> {
        None
    }

    /// `-j TCPMSS` adds an MSS option to a segment that has none: the VM cannot grow the
    /// bytes it holds, so the runtime applies the insertion when the chain has run.
    fn tcp_mss_insert(&mut self, _req: crate::expr::tcpmss::MssInsert) {}

    /// `socket` keys (`NFT_SOCKET_*`).
    fn socket_get(&mut self, _key: u32, _level: u32, _out: &mut [u8]) -> bool {
        false
    }

    /// `osf`: the OS name (16 bytes) the fingerprint database gives the packet's SYN;
    /// `false` when no fingerprint fits (the expression then yields `unknown`).
    fn osf_get(&mut self, _ttl: u8, _flags: u32, _out: &mut [u8]) -> bool {
        false
    }

    /// `xfrm` (`ipsec`) keys.
    fn xfrm_get(&mut self, _dir: u8, _spnum: u32, _key: u32, _out: &mut [u8]) -> bool {
        false
    }

    /// `tunnel` keys (0 path, 1 id).
    fn tunnel_get(&mut self, _key: u32, _out: &mut [u8]) -> bool {
        false
    }

    /// `symhash`: symmetric flow hash of the packet.
    fn symhash(&mut self) -> u32 {
        0
    }

    /// NAT request; returns the verdict (accept when set up, drop on failure).
    fn nat(&mut self, _req: &NatRequest<'_>) -> Verdict {
        Verdict::Accept
    }

    /// `reject`: the runtime sends the ICMP error / TCP reset; the packet is dropped.
    fn reject(&mut self, _req: RejectRequest) {}

    /// An ICMP error a target sends about the packet (the target also drops it).
    fn icmp_error(&mut self, _req: IcmpErrorRequest) {}

    /// `dup`: a copy of `packet` (the IP packet as it is at this point of the chain) to
    /// `addr` (via `dev` if given), or out of `dev` (netdev).
    fn dup(&mut self, _packet: &[u8], _addr: Option<&[u8]>, _dev: Option<u32>) {}

    /// `fwd`: forward `packet` (the IP packet as it is now) out of `dev` (to `addr` via
    /// neighbour resolution, for family `nfproto`); returns the verdict (stolen when sent).
    fn fwd(&mut self, _packet: &[u8], _dev: u32, _addr: Option<&[u8]>, _nfproto: u8) -> Verdict {
        Verdict::Stolen
    }

    /// `tproxy`; returns the verdict (continue when diverted, break when no socket).
    fn tproxy(&mut self, _req: &TproxyRequest<'_>) -> Verdict {
        Verdict::Break
    }

    /// `synproxy` (mss, wscale, flags); returns the verdict.
    fn synproxy(&mut self, _mss: u16, _wscale: u8, _flags: u32) -> Verdict {
        Verdict::Continue
    }

    /// An object the runtime applies (ct helper, ct timeout, ct expectation, secmark,
    /// synproxy, tunnel) — the rule's own, of its table; returns the verdict.
    fn object(&mut self, _obj: &crate::object::Object) -> Verdict {
        Verdict::Continue
    }

    /// `log`: the runtime formats it into its trace.
    fn log(&mut self, _req: &LogRequest<'_>) {}
}

/// An [`Env`] with every default: no metadata, no conntrack.
#[derive(Debug, Default)]
pub struct NullEnv;

impl Env for NullEnv {}
