//! Match extensions (`-m NAME`): one module per extension or small family of extensions,
//! gathered in the [`Match`] enum, and the registry iptables looks names up in.

pub mod comment;
pub mod conntrack;
pub mod icmp;
pub mod iprange;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod multiport;
pub mod pkttype;
pub mod tcpudp;
pub mod ttl;

use crate::iptables::Family;
use crate::iptables::ext::{ExtDef, ext_enum, find_def};

ext_enum! {
    /// A typed match.
    Match {
        Tcp(tcpudp::Tcp),
        Udp(tcpudp::Udp),
        Icmp(icmp::Icmp),
        Icmp6(icmp::Icmp6),
        Conntrack(conntrack::Conntrack),
        State(conntrack::State),
        Multiport(multiport::Multiport),
        Mark(mark::Mark),
        Connmark(mark::Connmark),
        Comment(comment::Comment),
        Limit(limit::Limit),
        Iprange(iprange::Iprange),
        Mac(mac::Mac),
        Length(length::Length),
        Ttl(ttl::Ttl),
        Hl(ttl::Hl),
        Pkttype(pkttype::Pkttype),
    }
}

use Family::{Ipv4, Ipv6};

macro_rules! def {
    ($name:expr, $fam:expr, $var:ident) => {
        ExtDef { name: $name, family: $fam, new: |_| Match::$var(Default::default()) }
    };
}

/// Every match iptables knows here, by the name `-m` takes.
pub static MATCHES: &[ExtDef<Match>] = &[
    def!("tcp", None, Tcp),
    def!("udp", None, Udp),
    def!("icmp", Some(Ipv4), Icmp),
    def!("icmp6", Some(Ipv6), Icmp6),
    def!("conntrack", None, Conntrack),
    def!("state", None, State),
    def!("multiport", None, Multiport),
    def!("mark", None, Mark),
    def!("connmark", None, Connmark),
    def!("comment", None, Comment),
    def!("limit", None, Limit),
    def!("iprange", None, Iprange),
    def!("mac", None, Mac),
    def!("length", None, Length),
    def!("ttl", Some(Ipv4), Ttl),
    def!("hl", Some(Ipv6), Hl),
    def!("pkttype", None, Pkttype),
];

/// Look a match up as `xtables_find_match` does (`icmpv6` and `ipv6-icmp` mean `icmp6`).
pub fn lookup(name: &str, family: Family) -> Option<&'static ExtDef<Match>> {
    let name = match name {
        "icmpv6" | "ipv6-icmp" => "icmp6",
        n => n,
    };
    find_def(MATCHES, name, family)
}
