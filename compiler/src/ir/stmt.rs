//! Statements: what a rule does, left to right.

use super::expr::Expr;
use super::object::ObjectType;
use super::stateful::{ConnLimit, Counter, Last, Limit, Quota};
use super::{Family, Span};

/// One statement of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
    /// Inserted by the checker (protocol dependencies such as `meta l4proto 6` before
    /// `tcp dport`), or a user-written match nft's listing drops as redundant. Codegen
    /// emits implicit statements; printers skip them.
    pub implicit: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `left op right`: a failed match ends the rule.
    Match(Match),
    Verdict(Verdict),
    /// `key vmap { … }` / `key vmap @m`: the verdict a map lookup yields (an
    /// [`super::ExprKind::Map`] of type `Type::Verdict`). No match: the rule continues.
    VerdictMap(Expr),
    /// `counter` (anonymous; named counters are [`StmtKind::ObjRef`]).
    Counter(Counter),
    Limit(Limit),
    Quota(Quota),
    Last(Last),
    /// `ct count [over] N`.
    ConnLimit(ConnLimit),
    /// An iptables match nft has no expression for (`-m recent`, `-m string`), kept as the
    /// kernel's xt match: iptables-nft runs it so, nft lists it as `xt match "NAME"`.
    XtMatch(nftvm_vm::expr::xt::XtMatch),
    /// An iptables target nft has no statement for (`-j CONNMARK` merging masked bits,
    /// `-j TTL --ttl-inc`), kept as the kernel's xt target: nft lists it as
    /// `xt target "NAME"`.
    XtTarget(nftvm_vm::expr::xt_target::XtTarget),
    Log(Log),
    Reject(Reject),
    Nat(Nat),
    Queue(Queue),
    Notrack,
    /// `meta mark set 1`, `ct mark set meta mark`, `tcp dport set 80`, `tcp option … set …`.
    Write(Write),
    /// `add|update|delete @set { key [stmts] [: data] }`.
    DynSet(Box<DynSet>),
    /// `meter name [size N] { key stmt }`.
    Meter(Meter),
    /// References to named objects: `counter name "c"`, `quota name …`, `limit name …`,
    /// `ct helper set "ftp"`, `ct timeout set …`, `ct expectation set …`,
    /// `meta secmark set "s"`, `synproxy name …` (also through maps).
    ObjRef(ObjRef),
    /// `dup [to ADDR] [device DEV]`.
    Dup {
        addr: Option<Expr>,
        dev: Option<Expr>,
    },
    /// `fwd [ip|ip6 to ADDR] device DEV` / `fwd to DEV`.
    Fwd {
        family: Option<Family>,
        addr: Option<Expr>,
        dev: Expr,
    },
    Tproxy(Tproxy),
    Synproxy(Synproxy),
    /// `flow add @ft`.
    FlowOffload {
        flowtable: String,
    },
    /// `reset tcp option …` (strip an option): the [`super::ExprKind::Exthdr`] to strip.
    OptStrip(Expr),
    /// An iptables extension nft can only list (`xt match "foo"`), kept as its text.
    Xt(String),
}

// `DynSet` is boxed (264 bytes, rare): a statement takes 208 bytes, not 288 — the evaluated
// 10,000-rule ClassBench rulesets held 15 MB of statements. (`Match`, two expressions, is
// the floor.)
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Stmt>() <= 208);

/// Comparison operators of a match after normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `==` (also set membership when the right side is a set).
    Eq,
    /// `!=` (also "not in set").
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// Bitmask test `(left & right) != 0`: nft's implicit operator on flag types
    /// (`ct state established,related`, `tcp flags syn`).
    Flags,
    /// `(left & right) == 0`, written `ct status ! dnat`.
    NoFlags,
}

impl MatchOp {
    /// The symbol nft prints when the operator must be written.
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Eq => "==",
            MatchOp::Ne => "!=",
            MatchOp::Lt => "<",
            MatchOp::Gt => ">",
            MatchOp::Le => "<=",
            MatchOp::Ge => ">=",
            MatchOp::Flags => "",
            MatchOp::NoFlags => "!",
        }
    }
}

/// `left op right`.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// A load (`tcp dport`), a binary expression over one (`tcp flags & (syn | ack)`), a
    /// concatenation of loads, or a map lookup yielding a value.
    pub left: Expr,
    pub op: MatchOp,
    /// A constant (`Value`, `Prefix`, `Range`, `Concat`), an anonymous `Set` or a `SetRef`.
    pub right: Expr,
}

/// Verdicts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Drop,
    Continue,
    Return,
    /// `jump <chain>` (binding chains have generated names, see [`super::Chain::binding`]).
    Jump(String),
    Goto(String),
}

impl Verdict {
    /// The text nft prints.
    pub fn text(&self) -> String {
        match self {
            Verdict::Accept => "accept".into(),
            Verdict::Drop => "drop".into(),
            Verdict::Continue => "continue".into(),
            Verdict::Return => "return".into(),
            Verdict::Jump(c) => format!("jump {c}"),
            Verdict::Goto(c) => format!("goto {c}"),
        }
    }

    /// The chain a jump or goto targets.
    pub fn target(&self) -> Option<&str> {
        match self {
            Verdict::Jump(c) | Verdict::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// `log [prefix "…"] [group N] [snaplen N] [queue-threshold N] [level L] [flags …]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    pub prefix: Option<String>,
    pub group: Option<u16>,
    pub snaplen: Option<u32>,
    pub queue_threshold: Option<u16>,
    /// Syslog level 0 (emerg) … 7 (debug), 8 = audit; None = default (warn).
    pub level: Option<u32>,
    /// `NF_LOG_*` bits: 0x01 tcp sequence, 0x02 tcp options, 0x04 ip options, 0x08 skuid,
    /// 0x20 ether (mac decode); 0x2f = all.
    pub flags: u32,
}

/// Log flag bits (`NF_LOG_*`).
pub mod log_flags {
    pub const TCPSEQ: u32 = 0x01;
    pub const TCPOPT: u32 = 0x02;
    pub const IPOPT: u32 = 0x04;
    pub const UID: u32 = 0x08;
    pub const MACDECODE: u32 = 0x20;
    pub const ALL: u32 = 0x2f;
}

/// Syslog level names, by number.
pub const LOG_LEVELS: &[&str] =
    &["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit"];

/// `reject [with tcp reset | with icmp|icmpv6|icmpx <code>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    pub kind: RejectKind,
    /// The ICMP code (icmp, icmpv6 or icmpx numbering per `kind`); unused for TCP resets.
    pub code: u8,
    /// The code was written explicitly in a family where nft then lists it even when it is
    /// the default (`reject with icmp port-unreachable` in inet/bridge tables).
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// `NFT_REJECT_ICMP_UNREACH` for IPv4 packets.
    Icmp,
    /// `NFT_REJECT_ICMP_UNREACH` for IPv6 packets.
    Icmpv6,
    /// `NFT_REJECT_TCP_RST`.
    TcpReset,
    /// `NFT_REJECT_ICMPX_UNREACH` (family-independent codes).
    Icmpx,
}

/// `snat|dnat|masquerade|redirect …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Nat {
    pub kind: NatKind,
    /// Address family of the translation (`snat ip to …` in inet tables; ip/ip6 tables imply
    /// their own family).
    pub family: Option<Family>,
    /// Address (value, range, prefix, map lookup); for `dnat to ip daddr map { … : a . p }`
    /// a lookup yielding an address . port concatenation (see `concat`).
    pub addr: Option<Expr>,
    /// Port or port range (`:80`, `:1024-2048`), or a map lookup.
    pub port: Option<Expr>,
    pub random: bool,
    pub fully_random: bool,
    pub persistent: bool,
    /// `snat ip prefix to …` (NETMAP-style 1:1 prefix translation).
    pub prefix: bool,
    /// The address expression yields address and port together (a concatenation).
    pub concat: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

impl NatKind {
    pub fn name(self) -> &'static str {
        match self {
            NatKind::Snat => "snat",
            NatKind::Dnat => "dnat",
            NatKind::Masquerade => "masquerade",
            NatKind::Redirect => "redirect",
        }
    }
}

/// `queue [flags bypass,fanout] [to N | to N-M | to <expr>]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue {
    /// Queue number: a value, a range, or an expression (`numgen …`, a map).
    pub num: Option<Expr>,
    pub bypass: bool,
    pub fanout: bool,
}

/// `target set value`: writes a packet field or metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    /// A `Payload`, `Meta`, `Ct` or `Exthdr` expression.
    pub target: Expr,
    pub value: Expr,
}

/// Dynamic set update from the packet path.
#[derive(Clone, Debug, PartialEq)]
pub struct DynSet {
    pub op: DynSetOp,
    pub set: String,
    pub key: Expr,
    /// For maps: the data to store.
    pub data: Option<Expr>,
    /// Stateful statements attached to the new element (`limit rate 10/second`, `counter`).
    pub stmts: Vec<Stmt>,
    /// `timeout` of the new element, milliseconds.
    pub timeout: Option<u64>,
    /// `expires` of the new element, milliseconds.
    pub expires: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DynSetOp {
    Add,
    Update,
    Delete,
}

impl DynSetOp {
    pub fn name(self) -> &'static str {
        match self {
            DynSetOp::Add => "add",
            DynSetOp::Update => "update",
            DynSetOp::Delete => "delete",
        }
    }
}

/// `meter name [size N] { key stmt }` (a dynamic set named `name`).
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    pub name: String,
    pub size: u32,
    pub key: Expr,
    pub stmt: Box<Stmt>,
}

/// A reference to a named stateful object (or a map of them).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjRef {
    pub ty: ObjectType,
    /// A string constant (the object's name) or a map lookup yielding one.
    pub name: Expr,
}

/// `tproxy [ip|ip6] to [ADDR][:PORT]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tproxy {
    pub family: Option<Family>,
    pub addr: Option<Expr>,
    pub port: Option<Expr>,
}

/// `synproxy [mss N] [wscale N] [timestamp] [sack-perm]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Synproxy {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub timestamp: bool,
    pub sack_perm: bool,
}

impl Stmt {
    /// A user-visible statement.
    pub fn new(kind: StmtKind) -> Stmt {
        Stmt { kind, span: Span::default(), implicit: false }
    }

    /// The same statement with a source span.
    pub fn at(mut self, span: Span) -> Stmt {
        self.span = span;
        self
    }

    /// The match, if this is one.
    pub fn as_match(&self) -> Option<&Match> {
        match &self.kind {
            StmtKind::Match(m) => Some(m),
            _ => None,
        }
    }

    /// True for statements that end rule evaluation for the packet (verdicts, `reject`,
    /// `queue`, and `nat` in nat chains does not — it continues).
    pub fn is_terminal(&self) -> bool {
        matches!(self.kind, StmtKind::Verdict(_) | StmtKind::Reject(_) | StmtKind::Queue(_))
    }
}
