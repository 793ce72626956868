//! Replaying a `diff` counterexample — from its printed JSON — through the real engines:
//! the ruleset is compiled by codegen, the hook's entries are ordered by the runtime's
//! `HookPlan`, and each base chain runs in the bytecode interpreter on a packet rebuilt
//! from the counterexample's header bytes, with the metadata and conntrack values it names
//! supplied by the environment. Nat chains run (for new/related connections) until one
//! translates. The fate: verdict, and for packets that go on, marks, NAT, objects,
//! `notrack` and the rewritten packet; conntrack marks always.
//!
//! Shares nothing with the diff engine but the JSON format.

use nftvm::compiler::codegen;
use nftvm::compiler::ir::Ruleset;
use nftvm::runtime::pipeline::{Entry, HookPlan};
use nftvm::vm::Verdict;
use nftvm::vm::interp::{Env, NatRequest, PacketCtx, ProgramState, RejectRequest, run_chain};
use nftvm::vm::keys::{CtDir, CtKey, Family, Hook, MetaKey};
use serde_json::Value;
use std::collections::BTreeMap;

/// What happened to the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmFate {
    pub verdict: String,
    /// For packets that go on: metadata written, NAT, objects, notrack, the packet bytes.
    pub meta: BTreeMap<String, Vec<u8>>,
    pub nat: Vec<String>,
    pub objects: Vec<String>,
    pub notrack: bool,
    pub packet: Vec<u8>,
    /// Conntrack values written (kept even when the packet is dropped).
    pub ct: BTreeMap<String, Vec<u8>>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn number(v: &Value) -> u128 {
    let s = v.as_str().unwrap_or("0").trim_start_matches("0x");
    u128::from_str_radix(s, 16).unwrap_or(0)
}

/// Register bytes of a metadata/conntrack value: strings and network-order values most
/// significant byte first, host-order numbers little endian.
fn encode(value: u128, bits: u32, order: nftvm::compiler::types::ByteOrder, string: bool) -> Vec<u8> {
    let len = bits.div_ceil(8) as usize;
    let be: Vec<u8> = value.to_be_bytes()[16 - len..].to_vec();
    if string || order == nftvm::compiler::types::ByteOrder::Network {
        be
    } else {
        be.into_iter().rev().collect()
    }
}

#[derive(Default)]
struct ReplayEnv {
    meta: BTreeMap<MetaKey, Vec<u8>>,
    ct: BTreeMap<(CtKey, Option<CtDir>), Vec<u8>>,
    meta_written: BTreeMap<String, Vec<u8>>,
    ct_written: BTreeMap<String, Vec<u8>>,
    nat: Vec<String>,
    objects: Vec<String>,
    notrack: bool,
    reject: Option<RejectRequest>,
    hook: Option<Hook>,
    rt: BTreeMap<u32, Vec<u8>>,
    /// What `flow add` answers.
    offload: bool,
}

impl Env for ReplayEnv {
    fn flow_offload(&mut self, _flowtable: nftvm::vm::FlowtableId) -> bool {
        self.offload
    }

    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        if let Some(v) = self.meta.get(&key)
            && v.len() == out.len()
        {
            out.copy_from_slice(v);
            return true;
        }
        let no_oif = matches!(self.hook, Some(Hook::Prerouting | Hook::Input));
        let no_iif = self.hook == Some(Hook::Output);
        match key {
            MetaKey::Mark => {
                out.fill(0);
                true
            }
            MetaKey::OifName | MetaKey::Oif if no_oif => {
                out.fill(0);
                true
            }
            MetaKey::IifName | MetaKey::Iif if no_iif => {
                out.fill(0);
                true
            }
            _ => false,
        }
    }

    fn meta_set(&mut self, key: MetaKey, value: &[u8]) {
        self.meta.insert(key, value.to_vec());
        self.meta_written.insert(key.name().to_string(), value.to_vec());
    }

    fn ct_get(&mut self, key: CtKey, dir: Option<CtDir>, out: &mut [u8]) -> bool {
        let dir = if key == CtKey::State || key == CtKey::Mark || key == CtKey::Status { None } else { dir };
        if let Some(v) = self.ct.get(&(key, dir))
            && v.len() == out.len()
        {
            out.copy_from_slice(v);
            return true;
        }
        match key {
            CtKey::State => {
                out.fill(0);
                out[0] = 0x08;
                true
            }
            CtKey::Mark => {
                out.fill(0);
                true
            }
            _ => false,
        }
    }

    fn ct_set(&mut self, key: CtKey, dir: Option<CtDir>, value: &[u8]) {
        self.ct.insert((key, dir), value.to_vec());
        self.ct_written.insert(key.name().to_string(), value.to_vec());
    }

    fn rt_get(&mut self, key: u32, out: &mut [u8]) -> bool {
        match self.rt.get(&key) {
            Some(v) if v.len() == out.len() => {
                out.copy_from_slice(v);
                true
            }
            _ => false,
        }
    }

    fn notrack(&mut self) {
        self.notrack = true;
    }

    fn nat(&mut self, req: &NatRequest<'_>) -> Verdict {
        self.nat.push(format!(
            "{:?} {:?} {:?}-{:?} {:?}-{:?} {:#x}",
            req.kind, req.family, req.addr_min, req.addr_max, req.proto_min, req.proto_max, req.flags
        ));
        Verdict::Accept
    }

    fn reject(&mut self, req: RejectRequest) {
        self.reject = Some(req);
    }

    fn ct_template_helper(&mut self, helper: &str) {
        self.objects.push(format!("CT template {helper}"));
    }

    fn object(&mut self, obj: &nftvm::vm::object::Object) -> Verdict {
        self.objects.push(format!("{} {}", obj.kind.type_number(), obj.name));
        Verdict::Continue
    }
}

fn overlay(base: &mut Vec<u8>, bytes: &[u8], mask: &[u8]) {
    if base.len() < bytes.len() {
        base.resize(bytes.len(), 0);
    }
    for (i, (b, m)) in bytes.iter().zip(mask).enumerate() {
        base[i] = (base[i] & !m) | (b & m);
    }
}

/// TCP options: kind → (option bytes, bit mask of what the counterexample fixed).
type TcpOptions = BTreeMap<u8, Vec<u8>>;

fn set_bits(buf: &mut Vec<u8>, off: u32, len: u32, value: u128) {
    let end = (off + len).div_ceil(8) as usize;
    if buf.len() < end {
        buf.resize(end, 0);
    }
    for i in 0..len {
        let bit = (value >> (len - 1 - i)) & 1;
        let pos = off + i;
        let (byte, shift) = ((pos / 8) as usize, 7 - pos % 8);
        buf[byte] = (buf[byte] & !(1 << shift)) | ((bit as u8) << shift);
    }
}

/// The TCP options block (padded with NOPs to 32 bits).
fn tcp_options(opts: &TcpOptions) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, body) in opts {
        let mut o = body.clone();
        if o.len() < 2 {
            o.resize(2, 0);
        }
        o[0] = *kind;
        o[1] = o.len() as u8;
        out.extend(o);
    }
    while out.len() % 4 != 0 {
        out.insert(0, 1);
    }
    out
}

/// IPv6 extension headers by type: there or not (unsaid: there when a field is set), and
/// their fields' values (a Mobility Header is the transport).
type Exthdrs6 = BTreeMap<u8, (Option<bool>, Vec<FieldValue>)>;

/// A field's value: bit offset, bits, value.
type FieldValue = (u32, u32, u128);

/// `fields` written into `buf`.
fn set_fields(buf: &mut Vec<u8>, fields: &[FieldValue]) {
    for &(off, len, value) in fields {
        set_bits(buf, off, len, value);
    }
}

/// The IPv6 extension headers the counterexample has, in the order RFC 8200 recommends,
/// ending in `last` (the transport's protocol): the chain's bytes and the next-header value
/// the network header then holds.
fn extension_chain(ext: &Exthdrs6, last: u8) -> (Vec<u8>, u8) {
    const ORDER: [u8; 5] = [0, 60, 43, 44, 51];
    let there: Vec<(u8, &Vec<FieldValue>)> = ORDER
        .iter()
        .filter_map(|k| ext.get(k).filter(|(p, _)| *p != Some(false)).map(|(_, fields)| (*k, fields)))
        .collect();
    let mut out = Vec::new();
    for (i, (kind, fields)) in there.iter().enumerate() {
        let next = there.get(i + 1).map_or(last, |(k, _)| *k);
        // The fields, then what keeps the chain walkable (next header, length).
        let mut h = Vec::new();
        set_fields(&mut h, fields);
        h.resize(h.len().max(8).next_multiple_of(8), 0);
        h[0] = next;
        // Header length: 4-octet units minus 2 for AH, else 8-octet units minus 1.
        h[1] = if *kind == 51 { (h.len() / 4 - 2) as u8 } else { (h.len() / 8 - 1) as u8 };
        out.extend(h);
    }
    (out, there.first().map_or(last, |(k, _)| *k))
}

/// The packet (from its network header) a counterexample describes.
fn build_packet(c: &Value, v6: bool, l4: u8, fragment6: bool, opts: &TcpOptions, ext: &Exthdrs6) -> Vec<u8> {
    let header = |name: &str| {
        c["headers"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["base"] == name))
            .map(|h| (unhex(h["bytes"].as_str().unwrap_or("")), unhex(h["mask"].as_str().unwrap_or(""))))
    };
    let mut th = vec![0u8; 20];
    th[12] = 0x50;
    if let Some((b, m)) = header("transport") {
        overlay(&mut th, &b, &m);
    }
    if l4 == 6 && !opts.is_empty() {
        th.truncate(20);
        let o = tcp_options(opts);
        th[12] = (((20 + o.len()) / 4) as u8) << 4 | (th[12] & 0x0f);
        th.extend(o);
    }
    if v6 && l4 == 135 {
        // A Mobility Header: no next header (59), 24 bytes (length 2), then its fields.
        th = vec![59, 2];
        th.resize(24, 0);
        if let Some((b, m)) = header("transport") {
            overlay(&mut th, &b, &m);
        }
        if let Some((_, fields)) = ext.get(&135) {
            set_fields(&mut th, fields);
        }
    }
    if v6 {
        let mut nh = vec![0u8; 40];
        nh[0] = 0x60;
        nh[6] = l4;
        nh[7] = 64;
        if let Some((b, m)) = header("network") {
            overlay(&mut nh, &b, &m);
        }
        let mut ext = ext.clone();
        if fragment6 {
            // A non-first fragment: offset 1 (in 8-octet units), more fragments.
            let frag = &mut ext.entry(44).or_insert((Some(true), Vec::new())).1;
            frag.extend([(16, 13, 1), (31, 1, 1), (32, 32, 1)]);
        }
        let (chain, first) = extension_chain(&ext, nh[6]);
        nh[6] = first;
        let plen = (chain.len() + th.len()) as u16;
        nh[4..6].copy_from_slice(&plen.to_be_bytes());
        nh.extend(chain);
        nh.extend(th);
        nh
    } else {
        let mut nh = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, l4, 0, 0, 192, 0, 2, 1, 198, 51, 100, 1];
        if let Some((b, m)) = header("network") {
            overlay(&mut nh, &b, &m);
        }
        let total = (nh.len() + th.len()) as u16;
        nh[2..4].copy_from_slice(&total.to_be_bytes());
        nh.extend(th);
        nh
    }
}

/// Replay one counterexample (as `nftvm diff --json` prints it) through `rs`; None when it
/// cannot be replayed (a rate limiter that must be over its limit).
pub fn replay(rs: &Ruleset, c: &Value) -> Option<VmFate> {
    Replayer::new(rs).replay(c)
}

/// The VM's view of a packet whose network header starts at `off` (after a link header).
fn packet_ctx(data: &mut [u8], off: usize, family: Family, hook: Hook) -> PacketCtx<'_> {
    if off == 0 {
        return PacketCtx::from_ip(data, hook);
    }
    let (transport_off, l4proto) = match family {
        Family::Ip6 => nftvm::vm::interp::headers::ipv6_transport(data, off),
        _ => nftvm::vm::interp::headers::ipv4_transport(data, off),
    };
    let protocol = if family == Family::Ip6 { 0x86dd } else { 0x0800 };
    PacketCtx {
        data,
        link_off: Some(0),
        network_off: off,
        transport_off,
        l4proto,
        nfproto: family,
        protocol,
        hook,
    }
}

/// A ruleset compiled once for many replays.
pub struct Replayer {
    prog: nftvm::vm::VerifiedProgram,
}

impl Replayer {
    pub fn new(rs: &Ruleset) -> Replayer {
        let (prog, _) = codegen::compile_verified(rs).expect("ruleset compiles");
        Replayer { prog }
    }

    pub fn replay(&self, c: &Value) -> Option<VmFate> {
        replay_program(&self.prog, c)
    }
}

fn replay_program(prog: &nftvm::vm::VerifiedProgram, c: &Value) -> Option<VmFate> {
    let family = if c["family"] == "ip6" { Family::Ip6 } else { Family::Ip };
    let hook = Hook::from_name(c["hook"].as_str().unwrap_or("")).expect("hook");
    let mut env = ReplayEnv { hook: Some(hook), ..ReplayEnv::default() };
    let mut l4 = 6u8;
    let mut fragment6 = false;
    let mut opts: TcpOptions = BTreeMap::new();
    let mut ext6: Exthdrs6 = BTreeMap::new();
    for f in c["fields"].as_array().expect("fields") {
        let st = &f["storage"];
        let value = number(&f["value"]);
        let bits = f["len"].as_u64().unwrap_or(0) as u32;
        match st["kind"].as_str() {
            Some("meta") => {
                let key = MetaKey::from_name(st["key"].as_str().unwrap_or("")).expect("meta key");
                if key == MetaKey::L4proto {
                    l4 = value as u8;
                    continue;
                }
                let info = nftvm::compiler::proto::meta::info(key);
                let string = info.ty.is_string() || info.ty == nftvm::compiler::types::Type::IfName;
                env.meta.insert(key, encode(value, info.bits, info.order, string));
            }
            Some("ct") => {
                let key = CtKey::from_name(st["key"].as_str().unwrap_or("")).expect("ct key");
                let dir = st["dir"].as_str().and_then(CtDir::from_name);
                let info = nftvm::compiler::proto::ct::info(key);
                let string = info.ty.is_some_and(|t| t.is_string());
                env.ct.insert((key, dir), encode(value, bits, info.order, string));
            }
            Some("other") if st["name"] == "ip6 non-first fragment" => fragment6 = value != 0,
            // `flow add`: offloaded (0) or not (1, what a fresh environment answers).
            Some("other") if st["name"].as_str().is_some_and(|n| n.starts_with("flow add")) => {
                if value == 0 {
                    env.offload = true;
                }
            }
            // A fresh interpreter state is under every limit; over it cannot be replayed.
            Some("other") if st["name"].as_str().is_some_and(|n| n.starts_with("limiter")) => {
                if value != 0 {
                    return None;
                }
            }
            Some("payload") => {}
            Some("exthdr") if st["op"] == "tcpopt" => {
                let kind = st["type"].as_u64().unwrap_or(0) as u8;
                let off = f["offset"].as_u64().unwrap_or(0) as u32;
                set_bits(opts.entry(kind).or_default(), off, bits, value);
            }
            Some("exthdr") if st["op"] == "ipv6" => {
                let kind = st["type"].as_u64().unwrap_or(0) as u8;
                let off = f["offset"].as_u64().unwrap_or(0) as u32;
                ext6.entry(kind).or_default().1.push((off, bits, value));
            }
            Some("exthdr-present") if st["op"] == "ipv6" => {
                let kind = st["type"].as_u64().unwrap_or(0) as u8;
                ext6.entry(kind).or_default().0 = Some(value != 0);
            }
            Some("exthdr-present") if st["op"] == "tcpopt" => {
                let kind = st["type"].as_u64().unwrap_or(0) as u8;
                if value != 0 {
                    opts.entry(kind).or_default();
                }
            }
            Some("rt") => {
                let key = st["key"].as_u64().unwrap_or(0) as u32;
                let rk = match key {
                    0 => nftvm::compiler::proto::rt::RtKey::Classid,
                    1 => nftvm::compiler::proto::rt::RtKey::Nexthop4,
                    2 => nftvm::compiler::proto::rt::RtKey::Nexthop6,
                    3 => nftvm::compiler::proto::rt::RtKey::TcpMss,
                    _ => nftvm::compiler::proto::rt::RtKey::Xfrm,
                };
                let info = nftvm::compiler::proto::rt::info(rk);
                env.rt.insert(key, encode(value, info.bits, info.order, false));
            }
            other => panic!("cannot replay a field stored in {other:?}: {f}"),
        }
    }
    let mut data = build_packet(c, family == Family::Ip6, l4, fragment6, &opts, &ext6);
    // A link-layer header when the rules read one (ether addresses): Ethernet in front.
    let link = c["headers"].as_array().and_then(|hs| hs.iter().find(|h| h["base"] == "link")).map(|h| {
        let mut eth = vec![0u8; 14];
        let ty: u16 = if family == Family::Ip6 { 0x86dd } else { 0x0800 };
        eth[12..14].copy_from_slice(&ty.to_be_bytes());
        overlay(
            &mut eth,
            &unhex(h["bytes"].as_str().unwrap_or("")),
            &unhex(h["mask"].as_str().unwrap_or("")),
        );
        eth.truncate(14);
        eth
    });
    let network_off = link.as_ref().map_or(0, Vec::len);
    if let Some(eth) = link {
        data.splice(0..0, eth);
    }
    let plan = HookPlan::new(prog.program());
    let mut state = ProgramState::new(prog.program(), 0);
    let mut verdict = "accept".to_string();
    'entries: for (_, entry) in plan.entries(family, hook) {
        let chains: Vec<_> = match entry {
            Entry::Chain(id) => vec![*id],
            Entry::Nat(_) => {
                let st = env.ct.get(&(CtKey::State, None)).map_or(0x08, |v| v.first().copied().unwrap_or(0));
                if st != 0x08 && st != 0x04 {
                    continue;
                }
                plan.nat_chains(family, hook).to_vec()
            }
            _ => continue,
        };
        let nat = matches!(entry, Entry::Nat(_));
        for id in chains {
            let before = env.nat.len();
            let mut pkt = packet_ctx(&mut data, network_off, family, hook);
            let r = run_chain(prog, &mut state, id, &mut pkt, &mut env);
            match r.verdict {
                Verdict::Accept => {}
                Verdict::Drop => {
                    verdict = match env.reject {
                        Some(rj) => format!("reject {} {}", rj.kind, rj.code),
                        None => "drop".into(),
                    };
                    break 'entries;
                }
                other => {
                    verdict = format!("{other:?}");
                    break 'entries;
                }
            }
            if nat && env.nat.len() > before {
                break;
            }
        }
    }
    let goes_on = verdict == "accept" || verdict.starts_with("Queue") || verdict == "Stolen";
    // Final values: every key the packet came with or that was written (mark defaults to 0).
    let mut meta: BTreeMap<String, Vec<u8>> =
        env.meta.iter().map(|(k, v)| (k.name().to_string(), v.clone())).collect();
    meta.entry("mark".into()).or_insert_with(|| vec![0; 4]);
    let mut ct: BTreeMap<String, Vec<u8>> = env
        .ct
        .iter()
        .filter(|(k, _)| k.0 == CtKey::Mark)
        .map(|(k, v)| (k.0.name().to_string(), v.clone()))
        .collect();
    ct.entry("mark".into()).or_insert_with(|| vec![0; 4]);
    let _ = (&env.meta_written, &env.ct_written);
    Some(VmFate {
        meta: if goes_on { meta } else { BTreeMap::new() },
        nat: if goes_on { env.nat } else { vec![] },
        objects: if goes_on { env.objects } else { vec![] },
        notrack: goes_on && env.notrack,
        packet: if goes_on { data } else { vec![] },
        ct,
        verdict,
    })
}
