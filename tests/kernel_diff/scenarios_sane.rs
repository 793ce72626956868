//! SANE (network scanners) through the helper (`nf_conntrack_sane`): a client on tuna asks
//! a `saned` on tunb to start a scan (`SANE_NET_START`, RPC code 7), the server answers with
//! a status and a port, and the client opens the data connection to that port — let through
//! the forward chain only as RELATED. The requests and answers vary over what the helper
//! takes and passes over: another RPC code, a request of another length, a second request
//! before the answer, a failed status, a non-zero half-word before the port, an answer cut
//! short, two scans in a row (one expectation per connection: the older one goes); over
//! IPv4 and IPv6, directly or behind masquerade (SANE has no NAT helper: the data connection
//! is masqueraded as any new one). Now and then the client never connects, and the
//! expectation is compared as `conntrack -L expect` lists it.

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_nat::{MASQUERADE_TUNB, client, handshake, kind, related_only, server};

/// `saned`'s port.
const SANE_PORT: u16 = 6566;

/// A request: RPC code and a handle, with `extra` bytes after them.
fn request(code: u32, extra: usize) -> Vec<u8> {
    let mut r = code.to_be_bytes().to_vec();
    r.extend_from_slice(&1u32.to_be_bytes());
    r.resize(8 + extra, 0);
    r
}

/// A `SANE_NET_START` answer: status, a half-word, the port, then the byte order word and
/// an empty resource string, as `saned` sends it; cut to `len` bytes.
fn answer(status: u32, half: u16, port: u16, len: usize) -> Vec<u8> {
    let mut a = status.to_be_bytes().to_vec();
    a.extend_from_slice(&half.to_be_bytes());
    a.extend_from_slice(&port.to_be_bytes());
    a.extend_from_slice(&[0x00, 0x00, 0x12, 0x34, 0, 0, 0, 0]);
    a.truncate(len);
    a
}

pub fn sane(rng: &mut Rng, i: usize) -> Scenario {
    let masq = rng.below(3) == 0;
    let v6 = !masq && rng.below(3) == 0;
    let c = client(rng, v6);
    let s = server(rng, v6);
    let nat = if masq { MASQUERADE_TUNB } else { "" };
    let rules = related_only(("sane-6566", "sane"), "tcp", SANE_PORT, nat);
    let port = 1024 + rng.below(60000) as u16;
    let variant = rng.below(9);
    // What the client sends, one segment each, then what the server answers to each.
    let good = answer(0, 0, port, 16);
    let (requests, answers): (Vec<Vec<u8>>, Vec<Vec<u8>>) = match variant {
        0 => (vec![request(7, 0)], vec![good]),
        1 => (vec![request(2, 0)], vec![good]),
        2 => (vec![request(7, 4)], vec![good]),
        3 => (vec![request(7, 0)], vec![answer(4, 0, port, 16)]),
        4 => (vec![request(7, 0)], vec![answer(0, 1, port, 16)]),
        5 => (vec![request(7, 0)], vec![answer(0, 0, port, 7)]),
        6 => (vec![request(7, 0), request(10, 0)], vec![vec![0; 4], good]),
        7 => (vec![request(7, 0), request(7, 0)], vec![answer(0, 0, port ^ 1, 16), good]),
        _ => (vec![request(7, 0)], vec![answer(0, 0, port, 8)]),
    };
    let kind = kind(v6, masq);
    let mut sc = Scenario::new(format!("sane-{kind}-{variant}-{i}"), rules);
    let ca = SocketAddr::new(c, rng.port());
    let sa = SocketAddr::new(s, SANE_PORT);
    let (_, cs, ss) = handshake(&mut sc, rng, ca, sa);
    let (mut cseq, mut sseq) = (cs.wrapping_add(1), ss.wrapping_add(1));
    for (req, ans) in requests.iter().zip(&answers) {
        let asked = sc.send("tuna", tcp(ca, sa, ACK | PSH, cseq, sseq, req));
        cseq = cseq.wrapping_add(req.len() as u32);
        let (answer, seq, ack) = (ans.clone(), sseq, cseq);
        sc.send_from("tunb", asked, move |seen| tcp_reply(seen, ACK | PSH, seq, ack, &answer));
        sseq = sseq.wrapping_add(ans.len() as u32);
    }
    // The client connects to the port — or never does, and the expectation is still
    // pending at the end.
    if rng.below(4) == 0 {
        return sc;
    }
    let ds = rng.next_u64() as u32;
    let da = SocketAddr::new(c, rng.port());
    let data = sc.send("tuna", tcp(da, SocketAddr::new(s, port), SYN, ds, 0, b""));
    let ss2 = rng.next_u64() as u32;
    sc.reply_if_sent("tunb", data, move |seen| tcp_reply(seen, SYN | ACK, ss2, ds.wrapping_add(1), b""));
    sc
}
