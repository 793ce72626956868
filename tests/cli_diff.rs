//! `nftvm diff`: the command-line contract — exit 0 equivalent, 1 different with
//! counterexample packets (fields, each side's verdict and deciding rule as `file:line`), 2 on
//! errors — and the oracle for its counterexamples: each one, turned into a real packet and
//! replayed with `nftvm eval` through both rulesets, must get a different fate there too.
//!
//! Rulesets: ClassBench 1K sets rendered as nft (rule *i* sets mark *i*, prerouting), their
//! equivalent rewrite (the rules behind a jump from a policy-drop base chain), and mutants of
//! live rules — a port changed, accept → drop, the rule deleted (its line blanked, so line
//! numbers stay comparable). The eval host forwards everything it accepts, so a packet's
//! fate there is its prerouting verdict and the rule that decided it.

mod common;

use common::scratch::ScratchDir;

use common::classbench_live::live;
use nftvm::classbench::to_nft;
use nftvm_runtime::io::pcapng::PcapngWriter;
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// This suite's scratch directory `name`.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new("cli-diff", name)
}

fn nftvm(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("run nftvm")
}

fn diff_json(a: &Path, b: &Path) -> (i32, Value) {
    let out = nftvm(&[Path::new("diff"), a, b, Path::new("--json")]);
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).expect("diff --json prints one JSON object"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// The IPv4 packet a prerouting counterexample describes (from its header images).
fn packet(c: &Value) -> Vec<u8> {
    let image = |base: &str| -> Vec<u8> {
        let h = c["headers"].as_array().and_then(|hs| hs.iter().find(|h| h["base"] == base));
        let bytes = h.map(|h| unhex(h["bytes"].as_str().unwrap_or(""))).unwrap_or_default();
        let mask = h.map(|h| unhex(h["mask"].as_str().unwrap_or(""))).unwrap_or_default();
        (0..20).map(|i| bytes.get(i).copied().unwrap_or(0) & mask.get(i).copied().unwrap_or(0)).collect()
    };
    let (nh, th) = (image("network"), image("transport"));
    let addr = |at: usize| Ipv4Addr::new(nh[at], nh[at + 1], nh[at + 2], nh[at + 3]);
    let port = |at: usize| u16::from_be_bytes([th[at], th[at + 1]]);
    let b = PacketBuilder::ipv4(addr(12), addr(16));
    match nh[9] {
        6 => b.tcp(port(0), port(2)).flags(th[13]).build(),
        17 => b.udp(port(0), port(2)).payload(b"x").build(),
        p => b.protocol(p).payload(&th[..8]).build(),
    }
}

/// `eval --json` of one packet entering on `in0`: (verdict, lines of the deciding rules).
fn eval(ruleset: &Path, dir: &ScratchDir, pkt: &[u8]) -> (String, Vec<String>) {
    let mut w = PcapngWriter::new(Vec::new()).expect("writer");
    let idx = w.interface(Some("in0"), LinkType::Raw).expect("interface");
    w.write_packet(idx, Duration::from_secs(1_700_000_000), pkt, pkt.len() as u32).expect("packet");
    let pcap = dir.path("ce.pcapng");
    std::fs::write(&pcap, w.finish().expect("finish")).expect("write capture");
    let out = Command::new(env!("CARGO_BIN_EXE_nftvm"))
        .arg("eval")
        .arg(ruleset)
        .arg("--pcap")
        .arg(&pcap)
        .args(["--iface", "in0=192.0.2.1/24", "--iface", "out0=198.51.100.1/24"])
        .args(["--route", "0.0.0.0/0=out0", "--json"])
        .output()
        .expect("run nftvm eval");
    assert!(out.status.success(), "eval: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one eval line");
    let lines = v["rules"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x.as_str()?.rsplit(':').next().map(str::to_string)).collect())
        .unwrap_or_default();
    (v["verdict"].as_str().unwrap_or("").to_string(), lines)
}

/// Replace the destination port of a rendered rule (None when it has none).
fn change_dport(line: &str, port: u16) -> Option<String> {
    let at = line.find(" dport ")? + " dport ".len();
    let end = line[at..].find(' ').map_or(line.len(), |e| at + e);
    Some(format!("{}{port}{}", &line[..at], &line[end..]))
}

#[derive(Default)]
struct Tally {
    mutants: usize,
    caught: usize,
    counterexamples: usize,
    replayed_different: usize,
}

fn run_set(name: &str, tally: &mut Tally) {
    let dir = scratch(name);
    let (filters, trace) = common::classbench(name);
    let text = to_nft(&filters);
    let a = dir.write("a.nft", &text);
    let lines: Vec<&str> = text.lines().collect();
    const HEADER: usize = 3;

    // An equivalent rewrite: exit 0, "equivalent".
    let rules: Vec<&str> = lines[HEADER..HEADER + filters.len()].to_vec();
    let rewrite = format!(
        "table ip classbench {{\n\tchain rules {{\n{}\n\t}}\n\tchain filter {{\n\t\ttype filter hook prerouting priority filter; policy drop;\n\t\tjump rules\n\t}}\n}}\n",
        rules.join("\n")
    );
    let r = dir.write("rewrite.nft", &rewrite);
    let out = nftvm(&[Path::new("diff"), &a, &r]);
    assert_eq!(out.status.code(), Some(0), "{name}: rewrite: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "equivalent\n");

    for (k, p) in live(&filters, &trace, 4) {
        let mut mutants: Vec<(&str, String)> = Vec::new();
        if let Some(l) = change_dport(lines[HEADER + k], p.dport ^ 1) {
            mutants.push(("port", l));
        }
        mutants.push(("drop", lines[HEADER + k].replace(" accept", " drop")));
        mutants.push(("delete", String::new()));
        for (kind, line) in mutants {
            let mut t = lines.clone();
            t[HEADER + k] = &line;
            let m = dir.write("m.nft", &(t.join("\n") + "\n"));
            let label = format!("{name} {kind} rule {}", k + 1);
            tally.mutants += 1;
            let (code, report) = diff_json(&a, &m);
            if code == 0 {
                eprintln!("{label}: not caught");
                continue;
            }
            tally.caught += 1;
            // The text form names both sides' deciding rules as file:line.
            let text = String::from_utf8_lossy(&nftvm(&[Path::new("diff"), &a, &m]).stdout).into_owned();
            assert!(text.contains(&format!("a.nft:{}", HEADER + k + 1)) || text.contains("m.nft:"), "{text}");
            for c in report["counterexamples"].as_array().expect("counterexamples") {
                tally.counterexamples += 1;
                assert_eq!(c["hook"], "prerouting", "{label}: {c}");
                let pkt = packet(c);
                let (fa, fm) = (eval(&a, &dir, &pkt), eval(&m, &dir, &pkt));
                if fa != fm {
                    tally.replayed_different += 1;
                } else {
                    eprintln!("{label}: counterexample does not replay with nftvm eval: {c}\n{fa:?}");
                }
            }
        }
    }
}

#[test]
fn classbench_counterexamples_replay_with_eval() {
    let mut tally = Tally::default();
    for set in ["acl1_1K", "fw1_1K", "ipc1_1K"] {
        run_set(set, &mut tally);
    }
    println!(
        "cli diff: {}/{} mutants caught, {}/{} counterexamples differ when replayed with nftvm eval",
        tally.caught, tally.mutants, tally.replayed_different, tally.counterexamples
    );
    assert_eq!(tally.caught, tally.mutants, "mutants of live rules not caught");
    assert!(tally.counterexamples > 0);
    assert_eq!(tally.replayed_different, tally.counterexamples, "counterexamples that do not replay");
}

#[test]
fn errors_exit_2_with_a_place() {
    let dir = scratch("errors");
    let good =
        dir.write("good.nft", "table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t}\n}\n");
    let bad = dir.write("bad.nft", "table ip t {\n\tchain c {\n\t\ttcp dport frobnicate accept\n\t}\n}\n");
    let out = nftvm(&[Path::new("diff"), &good, &bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.nft:3:"), "{err}");
    let out = nftvm(&[Path::new("diff"), &good, Path::new("/nonexistent/x.nft")]);
    assert_eq!(out.status.code(), Some(2));
    let out = nftvm(&[Path::new("diff"), &good]);
    assert_eq!(out.status.code(), Some(2), "one file only is a usage error");
}

#[test]
fn syntax_per_file() {
    // An ip6tables dump without the ip6tables-save header line is read as IPv4 unless told.
    let dump = common::shared_dir().join("peer-tests/iptables/save-dumps/ipt-restore--ip6tables.dump");
    let out = nftvm(&[Path::new("ip6tables-restore-translate"), Path::new("-f"), &dump]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = scratch("syntax");
    let nft = dir.write("x.nft", &String::from_utf8_lossy(&out.stdout));
    let detected = nftvm(&[Path::new("diff"), &dump, &nft]);
    assert_eq!(detected.status.code(), Some(2), "read as IPv4, its icmp6 reject types are errors");
    let told = nftvm(&[Path::new("diff"), &dump, &nft, Path::new("--syntax-a"), Path::new("ip6tables")]);
    assert_eq!(told.status.code(), Some(0), "{}", String::from_utf8_lossy(&told.stdout));
    let both = nftvm(&[Path::new("diff"), &dump, &nft, Path::new("--syntax"), Path::new("ip6tables")]);
    assert_eq!(both.status.code(), Some(2), "the nft file is not ip6tables-save");
}

#[test]
fn explain_lists_shadowed_rules() {
    let dir = scratch("explain");
    let rs = dir.write(
        "r.nft",
        "table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tip saddr 10.0.0.0/8 drop\n\t\tip saddr 10.1.0.0/16 accept\n\t}\n}\n",
    );
    let out = nftvm(&[Path::new("diff"), &rs, &rs, Path::new("--explain")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("equivalent\n"), "{text}");
    assert!(text.contains("r.nft:5") && text.contains("r.nft:4"), "{text}");
}

/// The README's migration example: `examples/router.save` translates exactly as the real
/// `iptables-restore-translate` does (but for its version and timestamps), the translation
/// diffs as equivalent, and a slip in it (the DNAT port) is caught.
#[test]
fn the_router_example_translates_like_the_real_tool_and_diffs_equivalent() {
    let save = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/router.save");
    let ours = Command::new(env!("CARGO_BIN_EXE_nftvm"))
        .args(["iptables-restore-translate", "-f"])
        .arg(&save)
        .output()
        .expect("run nftvm");
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let ours = String::from_utf8(ours.stdout).expect("UTF-8");
    let real = Command::new("iptables-restore-translate")
        .arg("-f")
        .arg(&save)
        .output()
        .expect("iptables-restore-translate (package iptables) must be installed");
    assert!(real.status.success(), "{}", String::from_utf8_lossy(&real.stderr));
    let real = String::from_utf8(real.stdout).expect("UTF-8");
    let body =
        |t: &str| -> Vec<String> { t.lines().filter(|l| !l.starts_with("# ")).map(str::to_string).collect() };
    assert_eq!(body(&ours), body(&real));
    assert!(body(&ours).len() > 20, "{ours}");

    let dir = scratch("router");
    let nft = dir.write("router.nft", &ours);
    let same = nftvm(&[Path::new("diff"), &save, &nft]);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stdout));
    let slipped = ours.replace("tcp dport 8080", "tcp dport 8081");
    assert_ne!(slipped, ours, "the example has a DNAT of port 8080");
    let slip = dir.write("slip.nft", &slipped);
    let differs = nftvm(&[Path::new("diff"), &save, &slip]);
    assert_eq!(differs.status.code(), Some(1), "{}", String::from_utf8_lossy(&differs.stderr));
    assert!(String::from_utf8_lossy(&differs.stdout).contains("tcp dport 808"));
}

/// `-m esp`, `-m ah`, `-m frag`, `-m rt`, `-m dccp` and `--icmp-type` run as the kernel's xt
/// matches; `diff` writes them out as
/// nft expressions (whole headers), so a save file and its translation are equivalent, and a
/// translation whose SPI or identification range differs is not.
#[test]
fn xt_header_matches_compare_with_their_translation() {
    let dir = scratch("xt-model");
    let cases = [
        (
            "esp.ipt",
            "iptables",
            "-A INPUT -p esp -m esp ! --espspi 256:511 -j DROP\n-A INPUT -p ah -m ah --ahspi 7 -j ACCEPT\n\
             -A INPUT -p icmp -m icmp --icmp-type echo-request -j DROP\n",
        ),
        (
            "frag.ipt",
            "ip6tables",
            "-A INPUT -m frag --fragid 5:9 --fragmore -j DROP\n-A INPUT -p esp -m esp --espspi 9 -j ACCEPT\n\
             -A INPUT -p ipv6-icmp -m icmp6 ! --icmpv6-type 128 -j DROP\n\
             -A INPUT -m rt --rt-type 2 --rt-segsleft 1:3 -j DROP\n\
             -A INPUT -p dccp -m dccp --dport 80 --dccp-types REQUEST -j ACCEPT\n\
             -A INPUT -p mobility-header -m mh --mh-type 1 -j DROP\n",
        ),
    ];
    for (name, tool, rules) in cases {
        let text = format!(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
        );
        let save = dir.write(name, &text);
        let out = Command::new(env!("CARGO_BIN_EXE_nftvm"))
            .args([&format!("{tool}-restore-translate"), "-f"])
            .arg(&save)
            .output()
            .expect("translate");
        let translation = String::from_utf8(out.stdout).expect("utf-8");
        let nft = dir.write(&format!("{name}.nft"), &translation);
        let syntax = Path::new(if tool == "iptables" { "iptables" } else { "ip6tables" });
        let run = |b: &Path| {
            let out = nftvm(&[Path::new("diff"), Path::new("--syntax-a"), syntax, &save, b]);
            (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let (code, text) = run(&nft);
        assert_eq!(code, Some(0), "{name}: {text}");
        let mutant = translation.replace("256-511", "256-510").replace("5-9", "5-8").replace("1-3", "1-2");
        assert_ne!(mutant, translation, "{name}: nothing mutated");
        let bad = dir.write(&format!("{name}.mutant.nft"), &mutant);
        let (code, text) = run(&bad);
        assert_eq!(code, Some(1), "{name}: {text}");
        assert!(!text.contains("limiter"), "{name}: the match taken as a free input: {text}");
    }
}
