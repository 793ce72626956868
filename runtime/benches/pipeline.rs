//! Whole-pipeline cost per packet of an established TCP flow through a router: dissect,
//! prerouting (conntrack), routing, TTL, forward (a stateful rule set), postrouting
//! (confirm), output — with and without masquerade. Compare with `conntrack` (the table
//! alone) to see what the hooks and the VM add.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nftvm_runtime::conntrack::SECOND;
use nftvm_runtime::host::Host;
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use nftvm_runtime::pipeline::{Pipeline, PipelineConfig, VmEngine};

const STATEFUL: &str = "table inet f
chain inet f fwd type filter hook forward priority 0 policy drop

inet f fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ immediate reg 0 accept ]

inet f fwd
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0050 ]
  [ immediate reg 0 accept ]
";

const MASQ: &str = "table ip nat
chain ip nat post type nat hook postrouting priority 100 policy accept

ip nat post
  [ meta load oifname => reg 1 ]
  [ cmp eq reg 1 0x74756e62 0x00000000 0x00000000 0x00000000 ]
  [ masq ]
";

fn tcp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    PacketBuilder::ipv4(src, dst)
        .tcp(sport, dport)
        .flags(flags)
        .seq(seq)
        .ack(ack)
        .window(64240)
        .payload(&[0u8; 64])
        .build()
}

/// A router with the flow's handshake done; returns it and the client's next data packet.
fn established(program: &str) -> (Pipeline, Vec<u8>) {
    let prog = nftvm_vm::verify(nftvm_vm::text::assemble(program).expect("assemble")).expect("verify");
    let host = Host::from_specs(&["tuna=10.0.1.1/24".into(), "tunb=10.0.2.1/24".into()], &[]).expect("host");
    let mut p =
        Pipeline::new(host, Box::new(VmEngine::interpreter(Arc::new(prog), 0)), PipelineConfig::default());
    let (c, s) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2));
    let (a, b) = (IfaceId(0), IfaceId(1));
    let _ = p.process(a, SECOND, tcp(c, 40000, s, 80, 0x02, 1000, 0), LinkType::Raw);
    let reply_to = if program.contains("masq") { Ipv4Addr::new(10, 0, 2, 1) } else { c };
    let _ = p.process(b, SECOND, tcp(s, 80, reply_to, 40000, 0x12, 5000, 1001), LinkType::Raw);
    let _ = p.process(a, SECOND, tcp(c, 40000, s, 80, 0x10, 1001, 5001), LinkType::Raw);
    (p, tcp(c, 40000, s, 80, 0x10, 1001, 5001))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline_established_tcp");
    g.throughput(Throughput::Elements(1));
    for (name, program) in [
        ("forward_stateful", STATEFUL.to_string()),
        ("forward_stateful_masquerade", format!("{STATEFUL}\n{MASQ}")),
    ] {
        let (mut p, pkt) = established(&program);
        let check = p.process(IfaceId(0), 2 * SECOND, pkt.clone(), LinkType::Raw);
        assert_eq!(check.emitted.len(), 1, "{name}: the data packet must be forwarded");
        g.bench_function(name, |b| {
            b.iter_batched(
                || pkt.clone(),
                |frame| black_box(p.process(IfaceId(0), 2 * SECOND, frame, LinkType::Raw)),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
