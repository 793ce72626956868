//! One differential scenario: the same host model, ruleset and packets through the real
//! kernel (oracle namespace, the ruleset loaded with the real `nft`) and through nftvm —
//! the same nft text compiled by nftvm's own compiler, run on every engine (interpreter
//! and JIT) in lockstep with the kernel, and then `nftvm eval --engine E --json
//! --conntrack-dump` on a pcapng of the packets that engine saw — comparing, packet by
//! packet, everything emitted (interface and exact bytes), the rule counters, and at the
//! end the named sets as listed (`live_sets.rs`), the conntrack tables (`conntrack -L`,
//! timeouts masked, sorted) and the pending expectations (`conntrack -L expect`, likewise).
//! A scenario counts once per engine.
//!
//! Side check (reported, not a mismatch): nftvm's bytecode against `nft --debug=netlink`'s
//! for the same rules (see `bytecode.rs`).
//!
//! Normalizations, each for a documented reason:
//! * packets the host generates (ICMP errors, echo replies, resets) carry an IPv4
//!   identification / IPv6 flow label that Linux draws from a keyed hash: those fields
//!   (and the IPv4 header checksum) are masked on both sides;
//! * IPv6 fragments Linux makes get a hashed identification: masked;
//! * scenarios marked `port_choice_free` let NAT pick a different free port on a collision
//!   (Linux picks at random): ports and the L4 checksum may differ, the choice must be in
//!   range and not clash, and the reply tuples' ports are masked in the conntrack lines.

use nftvm::program::{Format, LoadedProgram, Options};
use nftvm::vm::Engine;
use nftvm_runtime::conntrack::Config as CtConfig;
use nftvm_runtime::host::{Host, Prefix};
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::packet::LinkType;
use nftvm_runtime::pipeline::{Outcome, Pipeline, PipelineConfig, VmEngine};

use crate::common::kernel::{ConntrackSettings, Emission, KernelHost, without_timeout};

/// Builds a packet from one this side emitted earlier.
pub type MakeFrom = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// How a step's packet is made.
pub enum Packet {
    /// A fixed packet.
    Fixed(Vec<u8>),
    /// Built from what this side emitted at an earlier step (`step`, `index` of its
    /// emissions): for replies to NATed packets whose ports each side chose itself. An
    /// `optional` step is left out when the kernel did not emit that packet (a reply to a
    /// packet the ruleset dropped); otherwise that is a mismatch.
    From { step: usize, index: usize, make: MakeFrom, optional: bool },
}

/// One injected packet.
pub struct Step {
    pub iface: &'static str,
    pub packet: Packet,
}

/// A differential scenario.
pub struct Scenario {
    pub name: String,
    /// `(interface, [ADDR/PLEN…])`.
    pub ifaces: Vec<(&'static str, Vec<&'static str>)>,
    /// `(PREFIX, interface)`.
    pub routes: Vec<(String, &'static str)>,
    pub mtu: Vec<(&'static str, u32)>,
    pub settings: ConntrackSettings,
    pub ruleset: String,
    /// The `ipset save` text of the sets an iptables ruleset names: the kernel loads it with
    /// `ipset restore`, nftvm with `--ipset`.
    pub ipsets: Option<String>,
    pub steps: Vec<Step>,
    pub port_choice_free: bool,
    /// Where nftvm's packet clock starts (ns since the epoch): [`FIXED_EPOCH`], or the wall
    /// clock for scenarios whose rules read the date or the time of day, as the kernel's do.
    pub clock: u64,
    /// How long the kernel's output must stay quiet to end a step (ms).
    pub settle_ms: u64,
    /// Waits before steps: `(step, ms)` — the kernel's side sleeps (its timers run: set
    /// garbage collection, timeouts), nftvm's clock moves on and its timers run.
    pub pauses: Vec<(usize, u64)>,
}

impl Scenario {
    pub fn new(name: impl Into<String>, ruleset: impl Into<String>) -> Scenario {
        Scenario {
            name: name.into(),
            ifaces: vec![
                ("tuna", vec!["10.0.1.1/24", "fd00:1::1/64"]),
                ("tunb", vec!["10.0.2.1/24", "fd00:2::1/64"]),
            ],
            routes: Vec::new(),
            mtu: Vec::new(),
            settings: ConntrackSettings::default(),
            ruleset: ruleset.into(),
            ipsets: None,
            steps: Vec::new(),
            port_choice_free: false,
            clock: FIXED_EPOCH,
            settle_ms: 2,
            pauses: Vec::new(),
        }
    }

    /// Waits `ms` before the next step (see [`Scenario::pauses`]).
    pub fn pause(&mut self, ms: u64) {
        self.pauses.push((self.steps.len(), ms));
    }

    pub fn send(&mut self, iface: &'static str, packet: Vec<u8>) -> usize {
        self.steps.push(Step { iface, packet: Packet::Fixed(packet) });
        self.steps.len() - 1
    }

    pub fn send_from(
        &mut self,
        iface: &'static str,
        step: usize,
        make: impl Fn(&[u8]) -> Vec<u8> + 'static,
    ) -> usize {
        self.push_from(iface, step, Box::new(make), false)
    }

    /// Like [`Scenario::send_from`], but the step is skipped when the kernel did not emit
    /// the packet it answers (for rulesets that may drop it).
    pub fn reply_if_sent(
        &mut self,
        iface: &'static str,
        step: usize,
        make: impl Fn(&[u8]) -> Vec<u8> + 'static,
    ) -> usize {
        self.push_from(iface, step, Box::new(make), true)
    }

    /// [`Scenario::reply_if_sent`] when `optional`, else [`Scenario::send_from`].
    pub fn answer(
        &mut self,
        iface: &'static str,
        step: usize,
        optional: bool,
        make: impl Fn(&[u8]) -> Vec<u8> + 'static,
    ) -> usize {
        self.push_from(iface, step, Box::new(make), optional)
    }

    fn push_from(&mut self, iface: &'static str, step: usize, make: MakeFrom, optional: bool) -> usize {
        self.steps.push(Step { iface, packet: Packet::From { step, index: 0, make, optional } });
        self.steps.len() - 1
    }

    /// The ruleset's format, as nftvm detects it (an iptables-save file says which tool
    /// wrote it).
    pub fn format(&self) -> Format {
        Format::detect("rules", &self.ruleset)
    }

    fn host_model(&self) -> Host {
        let mut h = Host::new();
        for (name, addrs) in &self.ifaces {
            if addrs.is_empty() {
                h.add_iface(name, None).unwrap();
            }
            for a in addrs {
                h.add_iface(name, Some(Prefix::parse(a).unwrap())).unwrap();
            }
        }
        for (p, dev) in &self.routes {
            h.add_route(Prefix::parse(p).unwrap(), dev).unwrap();
        }
        for (dev, mtu) in &self.mtu {
            let id = h.iface_by_name(dev).unwrap();
            h.set_mtu(id, *mtu);
        }
        h
    }
}

/// What a side emitted for one step: `(interface, bytes, generated by the host)`.
pub type Emitted = Vec<(String, Vec<u8>, bool)>;

/// The verdict of one scenario.
pub struct Report {
    pub name: String,
    /// Per engine, what differed from the kernel (empty: a match).
    pub engines: Vec<(Engine, Vec<String>)>,
    pub packets: usize,
    /// Packets the kernel emitted (all compared).
    pub emitted: usize,
    /// Conntrack entries compared.
    pub ct_entries: usize,
    /// Engines the CLI was checked on too.
    pub cli: usize,
    /// Rule counters compared.
    pub counters: usize,
    /// Named set blocks of the listings compared (nft scenarios).
    pub set_blocks: usize,
    /// nftvm's bytecode against `nft --debug=netlink`'s (a side check).
    pub bytecode: super::bytecode::BytecodeCheck,
}

impl Report {
    /// Every mismatch, each line prefixed with its engine.
    pub fn mismatches(&self) -> Vec<String> {
        self.engines.iter().flat_map(|(e, m)| m.iter().map(move |m| format!("[{e}] {m}"))).collect()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Masks what Linux draws at random in host-generated packets.
fn normalize_generated(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    match p.first().map(|b| b >> 4) {
        Some(4) if p.len() >= 20 => {
            p[4..6].copy_from_slice(&[0, 0]);
            p[10..12].copy_from_slice(&[0, 0]);
        }
        Some(6) if p.len() >= 40 => {
            p[1] &= 0xf0;
            p[2] = 0;
            p[3] = 0;
        }
        _ => {}
    }
    p
}

/// Masks the identification of IPv6 fragment headers.
fn normalize_v6_fragment(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    if p.first().map(|b| b >> 4) == Some(6) && p.len() >= 48 && p[6] == 44 {
        p[44..48].copy_from_slice(&[0; 4]);
    }
    p
}

/// Positions where two same-length packets differ.
fn diff_positions(a: &[u8], b: &[u8]) -> Vec<usize> {
    a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect()
}

/// Do `k` and `n` differ only in the transport ports and checksum (a NAT port choice)?
fn differs_only_in_ports(k: &[u8], n: &[u8]) -> bool {
    if k.len() != n.len() || k.is_empty() {
        return false;
    }
    let (th, proto) = match k[0] >> 4 {
        4 => (usize::from(k[0] & 0x0f) * 4, k[9]),
        6 => (40, k[6]),
        _ => return false,
    };
    let allowed: Vec<usize> = match proto {
        6 => vec![th, th + 1, th + 2, th + 3, th + 16, th + 17],
        17 => vec![th, th + 1, th + 2, th + 3, th + 6, th + 7],
        1 | 58 => vec![th + 2, th + 3, th + 4, th + 5],
        _ => return false,
    };
    diff_positions(k, n).iter().all(|i| allowed.contains(i))
}

fn compare_step(step: usize, k: &[Emission], n: &Emitted, port_free: bool) -> Option<String> {
    let describe = || {
        format!(
            "step {step}: kernel emitted {:?}\n  nftvm emitted {:?}",
            k.iter().map(|e| format!("{} {}", e.iface, hex(&e.bytes))).collect::<Vec<_>>(),
            n.iter()
                .map(|(i, b, g)| format!("{i} {}{}", hex(b), if *g { " (generated)" } else { "" }))
                .collect::<Vec<_>>()
        )
    };
    if k.len() != n.len() {
        return Some(describe());
    }
    let mut used = vec![false; n.len()];
    for ke in k {
        let found = n.iter().enumerate().position(|(j, (iface, bytes, generated))| {
            if used[j] || *iface != ke.iface {
                return false;
            }
            let (a, b) = if *generated {
                (normalize_generated(&ke.bytes), normalize_generated(bytes))
            } else {
                (normalize_v6_fragment(&ke.bytes), normalize_v6_fragment(bytes))
            };
            a == b || (port_free && differs_only_in_ports(&a, &b))
        });
        match found {
            Some(j) => used[j] = true,
            None => return Some(describe()),
        }
    }
    None
}

/// Masks the ports of the reply tuple (the second `src=` on) of a `conntrack -L` line.
fn mask_reply_ports(line: &str) -> String {
    let Some(first) = line.find("src=") else { return line.to_string() };
    let Some(second) = line[first + 4..].find("src=").map(|i| i + first + 4) else { return line.to_string() };
    let (head, tail) = line.split_at(second);
    let masked: Vec<String> = tail
        .split(' ')
        .map(|w| {
            if w.starts_with("sport=") || w.starts_with("dport=") {
                format!("{}=*", &w[..5])
            } else {
                w.to_string()
            }
        })
        .collect();
    format!("{head}{}", masked.join(" "))
}

/// `conntrack -L expect` lines with their seconds left masked, sorted.
fn expect_normalize(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> =
        lines.iter().map(|l| l.split_once(' ').map_or(l.clone(), |(_, rest)| format!("* {rest}"))).collect();
    v.sort();
    v
}

fn ct_normalize(lines: &[String], port_free: bool) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .map(|l| {
            let l = without_timeout(l);
            if port_free { mask_reply_ports(&l) } else { l }
        })
        .collect();
    v.sort();
    v
}

fn packet_for(step: &Step, history: &[Emitted]) -> Option<Vec<u8>> {
    match &step.packet {
        Packet::Fixed(p) => Some(p.clone()),
        Packet::From { step, index, make, .. } => {
            let e = history.get(*step)?.iter().filter(|(_, _, g)| !*g).nth(*index)?;
            Some(make(&e.1))
        }
    }
}

/// nftvm's pipeline for the scenario, running `prog` on `engine`.
pub fn nftvm_pipeline(sc: &Scenario, prog: &LoadedProgram, engine: Engine) -> Result<Pipeline, String> {
    let exec = prog.executable(engine).map_err(|e| e.message)?;
    let ct = CtConfig {
        tcp_loose: sc.settings.tcp_loose,
        tcp_be_liberal: sc.settings.tcp_be_liberal,
        ..CtConfig::default()
    };
    let cfg = PipelineConfig { conntrack: ct, ..PipelineConfig::default() };
    Ok(Pipeline::new(sc.host_model(), Box::new(VmEngine::from_first_packet(exec)), cfg))
}

fn emitted_of(p: &Pipeline, o: &Outcome) -> Emitted {
    o.emitted
        .iter()
        // A `dup` copy carries the original's header fields: compared exactly.
        .map(|e| {
            (p.host().name(e.oif).to_string(), e.bytes.clone(), e.generated.is_some_and(|g| !g.is_copy()))
        })
        .collect()
}

/// The start of nftvm's packet clock unless a scenario says otherwise (2023-11-14).
pub const FIXED_EPOCH: u64 = 1_700_000_000_000_000_000;

/// Time of step `i` on nftvm's packet clock (1 ms apart, from the scenario's start).
pub fn step_time(sc: &Scenario, i: usize) -> u64 {
    let paused: u64 = sc.pauses.iter().filter(|(at, _)| *at <= i).map(|(_, ms)| ms * 1_000_000).sum();
    sc.clock + i as u64 * 1_000_000 + paused
}

/// The wait before step `i`, if any (ms).
fn pause_before(sc: &Scenario, i: usize) -> u64 {
    sc.pauses.iter().filter(|(at, _)| *at == i).map(|(_, ms)| ms).sum()
}

/// The rule counters of nftvm's side, in listing order.
fn counters_of(p: &Pipeline) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for chain in &p.program().program().chains {
        for rule in &chain.rules {
            for e in &rule.exprs {
                if let nftvm_vm::expr::Expr::Counter(c) = e {
                    out.push(p.engine().state().counter(c.slot).unwrap_or((0, 0)));
                }
            }
        }
    }
    out
}

/// nftvm on one engine, in lockstep with the kernel.
struct Side {
    engine: Engine,
    pipeline: Pipeline,
    history: Vec<Emitted>,
    /// The packets it was given (replies built from its own emissions), with their times.
    packets: Vec<(&'static str, Vec<u8>, u64)>,
    /// What it emitted for each of `packets`.
    emitted: Vec<Emitted>,
    mismatches: Vec<String>,
}

/// Runs one scenario: the kernel once, nftvm's compiler output on every engine.
pub fn run(sc: &Scenario) -> Report {
    let mut builder =
        KernelHost::builder().conntrack(sc.settings).settle(std::time::Duration::from_millis(sc.settle_ms));
    for (name, addrs) in &sc.ifaces {
        builder = builder.iface(name, addrs);
    }
    for (p, dev) in &sc.routes {
        builder = builder.route(p, dev);
    }
    for (dev, mtu) in &sc.mtu {
        builder = builder.mtu(dev, *mtu);
    }
    let mut kernel = builder.start();
    // The kernel runs the text with the real nft; nft's bytecode is kept for the side check
    // (an iptables ruleset runs its matches through xt compat: no side check).
    let legacy = match sc.format() {
        Format::Nft => super::bytecode::load_and_translate(kernel.netns(), &sc.ruleset),
        iptables => {
            if let Some(sets) = &sc.ipsets {
                kernel.netns().run_with_input("ipset", &["restore"], Some(sets));
            }
            let restore =
                if iptables == Format::Ip6tables { "ip6tables-restore" } else { "iptables-restore" };
            kernel.netns().run_with_input(restore, &[], Some(&sc.ruleset));
            String::new()
        }
    };
    let mut report = Report {
        name: sc.name.clone(),
        engines: Vec::new(),
        packets: sc.steps.len(),
        emitted: 0,
        ct_entries: 0,
        cli: 0,
        counters: 0,
        set_blocks: 0,
        bytecode: super::bytecode::BytecodeCheck::default(),
    };
    let fail_all = |report: &mut Report, why: String| {
        report.engines = Engine::ALL.iter().map(|e| (*e, vec![why.clone()])).collect();
    };
    let host = sc.host_model();
    let ipsets = match &sc.ipsets {
        Some(text) => {
            let mut sources = nftvm_grammar::SourceMap::new();
            let file = sources.add("sets.ipset", text.as_str());
            match nftvm_compiler::ipset::parse(&sources, file) {
                Ok(s) => s,
                Err(d) => {
                    fail_all(
                        &mut report,
                        format!(
                            "nftvm does not read the ipsets:\n{}",
                            nftvm_grammar::diag::render_all(&d, &sources)
                        ),
                    );
                    return report;
                }
            }
        }
        None => Default::default(),
    };
    let opts = Options { format: Some(sc.format()), host: Some(&host), ipsets: Some(&ipsets) };
    let prog = match nftvm::program::load_text("rules.nft", &sc.ruleset, &opts) {
        Ok(p) => p,
        Err(e) => {
            fail_all(&mut report, format!("nftvm does not compile the ruleset:\n{}", e.message));
            return report;
        }
    };
    if sc.format() == Format::Nft {
        report.bytecode = super::bytecode::compare(&legacy, prog.program().program());
    }
    let mut sides = Vec::new();
    for engine in Engine::ALL {
        match nftvm_pipeline(sc, &prog, engine) {
            Ok(pipeline) => sides.push(Side {
                engine,
                pipeline,
                history: Vec::new(),
                packets: Vec::new(),
                emitted: Vec::new(),
                mismatches: Vec::new(),
            }),
            Err(e) => report.engines.push((engine, vec![e])),
        }
    }
    let mut k_hist: Vec<Emitted> = Vec::new();
    for (i, step) in sc.steps.iter().enumerate() {
        let Some(kp) = packet_for(step, &k_hist) else {
            if matches!(step.packet, Packet::From { optional: true, .. }) {
                k_hist.push(Vec::new());
                sides.iter_mut().for_each(|side| side.history.push(Vec::new()));
                continue;
            }
            // The kernel's emissions count as host-generated where nftvm's did (same
            // positions): say what they were, so a generated packet of nftvm's standing where
            // the kernel forwarded one shows as such.
            let answered = match &step.packet {
                Packet::From { step, .. } => k_hist.get(*step).map(|e| {
                    e.iter()
                        .map(|(iface, b, g)| {
                            format!("{iface} {}{}", hex(b), if *g { " (taken as generated)" } else { "" })
                        })
                        .collect::<Vec<_>>()
                }),
                Packet::Fixed(_) => None,
            };
            fail_all(
                &mut report,
                format!(
                    "step {i}: the packet it answers was not emitted by the kernel (it emitted {answered:?})"
                ),
            );
            return report;
        };
        let wait = pause_before(sc, i);
        if wait > 0 {
            std::thread::sleep(std::time::Duration::from_millis(wait));
            // nftvm's timers run at the end of the wait, a millisecond before the step.
            for side in &mut sides {
                side.pipeline.tick(step_time(sc, i).saturating_sub(1_000_000));
            }
        }
        let ko = kernel.inject(step.iface, &kp);
        report.emitted += ko.emitted.len();
        let mut k_step: Emitted =
            ko.emitted.iter().map(|e| (e.iface.clone(), e.bytes.clone(), false)).collect();
        for side in &mut sides {
            let Some(np) = packet_for(step, &side.history) else {
                side.mismatches.push(format!("step {i}: the packet it answers was not emitted by nftvm"));
                side.history.push(Vec::new());
                continue;
            };
            side.packets.push((step.iface, np.clone(), step_time(sc, i)));
            let nft = &mut side.pipeline;
            let iif = nft.host().iface_by_name(step.iface).unwrap_or(IfaceId(0));
            let no = nft.process(iif, step_time(sc, i), np, LinkType::Raw);
            let ne = emitted_of(nft, &no);
            if let Some(m) = compare_step(i, &ko.emitted, &ne, sc.port_choice_free) {
                side.mismatches
                    .push(format!("{m}\n  nftvm outcome: {:?} path {:?}", no.packet.fate, no.packet.path));
            }
            // Mark the kernel's generated emissions as nftvm saw them (same positions).
            if side.engine == Engine::Interp {
                for (slot, n) in k_step.iter_mut().zip(ne.iter()) {
                    slot.2 = n.2;
                }
            }
            side.emitted.push(ne.clone());
            side.history.push(ne);
        }
        k_hist.push(k_step);
    }
    let kct = ct_normalize(&kernel.conntrack(), sc.port_choice_free);
    report.ct_entries = kct.len();
    // `conntrack -L expect` lists IPv4 expectations only unless asked for a family.
    let mut kexp = kernel.conntrack_with(&["-L", "expect", "-f", "ipv4"]);
    kexp.extend(kernel.conntrack_with(&["-L", "expect", "-f", "ipv6"]));
    let kexp = expect_normalize(&kexp);
    // Rule counters, in listing order (tables, chains, rules as declared).
    let kcounters: Vec<(u64, u64)> = kernel.counters().iter().map(|c| (c.packets, c.bytes)).collect();
    report.counters = kcounters.len();
    // The named sets as listed (only nft text has a listing on both sides).
    let klisting = (sc.format() == Format::Nft).then(|| kernel.ruleset());
    let stray = kernel.stray().first().map(|s| format!("kernel emitted a stray packet between steps: {s:?}"));
    for mut side in sides {
        let nft = &side.pipeline;
        let ncounters = counters_of(nft);
        if kcounters != ncounters {
            side.mismatches.push(format!("rule counters differ: kernel {kcounters:?}, nftvm {ncounters:?}"));
        }
        if let Some(k) = &klisting {
            let ours = super::live_sets::listing(&prog, nft).unwrap_or_default();
            let (blocks, differs) = super::live_sets::compare(k, &ours);
            report.set_blocks = blocks;
            side.mismatches.extend(differs);
        }
        let nct = ct_normalize(&nft.conntrack().dump(nft.now()), sc.port_choice_free);
        if kct != nct {
            side.mismatches.push(format!("conntrack tables differ:\n  kernel {kct:#?}\n  nftvm  {nct:#?}"));
        }
        let nexp = expect_normalize(&nft.conntrack().dump_expectations(nft.now()));
        if kexp != nexp {
            side.mismatches.push(format!("expectations differ:\n  kernel {kexp:#?}\n  nftvm  {nexp:#?}"));
        }
        // The CLI replays the packets this side saw (replies included), deterministic.
        if side.mismatches.is_empty() {
            report.cli += 1;
            let exact = ct_normalize(&nft.conntrack().dump(nft.now()), false);
            if let Err(e) = super::cli::check(sc, side.engine, &side.packets, &side.emitted, &exact) {
                side.mismatches.push(format!("nftvm eval (CLI): {e}"));
            }
        }
        if let Some(s) = &stray {
            side.mismatches.push(s.clone());
        }
        report.engines.push((side.engine, side.mismatches));
    }
    report
}
