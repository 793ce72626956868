//! Compile time of a 10K-rule ruleset: ClassBench `acl1_10K` rendered as nft
//! (`nftvm::classbench::to_nft`: prefixes, port ranges, protocol masks, one `meta mark set`
//! per rule), measured end to end — parse, evaluate, codegen, verify — and per stage (parse
//! alone, parse + evaluate into the IR, codegen, verify). JIT compile latency is in
//! `jit_compile.rs`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use nftvm::classbench;
use nftvm_compiler::{codegen, eval};
use nftvm_grammar::{SourceMap, nft};
use std::hint::black_box;

fn ruleset_text() -> String {
    let path = common::shared_dir().join("classbench/wustl/rules/acl1_10K");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let filters = classbench::parse_filters(&text).expect("valid ClassBench filters");
    classbench::to_nft(&filters)
}

fn bench(c: &mut Criterion) {
    let text = ruleset_text();
    let mut group = c.benchmark_group("compile acl1_10K");
    group.sample_size(10);
    group.bench_function("parse+eval+codegen+verify", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let file = nft::parse_str(&mut sources, "acl1_10K.nft", &text).expect("parses");
            let rs = eval::load(&file).expect("evaluates");
            let prog = codegen::compile(&rs).expect("compiles").program;
            black_box(nftvm_vm::verify(prog).expect("verifies"))
        })
    });
    group.bench_function("parse only", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            black_box(nft::parse_str(&mut sources, "acl1_10K.nft", &text).expect("parses"))
        })
    });
    group.bench_function("parse+eval", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let file = nft::parse_str(&mut sources, "acl1_10K.nft", &text).expect("parses");
            black_box(eval::load(&file).expect("evaluates"))
        })
    });
    let mut sources = SourceMap::new();
    let file = nft::parse_str(&mut sources, "acl1_10K.nft", &text).expect("parses");
    let rs = eval::load(&file).expect("evaluates");
    group.bench_function("codegen only", |b| b.iter(|| black_box(codegen::compile(&rs).expect("compiles"))));
    let prog = codegen::compile(&rs).expect("compiles").program;
    group.bench_function("verify only", |b| {
        b.iter(|| black_box(nftvm_vm::verify(prog.clone()).expect("verifies")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
