//! `nftvm eval` end to end: the command line contract of DESIGN.md ("eval --json": keys,
//! one object per input packet, `rules` as `file:line`, `out` as hex), `--trace`, `--out`
//! (pcapng with the out interfaces), `--conntrack-dump`, classic pcap with `--iif`,
//! Ethernet captures, and errors that name what is wrong. What the pipeline decides is
//! checked against the kernel by `kernel_diff`; here the command's output is checked
//! against the library pipeline on the same input.

mod common;

use common::scratch::ScratchDir;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nftvm_runtime::host::Host;
use nftvm_runtime::io::pcap::{CaptureReader, PcapWriter, Precision};
use nftvm_runtime::io::pcapng::PcapngWriter;
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use nftvm_runtime::pipeline::{Pipeline, PipelineConfig, VmEngine};
use serde_json::Value;

/// Line 5 has the first rule (ssh accept), line 12 the counter-and-drop rule.
const PROGRAM: &str = "table inet f
chain inet f fwd type filter hook forward priority 0 policy accept
chain inet f in type filter hook input priority 0 policy drop

inet f fwd
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0016 ]
  [ immediate reg 0 accept ]

inet f fwd
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x11 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 0 drop ]

inet f in
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ immediate reg 0 accept ]
";

/// This suite's scratch directory `name`.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new("eval-cli", name)
}

fn packets() -> Vec<(&'static str, Vec<u8>)> {
    let a = "10.0.1.2".parse::<std::net::Ipv4Addr>().unwrap();
    let b = "10.0.2.2".parse::<std::net::Ipv4Addr>().unwrap();
    let me = "10.0.1.1".parse::<std::net::Ipv4Addr>().unwrap();
    vec![
        ("tuna", PacketBuilder::ipv4(a, b).tcp(40000, 22).flags(0x02).seq(1).build()),
        ("tuna", PacketBuilder::ipv4(a, b).udp(40000, 53).payload(b"q").build()),
        ("tuna", PacketBuilder::ipv4(a, me).icmp_echo_request(1, 1).payload(b"ping").build()),
        ("tunb", PacketBuilder::ipv4(b, a).tcp(22, 40000).flags(0x12).seq(7).ack(2).build()),
        ("tuna", vec![0x45, 0, 0, 20, 0, 0]),
    ]
}

fn write_pcapng(path: &Path, pkts: &[(&str, Vec<u8>)]) {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    for (i, (iface, p)) in pkts.iter().enumerate() {
        let idx = w.interface(Some(iface), LinkType::Raw).unwrap();
        w.write_packet(idx, Duration::from_secs(1_700_000_000 + i as u64), p, p.len() as u32).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

fn eval(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nftvm")).arg("eval").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const HOST: [&str; 4] = ["--iface", "tuna=10.0.1.1/24", "--iface", "tunb=10.0.2.1/24"];

fn setup(name: &str) -> (ScratchDir, String, String) {
    let d = scratch(name);
    std::fs::write(d.path("rules.nftvm"), PROGRAM).unwrap();
    write_pcapng(&d.path("in.pcapng"), &packets());
    let r = d.path("rules.nftvm").display().to_string();
    let p = d.path("in.pcapng").display().to_string();
    (d, r, p)
}

#[test]
fn json_has_one_object_per_packet_with_the_design_keys() {
    let (_d, rules, pcap) = setup("json");
    let mut args = vec![rules.as_str(), "--pcap", pcap.as_str(), "--json"];
    args.extend(HOST);
    let (code, stdout, stderr) = eval(&args);
    assert_eq!(code, 0, "{stderr}");
    let objs: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objs.len(), 5);
    for (i, o) in objs.iter().enumerate() {
        for key in ["packet", "iif", "path", "verdict", "oif", "ct_state", "rules", "out"] {
            assert!(o.get(key).is_some(), "packet {i}: no `{key}` in {o}");
        }
        assert_eq!(o["packet"], i + 1);
    }
    // ssh forwarded: the rule at line 5 decided it; out is the packet with TTL 63.
    assert_eq!(objs[0]["path"], serde_json::json!(["prerouting", "forward", "postrouting"]));
    assert_eq!(objs[0]["verdict"], "accept");
    assert_eq!(objs[0]["oif"], "tunb");
    assert_eq!(objs[0]["rules"], serde_json::json!([format!("{rules}:5")]));
    let out = objs[0]["out"].as_str().unwrap();
    assert_eq!(&out[16..18], "3f");
    assert_eq!(objs[0]["ct_state"], "new");
    // udp dropped by the rule at line 12.
    assert_eq!(objs[1]["verdict"], "drop");
    assert_eq!(objs[1]["out"], Value::Null);
    assert_eq!(objs[1]["oif"], Value::Null);
    assert_eq!(objs[1]["rules"], serde_json::json!([format!("{rules}:12")]));
    // The echo request is delivered locally (out null) and answered.
    assert_eq!(objs[2]["path"], serde_json::json!(["prerouting", "input"]));
    assert_eq!(objs[2]["out"], Value::Null);
    assert_eq!(objs[2]["emitted"][0]["kind"], "echo-reply");
    assert_eq!(objs[2]["emitted"][0]["oif"], "tuna");
    // The reply of the ssh connection is established.
    assert_eq!(objs[3]["ct_state"], "established");
    assert_eq!(objs[3]["oif"], "tuna");
    // A broken packet is dropped with a reason, not a crash.
    assert_eq!(objs[4]["verdict"], "drop");
    assert!(objs[4]["reason"].as_str().unwrap().contains("not a valid IP packet"));
}

#[test]
fn json_matches_the_library_pipeline() {
    let (_d, rules, pcap) = setup("lib");
    let mut args = vec![rules.as_str(), "--pcap", pcap.as_str(), "--json"];
    args.extend(HOST);
    let (_, stdout, _) = eval(&args);
    let prog = nftvm_vm::verify(nftvm_vm::text::assemble(PROGRAM).unwrap()).unwrap();
    let host = Host::from_specs(&["tuna=10.0.1.1/24".into(), "tunb=10.0.2.1/24".into()], &[]).unwrap();
    let mut p =
        Pipeline::new(host, Box::new(VmEngine::interpreter(Arc::new(prog), 0)), PipelineConfig::default());
    for (line, (iface, pkt)) in stdout.lines().zip(packets()) {
        let o: Value = serde_json::from_str(line).unwrap();
        let iif = p.host().iface_by_name(iface).unwrap();
        let lib = p.process(iif, 0, pkt, LinkType::Raw);
        let hex: Vec<String> =
            lib.emitted.iter().map(|e| e.bytes.iter().map(|b| format!("{b:02x}")).collect()).collect();
        let cli: Vec<String> =
            o["emitted"].as_array().unwrap().iter().map(|e| e["out"].as_str().unwrap().to_string()).collect();
        assert_eq!(cli, hex);
        assert_eq!(o["verdict"], lib.packet.fate.verdict_name());
    }
}

#[test]
fn trace_out_and_conntrack_dump() {
    let (d, rules, pcap) = setup("trace");
    let out = d.path("out.pcapng").display().to_string();
    let mut args =
        vec![rules.as_str(), "--pcap", pcap.as_str(), "--trace", "--out", out.as_str(), "--conntrack-dump"];
    args.extend(HOST);
    let (code, stdout, stderr) = eval(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("trace id 00000001 inet f fwd rule ")
            && l.ends_with(&format!("(verdict accept) [{rules}:5]"))),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.contains("inet f in packet: iif \"tuna\"")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("packet 2 tuna: prerouting forward → drop")), "{stdout}");
    // conntrack -L lines at the end: the ssh connection (replied) and the echo.
    let ct: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("tcp ") || l.starts_with("icmp ") || l.starts_with("udp "))
        .collect();
    assert!(
        ct.iter().any(|l| l.starts_with("tcp      6 ") && l.contains("SYN_RECV") && l.contains("dport=22")),
        "{ct:?}"
    );
    assert!(ct.iter().any(|l| l.starts_with("icmp     1 ") && l.contains("type=8")), "{ct:?}");
    // --out: every emitted packet, on its out interface, raw IP.
    let recs: Vec<_> = CaptureReader::open(&out).unwrap().map(|r| r.unwrap()).collect();
    let ifaces: Vec<&str> = recs.iter().map(|r| r.interface_name.as_deref().unwrap()).collect();
    assert_eq!(ifaces, ["tunb", "tuna", "tuna"]);
    assert!(recs.iter().all(|r| r.link_type == LinkType::Raw));
    assert_eq!(recs[0].timestamp, Duration::from_secs(1_700_000_000));
}

#[test]
fn classic_pcap_needs_iif_and_ethernet_frames_work() {
    let d = scratch("pcap");
    std::fs::write(d.path("rules.nftvm"), PROGRAM).unwrap();
    let frame = PacketBuilder::ipv4(
        "10.0.1.2".parse::<std::net::Ipv4Addr>().unwrap(),
        "10.0.2.2".parse::<std::net::Ipv4Addr>().unwrap(),
    )
    .ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
    .tcp(1, 22)
    .flags(0x02)
    .build();
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, Precision::Micro).unwrap();
    w.write_packet(Duration::from_secs(5), &frame, frame.len() as u32).unwrap();
    std::fs::write(d.path("in.pcap"), w.finish().unwrap()).unwrap();
    let rules = d.path("rules.nftvm").display().to_string();
    let pcap = d.path("in.pcap").display().to_string();
    let mut args = vec![rules.as_str(), "--pcap", pcap.as_str(), "--json"];
    args.extend(HOST);
    let (code, _, stderr) = eval(&args);
    assert_eq!(code, 2);
    assert!(stderr.contains("packet 1") && stderr.contains("--iif"), "{stderr}");
    args.extend(["--iif", "tuna"]);
    let (code, stdout, stderr) = eval(&args);
    assert_eq!(code, 0, "{stderr}");
    let o: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(o["oif"], "tunb");
    // The out packet is raw IP (no Ethernet header).
    assert!(o["out"].as_str().unwrap().starts_with("45"));
}

#[test]
fn bad_input_is_reported_not_panicked() {
    let (d, rules, pcap) = setup("errors");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![rules.clone()], "--pcap"),
        (
            vec![rules.clone(), "--pcap".into(), pcap.clone(), "--iface".into(), "tuna=10.0.1.1/33".into()],
            "prefix length",
        ),
        (
            vec![rules.clone(), "--pcap".into(), pcap.clone(), "--iface".into(), "tuna=10.0.1.1/24".into()],
            "tunb",
        ),
        (vec![rules.clone(), "--pcap".into(), pcap.clone(), "--tcp-loose".into(), "2".into()], "0 or 1"),
        (
            vec![rules.clone(), "--pcap".into(), pcap.clone(), "--engine".into(), "fast".into()],
            "interp or jit",
        ),
        (vec![rules.clone(), "--pcap".into(), d.path("missing.pcap").display().to_string()], "missing.pcap"),
        (vec![d.path("nope.nft").display().to_string(), "--pcap".into(), pcap.clone()], "nope.nft"),
    ];
    for (args, needle) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, stderr) = eval(&a);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: expected `{needle}` in {stderr}");
    }
    std::fs::write(
        d.path("bad.nftvm"),
        "table ip t\nchain ip t c type filter hook input priority 0 policy drop\n\nip t c\n  [ bogus ]\n",
    )
    .unwrap();
    let bad = d.path("bad.nftvm").display().to_string();
    let (code, _, stderr) = eval(&[bad.as_str(), "--pcap", pcap.as_str()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.nftvm:4"), "{stderr}");
}
