//! `match name ipv6header` — ip6tables' `-m ipv6header`, run as iptables-nft runs it: the
//! kernel's match (`ip6t_ipv6header`). It walks the packet's extension headers and
//! compares the set found (hop-by-hop, destination options, routing, fragment, AH, ESP,
//! "no next header", and "a protocol follows") with the rule's: all and only these, or
//! with `--soft` at least these; `!` inverts. A chain cut short or running past the packet
//! drops the packet (the kernel's hotdrop).

use crate::interp::Eval;
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verdict::Verdict;
use crate::verify::Check;
use std::fmt::Write;

/// One `-m ipv6header` match (the kernel's `ip6t_ipv6header_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ipv6Header {
    /// Headers: 0x80 hop-by-hop, 0x40 destination options, 0x20 routing, 0x10 fragment,
    /// 0x08 AH, 0x04 ESP, 0x02 none, 0x01 protocol.
    pub headers: u8,
    /// 0xff when inverted.
    pub invert: u8,
    /// `--soft`.
    pub soft: bool,
}

/// The header's bit, for the headers the walk steps through.
fn bit(next: u8) -> Option<u8> {
    Some(match next {
        0 => 0x80,
        60 => 0x40,
        43 => 0x20,
        44 => 0x10,
        51 => 0x08,
        _ => return None,
    })
}

/// The headers `bytes` (an IPv6 packet) carries, or `None` when its chain is cut short.
fn headers_of(bytes: &[u8]) -> Option<u8> {
    let mut next = *bytes.get(6)?;
    let mut at = 40usize;
    let mut left = bytes.len() as isize - 40;
    let mut found = 0u8;
    while matches!(next, 0 | 43 | 44 | 50 | 51 | 59 | 60) {
        if next == 59 {
            found |= 0x02;
            break;
        }
        if left < 2 {
            return None;
        }
        if next == 50 {
            found |= 0x04;
            break;
        }
        let (hdr_next, hdr_len) = (*bytes.get(at)?, *bytes.get(at + 1)?);
        let len = match next {
            44 => 8,
            51 => (usize::from(hdr_len) + 2) << 2,
            _ => (usize::from(hdr_len) + 1) << 3,
        };
        found |= bit(next)?;
        next = hdr_next;
        left -= len as isize;
        at += len;
        if at > bytes.len() {
            return None;
        }
    }
    if next != 59 && next != 50 {
        found |= 0x01;
    }
    Some(found)
}

impl Ipv6Header {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ =
            write!(o, "name ipv6header rev 0 headers 0x{:02x} invert 0x{:02x}", self.headers, self.invert);
        if self.soft {
            o.push_str(" soft");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Ipv6Header> {
        c.expect_all(&["name", "ipv6header", "rev", "0", "headers"])?;
        let headers = c.hex()? as u8;
        c.expect("invert")?;
        let invert = c.hex()? as u8;
        Ok(Ipv6Header { headers, invert, soft: c.eat("soft") })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if e.pkt.nfproto != Family::Ip6 {
            return e.brk();
        }
        let bytes = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        let Some(found) = headers_of(bytes) else {
            e.regs.verdict = Verdict::Drop;
            return;
        };
        let holds = if self.soft {
            (found ^ self.headers ^ self.invert) & self.headers == 0
        } else if self.invert != 0 {
            found != self.headers
        } else {
            found == self.headers
        };
        if !holds {
            e.brk();
        }
    }
}
