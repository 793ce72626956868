//! Unit tests for the tricky lowering decisions. The IR is built by hand (as the evaluator
//! would produce it, implicit dependencies included); the expected bytecode is nftables' own
//! (`tests-py/**/*.t.payload*`, read at test time from the shared peer data), so each test
//! checks a decision against what `nft` really generates.

use super::compile;
use crate::ir::build::{self as b, concat};
use crate::ir::{
    BinOp, Chain, ChainType, Expr, ExprKind, Family, Hook, MatchOp, Rule, Ruleset, SetElem, SetLit, Stmt,
    StmtKind, Table, Verdict, Write,
};
use crate::peer_data::tests_py_dir;
use crate::proto::Proto;
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::MetaKey;

/// The `[ … ]` lines and element lines nft generated for `rule` in a payload file.
fn expected(file: &str, rule: &str) -> (Vec<String>, Vec<String>) {
    let path = tests_py_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().skip_while(|l| l.strip_prefix("# ") != Some(rule));
    assert!(lines.next().is_some(), "{file}: no block for `{rule}`");
    let mut exprs = Vec::new();
    let mut elems = Vec::new();
    for l in lines.take_while(|l| !l.trim().is_empty()) {
        let t = l.trim();
        if t.starts_with('[') {
            exprs.push(t.to_string());
        } else if t.starts_with("element") {
            elems.push(sorted_elements(t));
        }
    }
    (exprs, elems)
}

fn sorted_elements(line: &str) -> String {
    let mut v: Vec<&str> = line.split('\t').map(str::trim).filter(|s| !s.is_empty()).collect();
    v.sort();
    v.join("\t")
}

/// Compile a one-rule ruleset and return its `[ … ]` and element lines.
fn lower(family: Family, stmts: Vec<Stmt>) -> (Vec<String>, Vec<String>) {
    let mut t = Table::new(family, "t");
    let mut c = Chain::base("c", ChainType::Filter, Hook::Input, 0);
    c.rules.push(Rule::new(stmts));
    t.chains.push(c);
    let mut rs = Ruleset::new();
    rs.tables.push(t);
    let out = compile(&rs).expect("compiles");
    let prog = nftvm_vm::verify(out.program).expect("verifies");
    let rule = &prog.chains[0].rules[0];
    let exprs = rule.exprs.iter().map(|e| e.line(&prog).trim().to_string()).collect();
    let elems = nftvm_vm::text::block::rule_anon_sets(&prog, rule)
        .into_iter()
        .filter_map(|s| prog.set(s))
        .filter(|s| !s.elements.is_empty())
        .map(|s| sorted_elements(&nftvm_vm::text::elements::elements_line(&prog, s)))
        .collect();
    (exprs, elems)
}

fn check(file: &str, rule: &str, family: Family, stmts: Vec<Stmt>) {
    let want = expected(file, rule);
    let got = lower(family, stmts);
    assert_eq!(got, want, "{file}: `{rule}`");
}

fn pl(proto: Proto, field: &str) -> Expr {
    b::payload(proto, field).expect("field")
}

fn num(e: &Expr, n: u128) -> Expr {
    e.number(n).expect("fits")
}

fn l4proto(n: u128) -> Stmt {
    let m = b::meta(MetaKey::L4proto);
    Stmt::eq(m.clone(), num(&m, n)).implicit()
}

fn nfproto(n: u128) -> Stmt {
    let m = b::meta(MetaKey::Nfproto);
    Stmt::eq(m.clone(), num(&m, n)).implicit()
}

#[test]
fn single_port_match_after_l4proto_guard() {
    let dport = pl(Proto::Tcp, "dport");
    check(
        "inet/tcp.t.payload",
        "tcp dport 22",
        Family::Inet,
        vec![l4proto(6), Stmt::eq(dport.clone(), num(&dport, 22))],
    );
}

#[test]
fn adjacent_ports_merge_into_one_load() {
    let (sport, dport) = (pl(Proto::Tcp, "sport"), pl(Proto::Tcp, "dport"));
    check(
        "inet/tcp.t.payload",
        "tcp sport 1024 tcp dport 22",
        Family::Inet,
        vec![
            l4proto(6),
            Stmt::eq(sport.clone(), num(&sport, 1024)),
            Stmt::eq(dport.clone(), num(&dport, 22)),
        ],
    );
}

#[test]
fn merging_skips_other_matches_but_keeps_their_order() {
    let (seq, sport, dport) = (pl(Proto::Tcp, "sequence"), pl(Proto::Tcp, "sport"), pl(Proto::Tcp, "dport"));
    let set = sport.set_of(vec![num(&sport, 1022), num(&sport, 1024)]);
    check(
        "inet/tcp.t.payload",
        "tcp sequence 0 tcp sport { 1024, 1022} tcp dport 22",
        Family::Inet,
        vec![
            l4proto(6),
            Stmt::eq(seq.clone(), num(&seq, 0)),
            Stmt::eq(sport, set),
            Stmt::eq(dport.clone(), num(&dport, 22)),
        ],
    );
}

#[test]
fn bit_field_is_masked_and_constant_shifted() {
    let dscp = pl(Proto::Ip, "dscp");
    check("ip/ip.t.payload", "ip dscp cs1", Family::Ip, vec![Stmt::eq(dscp.clone(), num(&dscp, 8))]);
    let dscp6 = pl(Proto::Ip6, "dscp");
    check(
        "ip6/ip6.t.payload.ip6",
        "ip6 dscp cs1",
        Family::Ip6,
        vec![Stmt::eq(dscp6.clone(), num(&dscp6, 8))],
    );
}

#[test]
fn bit_field_as_value_is_shifted_down() {
    let dscp6 = pl(Proto::Ip6, "dscp");
    let mark = b::meta(MetaKey::Mark);
    check(
        "inet/meta.t.payload",
        "meta mark set ip6 dscp",
        Family::Inet,
        vec![nfproto(10), Stmt::new(StmtKind::Write(Write { target: mark, value: dscp6 }))],
    );
}

#[test]
fn byte_aligned_prefix_loads_only_the_prefix() {
    let saddr = pl(Proto::Ip, "saddr");
    let v = b::addr("192.168.2.0").unwrap();
    let ExprKind::Value(v) = v.kind else { unreachable!() };
    check(
        "ip/ip.t.payload",
        "ip saddr 192.168.2.0/24",
        Family::Ip,
        vec![Stmt::eq(saddr.clone(), saddr.prefix(v, 24))],
    );
}

#[test]
fn host_order_range_is_converted_first() {
    let mark = b::ct(nftvm_vm::keys::CtKey::Mark, None, None).unwrap();
    let (lo, hi) = (
        Value::from_uint(32, ByteOrder::Host, 0x32).unwrap(),
        Value::from_uint(32, ByteOrder::Host, 0x45).unwrap(),
    );
    check(
        "any/ct.t.payload",
        "ct mark 0x00000032-0x00000045",
        Family::Ip,
        vec![Stmt::eq(mark.clone(), mark.range(lo, hi))],
    );
}

#[test]
fn interval_set_elements_have_end_markers() {
    let mark = b::ct(nftvm_vm::keys::CtKey::Mark, None, None).unwrap();
    let r = |a: u128, z: u128| {
        mark.range(
            Value::from_uint(32, ByteOrder::Host, a).unwrap(),
            Value::from_uint(32, ByteOrder::Host, z).unwrap(),
        )
    };
    let set = mark.set_of(vec![r(0x32, 0x2222), r(0x4444, 0x42de3)]);
    check("any/ct.t.payload", "ct mark {0x32-0x2222, 0x4444-0x42de3}", Family::Ip, vec![Stmt::eq(mark, set)]);
}

#[test]
fn flag_list_is_a_bitwise_test() {
    let flags = pl(Proto::Tcp, "flags");
    check(
        "inet/tcp.t.payload",
        "tcp flags cwr",
        Family::Inet,
        vec![l4proto(6), Stmt::matches(flags.clone(), MatchOp::Flags, num(&flags, 0x80))],
    );
    let masked = flags.clone().binary(BinOp::And, num(&flags, 0x17));
    check(
        "inet/tcp.t.payload",
        "tcp flags & (fin | syn | rst | ack) == syn",
        Family::Inet,
        vec![l4proto(6), Stmt::eq(masked, num(&flags, 0x02))],
    );
}

#[test]
fn inverted_lookup_and_verdict() {
    let dport = pl(Proto::Tcp, "dport");
    let set = dport.set_of([443, 23, 80].iter().map(|p| num(&dport, *p)).collect());
    check(
        "inet/tcp.t.payload",
        "tcp dport {telnet, http, https} accept",
        Family::Inet,
        vec![l4proto(6), Stmt::eq(dport.clone(), set.clone()), Stmt::verdict(Verdict::Accept)],
    );
    let set = dport.set_of([33, 55, 67, 88].iter().map(|p| num(&dport, *p)).collect());
    check(
        "inet/tcp.t.payload",
        "tcp dport != { 33, 55, 67, 88}",
        Family::Inet,
        vec![l4proto(6), Stmt::ne(dport, set)],
    );
}

#[test]
fn concatenation_uses_consecutive_32_bit_registers() {
    let (saddr, l4) = (pl(Proto::Ip, "saddr"), b::meta(MetaKey::L4proto));
    let ether = pl(Proto::Ether, "saddr");
    let key = concat(vec![saddr.clone(), ether.clone(), l4.clone()]);
    let mac = Value::from_bytes(48, ByteOrder::Network, &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]).unwrap();
    let elem = concat(vec![
        b::addr("1.2.3.4").unwrap(),
        Expr::new(ExprKind::Value(mac), Type::EtherAddr, 48, ByteOrder::Network),
        num(&l4, 6),
    ]);
    let lit = SetLit { elems: vec![SetElem::new(elem)], interval: false };
    let set = Expr::new(ExprKind::Set(Box::new(lit)), Type::Invalid, key.bits, ByteOrder::Network);
    let file = "inet/meta.t.payload";
    let rule = "ip saddr . ether saddr . meta l4proto { 1.2.3.4 . aa:bb:cc:dd:ee:ff . 6 }";
    let (want, _) = expected(file, rule);
    // The file's block is for an inet table: nfproto and the ether dependency come first.
    let (got, _) = lower(Family::Inet, vec![nfproto(2), Stmt::eq(key, set)]);
    assert_eq!(got[got.len() - 4..], want[want.len() - 4..]);
}

#[test]
fn payload_write_widens_to_sixteen_bits() {
    let ttl = pl(Proto::Ip, "ttl");
    let iif = b::meta(MetaKey::Iif);
    let rule = vec![
        Stmt::eq(iif.clone(), num(&iif, 1)),
        Stmt::new(StmtKind::Write(Write { target: ttl.clone(), value: num(&ttl, 23) })),
    ];
    check("ip/ip.t.payload", "iif \"lo\" ip ttl set 23", Family::Ip, rule);
    let dscp = pl(Proto::Ip, "dscp");
    let rule = vec![
        Stmt::eq(iif.clone(), num(&iif, 1)),
        Stmt::new(StmtKind::Write(Write { target: dscp.clone(), value: num(&dscp, 22) })),
    ];
    check("ip/ip.t.payload", "iif \"lo\" ip dscp set af23", Family::Ip, rule);
}

#[test]
fn string_prefix_compares_only_its_characters() {
    let name = b::meta(MetaKey::IifName);
    let v = Value::padded_string("dummy", 16).unwrap();
    check(
        "any/meta.t.payload",
        "meta iifname \"dummy*\"",
        Family::Ip,
        vec![Stmt::eq(name.clone(), name.prefix(v, 40))],
    );
}
