//! PPTP through the helper (`nf_conntrack_pptp`): a client on tuna sets up a session and a
//! call with a server on tunb over the control connection (TCP 1723), and the call's
//! enhanced GRE then flows both ways; the forward chain lets GRE through only as RELATED or
//! ESTABLISHED. The scripts vary over what the kernel's helper takes and what it passes
//! over: an outgoing call, an incoming call, a session the server refuses, a call it
//! refuses, an answer naming another call ID, a message cut short, a wrong magic cookie,
//! GRE from the server first, a disconnect notice before more GRE, no GRE at all (the two
//! expectations compared as `conntrack -L expect` lists them), a second call on the same
//! control connection; and IPv6, for which the kernel has no PPTP helper. Half the IPv4
//! scripts run through masquerade (`nf_nat_pptp`): the client's call ID becomes the control
//! connection's translated port on the server's side, and the call's GRE is translated.

use std::net::SocketAddr;

use nftvm_runtime::packet::PacketBuilder;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_nat::{MASQUERADE_TUNB, client, handshake, related_only, server};

/// A PPTP control message of type `message`, its body `body` zero-padded to `len` bytes.
fn control(message: u16, body: &[u8], len: usize) -> Vec<u8> {
    let mut m = vec![0, 0, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d];
    m.extend_from_slice(&message.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    let mut b = body.to_vec();
    b.resize(len.max(body.len()), 0);
    m.extend_from_slice(&b);
    let total = m.len() as u16;
    m[..2].copy_from_slice(&total.to_be_bytes());
    m
}

/// The control connection's two ends (the client as the server sees it: `seen`) and their
/// next sequence numbers.
struct Control {
    ca: SocketAddr,
    sa: SocketAddr,
    seen: SocketAddr,
    cseq: u32,
    sseq: u32,
}

impl Control {
    /// A message from the client (`from_client`) or the server, acknowledging all the other
    /// side sent.
    fn send(&mut self, sc: &mut Scenario, from_client: bool, payload: &[u8]) {
        let len = payload.len() as u32;
        if from_client {
            sc.send("tuna", tcp(self.ca, self.sa, ACK | PSH, self.cseq, self.sseq, payload));
            self.cseq = self.cseq.wrapping_add(len);
        } else {
            sc.send("tunb", tcp(self.sa, self.seen, ACK | PSH, self.sseq, self.cseq, payload));
            self.sseq = self.sseq.wrapping_add(len);
        }
    }
}

fn be(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

pub fn pptp(rng: &mut Rng, i: usize) -> Scenario {
    let v6 = i % 8 == 7;
    let c = client(rng, v6);
    let s = server(rng, v6);
    let masq = !v6 && i % 2 == 1;
    let rules = related_only(("pptp-1723", "pptp"), "tcp", 1723, if masq { MASQUERADE_TUNB } else { "" });
    let variant = (i / 2) % 11;
    let kind = if v6 {
        "v6"
    } else if masq {
        "masquerade"
    } else {
        "direct"
    };
    let mut sc = Scenario::new(format!("pptp-{kind}-{variant}-{i}"), rules);
    let ca = SocketAddr::new(c, rng.port());
    let sa = SocketAddr::new(s, 1723);
    // Masquerade keeps a free source port: the server sees the router's address and it.
    let seen = if masq { SocketAddr::new(ip("10.0.2.1"), ca.port()) } else { ca };
    let (_, cs, ss) = handshake(&mut sc, rng, ca, sa);
    let mut ctl = Control { ca, sa, seen, cseq: cs.wrapping_add(1), sseq: ss.wrapping_add(1) };
    // Through masquerade the server knows the client's call ID as the translated port.
    let pns = rng.next_u64() as u16 | 1;
    let seen_pns = if masq { seen.port() } else { pns };
    let pac = rng.next_u64() as u16 | 0x100;
    let mut start = control(1, &[1, 0], 144);
    if variant == 6 {
        start[7] ^= 0x10; // not the magic cookie: the helper reads nothing
    }
    ctl.send(&mut sc, true, &start);
    let session_result = if variant == 2 { 2 } else { 1 };
    ctl.send(&mut sc, false, &control(2, &[1, 0, session_result], 144));
    if variant == 1 {
        // An incoming call: the server asks, the client accepts, the server connects it.
        ctl.send(&mut sc, false, &control(9, &be(pac), 208));
        ctl.send(&mut sc, true, &control(10, &[be(pns), be(pac), [1, 0]].concat(), 12));
        ctl.send(&mut sc, false, &control(11, &be(pns), 16));
    } else {
        let mut request = control(7, &be(pns), 156);
        if variant == 5 {
            request.truncate(request.len() - 1); // one byte short: not read
        }
        ctl.send(&mut sc, true, &request);
        let peer = if variant == 4 { seen_pns ^ 0x40 } else { seen_pns };
        let result = if variant == 3 { 3 } else { 1 };
        ctl.send(&mut sc, false, &control(8, &[be(pac), be(peer), [result, 0]].concat(), 20));
    }
    if variant == 10 {
        // A second call on the same control connection: its expectations go again (one
        // keymap per control connection), so its GRE is new and dropped.
        let pns2 = pns ^ 0x2000;
        let pac2 = pac ^ 0x2000;
        ctl.send(&mut sc, true, &control(7, &be(pns2), 156));
        let seen_pns2 = if masq { seen_pns } else { pns2 };
        ctl.send(&mut sc, false, &control(8, &[be(pac2), be(seen_pns2), [1, 0]].concat(), 20));
        sc.send("tuna", gre(ca, sa, pac2));
    }
    if variant == 9 {
        return sc; // the expectations stay pending
    }
    if variant == 8 {
        ctl.send(&mut sc, false, &control(13, &be(pac), 136));
    }
    // The client's GRE carries the server's call ID, the server's the client's.
    if variant == 7 {
        sc.send("tunb", gre(sa, seen, seen_pns));
        sc.send("tuna", gre(ca, sa, pac));
    } else {
        sc.send("tuna", gre(ca, sa, pac));
        sc.send("tunb", gre(sa, seen, seen_pns));
    }
    sc.send("tuna", gre(ca, sa, pac));
    if variant == 0 {
        // The server ends the call: its GRE connection goes, and the next packet is new.
        ctl.send(&mut sc, false, &control(13, &be(pac), 136));
        sc.send("tuna", gre(ca, sa, pac));
    }
    sc
}

/// An enhanced GRE (PPTP) packet with `call_id` and a PPP frame's first bytes.
fn gre(from: SocketAddr, to: SocketAddr, call_id: u16) -> Vec<u8> {
    PacketBuilder::ip(from.ip(), to.ip())
        .ident(0x0e0f)
        .gre_pptp(call_id)
        .payload(&[0xff, 0x03, 0xc0, 0x21])
        .build()
}
