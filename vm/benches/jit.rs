//! JIT benchmarks: compile latency for linear chains of 100, 1K and 10K rules, and per-packet
//! evaluation, interpreter vs JIT, on linear chains of 100 and 1,000 rules.
//!
//! The chains look like a ClassBench filter set as nft compiles it: each rule matches the
//! protocol, a source prefix, a destination address and a destination port range, then sets
//! the mark to its index and accepts. Rules differ in their prefixes; the packet matches only
//! the last rule, so every rule is evaluated (the worst case of a linear scan). A second
//! packet matches nothing and falls through to the policy.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nftvm_vm::data::{ByteOrder, Data};
use nftvm_vm::expr::bitwise::{Bitwise, BitwiseOp};
use nftvm_vm::expr::cmp::Cmp;
use nftvm_vm::expr::ct::{Ct, CtOp};
use nftvm_vm::expr::immediate::Immediate;
use nftvm_vm::expr::lookup::Lookup;
use nftvm_vm::expr::meta::{Meta, MetaOp};
use nftvm_vm::expr::payload::Payload;
use nftvm_vm::expr::range::Range;
use nftvm_vm::interp::{Env, NullEnv, PacketCtx};
use nftvm_vm::keys::{CmpOp, CtDir, CtKey, Family, Hook, MetaKey, PayloadBase};
use nftvm_vm::set::{Element, Set, flags};
use nftvm_vm::{
    BaseChain, ChainId, ChainKind, Engine, Executable, Expr, Policy, Program, Reg, Rule, SourceId, Verdict,
    VerifiedProgram, verify,
};
use std::hint::black_box;
use std::sync::Arc;

/// The source address of rule `i` (10.x.y.0/24) — the packet uses the last rule's.
fn net(i: usize) -> [u8; 4] {
    [10, (i >> 8) as u8, i as u8, 0]
}

fn rule(i: usize) -> Rule {
    let net = |b: [u8; 4]| Data::new(&b, ByteOrder::Network).expect("4 bytes");
    let exprs = vec![
        Expr::Meta(Meta::load(MetaKey::L4proto, Reg(1))),
        Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), Data::new(&[6], ByteOrder::Network).expect("1 byte"))),
        Expr::Payload(Payload::load(PayloadBase::Network, 12, 4, Reg(1))),
        Expr::Bitwise(Bitwise {
            dreg: Reg(1),
            sreg: Reg(1),
            len: 4,
            op: BitwiseOp::MaskXor { mask: net([255, 255, 255, 0]), xor: net([0; 4]) },
        }),
        Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), net(self::net(i)))),
        Expr::Payload(Payload::load(PayloadBase::Network, 16, 4, Reg(1))),
        Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), net([192, 168, 0, 1]))),
        Expr::Payload(Payload::load(PayloadBase::Transport, 2, 2, Reg(1))),
        Expr::Range(Range {
            op: CmpOp::Eq,
            sreg: Reg(1),
            from: Data::net_uint(1024, 2),
            to: Data::net_uint(2048, 2),
        }),
        Expr::Immediate(Immediate::data(Reg(1), Data::host_u32(i as u32))),
        Expr::Meta(Meta { key: MetaKey::Mark, op: MetaOp::Set { sreg: Reg(1) } }),
        Expr::Immediate(Immediate::verdict(Verdict::Accept)),
    ];
    Rule { exprs, source: SourceId(i as u32), comment: None }
}

fn linear_chain(rules: usize) -> (Arc<VerifiedProgram>, ChainId) {
    let mut p = Program::new();
    let t = p.add_table(Family::Ip, "filter");
    let base = BaseChain {
        kind: ChainKind::Filter,
        hook: Hook::Input,
        priority: 0,
        policy: Policy::Drop,
        device: None,
    };
    let c = p.add_chain(t, "input", Some(base));
    for i in 0..rules {
        p.add_rule(c, rule(i));
    }
    (Arc::new(verify(p).expect("valid program")), c)
}

/// A TCP packet from `src` to 192.168.0.1, port 1500.
fn packet(src: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0];
    p.extend_from_slice(&src);
    p.extend_from_slice(&[192, 168, 0, 1]);
    p.extend_from_slice(&[
        0x30, 0x39, 0x05, 0xdc, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0,
    ]);
    p
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit_compile");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let (prog, _) = linear_chain(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &prog, |b, prog| {
            b.iter(|| Executable::new(Arc::clone(prog), Engine::Jit).expect("compiles"))
        });
    }
    g.finish();
}

fn eval(c: &mut Criterion) {
    for n in [100usize, 1_000] {
        let (prog, chain) = linear_chain(n);
        let mut g = c.benchmark_group(format!("eval_linear_{n}"));
        for engine in Engine::ALL {
            let exe = Executable::new(Arc::clone(&prog), engine).expect("compiles");
            let mut state = exe.new_state(0);
            for (what, src) in [("last_rule", net(n - 1)), ("no_match", [172, 16, 0, 1])] {
                let mut bytes = packet([src[0], src[1], src[2], src[3] | 7]);
                let mut pkt = PacketCtx::from_ip(&mut bytes, Hook::Input);
                g.bench_function(BenchmarkId::new(engine.name(), what), |b| {
                    b.iter(|| {
                        let r = exe.run_chain(&mut state, chain, &mut pkt, &mut NullEnv);
                        black_box(r.verdict)
                    })
                });
            }
        }
        g.finish();
    }
}

/// Answers `ct state` and `meta iif` like the runtime would for one flow.
struct FlowEnv {
    ct_state: u32,
}

impl Env for FlowEnv {
    fn ct_get(&mut self, key: CtKey, _dir: Option<CtDir>, out: &mut [u8]) -> bool {
        if key != CtKey::State || out.len() != 4 {
            return false;
        }
        out.copy_from_slice(&self.ct_state.to_le_bytes());
        true
    }
    fn meta_get(&mut self, key: MetaKey, out: &mut [u8]) -> bool {
        if key != MetaKey::Iif || out.len() != 4 {
            return false;
        }
        out.copy_from_slice(&2u32.to_le_bytes());
        true
    }
}

fn host_firewall() -> (Arc<VerifiedProgram>, ChainId) {
    let mut p = Program::new();
    let t = p.add_table(Family::Inet, "filter");
    let base = BaseChain {
        kind: ChainKind::Filter,
        hook: Hook::Input,
        priority: 0,
        policy: Policy::Drop,
        device: None,
    };
    let c = p.add_chain(t, "input", Some(base));
    let mut ports = Set::new(
        "__set%d",
        t,
        flags::ANONYMOUS | flags::CONSTANT,
        vec![nftvm_vm::Field::new(2, ByteOrder::Network)],
    );
    for port in [22u64, 80, 443] {
        ports.elements.push(Element::new(Data::net_uint(port, 2)));
    }
    let ports = p.add_set(ports);
    let host = |v: u32| Data::host_u32(v);
    let byte = |v: u8| Data::new(&[v], ByteOrder::Network).expect("1 byte");
    let ct_state = |mask: u32, v: Verdict| {
        vec![
            Expr::Ct(Ct { key: CtKey::State, dir: None, op: CtOp::Load { dreg: Reg(1) } }),
            Expr::Bitwise(Bitwise {
                dreg: Reg(1),
                sreg: Reg(1),
                len: 4,
                op: BitwiseOp::MaskXor { mask: host(mask), xor: host(0) },
            }),
            Expr::Cmp(Cmp::new(CmpOp::Neq, Reg(1), host(0))),
            Expr::Immediate(Immediate::verdict(v)),
        ]
    };
    let mut rules = vec![
        ct_state(0x06, Verdict::Accept),
        ct_state(0x01, Verdict::Drop),
        vec![
            Expr::Meta(Meta::load(MetaKey::Iif, Reg(1))),
            Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), host(1))),
            Expr::Immediate(Immediate::verdict(Verdict::Accept)),
        ],
    ];
    for i in 0..26u8 {
        rules.push(vec![
            Expr::Meta(Meta::load(MetaKey::Nfproto, Reg(1))),
            Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), byte(2))),
            Expr::Payload(Payload::load(PayloadBase::Network, 12, 4, Reg(1))),
            Expr::Bitwise(Bitwise {
                dreg: Reg(1),
                sreg: Reg(1),
                len: 4,
                op: BitwiseOp::MaskXor {
                    mask: Data::new(&[255, 255, 255, 0], ByteOrder::Network).expect("4 bytes"),
                    xor: Data::new(&[0; 4], ByteOrder::Network).expect("4 bytes"),
                },
            }),
            Expr::Cmp(Cmp::new(
                CmpOp::Eq,
                Reg(1),
                Data::new(&[10, 1, i, 0], ByteOrder::Network).expect("4 bytes"),
            )),
            Expr::Meta(Meta::load(MetaKey::L4proto, Reg(1))),
            Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), byte(6))),
            Expr::Payload(Payload::load(PayloadBase::Transport, 2, 2, Reg(1))),
            Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), Data::net_uint(8000 + i as u64, 2))),
            Expr::Immediate(Immediate::verdict(Verdict::Accept)),
        ]);
    }
    let mut last = vec![
        Expr::Meta(Meta::load(MetaKey::L4proto, Reg(1))),
        Expr::Cmp(Cmp::new(CmpOp::Eq, Reg(1), byte(6))),
        Expr::Payload(Payload::load(PayloadBase::Transport, 2, 2, Reg(1))),
        Expr::Lookup(Lookup { sreg: Reg(1), set: ports, dreg: None, flags: None }),
    ];
    last.extend(ct_state(0x08, Verdict::Accept));
    rules.push(last);
    for (i, exprs) in rules.into_iter().enumerate() {
        p.add_rule(c, Rule { exprs, source: SourceId(i as u32), comment: None });
    }
    (Arc::new(verify(p).expect("valid program")), c)
}

fn host(c: &mut Criterion) {
    let (prog, chain) = host_firewall();
    let mut g = c.benchmark_group("eval_host_firewall_30");
    for engine in Engine::ALL {
        let exe = Executable::new(Arc::clone(&prog), engine).expect("compiles");
        let mut state = exe.new_state(0);
        // ct state bits: established 0x02, new 0x08.
        for (what, ct_state) in [("established", 0x02u32), ("new_ssh", 0x08)] {
            let mut bytes = packet([192, 0, 2, 1]);
            bytes[22..24].copy_from_slice(&22u16.to_be_bytes());
            let mut pkt = PacketCtx::from_ip(&mut bytes, Hook::Input);
            let mut env = FlowEnv { ct_state };
            assert_eq!(exe.run_chain(&mut state, chain, &mut pkt, &mut env).verdict, Verdict::Accept);
            g.bench_function(BenchmarkId::new(engine.name(), what), |b| {
                b.iter(|| black_box(exe.run_chain(&mut state, chain, &mut pkt, &mut env).verdict))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, compile, eval, host);
criterion_main!(benches);
