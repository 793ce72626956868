//! A randomized differential between two compilations of one ruleset (the optimizer's
//! interim proof until `diff` proves equivalence symbolically): packets are built to hit the
//! rules' own constants — for a few random rules of a chain, every `payload`/`meta`/`ct`
//! value their tests compare is given one of the constants (or a neighbour) — then run
//! through every IP base chain of both programs. Outcomes must agree: verdict, every
//! request to the runtime (marks set, NAT, logs, …, in order) and the packet bytes.
#![allow(dead_code)]

use nftvm_vm::expr::lookup::Lookup;
use nftvm_vm::interp::{Env, LogRequest, NatRequest, PacketCtx, ProgramState, RejectRequest, TproxyRequest};
use nftvm_vm::keys::{CmpOp, CtDir, CtKey, Family, Hook, MetaKey, PayloadBase};
use nftvm_vm::set::ElemData;
use nftvm_vm::{ChainId, Executable, Expr, Program, Reg, Verdict};
use std::collections::HashMap;

pub use nftvm_testkit::Rng;

/// What a packet is made of: its bytes and the metadata/conntrack answers the runtime gives.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub bytes: Vec<u8>,
    pub meta: HashMap<MetaKey, Vec<u8>>,
    pub ct: HashMap<CtKey, Vec<u8>>,
}

/// A load a test reads.
#[derive(Clone, Copy, Debug)]
enum Load {
    Payload(PayloadBase, u32, usize),
    Meta(MetaKey, usize),
    Ct(CtKey, usize),
}

impl Plan {
    /// A base packet: IPv4 or IPv6, TCP/UDP/ICMP/other, random addresses and ports.
    pub fn base(rng: &mut Rng, v6: bool) -> Plan {
        let proto = [6u8, 17, 1, 58, 132, 47][rng.below(6)];
        let l4: usize = if proto == 6 { 20 } else { 8 };
        let mut b = Vec::new();
        let payload = 32;
        if v6 {
            b.extend_from_slice(&[0x60, 0, 0, 0]);
            b.extend_from_slice(&((l4 + payload) as u16).to_be_bytes());
            b.extend_from_slice(&[proto, 64]);
            for _ in 0..32 {
                b.push(rng.next_u64() as u8);
            }
        } else {
            let total = (20 + l4 + payload) as u16;
            b.extend_from_slice(&[0x45, 0]);
            b.extend_from_slice(&total.to_be_bytes());
            b.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
            for _ in 0..8 {
                b.push(rng.next_u64() as u8);
            }
        }
        for i in 0..l4 + payload {
            b.push(if i < 4 { rng.next_u64() as u8 } else { 0 });
        }
        if proto == 6 {
            let th = b.len() - l4 - payload;
            b[th + 12] = 0x50;
            b[th + 13] = rng.next_u64() as u8 & 0x3f;
        }
        let mut p = Plan { bytes: b, ..Plan::default() };
        p.meta.insert(MetaKey::Mark, (rng.next_u64() as u32 % 4).to_le_bytes().to_vec());
        p.meta.insert(MetaKey::Iif, (1 + rng.next_u64() as u32 % 3).to_le_bytes().to_vec());
        p.meta.insert(MetaKey::Oif, (1 + rng.next_u64() as u32 % 3).to_le_bytes().to_vec());
        let names = ["eth0", "eth1", "lo", "wlan0"];
        for k in [MetaKey::IifName, MetaKey::OifName] {
            let mut n = [0u8; 16];
            let name = names[rng.below(names.len())].as_bytes();
            n[..name.len()].copy_from_slice(name);
            p.meta.insert(k, n.to_vec());
        }
        let states = [1u32, 2, 4, 8, 64];
        p.ct.insert(CtKey::State, states[rng.below(states.len())].to_le_bytes().to_vec());
        p
    }

    fn set(&mut self, load: Load, value: &[u8]) {
        match load {
            Load::Payload(base, off, len) => {
                let start = match base {
                    PayloadBase::Network => Some(0usize),
                    PayloadBase::Transport => transport_offset(&self.bytes),
                    _ => None,
                };
                if let Some(s) = start {
                    let at = s + off as usize;
                    for (i, b) in value.iter().take(len).enumerate() {
                        if let Some(x) = self.bytes.get_mut(at + i) {
                            *x = *b;
                        }
                    }
                }
            }
            Load::Meta(MetaKey::L4proto, _) => {
                if let Some(b) = value.first() {
                    let at = if self.bytes.first().is_some_and(|v| v >> 4 == 6) { 6 } else { 9 };
                    if let Some(x) = self.bytes.get_mut(at) {
                        *x = *b;
                    }
                }
            }
            Load::Meta(k, len) => {
                let mut v = value.to_vec();
                v.resize(len, 0);
                self.meta.insert(k, v);
            }
            Load::Ct(k, len) => {
                let mut v = value.to_vec();
                v.resize(len, 0);
                self.ct.insert(k, v);
            }
        }
    }

    /// Gives the values tested by `rule`'s leading tests one of their constants.
    pub fn aim(&mut self, prog: &Program, rule: &nftvm_vm::Rule, rng: &mut Rng) {
        let mut regs: HashMap<usize, Load> = HashMap::new();
        for e in &rule.exprs {
            match e {
                Expr::Payload(p) => {
                    if let nftvm_vm::expr::payload::PayloadOp::Load { dreg } = p.op
                        && let Some(w) = dreg.word()
                    {
                        regs.insert(w, Load::Payload(p.base, p.offset, p.len as usize));
                    }
                }
                Expr::Meta(m) => {
                    if let nftvm_vm::expr::meta::MetaOp::Load { dreg } = m.op
                        && let Some(w) = dreg.word()
                    {
                        regs.insert(w, Load::Meta(m.key, nftvm_vm::expr::meta::key_len(m.key)));
                    }
                }
                Expr::Ct(c) => {
                    if let nftvm_vm::expr::ct::CtOp::Load { dreg } = c.op
                        && let Some(w) = dreg.word()
                    {
                        regs.insert(w, Load::Ct(c.key, nftvm_vm::expr::ct::key_len(c.key, Family::Ip)));
                    }
                }
                Expr::Cmp(c) => {
                    if let Some(l) = word(c.sreg).and_then(|w| regs.get(&w)) {
                        let v = nudge(c.data.bytes(), c.op, rng);
                        self.set(*l, &v);
                    }
                }
                Expr::Range(r) => {
                    if let Some(l) = word(r.sreg).and_then(|w| regs.get(&w)) {
                        let v = if rng.chance(50) { r.from.bytes().to_vec() } else { r.to.bytes().to_vec() };
                        self.set(*l, &nudge(&v, CmpOp::Eq, rng));
                    }
                }
                Expr::Lookup(l) => self.aim_lookup(prog, l, &regs, rng),
                _ => {}
            }
        }
    }

    fn aim_lookup(&mut self, prog: &Program, l: &Lookup, regs: &HashMap<usize, Load>, rng: &mut Rng) {
        let Some(set) = prog.set(l.set) else { return };
        let elems: Vec<_> =
            set.elements.iter().filter(|e| !e.is_catchall() && !e.is_interval_end()).collect();
        if elems.is_empty() {
            return;
        }
        let e = elems[rng.below(elems.len())];
        let key = match (&e.key_end, rng.chance(50)) {
            (Some(end), true) => end.bytes().to_vec(),
            _ => e.key.bytes().to_vec(),
        };
        let Some(w0) = word(l.sreg) else { return };
        let mut off = 0usize;
        let fields: Vec<usize> = if set.key.len() > 1 {
            set.key.iter().map(|f| f.len as usize).collect()
        } else {
            vec![set.key_len()]
        };
        for len in fields {
            if let (Some(load), Some(bytes)) = (regs.get(&(w0 + off / 4)), key.get(off..off + len)) {
                self.set(*load, bytes);
            }
            off += if set.key.len() > 1 { len.div_ceil(4) * 4 } else { len };
        }
        let _ = ElemData::Verdict;
    }
}

fn word(r: Reg) -> Option<usize> {
    r.word()
}

/// A constant, or a neighbour of it (to land on both sides of a boundary).
fn nudge(d: &[u8], op: CmpOp, rng: &mut Rng) -> Vec<u8> {
    let mut v = d.to_vec();
    let step = match op {
        CmpOp::Eq => [0i8, 0, 0, 1, -1][rng.below(5)],
        _ => [0i8, 1, -1][rng.below(3)],
    };
    if let Some(last) = v.last_mut() {
        *last = last.wrapping_add(step as u8);
    }
    v
}

/// The transport header offset of an IPv4/IPv6 packet (no extension headers).
fn transport_offset(b: &[u8]) -> Option<usize> {
    match b.first()? >> 4 {
        4 => Some(((b.first()? & 0xf) as usize) * 4),
        6 => Some(40),
        _ => None,
    }
}

/// An environment that answers from a [`Plan`] and records every request, in order. A value
/// a rule sets (`meta mark set`, `ct mark set`) is what later reads of it answer, as in the
/// runtime, so a rule whose tests depend on an earlier rule's change sees it.
pub struct PlanEnv<'a> {
    pub plan: &'a Plan,
    /// What the chain asked of the runtime, in order ([`nftvm_testkit::log_effect`]).
    pub log: Vec<String>,
    rand: u32,
    meta_set: HashMap<MetaKey, Vec<u8>>,
    ct_set: HashMap<CtKey, Vec<u8>>,
}

impl<'a> PlanEnv<'a> {
    pub fn new(plan: &'a Plan) -> PlanEnv<'a> {
        PlanEnv { plan, log: Vec::new(), rand: 7, meta_set: HashMap::new(), ct_set: HashMap::new() }
    }
}

/// Answers `out` from a set value, else from the plan.
fn answer<K: std::hash::Hash + Eq>(
    set: &HashMap<K, Vec<u8>>,
    plan: &HashMap<K, Vec<u8>>,
    key: K,
    out: &mut [u8],
) -> bool {
    match set.get(&key).or_else(|| plan.get(&key)) {
        Some(v) if v.len() == out.len() => {
            out.copy_from_slice(v);
            true
        }
        _ => false,
    }
}

impl Env for PlanEnv<'_> {
    fn now_ns(&self) -> u64 {
        1_000_000_000
    }
    fn random_u32(&mut self) -> u32 {
        self.rand = self.rand.wrapping_mul(1_103_515_245).wrapping_add(12345);
        self.rand
    }
    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        answer(&self.meta_set, &self.plan.meta, key, out)
    }
    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        nftvm_testkit::log_effect(&mut self.log, format!("meta set {key} {value:02x?}"));
        self.meta_set.insert(key, value.to_vec());
    }
    fn ct_get(&mut self, key: CtKey, _dir: Option<CtDir>, out: &mut [u8]) -> bool {
        answer(&self.ct_set, &self.plan.ct, key, out)
    }
    fn ct_set(&mut self, key: CtKey, dir: Option<CtDir>, value: &[u8]) {
        self.log.push(format!("ct set {key} {dir:?} {value:02x?}"));
        if dir.is_none() {
            self.ct_set.insert(key, value.to_vec());
        }
    }
    fn notrack(&mut self) {
        self.log.push("notrack".into());
    }
    fn nat(&mut self, req: &NatRequest<'_>) -> Verdict {
        self.log.push(format!("nat {req:?}"));
        Verdict::Accept
    }
    fn reject(&mut self, req: RejectRequest) {
        self.log.push(format!("reject {req:?}"));
    }
    fn dup(&mut self, packet: &[u8], addr: Option<&[u8]>, dev: Option<u32>) {
        self.log.push(format!("dup {packet:?} {addr:?} {dev:?}"));
    }
    fn fwd(&mut self, packet: &[u8], dev: u32, addr: Option<&[u8]>, nfproto: u8) -> Verdict {
        self.log.push(format!("fwd {packet:?} {dev} {addr:?} {nfproto}"));
        Verdict::Stolen
    }
    fn tproxy(&mut self, req: &TproxyRequest<'_>) -> Verdict {
        self.log.push(format!("tproxy {req:?}"));
        Verdict::Break
    }
    fn object(&mut self, obj: &nftvm_vm::object::Object) -> Verdict {
        self.log.push(format!("object {} {}", obj.kind.type_number(), obj.name));
        Verdict::Continue
    }
    fn log(&mut self, req: &LogRequest<'_>) {
        self.log.push(format!("log {req:?}"));
    }
}

/// One packet's outcome in one base chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub requests: String,
    pub bytes: Vec<u8>,
}

/// The IP base chains of a program (the hook and the packet families they see).
pub fn ip_base_chains(p: &Program) -> Vec<(ChainId, Hook, Vec<bool>)> {
    let mut out = Vec::new();
    for (i, c) in p.chains.iter().enumerate() {
        let Some(b) = &c.base else { continue };
        let fams = match p.table(c.table).map(|t| t.family) {
            Some(Family::Ip) => vec![false],
            Some(Family::Ip6) => vec![true],
            Some(Family::Inet) => vec![false, true],
            _ => continue,
        };
        out.push((ChainId(i as u32), b.hook, fams));
    }
    out
}

/// Runs a plan through a chain.
pub fn run(exe: &Executable, state: &mut ProgramState, chain: ChainId, hook: Hook, plan: &Plan) -> Outcome {
    let mut bytes = plan.bytes.clone();
    let mut env = PlanEnv::new(plan);
    let mut pkt = PacketCtx::from_ip(&mut bytes, hook);
    let r = exe.run_chain(state, chain, &mut pkt, &mut env);
    let requests = env.log.iter().map(|e| format!("{e}\n")).collect();
    Outcome { verdict: r.verdict, requests, bytes }
}

/// The chain with the same name in another program (chains keep their names).
pub fn same_chain(a: &Program, b: &Program, c: ChainId) -> Option<ChainId> {
    let ch = a.chain(c)?;
    let t = a.table(ch.table)?;
    let tb = b.find_table(t.family, &t.name)?;
    b.find_chain(tb, &ch.name)
}

/// Differential of `reference` and `optimized` on `packets` guided packets per base chain;
/// returns (agreeing runs, runs, first disagreement).
pub fn compare(
    reference: &Executable,
    optimized: &Executable,
    packets: usize,
    seed: u64,
) -> (usize, usize, Option<String>) {
    let (pa, pb) = (reference.program().program(), optimized.program().program());
    let mut sa = reference.new_state(0);
    let mut sb = optimized.new_state(0);
    let mut rng = Rng::new(seed);
    let (mut ok, mut total, mut first) = (0, 0, None);
    for (chain, hook, fams) in ip_base_chains(pa) {
        let Some(other) = same_chain(pa, pb, chain) else {
            return (0, 1, Some(format!("chain {} missing after optimization", pa.chain_name(chain))));
        };
        let rules = &pa.chains[chain.index()].rules;
        for n in 0..packets {
            let v6 = fams[n % fams.len()];
            let mut plan = Plan::base(&mut rng, v6);
            for _ in 0..1 + rng.below(3) {
                if let Some(r) = rules.get(rng.below(rules.len().max(1))) {
                    plan.aim(pa, r, &mut rng);
                }
            }
            // Some packets are cut short, anywhere after the IP header: the loads past the
            // end break, in the reference rule by rule, in a classifier as absent fields. (The
            // kernel checks the IP header before any IP hook sees the packet — `ip_rcv`,
            // `ipv6_rcv` — so a cut inside it never reaches a chain; merged rules may load
            // more of an address than a prefix test did, which only such a cut could tell.)
            if rng.chance(15) {
                let header = transport_offset(&plan.bytes).unwrap_or(0);
                let keep = header + 1 + rng.below(plan.bytes.len().saturating_sub(header).max(1));
                plan.bytes.truncate(keep);
            }
            let a = run(reference, &mut sa, chain, hook, &plan);
            let b = run(optimized, &mut sb, other, hook, &plan);
            total += 1;
            if a == b {
                ok += 1;
            } else if first.is_none() {
                first = Some(format!(
                    "chain {}: packet {:02x?}, meta {:02x?}, ct {:02x?}\n  reference: {a:?}\n  optimized: {b:?}",
                    pa.chain_name(chain),
                    plan.bytes,
                    plan.meta,
                    plan.ct
                ));
            }
        }
    }
    (ok, total, first)
}
