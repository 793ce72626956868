//! What the root benchmarks share: the ClassBench data, generated linear chains, the 30-rule
//! host firewall, and programs compiled from nft text the way `nftvm bench` compiles them.
#![allow(dead_code)]

use nftvm::bench::compile::{Subject, compile_nft};
use nftvm::bench::packets::BenchPacket;
use nftvm::classbench::{Filter, TracePacket, parse_filters, parse_trace};
use nftvm_runtime::packet::PacketBuilder;
use nftvm_vm::ChainId;
use std::path::PathBuf;

/// The shared data directory (`NFTVM_SHARED`, else the `shared/` next to an ancestor).
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NFTVM_SHARED") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared"))
        .find(|c| c.join("classbench").is_dir())
        .unwrap_or_else(|| PathBuf::from("/work/shared"))
}

/// A wustl filter set and its trace.
pub fn classbench(set: &str) -> (Vec<Filter>, Vec<TracePacket>) {
    let base = shared_dir().join("classbench/wustl");
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let filters = parse_filters(&read(base.join("rules").join(set))).expect("valid filters");
    let trace = parse_trace(&read(base.join("traces").join(format!("{set}_trace")))).expect("valid trace");
    (filters, trace)
}

/// A ClassBench filter set as nft text.
pub fn classbench_nft(set: &str) -> String {
    nftvm::classbench::to_nft(&classbench(set).0)
}

/// Compiles nft text unoptimized (-O0: the rules as written, a linear first-match chain);
/// panics with the diagnostics.
pub fn compile(name: &str, text: &str) -> Subject {
    let o0 = nftvm_compiler::opt::Options::level(nftvm_compiler::opt::Level::O0);
    compile_nft(name, text, &o0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first base chain of a program.
pub fn base_chain(s: &Subject) -> ChainId {
    let i = s.prog.chains.iter().position(|c| c.base.is_some()).expect("a base chain");
    ChainId(i as u32)
}

/// A linear chain of `n` rules shaped like a compiled ClassBench filter: a source /24, a
/// destination address, a destination port range, a mark and a verdict; the rules differ in
/// their source prefix only, so a packet from the last rule's prefix evaluates all of them.
pub fn linear_nft(n: usize) -> String {
    let mut s = String::from(
        "table ip linear {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "\t\tip saddr 10.{}.{}.0/24 ip daddr 192.168.0.1 tcp dport 1024-2048 meta mark set {} accept\n",
            i >> 8 & 0xff,
            i & 0xff,
            i + 1
        ));
    }
    s.push_str("\t}\n}\n");
    s
}

/// The TCP packet from `src` to 192.168.0.1:1500 the linear chains classify.
pub fn linear_packet(src: [u8; 4]) -> BenchPacket {
    BenchPacket::from_ip(PacketBuilder::ipv4(src, [192, 168, 0, 1]).tcp(40000, 1500).build())
}

/// The source of a packet that only the last of `n` linear rules matches.
pub fn linear_last_src(n: usize) -> [u8; 4] {
    let i = n - 1;
    [10, (i >> 8 & 0xff) as u8, (i & 0xff) as u8, 7]
}

/// The 30-rule host firewall (`benches/data/host-firewall-30.nft`).
pub const HOST_FIREWALL: &str = include_str!("../data/host-firewall-30.nft");

/// A packet of an https flow from the internet to the host.
pub fn https_packet() -> BenchPacket {
    BenchPacket::from_ip(
        PacketBuilder::ipv4([198, 18, 0, 9], [192, 0, 2, 10]).tcp(51000, 443).flags(0x10).build(),
    )
}
