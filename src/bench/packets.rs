//! Packets to benchmark with: the bytes and the header offsets the runtime would have parsed,
//! built once so the timed loop only runs rules.
//!
//! A ClassBench trace line becomes an IPv4 packet with its addresses and protocol: TCP and
//! UDP with their ports, any other protocol with the two ports as the first four bytes after
//! the IP header (where `th sport`/`th dport` load them). A capture record is dissected as the
//! pipeline dissects it.

use crate::classbench::TracePacket;
use nftvm_runtime::packet::{LinkType, PacketBuilder, dissect};
use nftvm_vm::interp::PacketCtx;
use nftvm_vm::keys::{Family, Hook};

/// One packet and its parsed header offsets (see [`PacketCtx`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchPacket {
    pub data: Vec<u8>,
    pub link_off: Option<usize>,
    pub network_off: usize,
    pub transport_off: Option<usize>,
    pub l4proto: u8,
    /// `Ip` or `Ip6`.
    pub nfproto: Family,
    pub protocol: u16,
}

impl BenchPacket {
    /// An IP packet starting at its network header (offsets as [`PacketCtx::from_ip`] finds
    /// them).
    pub fn from_ip(mut data: Vec<u8>) -> BenchPacket {
        let c = PacketCtx::from_ip(&mut data, Hook::Prerouting);
        let (link_off, network_off, transport_off, l4proto, nfproto, protocol) =
            (c.link_off, c.network_off, c.transport_off, c.l4proto, c.nfproto, c.protocol);
        BenchPacket { data, link_off, network_off, transport_off, l4proto, nfproto, protocol }
    }

    /// A captured frame of `link_type`, dissected as the pipeline does; `Err` names why it
    /// is not an IP packet the rules could see.
    pub fn from_frame(data: Vec<u8>, link_type: LinkType) -> Result<BenchPacket, String> {
        let info = dissect(&data, link_type).map_err(|e| e.to_string())?;
        let nfproto = if info.ethertype() == 0x86dd { Family::Ip6 } else { Family::Ip };
        Ok(BenchPacket {
            link_off: info.link_offset(),
            network_off: info.nhoff,
            transport_off: info.transport_offset(),
            l4proto: info.l4proto.unwrap_or(0),
            nfproto,
            protocol: info.ethertype(),
            data,
        })
    }

    /// The VM's view of this packet at `hook`.
    pub fn ctx(&mut self, hook: Hook) -> PacketCtx<'_> {
        PacketCtx {
            data: &mut self.data,
            link_off: self.link_off,
            network_off: self.network_off,
            transport_off: self.transport_off,
            l4proto: self.l4proto,
            nfproto: self.nfproto,
            protocol: self.protocol,
            hook,
        }
    }
}

/// The IPv4 packet of a ClassBench trace line (see the module documentation).
pub fn trace_packet(t: &TracePacket) -> BenchPacket {
    let b = PacketBuilder::ipv4(t.src, t.dst);
    let b = match t.proto {
        6 => b.tcp(t.sport, t.dport),
        17 => b.udp(t.sport, t.dport),
        other => {
            let mut ports = [0u8; 8];
            ports[0..2].copy_from_slice(&t.sport.to_be_bytes());
            ports[2..4].copy_from_slice(&t.dport.to_be_bytes());
            b.protocol(other).payload(&ports)
        }
    };
    BenchPacket::from_ip(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn trace(proto: u8) -> TracePacket {
        TracePacket {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(192, 0, 2, 7),
            sport: 1234,
            dport: 80,
            proto,
            expected: 1,
        }
    }

    #[test]
    fn trace_packets_carry_ports_where_th_loads_them() {
        for proto in [6u8, 17, 47, 0, 255] {
            let p = trace_packet(&trace(proto));
            assert_eq!(p.l4proto, proto);
            assert_eq!(p.nfproto, Family::Ip);
            let th = p.transport_off.expect("transport header");
            assert_eq!(&p.data[th..th + 4], &[0x04, 0xd2, 0, 80], "protocol {proto}");
            assert_eq!(&p.data[12..16], &[10, 0, 0, 1]);
        }
    }

    #[test]
    fn frames_are_dissected_like_the_pipeline_does() {
        let ip = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2]).udp(53, 53).build();
        let p = BenchPacket::from_frame(ip.clone(), LinkType::Raw).expect("parses");
        assert_eq!((p.network_off, p.transport_off, p.l4proto), (0, Some(20), 17));
        assert!(BenchPacket::from_frame(vec![0x45, 0, 0], LinkType::Raw).is_err());
    }
}
