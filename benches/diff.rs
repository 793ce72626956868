//! `diff` on ClassBench 10K rule sets: a rule set against itself, against a mutant (one live
//! rule's verdict flipped), against an equivalent rewrite (the rules moved into a chain the
//! base chain jumps to, every 10th port range split in two) and against that rewrite
//! mutated; and — the engine without its shortcut — `explain` on 1K sets, which explores the
//! whole packet space of one rule set.
//!
//! Run: `cargo bench --bench diff`.

#[path = "../tests/common/load.rs"]
#[allow(dead_code)]
mod load;

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use nftvm::classbench::{parse_filters, to_nft};
use nftvm::compiler::diff::{self, Options, Side};
use nftvm::compiler::ir::{StmtKind, Verdict};
use std::hint::black_box;

fn filters(name: &str) -> Vec<nftvm::classbench::Filter> {
    let text = std::fs::read_to_string(common::shared_dir().join("classbench/wustl/rules").join(name))
        .expect("rules");
    parse_filters(&text).expect("filters")
}

/// An equivalent rewrite of `to_nft` text: the rules in a regular chain that a base chain of
/// policy drop jumps to (the last rule matches everything), every 10th port range split into
/// two rules; with `flip`, rule `flip` drops instead.
fn rewrite(text: &str, flip: Option<usize>) -> String {
    let mut rules = Vec::new();
    for (i, line) in text.lines().filter(|l| l.contains("meta mark set ")).enumerate() {
        let line = if flip == Some(i) { line.replace(" accept", " drop") } else { line.to_string() };
        let range = line.split(' ').find_map(|w| {
            let (lo, hi) = w.split_once('-')?;
            Some((lo.parse::<u16>().ok()?, hi.parse::<u16>().ok()?))
        });
        match range {
            Some((lo, hi)) if i % 10 == 0 && hi > lo => {
                let mid = lo + (hi - lo) / 2;
                let old = format!(" {lo}-{hi} ");
                rules.push(line.replacen(&old, &format!(" {lo}-{mid} "), 1));
                rules.push(line.replacen(&old, &format!(" {}-{hi} ", mid + 1), 1));
            }
            _ => rules.push(line),
        }
    }
    format!(
        "table ip classbench {{\n\tchain rules {{\n{}\n\t}}\n\tchain filter {{\n\t\ttype filter hook prerouting priority filter; policy drop;\n\t\tjump rules\n\t}}\n}}\n",
        rules.join("\n")
    )
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
        let r = load::nft(name, &rewrite(&text, None)).expect("loads").0;
        assert!(diff::diff(&a, &r, &Options { max: 3 }).expect("decidable").equivalent(), "{name}: rewrite");
        g.bench_function(format!("{name}/rewrite"), |bench| {
            bench.iter(|| black_box(diff::diff(&a, &r, &Options { max: 3 }).expect("decidable")))
        });
        let rm = load::nft(name, &rewrite(&text, Some(k))).expect("loads").0;
        g.bench_function(format!("{name}/rewrite-mutant"), |bench| {
            bench.iter(|| black_box(diff::diff(&a, &rm, &Options { max: 3 }).expect("decidable")))
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
