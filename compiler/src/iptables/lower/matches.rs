//! Which IR each match becomes (see the group files). Matches the IR cannot express yet are
//! [`Unsupported`].

use super::rule::Mcx;
use super::{
    LResult, Unsupported, bpf, conn, header, ipsec, ipset, ipv6ext, ipv6header, ipvs, limit, misc, physdev,
    portproto, recent, srh, string, u32match,
};
use crate::iptables::matches::Match;
use crate::iptables::rule::MatchEntry;
use crate::ir::Stmt;

pub fn lower_match(m: &MatchEntry, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    match &m.m {
        Match::Tcp(x) => portproto::tcp(x, cx),
        Match::Udp(x) => portproto::udp(x, cx),
        Match::Multiport(x) => portproto::multiport(x, cx),
        Match::Sctp(x) => portproto::sctp(x, cx),
        Match::Dccp(x) => portproto::dccp(x, cx),
        Match::Icmp(x) => portproto::icmp(x, cx),
        Match::Icmp6(x) => portproto::icmp6(x, cx),
        Match::Conntrack(x) => conn::conntrack(x, cx),
        Match::State(x) => conn::state(x, cx),
        Match::Helper(x) => conn::helper(x, cx),
        Match::Connmark(x) => conn::connmark(x, cx),
        Match::Connbytes(x) => conn::connbytes(x, cx),
        Match::Connlabel(x) => conn::connlabel(x, cx),
        Match::Connlimit(x) => conn::connlimit(x),
        Match::Mark(x) => header::mark(x, cx),
        Match::Iprange(x) => header::iprange(x, cx),
        Match::Mac(x) => header::mac(x, cx),
        Match::Length(x) => header::length(x, cx),
        Match::Ttl(x) => header::ttl_cmp(&x.0, "ip ttl", cx),
        Match::Hl(x) => header::ttl_cmp(&x.0, "ip6 hoplimit", cx),
        Match::Pkttype(x) => header::pkttype(x, cx),
        Match::Addrtype(x) => header::addrtype(x, cx),
        Match::Dscp(x) => header::dscp(x, cx),
        Match::Tos(x) => header::tos(x, cx),
        Match::Ecn(x) => header::ecn(x, cx),
        Match::Realm(x) => header::realm(x, cx),
        Match::Devgroup(x) => header::devgroup(x, cx),
        Match::Cpu(x) => header::cpu(x, cx),
        Match::Cgroup(x) => header::cgroup(x, cx),
        Match::Limit(x) => limit::limit(x),
        Match::Hashlimit(x) => limit::hashlimit(x, cx),
        Match::Quota(x) => limit::quota(x),
        Match::Statistic(x) => limit::statistic(x, cx),
        Match::Esp(x) => ipsec::esp(x, cx),
        Match::Ah(x) => ipsec::ah(x, cx),
        Match::Ipcomp(x) => ipsec::ipcomp(x, cx),
        Match::Policy(x) => ipsec::policy(x, cx),
        Match::Frag(x) => ipv6ext::frag(x, cx),
        Match::Rt(x) => ipv6ext::rt(x, cx),
        Match::Opts(x) => ipv6ext::opts(x, cx),
        Match::Mh(x) => ipv6ext::mh(x, cx),
        Match::Owner(x) => misc::owner(x, cx),
        Match::Rpfilter(x) => misc::rpfilter(x, cx),
        Match::Socket(x) => misc::socket(x, cx),
        Match::Time(x) => misc::time(x, cx),
        Match::Tcpmss(x) => misc::tcpmss(x, cx),
        Match::Comment(c) => {
            cx.comment = Some(c.text.clone());
            Ok(vec![])
        }
        Match::Set(x) => ipset::set_match(x, cx),
        Match::Recent(x) => recent::recent(x, cx),
        Match::String(x) => string::string(x, cx),
        Match::U32(x) => u32match::u32(x, cx),
        Match::Ipv6header(x) => ipv6header::ipv6header(x, cx),
        Match::Srh(x) => srh::srh(x, cx),
        Match::Physdev(x) => physdev::physdev(x, cx),
        Match::Bpf(x) => bpf::bpf(x, cx),
        Match::Ipvs(x) => ipvs::ipvs(x, cx),
        Match::Cluster(x) => conn::cluster(x),
        Match::Eui64(_) | Match::Nfacct(_) | Match::Osf(_) => {
            Err(Unsupported::new(format!("match `{}' has no equivalent in the engines yet", m.name)))
        }
    }
}
