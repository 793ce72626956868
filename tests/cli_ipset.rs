//! `--ipset FILE` on the command line: an iptables ruleset that matches ipsets loads with
//! the sets' file and fails without it (naming the rule's place); its nft listing declares
//! the sets and `diff` proves the listing equivalent to the iptables file (and catches a
//! listing changed by one prefix); a bad sets file is an error naming its line and
//! column; `-j SET` where nftvm cannot do what the kernel does is refused, by name. (What
//! the lookups and changes do is checked against the kernel in `kernel_diff`.)

mod common;

use common::scratch::ScratchDir;
use std::process::{Command, Output};

/// The README's example: a blocklist with a carve-out, services by address and port, and
/// the uplink interface.
const SETS: &str = include_str!("../examples/blocklist.ipset");
const RULES: &str = include_str!("../examples/blocklist.save");

/// This suite's scratch directory `name`.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new("cli-ipset", name)
}

/// Writes file `name` of `d`; its path as a command-line word.
fn write(d: &ScratchDir, name: &str, text: &str) -> String {
    d.write(name, text).to_string_lossy().into_owned()
}

fn nftvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("runs nftvm")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_listing_declares_the_sets_and_diff_proves_it_equivalent() {
    let d = scratch("list");
    let (rules, sets) = (write(&d, "rules.save", RULES), write(&d, "sets.ipset", SETS));
    let out = nftvm(&["list", &rules, "--ipset", &sets]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    for want in [
        "set blocked {",
        "elements = { 10.0.0.0/16, 10.2.0.0-10.255.255.255,",
        "203.0.113.0/24 }",
        "type ipv4_addr . inet_proto . inet_service",
        "ip saddr @blocked counter packets 0 bytes 0 drop",
        "ip daddr . meta l4proto . th dport @services",
        "ip saddr . iifname @uplinks",
    ] {
        assert!(listing.contains(want), "missing `{want}` in\n{listing}");
    }
    let nft = write(&d, "listed.nft", &listing);
    let same = nftvm(&["diff", &rules, &nft, "--ipset", &sets]);
    assert_eq!(same.status.code(), Some(0), "{}{}", text(&same.stdout), text(&same.stderr));
    assert!(text(&same.stdout).contains("equivalent"));
    // Carve 10.1.0.0/16 out one bit less: 10.0.128.0/17 is now accepted by the listing.
    let changed = write(&d, "changed.nft", &listing.replace("10.0.0.0/16", "10.0.0.0/17"));
    let differs = nftvm(&["diff", &rules, &changed, "--ipset", &sets]);
    assert_eq!(differs.status.code(), Some(1), "{}", text(&differs.stderr));
    let report = text(&differs.stdout);
    assert!(report.contains("ip saddr 10.0.1") && report.contains("rules.save:7"), "{report}");
}

#[test]
fn without_the_sets_file_the_rule_names_a_set_that_does_not_exist() {
    let d = scratch("missing");
    let rules = write(&d, "rules.save", RULES);
    let out = nftvm(&["check", &rules]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("rules.save:7:15-17: Error: set: Set blocked doesn't exist"), "{err}");
    assert!(err.contains("--ipset FILE"), "{err}");
}

#[test]
fn a_bad_sets_file_is_an_error_at_its_line_and_column() {
    let d = scratch("bad");
    let rules = write(&d, "rules.save", RULES);
    let sets = write(&d, "sets.ipset", &SETS.replace("192.0.2.53,udp:53", "192.0.2.53,udp:99999"));
    let out = nftvm(&["check", &rules, "--ipset", &sets]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("sets.ipset:8:14-33: Error:") && err.contains("99999"), "{err}");
    // The same set from two files.
    let again = write(&d, "again.ipset", "create services hash:ip\n");
    let good = write(&d, "good.ipset", SETS);
    let out = nftvm(&["check", &rules, "--ipset", &good, "--ipset", &again]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("set services is defined twice"), "{}", text(&out.stderr));
}

#[test]
fn a_set_of_the_other_family_is_refused_as_iptables_does() {
    let d = scratch("family");
    let rules =
        write(&d, "rules.save", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set v6 src\nCOMMIT\n");
    let sets = write(&d, "sets.ipset", "create v6 hash:ip family inet6\nadd v6 fd00::1\n");
    let out = nftvm(&["check", &rules, "--ipset", &sets]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("The protocol family of set v6 is IPv6, which is not applicable."), "{err}");
}

#[test]
fn rules_that_change_sets_are_refused_where_the_copy_per_table_would_differ() {
    let d = scratch("dynamic");
    let sets = write(&d, "sets.ipset", "create seen hash:ip\ncreate nets hash:net\n");
    // Changed in filter, read in mangle: the kernel has one set, nftvm a copy per table.
    let shared = write(
        &d,
        "shared.save",
        "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m set --match-set seen src -j MARK --set-mark 1\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j SET --add-set seen src\nCOMMIT\n",
    );
    let out = nftvm(&["check", &shared, "--ipset", &sets]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("shared.save:7:") && err.contains("used in tables filter, mangle"), "{err}");
    // One table: a dynamic set, `add` / `update` with the entry's timeout.
    let one = write(
        &d,
        "one.save",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set seen src -j DROP\n-A INPUT -p tcp -j SET --add-set seen src --exist\nCOMMIT\n",
    );
    let out = nftvm(&["list", &one, "--ipset", &sets]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.contains("flags dynamic") && listing.contains("update @seen { ip saddr }"), "{listing}");
    // Networks: the prefix a packet would store depends on the set's other entries.
    let nets = write(
        &d,
        "nets.save",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j SET --del-set nets src\nCOMMIT\n",
    );
    let out = nftvm(&["check", &nets, "--ipset", &sets]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("-j SET on set nets (hash:net) is not supported yet"),
        "{}",
        text(&out.stderr)
    );
    // Ports need a protocol whose ports ipset reads as nft's `th` does.
    let ports = write(&d, "sets2.ipset", "create flows hash:ip,port\n");
    let any = write(
        &d,
        "any.save",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j SET --add-set flows src,dst\nCOMMIT\n",
    );
    let out = nftvm(&["check", &any, "--ipset", &ports]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("needs -p tcp, udp, sctp or udplite"), "{}", text(&out.stderr));
}
