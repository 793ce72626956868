//! Flow keys for steering packets to workers: which connection a raw IP packet belongs to,
//! reduced to a **symmetric** key (both directions of a flow give the same key).
//!
//! A key is the protocol and the two endpoints (address, port) in a canonical order, so
//! `a:1 → b:2` and `b:2 → a:1` are equal. The "port" is the transport port for TCP, UDP,
//! UDP-Lite, SCTP and DCCP, and the echo identifier on both sides for ICMP/ICMPv6 queries
//! (the identifier is what conntrack keys those flows on). An ICMP error is keyed by the
//! packet it quotes, so it lands where that packet's connection lives. Fragments are keyed
//! by their addresses and protocol only (later fragments carry no ports), as the kernel's
//! own flow hash does.
//!
//! Parsing is deliberately shallow and never fails: whatever cannot be read is left out of
//! the key (a truncated or malformed packet still gets a key; the pipeline will drop it).

use std::hash::{BuildHasher, Hash, Hasher};

use crate::conntrack::Tuple;
use crate::conntrack::tuple::proto;

/// One end of a flow: address (IPv4 in the low 32 bits) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Endpoint {
    pub addr: u128,
    pub port: u16,
}

/// A symmetric flow key: `lo <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub v6: bool,
    pub proto: u8,
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl FlowKey {
    /// The key of a flow between `a` and `b`, in either order.
    pub fn new(v6: bool, proto: u8, a: Endpoint, b: Endpoint) -> FlowKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey { v6, proto, lo, hi }
    }

    /// The key of the flow a conntrack tuple describes (either direction's tuple of a
    /// connection gives the same key).
    pub fn of_tuple(t: &Tuple) -> FlowKey {
        let v6 = t.l3 == crate::conntrack::L3::Ipv6;
        let (sport, dport) = if t.is_icmp() {
            (t.src_id, t.src_id)
        } else if has_ports(t.proto) {
            (t.src_id, t.dst_id)
        } else {
            (0, 0)
        };
        FlowKey::new(
            v6,
            t.proto,
            Endpoint { addr: t.src, port: sport },
            Endpoint { addr: t.dst, port: dport },
        )
    }

    /// A 64-bit hash of the key with `hasher`.
    pub fn hash_with<S: BuildHasher>(&self, hasher: &S) -> u64 {
        hasher.hash_one(self)
    }
}

/// The directional key of an expected connection (`conntrack -L expect`): protocol, source
/// and destination address and destination port; the source port is a wildcard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ExpectKey {
    pub v6: bool,
    pub proto: u8,
    pub src: u128,
    pub dst: u128,
    pub dport: u16,
}

impl ExpectKey {
    /// The key an expectation for tuple `t` (source port ignored) is found under.
    pub fn of_tuple(t: &Tuple) -> ExpectKey {
        ExpectKey {
            v6: t.l3 == crate::conntrack::L3::Ipv6,
            proto: t.proto,
            src: t.src,
            dst: t.dst,
            dport: t.dst_id,
        }
    }

    /// A 64-bit hash, distinct from flow-key hashes of the same numbers.
    pub fn hash_with<S: BuildHasher>(&self, hasher: &S) -> u64 {
        let mut h = hasher.build_hasher();
        0xe7u8.hash(&mut h);
        self.hash(&mut h);
        h.finish()
    }
}

/// What steering needs to know about a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PacketKeys {
    /// The flow the packet belongs to.
    pub flow: FlowKey,
    /// The expectation it could fulfil (a first packet of a related connection); `None` for
    /// packets that cannot start an expected connection (ICMP, fragments, unparsable).
    pub expect: Option<ExpectKey>,
}

fn has_ports(p: u8) -> bool {
    matches!(p, proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | 33)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn addr4(b: &[u8], at: usize) -> u128 {
    let w = b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
    u128::from(w)
}

fn addr6(b: &[u8], at: usize) -> u128 {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    u128::from_be_bytes(a)
}

/// The network-layer view a key is computed from.
struct L3View {
    v6: bool,
    src: u128,
    dst: u128,
    proto: u8,
    /// Offset of the transport header; `None` for a non-first fragment (no ports).
    l4: Option<usize>,
    fragment: bool,
}

fn parse_l3(pkt: &[u8]) -> Option<L3View> {
    match pkt.first()? >> 4 {
        4 => {
            let ihl = usize::from(pkt.first()? & 0x0f) * 4;
            let frag = be16(pkt, 6)?;
            let offset = frag & 0x1fff;
            let more = frag & 0x2000 != 0;
            Some(L3View {
                v6: false,
                src: addr4(pkt, 12),
                dst: addr4(pkt, 16),
                proto: *pkt.get(9)?,
                l4: (offset == 0 && ihl >= 20).then_some(ihl),
                fragment: offset != 0 || more,
            })
        }
        6 => {
            let (src, dst) = (addr6(pkt, 8), addr6(pkt, 24));
            let mut next = *pkt.get(6)?;
            let mut at = 40usize;
            let mut fragment = false;
            let mut first = true;
            // Hop-by-hop, routing, fragment, destination options: at most a few of them.
            for _ in 0..8 {
                match next {
                    0 | 43 | 60 => {
                        let len = (usize::from(*pkt.get(at + 1)?) + 1) * 8;
                        next = *pkt.get(at)?;
                        at += len;
                    }
                    44 => {
                        let frag = be16(pkt, at + 2)?;
                        fragment = true;
                        first = frag & 0xfff8 == 0;
                        next = *pkt.get(at)?;
                        at += 8;
                    }
                    _ => break,
                }
            }
            Some(L3View { v6: true, src, dst, proto: next, l4: first.then_some(at), fragment })
        }
        _ => None,
    }
}

/// Is this ICMP (v4 or v6) type an error that quotes the offending packet?
fn icmp_is_error(v6: bool, icmp_type: u8) -> bool {
    if v6 { icmp_type < 128 } else { matches!(icmp_type, 3 | 4 | 5 | 11 | 12) }
}

/// The symmetric key of the flow `pkt` (a raw IPv4/IPv6 packet) belongs to, and the
/// expectation key it would match.
pub fn packet_keys(pkt: &[u8]) -> PacketKeys {
    let Some(l3) = parse_l3(pkt) else { return PacketKeys::default() };
    let bare = |l3: &L3View| {
        FlowKey::new(l3.v6, l3.proto, Endpoint { addr: l3.src, port: 0 }, Endpoint { addr: l3.dst, port: 0 })
    };
    if l3.fragment {
        return PacketKeys { flow: bare(&l3), expect: None };
    }
    let Some(l4) = l3.l4 else { return PacketKeys { flow: bare(&l3), expect: None } };
    let icmp = if l3.v6 { proto::ICMPV6 } else { proto::ICMP };
    if l3.proto == icmp {
        let Some(&icmp_type) = pkt.get(l4) else { return PacketKeys { flow: bare(&l3), expect: None } };
        if icmp_is_error(l3.v6, icmp_type) {
            // The quoted packet starts 8 bytes into the ICMP message.
            let inner = pkt.get(l4 + 8..).unwrap_or(&[]);
            let quoted = packet_keys(inner);
            if quoted.flow != FlowKey::default() && quoted.flow.v6 == l3.v6 {
                return PacketKeys { flow: quoted.flow, expect: None };
            }
            return PacketKeys { flow: bare(&l3), expect: None };
        }
        let id = be16(pkt, l4 + 4).unwrap_or(0);
        let flow = FlowKey::new(
            l3.v6,
            l3.proto,
            Endpoint { addr: l3.src, port: id },
            Endpoint { addr: l3.dst, port: id },
        );
        return PacketKeys { flow, expect: None };
    }
    if has_ports(l3.proto) {
        let (sport, dport) = (be16(pkt, l4).unwrap_or(0), be16(pkt, l4 + 2).unwrap_or(0));
        let flow = FlowKey::new(
            l3.v6,
            l3.proto,
            Endpoint { addr: l3.src, port: sport },
            Endpoint { addr: l3.dst, port: dport },
        );
        let expect = ExpectKey { v6: l3.v6, proto: l3.proto, src: l3.src, dst: l3.dst, dport };
        return PacketKeys { flow, expect: Some(expect) };
    }
    // An enhanced GRE (PPTP) packet is expected by its call ID, its tuple's destination key.
    let dport = if l3.proto == proto::GRE && be16(pkt, l4).is_some_and(|f| f & 7 == 1) {
        be16(pkt, l4 + 6).unwrap_or(0)
    } else {
        0
    };
    let expect = ExpectKey { v6: l3.v6, proto: l3.proto, src: l3.src, dst: l3.dst, dport };
    PacketKeys { flow: bare(&l3), expect: Some(expect) }
}

/// The destination address of a raw IP packet.
pub fn destination(pkt: &[u8]) -> Option<std::net::IpAddr> {
    match pkt.first()? >> 4 {
        4 => {
            let b = pkt.get(16..20)?;
            Some(std::net::IpAddr::from([b[0], b[1], b[2], b[3]]))
        }
        6 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(pkt.get(24..40)?);
            Some(std::net::IpAddr::from(a))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketBuilder;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn both_directions_of_a_flow_share_a_key_and_match_the_tuple_key() {
        let a = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).tcp(40000, 8080).build();
        let b = PacketBuilder::ipv4([10, 0, 2, 2], [10, 0, 1, 2]).tcp(8080, 40000).build();
        let (ka, kb) = (packet_keys(&a), packet_keys(&b));
        assert_eq!(ka.flow, kb.flow);
        let t = Tuple::ports(ip("10.0.2.2"), ip("10.0.1.2"), proto::TCP, 8080, 40000);
        assert_eq!(FlowKey::of_tuple(&t), ka.flow);
        assert_eq!(ka.expect.unwrap().dport, 8080);
        let other = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).tcp(40001, 8080).build();
        assert_ne!(packet_keys(&other).flow, ka.flow);
    }

    #[test]
    fn a_pptp_gre_packet_is_expected_by_its_call_id() {
        let gre =
            PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).gre_pptp(0x1234).payload(&[0xff, 3]).build();
        let expected = Tuple::gre(ip("10.0.1.2"), ip("10.0.2.2"), 0x99, 0x1234);
        assert_eq!(packet_keys(&gre).expect, Some(ExpectKey::of_tuple(&expected)));
        let back =
            PacketBuilder::ipv4([10, 0, 2, 2], [10, 0, 1, 2]).gre_pptp(0x99).payload(&[0xff, 3]).build();
        assert_eq!(packet_keys(&gre).flow, packet_keys(&back).flow, "both directions on one worker");
        let plain = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).gre(0x0800).build();
        assert_eq!(packet_keys(&plain).expect.map(|k| k.dport), Some(0));
    }

    #[test]
    fn icmp_echo_is_keyed_by_identifier_and_errors_by_the_quoted_packet() {
        let req = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).icmp_echo_request(7, 1).build();
        let t = Tuple::icmp(ip("10.0.1.2"), ip("10.0.2.2"), 8, 0, 7);
        assert_eq!(packet_keys(&req).flow, FlowKey::of_tuple(&t));
        let udp = PacketBuilder::ipv4([10, 0, 1, 2], [10, 0, 2, 2]).udp(5000, 53).payload(b"q").build();
        let icmp = PacketBuilder::ipv4([10, 0, 2, 2], [10, 0, 1, 2]).icmp_error(3, 3, &udp).build();
        assert_eq!(packet_keys(&icmp).flow, packet_keys(&udp).flow);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped_and_garbage_gets_a_key() {
        let p = PacketBuilder::ipv6(
            "fd00:1::2".parse::<std::net::Ipv6Addr>().unwrap(),
            "fd00:2::2".parse::<std::net::Ipv6Addr>().unwrap(),
        )
        .udp(1000, 2000)
        .build();
        let k = packet_keys(&p);
        assert_eq!((k.flow.proto, k.flow.lo.port.min(k.flow.hi.port)), (17, 1000));
        for junk in [&[][..], &[0x45], &[0x60, 0, 0], &[0xff; 64]] {
            let _ = packet_keys(junk);
        }
    }
}
