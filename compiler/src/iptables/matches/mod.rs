//! Match extensions (`-m NAME`): one module per extension or small family of extensions,
//! gathered in the [`Match`] enum, and the registry iptables looks names up in.

pub mod addrtype;
pub mod comment;
pub mod conn;
pub mod connlimit;
pub mod conntrack;
pub mod dccp;
pub mod dscp;
pub mod ecn;
pub mod hashlimit;
pub mod helper;
pub mod icmp;
pub mod iprange;
pub mod ipsec;
pub mod ipv6ext;
pub mod ipvs;
pub mod length;
pub mod limit;
pub mod mac;
pub mod mark;
pub mod misc;
pub mod multiport;
pub mod owner;
pub mod physdev;
pub mod pkttype;
pub mod policy;
pub mod recent;
pub mod sctp;
pub mod set;
pub mod string;
pub mod tcpudp;
pub mod time;
pub mod ttl;
pub mod u32bpf;

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
        Hashlimit(hashlimit::Hashlimit),
        Iprange(iprange::Iprange),
        Mac(mac::Mac),
        Length(length::Length),
        Ttl(ttl::Ttl),
        Hl(ttl::Hl),
        Pkttype(pkttype::Pkttype),
        Addrtype(addrtype::Addrtype),
        Helper(helper::Helper),
        Set(set::SetMatch),
        Physdev(physdev::Physdev),
        Owner(owner::Owner),
        Recent(recent::Recent),
        Connlimit(connlimit::Connlimit),
        Dscp(dscp::Dscp),
        Tos(dscp::Tos),
        Ecn(ecn::Ecn),
        Esp(ipsec::Esp),
        Ah(ipsec::AhMatch),
        Ipcomp(ipsec::Ipcomp),
        Frag(ipv6ext::Frag),
        Rt(ipv6ext::Rt),
        Opts(ipv6ext::Opts),
        Mh(ipv6ext::Mh),
        Ipv6header(ipv6ext::Ipv6header),
        Eui64(ipv6ext::Eui64),
        Srh(ipv6ext::Srh),
        Sctp(sctp::Sctp),
        Dccp(dccp::Dccp),
        String(string::StringMatch),
        Time(time::Time),
        Cgroup(misc::Cgroup),
        Cpu(misc::Cpu),
        Quota(misc::Quota),
        Statistic(misc::Statistic),
        Rpfilter(misc::Rpfilter),
        Socket(misc::Socket),
        Realm(misc::Realm),
        Devgroup(misc::Devgroup),
        Nfacct(misc::Nfacct),
        Osf(misc::Osf),
        Tcpmss(misc::TcpmssMatch),
        Connbytes(conn::Connbytes),
        Connlabel(conn::Connlabel),
        Cluster(conn::Cluster),
        Ipvs(ipvs::Ipvs),
        Policy(policy::Policy),
        U32(u32bpf::U32),
        Bpf(u32bpf::Bpf),
    }
}

use Family::{Ipv4, Ipv6};

macro_rules! def {
    ($name:expr, $fam:expr, $var:ident) => {
        ExtDef { name: $name, family: $fam, new: |_| Match::$var(Default::default()) }
    };
    ($name:expr, $fam:expr, $var:ident, $new:expr) => {
        ExtDef { name: $name, family: $fam, new: $new }
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
    def!("hashlimit", None, Hashlimit, |f| Match::Hashlimit(hashlimit::Hashlimit::new(f))),
    def!("iprange", None, Iprange),
    def!("mac", None, Mac),
    def!("length", None, Length),
    def!("ttl", Some(Ipv4), Ttl),
    def!("hl", Some(Ipv6), Hl),
    def!("pkttype", None, Pkttype),
    def!("addrtype", None, Addrtype),
    def!("helper", None, Helper),
    def!("set", None, Set),
    def!("physdev", None, Physdev),
    def!("owner", None, Owner),
    def!("recent", None, Recent, |f| Match::Recent(recent::Recent::new(f))),
    def!("connlimit", None, Connlimit, |f| Match::Connlimit(connlimit::Connlimit::new(f))),
    def!("dscp", None, Dscp),
    def!("tos", None, Tos),
    def!("ecn", None, Ecn),
    def!("esp", None, Esp),
    def!("ah", None, Ah, |f| Match::Ah(ipsec::AhMatch { family: f, ah: Default::default() })),
    def!("ipcomp", None, Ipcomp),
    def!("frag", Some(Ipv6), Frag),
    def!("rt", Some(Ipv6), Rt),
    def!("hbh", Some(Ipv6), Opts, |_| Match::Opts(ipv6ext::Opts { dst: false, len: None, opts: None })),
    def!("dst", Some(Ipv6), Opts, |_| Match::Opts(ipv6ext::Opts { dst: true, len: None, opts: None })),
    def!("mh", Some(Ipv6), Mh),
    def!("ipv6header", Some(Ipv6), Ipv6header),
    def!("eui64", Some(Ipv6), Eui64),
    def!("srh", Some(Ipv6), Srh),
    def!("sctp", None, Sctp),
    def!("dccp", None, Dccp),
    def!("string", None, String),
    def!("time", None, Time),
    def!("cgroup", None, Cgroup),
    def!("cpu", None, Cpu),
    def!("quota", None, Quota),
    def!("statistic", None, Statistic),
    def!("rpfilter", None, Rpfilter),
    def!("socket", None, Socket),
    def!("realm", Some(Ipv4), Realm),
    def!("devgroup", None, Devgroup),
    def!("nfacct", None, Nfacct),
    def!("osf", None, Osf),
    def!("tcpmss", None, Tcpmss),
    def!("connbytes", None, Connbytes),
    def!("connlabel", None, Connlabel),
    def!("cluster", None, Cluster),
    def!("ipvs", None, Ipvs),
    def!("policy", None, Policy),
    def!("u32", None, U32),
    def!("bpf", None, Bpf),
];

/// Look a match up as `xtables_find_match` does (`icmpv6` and `ipv6-icmp` mean `icmp6`).
pub fn lookup(name: &str, family: Family) -> Option<&'static ExtDef<Match>> {
    let name = match name {
        "icmpv6" | "ipv6-icmp" => "icmp6",
        n => n,
    };
    find_def(MATCHES, name, family)
}
