//! A small, independent, *concrete* evaluator of the IR, used to replay `diff`
//! counterexamples until the bytecode pipeline (`nftvm eval`) can: it rebuilds the packet
//! from the counterexample's fields (header bytes, meta and ct values), runs the base chains
//! of the counterexample's hook in priority order, rule by rule, and returns the fate.
//!
//! It shares nothing with the engine's symbolic machinery: loads read bytes, matches compare
//! numbers.

use nftvm::compiler::diff::storage::Storage;
use nftvm::compiler::diff::{Counterexample, Ctx};
use nftvm::compiler::ir::{
    BinOp, ChainType, Expr, ExprKind, Hook, MatchOp, NatKind, Policy, Rule, Ruleset, SetElem, StmtKind,
    Table, Verdict,
};
use nftvm::compiler::types::{Type, Value};
use nftvm::vm::keys::{CtDir, CtKey, Family, MetaKey, PayloadBase};
use std::collections::HashMap;

/// The concrete packet and its state.
#[derive(Clone, Debug, Default)]
pub struct Packet {
    pub ctx: Option<Ctx>,
    pub hook: Option<Hook>,
    pub headers: HashMap<PayloadBase, Vec<u8>>,
    pub meta: HashMap<MetaKey, u128>,
    pub ct: HashMap<(CtKey, Option<CtDir>), u128>,
}

/// What happened to the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fate {
    pub verdict: String,
    pub mark: u128,
    pub ct_mark: u128,
    pub nat: Vec<String>,
    pub headers: Vec<(PayloadBase, Vec<u8>)>,
}

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

fn get_bits(buf: &[u8], off: u32, len: u32) -> u128 {
    let mut v: u128 = 0;
    for i in 0..len {
        let pos = off + i;
        let byte = buf.get((pos / 8) as usize).copied().unwrap_or(0);
        v = (v << 1) | u128::from((byte >> (7 - pos % 8)) & 1);
    }
    v
}

/// Rebuild the packet a counterexample describes.
pub fn packet(c: &Counterexample) -> Packet {
    let mut p = Packet { ctx: Some(c.point.ctx), hook: Some(c.point.hook), ..Packet::default() };
    for f in &c.fields {
        match &f.storage {
            Storage::Payload { base, inner: None, .. } => {
                set_bits(p.headers.entry(*base).or_default(), f.off, f.len, f.value);
            }
            Storage::Meta(k) => {
                p.meta.insert(*k, f.value);
            }
            Storage::Ct { key, dir } => {
                p.ct.insert((*key, *dir), f.value);
            }
            other => panic!("refeval cannot rebuild {other:?}"),
        }
    }
    let net = p.headers.entry(PayloadBase::Network).or_default();
    match c.point.ctx {
        Ctx::Ipv4 => {
            set_bits(net, 0, 4, 4);
            let l4 = p.meta.get(&MetaKey::L4proto).copied().unwrap_or(0);
            set_bits(net, 72, 8, l4);
        }
        Ctx::Ipv6 => set_bits(net, 0, 4, 6),
        _ => {}
    }
    p
}

fn number(v: &Value, ty: Type, bits: u32) -> u128 {
    if ty.is_string() || ty == Type::IfName {
        let mut n = 0u128;
        for i in 0..(bits / 8) as usize {
            n = (n << 8) | u128::from(v.bytes().get(i).copied().unwrap_or(0));
        }
        return n;
    }
    v.to_u128().expect("value fits 128 bits")
}

struct Eval<'a> {
    table: &'a Table,
    p: Packet,
    nat: Vec<String>,
    nat_done: bool,
}

enum Flow {
    Next,
    Accept,
    Final(String),
    Return,
    Jump(String),
    Goto(String),
}

impl Eval<'_> {
    fn ctx(&self) -> Ctx {
        self.p.ctx.expect("ctx")
    }

    fn fragment(&self) -> bool {
        match self.ctx() {
            Ctx::Ipv4 => {
                get_bits(self.p.headers.get(&PayloadBase::Network).map_or(&[][..], |v| v), 51, 13) != 0
            }
            _ => false,
        }
    }

    /// A load's number; None when the load fails (the rule stops).
    fn load(&self, e: &Expr) -> Option<u128> {
        let hook = self.p.hook.expect("hook");
        match &e.kind {
            ExprKind::Payload(pl) => {
                if pl.base == PayloadBase::Transport && self.fragment() {
                    return None;
                }
                let buf = self.p.headers.get(&pl.base).map_or(&[][..], |v| v);
                Some(get_bits(buf, pl.offset, pl.len))
            }
            ExprKind::Meta(k) => Some(match k {
                MetaKey::Nfproto => match self.ctx() {
                    Ctx::Ipv4 => 2,
                    _ => 10,
                },
                MetaKey::Protocol => match self.ctx() {
                    Ctx::Ipv4 => 0x0800,
                    _ => 0x86dd,
                },
                MetaKey::Oif | MetaKey::OifName if matches!(hook, Hook::Prerouting | Hook::Input) => 0,
                MetaKey::Iif | MetaKey::IifName if hook == Hook::Output => 0,
                k => self.p.meta.get(k).copied().unwrap_or(0),
            }),
            ExprKind::Ct(c) => {
                let key = match (c.key, self.ctx(), e.bits) {
                    (CtKey::Src, Ctx::Ipv4, 32) => CtKey::SrcIp,
                    (CtKey::Dst, Ctx::Ipv4, 32) => CtKey::DstIp,
                    (k, _, _) => k,
                };
                let dir = match key {
                    CtKey::State | CtKey::Mark | CtKey::Status | CtKey::Direction | CtKey::Helper => None,
                    _ => Some(c.dir.unwrap_or(CtDir::Original)),
                };
                Some(self.p.ct.get(&(key, dir)).copied().unwrap_or(0))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.load(lhs)?;
                let r = match &rhs.kind {
                    ExprKind::Value(v) => number(v, rhs.ty, rhs.bits),
                    _ => panic!("refeval: non-constant operand"),
                };
                Some(match op {
                    BinOp::And => l & r,
                    BinOp::Or => l | r,
                    BinOp::Xor => l ^ r,
                    BinOp::Shl => l << r,
                    BinOp::Shr => l >> r,
                })
            }
            other => panic!("refeval cannot load {other:?}"),
        }
    }

    fn in_const(&self, e: &Expr, v: u128, bits: u32) -> bool {
        match &e.kind {
            ExprKind::Value(c) => number(c, e.ty, bits) == v,
            ExprKind::Prefix { value, len } => {
                let host = if *len >= bits { 0 } else { (u128::MAX >> (128 - bits)) >> len };
                (number(value, e.ty, bits) & !host) == (v & !host)
            }
            ExprKind::Range { low, high } => number(low, e.ty, bits) <= v && v <= number(high, e.ty, bits),
            ExprKind::CatchAll => true,
            other => panic!("refeval: constant {other:?}"),
        }
    }

    fn elem_matches(&self, key: &Expr, vals: &[(u128, u32)]) -> bool {
        match &key.kind {
            ExprKind::Concat(parts) => parts.iter().zip(vals).all(|(p, (v, b))| self.in_const(p, *v, *b)),
            _ => self.in_const(key, vals[0].0, vals[0].1),
        }
    }

    fn elems<'b>(&'b self, right: &'b Expr) -> &'b [SetElem] {
        match &right.kind {
            ExprKind::Set(lit) => &lit.elems,
            ExprKind::SetRef(name) => &self.table.set(name).expect("set").elems,
            _ => &[],
        }
    }

    /// The left side's values (one per concatenation member); None when a load fails.
    fn left(&self, e: &Expr) -> Option<Vec<(u128, u32)>> {
        match &e.kind {
            ExprKind::Concat(parts) => parts.iter().map(|p| self.load(p).map(|v| (v, p.bits))).collect(),
            _ => self.load(e).map(|v| vec![(v, e.bits)]),
        }
    }

    fn matches(&self, m: &nftvm::compiler::ir::Match) -> bool {
        let Some(vals) = self.left(&m.left) else { return false };
        let v = vals[0].0;
        let num = |e: &Expr| match &e.kind {
            ExprKind::Value(c) => number(c, e.ty, m.left.bits),
            _ => panic!("refeval: comparison with non-constant"),
        };
        match m.op {
            MatchOp::Eq | MatchOp::Ne => {
                let hit = match &m.right.kind {
                    ExprKind::Set(_) | ExprKind::SetRef(_) => {
                        self.elems(&m.right).iter().any(|el| self.elem_matches(&el.key, &vals))
                    }
                    _ => self.elem_matches(&m.right, &vals),
                };
                hit == (m.op == MatchOp::Eq)
            }
            MatchOp::Lt => v < num(&m.right),
            MatchOp::Le => v <= num(&m.right),
            MatchOp::Gt => v > num(&m.right),
            MatchOp::Ge => v >= num(&m.right),
            MatchOp::Flags => v & num(&m.right) != 0,
            MatchOp::NoFlags => v & num(&m.right) == 0,
        }
    }

    fn value(&self, e: &Expr) -> u128 {
        match &e.kind {
            ExprKind::Value(v) => number(v, e.ty, e.bits),
            _ => self.load(e).expect("value load"),
        }
    }

    fn rule(&mut self, r: &Rule) -> Flow {
        for s in &r.stmts {
            match &s.kind {
                StmtKind::Match(m) => {
                    if !self.matches(m) {
                        return Flow::Next;
                    }
                }
                StmtKind::Verdict(v) => {
                    return match v {
                        Verdict::Accept => Flow::Accept,
                        Verdict::Drop => Flow::Final("drop".into()),
                        Verdict::Continue => continue,
                        Verdict::Return => Flow::Return,
                        Verdict::Jump(c) => Flow::Jump(c.clone()),
                        Verdict::Goto(c) => Flow::Goto(c.clone()),
                    };
                }
                StmtKind::Write(w) => {
                    let v = self.value(&w.value);
                    match &w.target.kind {
                        ExprKind::Meta(k) => {
                            self.p.meta.insert(*k, v);
                        }
                        ExprKind::Ct(c) => {
                            self.p.ct.insert((c.key, None), v);
                        }
                        ExprKind::Payload(pl) => {
                            if pl.base == PayloadBase::Transport && self.fragment() {
                                return Flow::Next;
                            }
                            set_bits(self.p.headers.entry(pl.base).or_default(), pl.offset, pl.len, v);
                        }
                        other => panic!("refeval: write to {other:?}"),
                    }
                }
                StmtKind::Nat(n) => {
                    let a = n.addr.as_ref().map(|e| format!("{:?}", self.value(e)));
                    let port = n.port.as_ref().map(|e| format!("{:?}", self.value(e)));
                    let kind = match n.kind {
                        NatKind::Snat => "snat",
                        NatKind::Dnat => "dnat",
                        NatKind::Masquerade => "masquerade",
                        NatKind::Redirect => "redirect",
                    };
                    self.nat.push(format!("{kind} {a:?} {port:?}"));
                    self.nat_done = true;
                    return Flow::Accept;
                }
                StmtKind::Reject(rj) => return Flow::Final(format!("reject {:?} {}", rj.kind, rj.code)),
                StmtKind::Counter(_) | StmtKind::Log(_) | StmtKind::Last(_) => {}
                StmtKind::Notrack => self.nat.push("notrack".into()),
                other => panic!("refeval cannot run {other:?}"),
            }
        }
        Flow::Next
    }

    /// Run a base chain: Ok(true) accept, Err(verdict) final.
    fn base(&mut self, name: &str, policy: Policy) -> Result<(), String> {
        let mut stack: Vec<(String, usize)> = vec![(name.to_string(), 0)];
        while let Some((chain, pos)) = stack.pop() {
            let c = self.table.chain(&chain).expect("chain");
            let Some(r) = c.rules.get(pos) else {
                if stack.is_empty() {
                    return match policy {
                        Policy::Accept => Ok(()),
                        Policy::Drop => Err("drop".into()),
                    };
                }
                continue;
            };
            match self.rule(r) {
                Flow::Next => stack.push((chain, pos + 1)),
                Flow::Accept => return Ok(()),
                Flow::Final(v) => return Err(v),
                Flow::Return => {
                    if stack.is_empty() {
                        return match policy {
                            Policy::Accept => Ok(()),
                            Policy::Drop => Err("drop".into()),
                        };
                    }
                }
                Flow::Jump(t) => {
                    stack.push((chain, pos + 1));
                    stack.push((t, 0));
                }
                Flow::Goto(t) => stack.push((t, 0)),
            }
        }
        match policy {
            Policy::Accept => Ok(()),
            Policy::Drop => Err("drop".into()),
        }
    }
}

fn family_sees(f: Family, ctx: Ctx) -> bool {
    matches!(
        (f, ctx),
        (Family::Ip, Ctx::Ipv4) | (Family::Ip6, Ctx::Ipv6) | (Family::Inet, Ctx::Ipv4 | Ctx::Ipv6)
    )
}

/// The fate of the counterexample's packet in `rs`.
pub fn fate(rs: &Ruleset, c: &Counterexample) -> Fate {
    let p = packet(c);
    let hook = c.point.hook;
    let nat_core = match hook {
        Hook::Prerouting | Hook::Output => Some(-100),
        Hook::Input | Hook::Postrouting => Some(100),
        _ => None,
    };
    let mut chains = Vec::new();
    let mut order = 0;
    for (ti, t) in rs.tables.iter().enumerate() {
        for c2 in &t.chains {
            order += 1;
            if let Some(b) = &c2.base
                && b.hook == hook
                && family_sees(t.family, c.point.ctx)
            {
                let key = match (b.chain_type, nat_core) {
                    (ChainType::Nat, Some(core)) => (core, 0, b.priority, order),
                    _ => (b.priority, 1, 0, order),
                };
                chains.push((key, ti, c2.name.clone(), b.policy, b.chain_type == ChainType::Nat));
            }
        }
    }
    chains.sort_by_key(|x| x.0);
    let mut packet = p;
    let mut nat = Vec::new();
    let mut nat_done = false;
    let mut verdict = "accept".to_string();
    for (_, ti, name, policy, is_nat) in chains {
        let table = &rs.tables[ti];
        if is_nat {
            let state = packet.ct.get(&(CtKey::State, None)).copied().unwrap_or(0);
            if nat_done || (state != 0x08 && state != 0x04) {
                continue;
            }
        }
        let mut ev = Eval { table, p: packet.clone(), nat: std::mem::take(&mut nat), nat_done };
        let r = ev.base(&name, policy);
        packet = ev.p;
        nat = ev.nat;
        nat_done = ev.nat_done;
        if let Err(v) = r {
            verdict = v;
            break;
        }
    }
    let accepted = verdict == "accept";
    let mut headers: Vec<(PayloadBase, Vec<u8>)> = packet.headers.into_iter().collect();
    headers.sort_by_key(|h| h.0);
    Fate {
        mark: if accepted { packet.meta.get(&MetaKey::Mark).copied().unwrap_or(0) } else { 0 },
        ct_mark: packet.ct.get(&(CtKey::Mark, None)).copied().unwrap_or(0),
        nat: if accepted { nat } else { vec![] },
        headers: if accepted { headers } else { vec![] },
        verdict,
    }
}
