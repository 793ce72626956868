//! Shared helpers of the pipeline tests: a router host (`tuna` 10.0.1.1/24 fd00:1::1/64,
//! `tunb` 10.0.2.1/24 fd00:2::1/64, like the kernel oracle's), programs assembled from
//! `nft --debug=netlink` text, and packets from the packet builder.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use nftvm_runtime::conntrack::SECOND;
use nftvm_runtime::host::Host;
use nftvm_runtime::io::IfaceId;
use nftvm_runtime::packet::{LinkType, PacketBuilder};
use nftvm_runtime::pipeline::{Outcome, Pipeline, PipelineConfig, VmEngine};

pub const TUNA: IfaceId = IfaceId(0);
pub const TUNB: IfaceId = IfaceId(1);

pub fn host() -> Host {
    Host::from_specs(
        &[
            "tuna=10.0.1.1/24".into(),
            "tuna=fd00:1::1/64".into(),
            "tunb=10.0.2.1/24".into(),
            "tunb=fd00:2::1/64".into(),
        ],
        &[],
    )
    .expect("host model")
}

/// A pipeline running `program` (assembler text) on the router host.
pub fn pipeline(program: &str) -> Pipeline {
    pipeline_with(program, PipelineConfig::default())
}

pub fn pipeline_with(program: &str, cfg: PipelineConfig) -> Pipeline {
    let prog = nftvm_vm::text::assemble(program).unwrap_or_else(|e| panic!("assemble: {e}"));
    let prog = nftvm_vm::verify(prog).unwrap_or_else(|e| panic!("verify: {e}"));
    let engine = VmEngine::interpreter(Arc::new(prog), 0);
    Pipeline::new(host(), Box::new(engine), cfg)
}

/// Feeds `packet` in on `iif` at second `t`.
pub fn send(p: &mut Pipeline, iif: IfaceId, t: u64, packet: &[u8]) -> Outcome {
    p.process(iif, t * SECOND, packet.to_vec(), LinkType::Raw)
}

pub fn v4(a: &str) -> Ipv4Addr {
    a.parse().expect("IPv4 address")
}

pub fn v6(a: &str) -> Ipv6Addr {
    a.parse().expect("IPv6 address")
}

/// A UDP datagram between IPv4 hosts.
pub fn udp4(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    PacketBuilder::ipv4(v4(src), v4(dst)).ident(0x1234).udp(sport, dport).payload(payload).build()
}

/// A TCP segment between IPv4 hosts.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    PacketBuilder::ipv4(v4(src), v4(dst))
        .ident(0x1234)
        .dont_frag()
        .tcp(sport, dport)
        .flags(flags)
        .seq(seq)
        .ack(ack)
        .window(64240)
        .payload(payload)
        .build()
}

/// The one packet emitted on `oif`, panicking otherwise.
pub fn single_out(o: &Outcome, oif: IfaceId) -> Vec<u8> {
    let on: Vec<&Vec<u8>> = o.emitted.iter().filter(|e| e.oif == oif).map(|e| &e.bytes).collect();
    assert_eq!(on.len(), 1, "expected one packet out of {oif:?}: {o:#?}");
    on[0].clone()
}

/// `conntrack -L` lines of the pipeline now.
pub fn ct_lines(p: &Pipeline) -> Vec<String> {
    p.conntrack().dump(p.now())
}
