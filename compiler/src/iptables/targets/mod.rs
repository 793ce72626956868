//! Target extensions (`-j NAME`): one module per target or small family of targets, gathered
//! in the [`Target`] enum, and the registry. The built-in verdicts (ACCEPT, DROP, RETURN,
//! QUEUE) and jumps to user chains are not extensions (see [`crate::iptables::rule::Action`]).

pub mod ct;
pub mod log;
pub mod mark;
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
    ExtDef { name: "MASQUERADE", family: None, new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Masquerade)) },
    ExtDef { name: "REDIRECT", family: None, new: |_| Target::Nat(nat::Nat::new(nat::NatKind::Redirect)) },
    ExtDef { name: "NETMAP", family: Some(Ipv4), new: |f| Target::Netmap(nat::Netmap::new(f)) },
    ExtDef { name: "NETMAP", family: Some(Ipv6), new: |f| Target::Netmap(nat::Netmap::new(f)) },
    ExtDef { name: "TCPMSS", family: None, new: |_| Target::Tcpmss(Default::default()) },
];

/// Look a target up by its `-j` name.
pub fn lookup(name: &str, family: Family) -> Option<&'static ExtDef<Target>> {
    find_def(TARGETS, name, family)
}
