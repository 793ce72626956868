//! The IRC helper (`nf_conntrack_irc.c` with `nf_nat_irc.c`), for IPv4 only, as the kernel
//! registers it.
//!
//! An IRC client offers a direct connection to another user (DCC) by sending, through the
//! server, a CTCP message naming its own address as one decimal number and a port:
//! `PRIVMSG bob :\x01DCC SEND notes.txt 3221226036 5000 1024\x01`. The peer then connects to
//! that address and port from wherever it is. The helper reads the client's segments
//! (original direction) once traffic has flowed both ways, and expects a TCP connection
//! from any host to the client's address as the server sees it, on the offered port, so
//! that connection is RELATED. With NAT on the IRC connection, the address and port in the
//! text are rewritten to the public address and a port the router could expect (the text
//! may change length; sequence numbers are then adjusted), and the expected connection is
//! NATed back to the client like its master.
//!
//! The search is the kernel's (Linux 6.18 with the 2026 fix that stops at the first offer,
//! upstream commit 66eba0ffce3b), quirks included: only the first 4095 bytes of a segment
//! are read; after leading blanks and line ends the segment must start with `PRIVMSG ` (any
//! case); the message after the first ` :` must be `\x01DCC ` or the segment is given up
//! on; a DCC request of another kind (`\x01DCC VERSION`) moves the search on to the next
//! ` :`; the first offer of a known kind is the only one looked at — one that does not
//! parse, names neither the client's own nor its translated address, or port 0, ends the
//! search.

use nftvm_vm::keys::ct_status as st;

use super::Helper;
use super::mangle::{Mangled, Rewrite};
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::confirm::Segment;
use crate::conntrack::ctinfo::CtInfo;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::{ExpectNat, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::{L3, Tuple, proto};

/// Bytes of a segment the helper reads (`MAX_SEARCH_SIZE`).
const MAX_SEARCH: usize = 4095;
/// The kinds of offer, in the order they are tried.
const KINDS: [&[u8]; 5] = [b"SEND ", b"CHAT ", b"MOVE ", b"TSEND ", b"SCHAT "];

/// An offer found in a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DccOffer {
    /// The address, as the number in the text (modulo 2^32, as the kernel reads it).
    pub addr: u32,
    /// The port (modulo 2^16).
    pub port: u16,
    /// Where the address-and-port text starts in the payload, and its length (what NAT
    /// replaces).
    pub offset: usize,
    pub len: usize,
}

/// The first offer in `payload` that `valid` accepts (given its address and port), if any.
pub fn find_offer(payload: &[u8], valid: impl Fn(u32, u16) -> bool) -> Option<DccOffer> {
    let limit = payload.len().min(MAX_SEARCH);
    let mut at = 0;
    while at + 10 < limit && matches!(payload[at], b' ' | b'\r' | b'\n') {
        at += 1;
    }
    if at + 10 < limit {
        if !payload[at..at + 8].eq_ignore_ascii_case(b"PRIVMSG ") {
            return None;
        }
        at += 8;
    }
    // At least 26 bytes must be left: ` :\x01DCC SEND t AAAAAAAA P\x01\n` at the shortest.
    while at + 26 < limit {
        if &payload[at..at + 2] != b" :" {
            at += 1;
            continue;
        }
        at += 2;
        if &payload[at..at + 5] != b"\x01DCC " {
            return None;
        }
        at += 5;
        // A request of none of the kinds: on to the next message. Of one of them: that
        // offer is the answer, taken or refused.
        if let Some(kind) = KINDS.iter().find(|k| payload[at..].starts_with(k)) {
            let offer = parse_offer(payload, at + kind.len(), limit)?;
            return valid(offer.addr, offer.port).then_some(offer);
        }
    }
    None
}

/// `parse_dcc`: after the offer's kind, skip its first word (a file name, `chat`), then
/// read `ADDRESS PORT` — only when a line end follows within the bytes searched (`limit`;
/// the kernel also looks at the byte just past them, which here counts only when the
/// payload has one).
fn parse_offer(payload: &[u8], mut at: usize, limit: usize) -> Option<DccOffer> {
    loop {
        let c = *payload.get(at)?;
        at += 1;
        if c == b' ' {
            break;
        }
        if at + 12 > limit {
            return None;
        }
    }
    (at..=limit).find(|&i| payload.get(i) == Some(&b'\n'))?;
    let offset = at;
    let (addr, mut at) = decimal(payload, at);
    while payload.get(at) == Some(&b' ') {
        if at >= limit {
            return None;
        }
        at += 1;
    }
    let (port, end) = decimal(payload, at);
    Some(DccOffer { addr: addr as u32, port: port as u16, offset, len: end - offset })
}

/// `simple_strtoul(…, 10)`: the decimal digits from `at` (none: 0), wrapping like the
/// kernel's 64-bit arithmetic, and the index after them.
fn decimal(payload: &[u8], mut at: usize) -> (u64, usize) {
    let mut value = 0u64;
    while let Some(&c) = payload.get(at).filter(|c| c.is_ascii_digit()) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        at += 1;
    }
    (value, at)
}

impl Conntrack {
    /// The IRC helper on one packet of direction `dir` at the confirm point.
    /// `Ok(Some(..))`: replace the payload; `Err(())`: drop the packet.
    pub(crate) fn irc_help(
        &mut self,
        id: ConnId,
        dir: usize,
        info: CtInfo,
        seg: &Segment<'_>,
        now: Time,
    ) -> Result<Option<Mangled>, ()> {
        // Only the client's segments, and only once there has been traffic both ways.
        if dir != 0 || info != CtInfo::Established || seg.payload.is_empty() {
            return Ok(None);
        }
        let Some(c) = self.get(id) else { return Ok(None) };
        let (original, reply) = (c.tuple[0], c.tuple[1]);
        if original.l3 != L3::Ipv4 {
            return Ok(None);
        }
        // The offer may name the client's own address or the one NAT gave it.
        let (own, translated) = (original.src as u32, reply.dst as u32);
        let valid = |addr: u32, port: u16| port != 0 && (addr == own || addr == translated);
        let Some(offer) = find_offer(seg.payload, valid) else { return Ok(None) };
        let mut exp = Expectation {
            // From anyone to the client as the server sees it, any source port.
            tuple: Tuple { src: 0, src_id: 0, dst_id: offer.port, proto: proto::TCP, ..reply },
            exact_src_id: false,
            any_src: true,
            zone: c.zone,
            master: id,
            timeout: now.saturating_add(secs(Helper::Irc.expect_timeout())),
            nat: None,
            serial: 0,
        };
        if c.status & (st::SRC_NAT | st::DST_NAT) == 0 {
            return self.expect_related(exp, now).map(|()| None).map_err(|_| ());
        }
        exp.nat = Some(ExpectNat { dir: 1, saved_port: offer.port });
        let port = self.expect_find_port(&mut exp, offer.port, now).ok_or(())?;
        let text = format!("{} {}", reply.dst as u32, port);
        self.mangle_tcp(
            id,
            dir,
            seg,
            Rewrite { offset: offer.offset, len: offer.len, with: text.as_bytes() },
            &exp,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: u32 = 0x0a00_0102; // 10.0.1.2

    fn offer(text: &[u8]) -> Option<DccOffer> {
        find_offer(text, |addr, port| port != 0 && addr == CLIENT)
    }

    #[test]
    fn send_offer() {
        let p = b"PRIVMSG bob :\x01DCC SEND notes.txt 167772418 5000 1024\x01\r\n";
        let o = offer(p).unwrap();
        assert_eq!((o.addr, o.port), (CLIENT, 5000));
        assert_eq!(&p[o.offset..o.offset + o.len], b"167772418 5000");
        // Leading line ends and blanks are skipped; PRIVMSG in any case.
        assert!(offer(b"\r\n  privmsg bob :\x01DCC CHAT chat 167772418 5001\x01\n").is_some());
        // Every kind of offer.
        for kind in ["SEND f", "CHAT chat", "MOVE f", "TSEND f", "SCHAT chat"] {
            let text = format!("PRIVMSG bob :\x01DCC {kind} 167772418 5000 9\x01\n");
            assert!(offer(text.as_bytes()).is_some(), "{kind}");
        }
    }

    #[test]
    fn what_the_kernel_passes_over() {
        // Not a PRIVMSG.
        assert_eq!(offer(b"NOTICE bob :\x01DCC SEND notes.txt 167772418 5000 1024\x01\r\n"), None);
        // The message does not start with the DCC request: the segment is given up on.
        assert_eq!(offer(b"PRIVMSG bob :hi \x01DCC SEND notes.txt 167772418 5000 1024\x01\r\n"), None);
        // No line end after the offer.
        assert_eq!(offer(b"PRIVMSG bob :\x01DCC SEND notes.txt 167772418 5000 1024\x01"), None);
        // Another host's address, or port 0.
        assert_eq!(offer(b"PRIVMSG bob :\x01DCC SEND notes.txt 167772419 5000 1024\x01\r\n"), None);
        assert_eq!(offer(b"PRIVMSG bob :\x01DCC SEND notes.txt 167772418 0 1024\x01\r\n"), None);
        // Lower-case kinds are not offers.
        assert_eq!(offer(b"PRIVMSG bob :\x01DCC send notes.txt 167772418 5000 1024\x01\r\n"), None);
        // Too short to hold one.
        assert_eq!(offer(b"PRIVMSG b :\x01DCC SEND f 1 1\x01\n"), None);
    }

    #[test]
    fn numbers_wrap_as_the_kernel_reads_them() {
        // 2^32 + CLIENT is CLIENT; port 70536 is 5000.
        let p = b"PRIVMSG bob :\x01DCC SEND f 4462739714 70536 1\x01\r\n";
        assert_eq!(offer(p).map(|o| (o.addr, o.port)), Some((CLIENT, 5000)));
    }

    #[test]
    fn the_first_offer_is_the_only_one_looked_at() {
        // A refused offer ends the search, even with a good one after it.
        let p = b"PRIVMSG bob :\x01DCC SEND f 167772419 5000 1\x01 :\x01DCC CHAT chat 167772418 6000\x01\r\n";
        assert_eq!(offer(p), None);
        // A request of another kind moves the search on to the next message.
        let q = b"PRIVMSG bob :\x01DCC RESUME f 5000 1\x01 :\x01DCC CHAT chat 167772418 6000\x01\r\n";
        assert_eq!(offer(q).map(|o| o.port), Some(6000));
    }

    #[test]
    fn only_the_first_4095_bytes_are_searched() {
        // A long target name: the message starts far into the segment.
        let at = |start: usize| {
            let mut p = b"PRIVMSG ".to_vec();
            p.resize(start, b'x');
            p.extend_from_slice(b" :\x01DCC SEND f 167772418 5000 1\x01\r\n");
            p
        };
        // The offer's line end must be within the 4095 bytes, or just past them (the one
        // byte the kernel reads beyond its search).
        assert!(offer(&at(4063)).is_some());
        assert_eq!(offer(&at(4064)), None);
    }
}
