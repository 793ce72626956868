//! The nft syntax tree: what [`crate::nft::parse_str`] and [`crate::nft::load_file`] return.
//!
//! # What the grammar decides and what it leaves to the compiler
//!
//! The tree owns **structure**: files, commands, table/chain/set/map/flowtable/object
//! declarations, rules as lists of statements, keyword statements (`counter`, `log`, `snat`,
//! …) with their options, expression operators, sets, maps and verdicts. It does **not** know
//! nft's vocabulary: a selector such as `tcp dport`, `ct original ip saddr` or `iifname` and a
//! value such as `ssh` or `established` are all just [`Atom`]s, juxtaposed in a
//! [`ExprKind::Run`]. The compiler splits runs with its protocol tables:
//!
//! ```text
//! tcp dport ssh accept
//!   Stmt::Match { lhs: Run[tcp dport ssh] }, Stmt::Verdict(accept)
//! ct state established,related tcp dport != 22 drop
//!   Stmt::Match { lhs: Run[ct state List(established, related) tcp dport], op: !=, rhs: Run[22] }
//! ip saddr . tcp dport { 10.0.0.1 . 22 }
//!   Stmt::Match { lhs: Concat[Run[ip saddr], Run[tcp dport Set{…}]] }
//! meta mark set 1 tcp dport 22
//!   Stmt::Set { target: Run[meta mark], value: Run[1 tcp dport 22] }
//! ```
//!
//! Rules for reading a statement (what the evaluator must do):
//!
//! 1. **Values are single items.** In nft a value is one token (`22`, `ssh`, `"eth0"`,
//!    `10.0.0.0/8` as [`ItemKind::Mask`], `80-90` as [`ItemKind::Range`], `a,b` as
//!    [`ItemKind::List`], `{…}` as [`ItemKind::Set`], `@s` …). A selector is one or more words
//!    (and a few special items: [`ItemKind::Fib`], [`ItemKind::Hash`], [`ItemKind::Numgen`],
//!    raw payload atoms `@th,16,16`).
//! 2. **Runs absorb neighbouring matches.** Several matches written one after another form one
//!    run (`ip saddr 1.2.3.4 ip daddr 5.6.7.8` is one `Run` of six atoms): consume a selector
//!    from the protocol tables, then one value item, and repeat, emitting one match per pair.
//!    The *first* run of a statement may hold complete matches before the real left-hand side
//!    (`ip saddr 1.2.3.4 tcp dport != 22` has `lhs = Run[ip saddr 1.2.3.4 tcp dport]`); the
//!    *last* run of a statement may hold complete matches after the real value (`… set 1 tcp
//!    dport 22`). Binary operators and concatenations bind whole runs, so in
//!    `ct mark and 0xff 0x11` the right operand run `[0xff 0x11]` carries the implicit
//!    comparison value, and in `ip saddr . tcp dport 1.2.3.4 . 80` the second concat operand
//!    holds the end of the selector and the start of the value. Unknown words are not syntax
//!    errors here (`tcp dport 22 acept` is one run): the compiler reports them.
//!
//!    When a statement has a *second* operator (`tcp sport != 1 tcp dport != 2`,
//!    `@ih,58,6 set 0 @ih,86,6 set 1`, `tproxy to :80 meta mark set 1`), the parser already
//!    split it: the previous right-hand side keeps its first item of its last run as the value
//!    and the rest becomes the next statement's left-hand side (or `set` target), using rule 1.
//! 3. **Implicit relation.** A [`Relation`] without `op` compares whatever selector its runs
//!    start with to the value that follows it (`==`, or a flag test for bitmask types, a set
//!    lookup for sets, as nft's evaluator decides).
//! 4. `map`/`vmap` ([`ExprKind::Map`]): the data side is a run whose first item is the set
//!    (`{…}`) or the map reference (`@m`); items after it are following matches, as in rule 2.
//!
//! # Spans
//!
//! Every node has a [`Span`]. Atoms keep their own span; nodes produced by expanding a
//! `$variable` keep the spans of the `define` that wrote them (as nft reports them).
//!
//! # Expansion
//!
//! `define`/`redefine`/`undefine`, `$var` and `include` are resolved before the tree is handed
//! out: after a successful parse there are no [`AtomKind::Var`] atoms and no
//! [`Command::Include`]/[`Command::Define`] (or table/chain-level equivalents) left.

use crate::span::Span;

/// A whole file (with everything it includes spliced in, in order).
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub commands: Vec<Command>,
}

/// A name: table, chain, set, object or flowtable name, hook, type. `quoted` when it was
/// written as `"…"` (the quotes are not part of `name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

/// Address family of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Arp => "arp",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        }
    }
}

/// What a command names: `[family] table [name]`, or a handle instead of the last name.
///
/// - `table ip t` → table `t`, no name.
/// - `chain ip t c`, `set ip t s`, `counter ip t cnt` → table `t`, name `c`/`s`/`cnt`.
/// - `delete table ip handle 5` → no table, `handle: Some(5)`.
/// - `delete rule ip t c handle 5` → table `t`, name `c`, handle 5.
/// - `flush ruleset` uses no spec. A missing family means `ip`, as in nft.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub family: Option<Family>,
    pub table: Option<Ident>,
    pub name: Option<Ident>,
    pub handle: Option<Atom>,
    pub span: Span,
}

/// The command verb. `Block` is a declaration written without a verb at the top level
/// (`table ip t { … }`), which nft treats like `add`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Block,
    Add,
    Create,
    Insert,
    Replace,
    Delete,
    Destroy,
    Flush,
    Reset,
}

/// One top-level command or declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `flush ruleset [family]`.
    FlushRuleset { family: Option<Family>, span: Span },
    /// `table ip t { … }`, `add table ip t`, `delete table ip t`, `flush table ip t`.
    Table { verb: Verb, spec: Spec, body: Option<TableBody>, span: Span },
    /// `chain ip t c { … }`, `add chain ip t c { type … }`, `delete chain …`, `flush chain …`.
    Chain { verb: Verb, spec: Spec, body: Option<ChainBody>, span: Span },
    /// `rename chain ip t c newname`.
    RenameChain { spec: Spec, new_name: Ident, span: Span },
    /// `add|insert|replace|create rule ip t c [position N|handle N|index N] <rule>` and
    /// `delete rule ip t c handle N` (rule `None`).
    Rule { verb: Verb, spec: Spec, locator: Option<RuleLocator>, rule: Option<Rule>, span: Span },
    /// `add set ip t s { … }`, `add map …`, `delete set …`, `flush set …`.
    Set { verb: Verb, kind: SetKind, spec: Spec, body: Option<SetBody>, span: Span },
    /// `add|create|delete|destroy element ip t s { elem, … }`.
    Element { verb: Verb, spec: Spec, elements: Vec<SetElem>, span: Span },
    /// `add flowtable ip t f { … }`, `delete flowtable …`.
    Flowtable { verb: Verb, spec: Spec, body: Option<PropertyBlock>, span: Span },
    /// Stateful objects: `add counter ip t c`, `add quota ip t q 25 mbytes`,
    /// `add ct helper ip t h { type "ftp" protocol tcp; }`, `delete limit …`, …
    Object { verb: Verb, kind: ObjectKind, spec: Spec, body: Option<PropertyBlock>, span: Span },
    /// `include "file"` — expanded away before the tree is returned.
    Include { path: Atom, span: Span },
    /// `define`/`redefine`/`undefine` — expanded away before the tree is returned.
    Define(Define),
}

/// `define name = value`, `redefine name = value`, `undefine name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Define {
    pub kind: DefineKind,
    pub name: Ident,
    pub value: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefineKind {
    Define,
    Redefine,
    Undefine,
}

/// Where a rule command puts its rule: `position N` / `handle N` (after that rule, or before
/// it for `insert`), `index N`.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleLocator {
    Position(Atom),
    Handle(Atom),
    Index(Atom),
}

/// The body of a table block.
#[derive(Clone, Debug, PartialEq)]
pub struct TableBody {
    pub items: Vec<TableItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TableItem {
    Chain {
        name: Ident,
        body: ChainBody,
        span: Span,
    },
    Set {
        kind: SetKind,
        name: Ident,
        body: SetBody,
        span: Span,
    },
    Flowtable {
        name: Ident,
        body: PropertyBlock,
        span: Span,
    },
    Object {
        kind: ObjectKind,
        name: Ident,
        body: PropertyBlock,
        span: Span,
    },
    /// `flags dormant[, owner, persist]`.
    Flags {
        flags: Vec<Atom>,
        span: Span,
    },
    Comment {
        text: Atom,
        span: Span,
    },
    /// Expanded away before the tree is returned.
    Include {
        path: Atom,
        span: Span,
    },
    /// Expanded away before the tree is returned.
    Define(Define),
}

/// The body of a chain block (or of an anonymous chain `jump { … }`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainBody {
    pub items: Vec<ChainItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ChainItem {
    /// `type filter hook input [device "lo" | devices = {…}] priority filter + 10`.
    Hook(BaseChain),
    /// `policy accept` / `policy drop` / `policy $p` (the atom is a word after expansion).
    Policy {
        policy: Atom,
        span: Span,
    },
    /// `devices = { "eth0", "eth1" }` written as its own chain property.
    Devices {
        devices: Expr,
        span: Span,
    },
    Comment {
        text: Atom,
        span: Span,
    },
    /// `flags offload` and similar chain flags.
    Flags {
        flags: Vec<Atom>,
        span: Span,
    },
    Rule(Rule),
    /// Expanded away before the tree is returned.
    Include {
        path: Atom,
        span: Span,
    },
    /// Expanded away before the tree is returned.
    Define(Define),
}

/// Base-chain registration.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseChain {
    /// `filter`, `nat`, `route`.
    pub chain_type: Ident,
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, `ingress`, `egress`.
    pub hook: Ident,
    /// `device X` (one atom) or `devices = {…}` (a set or a variable's value).
    pub devices: Option<Expr>,
    pub priority: Option<Priority>,
    pub span: Span,
}

/// `priority N`, `priority -150`, `priority filter`, `priority mangle - 5`, `priority $p`.
#[derive(Clone, Debug, PartialEq)]
pub struct Priority {
    /// A leading `-` before a number (`priority -150`).
    pub negative: bool,
    /// A number or a named priority (`raw`, `mangle`, `dstnat`, `filter`, `security`,
    /// `srcnat`, `out`, …).
    pub base: Atom,
    /// `+ N` (`true`) or `- N` (`false`) after a named priority.
    pub offset: Option<(bool, Atom)>,
    pub span: Span,
}

/// `set` or `map` (a map is a set with data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    Set,
    Map,
}

/// The properties of a set or map declaration, in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct SetBody {
    pub props: Vec<SetProp>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetProp {
    /// `type ipv4_addr . inet_service [: verdict | : interval ipv4_addr]`.
    Type {
        key: Vec<TypeName>,
        data: Option<Vec<TypeName>>,
        span: Span,
    },
    /// `typeof ip saddr . tcp dport [: meta mark]` (expressions, split as usual).
    Typeof {
        key: Expr,
        data: Option<Expr>,
        span: Span,
    },
    /// `flags interval, timeout, dynamic, constant`.
    Flags {
        flags: Vec<Atom>,
        span: Span,
    },
    /// `elements = { … }` (a run holding one [`ItemKind::Set`] after expansion).
    Elements {
        elements: Expr,
        span: Span,
    },
    Size {
        size: Atom,
        span: Span,
    },
    Timeout {
        timeout: Atom,
        span: Span,
    },
    GcInterval {
        interval: Atom,
        span: Span,
    },
    /// `policy performance|memory`.
    Policy {
        policy: Atom,
        span: Span,
    },
    AutoMerge {
        span: Span,
    },
    Comment {
        text: Atom,
        span: Span,
    },
    /// Stateful statements every element gets: `counter`, `quota …`, `limit …`, `last`,
    /// `ct count over N` (several may share a line).
    Stmts(Vec<Stmt>),
    /// Expanded away before the tree is returned.
    Define(Define),
}

/// One component of a set `type`: usually one word (`ipv4_addr`), sometimes more
/// (`interval ipv4_addr`, `ct helper`, `counter`).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeName {
    pub words: Vec<Ident>,
    pub span: Span,
}

/// The kind of a stateful object: `counter`, `quota`, `limit`, `ct helper`, `ct timeout`,
/// `ct expectation`, `synproxy`, `secmark`, `tunnel`, … (one or two words).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectKind {
    pub words: Vec<Ident>,
    pub span: Span,
}

/// The body of an object or a flowtable: generic properties, because each object kind has its
/// own vocabulary (`type "ftp" protocol tcp`, `policy = { established : 2m }`, `mss 1460`,
/// `hook ingress priority 0`, `devices = { eth0 }`, nested `geneve { … }` blocks, …). A
/// one-line object (`add quota ip t q over 25 mbytes`) has one property.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyBlock {
    pub props: Vec<Property>,
    pub span: Span,
}

/// `words… [= value]` or `words… { nested }`, e.g. `type "ftp" protocol tcp`,
/// `policy = { established : 2m3s }`, `devices = { eth0 }`, `geneve { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub words: Vec<Atom>,
    pub value: Option<Expr>,
    pub block: Option<PropertyBlock>,
    pub span: Span,
}

/// A rule: statements in source order (a trailing `comment "…"` is a [`StmtKind::Comment`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// A match (see the module docs for how runs are read).
    Match(Relation),
    /// `target set value`: payload, meta, ct, exthdr … writes (`meta mark set 1`,
    /// `ct event set new,related`, `@th,16,16 set 0`).
    Set {
        target: Expr,
        value: Expr,
    },
    Verdict(Verdict),
    /// `counter`, `counter packets N bytes N` (either order), `counter name <expr>`.
    Counter {
        name: Option<Expr>,
        packets: Option<Atom>,
        bytes: Option<Atom>,
    },
    /// `limit rate [over] N/unit [burst N unit]`, `limit name <expr>`.
    Limit(Limit),
    /// `quota [over|until] N unit [used N unit]`, `quota name <expr>`.
    Quota(Quota),
    /// `log [prefix …] [level …] [group N] [snaplen N] [queue-threshold N] [flags …]`.
    Log(Vec<LogOption>),
    /// `reject [with <run>]` (`with icmp type host-unreachable`, `with tcp reset`, …).
    Reject {
        with: Option<Expr>,
    },
    Nat(Nat),
    /// `queue [flags a,b] [num N|to <expr>] [bypass] [fanout]`.
    Queue(Vec<QueueOption>),
    Notrack,
    /// `dup to <expr> [device <expr>]`.
    Dup {
        to: Expr,
        device: Option<Expr>,
    },
    /// `fwd [ip|ip6] to <expr> [device <expr>]`.
    Fwd {
        family: Option<Family>,
        to: Expr,
        device: Option<Expr>,
    },
    /// `tproxy [ip|ip6] to [addr][:port]`.
    Tproxy {
        family: Option<Family>,
        addr: Option<Expr>,
        port: Option<Expr>,
    },
    /// `synproxy [mss N] [wscale N] [timestamp] [sack-perm]` or `synproxy name <expr>`.
    Synproxy {
        name: Option<Expr>,
        options: Vec<(Ident, Option<Atom>)>,
    },
    /// `add|update|delete @set { elem }` (dynamic set updates from the packet path).
    DynSet {
        op: DynSetOp,
        set: Atom,
        elem: SetElem,
    },
    /// `comment "…"`.
    Comment(Atom),
    /// `last [used never|<time>]`.
    Last {
        used: Option<Atom>,
    },
    /// `reset tcp option …` (TCP option stripping): the run after `reset`.
    Reset(Expr),
    /// `xt match|target "name"` (listing-only in nft): the words.
    Xt(Vec<Atom>),
    /// `meter name [size N] { key stmt }`.
    Meter {
        name: Ident,
        size: Option<Atom>,
        elem: SetElem,
    },
    /// `ct count [over] N` in set declarations and elements (connlimit). In rules the same
    /// text is an ordinary match run.
    CtCount {
        over: bool,
        count: Atom,
    },
    /// `flow add|offload @flowtable`.
    FlowOffload {
        op: Atom,
        flowtable: Atom,
    },
}

/// `lhs [op rhs]`; with no operator the relation is implicit (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    pub lhs: Expr,
    pub op: Option<(RelOp, Span)>,
    pub rhs: Option<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `!` before a flag value (`ct status ! dnat`).
    Not,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum VerdictKind {
    Accept,
    Drop,
    Continue,
    Return,
    /// `jump c`, `jump $c` (an atom), or `jump { … }` (an anonymous chain).
    Jump(JumpTarget),
    Goto(JumpTarget),
}

#[derive(Clone, Debug, PartialEq)]
pub enum JumpTarget {
    Chain(Atom),
    Anonymous(ChainBody),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Limit {
    /// `rate [over] <amount> [bytes|kbytes|mbytes|gbytes] / <per>`: `10/second` has no
    /// `byte_unit`; `1 kbytes/second` has `byte_unit: kbytes`, `per: second`. `burst` is the
    /// amount and its unit (`packets` or a byte unit) when given.
    Rate {
        over: bool,
        amount: Atom,
        byte_unit: Option<Atom>,
        per: Atom,
        burst: Option<(Atom, Option<Atom>)>,
    },
    Named(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Quota {
    /// `mode` is `over`/`until` when given; `used` is `(amount, unit)`.
    Limit {
        mode: Option<Atom>,
        amount: Atom,
        unit: Option<Atom>,
        used: Option<(Atom, Option<Atom>)>,
    },
    Named(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LogOption {
    Prefix(Atom),
    Level(Atom),
    Group(Atom),
    Snaplen(Atom),
    QueueThreshold(Atom),
    /// `flags tcp sequence,options` → `[tcp, List(sequence, options)]` as a run.
    Flags(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Nat {
    pub kind: NatKind,
    /// `snat ip to …`, `dnat ip6 to …`.
    pub family: Option<Family>,
    /// Words between the family and `to`: `prefix` (`snat ip prefix to …`), `addr . port`.
    pub modifiers: Vec<Atom>,
    /// The address part of `to ADDR[:PORT]` (absent for `to :PORT`).
    pub addr: Option<Expr>,
    /// The port part after `:`.
    pub port: Option<Expr>,
    /// `random`, `persistent`, `fully-random` (comma separated or blank separated).
    pub flags: Vec<Atom>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QueueOption {
    Num(Expr),
    To(Expr),
    Flags(Vec<Atom>),
    Bypass(Span),
    Fanout(Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynSetOp {
    Add,
    Update,
    Delete,
}

/// One set element: `key [options] [: data [options]]`, e.g.
/// `10.0.0.1 timeout 30s expires 10s comment "x" : accept` or
/// `ip saddr limit rate 10/second` (dynamic set updates put statements in elements).
#[derive(Clone, Debug, PartialEq)]
pub struct SetElem {
    pub key: Expr,
    pub key_options: Vec<ElemOption>,
    pub data: Option<Expr>,
    pub data_options: Vec<ElemOption>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // Few per element; boxing would only add noise for readers.
pub enum ElemOption {
    Timeout(Atom),
    Expires(Atom),
    Comment(Atom),
    /// `counter …`, `quota …`, `limit …`, `last …`, `ct count …` on an element.
    Stmt(Stmt),
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Juxtaposed items: selector words, values, sets … (see the module docs).
    Run(Vec<Item>),
    /// `lhs & rhs`, `|`, `^`, `<<`, `>>` (also written `and or xor lshift rshift`).
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `a . b . c` (two or more operands).
    Concat(Vec<Expr>),
    /// `key map data` / `key vmap data`; `data` is a run that starts with the set or `@map`.
    Map { kind: MapKind, key: Box<Expr>, data: Box<Expr> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Map,
    Vmap,
}

/// One member of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Atom(Atom),
    /// `low-high` (`80-90`, `10.0.0.1-10.0.0.9`, `1m-1h`).
    Range(Box<Atom>, Box<Atom>),
    /// `a,b,c` outside braces (relational right-hand sides, `ct event set new,related`).
    List(Vec<Atom>),
    /// `lhs / rhs`: a prefix (`10.0.0.0/8`, one number on the right) or a flag mask
    /// (`syn / fin,syn,rst,ack`, `syn,ack / syn,ack`).
    Mask(Vec<Atom>, Vec<Atom>),
    /// `{ elem, … }` (anonymous set, map data, nested set).
    Set(Vec<SetElem>),
    /// `( expr )`, and the value of a `$variable` that is not a plain run.
    Group(Box<Expr>),
    /// A verdict used as a value (vmap data, `define v = accept`).
    Verdict(Box<Verdict>),
    /// `fib saddr . iif oif`.
    Fib(Box<FibItem>),
    /// `numgen inc|random mod N [offset N]`.
    Numgen(Box<NumgenItem>),
    /// `jhash <expr> mod N [seed N] [offset N]`, `symhash mod N [offset N]`.
    Hash(Box<HashItem>),
}

// The rare large items are boxed: a ruleset's words are mostly atoms, and an item takes 64
// bytes instead of 152 (a parsed 10,000-rule ClassBench file held 17 MB of items).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Item>() <= 64);

/// `fib saddr . iif oif`: flags (`saddr`, `iif`, …) and the result word (`oif`, `type`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct FibItem {
    pub flags: Vec<Atom>,
    pub result: Atom,
}

/// `numgen inc|random mod N [offset N]`.
#[derive(Clone, Debug, PartialEq)]
pub struct NumgenItem {
    pub mode: Atom,
    pub modulus: Atom,
    pub offset: Option<Atom>,
}

/// `jhash <expr> mod N [seed N] [offset N]`, `symhash mod N [offset N]`.
#[derive(Clone, Debug, PartialEq)]
pub struct HashItem {
    pub kind: HashKind,
    pub expr: Option<Box<Expr>>,
    pub modulus: Atom,
    pub seed: Option<Atom>,
    pub offset: Option<Atom>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Jhash,
    Symhash,
}

/// A single token with its lexical class and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atom {
    pub kind: AtomKind,
    /// The token text; for `Quoted`, `Var`, `SetRef` and `Ipv6` written in brackets the
    /// quotes, `$`, `@` and brackets are removed.
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomKind {
    /// An unquoted word, including keywords used as words (`tcp`, `dport`, `ssh`,
    /// `echo-request`, `kbytes/second`, `type`, `ip` …).
    Word,
    /// Decimal digits (nft reads a leading `0` as octal; see [`Atom::number`]).
    Number,
    /// `0x…`.
    Hex,
    /// `"…"` (text without the quotes).
    Quoted,
    Ipv4,
    /// Plain or bracketed (`[dead::beef]`) IPv6 address.
    Ipv6,
    /// `00:11:22:33:44:55` (1–2 hex digits per group).
    Mac,
    /// `hex:hex` (`1:2`, tc class ids).
    Classid,
    /// `30s`, `1h2m3s`, `2d`, `100ms`.
    Time,
    /// `eth*` (interface wildcard).
    Wildcard,
    /// `*` alone (catch-all set element).
    Asterisk,
    /// `$name` (never left after expansion).
    Var,
    /// `@name`: a named set, map or flowtable reference.
    SetRef,
    /// `@base,offset,length` raw payload (`@th,16,16`, `@ih,58,6`); text without the `@`.
    RawPayload,
}

impl Atom {
    /// The value of a `Number` or `Hex` atom as nft's scanner computes it (a leading `0` means
    /// octal); `None` for other kinds, on overflow, or for invalid octal digits.
    pub fn number(&self) -> Option<u64> {
        match self.kind {
            AtomKind::Hex => u64::from_str_radix(self.text.get(2..)?, 16).ok(),
            AtomKind::Number if self.text.len() > 1 && self.text.starts_with('0') => {
                u64::from_str_radix(&self.text[1..], 8).ok()
            }
            AtomKind::Number => self.text.parse().ok(),
            _ => None,
        }
    }
}

impl Expr {
    /// Nesting depth of the expression tree (the parser refuses trees deeper than
    /// [`crate::nft::MAX_DEPTH`]).
    pub fn depth(&self) -> usize {
        match &self.kind {
            ExprKind::Run(items) => 1 + items.iter().map(Item::depth).max().unwrap_or(0),
            ExprKind::Binary { lhs, rhs, .. } => 1 + lhs.depth().max(rhs.depth()),
            ExprKind::Concat(parts) => 1 + parts.iter().map(Expr::depth).max().unwrap_or(0),
            ExprKind::Map { key, data, .. } => 1 + key.depth().max(data.depth()),
        }
    }

    /// The items when this expression is a plain run.
    pub fn as_run(&self) -> Option<&[Item]> {
        match &self.kind {
            ExprKind::Run(items) => Some(items),
            _ => None,
        }
    }
}

impl Item {
    fn depth(&self) -> usize {
        match &self.kind {
            ItemKind::Set(elems) => {
                1 + elems
                    .iter()
                    .map(|e| e.key.depth().max(e.data.as_ref().map_or(0, Expr::depth)))
                    .max()
                    .unwrap_or(0)
            }
            ItemKind::Group(e) => 1 + e.depth(),
            ItemKind::Hash(h) => h.expr.as_ref().map_or(1, |e| 1 + e.depth()),
            _ => 1,
        }
    }
}
