//! Which translation each match has. Matches without one in iptables (`string`, `set`,
//! `recent`, `physdev`, `tos`, `u32`, …) are untranslatable here too: the rule is commented
//! out and the reason reported.

use super::buf::Xl;
use super::{Cx, NoXlate, XResult, conn, header, ipsec, ipv6ext, limit, mark, misc, portproto};
use crate::iptables::matches::Match;
use crate::iptables::rule::MatchEntry;

/// Translate one match.
pub fn xlate_match(m: &MatchEntry, cx: &mut Cx<'_>, xl: &mut Xl) -> XResult {
    match &m.m {
        Match::Tcp(x) => portproto::tcp(x, xl),
        Match::Udp(x) => portproto::udp(x, xl),
        Match::Multiport(x) => portproto::multiport(x, cx, xl),
        Match::Sctp(x) => portproto::sctp(x, xl),
        Match::Dccp(x) => portproto::dccp(x, xl),
        Match::Icmp(x) => portproto::icmp(x, xl),
        Match::Icmp6(x) => portproto::icmp6(x, xl),
        Match::Conntrack(x) => conn::conntrack(x, cx, xl),
        Match::State(x) => conn::state(x, xl),
        Match::Helper(x) => conn::helper(x, xl),
        Match::Connbytes(x) => conn::connbytes(x, xl),
        Match::Connlabel(x) => conn::connlabel(x, xl),
        Match::Connlimit(x) => conn::connlimit(x, cx, xl),
        Match::Cluster(x) => conn::cluster(x, xl),
        Match::Mark(x) => mark::mark_match(x, xl),
        Match::Connmark(x) => mark::connmark_match(x, xl),
        Match::Limit(x) => limit::limit(x, xl),
        Match::Hashlimit(x) => limit::hashlimit(x, cx, xl),
        Match::Quota(x) => limit::quota(x, xl),
        Match::Statistic(x) => limit::statistic(x, xl),
        Match::Iprange(x) => header::iprange(x, cx, xl),
        Match::Mac(x) => header::mac(x, xl),
        Match::Length(x) => header::length(x, xl),
        Match::Ttl(x) => header::ttl(x, xl),
        Match::Hl(x) => header::hl(x, xl),
        Match::Pkttype(x) => header::pkttype(x, xl),
        Match::Addrtype(x) => header::addrtype(x, xl),
        Match::Dscp(x) => header::dscp(x, cx, xl),
        Match::Ecn(x) => header::ecn(x, xl),
        Match::Realm(x) => header::realm(x, xl),
        Match::Devgroup(x) => header::devgroup(x, xl),
        Match::Cpu(x) => header::cpu(x, xl),
        Match::Cgroup(x) => header::cgroup(x, xl),
        Match::Esp(x) => ipsec::esp(x, cx, xl),
        Match::Ah(x) => ipsec::ah(x, xl),
        Match::Ipcomp(x) => ipsec::ipcomp(x, xl),
        Match::Policy(x) => ipsec::policy(x, xl),
        Match::Frag(x) => ipv6ext::frag(x, xl),
        Match::Rt(x) => ipv6ext::rt(x, xl),
        Match::Opts(x) => ipv6ext::opts(x, xl),
        Match::Mh(x) => ipv6ext::mh(x, xl),
        Match::Comment(x) => misc::comment(x, xl),
        Match::Owner(x) => misc::owner(x, xl),
        Match::Rpfilter(x) => misc::rpfilter(x, xl),
        Match::Socket(x) => misc::socket(x, xl),
        Match::Time(x) => misc::time(x, xl),
        Match::Tcpmss(x) => misc::tcpmss(x, xl),
        Match::Tos(_)
        | Match::Set(_)
        | Match::Physdev(_)
        | Match::Recent(_)
        | Match::Ipv6header(_)
        | Match::Eui64(_)
        | Match::Srh(_)
        | Match::String(_)
        | Match::Nfacct(_)
        | Match::Osf(_)
        | Match::Ipvs(_)
        | Match::U32(_)
        | Match::Bpf(_) => Err(NoXlate::new(format!("match `{}' has no nft translation", m.name))),
    }
}
