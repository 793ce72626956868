//! Unit tests of the lowering: registration of base chains and a few rules checked.

use super::lower_ruleset;
use crate::iptables::{Family, RestoreOptions, load_restore};
use crate::ir::{ChainType, Hook};
use nftvm_grammar::SourceMap;

fn lower(text: &str) -> crate::ir::Ruleset {
    let mut sm = SourceMap::new();
    let id = sm.add("t", text);
    let (rs, diags) =
        load_restore(&sm, id, RestoreOptions { family: Family::Ipv4, counters: false, noflush: false });
    assert!(diags.is_empty(), "{diags:?}");
    let (ir, diags) = lower_ruleset(&rs);
    assert!(diags.iter().all(|d| !d.is_error()), "{}", nftvm_grammar::diag::render_all(&diags, &sm));
    ir
}

#[test]
fn base_chains_as_iptables_nft_registers_them() {
    let ir = lower(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*security\n:INPUT ACCEPT [0:0]\nCOMMIT\n*mangle\n:OUTPUT DROP [0:0]\nCOMMIT\n",
    );
    let nat = ir.table(crate::ir::Family::Ip, "nat").expect("nat");
    let pre = nat.chain("PREROUTING").and_then(|c| c.base.as_ref()).expect("base");
    assert_eq!((pre.chain_type, pre.hook, pre.priority), (ChainType::Nat, Hook::Prerouting, -100));
    let post = nat.chain("POSTROUTING").and_then(|c| c.base.as_ref()).expect("base");
    assert_eq!(post.priority, 100);
    let sec = ir
        .table(crate::ir::Family::Ip, "security")
        .and_then(|t| t.chain("INPUT"))
        .and_then(|c| c.base.as_ref());
    assert_eq!(sec.map(|b| b.priority), Some(50));
    let out = ir
        .table(crate::ir::Family::Ip, "mangle")
        .and_then(|t| t.chain("OUTPUT"))
        .and_then(|c| c.base.as_ref());
    assert_eq!(
        out.map(|b| (b.chain_type, b.priority, b.policy)),
        Some((ChainType::Route, -150, crate::ir::Policy::Drop))
    );
}

#[test]
fn rules_lower_and_check() {
    let ir = lower(
        "*filter\n:INPUT DROP [0:0]\n:USER - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j USER\n-A USER -s 10.0.0.0/8 -j RETURN\nCOMMIT\n",
    );
    let t = ir.table(crate::ir::Family::Ip, "filter").expect("filter");
    assert_eq!(t.chain("INPUT").map(|c| c.rules.len()), Some(2));
    assert!(t.chain("USER").is_some_and(|c| c.base.is_none()));
}
