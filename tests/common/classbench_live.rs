//! Live ClassBench rules: the first rule each trace packet matches, as the rendered nft rule
//! (`classbench::to_nft`) matches it — so mutating a live rule changes some packet's fate.

use nftvm::classbench::{Filter, TracePacket};
use std::net::Ipv4Addr;

/// Does filter `f` match the packet as the rendered rule does (ports only with a protocol)?
pub fn matches(f: &Filter, p: &TracePacket) -> bool {
    let pfx = |(a, len): (Ipv4Addr, u8), x: Ipv4Addr| {
        let m = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
        u32::from(a) & m == u32::from(x) & m
    };
    let ports = f.proto.1 == 0
        || ((f.sport.0..=f.sport.1).contains(&p.sport) && (f.dport.0..=f.dport.1).contains(&p.dport));
    pfx(f.src, p.src) && pfx(f.dst, p.dst) && p.proto & f.proto.1 == f.proto.0 & f.proto.1 && ports
}

/// Live rules: (rule index, a packet whose first match it is), `count` of them spread over
/// the rule list.
pub fn live(filters: &[Filter], trace: &[TracePacket], count: usize) -> Vec<(usize, TracePacket)> {
    let mut first: Vec<Option<TracePacket>> = vec![None; filters.len()];
    for p in trace.iter().take(20_000) {
        if let Some(k) = filters.iter().position(|f| matches(f, p))
            && first[k].is_none()
        {
            first[k] = Some(*p);
        }
    }
    let all: Vec<(usize, TracePacket)> =
        first.iter().enumerate().filter_map(|(k, p)| p.map(|p| (k, p))).collect();
    let step = (all.len() / count).max(1);
    all.into_iter().step_by(step).take(count).collect()
}
