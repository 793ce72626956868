//! The equivalence engine on small rulesets: reorderings that are and are not equivalent,
//! shadowing, jumps against inlined rules, sets against rule lists, prefix/range/mask forms,
//! policies, several base chains, marks set then matched. Every "different" answer is replayed
//! through the reference evaluator (`common::refeval`), which must see different fates too.

mod common;

use MatchOp::*;
use R::*;
use common::irb::*;
use common::refeval;
use nftvm::compiler::diff::{self, Options, Report, Side};
use nftvm::compiler::ir::{ChainType, Hook, MatchOp, Policy, Ruleset, Span, Verdict};
use nftvm::vm::keys::{Family, MetaKey, PayloadBase};

fn loc(side: Side, span: Span) -> String {
    format!("{}:{}", if side == Side::A { "A" } else { "B" }, span.start)
}

fn run(a: &Ruleset, b: &Ruleset) -> Report {
    let report = diff::diff(a, b, &Options { max: 5 }).unwrap_or_else(|e| panic!("undecidable: {e}"));
    // Every counterexample must really get different fates.
    for c in &report.counterexamples {
        let fa = refeval::fate(a, c);
        let fb = refeval::fate(b, c);
        assert_ne!(fa, fb, "counterexample does not replay:\n{}", diff::report::render_text(&report, &loc));
    }
    report
}

fn equivalent(a: &Ruleset, b: &Ruleset) {
    let r = run(a, b);
    assert!(r.equivalent(), "expected equivalent, got:\n{}", diff::report::render_text(&r, &loc));
    let r = run(b, a);
    assert!(r.equivalent(), "expected equivalent (swapped), got:\n{}", diff::report::render_text(&r, &loc));
}

fn different(a: &Ruleset, b: &Ruleset) -> Report {
    let r = run(a, b);
    assert!(!r.equivalent(), "expected a difference");
    assert!(!run(b, a).equivalent(), "expected a difference (swapped)");
    r
}

fn rs(policy: Policy, rules: Vec<nftvm::compiler::ir::Rule>) -> Ruleset {
    renumber();
    input(policy, rules)
}

#[test]
fn identical_rulesets_are_equivalent() {
    let mk = || rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, N(22)), accept()])]);
    equivalent(&mk(), &mk());
}

#[test]
fn disjoint_rules_can_be_reordered() {
    let a = rs(
        Policy::Accept,
        vec![rule(vec![tcp("dport", Eq, N(22)), accept()]), rule(vec![tcp("dport", Eq, N(80)), drop()])],
    );
    let b = rs(
        Policy::Accept,
        vec![rule(vec![tcp("dport", Eq, N(80)), drop()]), rule(vec![tcp("dport", Eq, N(22)), accept()])],
    );
    equivalent(&a, &b);
}

#[test]
fn overlapping_rules_cannot_be_reordered() {
    let a = rs(
        Policy::Accept,
        vec![
            rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), drop()]),
            rule(vec![tcp("dport", Eq, N(22)), accept()]),
        ],
    );
    let b = rs(
        Policy::Accept,
        vec![
            rule(vec![tcp("dport", Eq, N(22)), accept()]),
            rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), drop()]),
        ],
    );
    let r = different(&a, &b);
    let c = &r.counterexamples[0];
    let text = diff::report::render_text(&r, &loc);
    assert!(text.contains("ip saddr 10."), "{text}");
    assert!(c.fields.iter().any(|f| f.name == "tcp dport" && f.text == "22"), "{text}");
}

#[test]
fn shadowed_rules_do_not_matter() {
    let a = rs(
        Policy::Accept,
        vec![rule(vec![tcp("dport", Eq, N(22)), accept()]), rule(vec![tcp("dport", Eq, N(22)), drop()])],
    );
    let b = rs(Policy::Accept, vec![rule(vec![tcp("dport", Eq, N(22)), accept()])]);
    equivalent(&a, &b);
    let dead = diff::explain(&a, Side::A).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].span.start, 2);
    match &dead[0].reason {
        diff::DeadReason::Shadowed(by) => assert_eq!(by[0].span.start, 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn jumps_equal_inlined_rules() {
    renumber();
    let a = ruleset(
        Family::Ip,
        vec![
            base(
                "input",
                Hook::Input,
                0,
                Policy::Drop,
                vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), jump("lan")])],
            ),
            chain(
                "lan",
                vec![
                    rule(vec![tcp("dport", Eq, N(22)), accept()]),
                    rule(vec![tcp("dport", Eq, N(23)), ret()]),
                    rule(vec![udp("dport", Eq, N(53)), accept()]),
                ],
            ),
        ],
    );
    let b = rs(
        Policy::Drop,
        vec![
            rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), tcp("dport", Eq, N(22)), accept()]),
            rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), udp("dport", Eq, N(53)), accept()]),
        ],
    );
    equivalent(&a, &b);
    // goto: a return in the target returns to the base chain's caller (the policy).
    renumber();
    let c = ruleset(
        Family::Ip,
        vec![
            base(
                "input",
                Hook::Input,
                0,
                Policy::Drop,
                vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), goto("lan")]), rule(vec![accept()])],
            ),
            chain("lan", vec![rule(vec![tcp("dport", Eq, N(22)), accept()])]),
        ],
    );
    let d = rs(
        Policy::Drop,
        vec![
            rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), tcp("dport", Eq, N(22)), accept()]),
            rule(vec![ip("saddr", Ne, P("10.0.0.0", 8)), accept()]),
        ],
    );
    equivalent(&c, &d);
}

#[test]
fn sets_equal_rule_lists() {
    let a = rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, S(vec![N(22), N(80), N(443)])), accept()])]);
    let b = rs(
        Policy::Drop,
        vec![
            rule(vec![tcp("dport", Eq, N(443)), accept()]),
            rule(vec![tcp("dport", Eq, N(22)), accept()]),
            rule(vec![tcp("dport", Eq, N(80)), accept()]),
        ],
    );
    equivalent(&a, &b);
    let c = rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, S(vec![N(22), N(80)])), accept()])]);
    different(&a, &c);
}

#[test]
fn prefix_range_and_mask_forms_agree() {
    let pfx = rs(Policy::Accept, vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), drop()])]);
    let range = rs(Policy::Accept, vec![rule(vec![ip("saddr", Eq, Rg(0x0a00_0000, 0x0aff_ffff)), drop()])]);
    renumber();
    let saddr = nftvm::compiler::ir::build::payload(nftvm::compiler::proto::Proto::Ip, "saddr").unwrap();
    let mask = input(Policy::Accept, vec![rule(vec![masked(saddr, 0xff00_0000, Eq, T("10.0.0.0")), drop()])]);
    equivalent(&pfx, &range);
    equivalent(&pfx, &mask);
    let wider = rs(Policy::Accept, vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 7)), drop()])]);
    different(&pfx, &wider);
}

#[test]
fn raw_and_named_port_loads_are_one_dimension() {
    let named = rs(Policy::Accept, vec![rule(vec![tcp("dport", Eq, N(22)), drop()])]);
    let raw_with_proto = rs(
        Policy::Accept,
        vec![rule(vec![vec![l4(6)], vec![cmp(raw(PayloadBase::Transport, 16, 16), Eq, N(22))], drop()])],
    );
    equivalent(&named, &raw_with_proto);
    // Without the protocol test, UDP port 22 is dropped too.
    let raw_any = rs(
        Policy::Accept,
        vec![rule(vec![vec![cmp(raw(PayloadBase::Transport, 16, 16), Eq, N(22))], drop()])],
    );
    different(&named, &raw_any);
    // One 32-bit load of both ports against two 16-bit loads.
    let merged = rs(
        Policy::Accept,
        vec![rule(vec![
            vec![l4(6)],
            vec![cmp(raw(PayloadBase::Transport, 0, 32), Eq, N(0x0050_0016))],
            drop(),
        ])],
    );
    let split =
        rs(Policy::Accept, vec![rule(vec![tcp("sport", Eq, N(80)), tcp("dport", Eq, N(22)), drop()])]);
    equivalent(&merged, &split);
}

#[test]
fn policies_and_catch_all_rules() {
    let a = rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, N(22)), accept()])]);
    let b = rs(Policy::Accept, vec![rule(vec![tcp("dport", Eq, N(22)), accept()]), rule(vec![drop()])]);
    equivalent(&a, &b);
    let c = rs(Policy::Accept, vec![rule(vec![tcp("dport", Eq, N(22)), accept()])]);
    different(&a, &c);
}

#[test]
fn accept_ends_only_its_base_chain() {
    renumber();
    let two = ruleset(
        Family::Ip,
        vec![
            base(
                "first",
                Hook::Input,
                0,
                Policy::Accept,
                vec![rule(vec![tcp("dport", Eq, N(22)), accept()])],
            ),
            base(
                "second",
                Hook::Input,
                10,
                Policy::Accept,
                vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), drop()])],
            ),
        ],
    );
    let one = rs(Policy::Accept, vec![rule(vec![ip("saddr", Eq, P("10.0.0.0", 8)), drop()])]);
    equivalent(&two, &one);
    // Priority decides the order, not the listing order.
    renumber();
    let reversed = ruleset(
        Family::Ip,
        vec![
            base("second", Hook::Input, 10, Policy::Drop, vec![]),
            base(
                "first",
                Hook::Input,
                -10,
                Policy::Accept,
                vec![rule(vec![tcp("dport", Eq, N(22)), drop()])],
            ),
        ],
    );
    let all_dropped = rs(Policy::Drop, vec![]);
    equivalent(&reversed, &all_dropped);
}

#[test]
fn marks_set_then_matched() {
    let a = rs(
        Policy::Drop,
        vec![
            rule(vec![tcp("dport", Eq, N(22)), mark_set(7)]),
            rule(vec![meta(MetaKey::Mark, Eq, N(7)), tcp("dport", Eq, N(22)), accept()]),
        ],
    );
    let b = rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, N(22)), mark_set(7), accept()])]);
    equivalent(&a, &b);
    // Packets that arrive with mark 7 are accepted by C only.
    let c = rs(
        Policy::Drop,
        vec![
            rule(vec![meta(MetaKey::Mark, Eq, N(7)), accept()]),
            rule(vec![tcp("dport", Eq, N(22)), mark_set(7), accept()]),
        ],
    );
    different(&b, &c);
    // Same verdict, different mark.
    let d = rs(Policy::Drop, vec![rule(vec![tcp("dport", Eq, N(22)), mark_set(8), accept()])]);
    let r = different(&b, &d);
    assert!(r.counterexamples[0].what.contains("mark"), "{}", r.counterexamples[0].what);
}

#[test]
fn ct_state_flags_and_sets() {
    let a = rs(Policy::Drop, vec![rule(vec![ct_state("established,related"), accept()])]);
    renumber();
    let e = nftvm::compiler::ir::build::ct(nftvm::vm::keys::CtKey::State, None, None).unwrap();
    let b = input(
        Policy::Drop,
        vec![rule(vec![vec![cmp(e, Eq, S(vec![T("established"), T("related")]))], accept()])],
    );
    equivalent(&a, &b);
    let c = rs(Policy::Drop, vec![rule(vec![ct_state("established"), accept()])]);
    let r = different(&a, &c);
    assert!(r.counterexamples[0].fields.iter().any(|f| f.name == "ct state" && f.text == "related"));
}

#[test]
fn negation_equals_complement_ranges() {
    let a = rs(Policy::Accept, vec![rule(vec![tcp("dport", Ne, N(22)), drop()])]);
    let b = rs(
        Policy::Accept,
        vec![
            rule(vec![tcp("dport", Eq, Rg(0, 21)), drop()]),
            rule(vec![tcp("dport", Eq, Rg(23, 65535)), drop()]),
        ],
    );
    equivalent(&a, &b);
}

#[test]
fn tcp_flag_masks() {
    let flags = || nftvm::compiler::ir::build::payload(nftvm::compiler::proto::Proto::Tcp, "flags").unwrap();
    renumber();
    let a = input(Policy::Accept, vec![rule(vec![vec![l4(6)], masked(flags(), 0x12, Eq, N(0x02)), drop()])]);
    renumber();
    let b = input(
        Policy::Accept,
        vec![rule(vec![
            vec![l4(6)],
            vec![cmp(flags(), Flags, N(0x02))],
            vec![cmp(flags(), NoFlags, N(0x10))],
            drop(),
        ])],
    );
    equivalent(&a, &b);
    renumber();
    let c = input(Policy::Accept, vec![rule(vec![vec![l4(6)], vec![cmp(flags(), Flags, N(0x02))], drop()])]);
    different(&a, &c);
}

#[test]
fn transport_matches_fail_on_fragments() {
    let proto = rs(Policy::Accept, vec![rule(vec![vec![l4(6)], drop()])]);
    let ports = rs(Policy::Accept, vec![rule(vec![tcp("dport", Eq, Rg(0, 65535)), drop()])]);
    let r = different(&proto, &ports);
    assert!(r.counterexamples[0].fields.iter().any(|f| f.name == "ip frag-off" && f.value & 0x1fff != 0));
}

#[test]
fn ip_protocol_is_meta_l4proto_in_ip_tables() {
    let a = rs(Policy::Accept, vec![rule(vec![ip("protocol", Eq, N(17)), drop()])]);
    let b = rs(Policy::Accept, vec![rule(vec![meta(MetaKey::L4proto, Eq, N(17)), drop()])]);
    equivalent(&a, &b);
}

#[test]
fn nat_chains_compare_translations() {
    use nftvm::compiler::ir::{Nat, NatKind, Stmt, StmtKind};
    let snat = |addr: &str| {
        let e = nftvm::compiler::ir::build::addr(addr).unwrap();
        vec![Stmt::new(StmtKind::Nat(Nat {
            kind: NatKind::Snat,
            family: None,
            addr: Some(e),
            port: None,
            random: false,
            fully_random: false,
            persistent: false,
            prefix: false,
            concat: false,
        }))]
    };
    let mk = |addr: &'static str| {
        renumber();
        ruleset(
            Family::Ip,
            vec![base_typed(
                "post",
                ChainType::Nat,
                Hook::Postrouting,
                100,
                Policy::Accept,
                vec![rule(vec![meta(MetaKey::OifName, Eq, T("eth0")), snat(addr)])],
            )],
        )
    };
    equivalent(&mk("192.0.2.1"), &mk("192.0.2.1"));
    let r = different(&mk("192.0.2.1"), &mk("192.0.2.2"));
    // Only first packets of connections are translated.
    assert!(
        r.counterexamples[0]
            .fields
            .iter()
            .any(|f| f.name == "ct state" && (f.text == "new" || f.text == "related"))
    );
    let _ = Verdict::Accept;
}
