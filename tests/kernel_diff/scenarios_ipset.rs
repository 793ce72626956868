//! ipset scenarios: an iptables-save ruleset whose rules match with `-m set --match-set`,
//! and the `ipset save` file of its sets — loaded into the kernel with `ipset restore` and
//! `iptables-restore`, into nftvm with `--ipset`. Every rule counts (most have no target),
//! so the rule counters say which lookups matched which packets.
//!
//! The sets are drawn from the types the kernel provides: `hash:ip` (with and without
//! `netmask`), `hash:net` with `nomatch` carve-outs, `hash:ip,port` (TCP/UDP, or ICMP by
//! name and by type/code), `hash:net,port`, `hash:ip,port,ip`, `hash:ip,port,net`,
//! `hash:net,iface`, `bitmap:port`, `bitmap:ip`, a `list:set` of the address sets; and one
//! set of the other family, unused by rules (iptables refuses a rule naming it) but a
//! member of the list. The
//! matches take random directions per dimension, sometimes fewer than the set has (never
//! matches) or more, `!`, `--return-nomatch`, `-p tcp|udp`.

use std::net::{IpAddr, SocketAddr};

use crate::harness::Scenario;
use crate::pkt::*;

/// Host `k` (0..HOSTS) on tuna's side (`b`: tunb's).
fn host(v6: bool, b: bool, k: usize) -> String {
    let net = if b { 2 } else { 1 };
    if v6 { format!("fd00:{net}::{:x}", 2 + k) } else { format!("10.0.{net}.{}", 2 + k) }
}

/// An IPv6 source on tuna's side and a destination on tunb's, each one of five hosts.
pub fn v6_hosts(rng: &mut Rng) -> (std::net::Ipv6Addr, std::net::Ipv6Addr) {
    let src = host(true, false, rng.below(5)).parse().expect("v6");
    let dst = host(true, true, rng.below(5)).parse().expect("v6");
    (src, dst)
}

const HOSTS: usize = 24;
const PORTS: [u16; 6] = [22, 53, 80, 443, 8080, 1000];

fn any_host(rng: &mut Rng, v6: bool) -> String {
    let b = rng.bool();
    host(v6, b, rng.below(HOSTS))
}

/// A network around a random host: `/len` for IPv4, the same host bits for IPv6.
fn net(rng: &mut Rng, v6: bool, lens: &[u32]) -> String {
    let len = *rng.pick(lens);
    let h = any_host(rng, v6);
    let bits = if v6 { 96 + len } else { len };
    let a: IpAddr = h.parse().expect("host address");
    let masked = match a {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & (u32::MAX << (32 - bits))).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & (u128::MAX << (128 - bits))).into()),
    };
    format!("{masked}/{bits}")
}

fn proto_port(rng: &mut Rng) -> String {
    let proto = if rng.bool() { "tcp" } else { "udp" };
    format!("{proto}:{}", rng.pick(&PORTS))
}

/// The first address of each /30 block.
fn first_per_block(hosts: Vec<String>) -> Vec<String> {
    let mut blocks = std::collections::HashSet::new();
    hosts
        .into_iter()
        .filter(|h| {
            let a: std::net::Ipv4Addr = h.parse().expect("IPv4 host");
            blocks.insert(u32::from(a) >> 2)
        })
        .collect()
}

/// One set: its `ipset save` text and its number of dimensions.
struct SetDef {
    name: &'static str,
    text: String,
    dims: usize,
}

/// The set with each element added once (`ipset restore` refuses an element twice, whatever
/// its `nomatch`).
fn set(name: &'static str, ty: &str, opts: &str, entries: Vec<String>, dims: usize) -> SetDef {
    let mut text = format!("create {name} {ty} {opts}\n");
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        if seen.insert(e.trim_end_matches(" nomatch").to_string()) {
            text += &format!("add {name} {e}\n");
        }
    }
    SetDef { name, text, dims }
}

/// The sets of one scenario (a random selection of the kinds).
fn sets(rng: &mut Rng, v6: bool) -> Vec<SetDef> {
    let fam = if v6 { "family inet6" } else { "family inet" };
    let mut out = Vec::new();
    let n = |rng: &mut Rng| 3 + rng.below(6);
    if rng.chance(60) {
        if !v6 && rng.chance(35) {
            // With netmask 30 the set stores /30 blocks: one address per block (another of
            // the same block would be the same element), packets from its neighbours match.
            let entries = (0..n(rng))
                .map(|_| host(false, rng.bool(), 4 * (1 + rng.below(5)) - 2 + rng.below(4)))
                .collect();
            let entries = first_per_block(entries);
            out.push(set("hip", "hash:ip", &format!("{fam} netmask 30"), entries, 1));
        } else {
            let entries = (0..n(rng)).map(|_| any_host(rng, v6)).collect();
            out.push(set("hip", "hash:ip", fam, entries, 1));
        }
    }
    if rng.chance(60) {
        let mut entries: Vec<String> =
            (0..2 + rng.below(3)).map(|_| net(rng, v6, &[25, 26, 27, 28])).collect();
        for _ in 0..rng.below(4) {
            entries.push(format!("{} nomatch", net(rng, v6, &[29, 30, 32])));
        }
        if rng.bool() {
            entries.push(net(rng, v6, &[31, 32]));
        }
        out.push(set("hnet", "hash:net", fam, entries, 1));
    }
    if rng.chance(60) {
        let entries = (0..n(rng)).map(|_| format!("{},{}", any_host(rng, v6), proto_port(rng))).collect();
        out.push(set("hipport", "hash:ip,port", fam, entries, 2));
    }
    if rng.chance(40) {
        let icmp = if v6 {
            ["icmpv6:echo-request", "icmpv6:128/0", "icmpv6:echo-reply"]
        } else {
            ["icmp:echo-request", "icmp:8/0", "icmp:ping"]
        };
        // The names are aliases of one type and code: one entry per host.
        let mut hosts: Vec<String> = (0..n(rng)).map(|_| any_host(rng, v6)).collect();
        hosts.sort();
        hosts.dedup();
        let entries = hosts.into_iter().map(|h| format!("{h},{}", rng.pick(&icmp))).collect();
        out.push(set("hping", "hash:ip,port", fam, entries, 2));
    }
    if rng.chance(50) {
        let entries =
            (0..n(rng)).map(|_| format!("{},{}", net(rng, v6, &[24, 27, 30]), proto_port(rng))).collect();
        out.push(set("hnetport", "hash:net,port", fam, entries, 2));
    }
    if rng.chance(40) {
        let entries = (0..n(rng))
            .map(|_| format!("{},{},{}", any_host(rng, v6), proto_port(rng), any_host(rng, v6)))
            .collect();
        out.push(set("hipportip", "hash:ip,port,ip", fam, entries, 3));
    }
    if rng.chance(40) {
        let entries = (0..n(rng))
            .map(|_| format!("{},{},{}", any_host(rng, v6), proto_port(rng), net(rng, v6, &[24, 28])))
            .collect();
        out.push(set("hipportnet", "hash:ip,port,net", fam, entries, 3));
    }
    if rng.chance(40) {
        let entries = (0..2 + rng.below(3))
            .map(|_| format!("{},{}", net(rng, v6, &[24, 26, 28]), if rng.bool() { "tuna" } else { "tunb" }))
            .collect();
        out.push(set("hnetif", "hash:net,iface", fam, entries, 2));
    }
    if rng.chance(40) {
        let entries = (0..n(rng)).map(|_| rng.pick(&PORTS).to_string()).collect();
        out.push(set("bport", "bitmap:port", "range 0-9000", entries, 1));
    }
    if !v6 && rng.chance(40) {
        let entries = (0..n(rng)).map(|_| host(false, rng.bool(), rng.below(HOSTS))).collect();
        out.push(set("bip", "bitmap:ip", "range 10.0.0.0/22", entries, 1));
    }
    if rng.chance(25) {
        let other = if v6 { "family inet" } else { "family inet6" };
        let entries = (0..3).map(|_| any_host(rng, !v6)).collect();
        out.push(set("other", "hash:ip", other, entries, 1));
    }
    // A list of the address sets (the other family's too: the kernel skips it).
    let addresses: Vec<String> = out
        .iter()
        .filter(|s| matches!(s.name, "hip" | "hnet" | "bip" | "other"))
        .map(|s| s.name.to_string())
        .collect();
    if !addresses.is_empty() && rng.chance(50) {
        out.push(set("lst", "list:set", "size 8", addresses, 1));
    }
    if out.iter().all(|s| s.name == "other") {
        let entries = (0..n(rng)).map(|_| any_host(rng, v6)).collect();
        out.push(set("hip", "hash:ip", fam, entries, 1));
    }
    out
}

/// A `-m set` match on `s`: random directions (sometimes one fewer or one more), `!`,
/// `--return-nomatch` on the networks.
fn set_match(rng: &mut Rng, s: &SetDef) -> String {
    let mut dims = s.dims;
    if rng.chance(12) && dims > 1 {
        dims -= 1;
    } else if rng.chance(10) {
        dims += 1;
    }
    let flags: Vec<&str> = (0..dims).map(|_| if rng.bool() { "src" } else { "dst" }).collect();
    let bang = if rng.chance(20) { "! " } else { "" };
    let nomatch = if s.name == "hnet" && rng.chance(30) { " --return-nomatch" } else { "" };
    format!("-m set {bang}--match-set {} {}{nomatch}", s.name, flags.join(","))
}

/// An iptables-save file of the filter table with `rules` in FORWARD.
fn save_file(v6: bool, rules: &[String]) -> String {
    let tool = if v6 { "ip6tables-save" } else { "iptables-save" };
    format!(
        "# Generated by {tool} v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{}\nCOMMIT\n",
        rules.join("\n")
    )
}

/// A TCP SYN, a UDP datagram (ports as given) or an echo request.
fn packet(rng: &mut Rng, (src, sport): (IpAddr, u16), (dst, dport): (IpAddr, u16)) -> Vec<u8> {
    match rng.below(5) {
        0 | 1 => tcp(SocketAddr::new(src, sport), SocketAddr::new(dst, dport), SYN, rng.u32(), 0, b""),
        2 | 3 => udp(SocketAddr::new(src, sport), SocketAddr::new(dst, dport), b"q"),
        _ => echo(src, dst, rng.u16(), 1),
    }
}

/// The ruleset, the sets and a packet script over both directions.
pub fn ipset(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let all = sets(rng, v6);
    // A set of the other family stays in the file: iptables refuses rules naming it.
    let defs: Vec<&SetDef> = all.iter().filter(|d| d.name != "other").collect();
    let mut rules = Vec::new();
    for _ in 0..4 + rng.below(6) {
        let s = rng.pick(&defs);
        let proto = match rng.below(6) {
            0 => "-p tcp ",
            1 => "-p udp ",
            _ => "",
        };
        rules.push(format!("-A FORWARD {proto}{}", set_match(rng, s)));
    }
    // One or two deciding rules at the end: what they drop is not forwarded.
    for _ in 0..1 + rng.below(2) {
        let s = rng.pick(&defs);
        let target = if rng.bool() { "DROP" } else { "ACCEPT" };
        rules.push(format!("-A FORWARD {} -j {target}", set_match(rng, s)));
    }
    let ruleset = save_file(v6, &rules);
    let mut sc = Scenario::new(format!("ipset-{i}"), ruleset);
    sc.ipsets = Some(all.iter().map(|d| d.text.as_str()).collect());
    for _ in 0..12 + rng.below(6) {
        let from_b = rng.chance(30);
        let (src, dst) = (host(v6, from_b, rng.below(HOSTS)), host(v6, !from_b, rng.below(HOSTS)));
        let (src, dst): (IpAddr, IpAddr) = (ip(&src), ip(&dst));
        let sport = if rng.bool() { *rng.pick(&PORTS) } else { 30000 + rng.below(1000) as u16 };
        let dport = *rng.pick(&PORTS);
        sc.send(if from_b { "tunb" } else { "tuna" }, packet(rng, (src, sport), (dst, dport)));
    }
    sc
}

/// Rules that change sets (`-j SET --add-set|--del-set`, `--exist`, `--timeout`) between
/// rules that look them up, over a few hosts so that what one packet stores decides later
/// packets' fate.
pub fn ipset_dynamic(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let fam = if v6 { "family inet6" } else { "family inet" };
    let few = |rng: &mut Rng| host(v6, rng.bool(), rng.below(6));
    let timeout = if rng.bool() { " timeout 600" } else { "" };
    let mut defs = vec![set("seen", "hash:ip", &format!("{fam}{timeout}"), vec![few(rng)], 1)];
    let ports: Vec<String> = (0..2).map(|_| format!("{},{}", few(rng), proto_port(rng))).collect();
    defs.push(set("flows", "hash:ip,port", fam, ports, 2));
    defs.push(set("pairs", "hash:ip,port,ip", fam, Vec::new(), 3));
    let flags = |rng: &mut Rng, n: usize| -> String {
        (0..n).map(|_| if rng.bool() { "src" } else { "dst" }).collect::<Vec<_>>().join(",")
    };
    let mut rules = Vec::new();
    for _ in 0..5 + rng.below(5) {
        let d = &defs[rng.below(defs.len())];
        let proto = if rng.bool() { "tcp" } else { "udp" };
        let rule = match rng.below(5) {
            0 | 1 => format!("-A FORWARD -m set --match-set {} {}", d.name, flags(rng, d.dims)),
            2 | 3 => {
                let exist = if rng.bool() { " --exist" } else { "" };
                let t = if d.name == "seen" && rng.bool() {
                    format!(" --timeout {}", 30 + rng.below(100))
                } else {
                    String::new()
                };
                format!("-A FORWARD -p {proto} -j SET --add-set {} {}{exist}{t}", d.name, flags(rng, d.dims))
            }
            _ => format!("-A FORWARD -p {proto} -j SET --del-set {} {}", d.name, flags(rng, d.dims)),
        };
        rules.push(rule);
    }
    let d = &defs[rng.below(defs.len())];
    rules.push(format!("-A FORWARD -m set --match-set {} {} -j DROP", d.name, flags(rng, d.dims)));
    let ruleset = save_file(v6, &rules);
    let mut sc = Scenario::new(format!("ipset-dynamic-{i}"), ruleset);
    sc.ipsets = Some(defs.iter().map(|d| d.text.as_str()).collect());
    for _ in 0..14 + rng.below(6) {
        let from_b = rng.chance(40);
        let (src, dst): (IpAddr, IpAddr) =
            (ip(&host(v6, from_b, rng.below(6))), ip(&host(v6, !from_b, rng.below(6))));
        let sport = *rng.pick(&PORTS);
        let dport = *rng.pick(&PORTS);
        sc.send(if from_b { "tunb" } else { "tuna" }, packet(rng, (src, sport), (dst, dport)));
    }
    sc
}

/// `-m recent` lists (the kernel's xt match, which nftvm runs too): `--set` in mangle
/// PREROUTING or filter FORWARD, `--rcheck`/`--update` with `--seconds`, `--hitcount`,
/// `--rttl` (the TTL as the packet arrived, one more than FORWARD sees), `--reap`,
/// `--remove`, `!`, `--rdest`, `--mask`, two list names — over a few clients so that lists
/// fill and hit counts are reached.
pub fn recent(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 4 == 3;
    let names = ["SSH", "WEB"];
    let mut pre = Vec::new();
    let mut fwd = Vec::new();
    for name in names {
        let side = if rng.chance(25) { " --rdest" } else { " --rsource" };
        let mask = match (v6, rng.chance(25)) {
            (false, true) => " --mask 255.255.255.252",
            (true, true) => " --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc",
            _ => "",
        };
        let set = format!("-m recent --set --name {name}{side}{mask}");
        let port = if name == "SSH" { 22 } else { 80 };
        let rule = format!("-p tcp --dport {port} {set}");
        if rng.bool() {
            pre.push(format!("-A PREROUTING {rule}"))
        } else {
            fwd.push(format!("-A FORWARD {rule}"))
        }
    }
    for _ in 0..3 + rng.below(5) {
        let name = rng.pick(&names);
        let bang = if rng.chance(20) { "! " } else { "" };
        let seconds = 30 + rng.below(100);
        let test = match rng.below(6) {
            0 => format!("{bang}--rcheck --name {name}"),
            1 => format!("{bang}--rcheck --seconds {seconds} --hitcount {} --name {name}", 1 + rng.below(5)),
            2 => format!("{bang}--update --seconds {seconds} --hitcount {} --name {name}", 2 + rng.below(4)),
            3 => format!("{bang}--rcheck --seconds {seconds} --rttl --name {name}"),
            4 => format!("{bang}--update --seconds {seconds} --reap --name {name}"),
            _ => format!("{bang}--remove --name {name}"),
        };
        let proto = if rng.bool() { "-p tcp " } else { "" };
        let target = if rng.chance(20) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD {proto}-m recent {test}{target}"));
    }
    let tool = if v6 { "ip6tables-save" } else { "iptables-save" };
    let ruleset = format!(
        "# Generated by {tool} v1.8.9 (nf_tables)\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{}COMMIT\n{}",
        pre.iter().map(|r| format!("{r}\n")).collect::<String>(),
        save_file(v6, &fwd).split_once('\n').map_or(String::new(), |(_, rest)| rest.to_string())
    );
    let mut sc = Scenario::new(format!("recent-{i}"), ruleset);
    for _ in 0..16 + rng.below(8) {
        let from_b = rng.chance(20);
        let (src, dst): (IpAddr, IpAddr) =
            (ip(&host(v6, from_b, rng.below(5))), ip(&host(v6, !from_b, rng.below(3))));
        let dport = *rng.pick(&[22, 22, 80, 53]);
        let sport = 40000 + rng.u16() % 1000;
        sc.send(if from_b { "tunb" } else { "tuna" }, packet(rng, (src, sport), (dst, dport)));
    }
    sc
}

/// `-m string` searches (the kernel's xt match, which nftvm runs too): text and hex
/// patterns, `--icase`, `--from`/`--to` windows around where the patterns lie, `!`, both
/// algorithms — over UDP datagrams that carry a pattern (in either case) or a near miss.
pub fn string(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 4 == 3;
    let words = ["GET /admin", "login", "BitTorrent", "xyz"];
    let mut fwd = Vec::new();
    for _ in 0..3 + rng.below(5) {
        let word = rng.pick(&words);
        let algo = if rng.bool() { "bm" } else { "kmp" };
        let bang = if rng.chance(20) { "! " } else { "" };
        let pattern = if rng.chance(25) {
            let hex: Vec<String> = word.bytes().take(3).map(|b| format!("{b:02x}")).collect();
            format!("--hex-string \"|{}|{}\"", hex.join(" "), &word[3.min(word.len())..])
        } else {
            format!("--string \"{word}\"")
        };
        let mut opts = String::new();
        let from = if rng.chance(40) { 20 + rng.below(40) } else { 0 };
        if from > 0 {
            opts += &format!(" --from {from}");
        }
        if rng.chance(40) {
            // The kernel refuses a window that ends before it starts.
            opts += &format!(" --to {}", from.max(30) + rng.below(50));
        }
        if rng.chance(30) {
            opts += " --icase";
        }
        let target = if rng.chance(15) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -p udp -m string --algo {algo}{opts} {bang}{pattern}{target}"));
    }
    let mut sc = Scenario::new(format!("string-{i}"), save_file(v6, &fwd));
    for _ in 0..14 + rng.below(6) {
        let (src, dst): (IpAddr, IpAddr) =
            (ip(&host(v6, false, rng.below(5))), ip(&host(v6, true, rng.below(5))));
        let mut payload: Vec<u8> = (0..rng.below(50)).map(|_| b'a' + rng.below(26) as u8).collect();
        let word = rng.pick(&words).as_bytes().to_vec();
        let word = match rng.below(4) {
            0 => word.to_ascii_uppercase(),
            1 => word[..word.len() - 1].to_vec(),
            _ => word,
        };
        let at = rng.below(payload.len() + 1);
        payload.splice(at..at, word);
        payload.extend((0..rng.below(20)).map(|_| b'a' + rng.below(26) as u8));
        let s = SocketAddr::new(src, 40000 + rng.u16() % 1000);
        sc.send("tuna", udp(s, SocketAddr::new(dst, 9999), &payload));
    }
    sc
}

/// `-m u32` tests (the kernel's xt match, which nftvm runs too): words of the IP header,
/// `@` jumps over the IP header (and the TCP header) to ports and payload, ranges, `&&`,
/// `!`, and jumps past the packet's end.
pub fn u32_tests(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 4 == 3;
    // Offsets of the transport header: IPv4 from its IHL, IPv6 a fixed 40 bytes.
    let (l4, version) = if v6 { ("40", "0>>28=6") } else { ("0>>22&0x3C", "0>>28=4") };
    let pool = [
        version.to_string(),
        format!("{l4}@0>>16=53"),
        format!("{l4}@0&0xFFFF=80:100"),
        format!("{l4}@12>>26&0x3C@0=0x47455420"),
        format!("{l4}@8=0x{:x}:0xffffffff", 1u32 << (8 + rng.below(24))),
        format!("{l4}@200=0:0xffffffff"),
        if v6 { "4>>16=20:60".into() } else { "0&0xFFFF=40:60".into() },
        if v6 { "4&0xFF00=0x1100".into() } else { "6&0xFF=17".into() },
        format!("{}<<{}={}:0xffffffff", rng.below(20), rng.below(32), rng.below(1000)),
    ];
    let mut fwd = Vec::new();
    for _ in 0..4 + rng.below(5) {
        let n = 1 + rng.below(2);
        let tests: Vec<&str> = (0..n).map(|_| rng.pick(&pool).as_str()).collect();
        let bang = if rng.chance(20) { "! " } else { "" };
        let target = if rng.chance(15) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m u32 {bang}--u32 \"{}\"{target}", tests.join("&&")));
    }
    let mut sc = Scenario::new(format!("u32-{i}"), save_file(v6, &fwd));
    for _ in 0..14 + rng.below(6) {
        let (src, dst): (IpAddr, IpAddr) =
            (ip(&host(v6, false, rng.below(5))), ip(&host(v6, true, rng.below(5))));
        let s = SocketAddr::new(src, if rng.bool() { 53 } else { 40000 + rng.u16() % 1000 });
        let d = SocketAddr::new(dst, *rng.pick(&[53, 80, 90, 8080]));
        const PAYLOADS: [&[u8]; 4] =
            [b"GET / HTTP/1.0", b"POST /x", b"", b"abcdefghijklmnopqrstuvwxyz0123456789"];
        let payload = *rng.pick(&PAYLOADS);
        let p = match rng.below(3) {
            0 => tcp(s, d, ACK | PSH, rng.u32(), rng.u32(), payload),
            1 => udp(s, d, payload),
            _ => echo(src, dst, rng.u16(), 1),
        };
        sc.send("tuna", p);
    }
    sc
}

/// `-m ipv6header` (the kernel's xt match, which nftvm runs too): the set of extension
/// headers a packet carries — hop-by-hop, destination options, routing, fragment, AH, ESP,
/// "no next header" — against the rule's, exactly or with `--soft`, and `!`.
pub fn ipv6header(rng: &mut Rng, i: usize) -> Scenario {
    use nftvm_runtime::packet::PacketBuilder;
    let names = ["hop", "dst", "route", "frag", "auth", "esp", "none", "prot"];
    let mut fwd = Vec::new();
    for _ in 0..4 + rng.below(5) {
        let mut picked: Vec<&str> = names.iter().copied().filter(|_| rng.chance(30)).collect();
        if picked.is_empty() {
            picked.push(*rng.pick(&names));
        }
        let bang = if rng.chance(20) { "! " } else { "" };
        let soft = if rng.chance(35) { " --soft" } else { "" };
        let target = if rng.chance(15) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m ipv6header {bang}--header {}{soft}{target}", picked.join(",")));
    }
    let mut sc = Scenario::new(format!("ipv6header-{i}"), save_file(true, &fwd));
    for k in 0..14 + rng.below(6) {
        let (src, dst) = v6_hosts(rng);
        let mut b = PacketBuilder::ipv6(src, dst);
        if rng.chance(40) {
            b = b.hop_by_hop(&[]);
        }
        if rng.chance(35) {
            b = b.dest_options(&[]);
        }
        if rng.chance(25) {
            b = b.routing(2, 0, &[0; 16]);
        }
        if rng.chance(25) {
            b = b.auth_header(0x100 + k as u32, 1, &[0; 12]);
        }
        if rng.chance(20) {
            b = b.fragment(0, false, 0x4000 + k as u32);
        }
        let b = match rng.below(5) {
            0 => b.protocol(59),
            1 => b.protocol(50).payload(&[0, 0, 0, 9, 0, 0, 0, 1, 7, 7, 7, 7]),
            _ => b.udp(40000 + k as u16, 53).payload(b"q"),
        };
        sc.send("tuna", b.build());
    }
    sc
}

/// SCTP chunk types iptables names (`--chunk-types`), with their numbers.
const SCTP_CHUNKS: [(&str, u8); 13] = [
    ("DATA", 0),
    ("INIT", 1),
    ("SACK", 3),
    ("HEARTBEAT", 4),
    ("ABORT", 6),
    ("SHUTDOWN", 7),
    ("COOKIE_ECHO", 10),
    ("I_DATA", 64),
    ("RE_CONFIG", 130),
    ("PAD", 132),
    ("FORWARD_TSN", 192),
    ("ASCONF", 193),
    ("I_FORWARD_TSN", 194),
];

/// `-m sctp` on forwarded SCTP packets of random chunk lists: `--chunk-types all` (every
/// listed type present), `only` (no chunk of another type), `any` of one or several types,
/// with chunk flags (`DATA:Be`: B set, e clear), and ports, `!` included — run by the
/// kernel's xt_sctp, as iptables-nft loads it, and by nftvm's `match name sctp`. The raw
/// table leaves SCTP untracked: the subject is the match, not SCTP's connection tracking.
/// Packets carry zero to four chunks, some of types no rule names (AUTH 15, 99), and some
/// end in a chunk of length 0: xt_sctp drops a packet without chunks or with such a chunk.
pub fn sctp(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 4 == 3;
    let mut fwd = Vec::new();
    for _ in 0..4 + rng.below(5) {
        let mut names: Vec<&str> =
            SCTP_CHUNKS.iter().filter(|_| rng.chance(15)).map(|(name, _)| *name).collect();
        if names.is_empty() {
            names.push(rng.pick(&SCTP_CHUNKS).0);
        }
        // Flags on DATA (I, U, B, E) and ABORT (T): upper case set, lower case clear.
        let with_flags = |name: &str, rng: &mut Rng| match name {
            "DATA" if rng.chance(40) => format!("DATA:{}", rng.pick(&["B", "e", "Be", "IU", "iuBE"])),
            "ABORT" if rng.chance(40) => format!("ABORT:{}", rng.pick(&["T", "t"])),
            other => other.to_string(),
        };
        let listed: Vec<String> = names.iter().map(|n| with_flags(n, rng)).collect();
        let invert = if rng.chance(15) { " !" } else { "" };
        let chunks = match rng.below(3) {
            0 => format!("{invert} --chunk-types all {}", listed.join(",")),
            1 => format!("{invert} --chunk-types only {}", listed.join(",")),
            _ => format!("{invert} --chunk-types any {}", listed.join(",")),
        };
        let port = match rng.below(4) {
            0 => format!(" --dport {}", rng.pick(&[9, 80, 2905])),
            1 => format!(" ! --sport {}", rng.pick(&[9, 80, 2905])),
            _ => String::new(),
        };
        let target = if rng.chance(15) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -p sctp -m sctp{port}{chunks}{target}"));
    }
    let tool = if v6 { "ip6tables-save" } else { "iptables-save" };
    let save = format!(
        "# Generated by {tool} v1.8.9 (nf_tables)\n*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p sctp -j CT --notrack\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{}\nCOMMIT\n",
        fwd.join("\n")
    );
    let mut sc = Scenario::new(format!("sctp-{i}"), save);
    for k in 0..14 + rng.below(6) {
        let (src, dst) = (ip(&host(v6, false, rng.below(5))), ip(&host(v6, true, rng.below(5))));
        let mut b = nftvm_runtime::packet::PacketBuilder::ip(src, dst).sctp(
            *rng.pick(&[9u16, 80, 2905, 40000]),
            *rng.pick(&[9u16, 80, 2905]),
            0x1000 + k as u32,
        );
        let count = if rng.chance(10) { 0 } else { 1 + rng.below(4) };
        for _ in 0..count {
            let kind = if rng.chance(15) { *rng.pick(&[15u8, 99]) } else { rng.pick(&SCTP_CHUNKS).1 };
            let value: Vec<u8> = (0..rng.below(9)).map(|v| v as u8).collect();
            b = b.chunk(kind, rng.u16() as u8, &value);
        }
        if rng.chance(10) {
            // A chunk header claiming length 0.
            b = b.payload(&[rng.pick(&SCTP_CHUNKS).1, 0, 0, 0]);
        }
        sc.send("tuna", b.build());
    }
    sc
}

/// `-m srh` (the kernel's ip6t_srh, revision 1, as ip6tables-nft loads it; nftvm's
/// `match name srh`) on forwarded IPv6 packets with a routing header: Segment Routing Headers
/// (type 4) of one to three segments, Segments Left at, below or past Last Entry, three tags
/// (7 both ways round: the kernel reads the tag in host byte order),
/// some behind a hop-by-hop header, some claiming more bytes than the packet has; routing
/// type 2; no routing header. Rules test the header's fields (sometimes two comparisons of one
/// field, which share the last value given) and its previous, next and last segment, `!`
/// included.
pub fn srh(rng: &mut Rng, i: usize) -> Scenario {
    use nftvm_runtime::packet::PacketBuilder;
    const SEGMENTS: [&str; 4] = ["c::1", "c::2", "c::3", "d::1"];
    let mut fwd = Vec::new();
    for _ in 0..4 + rng.below(5) {
        let mut opts = Vec::new();
        let bang = |rng: &mut Rng| if rng.chance(20) { "! " } else { "" };
        if rng.chance(25) {
            opts.push(format!("{}--srh-next-hdr {}", bang(rng), rng.pick(&[17, 59])));
        }
        for (field, values) in [("hdr-len", [2u8, 4, 6]), ("segs-left", [0, 1, 2]), ("last-entry", [0, 1, 2])]
        {
            if !rng.chance(30) {
                continue;
            }
            // One comparison, or two different ones (iptables takes each once).
            let first = rng.below(3);
            let ops = if rng.chance(40) { vec![first, (first + 1 + rng.below(2)) % 3] } else { vec![first] };
            for op in ops {
                let op = ["eq", "gt", "lt"][op];
                opts.push(format!("{}--srh-{field}-{op} {}", bang(rng), rng.pick(&values)));
            }
        }
        if rng.chance(20) {
            opts.push(format!("{}--srh-tag {}", bang(rng), rng.pick(&[0, 7])));
        }
        for sid in ["psid", "nsid", "lsid"] {
            if rng.chance(20) {
                let net = if rng.chance(30) {
                    "c::/64".to_string()
                } else {
                    format!("{}/128", rng.pick(&SEGMENTS))
                };
                opts.push(format!("{}--srh-{sid} {net}", bang(rng)));
            }
        }
        let target = if rng.chance(20) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m srh {}{target}", opts.join(" ")).replace("  ", " "));
    }
    let mut sc = Scenario::new(format!("srh-{i}"), save_file(true, &fwd));
    for k in 0..14 + rng.below(6) {
        let (src, dst) = v6_hosts(rng);
        let mut b = PacketBuilder::ipv6(src, dst);
        let hop = rng.chance(20);
        if hop {
            b = b.hop_by_hop(&[]);
        }
        let count = 1 + rng.below(3);
        let last = if rng.chance(15) { rng.below(3) } else { count - 1 };
        let left = rng.below(count + 1);
        let routing_type = if rng.chance(15) { 2 } else { 4 };
        let mut body = vec![routing_type, left as u8, last as u8, 0];
        body.extend_from_slice(&rng.pick(&[0u16, 7, 0x0700]).to_be_bytes());
        for _ in 0..count {
            let s: std::net::Ipv6Addr = rng.pick(&SEGMENTS).parse().expect("v6");
            body.extend_from_slice(&s.octets());
        }
        if rng.chance(85) {
            b = b.ext_header(nftvm_runtime::packet::ip::protocol::ROUTING, &body);
        }
        let cut = rng.chance(10);
        let b =
            if cut || rng.chance(30) { b.protocol(59) } else { b.udp(40000 + k as u16, 53).payload(b"q") };
        let mut p = b.build();
        if cut {
            // The routing header (after the fixed header and any hop-by-hop header) claims
            // 16 bytes more than the packet has.
            let at = 40 + if hop { 8 } else { 0 } + 1;
            if let Some(len) = p.get_mut(at) {
                *len = len.wrapping_add(2);
            }
        }
        sc.send("tuna", p);
    }
    sc
}

/// `-m physdev` (the kernel's xt_physdev, as iptables-nft loads it; nftvm's `match name
/// physdev`) on routed packets: bridge port names, `--physdev-is-in/-out/-bridged`, `!` on
/// each. No packet here crosses a bridge, in the kernel's namespace as in nftvm, so a test
/// holds only when inverted — the rule counters and drops show it.
pub fn physdev(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let mut fwd = Vec::new();
    for _ in 0..3 + rng.below(5) {
        let bang = |rng: &mut Rng| if rng.chance(45) { "! " } else { "" };
        let mut opts = Vec::new();
        if rng.chance(40) {
            opts.push(format!("{}--physdev-in {}", bang(rng), rng.pick(&["tuna", "eth0", "br-port+"])));
        }
        if rng.chance(30) {
            opts.push(format!("{}--physdev-out {}", bang(rng), rng.pick(&["tunb", "eth1"])));
        }
        for flag in ["--physdev-is-in", "--physdev-is-out", "--physdev-is-bridged"] {
            if rng.chance(30) {
                opts.push(format!("{}{flag}", bang(rng)));
            }
        }
        if opts.is_empty() {
            opts.push(format!("{}--physdev-is-bridged", bang(rng)));
        }
        let target = if rng.chance(30) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m physdev {}{target}", opts.join(" ")));
    }
    let mut sc = Scenario::new(format!("physdev-{i}"), save_file(v6, &fwd));
    for _ in 0..8 + rng.below(6) {
        let src = (ip(&host(v6, false, rng.below(5))), 40000 + rng.u16() % 1000);
        let dst = (ip(&host(v6, true, rng.below(5))), *rng.pick(&PORTS));
        let p = packet(rng, src, dst);
        sc.send("tuna", p);
    }
    sc
}

/// Classic BPF programs for `-m bpf --bytecode`: `tcpdump -ddd` on raw IP for the filter
/// named, or assembled by hand where tcpdump writes no such instruction.
const BPF_PROGRAMS: [(&str, &str); 14] = [
    (
        "udp dst port 53",
        "19,48 0 0 0,84 0 0 240,21 0 4 96,48 0 0 6,21 0 13 17,40 0 0 42,21 10 11 53,48 0 0 0,84 0 0 240,21 0 8 64,48 0 0 9,21 0 6 17,40 0 0 6,69 4 0 8191,177 0 0 0,72 0 0 2,21 0 1 53,6 0 0 65535,6 0 0 0",
    ),
    (
        "tcp[tcpflags] & tcp-syn != 0",
        "12,48 0 0 0,84 0 0 240,21 0 8 64,48 0 0 9,21 0 6 6,40 0 0 6,69 4 0 8191,177 0 0 0,80 0 0 13,69 0 1 2,6 0 0 65535,6 0 0 0",
    ),
    ("ip[8] > 63", "7,48 0 0 0,84 0 0 240,21 0 3 64,48 0 0 8,37 0 1 63,6 0 0 65535,6 0 0 0"),
    ("len > 60", "4,128 0 0 0,37 0 1 60,6 0 0 65535,6 0 0 0"),
    (
        "ip6 and udp",
        "10,48 0 0 0,84 0 0 240,21 0 6 96,48 0 0 6,21 3 0 17,21 0 3 44,48 0 0 40,21 0 1 17,6 0 0 65535,6 0 0 0",
    ),
    (
        "tcp dst portrange 80-443",
        "20,48 0 0 0,84 0 0 240,21 0 4 96,48 0 0 6,21 0 14 6,40 0 0 42,53 10 12 80,48 0 0 0,84 0 0 240,21 0 9 64,48 0 0 9,21 0 7 6,40 0 0 6,69 5 0 8191,177 0 0 0,72 0 0 2,53 0 2 80,37 1 0 443,6 0 0 65535,6 0 0 0",
    ),
    (
        "icmp or icmp6",
        "15,48 0 0 0,84 0 0 240,21 0 2 64,48 0 0 9,21 8 9 1,48 0 0 0,84 0 0 240,21 0 6 96,48 0 0 6,21 3 0 58,21 0 3 44,48 0 0 40,21 0 1 58,6 0 0 65535,6 0 0 0",
    ),
    (
        "ip[2:2] & 3 = 0 or ip6[7] < 64",
        "12,48 0 0 0,84 0 0 240,21 0 2 64,40 0 0 2,69 6 5 3,48 0 0 0,84 0 0 240,21 0 3 96,48 0 0 7,53 1 0 64,6 0 0 65535,6 0 0 0",
    ),
    // ttl * 3 % 7 == 2, through scratch memory and X.
    (
        "ttl*3%7 = 2",
        "10,48 0 0 8,2 0 0 0,36 0 0 3,148 0 0 7,7 0 0 0,96 0 0 0,135 0 0 0,21 0 1 2,6 0 0 1,6 0 0 0",
    ),
    // A division by a zero X ends the program with 0.
    ("word 12 / 0", "4,1 0 0 0,32 0 0 12,60 0 0 0,6 0 0 1"),
    // -((id >> 4) ^ 90) >= 1000 (unsigned).
    ("neg xor", "8,40 0 0 4,116 0 0 4,164 0 0 90,132 0 0 0,1 0 0 1000,61 0 1 0,6 0 0 1,6 0 0 0"),
    // A load past the packet ends the program with 0.
    ("word 1000", "2,32 0 0 1000,6 0 0 1"),
    // The protocol byte through SKF_NET_OFF.
    ("net[9] = 17", "4,48 0 0 4293918729,21 0 1 17,6 0 0 1,6 0 0 0"),
    // len << (33 & 31) > 100.
    ("len << x", "6,1 0 0 33,128 0 0 0,108 0 0 0,37 0 1 100,6 0 0 1,6 0 0 0"),
];

/// `-m bpf --bytecode` (the kernel's xt_bpf, as iptables-nft loads it; nftvm's `match name
/// bpf`) on forwarded TCP, UDP and ICMP packets, IPv4 and IPv6: tcpdump's programs for port,
/// flag, header-field and length filters, and hand-made ones for scratch memory, the ALU,
/// division by a zero register, loads past the packet and `SKF_NET_OFF`.
pub fn bpf(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let mut fwd = Vec::new();
    for _ in 0..3 + rng.below(4) {
        let (_, program) = rng.pick(&BPF_PROGRAMS);
        let target = if rng.chance(30) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m bpf --bytecode \"{program}\"{target}"));
    }
    let mut sc = Scenario::new(format!("bpf-{i}"), save_file(v6, &fwd));
    for _ in 0..10 + rng.below(6) {
        let src = (ip(&host(v6, false, rng.below(5))), 40000 + rng.u16() % 1000);
        let dst = (ip(&host(v6, true, rng.below(5))), *rng.pick(&[53u16, 80, 443, 8080]));
        let p = packet(rng, src, dst);
        sc.send("tuna", p);
    }
    sc
}

/// `-m hbh` / `-m dst` with option lists (the kernel's ip6t_hbh, as ip6tables-nft loads it;
/// nftvm's `match name hbh`/`dst`): forwarded IPv6 packets with hop-by-hop and destination
/// options headers of router-alert and skippable unknown options (and, in destination
/// options, Pad1 and PadN); rules list
/// options in order, with and without lengths, and test the header length (`!` included).
/// Some destination headers claim more bytes than the packet has, and some chains end where
/// a destination header should start (the kernel drops the packet for a `-m dst` rule).
pub fn ipv6_opts(rng: &mut Rng, i: usize) -> Scenario {
    use nftvm_runtime::packet::PacketBuilder;
    // (type, a length to name when listed)
    const OPTIONS: [(u8, u8); 4] = [(0, 0), (1, 0), (5, 2), (30, 3)];
    let mut fwd = Vec::new();
    for _ in 0..3 + rng.below(5) {
        let (name, flag) = if rng.bool() { ("hbh", "hbh") } else { ("dst", "dst") };
        let mut opts = Vec::new();
        if rng.chance(35) {
            let bang = if rng.chance(25) { "! " } else { "" };
            opts.push(format!("{bang}--{flag}-len {}", rng.pick(&[8, 16, 24])));
        }
        if rng.chance(60) || opts.is_empty() {
            let list: Vec<String> = (0..1 + rng.below(3))
                .map(|_| {
                    let (t, l) = *rng.pick(&OPTIONS);
                    if t != 0 && rng.chance(50) {
                        format!("{t}:{}", if rng.chance(80) { l } else { l + 1 })
                    } else {
                        t.to_string()
                    }
                })
                .collect();
            opts.push(format!("--{flag}-opts {}", list.join(",")));
        }
        let target = if rng.chance(25) { " -j DROP" } else { "" };
        fwd.push(format!("-A FORWARD -m {name} {}{target}", opts.join(" ")));
    }
    let mut sc = Scenario::new(format!("ipv6-opts-{i}"), save_file(true, &fwd));
    for k in 0..12 + rng.below(6) {
        let (src, dst) = v6_hosts(rng);
        // Hop-by-hop options are checked on receipt, before netfilter (the `hop-by-hop`
        // template's subject; more than 7 bytes of padding in a row are dropped there): only
        // the destination options get Pad1 and PadN, so the match sees every packet.
        let options = |rng: &mut Rng, hop: bool| {
            let mut tlv = Vec::new();
            for _ in 0..rng.below(4) {
                let kind = if hop { *rng.pick(&[5u8, 30]) } else { rng.pick(&OPTIONS).0 };
                if kind == 5 && tlv.first() == Some(&5) {
                    continue;
                }
                match kind {
                    0 => tlv.push(0),
                    1 => tlv.extend_from_slice(&[1, 1, 0]),
                    5 => tlv.extend_from_slice(&[5, 2, 0, 0]),
                    _ => tlv.extend_from_slice(&[30, 3, 7, 7, 7]),
                }
            }
            tlv
        };
        let mut b = PacketBuilder::ipv6(src, dst);
        if rng.chance(60) {
            b = b.hop_by_hop(&options(rng, true));
        }
        let dest = rng.chance(60);
        if dest {
            b = b.dest_options(&options(rng, false));
        }
        let cut = dest && rng.chance(10);
        let b = if !dest && rng.chance(8) {
            // The chain names a destination options header that is not there.
            b.protocol(60)
        } else if cut || rng.chance(20) {
            b.protocol(59)
        } else {
            b.udp(40000 + k as u16, 53).payload(b"q")
        };
        let mut p = b.build();
        if cut {
            // The destination options header (after the hop-by-hop one, if any) claims 16
            // bytes more.
            let pos = if p[6] == 0 { 40 + (usize::from(p[41]) + 1) * 8 } else { 40 };
            if let Some(len) = p.get_mut(pos + 1) {
                *len = len.wrapping_add(2);
            }
        }
        sc.send("tuna", p);
    }
    sc
}
