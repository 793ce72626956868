//! Target extensions (`-j NAME`): one module per target or small family of targets, gathered
//! in the [`Target`] enum, and the registry. The built-in verdicts (ACCEPT, DROP, RETURN,
//! QUEUE) and jumps to user chains are not extensions (see [`crate::iptables::rule::Action`]).

pub mod ct;
pub mod header;
pub mod log;
pub mod mark;
pub mod misc;
pub mod nat;
pub mod reject;
pub mod tcpmss;

use crate::iptables::Family;
use crate::iptables::ext::{ExtDef, ext_enum, find_def};

ext_enum! {
    /// A typed target.
    Target {
        Reject(reject::Reject),
        Log(log::Log),
        Nflog(log::Nflog),
        Mark(mark::MarkTarget),
        Connmark(mark::ConnmarkTarget),
        Ct(ct::Ct),
        Notrack(ct::Notrack),
        Nat(nat::Nat),
        Netmap(nat::Netmap),
        Tcpmss(tcpmss::Tcpmss),
        Ttl(header::TtlTarget),
        Dscp(header::DscpTarget),
        Tos(header::TosTarget),
        Ecn(header::EcnTarget),
        Classify(header::Classify),
        Tcpoptstrip(header::Tcpoptstrip),
        Checksum(header::Checksum),
        Audit(misc::Audit),
        Trace(misc::Trace),
        Secmark(misc::Secmark),
        Connsecmark(misc::Connsecmark),
        Nfqueue(misc::Nfqueue),
        Synproxy(misc::Synproxy),
        Tee(misc::Tee),
        Tproxy(misc::Tproxy),
        Idletimer(misc::Idletimer),
        Led(misc::Led),
        Rateest(misc::Rateest),
        Npt(misc::Npt),
        Set(misc::SetTarget),
        Hmark(misc::Hmark),
    }
}

use Family::{Ipv4, Ipv6};

/// Every target iptables knows here, by the name `-j` takes.
pub static TARGETS: &[ExtDef<Target>] = &[
    ExtDef { name: "REJECT", family: None, new: |f| Target::Reject(reject::Reject::new(f)) },
    ExtDef { name: "LOG", family: None, new: |_| Target::Log(Default::default()) },
    ExtDef { name: "NFLOG", family: None, new: |_| Target::Nflog(Default::default()) },
    ExtDef { name: "MARK", family: None, new: |_| Target::Mark(Default::default()) },
    ExtDef { name: "CONNMARK", family: None, new: |_| Target::Connmark(Default::default()) },
    ExtDef { name: "CT", family: None, new: |_| Target::Ct(Default::default()) },
    ExtDef { name: "NOTRACK", family: None, new: |_| Target::Notrack(Default::default()) },
    ExtDef { name: "SNAT", family: None, new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Snat)) },
    ExtDef { name: "DNAT", family: None, new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Dnat)) },
    ExtDef {
        name: "MASQUERADE",
        family: None,
        new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Masquerade)),
    },
    ExtDef { name: "REDIRECT", family: None, new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Redirect)) },
    ExtDef { name: "NETMAP", family: Some(Ipv4), new: |f| Target::Netmap(nat::Netmap::new(f)) },
    ExtDef { name: "NETMAP", family: Some(Ipv6), new: |f| Target::Netmap(nat::Netmap::new(f)) },
    ExtDef { name: "TCPMSS", family: None, new: |_| Target::Tcpmss(Default::default()) },
    ExtDef { name: "TTL", family: Some(Ipv4), new: |_| Target::Ttl(Default::default()) },
    ExtDef {
        name: "HL",
        family: Some(Ipv6),
        new: |_| Target::Ttl(header::TtlTarget { hl: true, ..Default::default() }),
    },
    ExtDef { name: "DSCP", family: None, new: |_| Target::Dscp(Default::default()) },
    ExtDef { name: "TOS", family: None, new: |_| Target::Tos(Default::default()) },
    ExtDef { name: "ECN", family: Some(Ipv4), new: |_| Target::Ecn(Default::default()) },
    ExtDef { name: "CLASSIFY", family: None, new: |_| Target::Classify(Default::default()) },
    ExtDef { name: "TCPOPTSTRIP", family: None, new: |_| Target::Tcpoptstrip(Default::default()) },
    ExtDef { name: "CHECKSUM", family: None, new: |_| Target::Checksum(Default::default()) },
    ExtDef { name: "AUDIT", family: None, new: |_| Target::Audit(Default::default()) },
    ExtDef { name: "TRACE", family: None, new: |_| Target::Trace(Default::default()) },
    ExtDef { name: "SECMARK", family: None, new: |_| Target::Secmark(Default::default()) },
    ExtDef { name: "CONNSECMARK", family: None, new: |_| Target::Connsecmark(Default::default()) },
    ExtDef { name: "NFQUEUE", family: None, new: |_| Target::Nfqueue(Default::default()) },
    ExtDef { name: "SYNPROXY", family: None, new: |_| Target::Synproxy(Default::default()) },
    ExtDef { name: "TEE", family: None, new: |f| Target::Tee(misc::Tee::new(f)) },
    ExtDef { name: "TPROXY", family: None, new: |f| Target::Tproxy(misc::Tproxy::new(f)) },
    ExtDef { name: "IDLETIMER", family: None, new: |_| Target::Idletimer(Default::default()) },
    ExtDef { name: "LED", family: None, new: |_| Target::Led(Default::default()) },
    ExtDef { name: "RATEEST", family: None, new: |_| Target::Rateest(Default::default()) },
    ExtDef {
        name: "DNPT",
        family: Some(Ipv6),
        new: |_| Target::Npt(misc::Npt { destination: true, src_pfx: None, dst_pfx: None }),
    },
    ExtDef {
        name: "SNPT",
        family: Some(Ipv6),
        new: |_| Target::Npt(misc::Npt { destination: false, src_pfx: None, dst_pfx: None }),
    },
    ExtDef { name: "SET", family: None, new: |_| Target::Set(Default::default()) },
    ExtDef { name: "HMARK", family: None, new: |_| Target::Hmark(Default::default()) },
];

/// Look a target up by its `-j` name.
pub fn lookup(name: &str, family: Family) -> Option<&'static ExtDef<Target>> {
    find_def(TARGETS, name, family)
}
