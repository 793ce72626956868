//! Random verified programs: one table (ip, ip6 or inet), a base chain and three regular
//! chains (jumps only go forward), sets of every shape the JIT treats differently (inline
//! exact sets and maps, interval sets and verdict maps, named sets and maps that stay with
//! the backend, a dynamic set), and rules of random expression sequences.

use super::Rng;
use super::packets::TestPacket;
use nftvm_vm::data::{ByteOrder, Data, Field};
use nftvm_vm::expr::bitwise::{Bitwise, BitwiseOp};
use nftvm_vm::expr::byteorder::{Byteorder, ByteorderOp};
use nftvm_vm::expr::cmp::Cmp;
use nftvm_vm::expr::counter::Counter;
use nftvm_vm::expr::ct::{Ct, CtOp};
use nftvm_vm::expr::dynset::{Dynset, DynsetOp};
use nftvm_vm::expr::immediate::Immediate;
use nftvm_vm::expr::limit::{Limit, LimitKind};
use nftvm_vm::expr::log::Log;
use nftvm_vm::expr::lookup::Lookup;
use nftvm_vm::expr::meta::{Meta, MetaOp, key_len as meta_len};
use nftvm_vm::expr::nat::Nat;
use nftvm_vm::expr::notrack::Notrack;
use nftvm_vm::expr::numgen::{Numgen, NumgenKind};
use nftvm_vm::expr::payload::{Payload, PayloadOp};
use nftvm_vm::expr::queue::{Queue, QueueTarget};
use nftvm_vm::expr::quota::Quota;
use nftvm_vm::expr::range::Range;
use nftvm_vm::expr::reject::Reject;
use nftvm_vm::interp::NatKind;
use nftvm_vm::keys::{CmpOp, CtKey, Family, Hook, MetaKey, PayloadBase};
use nftvm_vm::set::{ElemData, Element, Set, SetData, elem_flags, flags};
use nftvm_vm::{
    BaseChain, ChainId, ChainKind, Expr, Policy, Program, Reg, Rule, SetId, SourceId, TableId, Verdict,
    VerifiedProgram, verify,
};

const CHAINS: usize = 4;

/// A value a rule has in its registers: where, how long, and likely contents.
#[derive(Clone)]
struct Val {
    reg: Reg,
    len: usize,
    hints: Vec<Vec<u8>>,
}

#[derive(Clone, Copy, PartialEq)]
enum SetKind {
    Plain,
    Verdicts,
    Values(usize),
    Dynamic,
}

struct SetInfo {
    id: SetId,
    key_len: usize,
    kind: SetKind,
    concat: bool,
}

struct Gen<'a> {
    r: &'a mut Rng,
    pool: &'a [TestPacket],
    family: Family,
    sets: Vec<SetInfo>,
    chains: Vec<ChainId>,
}

/// A program, the base chain to run and its hook.
pub fn program(r: &mut Rng, pool: &[TestPacket]) -> (VerifiedProgram, ChainId, Hook) {
    let family = *r.pick(&[Family::Ip, Family::Ip6, Family::Inet]);
    let hook = *r.pick(&[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting]);
    let mut prog = Program::new();
    let t = prog.add_table(family, "t");
    let policy = if r.chance(50) { Policy::Accept } else { Policy::Drop };
    let base = BaseChain { kind: ChainKind::Filter, hook, priority: 0, policy, device: None };
    let mut chains = vec![prog.add_chain(t, "c0", Some(base))];
    for i in 1..CHAINS {
        chains.push(prog.add_chain(t, &format!("c{i}"), None));
    }
    let mut g = Gen { r, pool, family, sets: Vec::new(), chains: chains.clone() };
    g.add_sets(&mut prog, t);
    let mut source = 0u32;
    for (ci, c) in chains.iter().enumerate() {
        let n = if ci == 0 { g.r.range(1, 8) } else { g.r.range(0, 5) };
        for _ in 0..n {
            for _attempt in 0..4 {
                let mut rule = g.rule(ci);
                rule.source = SourceId(source);
                prog.add_rule(*c, rule);
                if verify(prog.clone()).is_ok() {
                    source += 1;
                    break;
                }
                prog.chains[c.index()].rules.pop();
            }
        }
    }
    let verified = verify(prog).expect("rules were verified one by one");
    (verified, chains[0], hook)
}

fn elem(key: &[u8]) -> Element {
    Element::new(Data::new(key, ByteOrder::Network).expect("short key"))
}

/// `key + delta` as a big-endian number of the same length (saturating).
fn add_be(key: &[u8], delta: u64) -> Vec<u8> {
    let n = key.iter().fold(0u128, |a, b| (a << 8) | *b as u128);
    let max = if key.len() >= 16 { u128::MAX } else { (1u128 << (8 * key.len())) - 1 };
    let v = n.saturating_add(delta as u128).min(max);
    (0..key.len()).rev().map(|i| (v >> (8 * i)) as u8).collect()
}

impl Gen<'_> {
    /// A key of `len` bytes, usually taken from one of the packets.
    fn key(&mut self, len: usize) -> Vec<u8> {
        if self.r.chance(75) {
            let p = &self.pool[self.r.below(self.pool.len())];
            let (base, off) = if self.r.chance(60) {
                (PayloadBase::Network, *self.r.pick(&[0usize, 2, 8, 9, 12, 16, 6, 24]))
            } else {
                (PayloadBase::Transport, *self.r.pick(&[0usize, 2, 12, 13]))
            };
            if let Some(k) = p.at(base, off, len) {
                return k;
            }
        }
        self.r.bytes(len)
    }

    fn verdict_for_map(&mut self) -> Verdict {
        let c = &self.chains;
        *self.r.pick(&[
            Verdict::Accept,
            Verdict::Drop,
            Verdict::Continue,
            Verdict::Break,
            Verdict::Return,
            Verdict::Jump(c[2]),
            Verdict::Jump(c[3]),
            Verdict::Goto(c[3]),
            Verdict::Queue { num: 3, bypass: false },
        ])
    }

    fn add(&mut self, prog: &mut Program, s: Set, kind: SetKind) {
        let key_len = s.key_len();
        let concat = s.key.len() > 1;
        let id = prog.add_set(s);
        self.sets.push(SetInfo { id, key_len, kind, concat });
    }

    fn catchall(&mut self, s: &mut Set, data: Option<ElemData>) {
        if self.r.chance(25) {
            let mut e = elem(&[]);
            e.flags = elem_flags::CATCHALL;
            e.data = data;
            s.elements.push(e);
        }
    }

    fn add_sets(&mut self, prog: &mut Program, t: TableId) {
        let anon = flags::ANONYMOUS | flags::CONSTANT;
        let key = |len: usize| vec![Field::new(len as u8, ByteOrder::Network)];

        // Exact keys (inline when 1..=8 bytes).
        let klen = *self.r.pick(&[1usize, 2, 4, 8, 2, 4, 3, 16]);
        let mut s = Set::new("__set%d", t, anon, key(klen));
        for _ in 0..self.r.range(1, 10) {
            let k = self.key(klen);
            s.elements.push(elem(&k));
        }
        self.catchall(&mut s, None);
        self.add(prog, s, SetKind::Plain);

        // Intervals.
        let klen = *self.r.pick(&[1usize, 2, 4, 8]);
        let mut s = Set::new("__set%d", t, anon | flags::INTERVAL, key(klen));
        for _ in 0..self.r.range(1, 6) {
            let k = self.key(klen);
            let d = *self.r.pick(&[0u64, 1, 10, 300, 1 << 20]);
            s.elements.push(elem(&k));
            let mut end = elem(&add_be(&k, d + 1));
            end.flags = elem_flags::INTERVAL_END;
            s.elements.push(end);
        }
        self.add(prog, s, SetKind::Plain);

        // A verdict map (exact keys).
        let klen = *self.r.pick(&[1usize, 2, 4]);
        let mut s = Set::new("__map%d", t, anon | flags::MAP, key(klen));
        s.data = SetData::Verdict;
        for _ in 0..self.r.range(1, 8) {
            let k = self.key(klen);
            let mut e = elem(&k);
            e.data = Some(ElemData::Verdict(self.verdict_for_map()));
            s.elements.push(e);
        }
        let v = self.verdict_for_map();
        self.catchall(&mut s, Some(ElemData::Verdict(v)));
        self.add(prog, s, SetKind::Verdicts);

        // A verdict map over intervals.
        let mut s = Set::new("__map%d", t, anon | flags::MAP | flags::INTERVAL, key(2));
        s.data = SetData::Verdict;
        for _ in 0..self.r.range(1, 4) {
            let k = self.key(2);
            let mut e = elem(&k);
            e.data = Some(ElemData::Verdict(self.verdict_for_map()));
            s.elements.push(e);
            let mut end = elem(&add_be(&k, 100));
            end.flags = elem_flags::INTERVAL_END;
            s.elements.push(end);
        }
        self.add(prog, s, SetKind::Verdicts);

        // A data map: 2-byte key to a 4-byte host-order value.
        let mut s = Set::new("__map%d", t, anon | flags::MAP, key(2));
        s.data = SetData::Value { data_type: 0, fields: vec![Field::new(4, ByteOrder::Host)] };
        for _ in 0..self.r.range(1, 5) {
            let k = self.key(2);
            let mut e = elem(&k);
            e.data = Some(ElemData::Value(Data::host_u32(self.r.next_u64() as u32)));
            s.elements.push(e);
        }
        self.add(prog, s, SetKind::Values(4));

        // A concatenation (address . port): 8 register bytes.
        let fields = vec![Field::new(4, ByteOrder::Network), Field::new(2, ByteOrder::Network)];
        let mut s = Set::new("__set%d", t, anon | flags::CONCAT, fields);
        for _ in 0..self.r.range(1, 4) {
            let mut k = self.key(4);
            k.extend(self.key(2));
            k.extend([0, 0]);
            s.elements.push(elem(&k));
        }
        self.add(prog, s, SetKind::Plain);

        // Named: stays with the backend.
        let mut s = Set::new("vm", t, flags::MAP, key(4));
        s.data = SetData::Verdict;
        for _ in 0..self.r.range(1, 5) {
            let k = self.key(4);
            let mut e = elem(&k);
            e.data = Some(ElemData::Verdict(self.verdict_for_map()));
            s.elements.push(e);
        }
        self.add(prog, s, SetKind::Verdicts);

        // Dynamic (dynset target), with timeouts.
        let mut s = Set::new("dyn", t, flags::TIMEOUT, key(4));
        s.timeout_ms = Some(1_000);
        if self.r.chance(50) {
            let k = self.key(4);
            s.elements.push(elem(&k));
        }
        self.add(prog, s, SetKind::Dynamic);
    }

    /// A destination register for `len` bytes (low words more often, to make values overlap).
    fn dest(&mut self, len: usize) -> Reg {
        let words = len.div_ceil(4).max(1);
        let top = 16 - words;
        let w = if self.r.chance(60) { self.r.below(top.min(5) + 1) } else { self.r.below(top + 1) };
        if w % 4 == 0 && self.r.chance(40) { Reg(1 + (w / 4) as u8) } else { Reg(8 + w as u8) }
    }

    fn pick_val(&mut self, vals: &[Val], min_len: usize) -> Option<Val> {
        let ok: Vec<&Val> = vals.iter().filter(|v| v.len >= min_len).collect();
        if ok.is_empty() { None } else { Some(ok[self.r.below(ok.len())].clone()) }
    }

    /// Bytes for a comparison with `v` (`len` bytes): often what a packet holds.
    fn constant(&mut self, v: &Val, len: usize) -> Vec<u8> {
        if !v.hints.is_empty() && self.r.chance(65) {
            let h = &v.hints[self.r.below(v.hints.len())];
            return h[..len.min(h.len())].to_vec();
        }
        self.r.bytes(len)
    }

    fn rule(&mut self, ci: usize) -> Rule {
        let mut exprs = Vec::new();
        let mut vals: Vec<Val> = Vec::new();
        for _ in 0..self.r.range(1, 6) {
            if let Some(e) = self.expr(ci, &mut vals, &mut exprs) {
                exprs.push(e);
            }
        }
        if self.r.chance(45) {
            let later: Vec<ChainId> = self.chains[ci + 1..].to_vec();
            let v = match self.r.below(9) {
                0 | 1 => Verdict::Accept,
                2 => Verdict::Drop,
                3 => Verdict::Continue,
                4 => Verdict::Break,
                5 => Verdict::Return,
                6 if !later.is_empty() => Verdict::Jump(*self.r.pick(&later)),
                7 if !later.is_empty() => Verdict::Goto(*self.r.pick(&later)),
                8 => Verdict::Queue { num: 1, bypass: false },
                _ => Verdict::Accept,
            };
            exprs.push(Expr::Immediate(Immediate::verdict(v)));
        }
        Rule { exprs, source: SourceId(0), comment: None }
    }

    /// One expression (`out` receives any it needs first, such as a key load).
    fn expr(&mut self, ci: usize, vals: &mut Vec<Val>, out: &mut Vec<Expr>) -> Option<Expr> {
        const W: [u32; 20] = [25, 8, 4, 5, 2, 22, 6, 8, 4, 10, 3, 2, 2, 1, 3, 1, 2, 1, 2, 1];
        let k = self.r.weighted(&W);
        if vals.is_empty() && (5..=8).contains(&k) {
            return Some(self.payload_load(vals));
        }
        Some(match k {
            0 => self.payload_load(vals),
            1 => {
                let key = *self.r.pick(&[
                    MetaKey::Len,
                    MetaKey::Protocol,
                    MetaKey::Nfproto,
                    MetaKey::L4proto,
                    MetaKey::L4proto,
                    MetaKey::Mark,
                    MetaKey::IifName,
                    MetaKey::TimeNs,
                    MetaKey::Prandom,
                    MetaKey::Iif,
                ]);
                let len = meta_len(key);
                let reg = self.dest(len);
                let hints = match key {
                    MetaKey::Nfproto => vec![vec![2], vec![10]],
                    MetaKey::L4proto => vec![vec![6], vec![17], vec![1]],
                    MetaKey::Protocol => vec![vec![8, 0], vec![0x86, 0xdd]],
                    MetaKey::Mark => vec![1u32.to_le_bytes().to_vec(), 0x1234u32.to_le_bytes().to_vec()],
                    MetaKey::IifName => vec![b"eth0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec()],
                    _ => vec![],
                };
                vals.push(Val { reg, len, hints });
                Expr::Meta(Meta::load(key, reg))
            }
            2 => {
                let key = *self.r.pick(&[CtKey::State, CtKey::Mark, CtKey::Status]);
                let len = nftvm_vm::expr::ct::key_len(key, self.family);
                let reg = self.dest(len);
                vals.push(Val { reg, len, hints: vec![vec![8, 0, 0, 0], vec![2, 0, 0, 0]] });
                Expr::Ct(Ct { key, dir: None, op: CtOp::Load { dreg: reg } })
            }
            3 => {
                let len = *self.r.pick(&[1usize, 2, 4, 8, 16, 3]);
                let d = self.key(len);
                let reg = self.dest(len);
                vals.push(Val { reg, len, hints: vec![d.clone()] });
                Expr::Immediate(Immediate::data(reg, Data::new(&d, ByteOrder::Network)?))
            }
            4 => {
                let reg = self.dest(4);
                vals.push(Val { reg, len: 4, hints: vec![vec![0, 0, 0, 0], vec![1, 0, 0, 0]] });
                let kind = if self.r.chance(50) { NumgenKind::Inc } else { NumgenKind::Random };
                let modulus = self.r.range(1, 4) as u32;
                Expr::Numgen(Numgen { dreg: reg, kind, modulus, offset: self.r.below(3) as u32, slot: 0 })
            }
            5 => self.cmp(vals)?,
            6 => self.range(vals)?,
            7 => self.bitwise(vals)?,
            8 => self.byteorder(vals)?,
            9 => self.lookup(vals, out)?,
            10 => Expr::Counter(Counter { packets: 0, bytes: 0, slot: 0 }),
            11 => Expr::Quota(Quota {
                bytes: *self.r.pick(&[60u64, 200, 1000]),
                consumed: 0,
                flags: *self.r.pick(&[0u32, 1]),
                slot: 0,
            }),
            12 => Expr::Limit(Limit {
                rate: self.r.range(1, 3) as u64,
                unit: 1,
                burst: self.r.below(3) as u32,
                kind: if self.r.chance(70) { LimitKind::Packets } else { LimitKind::Bytes },
                flags: *self.r.pick(&[0u32, 1]),
                slot: 0,
            }),
            13 => Expr::Log(Log {
                prefix: Some("p".into()),
                group: None,
                snaplen: 0,
                qthreshold: 0,
                level: Some(4),
                flags: None,
            }),
            14 => self.payload_write(vals)?,
            15 => {
                let v = self.pick_val(vals, 4)?;
                Expr::Meta(Meta { key: MetaKey::Mark, op: MetaOp::Set { sreg: v.reg } })
            }
            16 if ci > 0 && ci + 1 < CHAINS => {
                let family = if self.family == Family::Ip6 { Family::Ip6 } else { Family::Ip };
                let kind = if self.r.chance(50) { NatKind::Snat } else { NatKind::Dnat };
                let alen = if family == Family::Ip { 4 } else { 16 };
                let addr = self.pick_val(vals, alen).map(|v| v.reg);
                let port = self.pick_val(vals, 2).map(|v| v.reg).filter(|_| self.r.chance(50));
                Expr::Nat(Nat {
                    kind,
                    family,
                    addr_min: addr,
                    addr_max: addr,
                    proto_min: port,
                    proto_max: port,
                    flags: Some(*self.r.pick(&[0u32, 2, 4])),
                })
            }
            17 => Expr::Queue(Queue {
                target: QueueTarget::Num { num: self.r.below(3) as u16, total: 1 },
                flags: if self.r.chance(50) { Some(1) } else { None },
            }),
            18 => self.dynset(vals)?,
            19 => {
                if self.r.chance(50) {
                    Expr::Notrack(Notrack)
                } else {
                    Expr::Reject(Reject { kind: self.r.below(3) as u32, code: self.r.below(4) as u8 })
                }
            }
            _ => Expr::Counter(Counter { packets: 0, bytes: 0, slot: 0 }),
        })
    }

    fn payload_load(&mut self, vals: &mut Vec<Val>) -> Expr {
        let base = [
            PayloadBase::Network,
            PayloadBase::Transport,
            PayloadBase::Link,
            PayloadBase::Inner,
            PayloadBase::Tunnel,
        ][self.r.weighted(&[50, 30, 8, 10, 2])];
        let offset = match base {
            PayloadBase::Network => {
                if self.r.chance(75) {
                    *self.r.pick(&[0u32, 1, 2, 6, 8, 9, 12, 16, 24, 40])
                } else {
                    self.r.below(64) as u32
                }
            }
            PayloadBase::Transport => *self.r.pick(&[0u32, 2, 4, 12, 13, 16, 20, 30]),
            PayloadBase::Link => self.r.below(14) as u32,
            _ => self.r.below(8) as u32,
        };
        // Now and then an offset far beyond any packet (the bounds check must not wrap).
        let offset = if self.r.chance(2) { u32::MAX - self.r.below(100) as u32 } else { offset };
        let len = *self.r.pick(&[1usize, 2, 4, 4, 2, 1, 3, 6, 8, 16, 5]);
        let reg = self.dest(len);
        let hints = self.pool.iter().filter_map(|p| p.at(base, offset as usize, len)).collect();
        vals.push(Val { reg, len, hints });
        Expr::Payload(Payload::load(base, offset, len as u8, reg))
    }

    fn cmp(&mut self, vals: &[Val]) -> Option<Expr> {
        let v = self.pick_val(vals, 1)?;
        let len = if self.r.chance(80) { v.len } else { self.r.range(1, v.len) };
        let d = self.constant(&v, len);
        let op =
            *self.r.pick(&[CmpOp::Eq, CmpOp::Eq, CmpOp::Neq, CmpOp::Lt, CmpOp::Lte, CmpOp::Gt, CmpOp::Gte]);
        Some(Expr::Cmp(Cmp::new(op, v.reg, Data::new(&d, ByteOrder::Network)?)))
    }

    fn range(&mut self, vals: &[Val]) -> Option<Expr> {
        let v = self.pick_val(vals, 1)?;
        let len = if self.r.chance(80) {
            *[8usize, 4, 2, 1].iter().find(|l| **l <= v.len).unwrap_or(&1)
        } else {
            self.r.range(1, v.len)
        };
        let a = self.constant(&v, len);
        let b = if self.r.chance(60) {
            add_be(&a, *self.r.pick(&[0u64, 1, 255, 1 << 16]))
        } else {
            self.r.bytes(len)
        };
        let (from, to) = if self.r.chance(80) && b < a { (b, a) } else { (a, b) };
        let op = if self.r.chance(70) { CmpOp::Eq } else { CmpOp::Neq };
        Some(Expr::Range(Range {
            op,
            sreg: v.reg,
            from: Data::new(&from, ByteOrder::Network)?,
            to: Data::new(&to, ByteOrder::Network)?,
        }))
    }

    fn bitwise(&mut self, vals: &mut Vec<Val>) -> Option<Expr> {
        let v = self.pick_val(vals, 1)?;
        let len = if self.r.chance(80) { v.len } else { self.r.range(1, v.len) };
        let dreg = if self.r.chance(50) { v.reg } else { self.dest(len) };
        let op = match self.r.below(6) {
            0 | 1 => {
                let mask = if self.r.chance(50) {
                    let bits = self.r.below(8 * len + 1);
                    (0..len)
                        .map(|i| {
                            if 8 * i + 8 <= bits {
                                0xff
                            } else if 8 * i >= bits {
                                0
                            } else {
                                0xffu8 << (8 - bits % 8)
                            }
                        })
                        .collect()
                } else {
                    self.r.bytes(len)
                };
                let xor = if self.r.chance(70) { vec![0; len] } else { self.r.bytes(len) };
                BitwiseOp::MaskXor {
                    mask: Data::new(&mask, ByteOrder::Network)?,
                    xor: Data::new(&xor, ByteOrder::Network)?,
                }
            }
            2 => BitwiseOp::Lshift(self.r.below(32) as u32),
            3 => BitwiseOp::Rshift(self.r.below(32) as u32),
            _ => {
                let other = self.pick_val(vals, len)?;
                match self.r.below(3) {
                    0 => BitwiseOp::And(other.reg),
                    1 => BitwiseOp::Or(other.reg),
                    _ => BitwiseOp::Xor(other.reg),
                }
            }
        };
        vals.push(Val { reg: dreg, len, hints: Vec::new() });
        Some(Expr::Bitwise(Bitwise { dreg, sreg: v.reg, len: len as u8, op }))
    }

    fn byteorder(&mut self, vals: &mut Vec<Val>) -> Option<Expr> {
        let v = self.pick_val(vals, 2)?;
        let size = *[8usize, 4, 2].iter().filter(|s| **s <= v.len).nth(self.r.below(3)).unwrap_or(&2);
        let len = size * self.r.range(1, (v.len / size).max(1));
        let dreg = if self.r.chance(50) { v.reg } else { self.dest(len) };
        let op = if self.r.chance(50) { ByteorderOp::Hton } else { ByteorderOp::Ntoh };
        vals.push(Val { reg: dreg, len, hints: Vec::new() });
        Some(Expr::Byteorder(Byteorder { dreg, sreg: v.reg, op, len: len as u8, size: size as u8 }))
    }

    /// Loads a key shaped like the set's elements (from the offsets set keys come from).
    fn key_load(&mut self, key_len: usize, concat: bool, vals: &mut Vec<Val>, out: &mut Vec<Expr>) -> Val {
        let reg = self.dest(key_len);
        let parts: Vec<(PayloadBase, u32, usize)> = if concat {
            vec![
                (PayloadBase::Network, *self.r.pick(&[12u32, 16, 8]), 4),
                (PayloadBase::Transport, *self.r.pick(&[0u32, 2]), 2),
            ]
        } else if self.r.chance(60) {
            vec![(PayloadBase::Network, *self.r.pick(&[0u32, 2, 8, 9, 12, 16, 6, 24]), key_len)]
        } else {
            vec![(PayloadBase::Transport, *self.r.pick(&[0u32, 2, 12, 13]), key_len)]
        };
        let mut word = reg.word().unwrap_or(0);
        for (base, off, len) in parts {
            let r = Reg::from_word(word).unwrap_or(reg);
            out.push(Expr::Payload(Payload::load(base, off, len as u8, r)));
            word += len.div_ceil(4);
        }
        let v = Val { reg, len: key_len, hints: Vec::new() };
        vals.push(v.clone());
        v
    }

    fn lookup(&mut self, vals: &mut Vec<Val>, out: &mut Vec<Expr>) -> Option<Expr> {
        let i = self.r.below(self.sets.len());
        let (id, key_len, kind) = (self.sets[i].id, self.sets[i].key_len, self.sets[i].kind);
        let concat = self.sets[i].concat;
        let v = match self.pick_val(vals, key_len) {
            Some(v) if self.r.chance(40) => v,
            _ => self.key_load(key_len, concat, vals, out),
        };
        let (dreg, flags) = match kind {
            SetKind::Plain | SetKind::Dynamic => (None, *self.r.pick(&[None, Some(0), Some(1)])),
            SetKind::Verdicts => (Some(Reg::VERDICT), None),
            SetKind::Values(n) => {
                let d = self.dest(n);
                vals.push(Val { reg: d, len: n, hints: Vec::new() });
                (Some(d), None)
            }
        };
        Some(Expr::Lookup(Lookup { sreg: v.reg, set: id, dreg, flags }))
    }

    fn payload_write(&mut self, vals: &[Val]) -> Option<Expr> {
        let v = self.pick_val(vals, 1)?;
        let len = v.len.min(*self.r.pick(&[1usize, 2, 4]));
        let (base, offset, csum_offset) = if self.r.chance(60) {
            (PayloadBase::Network, *self.r.pick(&[1u32, 8, 12, 16]), 10)
        } else {
            (PayloadBase::Transport, *self.r.pick(&[0u32, 2]), *self.r.pick(&[16u32, 6]))
        };
        Some(Expr::Payload(Payload {
            base,
            offset,
            len: len as u8,
            op: PayloadOp::Write {
                sreg: v.reg,
                csum_type: *self.r.pick(&[0u8, 1, 1, 2]),
                csum_offset,
                csum_flags: *self.r.pick(&[0u32, 1]),
            },
        }))
    }

    fn dynset(&mut self, vals: &[Val]) -> Option<Expr> {
        let s = self.sets.iter().find(|s| s.kind == SetKind::Dynamic)?;
        let id = s.id;
        let v = self.pick_val(vals, 4)?;
        let op = *self.r.pick(&[DynsetOp::Add, DynsetOp::Update, DynsetOp::Delete]);
        let exprs = if self.r.chance(40) {
            vec![Expr::Counter(Counter { packets: 0, bytes: 0, slot: 0 })]
        } else {
            vec![]
        };
        Some(Expr::Dynset(Dynset {
            op,
            sreg_key: v.reg,
            set: id,
            sreg_data: None,
            timeout_ms: if self.r.chance(50) { Some(500) } else { None },
            exprs,
            invert: false,
        }))
    }
}
