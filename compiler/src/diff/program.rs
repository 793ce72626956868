//! The lowered form of one ruleset at one point (packet context + hook): the base chains in
//! the order the kernel runs them, the chains they reach, and each rule as a list of
//! [`Step`]s the symbolic executor understands.
//!
//! Lowering (`lower.rs`) fills the load-level parts (tests over storages); `build.rs` then
//! converts them to slot-level conditions once the universe is final, and computes each
//! rule's *guard* (the box its leading tests confine it to, used to skip rules that cannot
//! apply to a region) and *fingerprint* (a hash of what the rule does, used to recognise
//! identical remaining programs on both sides).

use super::cond::{BoxC, Cond};
use super::interval::Interval;
use super::storage::Point;
use super::test::Test;
use super::universe::Slot;
use crate::ir::{NatKind, Policy};
use nftvm_grammar::Span;
use nftvm_vm::keys::Family;

/// One ruleset at one point.
#[derive(Clone, Debug)]
pub struct Program {
    pub point: Point,
    pub chains: Vec<Chain>,
    /// Base chains in evaluation order.
    pub bases: Vec<Base>,
    /// Slots written anywhere in this program (tests on them cannot guard rules).
    pub written: Vec<Slot>,
    /// Slots the program reads or writes (what a counterexample shows).
    pub used: Vec<Slot>,
    /// When nat chains run: `ct state new,related` (set when the program has nat chains).
    pub nat_gate: Option<Cond>,
}

/// A base chain as registered at the hook.
#[derive(Clone, Debug)]
pub struct Base {
    pub chain: usize,
    pub policy: Policy,
    /// A nat chain: runs only for the first packet of a connection (ct state new or related)
    /// and only until one nat chain of the hook has translated the packet.
    pub nat: bool,
    /// `device …` bindings, as a test on the input interface name.
    pub devices: Option<TestStep>,
    pub fingerprint: u64,
}

/// A chain reached from the point's base chains.
#[derive(Clone, Debug)]
pub struct Chain {
    pub table: String,
    pub name: String,
    pub rules: Vec<Rule>,
    pub span: Span,
    pub fingerprint: u64,
    /// `suffix[i]`: hash of the fingerprints of rules `i..` (`suffix[len]` = empty).
    pub suffix: Vec<u64>,
    /// The guards in a flat layout for fast filtering: the slots any guard constrains, and
    /// per rule one hull interval per such slot (`hulls[rule * cols.len() + col]`).
    pub cols: Vec<Slot>,
    pub hulls: Vec<Interval>,
}

impl Chain {
    /// Can rule `rule`'s guard meet `region`, looking at the `dirty` slots only (all: None)?
    pub fn meets(&self, rule: usize, region: &[Interval], dirty: Option<&[Slot]>) -> bool {
        let k = self.cols.len();
        let hulls = &self.hulls[rule * k..rule * k + k];
        match dirty {
            None => self.cols.iter().zip(hulls).all(|(s, h)| h.intersects(&region[*s as usize])),
            Some(slots) => slots.iter().all(|s| match self.cols.iter().position(|c| c == s) {
                Some(j) => hulls[j].intersects(&region[*s as usize]),
                None => true,
            }),
        }
    }
}

/// Where a rule comes from in its ruleset (table, chain and rule indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    pub table: u32,
    pub chain: u32,
    pub rule: u32,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub steps: Vec<Step>,
    pub span: Span,
    pub id: RuleId,
    /// The box the rule's leading tests confine it to (None: not known / everything).
    pub guard: Option<BoxC>,
    /// A leading test can never hold: the rule never does anything.
    pub never: bool,
    pub fingerprint: u64,
    /// How the rule can end its chain's evaluation (filled by `build`).
    pub exit: RuleExit,
}

/// What a rule does to the rest of its chain, for recognising rules that can never run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleExit {
    /// It may fall through to the next rule (or ends the chain only for some packets).
    #[default]
    Maybe,
    /// Reached at its start it ends the chain for every packet (no test before a final
    /// verdict or NAT): the rules after it never run.
    Always,
    /// It may leave the frame to the caller (`return`, `goto`, a verdict map): what the
    /// caller does next matters even if a later rule is [`RuleExit::Always`].
    Leaves,
}

impl Rule {
    /// Classify the rule's steps (see [`RuleExit`]).
    pub fn classify_exit(&self) -> RuleExit {
        let leaves = |v: &VerdictStep| matches!(v, VerdictStep::Return | VerdictStep::Goto(_));
        let mut conditional = false;
        for step in &self.steps {
            match step {
                Step::Verdict(VerdictStep::FromTemp(_), _) => return RuleExit::Leaves,
                Step::Verdict(v, _) if leaves(v) => return RuleExit::Leaves,
                Step::Lookup(l)
                    if l.elems.iter().map(|e| &e.1).chain(l.default.iter()).any(
                        |d| matches!(d, Datum::Verdict(v) if leaves(v) || matches!(v, VerdictStep::FromTemp(_))),
                    ) =>
                {
                    return RuleExit::Leaves;
                }
                Step::Test(_) | Step::Limiter { .. } | Step::Lookup(_) => conditional = true,
                Step::Verdict(VerdictStep::Continue | VerdictStep::Jump(_), _) => {}
                Step::Verdict(..) | Step::Nat(..) if !conditional => return RuleExit::Always,
                _ => {}
            }
        }
        RuleExit::Maybe
    }
}

/// A test, before and after segmentation.
#[derive(Clone, Debug)]
pub struct TestStep {
    pub test: Test,
    /// Filled by `build`.
    pub cond: Cond,
    pub negate: bool,
    pub span: Span,
}

impl TestStep {
    /// `test` (inverted when `negate`) as lowered, its condition left for `build` to fill.
    pub fn new(test: Test, negate: bool, span: Span) -> TestStep {
        TestStep { test, cond: Cond::never(), negate, span }
    }
}

/// What a written slot receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValSpec {
    Const(u128),
    /// The current value of another (or the same) slot.
    Copy(Slot),
    /// Bits `at..at+len` of the `total`-bit number a lookup stored in a temporary.
    Temp {
        temp: u8,
        member: u8,
        total: u32,
        at: u32,
        len: u32,
    },
}

/// The value expression of a write, before segmentation.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueExpr {
    Const(u128),
    Load(super::operand::Load),
    And(Box<ValueExpr>, u128),
    Or(Box<ValueExpr>, u128),
    Xor(Box<ValueExpr>, u128),
    /// The value a map lookup stored.
    Temp(u8, u8),
}

#[derive(Clone, Debug)]
pub struct WriteStep {
    pub target: super::operand::Load,
    pub value: ValueExpr,
    /// A write to a header's field happens only where the header is (elsewhere the kernel
    /// does nothing and the rule goes on): the test that it is there.
    pub guard: Option<Box<TestStep>>,
    /// Filled by `build`: each target slot and what it receives.
    pub slots: Vec<(Slot, ValSpec)>,
    pub span: Span,
}

/// A verdict (or a terminal statement).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VerdictStep {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(usize),
    Goto(usize),
    Reject(RejectFate),
    Queue(QueueFate),
    /// `fwd`: the packet leaves through another device (NF_STOLEN).
    Stolen(String),
    /// The verdict a verdict map produced.
    FromTemp(u8),
}

/// `reject`, normalized for the packet context (icmpx codes become icmp/icmpv6 codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RejectFate {
    /// 0: tcp reset, 4: icmp, 6: icmpv6, 255: other family.
    pub with: u8,
    pub code: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueFate {
    pub num: Interval,
    pub bypass: bool,
    pub fanout: bool,
}

/// A value a lookup yields.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Datum {
    Verdict(VerdictStep),
    /// One interval per data member (points for plain values).
    Values(Vec<Interval>),
}

/// `key map|vmap { … }`: sets temporary `temp` to the datum of the element the key is in;
/// no element (and no `*`): the rule stops here.
#[derive(Clone, Debug)]
pub struct LookupStep {
    pub key: Vec<super::test::Member>,
    /// Element keys (value sets per member) and data.
    pub elems: Vec<(Vec<super::interval::IntervalSet>, Datum)>,
    pub default: Option<Datum>,
    pub temp: u8,
    /// Filled by `build`: each element's condition.
    pub conds: Vec<Cond>,
    pub span: Span,
}

/// A NAT argument: constant, or from a map lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatArg {
    Const(Interval),
    Temp { temp: u8, member: u8 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NatStep {
    pub kind: NatKind,
    pub family: Option<Family>,
    pub addr: Option<NatArg>,
    pub port: Option<NatArg>,
    /// random, fully-random, persistent, prefix (bits 0..4).
    pub flags: u8,
}

/// A side effect compared between the rulesets (besides verdicts and written fields).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// A NAT translation: kind, family, address range, port range, flags.
    Nat {
        kind: u8,
        family: u8,
        addr: Option<Interval>,
        port: Option<Interval>,
        flags: u8,
    },
    Notrack,
    /// `ct helper set "ftp"` and other object assignments: type and name.
    Object {
        ty: String,
        name: String,
    },
    /// `dup to …` / `flow add @ft` / `reset tcp option …` and the like, described.
    Other(String),
}

#[derive(Clone, Debug)]
pub enum Step {
    Test(TestStep),
    Write(WriteStep),
    /// A rate limiter / quota / connection limit: consults limiter `id` (free input slot),
    /// then tests it like a match.
    Limiter {
        id: u32,
        test: TestStep,
    },
    Lookup(LookupStep),
    Verdict(VerdictStep, Span),
    Nat(NatStep, Span),
    Effect(Effect),
    Unmodelled(UnmodelledStep),
}

/// A change to the packet the engine does not model (`-j TCPMSS` adding an MSS option, or
/// clamping to the route MTUs), made where `guard` holds: what happens to the packet from
/// there on is not known, so no leaf past it is compared (and no two states past it are
/// taken to go on the same way).
#[derive(Clone, Debug)]
pub struct UnmodelledStep {
    pub guard: TestStep,
    /// The change, as reported when it keeps equivalence from being decided.
    pub what: String,
    pub span: Span,
}

impl Step {
    /// True for steps after which the rule's remaining steps never run.
    pub fn is_terminal(&self) -> bool {
        match self {
            Step::Verdict(v, _) => !matches!(v, VerdictStep::Continue),
            Step::Nat(..) => true,
            _ => false,
        }
    }
}
