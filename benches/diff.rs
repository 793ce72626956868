//! `diff` on ClassBench 10K rule sets: a rule set against itself, against a mutant (one live
//! rule's verdict flipped), and — the engine without its shortcut — `explain` on 1K sets,
//! which explores the whole packet space of one rule set.
//!
//! Run: `cargo bench --bench diff`.

#[path = "../tests/common/load.rs"]
#[allow(dead_code)]
mod load;

use criterion::{Criterion, criterion_group, criterion_main};
use nftvm::classbench::{parse_filters, to_nft};
use nftvm::compiler::diff::{self, Options, Side};
use nftvm::compiler::ir::{StmtKind, Verdict};
use std::hint::black_box;
use std::path::PathBuf;

fn shared() -> PathBuf {
    std::env::var_os("NFTVM_SHARED").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/shared"))
}

fn filters(name: &str) -> Vec<nftvm::classbench::Filter> {
    let text = std::fs::read_to_string(shared().join("classbench/wustl/rules").join(name)).expect("rules");
    parse_filters(&text).expect("filters")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    for name in ["acl1_10K", "fw1_10K", "ipc1_10K"] {
        let f = filters(name);
        let text = to_nft(&f);
        let a = load::nft(name, &text).expect("loads").0;
        let b = load::nft(name, &text).expect("loads").0;
        g.bench_function(format!("{name}/identity"), |bench| {
            bench.iter(|| black_box(diff::diff(&a, &b, &Options { max: 3 }).expect("decidable")))
        });
        let mut m = load::nft(name, &text).expect("loads").0;
        let k = f.len() / 3;
        if let Some(last) = m.tables[0].chains[0].rules[k].stmts.last_mut() {
            last.kind = StmtKind::Verdict(Verdict::Drop);
        }
        g.bench_function(format!("{name}/mutant"), |bench| {
            bench.iter(|| black_box(diff::diff(&a, &m, &Options { max: 3 }).expect("decidable")))
        });
    }
    for name in ["acl1_1K", "fw1_1K", "ipc1_1K"] {
        let rs = load::nft(name, &to_nft(&filters(name))).expect("loads").0;
        g.bench_function(format!("{name}/explain"), |bench| {
            bench.iter(|| black_box(diff::explain(&rs, Side::A).expect("decidable")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
