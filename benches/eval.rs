//! Per-packet evaluation, interpreter vs JIT, through the VM (`Executable::run_chain_into`,
//! `RunOptions::VERDICT`: untraced, registers not copied out, one reused result — the runtime's fast path) against `nftvm::bench::env::BenchEnv`,
//! which answers `ct state` and the mark as the runtime would for the packet's flow:
//!
//! - `eval_linear_{100,1000}`: linear chains shaped like compiled ClassBench filters; a packet
//!   only the last rule matches (every rule evaluated) and one that matches none (policy);
//! - `eval_classbench_acl1_10K`: the acl1_10K filter set, each iteration the next packet of its
//!   trace (so the figure is the trace's mean ns/packet);
//! - `eval_host_firewall_30`: the 30-rule host firewall (`benches/data/host-firewall-30.nft`,
//!   `ct state`, named and anonymous sets) on an established https flow's packet (decided by
//!   rule 1) and on a new https connection (rule 7); and, for the whole-pipeline cost, the same
//!   rules as the forward chain of a router (`Pipeline::process_into`: dissect, prerouting conntrack,
//!   routing, forward, postrouting confirm) on an established https flow's data packet.

mod common;

use common::*;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use nftvm::bench::env::BenchEnv;
use nftvm::bench::packets::BenchPacket;
use nftvm::program::{self, Format};
use nftvm_runtime::conntrack::SECOND;
use nftvm_runtime::host::Host;
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use nftvm_runtime::pipeline::{Pipeline, PipelineConfig, VmEngine};
use nftvm_vm::interp::{RunOptions, RunResult};
use nftvm_vm::keys::{Hook, ct_state};
use nftvm_vm::{Engine, Executable, Verdict};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn linear(c: &mut Criterion) {
    for n in [100usize, 1_000] {
        let subject = compile(&format!("linear_{n}"), &linear_nft(n));
        let chain = base_chain(&subject);
        let mut g = c.benchmark_group(format!("eval_linear_{n}"));
        for engine in Engine::ALL {
            let exe = Executable::new(Arc::clone(&subject.prog), engine).expect("compiles");
            let mut state = exe.new_state(0);
            let mut env = BenchEnv::default();
            let mut out = RunResult::default();
            for (what, src, verdict) in [
                ("last_rule", linear_last_src(n), Verdict::Accept),
                ("no_match", [172, 16, 0, 1], Verdict::Drop),
            ] {
                let mut p = linear_packet(src);
                let mut ctx = p.ctx(Hook::Input);
                exe.run_chain_into(&mut state, chain, &mut ctx, &mut env, RunOptions::VERDICT, &mut out);
                assert_eq!(out.verdict, verdict, "{engine} {what}");
                g.bench_function(BenchmarkId::new(engine.name(), what), |b| {
                    b.iter(|| {
                        exe.run_chain_into(
                            &mut state,
                            chain,
                            &mut ctx,
                            &mut env,
                            RunOptions::VERDICT,
                            &mut out,
                        );
                        black_box(out.verdict)
                    })
                });
            }
        }
        g.finish();
    }
}

fn classbench_acl1_10k(c: &mut Criterion) {
    let (filters, trace) = classbench("acl1_10K");
    let subject = compile("acl1_10K", &nftvm::classbench::to_nft(&filters));
    let chain = base_chain(&subject);
    let mut packets: Vec<BenchPacket> = trace.iter().map(nftvm::bench::packets::trace_packet).collect();
    let mut g = c.benchmark_group("eval_classbench_acl1_10K");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for engine in Engine::ALL {
        let exe = Executable::new(Arc::clone(&subject.prog), engine).expect("compiles");
        let mut state = exe.new_state(0);
        let mut env = BenchEnv::default();
        let mut out = RunResult::default();
        let mut next = 0usize;
        g.bench_function(BenchmarkId::new(engine.name(), "trace"), |b| {
            b.iter(|| {
                let mut ctx = packets[next].ctx(Hook::Prerouting);
                env.mark = 0;
                exe.run_chain_into(&mut state, chain, &mut ctx, &mut env, RunOptions::VERDICT, &mut out);
                next = (next + 1) % trace.len();
                black_box(env.mark)
            })
        });
    }
    g.finish();
}

fn host_firewall(c: &mut Criterion) {
    let subject = compile("host-firewall-30.nft", HOST_FIREWALL);
    let chain = base_chain(&subject);
    let mut g = c.benchmark_group("eval_host_firewall_30");
    for engine in Engine::ALL {
        let exe = Executable::new(Arc::clone(&subject.prog), engine).expect("compiles");
        let mut state = exe.new_state(0);
        let mut out = RunResult::default();
        for (what, ct, rule) in [("established", ct_state::ESTABLISHED, 0), ("new_https", ct_state::NEW, 6)] {
            let mut p = https_packet();
            let mut ctx = p.ctx(Hook::Input);
            let mut env = BenchEnv { ct_state: ct, ..BenchEnv::default() };
            exe.run_chain_into(&mut state, chain, &mut ctx, &mut env, RunOptions::VERDICT, &mut out);
            assert_eq!(
                (out.verdict, out.decided_by.map(|d| d.rule)),
                (Verdict::Accept, Some(rule)),
                "{engine} {what}"
            );
            g.bench_function(BenchmarkId::new(engine.name(), what), |b| {
                b.iter(|| {
                    exe.run_chain_into(&mut state, chain, &mut ctx, &mut env, RunOptions::VERDICT, &mut out);
                    black_box(out.verdict)
                })
            });
            if what == "established" {
                // The allocating, traced entry point, for comparison.
                g.bench_function(BenchmarkId::new(engine.name(), "established_traced_alloc"), |b| {
                    b.iter(|| black_box(exe.run_chain(&mut state, chain, &mut ctx, &mut env).verdict))
                });
            }
        }
    }
    g.finish();
}

/// A client's TCP segment of the https flow 198.18.0.9:51000 -> 192.0.2.10:443 (or its reply).
fn https_segment(reply: bool, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let (client, server) = ([198, 18, 0, 9], [192, 0, 2, 10]);
    let b = if reply {
        PacketBuilder::ipv4(server, client).tcp(443, 51000)
    } else {
        PacketBuilder::ipv4(client, server).tcp(51000, 443)
    };
    b.flags(flags).seq(seq).ack(ack).window(64240).payload(&[0u8; 64]).build()
}

fn host_firewall_pipeline(c: &mut Criterion) {
    let rules = HOST_FIREWALL.replace("hook input", "hook forward");
    let host = Host::from_specs(&["wan=198.18.0.1/24".into(), "lan=192.0.2.1/24".into()], &[]).expect("host");
    let opts = program::Options { format: Some(Format::Nft), host: Some(&host), ipsets: None };
    let loaded = program::load_text("host-firewall-30-forward.nft", &rules, &opts).expect("compiles");
    let (wan, lan) = (IfaceId(0), IfaceId(1));
    let mut g = c.benchmark_group("pipeline_host_firewall_30");
    for engine in Engine::ALL {
        let exec = loaded.executable(engine).expect("compiles");
        let mut p = Pipeline::new(host.clone(), Box::new(VmEngine::new(exec, 0)), PipelineConfig::default());
        for (iif, reply, flags, seq, ack) in
            [(wan, false, 0x02, 1000, 0), (lan, true, 0x12, 5000, 1001), (wan, false, 0x10, 1001, 5001)]
        {
            let o = p.process(iif, SECOND, https_segment(reply, flags, seq, ack), LinkType::Raw);
            assert_eq!(o.emitted.len(), 1, "{engine}: handshake segment {flags:#x} forwarded");
        }
        let pkt = https_segment(false, 0x10, 1001, 5001);
        let check = p.process(wan, 2 * SECOND, pkt.clone(), LinkType::Raw);
        assert_eq!(check.emitted.len(), 1, "{engine}: the data packet must be forwarded");
        assert_eq!(check.packet.ct_state.map(|s| s.name()), Some("established"), "{engine}");
        // One outcome whose buffers every packet reuses, as the live workers keep one.
        let mut out = nftvm_runtime::pipeline::Outcome::empty(wan);
        g.bench_function(BenchmarkId::new(engine.name(), "forward_established"), |b| {
            b.iter_batched(
                || pkt.clone(),
                |frame| {
                    p.process_into(wan, 2 * SECOND, frame, LinkType::Raw, &mut out);
                    black_box(&out);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, linear, classbench_acl1_10k, host_firewall, host_firewall_pipeline);
criterion_main!(benches);
