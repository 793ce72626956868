//! Conntrack table speed: lookup of an existing flow and insertion of new flows (track +
//! confirm) at 1K, 100K and 1M entries. Targets (issue 4): lookup ≤ 20 ns at 100K entries,
//! ≥ 5 M new connections per second on one core.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nftvm_runtime::conntrack::{Config, Conntrack, SECOND, Tuple, builder};

/// The `i`-th flow: distinct source address and port per flow.
fn flow(i: u32) -> (IpAddr, IpAddr, u16) {
    let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 10)));
    let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    (src, dst, 1024 + (i & 1023) as u16)
}

fn cfg() -> Config {
    Config { max: 0, ..Config::default() }
}

/// A table holding `n` confirmed UDP flows.
fn filled(n: u32) -> Conntrack {
    let mut ct = Conntrack::new(cfg());
    ct.reserve(n as usize);
    for i in 0..n {
        let (s, d, p) = flow(i);
        let pkt = builder::udp(s, d, p, 53, 32, SECOND);
        let t = ct.track(&pkt).expect("unbounded");
        ct.finish(&t, None).expect("insert");
    }
    ct
}

fn sizes() -> [u32; 3] {
    [1_000, 100_000, 1_000_000]
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("conntrack_lookup");
    for n in sizes() {
        let ct = filled(n);
        // Look flows up in a scattered order so consecutive lookups do not share cache lines.
        let keys: Vec<Tuple> = (0..n)
            .map(|i| {
                let (s, d, p) = flow(i.wrapping_mul(2_654_435_761) % n);
                Tuple::ports(s, d, 17, p, 53)
            })
            .collect();
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            let mut i = 0usize;
            b.iter(|| {
                i = if i + 1 == keys.len() { 0 } else { i + 1 };
                black_box(ct.find(black_box(&keys[i]), 0))
            })
        });
    }
    g.finish();
}

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("conntrack_insert");
    g.sample_size(10);
    for n in sizes() {
        let pkts: Vec<_> = (0..n)
            .map(|i| {
                let (s, d, p) = flow(i);
                builder::udp(s, d, p, 53, 32, SECOND)
            })
            .collect();
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                || {
                    let mut ct = Conntrack::new(cfg());
                    ct.reserve(n as usize);
                    ct
                },
                |mut ct| {
                    for pkt in &pkts {
                        let t = ct.track(pkt).expect("unbounded");
                        ct.finish(&t, None).expect("insert");
                    }
                    ct
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn track_established(c: &mut Criterion) {
    let mut g = c.benchmark_group("conntrack_track_established");
    let n = 100_000;
    let mut ct = filled(n);
    let pkts: Vec<_> = (0..n)
        .map(|i| {
            let (s, d, p) = flow(i.wrapping_mul(2_654_435_761) % n);
            builder::udp(s, d, p, 53, 32, 2 * SECOND)
        })
        .collect();
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        let mut i = 0usize;
        b.iter(|| {
            i = if i + 1 == pkts.len() { 0 } else { i + 1 };
            let t = ct.track(black_box(&pkts[i])).expect("known flow");
            ct.finish(&t, None).expect("confirmed");
        })
    });
    g.finish();
}

criterion_group!(benches, lookup, insert, track_established);
criterion_main!(benches);
