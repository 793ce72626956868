//! Diagnostics of the evaluator and checker, rendered exactly. Every expected text below
//! is what the real `nft -f` (1.0.6, kernel 6.x, in a throwaway network namespace) printed
//! for the same input; nftvm reports the same errors in source order.

use crate::ir::Ruleset;
use nftvm_grammar::{SourceMap, diag::render_all};

/// Evaluate `text` as file `name`; the rendered diagnostics (empty when it loads).
fn check(name: &str, text: &str) -> String {
    let mut sm = SourceMap::new();
    match nftvm_grammar::nft::parse_str(&mut sm, name, text) {
        Err(d) => render_all(&d, &sm),
        Ok(file) => match super::load(&file) {
            Ok(_) => String::new(),
            Err(d) => render_all(&d, &sm),
        },
    }
}

#[test]
fn several_errors_in_one_file_with_nft_wording() {
    let text = "\
table ip t {
	chain c {
		type filter hook input priority 0;
		tcp dport 70000 accept
		ip saddr 1.2.3.4 ct state foo drop
	}
	chain d {
		type filter hook inptu priority 0;
	}
}
";
    assert_eq!(
        check("/tmp/e1.nft", text),
        "\
/tmp/e1.nft:4:13-17: Error: Service out of range
		tcp dport 70000 accept
		          ^^^^^
/tmp/e1.nft:5:29-31: Error: Could not parse conntrack state
		ip saddr 1.2.3.4 ct state foo drop
		                          ^^^
/tmp/e1.nft:8:20-24: Error: unknown chain hook
		type filter hook inptu priority 0;
		                 ^^^^^
"
    );
}

#[test]
fn family_compatibility_and_value_ranges() {
    let text = "\
table ip t {
	chain c {
		type filter hook input priority 0;
		ct reply ip daddr dead::beef
		ip hdrlength 22
	}
}
";
    assert_eq!(
        check("/tmp/e2.nft", text),
        "\
/tmp/e2.nft:4:21-30: Error: Could not resolve hostname: Address family for hostname not supported
		ct reply ip daddr dead::beef
		                  ^^^^^^^^^^
/tmp/e2.nft:5:16-17: Error: Value 22 exceeds valid range 0-15
		ip hdrlength 22
		             ^^
"
    );
}

#[test]
fn types_sets_terminal_statements_and_reject() {
    let text = "\
table inet t {
	set s { type ipv4_addr; elements = { 1.2.3.4 } }
	chain c {
		type filter hook input priority filter; policy drop;
		ip6 saddr @s accept
		tcp dport 22 accept counter
		ip saddr @nope drop
		meta l4proto udp reject with tcp reset
		iifname \"eth0\" ct status ! dnat,snat
	}
}
";
    assert_eq!(
        check("/tmp/e3.nft", text),
        "\
/tmp/e3.nft:5:13-14: Error: datatype mismatch, expected IPv6 address, expression has type IPv4 address
		ip6 saddr @s accept
		~~~~~~~~~ ^^
/tmp/e3.nft:6:23-29: Error: Statement after terminal statement has no effect
		tcp dport 22 accept counter
		             ~~~~~~ ^^^^^^^
/tmp/e3.nft:7:12-16: Error: No such file or directory
		ip saddr @nope drop
		         ^^^^^
/tmp/e3.nft:8:20-25: Error: you cannot use tcp reset with this protocol
		meta l4proto udp reject with tcp reset
		~~~~~~~~~~~~~~~~ ^^^^^^
"
    );
}

#[test]
fn kernel_checks_nat_hooks_and_jumps_to_base_chains() {
    // What the kernel refuses when the table is committed: masquerade in a filter chain,
    // dnat reachable from postrouting (reported at the dnat and at the jump), a jump to a
    // base chain (at its name).
    let text = "\
table ip t {
	chain in {
		type filter hook input priority 0;
		masquerade
	}
	chain n {
		type nat hook postrouting priority 100;
		jump x
	}
	chain x {
		dnat to 1.2.3.4
		jump in
	}
}
";
    assert_eq!(
        check("/tmp/e6.nft", text),
        "\
/tmp/e6.nft:4:3-12: Error: Could not process rule: Operation not supported
		masquerade
		^^^^^^^^^^
/tmp/e6.nft:8:3-8: Error: Could not process rule: Operation not supported
		jump x
		^^^^^^
/tmp/e6.nft:11:3-17: Error: Could not process rule: Operation not supported
		dnat to 1.2.3.4
		^^^^^^^^^^^^^^^
/tmp/e6.nft:12:8-9: Error: Could not process rule: Operation not supported
		jump in
		     ^^
"
    );
}

#[test]
fn osf_is_refused_outside_ipv4_tables_and_its_three_hooks() {
    // Linux 6.18's `nft_osf_validate`: ip and inet tables, prerouting/input/forward only —
    // also in a chain that an output chain jumps to.
    let text = "\
table ip6 six {
	chain in {
		type filter hook input priority 0;
		osf name \"Linux\" accept
	}
}
table inet both {
	chain forward_in {
		type filter hook forward priority 0;
		osf name \"Linux\" accept
	}
	chain out {
		type filter hook output priority 0;
		jump fp
	}
	chain fp {
		osf name \"unknown\" drop
	}
}
";
    let got = check("/tmp/osf.nft", text);
    assert!(
        got.contains("/tmp/osf.nft:4:3-10: Error: Could not process rule: Operation not supported"),
        "{got}"
    );
    assert!(
        got.contains("/tmp/osf.nft:17:3-10: Error: Could not process rule: Operation not supported"),
        "{got}"
    );
    assert!(!got.contains(":10:"), "osf in an inet forward chain is allowed: {got}");
}

#[test]
fn jump_loops_only_count_when_reachable_from_a_base_chain() {
    let unreachable = "table ip t {\n\tchain a {\n\t\tjump b\n\t}\n\tchain b {\n\t\tjump a\n\t}\n}\n";
    assert_eq!(check("/tmp/e4.nft", unreachable), "");
    let reachable = "\
table ip t {
	chain in {
		type filter hook input priority 0;
		jump a
	}
	chain a {
		jump b
	}
	chain b {
		jump a
	}
}
";
    assert_eq!(
        check("/tmp/e5.nft", reachable),
        "\
/tmp/e5.nft:10:3-8: Error: Could not process rule: Too many links
		jump a
		^^^^^^
"
    );
}

#[test]
fn a_file_with_errors_changes_nothing() {
    let mut sm = SourceMap::new();
    let ok =
        nftvm_grammar::nft::parse_str(&mut sm, "a", "table ip t { chain c { accept } }").expect("parses");
    let mut rs = Ruleset::new();
    assert!(super::apply(&mut rs, &ok).is_empty());
    let bad =
        nftvm_grammar::nft::parse_str(&mut sm, "b", "add rule ip t c drop\nadd rule ip t c tcp dport 70000")
            .expect("parses");
    let before = rs.clone();
    let diags = super::apply(&mut rs, &bad);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(rs, before);
}

/// The listing of the first rule of chain `c` in `text`.
fn first_rule(text: &str) -> String {
    let mut sm = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sm, "r.nft", text).expect("parses");
    let rs = super::load(&file).unwrap_or_else(|d| panic!("{}", render_all(&d, &sm)));
    let table = &rs.tables[0];
    crate::print::nft::rule(table, &table.chains[0].rules[0], &Default::default())
}

/// A match whose left side is a binary operation (`meta mark & 0xf0 == 0x20`) after a match
/// with an explicit operator is its own statement, as in nft (found by the generated kernel
/// differential scenarios: nftvm said "missing expression before operator").
#[test]
fn binary_matches_follow_explicit_operator_matches() {
    let wrap = |r: &str| format!("table inet t {{\n chain c {{\n  {r}\n }}\n}}\n");
    for (first, second) in [
        ("iifname != \"tunb\"", "meta mark & 0xf0 == 0x20"),
        ("meta mark & 0xf0 == 0x20", "tcp flags & (syn | ack) == syn"),
        ("oifname != \"tuna\"", "tcp flags & (fin | rst) != 0"),
        ("ip daddr != 10.0.2.0/25", "ct mark & 0x0f == 0x1"),
    ] {
        let together = first_rule(&wrap(&format!("{first} {second} accept")));
        let apart =
            format!("{} {}", first_rule(&wrap(first)), first_rule(&wrap(&format!("{second} accept"))));
        assert_eq!(together, apart);
    }
}

/// A `set` whose value is a selector of several words, followed by another `set`; a
/// concatenation match followed by a statement with an operator or `set`, or after one's
/// value. nft parses each
/// as separate statements (found by the generated kernel differential scenarios; nftvm
/// said "Could not parse packet mark", "expected a selector before `set`", "Use
/// concatenations with sets and maps, not singleton values").
#[test]
fn statements_after_selector_values_and_concatenation_matches() {
    let wrap = |r: &str| format!("table inet t {{\n chain c {{\n  {r}\n }}\n}}\n");
    for (first, second) in [
        ("ct mark set meta mark", "ip dscp set af21"),
        ("meta mark set ct mark", "ct mark set 0x1"),
        ("ct mark set meta mark", "meta mark & 0xf0 == 0x10"),
        (
            "ip daddr . udp dport { 10.0.1.128/28 . 80, 10.0.2.0/25 . 8443 }",
            "ct mark set ct mark & 0xffff00ff",
        ),
        ("ip daddr . udp dport { 10.0.2.200/29 . 53, 10.0.2.200/29 . 8443 }", "ct mark & 0xf0 != 0"),
        ("ip daddr . tcp dport { 10.0.2.1 . 22 }", "meta mark set 0x10"),
        ("ct state != invalid", "ip daddr . tcp dport { 10.0.2.200/29 . 2222, 10.0.1.0/26 . 22 }"),
        ("meta length > 178", "ip daddr . udp dport { 10.0.2.0/25 . 53 } meta mark set 0x11"),
        ("meta mark set 0x1", "ip daddr . tcp dport { 10.0.2.1 . 22 }"),
        ("meta mark set ct mark", "ip daddr . tcp dport { 10.0.2.1 . 22 }"),
        ("meta mark & 0xf0 == 0x0", "ip daddr . tcp dport { 10.0.1.0/26 . 8443 } ct state new"),
    ] {
        let together = first_rule(&wrap(&format!("{first} {second} accept")));
        let apart =
            format!("{} {}", first_rule(&wrap(first)), first_rule(&wrap(&format!("{second} accept"))));
        assert_eq!(together, apart, "{first} {second}");
    }
}

#[test]
fn netdev_tables_refuse_conntrack_and_nfproto_outside_inet_as_nft_and_the_kernel_do() {
    // The kernel has no netdev conntrack (`ct` fails with EPROTO in any netdev chain) but
    // takes `notrack` at ingress; nft refuses `meta nfproto` outside inet tables.
    let text = "\
table netdev n {
	chain in {
		type filter hook ingress device \"eth0\" priority 0;
		notrack
		ct state new counter
	}
	chain other {
		ct mark set 1
	}
}
table ip t {
	chain c {
		meta nfproto ipv4 counter
	}
}
";
    assert_eq!(
        check("/tmp/e9.nft", text),
        "\
/tmp/e9.nft:5:3-10: Error: Could not process rule: Protocol error
		ct state new counter
		^^^^^^^^
/tmp/e9.nft:8:3-9: Error: Could not process rule: Protocol error
		ct mark set 1
		^^^^^^^
/tmp/e9.nft:13:3-14: Error: meta nfproto is only useful in the inet family
		meta nfproto ipv4 counter
		^^^^^^^^^^^^
"
    );
}

#[test]
fn a_named_map_or_set_refuses_a_key_that_does_not_fit_it_as_nft_does() {
    // The messages are nft's for the same file (checked with `nft -c -f`); before, these
    // rules compiled to a lookup that read key bytes never written — an internal error.
    let text = "\
table inet t {
	map m1 {
		typeof osf name : ct mark
		elements = { \"Linux\" : 0x00000001 }
	}
	map m3 {
		typeof ip saddr . ip daddr : meta mark
		elements = { 1.2.3.4 . 5.6.7.8 : 0x00000001 }
	}
	chain c {
		meta mark set vlan id map @m1
		meta mark set tcp dport map @m3
		meta mark set ip saddr . tcp dport map @m3
		ip saddr . tcp dport @m3 accept
		meta mark set ip saddr . ip daddr map @m3
		ct mark set osf name map @m1
	}
}
";
    assert_eq!(
        check("/tmp/e9.nft", text),
        "\
/tmp/e9.nft:11:29-31: Error: datatype mismatch, map expects string, mapping expression has type integer
		meta mark set vlan id map @m1
		              ~~~~~~~     ^^^
/tmp/e9.nft:12:31-33: Error: datatype mismatch, map expects concatenation of (IPv4 address, IPv4 address), mapping expression has type internet network service
		meta mark set tcp dport map @m3
		              ~~~~~~~~~     ^^^
/tmp/e9.nft:13:42-44: Error: datatype mismatch, map expects concatenation of (IPv4 address, IPv4 address), mapping expression has type concatenation of (IPv4 address, internet network service)
		meta mark set ip saddr . tcp dport map @m3
		              ~~~~~~~~~~~~~~~~~~~~     ^^^
/tmp/e9.nft:14:24-26: Error: datatype mismatch, expected concatenation of (IPv4 address, internet network service), expression has type concatenation of (IPv4 address, IPv4 address)
		ip saddr . tcp dport @m3 accept
		~~~~~~~~~~~~~~~~~~~~ ^^^
"
    );
}
