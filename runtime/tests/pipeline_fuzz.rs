//! Malformed, truncated and random packets never make the pipeline panic: seeded mutations
//! of valid packets (TCP, UDP, ICMP errors, fragments, IPv6 with extension headers) go
//! through a host with conntrack, NAT, a helper, reject and log rules, and every outcome
//! is checked to be coherent (dropped packets emit nothing of their own, emitted packets
//! parse).

#[path = "pipeline_support/mod.rs"]
mod support;

use nftvm_runtime::packet::{LinkType, PacketBuilder, dissect_ip};
use nftvm_runtime::pipeline::Fate;
use support::*;

const RULES: &str = "table inet f
chain inet f pre type filter hook prerouting priority 0 policy accept
chain inet f fwd type filter hook forward priority 0 policy accept
chain inet f in type filter hook input priority 0 policy accept
object inet f ftp ct_helper ftp l3proto 1 l4proto 6

inet f pre
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x06 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp eq reg 1 0x0015 ]
  [ objref type 3 name ftp ]

inet f fwd
  [ ct load state => reg 1 ]
  [ bitwise reg 1 = ( reg 1 & 0x00000001 ) ^ 0x00000000 ]
  [ cmp neq reg 1 0x00000000 ]
  [ log prefix invalid:  ]
  [ immediate reg 0 drop ]

inet f fwd
  [ payload load 1b @ transport header + 0 => reg 1 ]
  [ cmp eq reg 1 0x07 ]
  [ reject type 1 code 0 ]

inet f in
  [ payload load 1b @ transport header + 1 => reg 1 ]
  [ cmp eq reg 1 0x09 ]
  [ reject type 2 code 1 ]

table ip nat
chain ip nat post type nat hook postrouting priority 100 policy accept

ip nat post
  [ masq ]
";

use nftvm_testkit::Rng;

fn seeds() -> Vec<Vec<u8>> {
    let (a, b, me) = (v4("10.0.1.2"), v4("10.0.2.2"), v4("10.0.1.1"));
    let (a6, b6) = (v6("fd00:1::2"), v6("fd00:2::2"));
    let tcp = PacketBuilder::ipv4(a, b)
        .tcp(40000, 21)
        .flags(0x18)
        .seq(1)
        .ack(1)
        .payload(b"PORT 10,0,1,2,4,1\r\n")
        .build();
    let mut out = vec![
        tcp.clone(),
        PacketBuilder::ipv4(a, b).udp(1, 2).payload(b"hello").build(),
        PacketBuilder::ipv4(a, me).tcp(7, 9).flags(0x02).build(),
        PacketBuilder::ipv4(b, a).icmp_error(3, 3, &tcp).build(),
        PacketBuilder::ipv6(a6, b6).hop_by_hop(&[1, 4, 0, 0, 0, 0]).udp(5, 6).payload(b"x").build(),
        PacketBuilder::ipv6(b6, a6).icmp_error(1, 4, &PacketBuilder::ipv6(a6, b6).udp(5, 6).build()).build(),
        PacketBuilder::ipv4(a, b).ipv4_options(&[7, 7, 4, 0, 0, 0, 0, 0]).tcp(7, 80).flags(0x02).build(),
    ];
    out.extend(PacketBuilder::ipv4(a, b).ident(9).udp(1, 2).payload(&[1; 80]).build_fragments(32));
    out.extend(PacketBuilder::ipv6(a6, b6).ident(9).udp(1, 2).payload(&[1; 80]).build_fragments(32));
    out
}

#[test]
fn mutated_packets_never_panic_and_outcomes_stay_coherent() {
    let mut p = pipeline(RULES);
    let seeds = seeds();
    let mut rng = Rng::new(0x5eed);
    let mut dropped = 0;
    for i in 0..60_000u64 {
        let mut pkt = seeds[rng.below(seeds.len())].clone();
        match rng.below(5) {
            0 => {}
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(pkt.len());
                    pkt[at] ^= 1 << rng.below(8);
                }
            }
            2 => pkt.truncate(rng.below(pkt.len() + 1)),
            3 => {
                let at = rng.below(pkt.len());
                pkt[at] = rng.next_u64() as u8;
            }
            _ => pkt = (0..rng.below(80)).map(|_| rng.next_u64() as u8).collect(),
        }
        let iif = if rng.below(2) == 0 { TUNA } else { TUNB };
        let o = p.process(iif, i * 1_000_000, pkt, LinkType::Raw);
        if matches!(o.packet.fate, Fate::Dropped(_) | Fate::Held) {
            dropped += 1;
            assert!(o.out().is_none(), "a dropped packet left: {o:?}");
        }
        for e in &o.emitted {
            assert!(
                dissect_ip(&e.bytes).is_ok() || e.bytes.is_empty(),
                "emitted an unparsable packet: {o:?}"
            );
        }
    }
    assert!(dropped > 1000, "the mutations should hit the drop paths too ({dropped})");
}
