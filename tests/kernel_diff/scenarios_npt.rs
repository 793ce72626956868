//! `-j SNPT` / `-j DNPT` (RFC 6296 prefix translation) as iptables-nft loads them, the
//! kernel's `ip6t_NPT`: tuna's network leaves through tunb under an outside prefix (SNPT in
//! mangle's POSTROUTING) and the replies come back to it (DNPT in PREROUTING), with prefixes
//! of different lengths on both sides. What the targets did shows in the forwarded bytes
//! (addresses, and transport checksums left as they were), in FORWARD's counters by address,
//! and in the ICMPv6 parameter problem the kernel sends about an address it cannot map (an
//! interface identifier of all ones under a prefix longer than /48).

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_xt_targets::{flow, host, save_file};

/// Prefixes of tuna's network (`fd00:1::/64` holds its hosts) and the outside prefixes they
/// map to.
const INSIDE: [&str; 4] = ["fd00:1::/64", "fd00:1::/48", "fd00:1::/56", "fd00::/32"];
const OUTSIDE: [&str; 5] =
    ["2001:db8:1::/48", "2001:db8:aa:bb::/64", "2001:db8:7:100::/56", "2001:db8::/32", "2001:db8:ffff::/48"];

/// SNPT out through tunb, DNPT back in from it, sometimes with rules in the way; FORWARD
/// counts by inside and outside addresses; flows both ways, some from hosts whose interface
/// identifier is all ones.
pub fn npt(rng: &mut Rng, i: usize) -> Scenario {
    let inside = *rng.pick(&INSIDE);
    let outside = *rng.pick(&OUTSIDE);
    let mut mangle = vec![
        format!("-A PREROUTING -i tunb -d {outside} -j DNPT --src-pfx {outside} --dst-pfx {inside}"),
        format!("-A POSTROUTING -s fd00:1::/64 -o tunb -j SNPT --src-pfx {inside} --dst-pfx {outside}"),
    ];
    if rng.chance(30) {
        // Translated twice: back to the inside prefix and out again (a mapping composes).
        mangle.push(format!(
            "-A POSTROUTING -s {outside} -o tunb -j SNPT --src-pfx {outside} --dst-pfx {inside}"
        ));
    }
    let forward = vec![
        format!("-A FORWARD -s {outside}"),
        format!("-A FORWARD -d {outside}"),
        "-A FORWARD -s fd00:1::/64".to_string(),
        "-A FORWARD -d fd00:1::/64".to_string(),
    ];
    let mut sc = Scenario::new(format!("npt-{i}"), save_file(true, &mangle, &forward));
    if rng.bool() {
        // A route for the outside prefix: the parameter problem about an unmappable address
        // (sent to that address as rewritten) has somewhere to go.
        sc.routes.push((outside.to_string(), "tunb"));
    }
    for _ in 0..4 + rng.below(4) {
        if rng.chance(25) {
            let c = SocketAddr::new(ip("fd00:1::ffff:ffff:ffff:ffff"), 40000 + rng.u16() % 1000);
            let s = SocketAddr::new(host(true, true, rng.below(3)), 443);
            let syn = sc.send("tuna", tcp(c, s, SYN, rng.u32(), 0, b""));
            sc.reply_if_sent("tunb", syn, |seen| tcp_reply(seen, SYN | ACK, 7, 1, b""));
        } else {
            flow(&mut sc, rng, true);
        }
    }
    sc
}
