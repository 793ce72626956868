//! `match name NAME rev N …`: an x_tables match the kernel runs inside an nf_tables rule
//! (`nft_compat`), as iptables-nft loads every match it does not turn into nft expressions.
//! nftvm runs the ones rulesets need most — `recent` ([`super::recent`]), `string`
//! ([`super::string`]), `u32` ([`super::u32match`]), `ipv6header`
//! ([`super::ipv6header`]), `sctp` ([`super::sctpmatch`]), `srh` ([`super::srh`]),
//! `physdev` ([`super::physdev`]), `bpf` ([`super::bpf`]), `hbh` and `dst`
//! ([`super::ipv6opts`]), `ipvs` ([`super::ipvs`]), `policy` ([`super::policy`]), `cluster`
//! ([`super::cluster`]), `time` with `--monthdays` ([`super::time_match`]), `dccp`
//! ([`super::dccpmatch`]), `rt` ([`super::rtmatch`]), `mh` ([`super::mhmatch`]), `frag`
//! ([`super::fragmatch`]), `esp` and `ah` ([`super::ipsecmatch`]), `icmp` and `icmp6`
//! ([`super::icmpmatch`]) — on both engines (the JIT calls the interpreter's code).

use super::bpf::BpfMatch;
use super::cluster::Cluster;
use super::dccpmatch::DccpMatch;
use super::fragmatch::FragMatch;
use super::icmpmatch::IcmpMatch;
use super::ipsecmatch::{AhMatch, EspMatch};
use super::ipv6header::Ipv6Header;
use super::ipv6opts::OptsMatch;
use super::ipvs::Ipvs;
use super::mhmatch::MhMatch;
use super::physdev::Physdev;
use super::policy::Policy;
use super::recent::Recent;
use super::rtmatch::RtMatch;
use super::sctpmatch::SctpMatch;
use super::srh::SrhMatch;
use super::string::StringMatch;
use super::time_match::TimeMatch;
use super::u32match::U32Match;
use super::xt_connlimit::XtConnlimit;
use super::xt_helper::XtHelper;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// Which of a match's tests it makes, and which of those are inverted: the kernel's
/// `flags`/`invflags` pairs (one bit per test), shared by `sctp`, `srh` and `physdev`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tests {
    pub made: u16,
    pub inverted: u16,
}

impl Tests {
    /// Makes test `which`, inverted or not.
    pub fn make(&mut self, which: u16, inverted: bool) {
        self.made |= which;
        if inverted {
            self.inverted |= which;
        }
    }

    /// Does test `which` hold when its condition is `cond`? One not made always does.
    pub fn holds(self, which: u16, cond: bool) -> bool {
        self.made & which == 0 || (self.inverted & which != 0) ^ cond
    }

    /// Are all its bits among `all`?
    pub fn within(self, all: u16) -> bool {
        (self.made | self.inverted) & !all == 0
    }

    /// `tests 0x… invert 0x…`, each of `digits` hex digits.
    pub(crate) fn print(self, o: &mut String, digits: usize) {
        let _ = write!(o, "tests 0x{:0digits$x} invert 0x{:0digits$x}", self.made, self.inverted);
    }

    /// Reads what [`Tests::print`] writes, refusing bits outside `all`.
    pub(crate) fn parse(c: &mut Cursor, all: u16) -> PResult<Tests> {
        c.expect("tests")?;
        let made = c.hex()?;
        c.expect("invert")?;
        let inverted = c.hex()?;
        if (made | inverted) & !u64::from(all) != 0 {
            return Err(format!("unknown test bits in 0x{:x}", made | inverted));
        }
        Ok(Tests { made: made as u16, inverted: inverted as u16 })
    }
}

/// The next word as `FROM-TO` (a match's range of ports, types, SPIs, …), `what` naming it
/// in the error.
pub(crate) fn num_range<T: std::str::FromStr>(c: &mut Cursor, what: &str) -> PResult<(T, T)> {
    let t = c.next()?;
    t.split_once('-')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| format!("{what}: bad range `{t}` (FROM-TO)"))
}

/// For a match on transport protocol `proto` (sctp, dccp, mh, esp, IPv4's ah, icmp): what
/// `holds` answers for the packet from its transport header on (as much as there is) — no
/// match when the rule cannot match: another protocol, not IP, or a later fragment, which
/// has no transport header.
pub(crate) fn on_transport(e: &Eval, proto: u8, holds: impl FnOnce(&[u8]) -> Option<bool>) -> Option<bool> {
    use crate::keys::Family;
    if !matches!(e.pkt.nfproto, Family::Ip | Family::Ip6) || e.pkt.l4proto != proto {
        return Some(false);
    }
    let Some(th) = e.pkt.transport_off else { return Some(false) };
    holds(e.pkt.data.get(th.max(e.pkt.network_off)..).unwrap_or(&[]))
}

/// For a match on IPv6 extension header `target` (frag, ah, rt): what `holds` answers for
/// the packet from that header on, the header found as the kernel's `ipv6_find_hdr` finds
/// it — no match for a packet that is not IPv6 or has no such header, a drop (`None`, the
/// kernel's hotdrop) when the chain is cut short on the way.
pub(crate) fn on_ipv6_ext(e: &Eval, target: u8, holds: impl FnOnce(&[u8]) -> Option<bool>) -> Option<bool> {
    if e.pkt.nfproto != crate::keys::Family::Ip6 {
        return Some(false);
    }
    let ip = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
    match crate::interp::headers::ipv6_find_hdr(ip, 0, target) {
        Err(_) => None,
        Ok(None) => Some(false),
        Ok(Some(at)) => holds(ip.get(at..).unwrap_or(&[])),
    }
}

/// An x_tables match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XtMatch {
    Recent(Recent),
    String(StringMatch),
    U32(U32Match),
    Ipv6Header(Ipv6Header),
    Sctp(SctpMatch),
    Srh(SrhMatch),
    Physdev(Physdev),
    Bpf(BpfMatch),
    Opts(OptsMatch),
    Ipvs(Ipvs),
    Policy(Policy),
    Cluster(Cluster),
    Time(TimeMatch),
    Dccp(DccpMatch),
    Rt(RtMatch),
    Mh(MhMatch),
    Frag(FragMatch),
    Esp(EspMatch),
    Ah(AhMatch),
    Icmp(IcmpMatch),
    Connlimit(XtConnlimit),
    Helper(XtHelper),
}

impl XtMatch {
    /// Does the kernel's match turn connection tracking on for its family
    /// (`nf_ct_netns_get` in its check)?
    pub fn enables_conntrack(&self) -> bool {
        matches!(self, XtMatch::Ipvs(_) | XtMatch::Cluster(_) | XtMatch::Connlimit(_) | XtMatch::Helper(_))
    }

    /// The match's name (`recent`, `string`).
    pub fn name(&self) -> &'static str {
        match self {
            XtMatch::Recent(_) => "recent",
            XtMatch::String(_) => "string",
            XtMatch::U32(_) => "u32",
            XtMatch::Ipv6Header(_) => "ipv6header",
            XtMatch::Sctp(_) => "sctp",
            XtMatch::Srh(_) => "srh",
            XtMatch::Physdev(_) => "physdev",
            XtMatch::Bpf(_) => "bpf",
            XtMatch::Opts(m) => m.name(),
            XtMatch::Ipvs(_) => "ipvs",
            XtMatch::Policy(_) => "policy",
            XtMatch::Cluster(_) => "cluster",
            XtMatch::Time(_) => "time",
            XtMatch::Dccp(_) => "dccp",
            XtMatch::Rt(_) => "rt",
            XtMatch::Mh(_) => "mh",
            XtMatch::Frag(_) => "frag",
            XtMatch::Esp(_) => "esp",
            XtMatch::Ah(_) => "ah",
            XtMatch::Icmp(m) if m.v6 => "icmp6",
            XtMatch::Icmp(_) => "icmp",
            XtMatch::Connlimit(_) => "connlimit",
            XtMatch::Helper(_) => "helper",
        }
    }

    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        match self {
            XtMatch::Recent(r) => r.print(p, o),
            XtMatch::String(s) => s.print(p, o),
            XtMatch::U32(u) => u.print(p, o),
            XtMatch::Ipv6Header(h) => h.print(p, o),
            XtMatch::Sctp(m) => m.print(p, o),
            XtMatch::Srh(m) => m.print(p, o),
            XtMatch::Physdev(m) => m.print(p, o),
            XtMatch::Bpf(m) => m.print(p, o),
            XtMatch::Opts(m) => m.print(p, o),
            XtMatch::Ipvs(m) => m.print(p, o),
            XtMatch::Policy(m) => m.print(p, o),
            XtMatch::Cluster(m) => m.print(p, o),
            XtMatch::Time(m) => m.print(p, o),
            XtMatch::Dccp(m) => m.print(p, o),
            XtMatch::Rt(m) => m.print(p, o),
            XtMatch::Mh(m) => m.print(p, o),
            XtMatch::Frag(m) => m.print(p, o),
            XtMatch::Esp(m) => m.print(p, o),
            XtMatch::Ah(m) => m.print(p, o),
            XtMatch::Icmp(m) => m.print(p, o),
            XtMatch::Connlimit(m) => m.print(p, o),
            XtMatch::Helper(m) => m.print(p, o),
        }
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<XtMatch> {
        match c.peek_at(1) {
            Some("recent") => Recent::parse(c, a).map(XtMatch::Recent),
            Some("string") => StringMatch::parse(c, a).map(XtMatch::String),
            Some("u32") => U32Match::parse(c, a).map(XtMatch::U32),
            Some("ipv6header") => Ipv6Header::parse(c, a).map(XtMatch::Ipv6Header),
            Some("sctp") => SctpMatch::parse(c, a).map(XtMatch::Sctp),
            Some("srh") => SrhMatch::parse(c, a).map(XtMatch::Srh),
            Some("physdev") => Physdev::parse(c, a).map(XtMatch::Physdev),
            Some("bpf") => BpfMatch::parse(c, a).map(XtMatch::Bpf),
            Some("hbh" | "dst") => OptsMatch::parse(c, a).map(XtMatch::Opts),
            Some("ipvs") => Ipvs::parse(c, a).map(XtMatch::Ipvs),
            Some("policy") => Policy::parse(c, a).map(XtMatch::Policy),
            Some("cluster") => Cluster::parse(c, a).map(XtMatch::Cluster),
            Some("time") => TimeMatch::parse(c, a).map(XtMatch::Time),
            Some("dccp") => DccpMatch::parse(c, a).map(XtMatch::Dccp),
            Some("rt") => RtMatch::parse(c, a).map(XtMatch::Rt),
            Some("mh") => MhMatch::parse(c, a).map(XtMatch::Mh),
            Some("frag") => FragMatch::parse(c, a).map(XtMatch::Frag),
            Some("esp") => EspMatch::parse(c, a).map(XtMatch::Esp),
            Some("ah") => AhMatch::parse(c, a).map(XtMatch::Ah),
            Some("icmp" | "icmp6") => IcmpMatch::parse(c, a).map(XtMatch::Icmp),
            Some("connlimit") => XtConnlimit::parse(c, a).map(XtMatch::Connlimit),
            Some("helper") => XtHelper::parse(c, a).map(XtMatch::Helper),
            other => Err(format!(
                "unknown xt match `{}` (recent, string, u32, ipv6header, sctp, srh, physdev, bpf, hbh, dst, ipvs, policy, cluster, time, dccp, rt, mh, frag, esp, ah, icmp, icmp6, connlimit or helper)",
                other.unwrap_or("")
            )),
        }
    }

    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        match self {
            XtMatch::Recent(r) => r.check(c),
            XtMatch::String(s) => s.check(c),
            XtMatch::U32(u) => u.check(c),
            XtMatch::Ipv6Header(h) => h.check(c),
            XtMatch::Sctp(m) => m.check(c),
            XtMatch::Srh(m) => m.check(c),
            XtMatch::Physdev(m) => m.check(c),
            XtMatch::Bpf(m) => m.check(c),
            XtMatch::Opts(m) => m.check(c),
            XtMatch::Ipvs(m) => m.check(c),
            XtMatch::Policy(m) => m.check(c),
            XtMatch::Cluster(m) => m.check(c),
            XtMatch::Time(m) => m.check(c),
            XtMatch::Dccp(m) => m.check(c),
            XtMatch::Rt(m) => m.check(c),
            XtMatch::Mh(m) => m.check(c),
            XtMatch::Frag(m) => m.check(c),
            XtMatch::Esp(m) => m.check(c),
            XtMatch::Ah(m) => m.check(c),
            XtMatch::Icmp(m) => m.check(c),
            XtMatch::Connlimit(m) => m.check(c),
            XtMatch::Helper(m) => m.check(c),
        }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        match self {
            XtMatch::Recent(r) => r.eval(e),
            XtMatch::String(s) => s.eval(e),
            XtMatch::U32(u) => u.eval(e),
            XtMatch::Ipv6Header(h) => h.eval(e),
            XtMatch::Sctp(m) => m.eval(e),
            XtMatch::Srh(m) => m.eval(e),
            XtMatch::Physdev(m) => m.eval(e),
            XtMatch::Bpf(m) => m.eval(e),
            XtMatch::Opts(m) => m.eval(e),
            XtMatch::Ipvs(m) => m.eval(e),
            XtMatch::Policy(m) => m.eval(e),
            XtMatch::Cluster(m) => m.eval(e),
            XtMatch::Time(m) => m.eval(e),
            XtMatch::Dccp(m) => m.eval(e),
            XtMatch::Rt(m) => m.eval(e),
            XtMatch::Mh(m) => m.eval(e),
            XtMatch::Frag(m) => m.eval(e),
            XtMatch::Esp(m) => m.eval(e),
            XtMatch::Ah(m) => m.eval(e),
            XtMatch::Icmp(m) => m.eval(e),
            XtMatch::Connlimit(m) => m.eval(e),
            XtMatch::Helper(m) => m.eval(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::Expr;
    use crate::keys::Family;
    use crate::program::Program;
    use crate::text::asm::Asm;

    fn parse(line: &str) -> Result<Expr, String> {
        let mut p = Program::new();
        let t = p.add_table(Family::Ip, "t");
        Expr::parse_line(line, &mut Asm::new(&mut p, t, Family::Ip, false))
    }

    /// Every match and target ([`super::super::xt_target`]) prints as it parses; bad bytes,
    /// unknown names and modes are errors, never panics (a multi-byte character where hex
    /// digits belong included).
    #[test]
    fn the_text_form_round_trips_and_refuses_bad_input() {
        let lines = [
            "[ match name recent rev 1 list SSH update seconds 60 hitcount 3 rttl invert mask 0xffffff00000000000000000000000000 ]",
            "[ match name string rev 1 algo kmp from 20 to 80 pattern 0x474554 icase ]",
            "[ match name u32 rev 0 test 0>>22&0x3c@12>>26&0x3c@0=0x47455420:0x47455420 test 6&0xff=0x11:0x11 invert ]",
            "[ match name ipv6header rev 0 headers 0x42 invert 0xff soft ]",
            "[ match name sctp rev 0 sport 0-65535 dport 80-80 tests 0x06 invert 0x04 chunks all 0,3,64 flags 0:0x03/0x03 flags 3:0x00/0x01 ]",
            "[ match name sctp rev 0 sport 1-2 dport 0-65535 tests 0x01 invert 0x00 chunks any none ]",
            "[ match name srh rev 1 tests 0x0000 invert 0x0000 next-hdr 0 hdr-len 0 segs-left 0 last-entry 0 tag 0 ]",
            "[ match name srh rev 1 tests 0x3c45 invert 0x2801 next-hdr 17 hdr-len 4 segs-left 1 last-entry 2 tag 7 psid a::/ffff:ffff:ffff:ffff:: nsid b::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff lsid ::/:: ]",
            "[ match name physdev rev 0 tests 0x05 invert 0x04 in eth0 out - ]",
            "[ match name physdev rev 0 tests 0x1f invert 0x00 in br-port1 out veth2 ]",
            "[ match name bpf rev 1 program 48:0:0:9,21:0:1:6,6:0:0:1,6:0:0:0 ]",
            "[ match name hbh rev 0 len !16 opts 1:4,0:255,5:2 ]",
            "[ match name dst rev 0 opts 201:255 ]",
            "[ match name hbh rev 0 len 8 ]",
            "[ match name ipvs rev 1 tests 0x01 invert 0x01 proto 0 addr - mask - port 0 method 0 portctl 0 ]",
            "[ match name ipvs rev 1 tests 0x3e invert 0x10 proto 6 addr 1.2.3.4 mask 255.255.255.0 port 80 method 3 portctl 0 ]",
            "[ match name ipvs rev 1 tests 0x04 invert 0x04 proto 0 addr fd00::1 mask ffff:: port 0 method 0 portctl 21 ]",
            "[ match name policy rev 0 dir out pol none ]",
            "[ match name cluster rev 0 nodes 2 mask 0x00000002 seed 0xfeedcafe ]",
            "[ match name connlimit rev 1 above 2 mask 24 saddr ]",
            "[ match name connlimit rev 1 upto 0 mask 32 daddr ]",
            "[ match name cluster rev 0 nodes 32 mask 0x80000001 seed 0x00000000 invert ]",
            "[ match name time rev 0 date 0-2147483647 daytime 3723-14706 weekdays 0x86 monthdays 0x0000003e kerneltz ]",
            "[ match name dccp rev 0 sport 0-65535 dport 80-80 types 0x0003 option 255 tests 0x0e invert 0x08 ]",
            "[ match name rt rev 0 type 0 segsleft 1-23 len 42 tests 0x0f invert 0x06 ]",
            "[ match name mh rev 0 types 4-123 invert ]",
            "[ match name frag rev 0 ids 5-9 invert len 8 res first ]",
            "[ match name frag rev 0 ids 0-4294967295 more ]",
            "[ match name esp rev 0 spis 256-511 invert ]",
            "[ match name ah rev 0 spis 0-4294967295 len 16 invert res ]",
            "[ match name icmp rev 0 type 3 codes 1-1 invert ]",
            "[ match name icmp6 rev 0 type 128 codes 0-255 ]",
            "[ match name rt rev 0 type 0 segsleft 0-4294967295 len 0 tests 0x21 invert 0x00 addrs ::1,fd00::2 ]",
            "[ match name time rev 0 date 981173166-1347095165 daytime 82800-3600 weekdays 0xfe monthdays 0x80000002 contiguous ]",
            "[ match name policy rev 0 dir in pol ipsec strict elem tests 0x34 invert 0x04 src - mask - dst - mask - proto 108 mode 0 spi 0x1 reqid 1 elem tests 0x0b invert 0x01 src 10.0.0.0 mask 255.0.0.0 dst 10.0.0.1 mask 255.255.255.255 proto 0 mode 1 spi 0x0 reqid 0 ]",
            "[ target name CONNMARK rev 2 mode restore ctmark 0x00000000 ctmask 0x00003f00 nfmask 0x00003f00 shift left 0 ]",
            "[ target name CONNMARK rev 2 mode save ctmark 0x00000000 ctmask 0x0000ff00 nfmask 0x000000ff shift left 8 ]",
            "[ target name CONNMARK rev 2 mode set ctmark 0x00000010 ctmask 0x000000f0 nfmask 0x00000000 shift right 4 ]",
            "[ target name TTL rev 0 mode inc value 1 ]",
            "[ target name HL rev 0 mode dec value 3 ]",
            "[ target name TTL rev 0 mode set value 64 ]",
            "[ target name ECN rev 0 ece 0 cwr 0 ]",
            "[ target name ECN rev 0 ip-ect 2 cwr 1 ]",
            "[ target name HMARK rev 0 src-mask 0xffffff00 dst-mask 0x0 port-mask 0x0000ffff port-set 0x00070000 proto-mask 0xff rnd 0x00000004 mod 42 offset 1 ct ]",
            "[ target name CT rev 2 helper ftp ]",
            "[ target name CT rev 2 ]",
            "[ target name TCPMSS rev 0 mss 1400 ]",
            "[ target name TCPMSS rev 0 clamp-mss-to-pmtu ]",
        ];
        for l in lines {
            let e = parse(l).unwrap_or_else(|m| panic!("{l}: {m}"));
            assert_eq!(e.line(&Program::new()).trim(), l, "round trip");
        }
        for bad in [
            "[ match name string rev 1 algo bm from 0 to 9 pattern 0x€€ ]",
            "[ match name string rev 1 algo bm from 0 to 9 pattern 0x123 ]",
            "[ match name recent rev 1 list L set mask 0xffff ]",
            "[ match name u32 rev 0 test 0>>=1:2 ]",
            "[ match name u32 rev 0 test 0>>€=1:2 ]",
            "[ match name owner rev 1 ]",
            "[ match name connlimit rev 1 over 2 mask 24 saddr ]",
            "[ match name connlimit rev 1 upto 2 mask 24 both ]",
            "[ match name connlimit rev 1 upto 2 mask 300 saddr ]",
            "[ match name sctp rev 0 sport 0-65536 dport 0-1 tests 0x0 invert 0x0 chunks any none ]",
            "[ match name sctp rev 0 sport 0-1 dport 0-1 tests 0x0 invert 0x0 chunks some none ]",
            "[ match name sctp rev 0 sport 0-1 dport 0-1 tests 0x0 invert 0x0 chunks all 256 ]",
            "[ match name sctp rev 0 sport 0-1 dport 0-1 tests 0x0 invert 0x0 chunks all 1 flags 1:0x1 ]",
            "[ match name srh rev 1 tests 0x4000 invert 0x0000 next-hdr 0 hdr-len 0 segs-left 0 last-entry 0 tag 0 ]",
            "[ match name srh rev 1 tests 0x0001 invert 0x0000 next-hdr 256 hdr-len 0 segs-left 0 last-entry 0 tag 0 ]",
            "[ match name srh rev 1 tests 0x0800 invert 0x0000 next-hdr 0 hdr-len 0 segs-left 0 last-entry 0 tag 0 ]",
            "[ match name srh rev 1 tests 0x0800 invert 0x0000 next-hdr 0 hdr-len 0 segs-left 0 last-entry 0 tag 0 psid a::/64 ]",
            "[ match name physdev rev 0 tests 0x20 invert 0x00 in - out - ]",
            "[ match name physdev rev 0 tests 0x01 invert 0x00 in 0123456789abcdef out - ]",
            "[ match name physdev rev 0 tests 0x01 invert 0x00 in eth0 ]",
            "[ match name bpf rev 1 program 48:0:0 ]",
            "[ match name bpf rev 1 program 48:0:0:9:1 ]",
            "[ match name bpf rev 1 program 48:0:0:x ]",
            "[ match name hbh rev 0 opts 1 ]",
            "[ match name dst rev 0 len x ]",
            "[ match name hop rev 0 ]",
            "[ match name ipvs rev 1 tests 0x80 invert 0x00 proto 0 addr - mask - port 0 method 0 portctl 0 ]",
            "[ match name policy rev 0 dir sideways pol none ]",
            "[ match name cluster rev 0 nodes 2 mask 0x100000000 seed 0x0 ]",
            "[ match name cluster rev 0 nodes 2 mask 0x1 ]",
            "[ match name time rev 0 date 0-1 daytime 0-86400 weekdays 0xfe monthdays 0xfffffffe ]",
            "[ match name time rev 0 date 0 daytime 0-1 weekdays 0xfe monthdays 0xfffffffe ]",
            "[ match name dccp rev 0 sport 0-65535 dport 80-80 types 0x0003 option 256 tests 0x08 invert 0x00 ]",
            "[ match name dccp rev 0 sport 0-65535 dport 80-80 types 0x0003 option 1 tests 0x10 invert 0x00 ]",
            "[ match name rt rev 0 type 0 segsleft 1 len 0 tests 0x01 invert 0x00 ]",
            "[ match name mh rev 0 types 4-256 ]",
            "[ match name frag rev 0 ids 5 ]",
            "[ match name esp rev 0 spis 0-4294967296 ]",
            "[ match name ah rev 0 spis 1-2 len x ]",
            "[ match name icmp rev 0 type 256 codes 0-255 ]",
            "[ match name icmp4 rev 0 type 1 codes 0-255 ]",
            "[ match name rt rev 0 type 0 segsleft 0-1 len 0 tests 0x01 invert 0x00 addrs ::g ]",
            "[ match name policy rev 0 dir in pol ipsec elem tests 0x40 invert 0x00 src - mask - dst - mask - proto 0 mode 0 spi 0x0 reqid 0 ]",
            "[ match name policy rev 0 dir in pol ipsec elem tests 0x01 invert 0x00 src 1.2.3.4 mask ffff:: dst - mask - proto 0 mode 0 spi 0x0 reqid 0 ]",
            "[ match name policy rev 0 dir in pol ipsec elem tests 0x08 invert 0x00 src - mask - dst - mask - proto 0 mode 2 spi 0x0 reqid 0 ]",
            "[ match name ipvs rev 1 tests 0x01 invert 0x00 proto 256 addr - mask - port 0 method 0 portctl 0 ]",
            "[ match name ipvs rev 1 tests 0x04 invert 0x00 proto 0 addr 1.2.3.4 mask ffff:: port 0 method 0 portctl 0 ]",
            "[ match name ipvs rev 1 tests 0x04 invert 0x00 proto 0 addr 1.2.3.4 mask - port 0 method 0 portctl 0 ]",
            "[ match name ipvs rev 1 tests 0x08 invert 0x00 proto 0 addr - mask - port 65536 method 0 portctl 0 ]",
            "[ target name CONNMARK rev 2 mode keep ctmark 0x0 ctmask 0x0 nfmask 0x0 shift left 0 ]",
            "[ target name CONNMARK rev 2 mode save ctmark 0x0 ctmask 0x0 nfmask 0x0 shift up 0 ]",
            "[ target name TTL rev 0 mode inc value 256 ]",
            "[ target name TTL rev 0 mode twice value 1 ]",
            "[ target name SNPT rev 0 ]",
            "[ target name ECN rev 0 ip-ect 4 ]",
            "[ target name HMARK rev 0 src-mask 0xg dst-mask 0x0 port-mask 0x0 port-set 0x0 proto-mask 0x0 rnd 0x0 mod 1 offset 0 ]",
            "[ target name HMARK rev 0 src-mask 0x0 dst-mask 0x0 port-mask 0x0 port-set 0x0 proto-mask 0x10000 rnd 0x0 mod 1 offset 0 ]",
            "[ target name CT rev 2 helper 0123456789abcdefg ]",
            "[ target name TCPMSS rev 0 mss 65536 ]",
            "[ target name TCPMSS rev 0 ]",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }
}
