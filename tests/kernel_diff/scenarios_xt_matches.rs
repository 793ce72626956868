//! x_tables matches nft has no expression for, which iptables-nft loads as the kernel's
//! matches and nftvm runs too (more are in `scenarios_ipset.rs`): `-m policy` with policy
//! elements or `--dir out`, `-m cluster`, `-m time --monthdays`, `-m dccp --dccp-option`,
//! `-m rt`, `-m mh`, `-m frag`, `-m esp`/`-m ah`, `--icmp-type`/`--icmpv6-type`, `-m helper`. Every rule counts (most have no target), so the
//! rule counters say which packets each match took.

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_ipset::v6_hosts;
use crate::scenarios_xt_targets::{flow, host, save_file};
use nftvm::compiler::iptables::matches::time::format_date;
use nftvm::vm::calendar::civil_from_days;

/// One `--next`-separated element of an IPsec policy: some of reqid, spi, proto, mode and
/// (in tunnel mode) the tunnel's end points, each perhaps inverted.
fn policy_elem(rng: &mut Rng, v6: bool) -> String {
    let bang = |rng: &mut Rng| if rng.chance(25) { "! " } else { "" };
    let mut opts = Vec::new();
    if rng.chance(40) {
        opts.push(format!("{}--reqid {}", bang(rng), rng.below(4)));
    }
    if rng.chance(40) {
        opts.push(format!("{}--spi 0x{:x}", bang(rng), rng.u32() % 0x1000));
    }
    if rng.chance(50) {
        opts.push(format!("{}--proto {}", bang(rng), rng.pick(&["esp", "ah", "ipcomp"])));
    }
    if rng.chance(40) {
        opts.push("--mode tunnel".into());
        if rng.chance(60) {
            opts.push(format!("{}--tunnel-src {}", bang(rng), host(v6, false, rng.below(3))));
        }
        if rng.chance(40) {
            opts.push(format!("{}--tunnel-dst {}", bang(rng), host(v6, true, rng.below(3))));
        }
    } else if rng.chance(30) {
        opts.push(format!("{}--mode transport", bang(rng)));
    }
    if opts.is_empty() {
        opts.push(format!("--proto {}", rng.pick(&["esp", "ah"])));
    }
    opts.join(" ")
}

/// A `-m policy` match for `dir`: `--pol none`, or `--pol ipsec` with up to three elements
/// (`--strict` for more than one), or none.
fn policy_match(rng: &mut Rng, v6: bool, dir: &str) -> String {
    if rng.chance(30) {
        return format!("-m policy --dir {dir} --pol none");
    }
    let elems = rng.below(4);
    let strict = if elems > 1 || (elems == 1 && rng.bool()) { " --strict" } else { "" };
    let list: Vec<String> = (0..elems).map(|_| policy_elem(rng, v6)).collect();
    let tail = if list.is_empty() { String::new() } else { format!(" {}", list.join(" --next ")) };
    format!("-m policy --dir {dir} --pol ipsec{strict}{tail}")
}

/// `-m policy` (the kernel's xt_policy) in the hooks each direction is valid in: input
/// policies in PREROUTING and FORWARD, output policies in FORWARD and POSTROUTING. Nothing
/// here is IPsec, so `--pol none` takes every packet and `--pol ipsec` none, whatever the
/// elements and their inversions; now and then a rule drops what it takes.
pub fn policy(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let rule = |rng: &mut Rng, chain: &str, dir: &str| {
        let target = if rng.chance(10) { " -j DROP" } else { "" };
        format!("-A {chain} {}{target}", policy_match(rng, v6, dir))
    };
    let mut mangle = Vec::new();
    for _ in 0..1 + rng.below(2) {
        mangle.push(rule(rng, "PREROUTING", "in"));
    }
    for _ in 0..1 + rng.below(2) {
        mangle.push(rule(rng, "POSTROUTING", "out"));
    }
    let forward: Vec<String> = (0..2 + rng.below(4))
        .map(|_| {
            let dir = if rng.bool() { "in" } else { "out" };
            rule(rng, "FORWARD", dir)
        })
        .collect();
    let mut sc = Scenario::new(format!("policy-{i}"), save_file(v6, &mangle, &forward));
    for _ in 0..2 + rng.below(2) {
        flow(&mut sc, rng, v6);
    }
    sc
}

/// A `-m cluster` match: 1 to 4 nodes, some of them this node's, a random seed.
fn cluster_match(rng: &mut Rng) -> String {
    let nodes = 1 + rng.below(4) as u32;
    let bang = if rng.chance(25) { "! " } else { "" };
    let mine = if rng.bool() {
        format!("{bang}--cluster-local-node {}", 1 + rng.below(nodes as usize))
    } else {
        format!("{bang}--cluster-local-nodemask 0x{:x}", 1 + rng.u32() % ((1 << nodes) - 1))
    };
    format!("-m cluster --cluster-total-nodes {nodes} {mine} --cluster-hash-seed 0x{:x}", rng.u32())
}

/// An active FTP session through the FTP helper: the control connection from `client`,
/// PORT, and the data connection the server opens from port 20 — RELATED, its master the
/// control connection, whose client address the cluster hash takes.
fn ftp_active(sc: &mut Scenario, rng: &mut Rng, client: std::net::IpAddr, server: std::net::IpAddr) {
    let ca = SocketAddr::new(client, 40000 + rng.u16() % 1000);
    let sa = SocketAddr::new(server, 21);
    let (cs, ss) = (rng.u32(), rng.u32());
    let syn = sc.send("tuna", tcp(ca, sa, SYN, cs, 0, b""));
    sc.reply_if_sent("tunb", syn, move |seen| tcp_reply(seen, SYN | ACK, ss, cs.wrapping_add(1), b""));
    sc.send("tuna", tcp(ca, sa, ACK, cs.wrapping_add(1), ss.wrapping_add(1), b""));
    let lport = 30000 + rng.u16() % 20000;
    let std::net::IpAddr::V4(a) = client else { return };
    let o = a.octets();
    // The helper reads a command only where a line starts: after an earlier line's end.
    let user = b"USER ftp\r\n";
    sc.send("tuna", tcp(ca, sa, ACK | PSH, cs.wrapping_add(1), ss.wrapping_add(1), user));
    let seq = cs.wrapping_add(1 + user.len() as u32);
    let cmd = format!("PORT {},{},{},{},{},{}\r\n", o[0], o[1], o[2], o[3], lport >> 8, lport & 0xff);
    sc.send("tuna", tcp(ca, sa, ACK | PSH, seq, ss.wrapping_add(1), cmd.as_bytes()));
    let dss = rng.u32();
    let data =
        sc.send("tunb", tcp(SocketAddr::new(server, 20), SocketAddr::new(client, lport), SYN, dss, 0, b""));
    let dcs = rng.u32();
    sc.reply_if_sent("tuna", data, move |seen| tcp_reply(seen, SYN | ACK, dcs, dss.wrapping_add(1), b""));
}

/// `-m cluster` (the kernel's xt_cluster) in mangle PREROUTING and FORWARD: connections
/// from several sources, both directions (the hash is always of the original source), an
/// active FTP data connection (hashed by its master's source, not its own), and UDP to port
/// 53 left untracked in the raw table (no connection: no cluster rule matches, `!` or not).
pub fn cluster(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let raw = "-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\n-A PREROUTING -p udp --dport 53 -j CT --notrack\n";
    let rule = |rng: &mut Rng, chain: &str| {
        let target = if rng.chance(10) { " -j DROP" } else { "" };
        format!("-A {chain} {}{target}\n", cluster_match(rng))
    };
    let mangle: String = (0..1 + rng.below(2)).map(|_| rule(rng, "PREROUTING")).collect();
    let forward: String = (0..2 + rng.below(3)).map(|_| rule(rng, "FORWARD")).collect();
    let tool = if v6 { "ip6tables-save" } else { "iptables-save" };
    let save = format!(
        "# Generated by {tool} v1.8.9 (nf_tables)\n*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}COMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{mangle}COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{forward}COMMIT\n"
    );
    let mut sc = Scenario::new(format!("cluster-{i}"), save);
    for _ in 0..3 + rng.below(3) {
        flow(&mut sc, rng, v6);
    }
    if !v6 && rng.chance(70) {
        let (c, s) = (host(false, false, rng.below(4)), host(false, true, rng.below(3)));
        ftp_active(&mut sc, rng, c, s);
    }
    sc
}

/// `-m helper`: the kernel's xt_helper reads the helper of the connection's master — an FTP
/// data connection's `ftp` — and matches when the name given begins with it (`ftp-21`
/// matches, `ft` does not), any helper for an empty name, and with `!` also packets
/// without a connection, a master or a helper.
pub fn helper(rng: &mut Rng, i: usize) -> Scenario {
    let raw = "-A PREROUTING -p tcp --dport 21 -j CT --helper ftp\n-A PREROUTING -p udp --dport 53 -j CT --notrack\n";
    let forward: String = (0..3 + rng.below(3))
        .map(|_| {
            let bang = if rng.chance(30) { "! " } else { "" };
            let name = rng.pick(&["ftp", "ftp", "ftp-21", "ft", "tftp", "\"\""]);
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD -m helper {bang}--helper {name}{target}\n")
        })
        .collect();
    let save = format!(
        "# Generated by iptables-save v1.8.9 (nf_tables)\n*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{forward}COMMIT\n"
    );
    let mut sc = Scenario::new(format!("helper-{i}"), save);
    for _ in 0..1 + rng.below(3) {
        flow(&mut sc, rng, false);
    }
    let (c, s) = (host(false, false, rng.below(4)), host(false, true, rng.below(3)));
    ftp_active(&mut sc, rng, c, s);
    sc
}

fn clock_text(secs: i64) -> String {
    let t = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

/// The wall clock in seconds, after waiting out the last two minutes of a UTC day (so that
/// the kernel and nftvm see the same date).
fn wall_clock() -> i64 {
    let now =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let left = 86_400 - now() % 86_400;
    if left < 120 {
        std::thread::sleep(std::time::Duration::from_secs(left + 2));
    }
    now() as i64
}

/// A `-m time` match (the kernel's xt_time; nftvm's `match name time` with `--monthdays`,
/// else nft's `meta` keys) around `now`: days of the month with or without today, weekdays, a time of
/// day (a window around now, one well away from it, or one wrapping past midnight, maybe
/// `--contiguous`), a date window (around now, or over), `--kerneltz`.
fn time_match(rng: &mut Rng, now: i64) -> String {
    const NAMES: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days = now.div_euclid(86_400);
    let today = civil_from_days(days).2 as u32;
    let weekday = ((4 + days - 1).rem_euclid(7) + 1) as usize;
    let mut month: Vec<u32> = (0..1 + rng.below(3)).map(|_| 1 + rng.below(31) as u32).collect();
    if rng.chance(60) {
        month.push(today);
    } else {
        month.retain(|d| *d != today);
        if month.is_empty() {
            month.push(today % 28 + 1);
        }
    }
    month.sort_unstable();
    month.dedup();
    let list: Vec<String> = month.iter().map(u32::to_string).collect();
    // Without `--monthdays` nftvm writes the match as nft's `meta` time keys: checked too.
    let mut opts = Vec::new();
    if rng.chance(60) {
        opts.push(format!("--monthdays {}", list.join(",")));
    }
    if rng.chance(40) {
        let mut w: Vec<usize> = (0..1 + rng.below(3)).map(|_| 1 + rng.below(7)).collect();
        if rng.bool() {
            w.push(weekday);
        }
        w.sort_unstable();
        w.dedup();
        opts.push(format!("--weekdays {}", w.iter().map(|k| NAMES[*k]).collect::<Vec<_>>().join(",")));
    }
    if rng.chance(50) {
        let (lo, hi) = match rng.below(3) {
            0 => (now - 600 - rng.below(3600) as i64, now + 600 + rng.below(3600) as i64),
            1 => (now + 1200 + rng.below(3600) as i64, now + 5400 + rng.below(3600) as i64),
            _ => (now + 1200 + rng.below(36_000) as i64, now - 1200 - rng.below(36_000) as i64),
        };
        opts.push(format!("--timestart {} --timestop {}", clock_text(lo), clock_text(hi)));
        // (iptables takes `--contiguous` only for a window that wraps past midnight.)
        if lo.rem_euclid(86_400) > hi.rem_euclid(86_400) && rng.chance(50) {
            opts.push("--contiguous".into());
        }
    }
    if rng.chance(30) {
        let (lo, hi) =
            if rng.bool() { (now - 86_400 * 40, now + 86_400) } else { (now - 86_400 * 40, now - 600) };
        opts.push(format!("--datestart {} --datestop {}", format_date(lo as u32), format_date(hi as u32)));
    }
    if opts.is_empty() {
        opts.push(format!("--weekdays {}", NAMES[weekday]));
    }
    if rng.chance(20) {
        opts.push("--kerneltz".into());
    }
    format!("-m time {}", opts.join(" "))
}

/// `-m time` (the kernel's xt_time) on the wall clock, which both the kernel and nftvm's
/// packet clock run on here.
pub fn time(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let now = wall_clock();
    let forward: Vec<String> = (0..2 + rng.below(4))
        .map(|_| {
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD {}{target}", time_match(rng, now))
        })
        .collect();
    let mut sc = Scenario::new(format!("time-{i}"), save_file(v6, &[], &forward));
    sc.clock = now as u64 * 1_000_000_000;
    for _ in 0..1 + rng.below(2) {
        flow(&mut sc, rng, v6);
    }
    sc
}

const DCCP_TYPES: [&str; 11] = [
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK",
    "INVALID",
];
/// DCCP options as the packets carry them: (type, bytes) — Padding, Mandatory, Slow
/// Receiver (a single byte in DCCP, which the kernel's walk reads a length after), Change
/// L, Confirm L, Timestamp, Elapsed Time.
const DCCP_OPTIONS: [(u8, &[u8]); 7] = [
    (0, &[0]),
    (1, &[1]),
    (2, &[2]),
    (32, &[32, 4, 1, 2]),
    (34, &[34, 3, 1]),
    (41, &[41, 6, 0, 0, 0, 9]),
    (43, &[43, 4, 0, 7]),
];

/// A DCCP packet of a random type (with extended sequence numbers or not), some options,
/// and a data offset that covers them — or, now and then, one that ends before the headers
/// do or runs past the packet, or a header cut short.
fn dccp_packet(rng: &mut Rng, v6: bool) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let kind = *rng.pick(&[0u8, 1, 2, 3, 4, 7, 8, 12]);
    let extended = kind != 2 && rng.chance(60) || kind == 0 || kind == 1 || kind == 7;
    let own = match kind {
        2 => 0,
        3 | 4 | 5 | 6 | 8 | 9 => 8,
        0 => 4,
        _ => 12,
    };
    let mut h = Vec::new();
    h.extend_from_slice(&(40000 + rng.u16() % 100).to_be_bytes());
    h.extend_from_slice(&rng.pick(&[80u16, 443, 5004]).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, kind << 1 | u8::from(extended), 0, 0, 1]);
    h.resize(12 + if extended { 4 } else { 0 } + own, 0);
    for _ in 0..rng.below(4) {
        h.extend_from_slice(rng.pick(&DCCP_OPTIONS).1);
    }
    while h.len() % 4 != 0 {
        h.push(0);
    }
    h[4] = (h.len() / 4) as u8;
    match rng.below(12) {
        0 => h[4] = h[4].saturating_sub(1 + rng.below(3) as u8),
        1 => h[4] += 2,
        2 => h.truncate(4 + rng.below(8)),
        _ => h.extend_from_slice(b"data"),
    }
    let (src, dst) = (host(v6, false, rng.below(3)), host(v6, true, rng.below(3)));
    PacketBuilder::ip(src, dst).protocol(33).payload(&h).build()
}

/// `-p dccp -m dccp` (the kernel's xt_dccp): ports, packet types and `--dccp-option`, each
/// perhaps inverted; with an option nftvm runs the kernel's match, without one nft's `dccp`
/// keys — both checked, on packets with and without options and with broken data offsets
/// and cut headers (which the kernel's match drops).
pub fn dccp(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 3 == 2;
    let bang = |rng: &mut Rng| if rng.chance(25) { "! " } else { "" };
    let forward: Vec<String> = (0..3 + rng.below(4))
        .map(|_| {
            let mut opts = Vec::new();
            if rng.chance(30) {
                opts.push(format!("{}--dport {}", bang(rng), rng.pick(&[80, 443, 5004])));
            }
            if rng.chance(30) {
                let list: Vec<&str> = (0..1 + rng.below(3)).map(|_| *rng.pick(&DCCP_TYPES)).collect();
                opts.push(format!("{}--dccp-types {}", bang(rng), list.join(",")));
            }
            if rng.chance(75) || opts.is_empty() {
                let option = *rng.pick(&[1u8, 2, 32, 34, 41, 43, 44, 255]);
                opts.push(format!("{}--dccp-option {option}", bang(rng)));
            }
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD -p dccp -m dccp {}{target}", opts.join(" "))
        })
        .collect();
    let mut sc = Scenario::new(format!("dccp-{i}"), save_file(v6, &[], &forward));
    for _ in 0..8 + rng.below(6) {
        let p = dccp_packet(rng, v6);
        sc.send("tuna", p);
    }
    sc
}

/// Addresses a type-0 routing header lists.
fn rt_hop(k: usize) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::new(0xfd00, 3, 0, 0, 0, 0, 0, 1 + k as u16)
}

/// An IPv6 packet with a routing header of type 0 (up to three addresses), 2 (one) or 4 —
/// segments left 0..3, the reserved field zero or not — and now and then one whose header
/// claims more bytes than the packet has, or is cut within its first four bytes.
fn rt_packet(rng: &mut Rng) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let (src, dst) = v6_hosts(rng);
    let kind = *rng.pick(&[0u8, 0, 2, 4]);
    let hops = match kind {
        0 => rng.below(4),
        2 => 1,
        _ => 1 + rng.below(2),
    };
    let reserved = if rng.chance(70) { [0u8; 4] } else { [0, 0, 1, 0] };
    let mut body = vec![kind, rng.below(4) as u8];
    body.extend_from_slice(&reserved);
    for _ in 0..hops {
        body.extend_from_slice(&rt_hop(rng.below(4)).octets());
    }
    let mut p = PacketBuilder::ipv6(src, dst)
        .ext_header(43, &body)
        .udp(40000 + rng.u16() % 100, 53)
        .payload(b"q")
        .build();
    match rng.below(10) {
        0 => p[41] += 1 + rng.below(2) as u8,
        1 => {
            p.truncate(42);
            fix_v6_length(&mut p);
        }
        _ => {}
    }
    p
}

/// `-m rt` (the kernel's ip6t_rt): routing type, segments left and header length, each
/// perhaps inverted, and for type 0 the reserved field and the addresses, strictly or not.
pub fn rt(rng: &mut Rng, i: usize) -> Scenario {
    let bang = |rng: &mut Rng| if rng.chance(25) { "! " } else { "" };
    let forward: Vec<String> = (0..3 + rng.below(4))
        .map(|_| {
            let mut opts = Vec::new();
            let type0 = rng.chance(40);
            if type0 {
                opts.push("--rt-type 0".to_string());
            } else if rng.chance(50) {
                opts.push(format!("{}--rt-type {}", bang(rng), rng.pick(&[0, 2, 4])));
            }
            if rng.chance(40) {
                let lo = rng.below(3);
                opts.push(format!("{}--rt-segsleft {lo}:{}", bang(rng), lo + rng.below(3)));
            }
            if rng.chance(30) {
                opts.push(format!("{}--rt-len {}", bang(rng), rng.pick(&[8, 24, 40, 56])));
            }
            if type0 && rng.chance(40) {
                opts.push("--rt-0-res".into());
            }
            if type0 && rng.chance(60) {
                let list: Vec<String> =
                    (0..1 + rng.below(3)).map(|_| rt_hop(rng.below(4)).to_string()).collect();
                opts.push(format!("--rt-0-addrs {}", list.join(",")));
                if rng.bool() {
                    opts.push("--rt-0-not-strict".into());
                }
            }
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD -m rt {}{target}", opts.join(" "))
        })
        .collect();
    let mut sc = Scenario::new(format!("rt-{i}"), save_file(true, &[], &forward));
    for _ in 0..10 + rng.below(6) {
        let p = rt_packet(rng);
        sc.send("tuna", p);
    }
    sc
}

/// `-p mobility-header -m mh` (the kernel's ip6t_mh): type ranges, perhaps inverted, on
/// Mobility Headers of several types — with "no next header" as their payload protocol, or
/// another (which the kernel's match drops), or cut short.
pub fn mh(rng: &mut Rng, i: usize) -> Scenario {
    use nftvm_runtime::packet::PacketBuilder;
    let forward: Vec<String> = (0..2 + rng.below(4))
        .map(|_| {
            let types = match rng.below(4) {
                0 => String::new(),
                1 => format!(" --mh-type {}", rng.below(12)),
                _ => {
                    let lo = rng.below(10);
                    format!(" --mh-type {lo}:{}", lo + rng.below(6))
                }
            };
            let bang = if !types.is_empty() && rng.chance(30) { " !" } else { "" };
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD -p mobility-header -m mh{bang}{types}{target}")
        })
        .collect();
    let mut sc = Scenario::new(format!("mh-{i}"), save_file(true, &[], &forward));
    for _ in 0..8 + rng.below(6) {
        let (src, dst) = v6_hosts(rng);
        let proto = if rng.chance(80) { 59 } else { 17 };
        let mut body = vec![proto, 1, rng.below(12) as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        if rng.chance(10) {
            body.truncate(2 + rng.below(4));
        }
        sc.send("tuna", PacketBuilder::ipv6(src, dst).protocol(135).payload(&body).build());
    }
    sc
}

/// An IPv6 packet with a fragment header: atomic, first, middle or last fragment, the
/// identification one of a few, now and then a reserved bit set — or a header cut short.
fn frag_packet(rng: &mut Rng) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let (src, dst) = v6_hosts(rng);
    let ident = *rng.pick(&[1u32, 5, 9, 0x10000, u32::MAX]);
    let (offset, more) = match rng.below(4) {
        0 => (0, false),
        1 => (0, true),
        2 => (8 * (1 + rng.below(4) as u16), true),
        _ => (8 * (1 + rng.below(4) as u16), false),
    };
    let b = PacketBuilder::ipv6(src, dst).fragment(offset, more, ident);
    let b = if offset == 0 { b.udp(40000 + rng.u16() % 100, 53) } else { b.protocol(17) };
    let mut p = b.payload(b"fragment data").build();
    match rng.below(10) {
        0 => p[41] = 1 + rng.below(200) as u8,
        1 => p[43] |= 2 << rng.below(2),
        2 => {
            p.truncate(40 + rng.below(8));
            fix_v6_length(&mut p);
        }
        _ => {}
    }
    p
}

/// `-m frag` (the kernel's ip6t_frag): identification ranges, perhaps inverted, the
/// reserved, first, more and last tests and `--fraglen` (which the kernel ignores), on
/// fragments of every kind and on fragment headers cut short (which the match drops).
pub fn frag(rng: &mut Rng, i: usize) -> Scenario {
    let forward: Vec<String> = (0..3 + rng.below(4))
        .map(|_| {
            let mut opts = Vec::new();
            if rng.chance(50) {
                let bang = if rng.chance(25) { "! " } else { "" };
                let lo = *rng.pick(&[0u32, 1, 5, 9]);
                let id =
                    if rng.bool() { lo.to_string() } else { format!("{lo}:{}", lo + rng.below(6) as u32) };
                opts.push(format!("{bang}--fragid {id}"));
            }
            if rng.chance(25) {
                opts.push(format!("--fraglen {}", rng.pick(&[0, 8, 16])));
            }
            if rng.chance(25) {
                opts.push("--fragres".into());
            }
            match rng.below(5) {
                0 => opts.push("--fragfirst".into()),
                1 => opts.push("--fragmore".into()),
                2 => opts.push("--fraglast".into()),
                _ => {}
            }
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            format!("-A FORWARD -m frag {}{target}", opts.join(" "))
        })
        .collect();
    let mut sc = Scenario::new(format!("frag-{i}"), save_file(true, &[], &forward));
    for _ in 0..10 + rng.below(6) {
        let p = frag_packet(rng);
        sc.send("tuna", p);
    }
    sc
}

/// SPIs the IPsec packets carry and the rules test.
const SPIS: [u32; 4] = [0x100, 0x101, 0x2000, 0xdead_beef];

/// An ESP or AH packet (AH: of IPv4 its transport; of IPv6 an extension header before UDP,
/// with 0–3 words of ICV and now and then a reserved field set) — or, now and then, one
/// cut within the header the match reads.
fn ipsec_packet(rng: &mut Rng, v6: bool, ah: bool) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let (src, dst) = (host(v6, false, rng.below(3)), host(v6, true, rng.below(3)));
    let spi = *rng.pick(&SPIS);
    let icv = vec![0xab; 4 * rng.below(4)];
    let cut = rng.chance(10).then(|| rng.below(if ah { 12 } else { 8 }));
    if ah && v6 {
        let mut p =
            PacketBuilder::ip(src, dst).auth_header(spi, 1, &icv).udp(40000, 53).payload(b"q").build();
        if let Some(k) = cut {
            p.truncate(40 + k);
            fix_v6_length(&mut p);
        } else if rng.chance(15) {
            p[43] = 1;
        }
        return p;
    }
    let mut h = if ah { vec![17, (1 + icv.len() / 4) as u8, 0, 0] } else { Vec::new() };
    h.extend_from_slice(&spi.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 1]);
    h.extend_from_slice(if ah { &icv } else { b"encrypted" });
    if let Some(k) = cut {
        h.truncate(k);
    }
    PacketBuilder::ip(src, dst).protocol(if ah { 51 } else { 50 }).payload(&h).build()
}

/// `-m esp` and `-m ah` (the kernel's xt_esp, ipt_ah, ip6t_ah): SPI ranges, perhaps
/// inverted, and (IPv6 AH) the header length, perhaps inverted, and `--ahres`, on
/// headers whole and cut short (which the matches drop).
pub fn ipsec(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 2 == 1;
    let bang = |rng: &mut Rng| if rng.chance(25) { "! " } else { "" };
    let forward: Vec<String> = (0..3 + rng.below(4))
        .map(|_| {
            let ah = rng.bool();
            let mut opts = Vec::new();
            if rng.chance(70) {
                let lo = *rng.pick(&SPIS);
                let spi = if rng.bool() { lo.to_string() } else { format!("{lo}:{}", lo.saturating_add(1)) };
                opts.push(format!("{}--{}spi {spi}", bang(rng), if ah { "ah" } else { "esp" }));
            }
            if ah && v6 && rng.chance(40) {
                opts.push(format!("{}--ahlen {}", bang(rng), rng.pick(&[12, 16, 20, 24])));
            }
            if ah && v6 && rng.chance(25) {
                opts.push("--ahres".into());
            }
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            let proto = match (ah, v6) {
                (false, _) => "-p esp -m esp",
                (true, false) => "-p ah -m ah",
                (true, true) => "-m ah",
            };
            format!("-A FORWARD {proto} {}{target}", opts.join(" "))
        })
        .collect();
    let mut sc = Scenario::new(format!("ipsec-{i}"), save_file(v6, &[], &forward));
    for _ in 0..10 + rng.below(6) {
        let ah = rng.bool();
        let p = ipsec_packet(rng, v6, ah);
        sc.send("tuna", p);
    }
    sc
}

/// ICMP types the packets carry and the rules test, per family (no IPv6 neighbour discovery:
/// its messages are the host's own business).
const ICMP_TYPES: [u8; 6] = [0, 3, 5, 8, 11, 13];
const ICMPV6_TYPES: [u8; 6] = [1, 2, 3, 128, 129, 140];

/// An ICMP packet of one of the types, code 0–3 — or, now and then, one whose header is
/// shorter than 8 bytes, or (IPv4) a later fragment.
fn icmp_packet(rng: &mut Rng, v6: bool) -> Vec<u8> {
    use nftvm_runtime::packet::PacketBuilder;
    let (src, dst) = (host(v6, false, rng.below(3)), host(v6, true, rng.below(3)));
    let typ = *rng.pick(if v6 { &ICMPV6_TYPES } else { &ICMP_TYPES });
    let code = rng.below(4) as u8;
    let proto = if v6 { 58 } else { 1 };
    let b = PacketBuilder::ip(src, dst);
    match rng.below(10) {
        0 => b.protocol(proto).payload(&[typ, code, 0, 0, 0, 0, 0][..rng.below(8)]).build(),
        1 if !v6 => b
            .fragment(8 * (1 + rng.below(3) as u16), rng.bool(), 7)
            .protocol(1)
            .payload(&[typ, code, 0, 0, 0, 0, 0, 0])
            .build(),
        _ => b.icmp(typ, code, 0x0001_0002).payload(b"icmp data").build(),
    }
}

/// `--icmp-type` and `--icmpv6-type` (the kernel's icmp and icmp6 matches): types, codes and
/// code ranges, `any`, each perhaps inverted, on ICMP packets whole and with headers shorter
/// than 8 bytes (which the matches drop) and on later fragments (which they never match).
pub fn icmp(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 2 == 1;
    let forward: Vec<String> = (0..3 + rng.below(4))
        .map(|_| {
            let typ = *rng.pick(if v6 { &ICMPV6_TYPES } else { &ICMP_TYPES });
            let spec = match rng.below(5) {
                0 if !v6 => "any".to_string(),
                1 => format!("{typ}/{}", rng.below(3)),
                2 => {
                    let lo = rng.below(3);
                    format!("{typ}/{lo}:{}", lo + rng.below(3))
                }
                _ => typ.to_string(),
            };
            let bang = if rng.chance(30) { "! " } else { "" };
            let target = if rng.chance(10) { " -j DROP" } else { "" };
            match v6 {
                false => format!("-A FORWARD -p icmp -m icmp {bang}--icmp-type {spec}{target}"),
                true => format!("-A FORWARD -p ipv6-icmp -m icmp6 {bang}--icmpv6-type {spec}{target}"),
            }
        })
        .collect();
    let mut sc = Scenario::new(format!("icmp-{i}"), save_file(v6, &[], &forward));
    for _ in 0..10 + rng.below(6) {
        let p = icmp_packet(rng, v6);
        sc.send("tuna", p);
    }
    sc
}
