//! Runs `tests/filetests/*.nftvm`: programs in the disassembly syntax, packets, metadata and
//! the results the kernel would give (written from the kernel's `nft_*.c` eval functions).
//! Every run goes through [`run_engine`] on every engine ([`Engine::ALL`]: the interpreter
//! and the JIT), each with its own program state; the expectations are checked on each, and
//! the engines must agree exactly (result, trace, registers, state, packet, effects). Each
//! run is also made untraced (the per-packet path, where native code calls no helper to
//! record a rule) from the same state: its outcome must be the traced one's, trace aside.
//!
//! File syntax (`;` starts a comment line):
//! ```text
//! %program                       the program text (nftvm_vm::text::program)
//! %run ip filter input [clock=NS] evaluate a chain, settings and packet follow
//! meta mark 0x00000001           metadata the runtime answers (printed value, key's order)
//! ct state 0x00000008            conntrack keys (`ct src original 0x0a000001`)
//! env fib 0x00000002             answers for fib/rt/socket/osf/xfrm/tunnel/symhash/random/connlimit/
//!                                origin (the connection's original source, for `cluster`),
//!                                mtu-out/mtu-back (route MTUs, for TCPMSS)
//! link 000000000000 …            link-layer header bytes in front of the packet
//! packet 4500…                   the packet from its IP header (hex, spaces ignored)
//! expect verdict accept          accept | drop | stolen | queue N [bypass]
//! expect rule input 2            the deciding rule (chain, index), or `expect rule policy`
//! expect trace input:0 input:2   rules whose statements applied
//! expect reg 1 0x0a000001        register bytes after the run (network-order words)
//! expect packet 4500…            packet bytes after the run
//! expect effect nat snat ip addr 0a000001-0a000001 port 0050-0050 flags 0x0
//! expect effects none            no side effect requests
//! expect slot 0 counter 1 40      state of a stateful expression/object slot
//! ```

use nftvm_testkit::log_effect;
use nftvm_vm::data::{ByteOrder, Data};
use nftvm_vm::expr::tcpmss::MssInsert;
use nftvm_vm::interp::{
    self, Env, FibQuery, IcmpErrorRequest, LogRequest, NatKind, NatRequest, PacketCtx, ProgramState,
    RejectRequest, RunOptions, TproxyRequest,
};
use nftvm_vm::keys::{CtDir, CtKey, Family, Hook, MetaKey};
use nftvm_vm::verdict::Verdict;
use nftvm_vm::{Engine, Executable, Reg, VerifiedProgram, text, verify};
use std::collections::HashMap;
use std::sync::Arc;

/// The runtime stand-in: answers from the test's settings and records requested effects.
#[derive(Default)]
struct TestEnv {
    now: u64,
    meta: HashMap<MetaKey, Vec<u8>>,
    ct: HashMap<(CtKey, Option<CtDir>), Vec<u8>>,
    answers: HashMap<String, Vec<u8>>,
    effects: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl TestEnv {
    fn answer(&self, what: &str, out: &mut [u8]) -> bool {
        match self.answers.get(what) {
            Some(v) if v.len() == out.len() => {
                out.copy_from_slice(v);
                true
            }
            _ => false,
        }
    }

    fn answer_u32(&self, what: &str) -> Option<u32> {
        let v = self.answers.get(what)?;
        let mut b = [0u8; 4];
        b[..v.len().min(4)].copy_from_slice(&v[..v.len().min(4)]);
        Some(u32::from_le_bytes(b))
    }
}

impl Env for TestEnv {
    fn now_ns(&self) -> u64 {
        self.now
    }
    fn random_u32(&mut self) -> u32 {
        self.answer_u32("random").unwrap_or(0)
    }
    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        match self.meta.get(&key) {
            Some(v) if v.len() == out.len() => {
                out.copy_from_slice(v);
                true
            }
            _ => false,
        }
    }
    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        // The mark is a field of the packet: a later `meta mark` sees the latest write.
        if key == MetaKey::Mark {
            self.meta.insert(key, value.to_vec());
        }
        log_effect(&mut self.effects, format!("meta set {key} {}", hex(value)));
    }
    fn ct_get(&mut self, key: CtKey, dir: Option<CtDir>, out: &mut [u8]) -> bool {
        match self.ct.get(&(key, dir)).or_else(|| self.ct.get(&(key, None))) {
            Some(v) if v.len() == out.len() => {
                out.copy_from_slice(v);
                true
            }
            _ => false,
        }
    }
    fn ct_origin_source(&mut self) -> Option<std::net::IpAddr> {
        match *self.answers.get("origin")?.as_slice() {
            [a, b, c, d] => Some(std::net::IpAddr::from([a, b, c, d])),
            ref v => <[u8; 16]>::try_from(v).ok().map(std::net::IpAddr::from),
        }
    }
    fn ct_set(&mut self, key: CtKey, dir: Option<CtDir>, value: &[u8]) {
        let d = dir.map_or(String::new(), |d| format!(" {d}"));
        self.effects.push(format!("ct set {key}{d} {}", hex(value)));
    }
    fn notrack(&mut self) {
        self.effects.push("notrack".into());
    }
    fn flow_offload(&mut self, flowtable: nftvm_vm::FlowtableId) -> bool {
        self.effects.push(format!("flow offload {}", flowtable.0));
        self.answers.contains_key("offload")
    }
    fn connlimit_count(
        &mut self,
        _list: nftvm_vm::expr::connlimit::ConnList,
    ) -> nftvm_vm::expr::connlimit::Count {
        use nftvm_vm::expr::connlimit::Count;
        if self.answers.contains_key("connlimit-no-tuple") {
            return Count::NoTuple;
        }
        self.answer_u32("connlimit").map_or(Count::NotCounted, Count::Conns)
    }
    fn fib(&mut self, q: FibQuery, out: &mut [u8]) -> bool {
        self.effects.push(format!("fib flags 0x{:x} result {}", q.flags, q.result));
        self.answer("fib", out)
    }
    fn rt_get(&mut self, key: u32, out: &mut [u8]) -> bool {
        self.answer(&format!("rt{key}"), out)
    }
    fn socket_get(&mut self, key: u32, _level: u32, out: &mut [u8]) -> bool {
        self.answer(&format!("socket{key}"), out)
    }
    fn osf_get(&mut self, _ttl: u8, _flags: u32, out: &mut [u8]) -> bool {
        self.answer("osf", out)
    }
    fn xfrm_get(&mut self, dir: u8, spnum: u32, key: u32, out: &mut [u8]) -> bool {
        self.answer(&format!("xfrm{dir}.{spnum}.{key}"), out)
    }
    fn tunnel_get(&mut self, key: u32, out: &mut [u8]) -> bool {
        self.answer(&format!("tunnel{key}"), out)
    }
    fn symhash(&mut self) -> u32 {
        self.answer_u32("symhash").unwrap_or(0)
    }
    fn nat(&mut self, r: &NatRequest<'_>) -> Verdict {
        let kind = match r.kind {
            NatKind::Snat => "snat",
            NatKind::Dnat => "dnat",
            NatKind::Masquerade => "masq",
            NatKind::Redirect => "redir",
        };
        let mut s = format!("nat {kind} {}", r.family);
        if let (Some(a), Some(b)) = (r.addr_min, r.addr_max) {
            s += &format!(" addr {}-{}", hex(a), hex(b));
        }
        if let (Some(a), Some(b)) = (r.proto_min, r.proto_max) {
            s += &format!(" port {a:04x}-{b:04x}");
        }
        s += &format!(" flags 0x{:x}", r.flags);
        self.effects.push(s);
        Verdict::Accept
    }
    fn route_mtu(&mut self, to_source: bool) -> Option<u32> {
        self.answer_u32(if to_source { "mtu-back" } else { "mtu-out" })
    }

    fn tcp_mss_insert(&mut self, r: MssInsert) {
        let v6 = if r.ipv6 { " ipv6" } else { "" };
        self.effects.push(format!("tcpmss insert at {} mss {}{v6}", r.th, r.mss));
    }

    fn reject(&mut self, r: RejectRequest) {
        self.effects.push(format!("reject type {} code {}", r.kind, r.code));
    }

    fn icmp_error(&mut self, r: IcmpErrorRequest) {
        self.effects.push(format!("icmp error type {} code {} rest {}", r.kind, r.code, r.rest));
    }
    fn dup(&mut self, _packet: &[u8], addr: Option<&[u8]>, dev: Option<u32>) {
        self.effects.push(format!(
            "dup addr {} dev {}",
            addr.map_or("-".into(), hex),
            dev.map_or("-".into(), |d| d.to_string())
        ));
    }
    fn fwd(&mut self, _packet: &[u8], dev: u32, addr: Option<&[u8]>, nfproto: u8) -> Verdict {
        self.effects.push(format!("fwd dev {dev} addr {} nfproto {nfproto}", addr.map_or("-".into(), hex)));
        Verdict::Stolen
    }
    fn tproxy(&mut self, r: &TproxyRequest<'_>) -> Verdict {
        self.effects.push(format!(
            "tproxy addr {} port {}",
            r.addr.map_or("-".into(), hex),
            r.port.map_or("-".into(), |p| format!("{p:04x}"))
        ));
        Verdict::Continue
    }
    fn synproxy(&mut self, mss: u16, wscale: u8, _flags: u32) -> Verdict {
        self.effects.push(format!("synproxy mss {mss} wscale {wscale}"));
        Verdict::Continue
    }
    fn object(&mut self, obj: &nftvm_vm::object::Object) -> Verdict {
        self.effects.push(format!("object {} {}", obj.kind.type_number(), obj.name));
        Verdict::Continue
    }
    fn log(&mut self, r: &LogRequest<'_>) {
        self.effects.push(format!(
            "log prefix {} level {} group {} flags 0x{:x}",
            r.prefix.unwrap_or("-"),
            r.level.map_or("-".into(), |l| l.to_string()),
            r.group.map_or("-".into(), |g| g.to_string()),
            r.flags
        ));
    }
}

/// The outcome an engine reports for one run.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: interp::RunResult,
    slots: Vec<interp::Slot>,
    packet: Vec<u8>,
    effects: Vec<String>,
}

/// One run on one engine.
fn run_engine(
    exe: &Executable,
    state: &mut ProgramState,
    run: &Run,
    opts: RunOptions,
) -> Result<Outcome, String> {
    let prog = exe.program();
    let family = Family::from_name(&run.family).ok_or("bad family")?;
    let table = prog.find_table(family, &run.table).ok_or("unknown table")?;
    let chain = prog.find_chain(table, &run.chain).ok_or("unknown chain")?;
    let hook = prog.chain(chain).and_then(|c| c.base.as_ref()).map_or(Hook::Input, |b| b.hook);
    let mut env = TestEnv {
        now: run.clock,
        meta: run.meta.clone(),
        ct: run.ct.clone(),
        answers: run.answers.clone(),
        ..Default::default()
    };
    let mut bytes = run.link.clone();
    bytes.extend_from_slice(&run.packet);
    let nh = run.link.len();
    let (transport_off, l4proto, nfproto, protocol) = if run.arp {
        (None, 0, Family::Arp, 0x0806)
    } else {
        let parsed = PacketCtx::from_ip(&mut bytes[nh..], hook);
        (parsed.transport_off, parsed.l4proto, parsed.nfproto, parsed.protocol)
    };
    let mut pkt = PacketCtx {
        data: &mut bytes,
        link_off: (nh > 0).then_some(0),
        network_off: nh,
        transport_off: transport_off.map(|t| t + nh),
        l4proto,
        nfproto,
        protocol,
        hook,
    };
    let mut result = interp::RunResult::default();
    exe.run_chain_into(state, chain, &mut pkt, &mut env, opts, &mut result);
    Ok(Outcome { result, slots: state.slots.clone(), packet: bytes[nh..].to_vec(), effects: env.effects })
}

#[derive(Default, Clone)]
struct Run {
    line: usize,
    family: String,
    table: String,
    chain: String,
    clock: u64,
    meta: HashMap<MetaKey, Vec<u8>>,
    ct: HashMap<(CtKey, Option<CtDir>), Vec<u8>>,
    answers: HashMap<String, Vec<u8>>,
    link: Vec<u8>,
    packet: Vec<u8>,
    /// The packet is ARP, not IP (`arp` instead of `packet`): no transport header, and
    /// `meta l4proto` is for the environment to answer.
    arp: bool,
    expects: Vec<(usize, String)>,
}

fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in `{s}`"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("bad hex `{s}`")))
        .collect()
}

fn value(words: &[&str], order: ByteOrder) -> Result<Vec<u8>, String> {
    Ok(Data::parse_words(words, order, true)?.bytes().to_vec())
}

fn parse_setting(run: &mut Run, line: &str) -> Result<(), String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["meta", key, rest @ ..] => {
            let k = MetaKey::from_name(key).ok_or_else(|| format!("unknown meta key {key}"))?;
            run.meta.insert(k, value(rest, nftvm_vm::expr::meta::key_order(k))?);
        }
        ["ct", key, rest @ ..] => {
            let k = CtKey::from_name(key).ok_or_else(|| format!("unknown ct key {key}"))?;
            let (dir, rest) = match rest.first().and_then(|d| CtDir::from_name(d)) {
                Some(d) => (Some(d), &rest[1..]),
                None => (None, rest),
            };
            run.ct.insert((k, dir), value(rest, nftvm_vm::expr::ct::key_order(k))?);
        }
        ["env", what, order, rest @ ..] => {
            let o = if *order == "host" { ByteOrder::Host } else { ByteOrder::Network };
            run.answers.insert(what.to_string(), value(rest, o)?);
        }
        ["link", rest @ ..] => run.link = parse_hex_bytes(&rest.join(""))?,
        ["packet", rest @ ..] => run.packet = parse_hex_bytes(&rest.join(""))?,
        ["arp", rest @ ..] => {
            run.packet = parse_hex_bytes(&rest.join(""))?;
            run.arp = true;
        }
        _ => return Err(format!("unknown setting `{line}`")),
    }
    Ok(())
}

fn check(prog: &VerifiedProgram, out: &Outcome, line: &str) -> Result<(), String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let r = &out.result;
    let chain_name = |c: nftvm_vm::ChainId| prog.chain_name(c).to_string();
    match w.as_slice() {
        ["verdict", v @ ..] => {
            let got = match r.verdict {
                Verdict::Queue { num, bypass } => {
                    format!("queue {num}{}", if bypass { " bypass" } else { "" })
                }
                v => v.name().to_string(),
            };
            if got != v.join(" ") {
                return Err(format!("verdict {got}, expected {}", v.join(" ")));
            }
        }
        ["rule", "policy"] => {
            if let Some(d) = r.decided_by {
                return Err(format!(
                    "decided by rule {} {}, expected the policy",
                    chain_name(d.chain),
                    d.rule
                ));
            }
        }
        ["rule", chain, idx] => {
            let got = r.decided_by.map(|d| format!("{} {}", chain_name(d.chain), d.rule));
            if got.as_deref() != Some(&format!("{chain} {idx}")) {
                return Err(format!("decided by {got:?}, expected {chain} {idx}"));
            }
        }
        ["trace", items @ ..] => {
            let got: Vec<String> =
                r.trace.iter().map(|t| format!("{}:{}", chain_name(t.rule.chain), t.rule.rule)).collect();
            if got != items.iter().map(|s| s.to_string()).collect::<Vec<_>>() {
                return Err(format!("trace {got:?}, expected {items:?}"));
            }
        }
        ["reg", n, words @ ..] => {
            let want = value(words, ByteOrder::Network)?;
            let reg = Reg(n.parse().map_err(|_| "bad register")?);
            let got = r.regs.get(reg, want.len()).ok_or("register out of range")?;
            if got != want.as_slice() {
                return Err(format!("reg {n} holds {}, expected {}", hex(got), hex(&want)));
            }
        }
        ["packet", rest @ ..] => {
            let want = parse_hex_bytes(&rest.join(""))?;
            if out.packet != want {
                return Err(format!("packet is {}, expected {}", hex(&out.packet), hex(&want)));
            }
        }
        ["slot", n, what @ ..] => {
            let n: usize = n.parse().map_err(|_| "bad slot")?;
            let got = match out.slots.get(n) {
                Some(interp::Slot::Counter { packets, bytes }) => format!("counter {packets} {bytes}"),
                Some(interp::Slot::Quota { consumed }) => format!("quota {consumed}"),
                Some(interp::Slot::Last { at }) => {
                    format!("last {}", at.map_or("never".into(), |t| t.to_string()))
                }
                Some(interp::Slot::Numgen { counter }) => format!("numgen {counter}"),
                Some(interp::Slot::Limit { tokens, last }) => format!("limit {tokens} {last}"),
                other => format!("{other:?}"),
            };
            if got != what.join(" ") {
                return Err(format!("slot {n} is `{got}`, expected `{}`", what.join(" ")));
            }
        }
        ["effects", "none"] => {
            if !out.effects.is_empty() {
                return Err(format!("unexpected effects {:?}", out.effects));
            }
        }
        ["effect", rest @ ..] => {
            let want = rest.join(" ");
            let norm = |e: &str| e.split_whitespace().collect::<Vec<_>>().join(" ");
            if !out.effects.iter().any(|e| norm(e) == want) {
                return Err(format!("effect `{want}` missing; effects: {:?}", out.effects));
            }
        }
        _ => return Err(format!("unknown expectation `{line}`")),
    }
    Ok(())
}

fn run_file(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read filetest");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let mut failures = Vec::new();
    let mut program_text = String::new();
    let mut program_line = 0;
    let mut runs: Vec<Run> = Vec::new();
    let mut section = "";
    let flush = |program_text: &str, program_line: usize, runs: &mut Vec<Run>, failures: &mut Vec<String>| {
        if program_text.trim().is_empty() {
            return;
        }
        let prog = match text::assemble(program_text) {
            Ok(p) => p,
            Err(e) => {
                runs.clear();
                return failures.push(format!("{name}:{}: {e}", program_line + e.line));
            }
        };
        let prog = match verify(prog) {
            Ok(p) => p,
            Err(e) => {
                runs.clear();
                return failures.push(format!("{name}:{program_line}: verifier: {e}"));
            }
        };
        // Text round trip of the whole program.
        let again = text::disassemble(&prog);
        match text::assemble(&again) {
            Ok(p2) if text::disassemble(&p2) == again => {}
            _ => failures.push(format!("{name}:{program_line}: program does not round-trip:\n{again}")),
        }
        let prog = Arc::new(prog);
        let mut engines = Vec::new();
        for engine in Engine::ALL {
            match Executable::new(Arc::clone(&prog), engine) {
                Ok(exe) => engines.push((exe, ProgramState::new(&prog, 0))),
                Err(e) => failures.push(format!("{name}:{program_line}: {engine}: {e}")),
            }
        }
        for run in runs.drain(..) {
            // Every truncation of the packet must evaluate without panicking (loads past the
            // end break the rule, as in the kernel), identically on every engine; state is not
            // carried over.
            for n in 0..run.packet.len() {
                let mut short = run.clone();
                short.packet.truncate(n);
                TRUNCATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut outs: Vec<(Engine, Outcome)> = Vec::new();
                for (exe, state) in &engines {
                    let mut scratch = state.clone();
                    if let Ok(o) = run_engine(exe, &mut scratch, &short, RunOptions::TRACED) {
                        outs.push((exe.engine(), o));
                    }
                }
                if let [(a, first), rest @ ..] = outs.as_slice() {
                    for (b, other) in rest {
                        if other != first {
                            let line = run.line;
                            failures.push(format!(
                                "{name}:{line}: truncated to {n} bytes, {b} differs from {a}:\n{other:#?}\n{first:#?}"
                            ));
                        }
                    }
                }
            }
            let mut outcomes: Vec<(Engine, Outcome)> = Vec::new();
            for (exe, state) in &mut engines {
                let engine = exe.engine();
                // The untraced run (the per-packet path: no helper called to record rules),
                // from the same state, must have the same outcome but for the trace.
                let untraced = run_engine(exe, &mut state.clone(), &run, RunOptions::UNTRACED);
                match run_engine(exe, state, &run, RunOptions::TRACED) {
                    Err(e) => failures.push(format!("{name}:{}: {engine}: {e}", run.line)),
                    Ok(out) => {
                        for (ln, ex) in &run.expects {
                            if let Err(e) = check(&prog, &out, ex) {
                                failures.push(format!("{name}:{ln}: {engine}: {e}"));
                            }
                        }
                        if let Ok(mut u) = untraced {
                            u.result.trace.clone_from(&out.result.trace);
                            if u != out {
                                failures.push(format!(
                                    "{name}:{}: {engine} untraced differs from traced:\n{u:#?}\n{out:#?}",
                                    run.line
                                ));
                            }
                        }
                        outcomes.push((engine, out));
                    }
                }
            }
            if let [(a, first), rest @ ..] = outcomes.as_slice() {
                for (b, other) in rest {
                    if other != first {
                        failures.push(format!(
                            "{name}:{}: {b} differs from {a}:\n{other:#?}\n{first:#?}",
                            run.line
                        ));
                    }
                }
            }
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        if line.starts_with(';') {
            continue;
        }
        if line.starts_with("%program") {
            flush(&program_text, program_line, &mut runs, &mut failures);
            program_text.clear();
            program_line = ln;
            section = "program";
            continue;
        }
        if let Some(rest) = line.strip_prefix("%run") {
            section = "run";
            let w: Vec<&str> = rest.split_whitespace().collect();
            let mut run = Run { line: ln, ..Default::default() };
            if w.len() < 3 {
                failures.push(format!("{name}:{ln}: %run needs family table chain"));
                continue;
            }
            run.family = w[0].into();
            run.table = w[1].into();
            run.chain = w[2].into();
            for opt in &w[3..] {
                if let Some(c) = opt.strip_prefix("clock=") {
                    run.clock = c.parse().unwrap_or(0);
                }
            }
            runs.push(run);
            continue;
        }
        match section {
            "program" => {
                program_text.push_str(line);
                program_text.push('\n');
            }
            "run" => {
                let t = line.trim();
                if t.is_empty() {
                    continue;
                }
                let Some(run) = runs.last_mut() else { continue };
                if let Some(e) = t.strip_prefix("expect ") {
                    run.expects.push((ln, e.to_string()));
                } else if let Err(e) = parse_setting(run, t) {
                    failures.push(format!("{name}:{ln}: {e}"));
                }
            }
            _ => {}
        }
    }
    flush(&program_text, program_line, &mut runs, &mut failures);
    failures
}

/// Runs executed (each on every engine), and runs of truncated packets.
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static TRUNCATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn filetests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("filetests dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nftvm"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        failures.extend(run_file(f));
    }
    for f in &failures {
        println!("{f}");
    }
    let runs = RUNS.load(std::sync::atomic::Ordering::Relaxed);
    let truncated = TRUNCATED.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "filetests: {runs} runs and {truncated} truncated-packet runs × {} engines, {} failures",
        Engine::ALL.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} filetest failures", failures.len());
}
