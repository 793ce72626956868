//! The canonical ruleset IR: the one representation of a ruleset that every stage after the
//! front ends uses — the nft and JSON printers, codegen to bytecode, `diff`, the optimizer.
//! Both front ends produce it: nft text through [`crate::eval`], iptables through
//! [`crate::iptables`] (which builds it programmatically with the helpers in [`build`]).
//!
//! # Shape
//!
//! ```text
//! Ruleset ─ tables: Vec<Table>             (family + name, in creation order)
//!   Table ─ chains / sets / objects / flowtables   (each in creation order)
//!     Chain ─ base: Option<BaseChain>      (type, hook, priority, policy, devices)
//!           ─ rules: Vec<Rule>
//!       Rule ─ stmts: Vec<Stmt>, comment, span
//!         Stmt ─ kind: StmtKind (Match, Verdict, Counter, Nat, Write, …), span, implicit
//!           Expr ─ kind: ExprKind, ty: Type, bits, order, span
//! ```
//!
//! # Invariants after checking ([`crate::check`])
//!
//! - **Every expression is typed**: [`Expr::ty`] is its nft datatype, [`Expr::bits`] its
//!   width and [`Expr::order`] the byte order its value has in a register. Constants are
//!   [`crate::types::Value`]s of exactly that width and order (a `tcp dport` constant is a
//!   16-bit network-order value; `meta mark` constants are 32-bit host order). Concatenations
//!   have `ty: Type::Invalid`, the sum of their members' padded widths as `bits` (see
//!   [`Expr::concat_bits`]), and their members carry the real types.
//! - **Payload expressions carry both identities**: the symbolic one (protocol + field, for
//!   printing) and the resolved location (base, bit offset from that base including stacked
//!   link-layer headers, bit length) for codegen. See [`Payload`].
//! - **Implicit dependencies are explicit statements**: before `tcp dport 22` in an `inet`
//!   table the checker inserts `meta l4proto 6` as a [`StmtKind::Match`] with
//!   [`Stmt::implicit`] set. Codegen emits every statement; printers skip implicit ones. A
//!   user-written match that nft's listing would drop as redundant (`ip protocol tcp` before
//!   `tcp dport 22`) is also flagged implicit — it stays in the bytecode, as in the kernel.
//!   Guards nft *does* list (`icmp type { echo-reply, echo-request }` before `icmp id`) are
//!   inserted as ordinary, non-implicit statements. In short: `implicit` means "not listed";
//!   it is recomputed by every check run ([`crate::check::hide`]), never set by hand.
//! - **Statement order is nft's**: runs of `payload == value` matches on adjacent whole-byte
//!   fields of one header sit together in field order where nft's `stmt_reduce` merges
//!   them ([`crate::check::merge`]), so codegen may merge them into one load exactly as nft
//!   does (`tcp sport 1024 tcp dport 22` → 4-byte load); `meta protocol ip` in an ip table
//!   is dropped unless it is last.
//! - **Matches are normalized** ([`Match`]): the right side is a constant, a prefix, a range,
//!   an anonymous set, a named-set reference or a concatenation of constants; bitmask tests
//!   use [`MatchOp::Flags`]/[`MatchOp::NoFlags`] (`ct state established,related`,
//!   `tcp flags ! syn`); `mark 1` reads `meta mark == 0x00000001`.
//! - **Anonymous sets live inline** ([`ExprKind::Set`]); named sets are referenced by name
//!   ([`ExprKind::SetRef`]) and declared in their table ([`Set`]). `jump { … }` anonymous
//!   chains are real chains with [`Chain::binding`] set, jumped to by name.
//! - **Binary expressions** (`ct mark and 0xff`, `ip dscp << 2 | 0x10`): `bits` is the
//!   width the operation works at (the assignment target's width for values, e.g. 32 for
//!   `ct mark set ip dscp << 2`); loads inside may be narrower (a 6-bit `ip dscp`) and are
//!   zero-extended; constants take the type of their left operand, shifts yield
//!   `Type::XInteger`. `x ^ c == v` and `x << n == v` are already folded into `x == v'`.
//! - **Byte order is the value's, not the operation's**: nft converts host-order loads
//!   (`meta mark`, `ct mark`) to big endian (`byteorder` expression) before `<`, `>`, ranges
//!   and interval-set lookups; codegen must do the same — the IR keeps `order: Host` on them.
//! - **Sets**: elements are kept as written (values, prefixes, ranges; concatenations of
//!   those). [`set::key_bounds`] gives each single-field key's `[low, high]`; anonymous
//!   interval sets and `auto-merge` sets are merged when listed (overlaps/adjacency), named
//!   interval sets refuse overlaps at insertion. Anonymous maps carry their data type on
//!   the [`ExprKind::Map`] expression (`ty`/`bits`/`order`), verdict maps have
//!   `ty: Type::Verdict` and use [`StmtKind::VerdictMap`].
//! - **Spans**: every table, chain, rule, statement and expression keeps the
//!   [`nftvm_grammar::Span`] it came from (`Span::default()` for programmatic IR), so traces
//!   and `diff` counterexamples can cite `file:line` through the load's `SourceMap`.
//!
//! # Modules
//!
//! [`ruleset`] (ruleset, tables), [`chain`] (chains, base chains, rules), [`stmt`]
//! (statements and their parameters), [`stateful`] (counter/limit/quota/last/ct count, shared
//! by rules, sets and objects), [`expr`] (expressions), [`load`] (what a packet or state
//! load reads: payload, exthdr, meta, ct, …), [`set`] (named and anonymous sets, elements),
//! [`object`] (stateful objects), [`flowtable`], [`build`] (terse constructors for
//! programmatic producers).

pub mod build;
pub mod chain;
pub mod expr;
pub mod flowtable;
pub mod load;
pub mod object;
pub mod ruleset;
pub mod set;
pub mod stateful;
pub mod stmt;

pub use chain::{BaseChain, Chain, ChainType, Policy, Rule};
pub use expr::{BinOp, Expr, ExprKind, MapLookup};
pub use flowtable::Flowtable;
pub use load::{Ct, Exthdr, Fib, Hash, Numgen, Payload};
pub use object::{CtExpect, CtHelper, CtTimeout, Object, ObjectKind, ObjectType};
pub use ruleset::{Ruleset, Table, TableFlags};
pub use set::{KeyField, Set, SetData, SetElem, SetFlags, SetKind, SetLit, SetPolicy};
pub use stateful::{ConnLimit, Counter, Last, Limit, LimitUnit, Quota};
pub use stmt::{
    DynSet, DynSetOp, Log, Match, MatchOp, Meter, Nat, NatKind, ObjRef, Queue, Reject, RejectKind, Stmt,
    StmtKind, Synproxy, Tproxy, Verdict, Write,
};

pub use nftvm_grammar::Span;
pub use nftvm_vm::keys::{CtDir, CtKey, Family, Hook, MetaKey, PayloadBase};
