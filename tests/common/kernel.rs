//! The kernel oracle: the real Linux netfilter, run on the same rulesets and packets as nftvm.
//!
//! Each [`KernelHost`] is a throwaway network namespace (deleted on drop, also when a test
//! panics) holding one TUN device per interface of a host model (created in it with the
//! runtime's own `io::tun`), with forwarding on, a ruleset loaded by the real `nft -f`, and
//! deterministic settings (see [`HostBuilder::start`]). A case typically takes 15–60 ms. Packets written to a TUN descriptor arrive on that interface as
//! if from the wire; whatever the kernel sends out of any interface is read back and
//! attributed to the injected packet that caused it.
//!
//! ```ignore
//! let mut host = KernelHost::router() // tuna 10.0.1.1/24 fd00:1::1/64, tunb 10.0.2.1/24 fd00:2::1/64
//!     .ruleset("table ip nat { chain post { type nat hook postrouting priority 100; masquerade; } }")
//!     .start();
//! let out = host.inject("tuna", &packets::udp(sock("10.0.1.2:1000"), sock("10.0.2.2:53"), b"q"));
//! assert_eq!(out.single().iface, "tunb");
//! println!("{:?}", host.conntrack()); // `conntrack -L` lines, with packets=/bytes= (acct is on)
//! println!("{}", host.ruleset());     // `nft list ruleset`, counters included
//! ```
//!
//! [`kernel_bytecode`] is a second oracle, for the compiler: the bytecode `nft --debug=netlink`
//! prints for one rule.
//!
//! # Writing a differential test (kernel vs `nftvm eval`)
//!
//! 1. Give both sides the same host model and ruleset: the builder's `iface`/`route` calls
//!    correspond one to one to `eval --iface NAME=ADDR/PLEN --route PREFIX=NAME`.
//! 2. Feed both the same packets in the same order: [`KernelHost::inject`] per packet, and a
//!    pcapng with the same interface names for `eval --json`.
//! 3. Compare per packet: an empty [`Outcome::emitted`] is eval's `drop` or local delivery
//!    (`"out": null`); otherwise the emission on eval's `oif` must carry exactly eval's `out`
//!    bytes (NAT rewrites and checksums included). Packets the kernel itself answers (ICMP echo
//!    replies, `reject`) are further emissions of the same outcome.
//! 4. Compare state afterwards: [`KernelHost::conntrack`] against `eval --conntrack-dump`,
//!    both through [`without_timeout`] and sorted (timeouts run on different clocks and the
//!    kernel lists in hash order); [`KernelHost::counters`] against nftvm's listing.
//!
//! What to know about the kernel side:
//! - conntrack only runs in a namespace once a loaded rule needs it (`ct`, `nat`,
//!   `masquerade`, …): with a stateless ruleset `conntrack -L` stays empty.
//! - `lo` is up (without it, packets to the host's own addresses are silently dropped).
//! - ICMP error rate limits are off so that every `reject` or TTL error is emitted.
//! - IPv6 autoconfiguration is quiet (no link-local addresses, DAD, RS), but with forwarding
//!   on the kernel still sends MLD reports for the all-routers groups at unpredictable times;
//!   [`is_kernel_noise`] packets are set aside in [`KernelHost::noise`], never in an outcome.
//! - There is no `nf_conntrack_helper` sysctl any more (removed in Linux 6.0): helpers are
//!   assigned only by explicit `ct helper` rules, as in nftvm.
//! - Everything here panics with a clear message when it cannot run (not root, a tool
//!   missing): these tests fail rather than skip.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nftvm_runtime::io::tun::{Tun, TunSet, in_netns};
use nftvm_runtime::io::{IfaceId, MAX_PACKET, PacketIo};

/// Every namespace this harness creates is called `nftvm-ko-<pid>-<n>`.
const NETNS_PREFIX: &str = "nftvm-ko-";

/// How long the output must stay quiet after an injection before the outcome is final.
/// The kernel processes a packet written to a TUN synchronously inside `write()` (measured:
/// every emission is readable 1–3 µs after the write returns), so this is only a margin for
/// anything asynchronous; an emission later than that shows up in [`KernelHost::stray`].
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(5);

// ---------------------------------------------------------------------------------------------
// Environment and commands
// ---------------------------------------------------------------------------------------------

/// Panic unless we are root and every tool the oracle drives is installed (checked once).
pub fn require_environment() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let status =
            std::fs::read_to_string("/proc/self/status").expect("kernel oracle: no /proc/self/status");
        let euid =
            status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|r| r.split_whitespace().nth(1));
        assert_eq!(
            euid,
            Some("0"),
            "kernel oracle: these tests must run as root (effective uid {euid:?}); they fail rather than skip"
        );
        for (tool, arg, package) in [
            ("ip", "-V", "iproute2"),
            ("nft", "--version", "nftables"),
            ("conntrack", "--version", "conntrack"),
            ("sysctl", "--version", "procps"),
            ("ipset", "version", "ipset"),
            ("iptables-restore", "--version", "iptables"),
        ] {
            match Command::new(tool).arg(arg).output() {
                Ok(out) if out.status.success() => {}
                Ok(out) => panic!(
                    "kernel oracle: `{tool} {arg}` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(e) => {
                    panic!("kernel oracle: `{tool}` is missing ({e}): install the Debian package `{package}`")
                }
            }
        }
        assert!(
            Path::new("/dev/net/tun").exists(),
            "kernel oracle: /dev/net/tun is missing (no TUN support)"
        );
        reap_stale_namespaces();
    });
}

/// Delete namespaces left behind by test processes that were killed (their pid is gone).
fn reap_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(NETNS_PREFIX).and_then(|rest| rest.split('-').next()) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// Run a command to completion (feeding `input` on stdin) and return its stdout; panic with
/// the command line, status and both outputs if it fails.
fn run(command: &mut Command, input: Option<&str>) -> String {
    try_run(command, input).unwrap_or_else(|failure| panic!("kernel oracle: {failure}"))
}

/// Like [`run`], but a command that exits unsuccessfully is an `Err` describing it (its
/// stderr first). Failing to start it at all still panics.
fn try_run(command: &mut Command, input: Option<&str>) -> Result<String, String> {
    let shown = format!("{command:?}");
    command.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("kernel oracle: cannot run {shown}: {e}"));
    if let Some(text) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("kernel oracle: writing to {shown}: {e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("kernel oracle: waiting for {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{}\n{shown} failed ({}){}\n--- input ---\n{}",
        String::from_utf8_lossy(&out.stderr).trim_end(),
        out.status,
        if stdout.is_empty() { String::new() } else { format!("\n--- stdout ---\n{stdout}") },
        input.unwrap_or("")
    ))
}

// ---------------------------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------------------------

/// A throwaway named network namespace, deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create a fresh namespace with a unique name.
    pub fn new() -> Netns {
        require_environment();
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let name =
            format!("{NETNS_PREFIX}{}-{}", std::process::id(), SEQUENCE.fetch_add(1, Ordering::Relaxed));
        run(Command::new("ip").args(["netns", "add", &name]), None);
        Netns { name }
    }

    /// Its name (for `ip -n NAME`, `ip netns exec NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `program args…` run inside the namespace; its stdout. Panics if it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        self.run_with_input(program, args, None)
    }

    /// Like [`Netns::run`], with `input` on stdin.
    pub fn run_with_input(&self, program: &str, args: &[&str], input: Option<&str>) -> String {
        run(Command::new("ip").args(["netns", "exec", &self.name, program]).args(args), input)
    }

    /// `ip -n NAME -batch -` with these commands, one a line.
    pub fn ip_batch(&self, commands: &str) -> String {
        run(Command::new("ip").args(["-n", &self.name, "-batch", "-"]), Some(commands))
    }

    /// Set sysctls inside the namespace (one `sysctl -w` for all of them).
    pub fn sysctl(&self, settings: &[(String, String)]) {
        if settings.is_empty() {
            return;
        }
        let assignments: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["-q", "-w"];
        args.extend(assignments.iter().map(String::as_str));
        self.run("sysctl", &args);
    }

    /// Load a ruleset with the real `nft -f`.
    pub fn nft_load(&self, ruleset: &str) {
        self.run_with_input("nft", &["-f", "-"], Some(ruleset));
    }

    /// [`Netns::nft_load`], with `Err(nft's diagnostics)` when the kernel or `nft` refuses.
    pub fn try_nft_load(&self, ruleset: &str) -> Result<(), String> {
        self.try_run_with_input("nft", &["-f", "-"], ruleset).map(drop)
    }

    /// [`Netns::run_with_input`], with `Err(its diagnostics)` when the program fails.
    pub fn try_run_with_input(&self, program: &str, args: &[&str], input: &str) -> Result<String, String> {
        try_run(Command::new("ip").args(["netns", "exec", &self.name, program]).args(args), Some(input))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let status = Command::new("ip").args(["netns", "del", &self.name]).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("kernel oracle: could not delete network namespace {}: {status:?}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host model
// ---------------------------------------------------------------------------------------------

/// Conntrack sysctls of the namespace. `Default` is Linux's defaults, except accounting,
/// which is on so that `conntrack -L` shows `packets=… bytes=…` per direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConntrackSettings {
    /// `net.netfilter.nf_conntrack_tcp_loose`: pick up established TCP flows mid-stream.
    pub tcp_loose: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal`: only RSTs out of window are INVALID.
    pub tcp_be_liberal: bool,
    /// `net.netfilter.nf_conntrack_acct`: per-direction packet and byte counters.
    pub acct: bool,
    /// `net.netfilter.nf_conntrack_checksum`: packets with bad checksums are INVALID.
    pub checksum: bool,
}

impl Default for ConntrackSettings {
    fn default() -> Self {
        ConntrackSettings { tcp_loose: true, tcp_be_liberal: false, acct: true, checksum: true }
    }
}

impl ConntrackSettings {
    fn sysctls(&self) -> Vec<(String, String)> {
        let flag = |on: bool| if on { "1" } else { "0" }.to_string();
        vec![
            ("net.netfilter.nf_conntrack_tcp_loose".into(), flag(self.tcp_loose)),
            ("net.netfilter.nf_conntrack_tcp_be_liberal".into(), flag(self.tcp_be_liberal)),
            ("net.netfilter.nf_conntrack_acct".into(), flag(self.acct)),
            ("net.netfilter.nf_conntrack_checksum".into(), flag(self.checksum)),
        ]
    }
}

#[derive(Clone, Debug)]
struct IfaceSpec {
    name: String,
    addrs: Vec<(IpAddr, u8)>,
    mtu: Option<u32>,
}

/// Describes a [`KernelHost`]; [`HostBuilder::start`] builds it.
#[derive(Clone, Debug)]
pub struct HostBuilder {
    ifaces: Vec<IfaceSpec>,
    routes: Vec<(String, String)>,
    conntrack: ConntrackSettings,
    sysctls: Vec<(String, String)>,
    ruleset: Option<String>,
    settle: Duration,
}

impl HostBuilder {
    /// An interface `name` (at most 15 bytes) with local addresses written `ADDR/PLEN`
    /// (IPv4 and/or IPv6), each with its connected route.
    pub fn iface(mut self, name: &str, addrs: &[&str]) -> Self {
        assert!(
            !name.is_empty() && name.len() <= 15 && !self.ifaces.iter().any(|i| i.name == name),
            "kernel oracle: bad or duplicate interface name {name:?}"
        );
        let addrs = addrs.iter().map(|a| parse_prefix(a)).collect();
        self.ifaces.push(IfaceSpec { name: name.to_string(), addrs, mtu: None });
        self
    }

    /// The MTU of an interface declared before (default 1500).
    pub fn mtu(mut self, iface: &str, mtu: u32) -> Self {
        let spec = self.ifaces.iter_mut().find(|i| i.name == iface);
        spec.unwrap_or_else(|| panic!("kernel oracle: mtu for undeclared interface {iface}")).mtu = Some(mtu);
        self
    }

    /// A route: `PREFIX` (`ADDR/PLEN`, either family) out of interface `dev`.
    pub fn route(mut self, prefix: &str, dev: &str) -> Self {
        let (addr, len) = parse_prefix(prefix);
        self.routes.push((format!("{addr}/{len}"), dev.to_string()));
        self
    }

    /// Conntrack sysctls (default: [`ConntrackSettings::default`]).
    pub fn conntrack(mut self, settings: ConntrackSettings) -> Self {
        self.conntrack = settings;
        self
    }

    /// Any further sysctl, set after the harness's own (so it can override them).
    pub fn sysctl(mut self, key: &str, value: &str) -> Self {
        self.sysctls.push((key.to_string(), value.to_string()));
        self
    }

    /// The ruleset to load with `nft -f` once the interfaces exist.
    pub fn ruleset(mut self, text: &str) -> Self {
        self.ruleset = Some(text.to_string());
        self
    }

    /// Quiet period that ends an outcome (default [`DEFAULT_SETTLE`]).
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Build the host: a fresh namespace with forwarding on (IPv4 and IPv6), `rp_filter` off,
    /// ICMP rate limits off, quiet IPv6 autoconfiguration, the conntrack sysctls; then the
    /// TUN devices (created inside it with the runtime's `Tun`, addressed, up, IPv6 addresses
    /// past their tentative phase), `lo` up, the routes, and the ruleset.
    pub fn start(self) -> KernelHost {
        assert!(!self.ifaces.is_empty(), "kernel oracle: a host needs at least one interface");
        let netns = Netns::new();
        let mut sysctls: Vec<(String, String)> = [
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv6.conf.default.forwarding", "1"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
            ("net.ipv4.icmp_ratemask", "0"),
            ("net.ipv6.icmp.ratemask", ""),
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv6.conf.default.dad_transmits", "0"),
            ("net.ipv6.conf.default.addr_gen_mode", "1"),
            ("net.ipv6.conf.default.accept_ra", "0"),
            ("net.ipv6.conf.default.router_solicitations", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        sysctls.extend(self.conntrack.sysctls());
        sysctls.extend(self.sysctls.iter().cloned());
        netns.sysctl(&sysctls);

        // The devices are created and configured from a thread inside the namespace, through
        // the runtime's own TUN code (one code path with `nftvm run`).
        let handle = std::fs::File::open(Path::new("/run/netns").join(netns.name()))
            .unwrap_or_else(|e| panic!("kernel oracle: cannot open namespace {}: {e}", netns.name()));
        let tuns = in_netns(handle.as_fd(), || {
            let tuns = self.ifaces.iter().map(open_configured).collect::<std::io::Result<Vec<Tun>>>()?;
            for tun in &tuns {
                tun.wait_ipv6_ready(Duration::from_secs(2))?;
            }
            Ok(tuns)
        })
        .unwrap_or_else(|e| panic!("kernel oracle: setting up the TUN devices: {e}"));

        let mut setup = String::from("link set dev lo up\n");
        for spec in &self.ifaces {
            // The ioctl interface holds one IPv4 address per device; further ones go here.
            for (addr, len) in spec.addrs.iter().filter(|(a, _)| a.is_ipv4()).skip(1) {
                setup += &format!("addr add {addr}/{len} dev {}\n", spec.name);
            }
        }
        for (prefix, dev) in &self.routes {
            setup += &format!("route add {prefix} dev {dev}\n");
        }
        netns.ip_batch(&setup);
        if let Some(ruleset) = &self.ruleset {
            netns.nft_load(ruleset);
        }
        KernelHost {
            io: TunSet::new(tuns),
            names: self.ifaces.iter().map(|i| i.name.clone()).collect(),
            settle: self.settle,
            buf: vec![0; MAX_PACKET],
            noise: Vec::new(),
            stray: Vec::new(),
            netns,
        }
    }
}

/// Open one TUN device of the model (in the current thread's namespace), persistent, quiet,
/// addressed and up.
fn open_configured(spec: &IfaceSpec) -> std::io::Result<Tun> {
    let tun = Tun::open(&spec.name)?;
    // Persistent, so that closing it is cheap and the namespace's deletion removes it (the
    // kernel batches that in the background; unregistering each device costs ~30 ms).
    tun.set_persistent(true)?;
    tun.quiet_ipv6()?;
    if let Some(mtu) = spec.mtu {
        tun.set_mtu(mtu)?;
    }
    let first_v4 = spec.addrs.iter().find(|(a, _)| a.is_ipv4());
    for (addr, len) in first_v4.into_iter().chain(spec.addrs.iter().filter(|(a, _)| a.is_ipv6())) {
        tun.add_address(*addr, *len)?;
    }
    tun.set_up()?;
    Ok(tun)
}

fn parse_prefix(text: &str) -> (IpAddr, u8) {
    let parsed = text
        .split_once('/')
        .and_then(|(addr, len)| Some((addr.parse::<IpAddr>().ok()?, len.parse::<u8>().ok()?)));
    match parsed {
        Some((addr, len)) if len <= if addr.is_ipv4() { 32 } else { 128 } => (addr, len),
        _ => panic!("kernel oracle: {text:?} is not ADDR/PLEN"),
    }
}

// ---------------------------------------------------------------------------------------------
// The running host
// ---------------------------------------------------------------------------------------------

/// One packet that came out of the kernel.
#[derive(Clone, PartialEq, Eq)]
pub struct Emission {
    /// The interface it left through.
    pub iface: String,
    /// The IP packet as it left.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Emission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.iface, hex(&self.bytes))
    }
}

/// What the kernel did with one injected packet: everything it emitted until the output
/// went quiet.
#[derive(Clone)]
pub struct Outcome {
    /// The interface the packet was injected on.
    pub iface: String,
    /// The injected packet.
    pub injected: Vec<u8>,
    /// Everything that came out, in order (kernel noise excluded).
    pub emitted: Vec<Emission>,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "injected on {} {} → emitted {:?}", self.iface, hex(&self.injected), self.emitted)
    }
}

impl Outcome {
    /// Nothing came out (dropped, or delivered locally without an answer).
    pub fn is_silent(&self) -> bool {
        self.emitted.is_empty()
    }

    /// The one packet that came out; panics with the whole outcome otherwise.
    pub fn single(&self) -> &Emission {
        match self.emitted.as_slice() {
            [one] => one,
            _ => {
                panic!("kernel oracle: expected exactly one packet out, got {}: {self:?}", self.emitted.len())
            }
        }
    }

    /// The packets that came out of `iface`.
    pub fn on(&self, iface: &str) -> Vec<&[u8]> {
        self.emitted.iter().filter(|e| e.iface == iface).map(|e| e.bytes.as_slice()).collect()
    }
}

/// The counter of one rule, from `nft -j list ruleset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCounter {
    pub family: String,
    pub table: String,
    pub chain: String,
    /// The rule's handle (its position in the listing is its index in this vector).
    pub handle: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// A running kernel host: see the module doc. Dropping it closes the devices and deletes
/// the namespace.
pub struct KernelHost {
    // Field order is drop order: the devices are closed (cheaply: they are persistent), then
    // the namespace is deleted, and the kernel unregisters its devices in the background.
    io: TunSet,
    names: Vec<String>,
    settle: Duration,
    buf: Vec<u8>,
    noise: Vec<Emission>,
    stray: Vec<Emission>,
    netns: Netns,
}

impl fmt::Debug for KernelHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelHost").field("netns", &self.netns.name()).field("ifaces", &self.names).finish()
    }
}

impl KernelHost {
    /// Start describing a host.
    pub fn builder() -> HostBuilder {
        HostBuilder {
            ifaces: Vec::new(),
            routes: Vec::new(),
            conntrack: ConntrackSettings::default(),
            sysctls: Vec::new(),
            ruleset: None,
            settle: DEFAULT_SETTLE,
        }
    }

    /// The usual two-legged router: `tuna` 10.0.1.1/24 + fd00:1::1/64 and `tunb` 10.0.2.1/24
    /// + fd00:2::1/64. Add routes, a ruleset or more interfaces before `start()`.
    pub fn router() -> HostBuilder {
        Self::builder()
            .iface("tuna", &["10.0.1.1/24", "fd00:1::1/64"])
            .iface("tunb", &["10.0.2.1/24", "fd00:2::1/64"])
    }

    /// The namespace (to run further commands in it).
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Write `packet` (raw IP) to the TUN of `iface`, so that the kernel receives it there,
    /// and collect everything emitted until the output stays quiet for the settle time.
    pub fn inject(&mut self, iface: &str, packet: &[u8]) -> Outcome {
        let pending = self.collect_for(Duration::ZERO);
        self.stray.extend(pending);
        let id = self.iface_id(iface);
        self.io.send(id, packet).unwrap_or_else(|e| panic!("kernel oracle: injecting on {iface}: {e}"));
        let emitted = self.collect_for(self.settle);
        Outcome { iface: iface.to_string(), injected: packet.to_vec(), emitted }
    }

    /// [`KernelHost::inject`] for each `(iface, packet)` in order.
    pub fn inject_all(&mut self, packets: &[(&str, Vec<u8>)]) -> Vec<Outcome> {
        packets.iter().map(|(iface, packet)| self.inject(iface, packet)).collect()
    }

    /// Everything emitted from now until the output stays quiet for `quiet` (for packets the
    /// kernel sends on its own, such as after a timeout).
    pub fn collect_for(&mut self, quiet: Duration) -> Vec<Emission> {
        let mut out = Vec::new();
        let mut last = Instant::now();
        loop {
            while let Some(rx) =
                self.io.recv(&mut self.buf).unwrap_or_else(|e| panic!("kernel oracle: reading a TUN: {e}"))
            {
                let bytes = self.buf[..rx.len].to_vec();
                let emission = Emission { iface: self.names[rx.iface.0].clone(), bytes };
                if is_kernel_noise(&emission.bytes) {
                    self.noise.push(emission);
                } else {
                    out.push(emission);
                    last = Instant::now();
                }
            }
            let waited = last.elapsed();
            if waited >= quiet {
                return out;
            }
            self.io.wait(Some(quiet - waited)).unwrap_or_else(|e| panic!("kernel oracle: polling TUNs: {e}"));
        }
    }

    /// Packets that came out between injections and belong to no outcome.
    pub fn stray(&self) -> &[Emission] {
        &self.stray
    }

    /// The kernel's own IPv6 housekeeping (MLD reports, ND) that was set aside.
    pub fn noise(&self) -> &[Emission] {
        &self.noise
    }

    /// Load (more) rules with `nft -f`.
    pub fn load_ruleset(&self, text: &str) {
        self.netns.nft_load(text);
    }

    /// `nft ARGS…` in the namespace; its stdout.
    pub fn nft(&self, args: &[&str]) -> String {
        self.netns.run("nft", args)
    }

    /// `nft list ruleset`, with the counters.
    pub fn ruleset(&self) -> String {
        self.nft(&["list", "ruleset"])
    }

    /// Every rule that has a `counter`, in listing order.
    pub fn counters(&self) -> Vec<RuleCounter> {
        let json: serde_json::Value = serde_json::from_str(&self.nft(&["-j", "list", "ruleset"]))
            .unwrap_or_else(|e| panic!("kernel oracle: nft -j output is not JSON: {e}"));
        let items = json["nftables"].as_array().cloned().unwrap_or_default();
        let mut counters = Vec::new();
        for rule in items.iter().filter_map(|item| item.get("rule")) {
            let exprs = rule["expr"].as_array().cloned().unwrap_or_default();
            for counter in exprs.iter().filter_map(|e| e.get("counter")) {
                counters.push(RuleCounter {
                    family: rule["family"].as_str().unwrap_or_default().to_string(),
                    table: rule["table"].as_str().unwrap_or_default().to_string(),
                    chain: rule["chain"].as_str().unwrap_or_default().to_string(),
                    handle: rule["handle"].as_u64().unwrap_or_default(),
                    packets: counter["packets"].as_u64().unwrap_or_default(),
                    bytes: counter["bytes"].as_u64().unwrap_or_default(),
                });
            }
        }
        counters
    }

    /// `conntrack -L` (both families): one line per entry, in the kernel's (hash) order.
    pub fn conntrack(&self) -> Vec<String> {
        self.conntrack_with(&["-L"])
    }

    /// `conntrack ARGS…` (for example `-L -o extended`, `-L -p tcp`): its stdout lines.
    pub fn conntrack_with(&self, args: &[&str]) -> Vec<String> {
        self.netns.run("conntrack", args).lines().map(str::to_string).collect()
    }

    /// Empty the connection table (`conntrack -F`).
    pub fn flush_conntrack(&self) {
        self.netns.run("conntrack", &["-F"]);
    }

    fn iface_id(&self, iface: &str) -> IfaceId {
        let index = self.names.iter().position(|n| n == iface);
        IfaceId(
            index.unwrap_or_else(|| panic!("kernel oracle: no interface {iface:?} (have {:?})", self.names)),
        )
    }
}

/// The kernel's own IPv6 housekeeping: ICMPv6 router/neighbour discovery and MLD (directly
/// or behind a hop-by-hop header), sent to a multicast address or with hop limit 255.
/// Forwarded traffic never matches (forwarding decrements the hop limit; link-scope
/// multicast is not forwarded).
pub fn is_kernel_noise(packet: &[u8]) -> bool {
    if packet.len() < 41 || packet[0] >> 4 != 6 {
        return false;
    }
    let icmp_offset = match packet[6] {
        58 => 40,
        0 if packet[40] == 58 => 40 + 8 * (usize::from(packet[41]) + 1),
        _ => return false,
    };
    let Some(&icmp_type) = packet.get(icmp_offset) else { return false };
    let housekeeping = matches!(icmp_type, 130..=137 | 143);
    let multicast_dst = packet[24] == 0xff;
    housekeeping && (multicast_dst || packet[7] == 255)
}

/// A `conntrack -L` line (default output format) with its timeout, the third field,
/// replaced by `*`, spacing kept.
pub fn without_timeout(line: &str) -> String {
    let mut fields = 0;
    let mut in_field = false;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            in_field = false;
        } else if !in_field {
            in_field = true;
            fields += 1;
            if fields == 3 {
                let end = line[i..].find(char::is_whitespace).map_or(line.len(), |n| i + n);
                if line[i..end].bytes().all(|b| b.is_ascii_digit()) {
                    return format!("{}*{}", &line[..i], &line[end..]);
                }
                return line.to_string();
            }
        }
    }
    line.to_string()
}

/// The bytecode the real `nft --debug=netlink` prints for `rule` (lines such as
/// `  [ payload load 2b @ transport header + 2 => reg 1 ]`, after a `family table chain`
/// line and any anonymous-set lines), in a throwaway namespace where `ruleset_prefix`
/// (tables, chains, sets) was loaded first. `rule` is either a bare rule, added to the only
/// chain of the prefix, or a whole `add rule …`/`insert rule …` command. Panics if `nft`
/// rejects the rule; see [`try_kernel_bytecode`].
pub fn kernel_bytecode(ruleset_prefix: &str, rule: &str) -> String {
    try_kernel_bytecode(ruleset_prefix, rule)
        .unwrap_or_else(|error| panic!("kernel oracle: nft rejected {rule:?}: {error}"))
}

/// [`kernel_bytecode`], with `Err(nft's diagnostics)` when `nft` rejects the rule (the
/// prefix itself must load).
pub fn try_kernel_bytecode(ruleset_prefix: &str, rule: &str) -> Result<String, String> {
    let netns = Netns::new();
    netns.nft_load(ruleset_prefix);
    let command = if rule.trim_start().starts_with("add rule") || rule.trim_start().starts_with("insert rule")
    {
        rule.to_string()
    } else {
        let chains: serde_json::Value = serde_json::from_str(&netns.run("nft", &["-j", "list", "chains"]))
            .unwrap_or_else(|e| panic!("kernel oracle: nft -j output is not JSON: {e}"));
        let chains: Vec<&serde_json::Value> = chains["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("chain"))
            .collect();
        let [chain] = chains.as_slice() else {
            panic!("kernel oracle: the prefix has {} chains; give a whole `add rule` command", chains.len());
        };
        let field = |key: &str| chain[key].as_str().unwrap_or_default().to_string();
        format!("add rule {} {} {} {rule}", field("family"), field("table"), field("name"))
    };
    let mut nft = Command::new("ip");
    nft.args(["netns", "exec", netns.name(), "nft", "--debug=netlink", "-f", "-"]);
    let out = try_run(&mut nft, Some(&format!("{command}\n")))?;
    Ok(out.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deliberately tiny packet builder and checker for the oracle tests (raw IPv4/IPv6 with
/// UDP, TCP, ICMP/ICMPv6 echo; checksums). The runtime's packet layer will replace it.
pub mod packets {
    use std::net::{IpAddr, SocketAddr};

    /// TCP flag bits.
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    /// Ones' complement sum of `data` (big-endian 16-bit words) added to `initial`, folded.
    fn sum(data: &[u8], initial: u32) -> u32 {
        let mut total = initial;
        for pair in data.chunks(2) {
            total += u32::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
        }
        while total > 0xffff {
            total = (total & 0xffff) + (total >> 16);
        }
        total
    }

    fn fold(total: u32) -> u16 {
        !(total as u16)
    }

    fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
        let mut bytes = Vec::new();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                bytes.extend_from_slice(&s.octets());
                bytes.extend_from_slice(&d.octets());
                bytes.extend_from_slice(&[0, proto]);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                bytes.extend_from_slice(&s.octets());
                bytes.extend_from_slice(&d.octets());
                bytes.extend_from_slice(&(len as u32).to_be_bytes());
                bytes.extend_from_slice(&[0, 0, 0, proto]);
            }
            _ => panic!("packets: mixed address families {src} and {dst}"),
        }
        sum(&bytes, 0)
    }

    /// An IP packet (IPv4 with header checksum, or IPv6) around `payload`, whose transport
    /// checksum at `checksum_at` (if any) is filled in.
    fn ip(src: IpAddr, dst: IpAddr, proto: u8, mut payload: Vec<u8>, checksum_at: Option<usize>) -> Vec<u8> {
        if let Some(at) = checksum_at {
            let pseudo = if proto == 1 { 0 } else { pseudo_header(src, dst, proto, payload.len()) };
            let mut c = fold(sum(&payload, pseudo));
            if proto == 17 && c == 0 {
                c = 0xffff;
            }
            payload[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = (20 + payload.len()) as u16;
                let mut header = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
                header[2..4].copy_from_slice(&total.to_be_bytes());
                header.extend_from_slice(&s.octets());
                header.extend_from_slice(&d.octets());
                let c = fold(sum(&header, 0));
                header[10..12].copy_from_slice(&c.to_be_bytes());
                header.extend_from_slice(&payload);
                header
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut header = vec![0x60, 0, 0, 0];
                header.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                header.extend_from_slice(&[proto, 64]);
                header.extend_from_slice(&s.octets());
                header.extend_from_slice(&d.octets());
                header.extend_from_slice(&payload);
                header
            }
            _ => panic!("packets: mixed address families {src} and {dst}"),
        }
    }

    /// A UDP datagram (TTL / hop limit 64).
    pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let mut udp = Vec::new();
        udp.extend_from_slice(&src.port().to_be_bytes());
        udp.extend_from_slice(&dst.port().to_be_bytes());
        udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(payload);
        ip(src.ip(), dst.ip(), 17, udp, Some(6))
    }

    /// A TCP segment with `flags` (window 64240, no options).
    pub fn tcp(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&src.port().to_be_bytes());
        tcp.extend_from_slice(&dst.port().to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.extend_from_slice(&[5 << 4, flags]);
        tcp.extend_from_slice(&64240u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        ip(src.ip(), dst.ip(), 6, tcp, Some(16))
    }

    /// An ICMP echo request (IPv4 type 8, IPv6 type 128).
    pub fn icmp_echo(src: IpAddr, dst: IpAddr, id: u16, seq: u16) -> Vec<u8> {
        let (kind, proto) = if src.is_ipv4() { (8, 1) } else { (128, 58) };
        let mut icmp = vec![kind, 0, 0, 0];
        icmp.extend_from_slice(&id.to_be_bytes());
        icmp.extend_from_slice(&seq.to_be_bytes());
        icmp.extend_from_slice(b"nftvm-oracle");
        ip(src, dst, proto, icmp, Some(2))
    }

    /// The same packet with another TTL / hop limit (IPv4 header checksum recomputed).
    pub fn with_ttl(packet: &[u8], ttl: u8) -> Vec<u8> {
        let mut out = packet.to_vec();
        if version(packet) == 4 {
            out[8] = ttl;
            out[10..12].copy_from_slice(&[0, 0]);
            let c = fold(sum(&out[..usize::from(out[0] & 0x0f) * 4], 0));
            out[10..12].copy_from_slice(&c.to_be_bytes());
        } else {
            out[7] = ttl;
        }
        out
    }

    /// The IP version (4 or 6).
    pub fn version(packet: &[u8]) -> u8 {
        packet[0] >> 4
    }

    /// Where the transport header starts and which protocol it is (no IPv6 extension headers).
    pub fn transport(packet: &[u8]) -> (usize, u8) {
        match version(packet) {
            4 => (usize::from(packet[0] & 0x0f) * 4, packet[9]),
            _ => (40, packet[6]),
        }
    }

    pub fn src(packet: &[u8]) -> IpAddr {
        match version(packet) {
            4 => IpAddr::from(<[u8; 4]>::try_from(&packet[12..16]).unwrap()),
            _ => IpAddr::from(<[u8; 16]>::try_from(&packet[8..24]).unwrap()),
        }
    }

    pub fn dst(packet: &[u8]) -> IpAddr {
        match version(packet) {
            4 => IpAddr::from(<[u8; 4]>::try_from(&packet[16..20]).unwrap()),
            _ => IpAddr::from(<[u8; 16]>::try_from(&packet[24..40]).unwrap()),
        }
    }

    /// TTL (IPv4) or hop limit (IPv6).
    pub fn ttl(packet: &[u8]) -> u8 {
        if version(packet) == 4 { packet[8] } else { packet[7] }
    }

    /// Source and destination port of a TCP or UDP packet.
    pub fn ports(packet: &[u8]) -> (u16, u16) {
        let (at, _) = transport(packet);
        (
            u16::from_be_bytes([packet[at], packet[at + 1]]),
            u16::from_be_bytes([packet[at + 2], packet[at + 3]]),
        )
    }

    /// The transport payload (after UDP's 8 bytes, TCP's data offset, or ICMP's 8).
    pub fn payload(packet: &[u8]) -> &[u8] {
        let (at, proto) = transport(packet);
        match proto {
            6 => &packet[at + usize::from(packet[at + 12] >> 4) * 4..],
            _ => &packet[at + 8..],
        }
    }

    /// Check the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum; `Err` says which
    /// is wrong. (A UDP checksum of 0 over IPv4 means "none" and passes.)
    pub fn verify_checksums(packet: &[u8]) -> Result<(), String> {
        let (at, proto) = transport(packet);
        if version(packet) == 4 && fold(sum(&packet[..at], 0)) != 0 {
            return Err("bad IPv4 header checksum".into());
        }
        let l4 = &packet[at..];
        let pseudo = match proto {
            1 => 0,
            6 | 17 | 58 => pseudo_header(src(packet), dst(packet), proto, l4.len()),
            other => return Err(format!("no checksum check for protocol {other}")),
        };
        if proto == 17 && version(packet) == 4 && l4[6..8] == [0, 0] {
            return Ok(());
        }
        if fold(sum(l4, pseudo)) != 0 {
            return Err(format!("bad protocol {proto} checksum"));
        }
        Ok(())
    }
}

/// Parse `ADDR:PORT` (`[ADDR]:PORT` for IPv6); panics on a typo in a test.
pub fn sock(text: &str) -> SocketAddr {
    text.parse().unwrap_or_else(|e| panic!("kernel oracle: {text:?} is not ADDR:PORT: {e}"))
}

/// Parse an IP address (panics on a typo in a test).
pub fn addr(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("kernel oracle: {text:?} is not an IP address: {e}"))
}
