//! The optimizer's passes on small rulesets: what each must do and what it must leave alone
//! (a statement between two tests, stateful values, rules with their own side effects), each
//! result proven equivalent to its source by `diff`'s engine.

mod common;

use common::load;
use nftvm::compiler::diff;
use nftvm::compiler::ir::{Ruleset, StmtKind};
use nftvm::compiler::opt::{self, Explain, Level, NoteKind, Options};

/// One `ip` table with an input chain holding `rules`.
fn input(rules: &str) -> Ruleset {
    let text = format!(
        "table ip t {{\n\tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n{rules}\n\t}}\n}}\n"
    );
    load::nft("t.nft", &text).unwrap_or_else(|e| panic!("{e}\n{text}")).0
}

/// `-O1` of the rules: (rule count before, after, explain); the result must be equivalent.
fn o1(rules: &str) -> (usize, usize, Explain) {
    let rs = input(rules);
    let (out, explain) = opt::optimize_ruleset(&rs, &Options::level(Level::O1));
    let proven = diff::equivalent(&rs, &out).unwrap_or_else(|e| panic!("undecidable: {e}"));
    assert!(proven, "-O1 changed what packets get:\n{rules}\n{explain:?}");
    (rs.tables[0].chains[0].rules.len(), out.tables[0].chains[0].rules.len(), explain)
}

fn stmts(rules: &str) -> usize {
    let rs = input(rules);
    let (out, _) = opt::optimize_ruleset(&rs, &Options::level(Level::O1));
    out.tables[0].chains[0].rules.iter().map(|r| r.stmts.len()).sum()
}

#[test]
fn fold_drops_implied_and_repeated_tests() {
    let (_, _, e) = o1("\t\tip saddr 10.0.0.0/8 ip saddr 10.1.0.0/16 tcp dport 22 tcp dport 22 accept");
    assert_eq!(e.count(NoteKind::Folded), 2, "{e:?}");
}

#[test]
fn fold_keeps_tests_around_a_statement() {
    // The counter counts 10/8, not 10.1/16: the wider test stays.
    let rule = "\t\tip saddr 10.0.0.0/8 counter ip saddr 10.1.0.0/16 accept";
    let before = stmts(rule);
    let (_, after, e) = o1(rule);
    assert_eq!(after, 1);
    assert_eq!(e.count(NoteKind::Folded), 0, "{e:?}");
    assert_eq!(stmts(rule), before);
    // And a contradiction after a counter is no dead rule: the counter still counts.
    let (_, after, e) = o1("\t\tip saddr 10.0.0.1 counter ip saddr 10.0.0.2 accept");
    assert_eq!((after, e.count(NoteKind::Dead)), (1, 0), "{e:?}");
}

#[test]
fn fold_drops_contradictions() {
    let (_, after, e) = o1("\t\ttcp dport 22 tcp dport 80 accept\n\t\tudp dport 53 accept");
    assert_eq!((after, e.count(NoteKind::Dead)), (1, 1), "{e:?}");
}

#[test]
fn stateful_values_are_left_alone() {
    // Each rule draws its own number: merging or folding would change how often it matches.
    let rules = "\t\tnumgen inc mod 2 0 accept\n\t\tnumgen inc mod 2 1 accept";
    let rs = input(rules);
    let (out, e) = opt::optimize_ruleset(&rs, &Options::level(Level::O1));
    assert_eq!(out, rs, "{e:?}");
}

#[test]
fn dead_rules_go_shadowed_alone_or_together() {
    let (before, after, e) = o1(
        "\t\ttcp dport 80 accept\n\t\ttcp dport 80 counter drop\n\t\ttcp dport 1-100 drop\n\t\ttcp dport 50 accept\n\t\tudp dport 53 accept",
    );
    assert_eq!((before, after, e.count(NoteKind::Dead)), (5, 3, 2), "{e:?}");
    // 1-49 and 50-100 together shadow 40-60 (then the two become one verdict map).
    let (_, after, e) =
        o1("\t\ttcp dport 1-49 drop\n\t\ttcp dport 50-100 accept\n\t\ttcp dport 40-60 counter accept");
    assert_eq!((after, e.count(NoteKind::Dead), e.count(NoteKind::Merged)), (1, 1, 1), "{e:?}");
    assert!(e.notes.iter().any(|n| n.text.contains("together")), "{e:?}");
    // A rule that may change the packet ends the window: nothing after it is shadowed by
    // rules before it.
    let (_, after, _) = o1("\t\ttcp dport 80 accept\n\t\tmeta mark set 1\n\t\ttcp dport 80 drop");
    assert_eq!(after, 3);
    // A `ct` expression turns conntrack on for the family, reached or not: the rule stays.
    let (_, after, e) = o1("\t\ttcp dport 80 accept\n\t\ttcp dport 80 ct state new drop");
    assert_eq!((after, e.count(NoteKind::Dead)), (2, 0), "{e:?}");
}

#[test]
fn merge_builds_sets_concatenations_and_verdict_maps() {
    let (before, after, e) = o1("\t\ttcp dport 22 accept\n\t\ttcp dport 80 accept\n\t\ttcp dport 443 accept");
    assert_eq!((before, after, e.count(NoteKind::Merged)), (3, 1, 2), "{e:?}");
    let (_, after, _) =
        o1("\t\tip saddr 10.0.0.1 tcp dport 22 accept\n\t\tip saddr 10.0.0.2 tcp dport 80 accept");
    assert_eq!(after, 1);
    let (_, after, e) =
        o1("\t\tip saddr 10.0.0.1 drop\n\t\tip saddr 10.0.0.2 accept\n\t\tip saddr 10.0.0.3 drop");
    assert_eq!(after, 1, "{e:?}");
    assert!(e.notes.iter().any(|n| n.text.contains("verdict map")), "{e:?}");
    // A test the rules share after the differing ones still runs: the map goes last, where
    // the verdict was (a verdict mid-rule would end the rule before the test).
    let rules = "\t\tip saddr 10.1.2.0/24 meta mark 2 ct mark 6 drop\n\t\tip saddr 10.1.0.0/16 meta mark 1 ct mark 6 accept";
    let (_, after, e) = o1(rules);
    assert_eq!(after, 1, "{e:?}");
    let (out, _) = opt::optimize_ruleset(&input(rules), &Options::level(Level::O1));
    let merged = &out.tables[0].chains[0].rules[0].stmts;
    assert!(matches!(merged.last().map(|s| &s.kind), Some(StmtKind::VerdictMap(_))), "{merged:?}");
}

#[test]
fn merge_keeps_order_and_side_effects() {
    // Overlapping rules with different verdicts: a map would lose the order.
    let (_, after, _) = o1("\t\tip saddr 10.1.0.0/16 accept\n\t\tip saddr 10.0.0.0/8 drop");
    assert_eq!(after, 2);
    // Counters stay per rule.
    let (_, after, _) = o1("\t\ttcp dport 22 counter accept\n\t\ttcp dport 80 counter accept");
    assert_eq!(after, 2);
}

/// At `-O2` the rules of a run the classifier takes whole are not merged first: a verdict map
/// or set of intervals would be one rule it cannot take. A group too short for a classifier
/// is still merged.
#[test]
fn o2_leaves_classifiable_runs_to_the_classifier() {
    let long: String = (0..8)
        .map(|i| format!("\t\tip saddr 10.0.{i}.0/24 tcp dport {} {}\n", 22 + i, ["accept", "drop"][i % 2]))
        .collect();
    let (_, _, e) = o1(&long);
    assert_eq!(e.count(NoteKind::Merged), 7, "-O1 merges the run into a verdict map: {e:?}");
    let (program, _, e) = opt::compile_verified(&input(&long), &Options::level(Level::O2)).expect("compiles");
    assert_eq!(e.count(NoteKind::Merged), 0, "{e:?}");
    assert_eq!(program.program().classifiers.len(), 1);
    assert_eq!(program.program().classifiers[0].entries.len(), 8);
    let short = "\t\tip saddr 10.0.0.1 accept\n\t\tip saddr 10.0.0.2 drop";
    let (_, _, e) = opt::compile_verified(&input(short), &Options::level(Level::O2)).expect("compiles");
    assert_eq!(e.count(NoteKind::Merged), 1, "{e:?}");
}

/// Prefix tests of one address (`/8` loads a byte, `/16` two, `/32` four) read one 4-byte
/// field where every packet has a whole IP header (ip, ip6 and inet tables), the high bytes
/// of the address; a table that sees packets before the IP layer (netdev, or inet with an
/// ingress chain) gets a field per byte, since a truncated header may hold some of them.
#[test]
fn prefixes_share_the_address_field_where_the_ip_header_is_whole() {
    let rules: String = (0..8)
        .map(|i| {
            let src = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3"][i % 4];
            let dst = ["192.168.0.0/16", "192.0.0.0/8", "192.168.7.9", "192.168.1.0/24"][i % 4];
            format!("ip saddr {src} ip daddr {dst} tcp dport {} accept\n", 22 + i)
        })
        .collect();
    let ingress = "type filter hook ingress device \"lo\" priority 0; policy accept;";
    let fields = |family: &str, extra: &str, hook: &str| {
        let text = format!("table {family} t {{\n{extra}\tchain c {{\n\t\t{hook}\n{rules}\t}}\n}}\n");
        let rs = load::nft("t.nft", &text).unwrap_or_else(|e| panic!("{e}\n{text}")).0;
        let (program, _, _) = opt::compile_verified(&rs, &Options::level(Level::O2)).expect("compiles");
        let p = program.program();
        assert_eq!(p.classifiers.len(), 1, "{text}");
        p.classifiers[0].fields.iter().map(|f| f.width).collect::<Vec<u8>>()
    };
    let filter = "type filter hook input priority 0; policy accept;";
    // saddr, daddr (4 bytes each), tcp dport, meta l4proto.
    assert_eq!(fields("ip", "", filter), [4, 4, 2, 1]);
    assert_eq!(fields("inet", "", filter).iter().filter(|&&w| w == 4).count(), 2);
    for (family, extra, hook) in
        [("netdev", "", ingress), ("inet", &*format!("\tchain early {{\n\t\t{ingress}\n\t}}\n"), filter)]
    {
        let widths = fields(family, extra, hook);
        assert!(
            !widths.contains(&4) && widths.iter().filter(|&&w| w == 1).count() >= 4,
            "{family}: {widths:?}"
        );
    }
}
