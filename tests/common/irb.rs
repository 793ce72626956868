//! Terse construction of checked-looking IR for tests that cannot go through the nft
//! evaluator: rules are lists of statements with the implicit dependencies nft would insert
//! (`tcp dport 22` is `meta l4proto 6` (implicit) + `tcp dport 22`). Every rule gets a span
//! whose start is a running rule number, so `loc` can print `A:7`.

use nftvm::compiler::ir::{
    self, BinOp, Chain, ChainType, Expr, ExprKind, Hook, MatchOp, Policy, Rule, Ruleset, Span, Stmt,
    StmtKind, Table, Verdict, Write, build as b,
};
use nftvm::compiler::proto::{Field, Proto};
use nftvm::compiler::types::{Type, Value};
use nftvm::grammar::span::FileId;
use nftvm::vm::keys::{CtKey, Family, MetaKey, PayloadBase};
use std::cell::Cell;

thread_local! {
    static NEXT: Cell<u32> = const { Cell::new(1) };
}

/// Restart rule numbering (each ruleset of a test numbers its rules from 1).
pub fn renumber() {
    NEXT.with(|n| n.set(1));
}

fn next_span() -> Span {
    NEXT.with(|n| {
        let v = n.get();
        n.set(v + 1);
        Span { file: FileId(0), start: v, end: v + 1 }
    })
}

/// Right-hand sides.
#[derive(Clone, Debug)]
pub enum R {
    /// A number.
    N(u128),
    /// Text parsed with the left side's type (`"10.0.0.1"`, `"ssh"`, `"established"`).
    T(&'static str),
    /// `ADDR/LEN`.
    P(&'static str, u32),
    /// `lo-hi` numbers.
    Rg(u128, u128),
    /// An anonymous set.
    S(Vec<R>),
}

fn rhs(left: &Expr, r: &R) -> Expr {
    match r {
        R::N(n) => left.number(*n).expect("number fits"),
        R::T(t) => left.parse(t).expect("parses"),
        R::P(a, len) => {
            let v = left.ty.parse(a).expect("address");
            left.prefix(v, *len)
        }
        R::Rg(lo, hi) => {
            let lo = Value::from_uint(left.bits, left.order, *lo).expect("lo");
            let hi = Value::from_uint(left.bits, left.order, *hi).expect("hi");
            left.range(lo, hi)
        }
        R::S(items) => left.set_of(items.iter().map(|i| rhs(left, i)).collect()),
    }
}

pub fn cmp(left: Expr, op: MatchOp, r: R) -> Stmt {
    let right = rhs(&left, &r);
    Stmt::matches(left, op, right)
}

pub fn l4(proto: u128) -> Stmt {
    cmp(b::meta(MetaKey::L4proto), MatchOp::Eq, R::N(proto)).implicit()
}

pub fn tcp(field: &str, op: MatchOp, r: R) -> Vec<Stmt> {
    vec![l4(6), cmp(b::payload(Proto::Tcp, field).expect("tcp field"), op, r)]
}

pub fn udp(field: &str, op: MatchOp, r: R) -> Vec<Stmt> {
    vec![l4(17), cmp(b::payload(Proto::Udp, field).expect("udp field"), op, r)]
}

/// A raw payload load `@base,offset,len`.
pub fn raw(base: PayloadBase, offset: u32, len: u32) -> Expr {
    let field = Field::new("", Type::Integer, offset, len);
    let p = ir::Payload { proto: None, field, base, offset, len, inner: None };
    Expr::new(ExprKind::Payload(p), Type::Integer, len, nftvm::compiler::types::ByteOrder::Network)
}

pub fn ip(field: &str, op: MatchOp, r: R) -> Vec<Stmt> {
    vec![cmp(b::payload(Proto::Ip, field).expect("ip field"), op, r)]
}

pub fn meta(key: MetaKey, op: MatchOp, r: R) -> Vec<Stmt> {
    vec![cmp(b::meta(key), op, r)]
}

/// `ct state a,b`: the flag bits of the listed states.
pub fn ct_state(text: &'static str) -> Vec<Stmt> {
    let e = b::ct(CtKey::State, None, None).expect("ct state");
    let bits = text
        .split(',')
        .map(|w| e.parse(w).expect("state").as_value().and_then(Value::to_u128).expect("bits"))
        .fold(0, |a, b| a | b);
    let v = e.number(bits).expect("fits");
    vec![Stmt::matches(e, MatchOp::Flags, v)]
}

pub fn masked(load: Expr, mask: u128, op: MatchOp, r: R) -> Vec<Stmt> {
    let m = load.number(mask).expect("mask");
    let left = load.binary(BinOp::And, m);
    vec![cmp(left, op, r)]
}

pub fn write(target: Expr, value: Expr) -> Vec<Stmt> {
    vec![Stmt::new(StmtKind::Write(Write { target, value }))]
}

pub fn mark_set(v: u128) -> Vec<Stmt> {
    let m = b::meta(MetaKey::Mark);
    let value = m.number(v).expect("mark");
    write(m, value)
}

pub fn verdict(v: Verdict) -> Vec<Stmt> {
    vec![Stmt::verdict(v)]
}

pub fn accept() -> Vec<Stmt> {
    verdict(Verdict::Accept)
}

pub fn drop() -> Vec<Stmt> {
    verdict(Verdict::Drop)
}

pub fn jump(c: &str) -> Vec<Stmt> {
    verdict(Verdict::Jump(c.into()))
}

pub fn goto(c: &str) -> Vec<Stmt> {
    verdict(Verdict::Goto(c.into()))
}

pub fn ret() -> Vec<Stmt> {
    verdict(Verdict::Return)
}

/// A rule from statement groups.
pub fn rule(parts: Vec<Vec<Stmt>>) -> Rule {
    let mut r = Rule::new(parts.into_iter().flatten().collect());
    r.span = next_span();
    r
}

pub fn base(name: &str, hook: Hook, prio: i32, policy: Policy, rules: Vec<Rule>) -> Chain {
    base_typed(name, ChainType::Filter, hook, prio, policy, rules)
}

pub fn base_typed(
    name: &str,
    ty: ChainType,
    hook: Hook,
    prio: i32,
    policy: Policy,
    rules: Vec<Rule>,
) -> Chain {
    let mut c = Chain::base(name, ty, hook, prio);
    if let Some(bc) = &mut c.base {
        bc.policy = policy;
    }
    c.span = next_span();
    c.rules = rules;
    c
}

pub fn chain(name: &str, rules: Vec<Rule>) -> Chain {
    let mut c = Chain::new(name);
    c.span = next_span();
    c.rules = rules;
    c
}

pub fn ruleset(family: Family, chains: Vec<Chain>) -> Ruleset {
    let mut t = Table::new(family, "t");
    t.chains = chains;
    let mut rs = Ruleset::new();
    rs.tables.push(t);
    rs
}

/// One input chain of an ip table with these rules.
pub fn input(policy: Policy, rules: Vec<Rule>) -> Ruleset {
    ruleset(Family::Ip, vec![base("input", Hook::Input, 0, policy, rules)])
}
