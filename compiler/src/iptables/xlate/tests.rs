//! Unit tests of the command framing (the per-extension output is checked against
//! iptables' own txlate cases in `tests/ipt_txlate.rs`).

use super::{Mode, Translator};
use crate::iptables::{Family, parse_argv};
use nftvm_grammar::SourceMap;

fn xlate(family: Family, args: &[&str]) -> (String, bool) {
    let mut sm = SourceMap::new();
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (_, cmd) = parse_argv(&mut sm, "test", family, &argv).expect("parses");
    let t = Translator::new(family, Mode::CommandLine).command(&cmd, &argv);
    (t.text, t.ok)
}

#[test]
fn one_rule_per_address_pair() {
    let (text, ok) = xlate(
        Family::Ipv4,
        &["-A", "INPUT", "-s", "1.2.3.4,5.6.7.8", "-d", "9.9.9.9,8.8.8.8", "-j", "ACCEPT"],
    );
    assert!(ok);
    assert_eq!(
        text,
        "nft 'add rule ip filter INPUT ip saddr 1.2.3.4 ip daddr 9.9.9.9 counter accept'\n\
         'add rule ip filter INPUT ip saddr 1.2.3.4 ip daddr 8.8.8.8 counter accept'\n\
         nft 'add rule ip filter INPUT ip saddr 5.6.7.8 ip daddr 9.9.9.9 counter accept'\n\
         'add rule ip filter INPUT ip saddr 5.6.7.8 ip daddr 8.8.8.8 counter accept'\n"
    );
}

#[test]
fn untranslatable_rules_are_commented_out() {
    let (text, ok) =
        xlate(Family::Ipv4, &["-A", "INPUT", "-p", "tcp", "--dport", "1723", "-j", "CT", "--helper", "pptp"]);
    assert!(!ok);
    assert_eq!(text, "nft # -A INPUT -p tcp --dport 1723 -j CT --helper pptp \n");
}

#[test]
fn insert_with_index_and_chain_commands() {
    assert_eq!(
        xlate(Family::Ipv4, &["-I", "INPUT", "3", "-j", "DROP"]).0,
        "nft 'insert rule ip filter INPUT index 3 counter drop'\n"
    );
    assert_eq!(xlate(Family::Ipv6, &["-N", "FOO"]).0, "nft add chain ip6 filter FOO\n");
    assert_eq!(xlate(Family::Ipv4, &["-t", "nat", "-F"]).0, "nft flush table ip nat\n");
}
