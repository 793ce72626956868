//! Chains (regular and base chains) and the rules in them.

use super::stmt::Stmt;
use super::{Family, Hook, Span};

/// `chain <name> { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub name: String,
    /// Set for base chains (registered at a hook).
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
    pub comment: Option<String>,
    /// An anonymous chain created by `jump { … }`/`goto { … }` (the kernel's chain binding).
    /// Its name is generated (`__chain0`, …); printers inline it where it is jumped to and
    /// never list it on its own.
    pub binding: bool,
    pub span: Span,
    pub handle: u64,
}

/// How a base chain is registered: `type filter hook input device "lo" priority filter;
/// policy accept;` (`flags offload;`).
#[derive(Clone, Debug, PartialEq)]
pub struct BaseChain {
    pub chain_type: ChainType,
    pub hook: Hook,
    /// The numeric priority (`filter` is 0, `srcnat + 10` is 110; printers name it again).
    pub priority: i32,
    pub policy: Policy,
    /// `device "lo"` / `devices = { … }` (netdev and inet ingress/egress chains).
    pub devices: Vec<String>,
    /// `flags offload`.
    pub offload: bool,
    pub span: Span,
}

/// `type filter|nat|route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainType {
    Filter,
    Nat,
    Route,
}

impl ChainType {
    pub fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        }
    }

    pub fn from_name(name: &str) -> Option<ChainType> {
        match name {
            "filter" => Some(ChainType::Filter),
            "nat" => Some(ChainType::Nat),
            "route" => Some(ChainType::Route),
            _ => None,
        }
    }
}

/// A base chain's policy: the verdict for packets no rule decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    #[default]
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        }
    }
}

/// A rule: statements evaluated left to right; a failing match ends the rule (NFT_BREAK).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// All statements, implicit dependencies included (see [`Stmt::implicit`]).
    pub stmts: Vec<Stmt>,
    /// `comment "…"`.
    pub comment: Option<String>,
    /// The whole rule in the source (for `file:line` in traces and diagnostics).
    pub span: Span,
    pub handle: u64,
}

impl Chain {
    /// A regular (non-base) chain.
    pub fn new(name: impl Into<String>) -> Chain {
        Chain {
            name: name.into(),
            base: None,
            rules: Vec::new(),
            comment: None,
            binding: false,
            span: Span::default(),
            handle: 0,
        }
    }

    /// True for base chains.
    pub fn is_base(&self) -> bool {
        self.base.is_some()
    }
}

impl Rule {
    pub fn new(stmts: Vec<Stmt>) -> Rule {
        Rule { stmts, comment: None, span: Span::default(), handle: 0 }
    }

    /// The statements a listing shows (implicit ones left out).
    pub fn visible(&self) -> impl Iterator<Item = &Stmt> {
        self.stmts.iter().filter(|s| !s.implicit)
    }
}

/// nft's standard priorities (`NF_IP_PRI_*`), and the bridge family's.
const STD_PRIOS: &[(&str, i32)] =
    &[("raw", -300), ("mangle", -150), ("dstnat", -100), ("filter", 0), ("security", 50), ("srcnat", 100)];
const BRIDGE_PRIOS: &[(&str, i32)] = &[("dstnat", -300), ("filter", -200), ("out", 100), ("srcnat", 300)];

/// The standard priority names usable with a family and hook, with their values.
pub fn std_priorities(family: Family) -> &'static [(&'static str, i32)] {
    if family == Family::Bridge { BRIDGE_PRIOS } else { STD_PRIOS }
}

/// Whether a standard priority value may be named in this family and hook (nft's
/// `std_prio_family_hook_compat`).
pub fn std_prio_compat(prio: i32, family: Family, hook: Hook) -> bool {
    if family == Family::Bridge {
        return match prio {
            -300 => hook == Hook::Prerouting,
            -200 => true,
            100 => hook == Hook::Output,
            300 => hook == Hook::Postrouting,
            _ => false,
        };
    }
    let inet_like = matches!(family, Family::Inet | Family::Ip | Family::Ip6);
    match prio {
        0 => matches!(family, Family::Inet | Family::Ip | Family::Ip6 | Family::Arp | Family::Netdev),
        -300 | -150 | 50 => inet_like,
        -100 => inet_like && matches!(hook, Hook::Prerouting | Hook::Output),
        100 => inet_like && matches!(hook, Hook::Input | Hook::Postrouting),
        _ => false,
    }
}
