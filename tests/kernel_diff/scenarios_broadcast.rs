//! The helpers that act only on the host's own broadcast queries — NetBIOS name service
//! (`nf_conntrack_netbios_ns`, UDP 137), SNMP (`nf_conntrack_snmp`, UDP 161) — and SNMP's
//! trap helper (`nf_nat_snmp_basic`, UDP 162), set on forwarded connections: the kernel
//! attaches them (`ct helper "netbios-ns"` matches, `conntrack -L` shows `helper=`) and they
//! announce nothing, so an answer from another host of the server's subnet is a new
//! connection, not a RELATED one. Over IPv4 and IPv6 (the inet object holds no IPv6 helper:
//! an IPv6 connection gets none), NetBIOS also behind masquerade (SNMP's helpers rewrite
//! the messages of NATed connections, which nftvm does not).

use std::net::{IpAddr, SocketAddr};

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_nat::{MASQUERADE_TUNB, client, helper_filter, kind, server};

/// An SNMPv1 `GetRequest` for sysDescr.0 with community `public`.
const SNMP_GET: &[u8] = &[
    0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x19, 0x02, 0x01,
    0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02,
    0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
];
/// A NetBIOS name query (`*SMBSERVER`, encoded).
const NBNS_QUERY: &[u8] = b"\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20CKFDENECFDEFFCFGEFFCCACACACACACA\x00\x00\x20\x00\x01";

pub fn broadcast(rng: &mut Rng, i: usize) -> Scenario {
    let (helper, port) = *rng.pick(&[("netbios-ns", 137u16), ("snmp", 161), ("snmp_trap", 162)]);
    let masq = helper == "netbios-ns" && rng.below(3) == 0;
    let v6 = !masq && rng.below(4) == 0;
    let (c, s) = (client(rng, v6), server(rng, v6));
    let neighbour = match s {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) ^ 1).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) ^ 1).into()),
    };
    let nat = if masq { MASQUERADE_TUNB } else { "" };
    let forward = format!(
        "ct helper \"{helper}\" counter\n        ct state established counter accept\n        \
         udp dport {port} ct state new counter accept\n        ct state new counter"
    );
    let rules = helper_filter(("bcast", helper), "udp", port, &forward, "", nat);
    let mut sc = Scenario::new(format!("broadcast-{helper}-{}-{i}", kind(v6, masq)), rules);
    let payload = if helper == "netbios-ns" { NBNS_QUERY } else { SNMP_GET };
    let from = SocketAddr::new(c, rng.port());
    let ask = sc.send("tuna", udp(from, SocketAddr::new(s, port), payload));
    sc.send_from("tunb", ask, |seen| udp_reply(seen, b"\x12\x34\x85\x00answer"));
    // Another host of the server's subnet answers too, as hosts answer a broadcast query:
    // nothing expected it.
    sc.send_from("tunb", ask, move |seen| {
        let (to, _) = endpoints(seen);
        udp(SocketAddr::new(neighbour, port), to, b"\x12\x34\x85\x00elsewhere")
    });
    if rng.bool() {
        sc.send("tuna", udp(from, SocketAddr::new(s, port), payload));
    }
    sc
}
