use super::to_nft::{Lookup, lookup};
use super::*;
use crate::ir::Family;
use nftvm_grammar::SourceMap;

fn sets(text: &str) -> Result<Ipsets, String> {
    let mut sm = SourceMap::new();
    let f = sm.add("sets.ipset", text);
    parse(&sm, f).map_err(|d| nftvm_grammar::diag::render_all(&d, &sm))
}

/// The listing of the nft set a match on `name` with `dims` makes.
fn listed(text: &str, name: &str, dims: &[bool], family: Family) -> String {
    let s = sets(text).expect("parses");
    match lookup(s.get(name).expect("set"), &s, dims, family, false, false).expect("lowers") {
        Lookup::Never(why) => format!("never: {why}"),
        Lookup::Member { set, .. } => {
            let mut t = crate::ir::Table::new(family, "t");
            t.sets.push(*set);
            let mut rs = crate::ir::Ruleset::new();
            rs.tables.push(t);
            crate::print::nft::ruleset(&rs, &crate::print::ListOpts::default())
        }
    }
}

const SAVED: &str = "\
create a hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 100 counters comment bucketsize 12 initval 0xb14b05b9
add a 10.0.0.2,icmp:echo-request timeout 4 packets 0 bytes 0
add a 10.0.0.3,icmp:host-unreachable timeout 99 packets 0 bytes 0
add a 10.0.0.1,tcp:80 timeout 99 packets 0 bytes 0 comment \"x y\"
create n hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x577c16cb
add n 10.2.1.0/30
add n 10.0.0.0/8
add n 10.1.0.0/16 nomatch
add n 10.1.2.0/24
create i hash:net,iface family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0xde7bac1b
add i fd00::/64,eth0
create p bitmap:port range 0-1000
add p 22
create m hash:ip family inet hashsize 1024 maxelem 65536 netmask 24 bucketsize 12 initval 0x9187a5f8
add m 10.0.0.0
add m 10.0.1.0
create l list:set size 8
add l m
";

#[test]
fn reads_what_ipset_save_writes() {
    let s = sets(SAVED).expect("parses");
    let names: Vec<&str> = s.sets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "n", "i", "p", "m", "l"]);
    let a = s.get("a").unwrap();
    assert_eq!(a.ty.name(), "hash:ip,port");
    assert_eq!(a.timeout, Some(100));
    assert_eq!(a.entries[0].parts[1], Part::Port { proto: Some(1), lo: 0x0800, hi: 0x0800 });
    assert_eq!(a.entries[1].parts[1], Part::Port { proto: Some(1), lo: 0x0301, hi: 0x0301 });
    assert_eq!(a.entries[2].timeout, Some(99));
    assert_eq!(s.get("i").unwrap().family, AddrFamily::V6);
    assert!(s.get("n").unwrap().entries[2].nomatch);
    assert!(!s.get("l").unwrap().ty.supported());
}

#[test]
fn nomatch_carves_networks_out() {
    let out = listed(SAVED, "n", &[true], Family::Ip);
    // 10.0.0.0/8 minus 10.1.0.0/16, plus 10.1.2.0/24 back; 10.2.1.0/30 inside /8.
    assert!(out.contains("10.0.0.0/16, 10.1.2.0/24,") && out.contains("10.2.0.0-10.255.255.255 }"), "{out}");
    assert!(out.contains("flags interval"), "{out}");
}

#[test]
fn netmask_stores_blocks() {
    let out = listed(SAVED, "m", &[false], Family::Ip);
    assert!(out.contains("10.0.0.0/23"), "{out}");
}

#[test]
fn icmp_entries_read_type_and_code() {
    let s = sets(SAVED).unwrap();
    // `dst` for the port of a set that mixes ICMP and TCP ports: refused by name.
    let e = lookup(s.get("a").unwrap(), &s, &[true, false], Family::Ip, false, false).expect_err("refused");
    assert!(e.contains("ICMP"), "{e}");
    let Ok(Lookup::Member { key, set }) =
        lookup(s.get("a").unwrap(), &s, &[true, true], Family::Ip, false, false)
    else {
        panic!("src,src lowers")
    };
    assert_eq!(set.key.len(), 3);
    assert_eq!(set.timeout, Some(100_000));
    assert_eq!(key.bits, 3 * 32);
}

#[test]
fn other_family_and_missing_dimensions_never_match() {
    let s = sets(SAVED).unwrap();
    assert!(matches!(
        lookup(s.get("i").unwrap(), &s, &[true, true], Family::Ip, false, false),
        Ok(Lookup::Never(_))
    ));
    assert!(matches!(
        lookup(s.get("a").unwrap(), &s, &[true], Family::Ip, false, false),
        Ok(Lookup::Never(_))
    ));
}

#[test]
fn bitmap_port_holds_tcp_and_udp() {
    let out = listed(SAVED, "p", &[false], Family::Ip);
    assert!(out.contains("tcp . 22") && out.contains("udp . 22"), "{out}");
}

#[test]
fn protocols_without_ports_drop_the_port() {
    let s = sets("create g hash:ip,port\nadd g 10.0.0.1,gre:0\nadd g 10.0.0.9,47:0\n").unwrap();
    let Ok(Lookup::Member { set, .. }) =
        lookup(s.get("g").unwrap(), &s, &[true, true], Family::Ip, false, false)
    else {
        panic!("lowers")
    };
    assert_eq!(set.key.len(), 2);
    assert_eq!(set.elems.len(), 2);
    let mixed = sets("create g hash:ip,port\nadd g 10.0.0.1,gre:0\nadd g 10.0.0.2,80\n").unwrap();
    assert!(lookup(mixed.get("g").unwrap(), &mixed, &[true, true], Family::Ip, false, false).is_err());
}

#[test]
fn errors_name_the_place() {
    let e = sets("create a hash:ip\nadd a 10.0.0.300\n").expect_err("bad address");
    assert!(e.contains("sets.ipset:2:7"), "{e}");
    assert!(e.contains("not an IPv4 address"), "{e}");
    let e = sets("create a hash:foo\n").expect_err("bad type");
    assert!(e.contains("sets.ipset:1:10") && e.contains("typename 'hash:foo' is unknown"), "{e}");
    let e = sets("add b 1.2.3.4\n").expect_err("no set");
    assert!(e.contains("does not exist"), "{e}");
    let e = sets("create a hash:ip,port\nadd a 1.2.3.4,gre:5\n").expect_err("port of gre");
    assert!(e.contains("has no ports"), "{e}");
    let e = sets("create a hash:ip\nadd a 1.2.3.4 timeout 5\n").expect_err("no timeout support");
    assert!(e.contains("timeout"), "{e}");
}

#[test]
fn ranges_of_networks_become_prefixes() {
    let s = sets("create n hash:net\nadd n 10.2.0.0-10.2.1.5\n").unwrap();
    let lens: Vec<Option<u8>> = s.sets[0]
        .entries
        .iter()
        .map(|e| match e.parts[0] {
            Part::Addr { prefix, .. } => prefix,
            _ => None,
        })
        .collect();
    // What `ipset save` printed for the same add: /24, /30, /31.
    assert_eq!(lens, [Some(24), Some(30), Some(31)]);
}

#[test]
fn an_element_is_added_once_deleted_when_there_and_flushed() {
    let e = sets("create a hash:net\nadd a 10.0.0.0/8\nadd a 10.0.0.0/8 nomatch\n").expect_err("twice");
    assert!(e.contains("sets.ipset:3:7") && e.contains("already added"), "{e}");
    let e = sets("create a hash:ip\ndel a 10.0.0.1\n").expect_err("absent");
    assert!(e.contains("it's not added"), "{e}");
    // A range of networks is its prefixes: one of them already there refuses the line (as
    // `ipset restore` does).
    let e = sets("create a hash:net\nadd a 10.0.1.0/24\nadd a 10.0.1.0-10.0.2.255\n").expect_err("overlap");
    assert!(e.contains("already added"), "{e}");
    let s =
        sets("create a hash:ip\nadd a 10.0.0.1\ndel a 10.0.0.1\nadd a 10.0.0.1\nflush a\nadd a 10.0.0.1\n")
            .expect("del, flush and add again");
    assert_eq!(s.get("a").map(|a| a.entries.len()), Some(1));
}

#[test]
fn a_list_holds_existing_sets_that_are_not_lists() {
    let e = sets("create l list:set\nadd l nosuch\n").expect_err("missing member");
    assert!(e.contains("sets.ipset:2:7") && e.contains("does not exist: nosuch"), "{e}");
    let e = sets("create l list:set\ncreate m list:set\nadd l m\n").expect_err("a list in a list");
    assert!(e.contains("cannot hold a list:set"), "{e}");
    let s = sets("create a hash:ip\ncreate l list:set\nadd l a\nadd l a before a\n").expect_err("twice");
    assert!(s.contains("already added"), "{s}");
}
