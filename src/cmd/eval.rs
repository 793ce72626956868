//! `nftvm eval RULESET --pcap IN [host model] [--json] [--trace] [--out OUT]`: offline replay
//! of a capture through the hook pipeline (see DESIGN.md, "eval --json").
//!
//! The ruleset (nft, iptables-save, ip6tables-save, or bytecode text for tests) is compiled
//! by [`nftvm::program`] and run on the engine `--engine` names.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use lexopt::prelude::*;
use nftvm_runtime::conntrack::Config as CtConfig;
use nftvm_runtime::host::Host;
use nftvm_runtime::io::pcap::CaptureReader;
use nftvm_runtime::pipeline::{Outcome, PacketReport, Pipeline, PipelineConfig, VmEngine, trace};
use nftvm_runtime::replay::{self, OutWriter};
use nftvm_vm::SourceId;
use serde_json::{Value, json};

use crate::cli::{
    CmdResult, Failure, flag01, ipset_value, no_opt, opt_level, optimizer_help, unexpected, value_str,
};
use crate::cmd::ruleset;
use nftvm_compiler::opt::{self, Level, Pass};

/// `eval` runs optimized unless told otherwise: every pass keeps what each packet gets.
const DEFAULT_LEVEL: Level = Level::O2;
/// ... except, by default, `merge`: rules merged into one set or map would all be reported
/// under the group's first rule, and `eval` promises each packet the rules that applied.
const DEFAULT_OFF: Pass = Pass::Merge;

const HELP: &str = "\
usage: nftvm eval RULESET --pcap IN [options]

Replays a pcap/pcapng capture through the hook pipeline (prerouting, input/forward,
output, postrouting) with conntrack and NAT, as Linux would treat those packets.

host model
  --iface NAME=ADDR/PLEN     an interface with an address and its connected route (repeatable)
  --route PREFIX=NAME        a route out of interface NAME (repeatable)
  --iif NAME                 the interface of packets in a classic pcap (no interface names)
  --mtu NAME=MTU             an interface's MTU (default 1500)

output
  --json                     one JSON object per input packet
  --trace                    nft monitor trace style lines (stderr with --json)
  --out OUT.pcapng           write the emitted packets, per out interface
  --conntrack-dump           print the final connection table (conntrack -L format)

engine and conntrack
  --engine interp|jit        the engine that runs the bytecode (default jit)
{OPT}
  --tcp-loose 0|1            nf_conntrack_tcp_loose (default 1)
  --tcp-be-liberal 0|1       nf_conntrack_tcp_be_liberal (default 0)
  --conntrack-max N          nf_conntrack_max (default 262144; 0 = unlimited)
  --bytecode                 RULESET is bytecode text (also: a .nftvm file)
  --syntax nft|iptables|ip6tables|bytecode   the ruleset's language (default: detect)
  --ipset FILE               the ipsets iptables rules name (`ipset save` output; repeatable)";

/// The command's help, with the optimizer's options.
fn help() -> String {
    HELP.replace("{OPT}", &optimizer_help(&format!("{DEFAULT_LEVEL} --no-opt {}", DEFAULT_OFF.name())))
}

/// The parsed command line.
#[derive(Debug, Default)]
struct Options {
    ruleset: Option<PathBuf>,
    pcap: Option<PathBuf>,
    ifaces: Vec<String>,
    routes: Vec<String>,
    mtus: Vec<String>,
    iif: Option<String>,
    json: bool,
    trace: bool,
    out: Option<PathBuf>,
    conntrack_dump: bool,
    engine: String,
    tcp_loose: bool,
    tcp_be_liberal: bool,
    conntrack_max: Option<usize>,
    bytecode: bool,
    syntax: Option<String>,
    ipsets: nftvm_compiler::ipset::Ipsets,
    ipset_files: Vec<PathBuf>,
    optimize: opt::Options,
}

/// The options, or `None` when `--help` was asked for (and printed).
fn parse(args: Vec<OsString>) -> Result<Option<Options>, Failure> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options {
        engine: "jit".into(),
        tcp_loose: true,
        optimize: opt::Options::level(DEFAULT_LEVEL),
        ..Options::default()
    };
    let mut optimizer_chosen = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('O') => {
                opt_level(&mut parser, &mut o.optimize)?;
                optimizer_chosen = true;
            }
            Long("no-opt") => {
                no_opt(&mut parser, &mut o.optimize)?;
                optimizer_chosen = true;
            }
            Long("pcap") => o.pcap = Some(parser.value()?.into()),
            Long("iface") => o.ifaces.push(value_str(&mut parser, "--iface")?),
            Long("route") => o.routes.push(value_str(&mut parser, "--route")?),
            Long("iif") => o.iif = Some(value_str(&mut parser, "--iif")?),
            Long("mtu") => o.mtus.push(value_str(&mut parser, "--mtu")?),
            Long("json") => o.json = true,
            Long("trace") => o.trace = true,
            Long("out") => o.out = Some(parser.value()?.into()),
            Long("conntrack-dump") => o.conntrack_dump = true,
            Long("engine") => o.engine = value_str(&mut parser, "--engine")?,
            Long("tcp-loose") => o.tcp_loose = flag01(&mut parser, "eval", "--tcp-loose")?,
            Long("tcp-be-liberal") => o.tcp_be_liberal = flag01(&mut parser, "eval", "--tcp-be-liberal")?,
            Long("conntrack-max") => {
                let v = value_str(&mut parser, "--conntrack-max")?;
                o.conntrack_max = Some(v.parse().map_err(|_| {
                    Failure::usage(format!("nftvm eval: --conntrack-max takes a number, not `{v}`"))
                })?);
            }
            Long("bytecode") => o.bytecode = true,
            Long("syntax") => o.syntax = Some(value_str(&mut parser, "--syntax")?),
            Long("ipset") => o.ipset_files.push(ipset_value(&mut parser, &mut o.ipsets)?),
            Short('h') | Long("help") => {
                println!("{}", help());
                return Ok(None);
            }
            Value(v) if o.ruleset.is_none() => o.ruleset = Some(v.into()),
            other => return Err(unexpected(other, "eval")),
        }
    }
    if !optimizer_chosen {
        o.optimize.disabled.push(DEFAULT_OFF);
    }
    Ok(Some(o))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn report_json(r: &PacketReport, host: &Host, sources: &[String]) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("path".into(), json!(r.path.iter().map(|h| h.name()).collect::<Vec<_>>()));
    m.insert("verdict".into(), json!(r.fate.verdict_name()));
    m.insert("oif".into(), r.oif.map_or(Value::Null, |o| json!(host.name(o))));
    m.insert("ct_state".into(), r.ct_state.map_or(Value::Null, |c| json!(c.name())));
    let rules: Vec<String> = r
        .rules
        .iter()
        .map(|h| sources.get(h.source.0 as usize).cloned().unwrap_or_else(|| format!("rule#{}", h.source.0)))
        .collect();
    m.insert("rules".into(), json!(rules));
    if r.local {
        m.insert("local".into(), json!(true));
    }
    match &r.fate {
        nftvm_runtime::pipeline::Fate::Dropped(why) => {
            m.insert("reason".into(), json!(why));
        }
        nftvm_runtime::pipeline::Fate::Held => {
            m.insert("held".into(), json!(true));
        }
        nftvm_runtime::pipeline::Fate::Stolen => {
            m.insert("stolen".into(), json!(true));
        }
        nftvm_runtime::pipeline::Fate::Accepted => {}
    }
    m
}

/// The `--json` object of one input packet.
pub fn outcome_json(index: usize, o: &Outcome, host: &Host, sources: &[String]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("packet".into(), json!(index));
    m.insert("iif".into(), json!(host.name(o.iif)));
    for (k, v) in report_json(&o.packet, host, sources) {
        m.insert(k, v);
    }
    m.insert("out".into(), o.out().map_or(Value::Null, |b| json!(hex(b))));
    let emitted: Vec<Value> = o
        .emitted
        .iter()
        .map(|e| {
            json!({
                "oif": host.name(e.oif),
                "out": hex(&e.bytes),
                "kind": e.generated.map_or(match e.kind {
                    nftvm_runtime::pipeline::EmitKind::Packet => "packet",
                    nftvm_runtime::pipeline::EmitKind::Fragment => "fragment",
                }, |g| g.name()),
            })
        })
        .collect();
    m.insert("emitted".into(), json!(emitted));
    if !o.generated.is_empty() {
        let gens: Vec<Value> = o
            .generated
            .iter()
            .map(|g| {
                let mut gm = report_json(g, host, sources);
                gm.insert("kind".into(), json!(g.generated.map_or("?", |k| k.name())));
                Value::Object(gm)
            })
            .collect();
        m.insert("generated".into(), json!(gens));
    }
    if o.reassembled {
        m.insert("reassembled".into(), json!(true));
    }
    Value::Object(m)
}

fn summary_line(index: usize, o: &Outcome, host: &Host) -> String {
    let path: Vec<&str> = o.packet.path.iter().map(|h| h.name()).collect();
    let mut s =
        format!("packet {index} {}: {} → {}", host.name(o.iif), path.join(" "), o.packet.fate.verdict_name());
    if let Some(oif) = o.packet.oif {
        s.push_str(&format!(" out {}", host.name(oif)));
    }
    if o.packet.local {
        s.push_str(" (local)");
    }
    if let Some(c) = o.packet.ct_state {
        s.push_str(&format!(" ct {}", c.name()));
    }
    if let nftvm_runtime::pipeline::Fate::Dropped(why) = &o.packet.fate {
        s.push_str(&format!(" ({why})"));
    }
    for g in &o.generated {
        s.push_str(&format!("; sent {} {}", g.generated.map_or("?", |k| k.name()), g.fate.verdict_name()));
    }
    s
}

pub fn run(args: Vec<OsString>) -> CmdResult {
    let Some(o) = parse(args)? else { return Ok(()) };
    let ruleset_path = o
        .ruleset
        .as_deref()
        .ok_or_else(|| Failure::usage(format!("nftvm eval: missing RULESET\n{}", help())))?;
    let pcap = o.pcap.as_deref().ok_or_else(|| Failure::usage("nftvm eval: missing --pcap IN"))?;
    let mut host =
        Host::from_specs(&o.ifaces, &o.routes).map_err(|e| Failure::usage(format!("nftvm eval: {e}")))?;
    for spec in &o.mtus {
        let parsed =
            spec.split_once('=').and_then(|(n, m)| Some((host.iface_by_name(n)?, m.parse::<u32>().ok()?)));
        match parsed {
            Some((id, mtu)) if id != nftvm_runtime::host::LOOPBACK && (68..=65535).contains(&mtu) => {
                host.set_mtu(id, mtu)
            }
            _ => {
                return Err(Failure::usage(format!(
                    "nftvm eval: --mtu {spec}: expected NAME=MTU for a declared interface (68..65535)"
                )));
            }
        }
    }
    let default_iif = match &o.iif {
        Some(name) => Some(
            host.iface_by_name(name)
                .filter(|id| host.iface(*id).is_some() && *id != nftvm_runtime::host::LOOPBACK)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "nftvm eval: --iif {name}: no such interface (declare it with --iface)"
                    ))
                })?,
        ),
        None => None,
    };
    let engine = ruleset::engine("eval", &o.engine)?;
    let format = ruleset::format("eval", o.bytecode, o.syntax.as_deref())?;
    let loaded = ruleset::load(ruleset_path, &host, format, &o.ipsets, &o.optimize)?;
    let engine = Box::new(VmEngine::from_first_packet(ruleset::executable(&loaded, engine)?));
    let prog = loaded.program().clone();
    let mut ct = CtConfig { tcp_loose: o.tcp_loose, tcp_be_liberal: o.tcp_be_liberal, ..CtConfig::default() };
    if let Some(max) = o.conntrack_max {
        ct.max = max;
    }
    let cfg = PipelineConfig { conntrack: ct, trace: o.trace, ..PipelineConfig::default() };
    let mut pipeline = Pipeline::new(host, engine, cfg);
    let mut reader = CaptureReader::open(pcap)
        .map_err(|e| Failure::runtime(format!("nftvm eval: {}: {e}", pcap.display())))?;
    let mut out = match &o.out {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| {
                Failure::runtime(format!("nftvm eval: cannot create {}: {e}", path.display()))
            })?;
            Some(
                OutWriter::new(std::io::BufWriter::new(f))
                    .map_err(|e| Failure::runtime(format!("nftvm eval: {e}")))?,
            )
        }
        None => None,
    };
    let names = pipeline.host().clone();
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut failure: Option<String> = None;
    let sources = loaded.labels();
    let source_of = |id: SourceId| loaded.location(id).map(str::to_string);
    let result = replay::replay(&mut reader, &mut pipeline, default_iif, |r, _record| {
        if failure.is_some() {
            return;
        }
        let res = (|| -> Result<(), String> {
            let lines: Vec<String> = if o.trace {
                r.outcome.trace.iter().map(|ev| trace::format_event(ev, prog.program(), &source_of)).collect()
            } else {
                Vec::new()
            };
            let io = |e: std::io::Error| e.to_string();
            if o.json {
                for l in &lines {
                    eprintln!("{l}");
                }
                writeln!(stdout, "{}", outcome_json(r.index, &r.outcome, &names, &sources)).map_err(io)?;
            } else {
                for l in &lines {
                    writeln!(stdout, "{l}").map_err(io)?;
                }
                writeln!(stdout, "{}", summary_line(r.index, &r.outcome, &names)).map_err(io)?;
            }
            if let Some(w) = out.as_mut() {
                w.write(&names, &r.outcome, r.timestamp).map_err(|e| e.to_string())?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(Failure::runtime(format!("nftvm eval: {e}")));
    }
    result.map_err(|e| Failure::runtime(format!("nftvm eval: {}: {e}", pcap.display())))?;
    if let Some(w) = out {
        w.finish().map_err(|e| Failure::runtime(format!("nftvm eval: writing --out: {e}")))?;
    }
    if o.conntrack_dump {
        let mut lines = pipeline.conntrack().dump(pipeline.now());
        lines.sort();
        for l in lines {
            writeln!(stdout, "{l}").map_err(|e| Failure::runtime(e.to_string()))?;
        }
    }
    Ok(())
}
