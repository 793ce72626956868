//! `nftvm run RULESET --tun NAME=ADDR/PLEN … [options]`: live filtering and NAT between TUN
//! devices it creates (see DESIGN.md, and `nftvm_runtime::live` for the workers).
//!
//! Start-up: block SIGHUP/SIGINT/SIGTERM (they are read from a signalfd, no handler), build
//! the host model, compile the ruleset (the loader and engine adapter `eval` uses, see
//! `cmd::ruleset`), create every TUN device in this network namespace
//! (one queue per worker), give it its addresses and bring it up, start the workers, bind
//! the control socket and the metrics listener, then print `ready DEV…` on stdout. From then
//! on the main thread waits for signals and control connections (one thread each).
//! SIGHUP reloads the ruleset; SIGINT/SIGTERM stop the workers and exit 0.

use std::ffi::OsString;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lexopt::prelude::*;
use nftvm_runtime::conntrack::Config as CtConfig;
use nftvm_runtime::host::Host;
use nftvm_runtime::io::tun::Tun;
use nftvm_runtime::io::wait_readable;
use nftvm_runtime::live::{Instance, LiveConfig, Mode, metrics};
use nftvm_runtime::pipeline::{LocalStack, PipelineConfig};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::cli::{
    CmdResult, Failure, flag01, ipset_value, no_opt, opt_level, optimizer_help, unexpected, value_str,
};
use crate::cmd::ruleset;
use crate::ctl::CtlAddr;
use crate::ctl::reloader::{Reloader, Sources};
use crate::ctl::server::{Access, Control};

const HELP: &str = "\
usage: nftvm run RULESET --tun NAME=ADDR/PLEN ... [options]

Creates the TUN devices, brings them up with their addresses and forwards packets between
them through the hook pipeline (conntrack, NAT), like a Linux router running RULESET.
Prints `ready DEV...` once every device is up and being read. SIGHUP (or `nftvm reload`)
reloads RULESET; SIGINT/SIGTERM stop.

host model
  --tun NAME=ADDR/PLEN       a TUN device with an address (repeat for more addresses;
                             `--tun NAME` alone: a device without one)
  --route PREFIX=NAME        a route out of device NAME (repeatable)
  --mtu NAME=MTU             a device's MTU (default 1500)

engine and workers
  --engine interp|jit        the engine that runs the bytecode (default jit)
  --workers N                worker threads and queues per device (default 1)
  --forward-only             no pipeline: route and write (the no-op forwarder)
{OPT}

control
  --ctl PATH|@NAME           control socket (default: abstract @nftvm, per namespace)
  --ctl-group GROUP          a group whose members may use it (besides root / the owner)
  --metrics ADDR:PORT        serve Prometheus metrics over HTTP

conntrack
  --tcp-loose 0|1            nf_conntrack_tcp_loose (default 1)
  --tcp-be-liberal 0|1       nf_conntrack_tcp_be_liberal (default 0)
  --conntrack-max N          nf_conntrack_max (default 262144; 0 = unlimited)
  --syntax nft|iptables|ip6tables|bytecode   the ruleset's language (default: detect)
  --ipset FILE               the ipsets iptables rules name (`ipset save` output; repeatable)";

/// The command's help, with the optimizer's options.
fn help() -> String {
    HELP.replace("{OPT}", &optimizer_help("-O0"))
}

#[derive(Debug, Default)]
struct Options {
    ruleset: Option<PathBuf>,
    tuns: Vec<String>,
    routes: Vec<String>,
    mtus: Vec<String>,
    engine: String,
    workers: usize,
    forward_only: bool,
    ctl: Option<String>,
    ctl_group: Option<String>,
    metrics: Option<String>,
    tcp_loose: bool,
    tcp_be_liberal: bool,
    conntrack_max: Option<usize>,
    syntax: Option<String>,
    ipsets: nftvm_compiler::ipset::Ipsets,
    ipset_files: Vec<PathBuf>,
    optimize: nftvm_compiler::opt::Options,
}

fn parse(args: Vec<OsString>) -> Result<Option<Options>, Failure> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut o = Options { engine: "jit".into(), workers: 1, tcp_loose: true, ..Options::default() };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("tun") => o.tuns.push(value_str(&mut parser, "--tun")?),
            Long("route") => o.routes.push(value_str(&mut parser, "--route")?),
            Long("mtu") => o.mtus.push(value_str(&mut parser, "--mtu")?),
            Long("engine") => o.engine = value_str(&mut parser, "--engine")?,
            Long("workers") => {
                let v = value_str(&mut parser, "--workers")?;
                o.workers = v.parse().ok().filter(|n| (1..=256).contains(n)).ok_or_else(|| {
                    Failure::usage(format!("nftvm run: --workers takes a number from 1 to 256, not `{v}`"))
                })?;
            }
            Long("forward-only") => o.forward_only = true,
            Long("ctl") => o.ctl = Some(value_str(&mut parser, "--ctl")?),
            Long("ctl-group") => o.ctl_group = Some(value_str(&mut parser, "--ctl-group")?),
            Long("metrics") => o.metrics = Some(value_str(&mut parser, "--metrics")?),
            Long("tcp-loose") => o.tcp_loose = flag01(&mut parser, "run", "--tcp-loose")?,
            Long("tcp-be-liberal") => o.tcp_be_liberal = flag01(&mut parser, "run", "--tcp-be-liberal")?,
            Long("conntrack-max") => {
                let v = value_str(&mut parser, "--conntrack-max")?;
                o.conntrack_max = Some(v.parse().map_err(|_| {
                    Failure::usage(format!("nftvm run: --conntrack-max takes a number, not `{v}`"))
                })?);
            }
            Long("syntax") => o.syntax = Some(value_str(&mut parser, "--syntax")?),
            Long("ipset") => o.ipset_files.push(ipset_value(&mut parser, &mut o.ipsets)?),
            Short('O') => opt_level(&mut parser, &mut o.optimize)?,
            Long("no-opt") => no_opt(&mut parser, &mut o.optimize)?,
            Short('h') | Long("help") => {
                // -O0 by default: `nftvm list ruleset` shows the ruleset as written, with
                // each rule's own counters.
                println!("{}", help());
                return Ok(None);
            }
            Value(v) if o.ruleset.is_none() => o.ruleset = Some(v.into()),
            other => return Err(unexpected(other, "run")),
        }
    }
    Ok(Some(o))
}

/// The group id of `--ctl-group` (a name or a number).
fn group_id(group: &str) -> Result<u32, Failure> {
    if let Ok(n) = group.parse() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(Failure::usage(format!("nftvm run: --ctl-group: no group `{group}`"))),
    }
}

/// Creates the devices of `host` with `queues` queues each, addressed and up.
fn open_devices(host: &Host, queues: usize, mtus: &[(String, u32)]) -> Result<Vec<Vec<Tun>>, Failure> {
    let mut all = Vec::new();
    for iface in host.ifaces() {
        let fail = |e: std::io::Error| Failure::runtime(format!("nftvm run: {}: {e}", iface.name));
        let qs = if queues > 1 {
            Tun::open_queues(&iface.name, queues)
        } else {
            Tun::open(&iface.name).map(|t| vec![t])
        }
        .map_err(fail)?;
        let Some(first) = qs.first() else { return Err(Failure::runtime("nftvm run: no TUN queue")) };
        first.quiet_ipv6().map_err(fail)?;
        if let Some((_, mtu)) = mtus.iter().find(|(n, _)| *n == iface.name) {
            first.set_mtu(*mtu).map_err(fail)?;
        }
        // The ioctl interface holds one IPv4 address per device (the host model has all).
        let v4 = iface.addrs.iter().find(|p| matches!(p.addr, IpAddr::V4(_)));
        for p in v4.into_iter().chain(iface.addrs.iter().filter(|p| p.addr.is_ipv6())) {
            first.add_address(p.addr, p.len).map_err(fail)?;
        }
        first.set_up().map_err(fail)?;
        all.push(qs);
    }
    Ok(all)
}

pub fn run(args: Vec<OsString>) -> CmdResult {
    let Some(o) = parse(args)? else { return Ok(()) };
    let ruleset_path =
        o.ruleset.clone().ok_or_else(|| Failure::usage(format!("nftvm run: missing RULESET\n{}", help())))?;
    if o.tuns.is_empty() {
        return Err(Failure::usage("nftvm run: give at least one --tun NAME=ADDR/PLEN"));
    }
    // Signals are read from a signalfd: block them before any thread exists, so every
    // thread inherits the mask.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM] {
        signals.add(s);
    }
    signals.thread_block().map_err(|e| Failure::runtime(format!("nftvm run: blocking signals: {e}")))?;
    let sigfd = SignalFd::with_flags(&signals, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| Failure::runtime(format!("nftvm run: signalfd: {e}")))?;

    let mut host = Host::from_specs(&o.tuns, &o.routes)
        .map_err(|e| Failure::usage(format!("nftvm run: {}", e.replace("--iface", "--tun"))))?;
    let mut mtus = Vec::new();
    for spec in &o.mtus {
        let parsed =
            spec.split_once('=').and_then(|(n, m)| Some((n, host.iface_by_name(n)?, m.parse::<u32>().ok()?)));
        match parsed {
            Some((name, id, mtu)) if (68..=65535).contains(&mtu) => {
                host.set_mtu(id, mtu);
                mtus.push((name.to_string(), mtu));
            }
            _ => {
                return Err(Failure::usage(format!(
                    "nftvm run: --mtu {spec}: expected NAME=MTU of a --tun device"
                )));
            }
        }
    }
    let engine = ruleset::engine("run", &o.engine)?;
    let format = ruleset::format("run", false, o.syntax.as_deref())?;
    let group = o.ctl_group.as_deref().map(group_id).transpose()?;
    let program = ruleset::load(&ruleset_path, &host, format, &o.ipsets, &o.optimize)?;
    let executable = ruleset::executable(&program, engine)?;

    let devices = open_devices(&host, o.workers, &mtus)?;
    let names: Vec<String> = host.ifaces().iter().map(|i| i.name.clone()).collect();
    let mut ct = CtConfig {
        tcp_loose: o.tcp_loose,
        tcp_be_liberal: o.tcp_be_liberal,
        events: true,
        ..CtConfig::default()
    };
    if let Some(max) = o.conntrack_max {
        ct.max = max;
    }
    let cfg = LiveConfig {
        workers: o.workers,
        pipeline: PipelineConfig {
            conntrack: ct,
            local_stack: LocalStack::EchoOnly,
            ..PipelineConfig::default()
        },
        mode: if o.forward_only { Mode::ForwardOnly } else { Mode::Pipeline },
    };
    let instance = Arc::new(
        Instance::start(host.clone(), devices, executable, cfg)
            .map_err(|e| Failure::runtime(format!("nftvm run: starting the workers: {e}")))?,
    );
    let sources = Sources { ruleset: ruleset_path.clone(), format, ipsets: o.ipset_files.clone() };
    let reloader =
        Arc::new(Reloader::new(sources, host, engine, o.optimize.clone(), instance.clone(), program));

    let ctl_addr = CtlAddr::parse(o.ctl.as_deref());
    let listener = ctl_addr
        .bind()
        .map_err(|e| Failure::runtime(format!("nftvm run: control socket {ctl_addr}: {e}")))?;
    if let CtlAddr::Path(p) = &ctl_addr {
        restrict_socket_file(p, group)?;
    }
    listener.set_nonblocking(true).map_err(|e| Failure::runtime(format!("nftvm run: {e}")))?;
    if let Some(addr) = &o.metrics {
        let l = std::net::TcpListener::bind(addr)
            .map_err(|e| Failure::runtime(format!("nftvm run: --metrics {addr}: {e}")))?;
        let weak = Arc::downgrade(&instance);
        let labels_from = reloader.clone();
        let labels: metrics::RuleLabels = Arc::new(move || labels_from.current().labels());
        std::thread::Builder::new()
            .name("nftvm-metrics".into())
            .spawn(move || metrics::serve(l, weak, labels))
            .map_err(|e| Failure::runtime(format!("nftvm run: {e}")))?;
    }
    let control = Arc::new(Control {
        instance: instance.clone(),
        reloader: reloader.clone(),
        access: Access { owner: nix::unistd::geteuid().as_raw(), group },
    });

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready {}", names.join(" "));
        let _ = out.flush();
    }

    let result = main_loop(&sigfd, &listener, &control, &reloader);
    instance.stop();
    if let CtlAddr::Path(p) = &ctl_addr {
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Mode 0660 and the control group on a filesystem socket.
fn restrict_socket_file(path: &std::path::Path, group: Option<u32>) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| Failure::runtime(format!("nftvm run: {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(fail)?;
    if let Some(g) = group {
        std::os::unix::fs::chown(path, None, Some(g)).map_err(fail)?;
    }
    Ok(())
}

/// Waits for signals and control connections until SIGINT/SIGTERM.
fn main_loop(
    sigfd: &SignalFd,
    listener: &std::os::unix::net::UnixListener,
    control: &Arc<Control>,
    reloader: &Reloader,
) -> CmdResult {
    loop {
        let ready = wait_readable(&[sigfd.as_fd(), listener.as_fd()], Some(Duration::from_secs(1)));
        if let Err(e) = ready {
            return Err(Failure::runtime(format!("nftvm run: poll: {e}")));
        }
        while let Ok(Some(info)) = sigfd.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGHUP) => match reloader.reload() {
                    Ok(()) => eprintln!("nftvm run: reloaded"),
                    Err(e) => eprintln!("nftvm run: reload failed, the running ruleset stays:\n{e}"),
                },
                Ok(Signal::SIGINT | Signal::SIGTERM) => return Ok(()),
                _ => {}
            }
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let control = control.clone();
                    let spawned = std::thread::Builder::new()
                        .name("nftvm-ctl".into())
                        .spawn(move || control.serve(stream));
                    if let Err(e) = spawned {
                        eprintln!("nftvm run: control connection: {e}");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    eprintln!("nftvm run: control socket: {e}");
                    break;
                }
            }
        }
    }
}
