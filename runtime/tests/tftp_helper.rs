//! The TFTP helper: a read or write request expects the server's answer from a new port,
//! so that flow is RELATED; other opcodes and runt payloads expect nothing; with masquerade
//! the answer is NATed back to the client's own address and port. (The kernel
//! differential suite runs the same through Linux's `nf_conntrack_tftp`.)

#[path = "conntrack_support.rs"]
mod support;

use std::net::IpAddr;

use nftvm_runtime::conntrack::{Config, Conntrack, CtInfo, L4Payload, builder};
use nftvm_runtime::helper::Helper;
use nftvm_runtime::nat::{HeaderRewrite, Manip, NatAction, NatRange, Side};
use support::*;

const CLIENT: &str = "10.9.0.1";
const SERVER: &str = "10.9.1.2";
const ROUTER: &str = "10.9.1.1";

/// A request from CLIENT:3000 to SERVER:69 with the helper attached (masqueraded to
/// ROUTER when `masq`), confirmed with `payload`.
fn request(ct: &mut Conntrack, payload: &[u8], masq: bool) {
    let pkt = builder::udp(ip(CLIENT), ip(SERVER), 3000, 69, payload.len() as u32, at(1));
    let t = ct.track(&pkt).expect("tracked");
    let id = t.conn.expect("a connection");
    assert!(ct.set_helper(id, Helper::Tftp));
    if masq {
        let to: IpAddr = ip(ROUTER);
        ct.nat_setup(id, &NatRange::addr(to), Manip::Src).expect("snat");
    }
    for manip in [Manip::Dst, Manip::Src] {
        if ct.nat_needed(&t, manip) {
            ct.nat_null_binding(id, manip).expect("null binding");
        }
    }
    ct.finish(&t, Some(&L4Payload::Udp { payload, l3_len: 28 + payload.len() as u32 })).expect("confirmed");
}

/// The server's answer from port 4711 to CLIENT:3000: its ctinfo.
fn answer(ct: &mut Conntrack) -> CtInfo {
    let pkt = builder::udp(ip(SERVER), ip(CLIENT), 4711, 3000, 5, at(2));
    ct.track(&pkt).expect("tracked").info
}

#[test]
fn a_read_or_write_request_makes_the_answer_related() {
    for opcode in [1u8, 2] {
        let mut ct = Conntrack::new(Config::default());
        request(&mut ct, &[0, opcode, b'f', 0, b'o', 0], false);
        let exp: Vec<_> =
            ct.expectations().map(|e| (e.tuple.src_addr(), e.tuple.dst_addr(), e.tuple.dport())).collect();
        assert_eq!(exp, vec![(ip(SERVER), ip(CLIENT), 3000)], "opcode {opcode}");
        assert_eq!(answer(&mut ct), CtInfo::Related, "opcode {opcode}");
        // The expectation is used up: another port of the server is a new flow.
        let pkt = builder::udp(ip(SERVER), ip(CLIENT), 4712, 3000, 5, at(2));
        assert_eq!(ct.track(&pkt).expect("tracked").info, CtInfo::New);
    }
}

#[test]
fn other_opcodes_and_runts_expect_nothing() {
    for payload in [&[0u8, 3, 0, 1][..], &[0, 4, 0, 1], &[0, 5, 0, 0], &[0, 6], &[0], &[], &[1, 1]] {
        let mut ct = Conntrack::new(Config::default());
        request(&mut ct, payload, false);
        assert_eq!(ct.expectations().count(), 0, "{payload:?}");
        assert_eq!(answer(&mut ct), CtInfo::New, "{payload:?}");
    }
}

#[test]
fn behind_masquerade_the_answer_follows_the_request_back() {
    let mut ct = Conntrack::new(Config::default());
    request(&mut ct, &[0, 1, b'f', 0, b'o', 0], true);
    let port = ct.expectations().map(|e| e.tuple.dport()).next().expect("an expectation");
    let pkt = builder::udp(ip(SERVER), ip(ROUTER), 4711, port, 5, at(2));
    let t = ct.track(&pkt).expect("tracked");
    assert_eq!(t.info, CtInfo::Related);
    // Bound at once (the nat chains are skipped): to the client's own address and port.
    assert!(!ct.nat_needed(&t, Manip::Dst));
    assert_eq!(
        ct.nat_rewrite(&t, Manip::Dst),
        NatAction::Rewrite {
            outer: HeaderRewrite { side: Side::Dst, addr: ip(CLIENT), l4: Some(3000) },
            inner: None
        }
    );
    assert_eq!(ct.nat_rewrite(&t, Manip::Src), NatAction::None);
}
