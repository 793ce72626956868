//! The Amanda helper (`nf_conntrack_amanda.c` with `nf_nat_amanda.c`): the Amanda backup
//! server asks a client's `amandad` (UDP port 10080) for a backup, and the client answers
//! with the TCP ports it listens on for the server: `CONNECT DATA 50001 MESG 50002 INDEX
//! 50003\n`. The helper reads the answers (the master's reply direction only), and for each
//! of `DATA `, `MESG `, `INDEX ` (in that order, each searched for between `CONNECT ` and the
//! next line end) expects a TCP connection from the server to the client on that port, any
//! source port. Each answer keeps the master alive for 300 s (answers can be slow).
//!
//! The kernel's quirks, kept: at most five characters after a keyword are read as a decimal
//! number, taken modulo 2^16; a number that reads as 0 (no digits) ends the search, keeping
//! the expectations made before it; a keyword is looked for once, from `CONNECT ` on. With
//! NAT on an IPv4 master each port is expected where the router can (the same one, else a
//! random one above it) and written into the answer, whose length may change (the UDP and
//! IP lengths and checksums follow; an IPv4 UDP checksum of zero stays zero); the expected
//! connection is NATed like its master, towards the client's own address and port. The
//! span searched is measured before the first rewrite, as the kernel measures it.

use nftvm_vm::keys::ct_status as st;

use super::Helper;
use super::mangle::{Mangled, mangle};
use crate::conntrack::Conntrack;
use crate::conntrack::config::secs;
use crate::conntrack::entry::ConnId;
use crate::conntrack::expect::{ExpectNat, Expectation};
use crate::conntrack::packet::Time;
use crate::conntrack::tuple::{L3, Tuple, proto};

/// How long an answer keeps the master alive (`master_timeout`), in seconds.
const MASTER_TIMEOUT: u32 = 300;
/// The keywords naming ports, in the order they are looked for.
const KEYWORDS: [&[u8]; 3] = [b"DATA ", b"MESG ", b"INDEX "];
/// Characters read after a keyword (`sizeof("65535") - 1`).
const NUMBER_MAX: usize = 5;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `simple_strtoul` in base 10 over at most [`NUMBER_MAX`] characters: the number (modulo
/// 2^16, as `htons` takes it) and how many digits it read.
fn number(text: &[u8]) -> (u16, usize) {
    let digits = text.iter().take(NUMBER_MAX).take_while(|b| b.is_ascii_digit()).count();
    let value = text[..digits].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    (value as u16, digits)
}

/// The span of the answer the keywords are searched in: from after `CONNECT ` to the next
/// line end (exclusive), or None.
fn connect_span(payload: &[u8]) -> Option<(usize, usize)> {
    let start = find(payload, b"CONNECT ")? + b"CONNECT ".len();
    let stop = start + find(&payload[start..], b"\n")?;
    Some((start, stop))
}

/// One port an answer names: where its digits are, and the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announced {
    pub offset: usize,
    pub len: usize,
    pub port: u16,
}

/// The next announced port in `payload` for keyword `k`, searched in `start..stop`: None
/// when the keyword is not there, `Some(None)` when its number reads as 0 (the search
/// ends).
fn announced(payload: &[u8], (start, stop): (usize, usize), k: &[u8]) -> Option<Option<Announced>> {
    let span = payload.get(start..stop.min(payload.len()))?;
    let offset = start + find(span, k)? + k.len();
    let (port, len) = number(&payload[offset..stop.min(payload.len()).max(offset)]);
    Some((port != 0).then_some(Announced { offset, len, port }))
}

impl Conntrack {
    /// The Amanda helper on one UDP payload in direction `dir` of connection `id`, at the
    /// confirm point: the answer as rewritten under NAT, if it was; `Err(())` when the
    /// packet is dropped (an expectation that cannot be registered, no port to expect, or
    /// a rewrite that does not fit), as Linux does.
    pub(crate) fn amanda_help(
        &mut self,
        id: ConnId,
        dir: usize,
        payload: &[u8],
        l3_len: u32,
        now: Time,
    ) -> Result<Option<Mangled>, ()> {
        // Only the client's answers.
        if dir == 0 {
            return Ok(None);
        }
        let Some(c) = self.get_mut(id) else { return Ok(None) };
        if c.status & st::FIXED_TIMEOUT == 0 {
            c.timeout = now.saturating_add(secs(MASTER_TIMEOUT));
        }
        if payload.is_empty() {
            return Ok(None);
        }
        let original = c.tuple[0];
        let zone = c.zone;
        let nat = original.l3 == L3::Ipv4 && c.status & (st::SRC_NAT | st::DST_NAT) != 0;
        let Some(span) = connect_span(payload) else { return Ok(None) };
        let mut text = payload.to_vec();
        // Without NAT a failed expectation drops the packet whatever follows; with NAT the
        // last port's outcome decides (the kernel's `ret` is overwritten each time).
        let (mut dropped, mut rewritten, mut delta) = (false, false, 0);
        for k in KEYWORDS {
            let Some(found) = announced(&text, span, k) else { continue };
            let Some(a) = found else { break };
            let mut exp = Expectation {
                // From the server to the client as the server addressed it, on the port.
                tuple: Tuple { src_id: 0, dst_id: a.port, proto: proto::TCP, ..original },
                exact_src_id: false,
                any_src: false,
                zone,
                master: id,
                timeout: now.saturating_add(secs(Helper::Amanda.expect_timeout())),
                nat: None,
                serial: 0,
            };
            if !nat {
                dropped |= self.expect_related(exp, now).is_err();
                continue;
            }
            exp.nat = Some(ExpectNat { dir: 0, saved_port: a.port });
            let Some(port) = self.expect_find_port(&mut exp, a.port, now) else {
                dropped = true;
                continue;
            };
            let with = port.to_string();
            let l3 = u32::try_from(i64::from(l3_len) + i64::from(delta)).unwrap_or(u32::MAX);
            let Some(m) = mangle(&text, a.offset, a.len, with.as_bytes(), l3) else {
                self.expect.remove(&exp);
                dropped = true;
                continue;
            };
            delta += m.delta;
            text = m.payload;
            (dropped, rewritten) = (false, true);
        }
        if dropped {
            return Err(());
        }
        Ok(rewritten.then_some(Mangled { payload: text, delta }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(payload: &[u8]) -> Vec<Option<u16>> {
        let Some(span) = connect_span(payload) else { return Vec::new() };
        let mut out = Vec::new();
        for k in KEYWORDS {
            match announced(payload, span, k) {
                None => continue,
                Some(None) => {
                    out.push(None);
                    break;
                }
                Some(Some(a)) => out.push(Some(a.port)),
            }
        }
        out
    }

    #[test]
    fn the_answer_names_its_ports_in_keyword_order() {
        assert_eq!(
            ports(b"CONNECT DATA 50001 MESG 50002 INDEX 50003\n"),
            [Some(50001), Some(50002), Some(50003)]
        );
        assert_eq!(ports(b"x CONNECT INDEX 7 DATA 8\nDATA 9\n"), [Some(8), Some(7)]);
        assert_eq!(ports(b"CONNECT DATA 50001 MESG 50002"), Vec::<Option<u16>>::new(), "no line end");
        assert_eq!(ports(b"DATA 50001\n"), Vec::<Option<u16>>::new(), "no CONNECT");
    }

    #[test]
    fn numbers_read_as_the_kernel_reads_them() {
        // Five characters at most, modulo 2^16; no digits reads as 0 and ends the search.
        assert_eq!(ports(b"CONNECT DATA 123456 MESG 1\n"), [Some(12345), Some(1)]);
        assert_eq!(ports(b"CONNECT DATA 70000\n"), [Some(4464)]);
        assert_eq!(ports(b"CONNECT DATA x MESG 5\n"), [None]);
        assert_eq!(ports(b"CONNECT MESG 0 DATA 5\n"), [Some(5), None]);
        assert_eq!(number(b"65535\n"), (65535, 5));
    }
}
