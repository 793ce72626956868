//! Amanda backups through the helper (`nf_conntrack_amanda`, `nf_nat_amanda`): a backup
//! server on tuna asks a client's `amandad` on tunb (UDP port 10080) for a backup, the
//! client answers with the TCP ports it listens on (`CONNECT DATA p MESG q INDEX r`), and
//! the server connects to one of them — let through the forward chain only as RELATED. The
//! answers vary over what the kernel's search takes and passes over: the keywords in
//! another order, no line end, a number that reads as 0 (the search ends), six digits (five
//! are read), a number past 65535, text before `CONNECT`, a keyword after the line end; over
//! IPv4 and IPv6, directly or behind masquerade (the ports written into the answer, the
//! connection NATed like its master). Now and then the server never connects, and the
//! expectations are compared as `conntrack -L expect` lists them.

use std::net::SocketAddr;

use crate::harness::Scenario;
use crate::pkt::*;
use crate::scenarios_nat::{MASQUERADE_TUNB, client, kind, related_only, server};

/// `amandad`'s port.
const AMANDA_PORT: u16 = 10080;

/// The port after the first of `DATA `, `MESG `, `INDEX ` in an answer as it arrived.
fn first_port(payload: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(payload);
    ["DATA ", "MESG ", "INDEX "].iter().find_map(|k| {
        let at = text.find(k)? + k.len();
        let digits: String = text[at..].chars().take(5).take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok().map(|n| n as u16).filter(|p| *p != 0)
    })
}

pub fn amanda(rng: &mut Rng, i: usize) -> Scenario {
    let masq = rng.below(3) == 0;
    let v6 = !masq && rng.below(3) == 0;
    let backup = client(rng, v6);
    let host = server(rng, v6);
    let nat = if masq { MASQUERADE_TUNB } else { "" };
    let rules = related_only(("amanda", "amanda"), "udp", AMANDA_PORT, nat);
    let [p, q, r] = [0; 3].map(|_| 1024 + rng.below(60000) as u16);
    let variant = rng.below(9);
    let answer = match variant {
        0 => format!("CONNECT DATA {p} MESG {q} INDEX {r}\n"),
        1 => format!("CONNECT INDEX {r} DATA {p}\n"),
        2 => format!("CONNECT DATA {p} MESG {q} INDEX {r}"),
        3 => format!("CONNECT DATA x MESG {q}\n"),
        4 => format!("CONNECT MESG 0 DATA {p}\n"),
        5 => format!("CONNECT DATA {}9 MESG {q}\n", 10_000 + u32::from(p) % 50_000),
        6 => format!("CONNECT DATA {} MESG {q}\n", 65_536 + u32::from(p) % 30_000),
        7 => format!("OPTIONS features=ffff;\nCONNECT DATA {p} MESG {q} INDEX {r}\nOPTIONS ok\n"),
        _ => format!("CONNECT MESG {q}\nDATA {p}\n"),
    };
    let kind = kind(v6, masq);
    let mut sc = Scenario::new(format!("amanda-{kind}-{variant}-{i}"), rules);
    let from = SocketAddr::new(backup, 850 + rng.below(100) as u16);
    let ask = sc
        .send("tuna", udp(from, SocketAddr::new(host, AMANDA_PORT), b"Amanda 2.6 REQ HANDLE 000-1 SEQ 1\n"));
    let text = answer.into_bytes();
    let answered = sc.send_from("tunb", ask, move |seen| udp_reply(seen, &text));
    // The server connects to the first port of the answer as it arrived — or never does,
    // and the expectations are still pending at the end.
    if rng.below(4) == 0 {
        return sc;
    }
    let (ds, sport) = (rng.next_u64() as u32, rng.port());
    let syn = sc.send_from("tuna", answered, move |seen| {
        let (_, to) = endpoints(seen);
        let port = first_port(&udp_payload(seen)).unwrap_or(p);
        tcp(SocketAddr::new(to.ip(), sport), SocketAddr::new(host, port), SYN, ds, 0, b"")
    });
    let hs = rng.next_u64() as u32;
    sc.reply_if_sent("tunb", syn, move |seen| tcp_reply(seen, SYN | ACK, hs, ds.wrapping_add(1), b""));
    sc
}

/// The UDP payload of a datagram.
fn udp_payload(p: &[u8]) -> Vec<u8> {
    let th = if p[0] >> 4 == 4 { usize::from(p[0] & 0x0f) * 4 } else { 40 };
    p[th + 8..].to_vec()
}
