//! IRC's DCC through the helper (`nf_conntrack_irc`, `nf_nat_irc`): a client on tuna talks
//! to an IRC server on tunb, offers a direct connection in a `PRIVMSG`, and a peer on
//! tunb's side connects to the address and port the offer names as the server received it
//! (rewritten to the public address behind masquerade). The forward chain lets that
//! connection through only as RELATED. The offers vary over what the kernel's search
//! takes and what it passes over: every kind of offer, blanks and line ends before the
//! command, the translated address, another host's address, port 0, a `NOTICE`, text
//! before the request, a refused offer followed by a good one, a number past 2^32, no line
//! end; and an IPv6 connection, for which the kernel has no IRC helper. Now and then the
//! peer never connects, and the expectation is compared as `conntrack -L expect` lists it.
//! (The router itself
//! accepts nothing: a peer connecting to the public address without an expectation is
//! dropped there.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::harness::{Packet, Scenario, Step};
use crate::pkt::*;
use crate::scenarios_nat::{MASQUERADE_TUNB, client, handshake, kind, related_only, server, tcp_parts};

/// The address and port of the last DCC offer in `payload` (kind, argument, address,
/// port), the address read modulo 2^32 as the kernel reads it.
fn offered(payload: &[u8]) -> Option<SocketAddr> {
    let text = String::from_utf8_lossy(payload);
    let at = text.rfind("\u{1}DCC ")?;
    let words: Vec<&str> = text[at + 5..].split(' ').filter(|w| !w.is_empty()).collect();
    let number = |w: &str| -> Option<u64> {
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let addr = number(words.get(2)?)? as u32;
    let port = number(words.get(3)?)? as u16;
    Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(addr)), port))
}

fn v4_number(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(_) => 0x0a00_0102,
    }
}

pub fn irc(rng: &mut Rng, i: usize) -> Scenario {
    let masq = rng.bool();
    let v6 = !masq && rng.below(4) == 0;
    let c = client(rng, v6);
    let s = server(rng, v6);
    let peer = if rng.bool() { s } else { server(rng, v6) };
    let nat = if masq { MASQUERADE_TUNB } else { "" };
    let rules = related_only(("irc-6667", "irc"), "tcp", 6667, nat);
    let own = v4_number(c);
    let public = v4_number(ip("10.0.2.1"));
    let other = own ^ 0x40;
    let port = 1024 + rng.below(60000) as u16;
    let variant = rng.below(11);
    let text = match variant {
        0 => format!("PRIVMSG bob :\u{1}DCC SEND notes.txt {own} {port} 1024\u{1}\r\n"),
        1 => format!("PRIVMSG bob :\u{1}DCC CHAT chat {own} {port}\u{1}\r\n"),
        2 => format!("\r\n  privmsg #chan :\u{1}DCC TSEND a.bin {own}   {port} 77\u{1}\r\n"),
        3 => format!("PRIVMSG bob :\u{1}DCC SCHAT chat {public} {port}\u{1}\r\n"),
        4 => format!("PRIVMSG bob :\u{1}DCC SEND f {other} {port} 1\u{1}\r\n"),
        5 => format!("PRIVMSG bob :\u{1}DCC SEND f {own} 0 1\u{1}\r\n"),
        6 => format!("NOTICE bob :\u{1}DCC SEND f {own} {port} 1\u{1}\r\n"),
        7 => format!("PRIVMSG bob :hey \u{1}DCC SEND f {own} {port} 1\u{1}\r\n"),
        8 => format!(
            "PRIVMSG bob :\u{1}DCC SEND f {other} {} 1\u{1} :\u{1}DCC MOVE g {own} {port} 2\u{1}\r\n",
            port ^ 1
        ),
        9 => format!("PRIVMSG bob :\u{1}DCC SEND f {} {port} 1\u{1}\r\n", own + (1 << 32)),
        _ => format!("PRIVMSG bob :\u{1}DCC SEND f {own} {port} 1\u{1}"),
    };
    let kind = kind(v6, masq);
    let mut sc = Scenario::new(format!("irc-{kind}-{variant}-{i}"), rules);
    let ca = SocketAddr::new(c, rng.port());
    let sa = SocketAddr::new(s, 6667);
    let (_, cs, ss) = handshake(&mut sc, rng, ca, sa);
    let cseq = cs.wrapping_add(1);
    let sseq = ss.wrapping_add(1);
    let offer = sc.send("tuna", tcp(ca, sa, ACK | PSH, cseq, sseq, text.as_bytes()));
    // The server acknowledges what it received (the rewritten text's length).
    sc.send_from("tunb", offer, move |seen| {
        let (seq, _, payload) = tcp_parts(seen);
        tcp_reply(seen, ACK, sseq, seq.wrapping_add(payload.len() as u32), b"")
    });
    // The peer connects where the offer (as the server got it) says — or never does, and
    // the expectation is still pending at the end.
    if rng.below(4) == 0 {
        return sc;
    }
    let fallback = SocketAddr::new(c, port);
    let ps = rng.next_u64() as u32;
    let pport = rng.port();
    let dcc = sc.steps.len();
    sc.steps.push(Step {
        iface: "tunb",
        packet: Packet::From {
            step: offer,
            index: 0,
            make: Box::new(move |seen| {
                let (_, _, payload) = tcp_parts(seen);
                let to = offered(&payload).filter(|_| !v6).unwrap_or(fallback);
                tcp(SocketAddr::new(peer, pport), to, SYN, ps, 0, b"")
            }),
            optional: true,
        },
    });
    let cs2 = rng.next_u64() as u32;
    sc.reply_if_sent("tuna", dcc, move |seen| tcp_reply(seen, SYN | ACK, cs2, ps.wrapping_add(1), b""));
    // More of the conversation after a length change: sequence numbers stay adjusted.
    let more = b"PRIVMSG bob :sent\r\n";
    let next = cseq.wrapping_add(text.len() as u32);
    let later = sc.send("tuna", tcp(ca, sa, ACK | PSH, next, sseq, more));
    sc.send_from("tunb", later, move |seen| {
        let (seq, _, payload) = tcp_parts(seen);
        tcp_reply(seen, ACK, sseq, seq.wrapping_add(payload.len() as u32), b"")
    });
    sc
}
