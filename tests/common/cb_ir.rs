//! ClassBench filters as IR, rule for rule what `nftvm::classbench::to_nft` renders once the
//! nft evaluator has checked it (`tcp dport` carries its implicit `meta l4proto tcp`; `th`
//! ports carry none). Used until `to_nft` text can go through the shared loader.

use nftvm::classbench::Filter;
use nftvm::compiler::ir::{
    BinOp, Chain, ChainType, Expr, ExprKind, Hook, Policy, Rule, Ruleset, Span, Stmt, StmtKind, Table,
    Verdict, Write, build as b,
};
use nftvm::compiler::proto::{Field, Proto};
use nftvm::compiler::types::{ByteOrder, Type, Value};
use nftvm::grammar::span::FileId;
use nftvm::vm::keys::{Family, MetaKey, PayloadBase};
use std::net::Ipv4Addr;

fn addr_match(field: &str, (a, len): (Ipv4Addr, u8)) -> Option<Stmt> {
    if len == 0 {
        return None;
    }
    let e = b::payload(Proto::Ip, field)?;
    let v = Value::from_uint(32, ByteOrder::Network, u128::from(u32::from(a))).ok()?;
    let right = if len == 32 { e.constant(v) } else { e.prefix(v, u32::from(len)) };
    Some(Stmt::eq(e, right))
}

fn port_match(e: Expr, (lo, hi): (u16, u16)) -> Option<Stmt> {
    if (lo, hi) == (0, 65535) {
        return None;
    }
    let right = if lo == hi {
        e.number(u128::from(lo)).ok()?
    } else {
        let l = Value::from_uint(16, ByteOrder::Network, u128::from(lo)).ok()?;
        let h = Value::from_uint(16, ByteOrder::Network, u128::from(hi)).ok()?;
        e.range(l, h)
    };
    Some(Stmt::eq(e, right))
}

fn raw(base: PayloadBase, offset: u32, len: u32) -> Expr {
    let field = Field::new("", Type::Integer, offset, len);
    let p = nftvm::compiler::ir::Payload { proto: None, field, base, offset, len, inner: None };
    Expr::new(ExprKind::Payload(p), Type::Integer, len, ByteOrder::Network)
}

/// The statements of filter `i` (0-based): matches, `meta mark set i+1`, `accept`.
pub fn rule_stmts(i: usize, f: &Filter) -> Vec<Stmt> {
    let mut s: Vec<Stmt> = Vec::new();
    s.extend(addr_match("saddr", f.src));
    s.extend(addr_match("daddr", f.dst));
    let has_ports = f.sport != (0, 65535) || f.dport != (0, 65535);
    let name = match f.proto {
        (6, 0xff) => Some(Proto::Tcp),
        (17, 0xff) => Some(Proto::Udp),
        _ => None,
    };
    let l4 = b::meta(MetaKey::L4proto);
    match (f.proto.1, name, has_ports) {
        (0, _, _) => {}
        (_, Some(p), true) => {
            let num = if p == Proto::Tcp { 6 } else { 17 };
            s.push(Stmt::eq(l4.clone(), l4.number(num).expect("proto")).implicit());
            s.extend(port_match(b::payload(p, "sport").expect("sport"), f.sport));
            s.extend(port_match(b::payload(p, "dport").expect("dport"), f.dport));
        }
        (0xff, _, false) => s.push(Stmt::eq(l4.clone(), l4.number(u128::from(f.proto.0)).expect("proto"))),
        (mask, _, _) => {
            let m = l4.number(u128::from(mask)).expect("mask");
            let v = l4.number(u128::from(f.proto.0 & mask)).expect("value");
            s.push(Stmt::eq(l4.clone().binary(BinOp::And, m), v));
            s.extend(port_match(b::payload(Proto::Th, "sport").expect("sport"), f.sport));
            s.extend(port_match(b::payload(Proto::Th, "dport").expect("dport"), f.dport));
        }
    }
    if f.flags.1 != 0 {
        let e = raw(PayloadBase::Transport, 96, 16);
        let m = e.number(u128::from(f.flags.1)).expect("mask");
        let v = e.number(u128::from(f.flags.0 & f.flags.1)).expect("value");
        s.push(Stmt::eq(e.binary(BinOp::And, m), v));
    }
    let mark = b::meta(MetaKey::Mark);
    let value = mark.number(i as u128 + 1).expect("mark");
    s.push(Stmt::new(StmtKind::Write(Write { target: mark, value })));
    s.push(Stmt::verdict(Verdict::Accept));
    s
}

/// The ruleset `to_nft` renders (table ip classbench, chain filter at prerouting), with rule
/// *i*'s span starting at *i* + 1 (its filter line).
pub fn to_ir(filters: &[Filter]) -> Ruleset {
    to_ir_numbered(filters.iter().enumerate().map(|(i, f)| (i, f.clone())).collect())
}

/// Like [`to_ir`] with explicit rule numbers (mark values and spans): for mutants whose
/// rules moved but keep their identity.
pub fn to_ir_numbered(filters: Vec<(usize, Filter)>) -> Ruleset {
    let mut chain = Chain::base("filter", ChainType::Filter, Hook::Prerouting, 0);
    if let Some(bc) = &mut chain.base {
        bc.policy = Policy::Accept;
    }
    for (i, f) in &filters {
        let mut r = Rule::new(rule_stmts(*i, f));
        r.span = Span { file: FileId(0), start: *i as u32 + 1, end: *i as u32 + 2 };
        chain.rules.push(r);
    }
    let mut t = Table::new(Family::Ip, "classbench");
    t.chains.push(chain);
    let mut rs = Ruleset::new();
    rs.tables.push(t);
    rs
}

/// Does filter `f` match the trace packet (as the rendered rule would)?
pub fn matches(f: &Filter, p: &nftvm::classbench::TracePacket) -> bool {
    let pfx = |(a, len): (Ipv4Addr, u8), x: Ipv4Addr| {
        let m = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
        u32::from(a) & m == u32::from(x) & m
    };
    let proto_ok = p.proto & f.proto.1 == f.proto.0 & f.proto.1;
    let ports_ok = f.proto.1 == 0
        || ((f.sport.0..=f.sport.1).contains(&p.sport) && (f.dport.0..=f.dport.1).contains(&p.dport));
    pfx(f.src, p.src) && pfx(f.dst, p.dst) && proto_ok && ports_ok && f.flags.1 == 0
}
