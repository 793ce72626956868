//! The host model: the interfaces nftvm pretends to have (name, kernel-style index, addresses,
//! MTU), its routing table, and the decisions Linux's routing code makes from them — where a
//! received packet goes (local delivery, forwarding out of an interface, or nowhere), which
//! source address a locally generated packet gets, and what kind of address an address is
//! (`fib … type`).
//!
//! Built from the command line's `--iface NAME=ADDR/PLEN` (repeatable; a name given twice
//! gets a second address) and `--route PREFIX=NAME`. Forwarding is always on. Every address
//! brings its connected route; routes are chosen by longest prefix, the first declared
//! winning a tie (connected routes come first). The model follows what a namespace with TUN
//! devices configured like the kernel oracle's looks like:
//!
//! * interface indexes: `lo` is 1, the declared interfaces 2, 3, … in order of declaration
//!   (as in a fresh network namespace); [`IfaceId`] is the position among the declared ones
//!   (the numbering [`crate::io::PacketIo`] uses) and [`LOOPBACK`] names `lo`;
//! * TUN devices are point-to-point: their IPv4 addresses have no subnet broadcast address,
//!   so only `255.255.255.255` (and `0.0.0.0`) are broadcast;
//! * `127.0.0.0/8` and `::1` are local (on `lo`);
//! * multicast is delivered locally only for the groups every interface joins (`224.0.0.1`;
//!   `ff0{1,2}::1`, `ff0{1,2}::2` — the host forwards — and the solicited-node groups of its
//!   addresses); other multicast is dropped (there is no multicast routing).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::io::IfaceId;

/// The id of the loopback interface `lo` (it has no [`crate::io::PacketIo`] queue).
pub const LOOPBACK: IfaceId = IfaceId(usize::MAX);

/// `ARPHRD_NONE`: the hardware type of a TUN device (`meta iiftype`).
pub const ARPHRD_NONE: u16 = 65534;
/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_LOOPBACK`.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// The default MTU of a declared interface (a TUN device's default).
pub const DEFAULT_MTU: u32 = 1500;

/// An address with a prefix length, `ADDR/PLEN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// Parses `ADDR/PLEN` (`ADDR` alone is a host prefix).
    pub fn parse(text: &str) -> Result<Prefix, String> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{l}` is not a prefix length (0..={max})")),
            },
        };
        Ok(Prefix { addr, len })
    }

    /// Whether `addr` lies in this prefix (same family).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(p), IpAddr::V4(a)) => masked4(p, self.len) == masked4(a, self.len),
            (IpAddr::V6(p), IpAddr::V6(a)) => masked6(p, self.len) == masked6(a, self.len),
            _ => false,
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Prefix {
        let addr = match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(masked4(a, self.len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(masked6(a, self.len))),
        };
        Prefix { addr, len: self.len }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn masked4(a: Ipv4Addr, len: u8) -> u32 {
    let bits = u32::from(a);
    if len == 0 { 0 } else { bits & (u32::MAX << (32 - u32::from(len.min(32)))) }
}

fn masked6(a: Ipv6Addr, len: u8) -> u128 {
    let bits = u128::from(a);
    if len == 0 { 0 } else { bits & (u128::MAX << (128 - u32::from(len.min(128)))) }
}

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    /// The kernel-style interface index (`meta iif`).
    pub index: u32,
    /// Local addresses with their prefix lengths, in declaration order (the first of a family
    /// is the primary one).
    pub addrs: Vec<Prefix>,
    pub mtu: u32,
    /// `ARPHRD_*` (`meta iiftype`).
    pub hw_type: u16,
    /// The link kind (`meta iifkind`): `tun` for declared interfaces.
    pub kind: &'static str,
    /// `meta iifgroup`.
    pub group: u32,
}

impl Iface {
    /// Addresses of one family.
    pub fn addrs_of(&self, v4: bool) -> impl Iterator<Item = &Prefix> {
        self.addrs.iter().filter(move |p| p.addr.is_ipv4() == v4)
    }

    /// The first address of the family (`in_dev->ifa_list`), what `redirect` uses.
    pub fn primary(&self, v4: bool) -> Option<IpAddr> {
        self.addrs_of(v4).next().map(|p| p.addr)
    }

    /// `inet_select_addr`: the first address of the family whose subnet holds `dst`, else
    /// the primary one.
    pub fn select_addr(&self, dst: IpAddr) -> Option<IpAddr> {
        let v4 = dst.is_ipv4();
        self.addrs_of(v4).find(|p| p.contains(dst)).or_else(|| self.addrs_of(v4).next()).map(|p| p.addr)
    }
}

/// A route: packets to `prefix` leave through `iface` (directly: no gateways in this model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: Prefix,
    pub iface: IfaceId,
    /// A connected route (from an interface address), rather than a `--route`.
    pub connected: bool,
}

/// `RTN_*`: what kind of address an address is (`fib … type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrType {
    Unspec = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
}

/// The routing decision for a received packet (`ip_route_input` / `ip6_route_input`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRoute {
    /// Deliver locally (to one of our addresses, broadcast or a joined multicast group).
    Local { kind: AddrType },
    /// Forward out of `oif`.
    Forward { oif: IfaceId },
    /// No route: the kernel answers with ICMP "network unreachable" (IPv6: "no route").
    Unreachable,
    /// Dropped silently (martian addresses, multicast not joined).
    Drop(&'static str),
}

/// The model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    ifaces: Vec<Iface>,
    routes: Vec<Route>,
    lo: Iface,
}

impl Default for Host {
    fn default() -> Self {
        Host::new()
    }
}

impl Host {
    /// A host with only `lo`.
    pub fn new() -> Host {
        let lo = Iface {
            name: "lo".to_string(),
            index: 1,
            addrs: vec![
                Prefix { addr: IpAddr::V4(Ipv4Addr::LOCALHOST), len: 8 },
                Prefix { addr: IpAddr::V6(Ipv6Addr::LOCALHOST), len: 128 },
            ],
            mtu: 65536,
            hw_type: ARPHRD_LOOPBACK,
            kind: "",
            group: 0,
        };
        Host { ifaces: Vec::new(), routes: Vec::new(), lo }
    }

    /// Builds a host from `--iface` and `--route` specifications.
    pub fn from_specs(ifaces: &[String], routes: &[String]) -> Result<Host, String> {
        let mut host = Host::new();
        for spec in ifaces {
            host.add_iface_spec(spec)?;
        }
        for spec in routes {
            host.add_route_spec(spec)?;
        }
        Ok(host)
    }

    /// `NAME=ADDR/PLEN` (or just `NAME`, an interface without addresses).
    pub fn add_iface_spec(&mut self, spec: &str) -> Result<IfaceId, String> {
        let (name, addr) = match spec.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (spec, None),
        };
        let prefix = addr.map(Prefix::parse).transpose().map_err(|e| format!("--iface {spec}: {e}"))?;
        self.add_iface(name, prefix).map_err(|e| format!("--iface {spec}: {e}"))
    }

    /// `PREFIX=NAME`.
    pub fn add_route_spec(&mut self, spec: &str) -> Result<(), String> {
        let Some((prefix, name)) = spec.split_once('=') else {
            return Err(format!("--route {spec}: expected PREFIX=NAME"));
        };
        let prefix = Prefix::parse(prefix).map_err(|e| format!("--route {spec}: {e}"))?;
        self.add_route(prefix, name).map_err(|e| format!("--route {spec}: {e}"))
    }

    /// Declares interface `name` (if new) and gives it `addr` with its connected route.
    pub fn add_iface(&mut self, name: &str, addr: Option<Prefix>) -> Result<IfaceId, String> {
        if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) || name == "lo" {
            return Err(format!("`{name}` is not a usable interface name (1 to 15 bytes, not `lo`)"));
        }
        let id = match self.ifaces.iter().position(|i| i.name == name) {
            Some(i) => IfaceId(i),
            None => {
                let index = u32::try_from(self.ifaces.len() + 2).map_err(|_| "too many interfaces")?;
                self.ifaces.push(Iface {
                    name: name.to_string(),
                    index,
                    addrs: Vec::new(),
                    mtu: DEFAULT_MTU,
                    hw_type: ARPHRD_NONE,
                    kind: "tun",
                    group: 0,
                });
                IfaceId(self.ifaces.len() - 1)
            }
        };
        if let Some(p) = addr {
            if self.local_iface(p.addr).is_some() {
                return Err(format!("address {} is already in use", p.addr));
            }
            if let Some(iface) = self.ifaces.get_mut(id.0) {
                iface.addrs.push(p);
            }
            self.routes.push(Route { prefix: p.network(), iface: id, connected: true });
        }
        Ok(id)
    }

    /// A route to `prefix` through interface `name` (declared before).
    pub fn add_route(&mut self, prefix: Prefix, name: &str) -> Result<(), String> {
        let id = self
            .iface_by_name(name)
            .ok_or_else(|| format!("no interface `{name}` (declare it with --iface)"))?;
        self.routes.push(Route { prefix: prefix.network(), iface: id, connected: false });
        Ok(())
    }

    /// Sets an interface's MTU.
    pub fn set_mtu(&mut self, id: IfaceId, mtu: u32) {
        if let Some(i) = self.ifaces.get_mut(id.0) {
            i.mtu = mtu;
        }
    }

    /// Sets an interface's hardware type (e.g. Ethernet for a capture with MAC headers).
    pub fn set_hw_type(&mut self, id: IfaceId, hw_type: u16) {
        if let Some(i) = self.ifaces.get_mut(id.0) {
            i.hw_type = hw_type;
        }
    }

    /// The declared interfaces, in [`IfaceId`] order.
    pub fn ifaces(&self) -> &[Iface] {
        &self.ifaces
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// An interface by id ([`LOOPBACK`] is `lo`).
    pub fn iface(&self, id: IfaceId) -> Option<&Iface> {
        if id == LOOPBACK { Some(&self.lo) } else { self.ifaces.get(id.0) }
    }

    pub fn iface_by_name(&self, name: &str) -> Option<IfaceId> {
        if name == "lo" {
            return Some(LOOPBACK);
        }
        self.ifaces.iter().position(|i| i.name == name).map(IfaceId)
    }

    pub fn iface_by_index(&self, index: u32) -> Option<IfaceId> {
        if index == 1 {
            return Some(LOOPBACK);
        }
        self.ifaces.iter().position(|i| i.index == index).map(IfaceId)
    }

    /// The name of an interface (`?` for an unknown id).
    pub fn name(&self, id: IfaceId) -> &str {
        self.iface(id).map_or("?", |i| i.name.as_str())
    }

    /// The interface that owns local address `addr` (loopback addresses: `lo`).
    pub fn local_iface(&self, addr: IpAddr) -> Option<IfaceId> {
        if is_loopback(addr) {
            return Some(LOOPBACK);
        }
        self.ifaces.iter().position(|i| i.addrs.iter().any(|p| p.addr == addr)).map(IfaceId)
    }

    /// Whether `addr` is one of the host's addresses.
    pub fn is_local(&self, addr: IpAddr) -> bool {
        self.local_iface(addr).is_some()
    }

    /// Longest-prefix match in the main table.
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        let mut best: Option<&Route> = None;
        for r in &self.routes {
            if r.prefix.contains(dst) && best.is_none_or(|b| r.prefix.len > b.prefix.len) {
                best = Some(r);
            }
        }
        best
    }

    /// `inet_addr_type` / `inet_dev_addr_type`: the type of `addr`, optionally only as seen
    /// from interface `dev` (a local address of another interface is then unicast).
    pub fn addr_type(&self, addr: IpAddr, dev: Option<IfaceId>) -> AddrType {
        match addr {
            IpAddr::V4(a) => {
                if a.is_unspecified() || a.is_broadcast() {
                    return AddrType::Broadcast;
                }
                if a.is_multicast() {
                    return AddrType::Multicast;
                }
            }
            IpAddr::V6(a) => {
                if a.is_multicast() {
                    return AddrType::Multicast;
                }
                if a.is_unspecified() {
                    return AddrType::Unicast;
                }
            }
        }
        match self.local_iface(addr) {
            Some(owner) if dev.is_none_or(|d| d == owner || owner == LOOPBACK) => AddrType::Local,
            _ => AddrType::Unicast,
        }
    }

    /// The routing decision for a packet received on `iif` (`ip_route_input_noref`).
    pub fn route_input(&self, src: IpAddr, dst: IpAddr, iif: IfaceId) -> InputRoute {
        let from_lo = iif == LOOPBACK;
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                if s.is_multicast() || s.is_broadcast() || (!from_lo && s.is_loopback()) {
                    return InputRoute::Drop("martian source");
                }
                if d.is_broadcast() || (d.is_unspecified() && s.is_unspecified()) {
                    return InputRoute::Local { kind: AddrType::Broadcast };
                }
                if d.is_multicast() {
                    return if d == Ipv4Addr::new(224, 0, 0, 1) {
                        InputRoute::Local { kind: AddrType::Multicast }
                    } else {
                        InputRoute::Drop("multicast group not joined")
                    };
                }
                if s.is_unspecified() || d.is_unspecified() || (!from_lo && d.is_loopback()) {
                    return InputRoute::Drop("martian destination");
                }
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                if s.is_multicast() || (!from_lo && (s.is_loopback() || d.is_loopback())) {
                    return InputRoute::Drop("martian address");
                }
                if d.is_multicast() {
                    return if self.joined6(d) {
                        InputRoute::Local { kind: AddrType::Multicast }
                    } else {
                        InputRoute::Drop("multicast group not joined")
                    };
                }
            }
            _ => return InputRoute::Drop("mixed address families"),
        }
        if self.is_local(dst) {
            return InputRoute::Local { kind: AddrType::Local };
        }
        match self.lookup(dst) {
            Some(r) => InputRoute::Forward { oif: r.iface },
            None => InputRoute::Unreachable,
        }
    }

    /// Whether the host listens to IPv6 multicast group `g`.
    fn joined6(&self, g: Ipv6Addr) -> bool {
        let s = g.segments();
        let scope_ok = matches!(s[0], 0xff01 | 0xff02);
        let all = s[1..7].iter().all(|x| *x == 0) && (s[7] == 1 || s[7] == 2);
        if scope_ok && all {
            return true;
        }
        // Solicited-node: ff02::1:ffXX:XXXX for each address.
        if s[0] == 0xff02 && s[1..5].iter().all(|x| *x == 0) && s[5] == 1 && s[6] >> 8 == 0xff {
            let low = u32::from(s[6] & 0xff) << 16 | u32::from(s[7]);
            return self.ifaces.iter().flat_map(|i| &i.addrs).any(|p| match p.addr {
                IpAddr::V6(a) => u128::from(a) as u32 & 0x00ff_ffff == low,
                IpAddr::V4(_) => false,
            });
        }
        false
    }

    /// The route and source address for a packet the host sends to `dst` (`ip_route_output`):
    /// `None` when there is no route. Local destinations go out of `lo`.
    pub fn route_output(&self, dst: IpAddr) -> Option<(IfaceId, Option<IpAddr>)> {
        if let Some(owner) = self.local_iface(dst) {
            let _ = owner;
            return Some((LOOPBACK, Some(dst)));
        }
        let r = self.lookup(dst)?;
        let src =
            self.iface(r.iface).and_then(|i| i.select_addr(dst)).or_else(|| self.any_addr(dst.is_ipv4()));
        Some((r.iface, src))
    }

    /// The first address of the family on any interface (the source of last resort).
    fn any_addr(&self, v4: bool) -> Option<IpAddr> {
        self.ifaces.iter().find_map(|i| i.primary(v4))
    }

    /// The address `masquerade` uses on `oif` for a packet to `dst`.
    pub fn masquerade_addr(&self, oif: IfaceId, dst: IpAddr) -> Option<IpAddr> {
        self.iface(oif)?.select_addr(dst)
    }

    /// The address `redirect` uses for a packet that came in on `iif` (loopback when the
    /// host sent it itself).
    pub fn redirect_addr(&self, iif: Option<IfaceId>, v4: bool) -> Option<IpAddr> {
        match iif {
            None | Some(LOOPBACK) => {
                Some(if v4 { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V6(Ipv6Addr::LOCALHOST) })
            }
            Some(id) => self.iface(id)?.primary(v4),
        }
    }
}

/// `127.0.0.0/8` or `::1`.
pub fn is_loopback(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn router() -> Host {
        Host::from_specs(
            &["tuna=10.0.1.1/24".into(), "tuna=fd00:1::1/64".into(), "tunb=10.0.2.1/24".into()],
            &["192.0.2.0/24=tunb".into(), "192.0.2.128/25=tuna".into()],
        )
        .unwrap()
    }

    #[test]
    fn indexes_and_addresses() {
        let mut h = router();
        assert_eq!(h.ifaces().len(), 2);
        assert_eq!(h.iface(IfaceId(0)).unwrap().index, 2);
        assert_eq!(h.iface(IfaceId(1)).unwrap().index, 3);
        assert_eq!(h.iface(LOOPBACK).unwrap().index, 1);
        assert_eq!(h.iface(IfaceId(0)).unwrap().addrs.len(), 2);
        assert_eq!(h.local_iface(ip("10.0.2.1")), Some(IfaceId(1)));
        assert!(h.add_iface("tunc", Some(Prefix::parse("10.0.1.1/24").unwrap())).is_err());
        assert!(Host::from_specs(&["x=10.0.0.1/33".into()], &[]).is_err());
        assert!(Host::from_specs(&[], &["10.0.0.0/8=nope".into()]).is_err());
    }

    #[test]
    fn longest_prefix_wins() {
        let h = router();
        assert_eq!(
            h.route_input(ip("10.0.1.2"), ip("192.0.2.7"), IfaceId(0)),
            InputRoute::Forward { oif: IfaceId(1) }
        );
        assert_eq!(
            h.route_input(ip("10.0.1.2"), ip("192.0.2.200"), IfaceId(0)),
            InputRoute::Forward { oif: IfaceId(0) }
        );
        assert_eq!(
            h.route_input(ip("10.0.1.2"), ip("10.0.2.1"), IfaceId(0)),
            InputRoute::Local { kind: AddrType::Local }
        );
        assert_eq!(h.route_input(ip("10.0.1.2"), ip("8.8.8.8"), IfaceId(0)), InputRoute::Unreachable);
        assert!(matches!(h.route_input(ip("127.0.0.1"), ip("10.0.1.1"), IfaceId(0)), InputRoute::Drop(_)));
        assert!(matches!(h.route_input(ip("10.0.1.2"), ip("239.1.1.1"), IfaceId(0)), InputRoute::Drop(_)));
        assert_eq!(
            h.route_input(ip("fd00:1::2"), ip("ff02::1:ff00:1"), IfaceId(0)),
            InputRoute::Local { kind: AddrType::Multicast }
        );
    }

    #[test]
    fn source_selection_and_types() {
        let h = router();
        assert_eq!(h.route_output(ip("10.0.2.9")), Some((IfaceId(1), Some(ip("10.0.2.1")))));
        assert_eq!(h.route_output(ip("10.0.1.1")), Some((LOOPBACK, Some(ip("10.0.1.1")))));
        assert_eq!(h.addr_type(ip("10.0.1.1"), None), AddrType::Local);
        assert_eq!(h.addr_type(ip("10.0.1.1"), Some(IfaceId(1))), AddrType::Unicast);
        assert_eq!(h.addr_type(ip("255.255.255.255"), None), AddrType::Broadcast);
        assert_eq!(h.addr_type(ip("224.0.0.5"), None), AddrType::Multicast);
        assert_eq!(h.redirect_addr(Some(IfaceId(0)), false), Some(ip("fd00:1::1")));
    }
}
