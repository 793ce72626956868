//! JIT compile latency: verified bytecode → native code (`Executable::new(…, Engine::Jit)`),
//! for the ClassBench acl1 sets at 1K and 10K rules and the 30-rule host firewall. (Issue 6:
//! a 10K-rule ruleset in ≤ 1 s.)

mod common;

use common::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nftvm_vm::{Engine, Executable};
use std::hint::black_box;
use std::sync::Arc;

fn jit_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit_compile");
    g.sample_size(10);
    let inputs = [
        ("host_firewall_30", compile("host-firewall-30.nft", HOST_FIREWALL)),
        ("acl1_1K", compile("acl1_1K", &classbench_nft("acl1_1K"))),
        ("acl1_10K", compile("acl1_10K", &classbench_nft("acl1_10K"))),
    ];
    for (name, subject) in &inputs {
        g.bench_with_input(BenchmarkId::from_parameter(name), subject, |b, s| {
            b.iter(|| black_box(Executable::new(Arc::clone(&s.prog), Engine::Jit).expect("compiles")))
        });
    }
    g.finish();
}

criterion_group!(benches, jit_compile);
criterion_main!(benches);
