//! `nftvm bench` and `nftvm import-classbench` on the command line: the output contract
//! (`--json`: one object per engine with `engine`, `packets`, `mismatches`,
//! `ns_per_packet_median`, `compile_ms`), the trace check as the oracle (a wrong expected
//! filter must be reported as a mismatch, exit 1), and clear errors for bad arguments.
//! Small hand-made inputs keep it quick; the full ClassBench sets run in tests/classbench.rs.

mod common;

use nftvm::runtime::io::pcap::{PcapWriter, Precision};
use nftvm::runtime::packet::{LinkType, PacketBuilder};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// Three wustl-form filters: web to one server from 10/8, UDP from 10.1/16, anything.
const FILTERS: &str = "\
@10.0.0.0/8 192.168.1.1/32 0 : 65535 80 : 80 0x06/0xFF
@10.1.0.0/16 0.0.0.0/0 0 : 65535 0 : 65535 0x11/0xFF
@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00
";

/// Packets for [`FILTERS`] (addresses as decimal u32) and the filter each must hit first.
const TRACE: &str = "\
167904004 3232235777 1234 80 6 1
167838211 134744072 5353 53 17 2
184549377 134744072 1 2 6 3
167904004 3232235777 1234 81 6 3
";

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nftvm-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

fn nftvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("run nftvm")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn assert_contract(v: &Value, engine: &str, packets: u64) {
    assert_eq!(v["engine"], engine, "{v}");
    assert_eq!(v["packets"], packets, "{v}");
    assert!(v["ns_per_packet_median"].as_f64().is_some_and(|ns| ns > 0.0), "{v}");
    assert!(v["compile_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{v}");
}

#[test]
fn classbench_json_reports_each_engine_and_checks_the_trace() {
    let rules = temp("filters", FILTERS.as_bytes());
    let trace = temp("trace", TRACE.as_bytes());
    let (r, t) = (rules.to_str().unwrap(), trace.to_str().unwrap());
    let out = nftvm(&["bench", "classbench", r, t, "--engine", "both", "--json", "--repeat", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{}", text(&out.stdout));
    for (v, engine) in lines.iter().zip(["interp", "jit"]) {
        assert_contract(v, engine, 4);
        assert_eq!(v["mismatches"], 0, "{v}");
    }
    // One engine only, and a trace that expects the wrong filter: a mismatch, exit 1.
    let wrong = temp("trace-wrong", TRACE.replace("5353 53 17 2", "5353 53 17 1").as_bytes());
    let out = nftvm(&["bench", "classbench", r, wrong.to_str().unwrap(), "--engine", "jit", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_contract(&lines[0], "jit", 4);
    assert_eq!(lines[0]["mismatches"], 1, "{}", lines[0]);
    assert!(text(&out.stderr).contains("(filter 1): expected mark 1, got mark 2"), "{}", text(&out.stderr));
    // The rules as firewalls write them: each action's check holds on the right trace; the
    // jumps' marks (filter modulo 4) still catch the wrong one. (`mark` checks against a scan
    // for the last matching filter, `accept-drop` the verdicts.)
    for action in ["mark-accept", "accept-drop", "jump", "mark"] {
        let out = nftvm(&["bench", "classbench", r, t, "--action", action, "--json", "--repeat", "1"]);
        assert!(out.status.success(), "{action}: {}", text(&out.stderr));
        assert!(json_lines(&out).iter().all(|v| v["mismatches"] == 0), "{action}: {}", text(&out.stdout));
    }
    let out = nftvm(&["bench", "classbench", r, wrong.to_str().unwrap(), "--action", "jump", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = nftvm(&["bench", "classbench", r, t, "--action", "reject"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--action takes"), "{}", text(&out.stderr));
}

#[test]
fn import_classbench_prints_a_ruleset_that_marks_each_filter() {
    let rules = temp("filters-import", FILTERS.as_bytes());
    let out = nftvm(&["import-classbench", rules.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let nft = text(&out.stdout);
    for i in 1..=3 {
        assert!(nft.contains(&format!("meta mark set {i} accept")), "{nft}");
    }
    let file = temp("imported.nft", nft.as_bytes());
    let check = nftvm(&["check", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn pcap_bench_breaks_the_cost_down_per_chain_and_rule() {
    let ruleset = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established accept\n\t\ttcp dport 22 accept\n\t\tudp dport 53 accept\n\t}\n}\n";
    let rules = temp("rules.nft", ruleset.as_bytes());
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, Precision::Micro).expect("pcap");
    for (i, port) in [22u16, 53, 80].into_iter().enumerate() {
        let b = PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 10]);
        let p = if port == 53 { b.udp(5000, port).build() } else { b.tcp(5000, port).flags(0x02).build() };
        w.write_packet(Duration::from_secs(i as u64), &p, p.len() as u32).expect("write");
    }
    let pcap = temp("in.pcap", &w.finish().expect("pcap"));
    let (r, p) = (rules.to_str().unwrap(), pcap.to_str().unwrap());
    let out = nftvm(&["bench", r, "--pcap", p, "--json", "--repeat", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    for (v, engine) in lines.iter().zip(["interp", "jit"]) {
        assert_contract(v, engine, 3);
        assert_eq!(v["mismatches"], 0, "{v}");
        assert_eq!(v["chains"][0]["chain"], "inet filter input", "{v}");
        let rules = v["rules"].as_array().expect("rules");
        let evaluated = |line: &str| {
            rules
                .iter()
                .find(|x| x["location"].as_str().is_some_and(|l| l.ends_with(line)))
                .map(|x| x["evaluated"].clone())
        };
        // All three packets are new: the ct state rule and the ssh rule see all three, the
        // DNS rule the two that are not ssh.
        assert_eq!(evaluated(":4"), Some(Value::from(3)), "{v}");
        assert_eq!(evaluated(":5"), Some(Value::from(3)), "{v}");
        assert_eq!(evaluated(":6"), Some(Value::from(2)), "{v}");
    }
    // Human-readable form: the table, the ratio line and the breakdown.
    let out = nftvm(&["bench", r, "--pcap", p, "--repeat", "1", "--top", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("per chain") && s.contains("most expensive rules"), "{s}");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let rules = temp("filters-bad", FILTERS.as_bytes());
    let trace = temp("trace-bad", b"167904004 3232235777 1234 80 6\n");
    let r = rules.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 9] = [
        (&["bench"], 2, "expected `classbench RULES TRACE` or `RULESET --pcap IN`"),
        (&["bench", "classbench", r], 2, "expected `classbench RULES TRACE`"),
        (&["bench", "classbench", r, r, "--engine", "llvm"], 2, "llvm"),
        (&["bench", "classbench", r, r, "--repeat", "0"], 2, "--repeat takes a positive number"),
        (&["bench", "classbench", "/nonexistent/rules", r], 2, "/nonexistent/rules"),
        (&["bench", "classbench", r, trace.to_str().unwrap()], 1, "trace-bad:1:"),
        (&["bench", r, "--pcap", "/nonexistent.pcap", "--syntax", "yaml"], 2, "--syntax takes nft"),
        (&["bench", r, "--pcap", "/nonexistent.pcap", "--baseline"], 2, "are for `classbench RULES TRACE`"),
        (&["import-classbench", trace.to_str().unwrap()], 1, "trace-bad:1:"),
    ];
    for (args, code, needle) in cases {
        let out = nftvm(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: stderr lacks {needle:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `--query-profile` on a ClassBench set classified as one run: one query per packet, each
/// answered by exactly one part of the tree (every trace packet has its filter), the parts'
/// counts in order (an asked part is passed over, ends the query on a final answer or is
/// walked; it answers only when walked), and the text table names its columns.
#[test]
fn query_profile_counts_one_answered_query_per_trace_packet() {
    let dir = common::shared_dir().join("classbench/wustl");
    let (rules, trace) = (dir.join("rules/acl1_1K"), dir.join("traces/acl1_1K_trace"));
    let (r, t) = (rules.to_str().unwrap(), trace.to_str().unwrap());
    let out = nftvm(&[
        "bench",
        "classbench",
        r,
        t,
        "--engine",
        "jit",
        "--json",
        "--repeat",
        "1",
        "--query-profile",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let packets = lines[0]["packets"].as_u64().expect("packets");
    let profile = lines.iter().find(|v| v.get("classifier").is_some()).expect("a query profile line");
    assert_eq!(profile["queries"].as_u64(), Some(packets), "{profile}");
    let parts = profile["parts"].as_array().expect("parts");
    assert!(parts.len() >= 2, "{profile}");
    let count = |p: &Value, k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k} in {p}"));
    let answered: u64 = parts.iter().map(|p| count(p, "answered")).sum();
    assert_eq!(answered, packets, "{profile}");
    assert_eq!(count(&parts[0], "asked"), packets, "the first part is asked every time: {profile}");
    for p in parts {
        let (walked, passed_over, ended) =
            (count(p, "walked"), count(p, "passed_over"), count(p, "ended_final"));
        assert_eq!(walked + passed_over + ended, count(p, "asked"), "no walk kept: {p}");
        assert!(count(p, "answered") <= count(p, "walked"), "{p}");
    }
    let out = nftvm(&["bench", "classbench", r, t, "--engine", "jit", "--repeat", "1", "--query-profile"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("steps/walk") && table.contains("final") && table.contains("__classify0"),
        "{table}"
    );
}

/// `--query-profile` with a capture: the reference run on the interpreter counts the
/// classifier's queries — one per packet through the classified chain — and their answers.
#[test]
fn pcap_query_profile_counts_the_reference_run() {
    let dir = common::shared_dir().join("classbench/wustl");
    let out = nftvm(&["import-classbench", dir.join("rules/acl1_1K").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rules = temp("acl1_1K.nft", &out.stdout);
    let trace = std::fs::read_to_string(dir.join("traces/acl1_1K_trace")).expect("trace");
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, Precision::Micro).expect("pcap");
    let mut packets = 0;
    for line in trace.lines().take(200) {
        let f: Vec<u32> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let [src, dst, sport, dport, proto, ..] = f[..] else { continue };
        let b = PacketBuilder::ipv4(src.to_be_bytes(), dst.to_be_bytes());
        let p = match proto {
            6 => b.tcp(sport as u16, dport as u16).flags(0x02).build(),
            17 => b.udp(sport as u16, dport as u16).build(),
            _ => continue,
        };
        w.write_packet(Duration::from_secs(packets), &p, p.len() as u32).expect("write");
        packets += 1;
    }
    assert!(packets > 100, "{packets} TCP/UDP packets");
    let pcap = temp("acl1.pcap", &w.finish().expect("pcap"));
    let (r, p) = (rules.to_str().unwrap(), pcap.to_str().unwrap());
    let out =
        nftvm(&["bench", r, "--pcap", p, "--json", "--repeat", "1", "--engine", "jit", "--query-profile"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    let profile = lines.iter().find(|v| v.get("classifier").is_some()).expect("a query profile line");
    assert_eq!(profile["queries"].as_u64(), Some(packets), "{profile}");
    let answered: u64 =
        profile["parts"].as_array().expect("parts").iter().filter_map(|p| p["answered"].as_u64()).sum();
    assert!(answered > 0 && answered <= packets, "{profile}");
    // Without the flag, no profile line.
    let out = nftvm(&["bench", r, "--pcap", p, "--json", "--repeat", "1", "--engine", "jit"]);
    assert!(json_lines(&out).iter().all(|v| v.get("classifier").is_none()), "{}", text(&out.stdout));
}
