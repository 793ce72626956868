//! `match name dccp rev 0` — iptables' `-m dccp` with `--dccp-option`, run as iptables-nft
//! runs it: the kernel's match (`xt_dccp`). nft's `dccp sport`/`dport`/`type` say the rest,
//! but no nft expression looks for a DCCP option. Source and destination port ranges, the
//! packet type (one bit per type) and an option type, each perhaps inverted. The options
//! follow the generic header (12 bytes, 16 with extended sequence numbers) and the type's
//! own fields, up to the data offset; the walk is the kernel's, which takes only types 0
//! and 1 as single bytes (every other type is followed by its length, 0 counting as 1).
//! A packet whose generic header, or whose options, the packet does not hold, or whose data
//! offset ends before its headers do, is dropped (the kernel's hotdrop). Non-first fragments
//! never match.

use super::sctpmatch::port_range;
use super::xt::Tests;
use super::xt::on_transport;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `XT_DCCP_*`: the tests the match makes (bits of its [`Tests`]).
pub mod test_bits {
    pub const SPORT: u16 = 0x01;
    pub const DPORT: u16 = 0x02;
    pub const TYPE: u16 = 0x04;
    pub const OPTION: u16 = 0x08;
    /// Every test.
    pub const ALL: u16 = 0x0f;
}

/// One `-m dccp` match (the kernel's `xt_dccp_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DccpMatch {
    pub sport: (u16, u16),
    pub dport: (u16, u16),
    /// Bit `t`: packet type `t`.
    pub types: u16,
    pub option: u8,
    pub tests: Tests,
}

/// The length of the headers before the options: the generic header, its extension, and
/// the fields of packet type `kind` (`__dccp_hdr_len`).
fn headers_len(kind: u8, extended: bool) -> usize {
    let own = match kind {
        2 => 0,                     // Data
        3 | 4 | 5 | 6 | 8 | 9 => 8, // Ack, DataAck, CloseReq, Close, Sync, SyncAck
        0 => 4,                     // Request
        _ => 12,                    // Response, Reset and the rest
    };
    12 + if extended { 4 } else { 0 } + own
}

/// Is option `option` among the options of the DCCP packet `dccp` (from its header)?
/// `None`: the packet is dropped.
fn has_option(dccp: &[u8], option: u8) -> Option<bool> {
    let header = dccp.get(..12)?;
    let hdr_len = headers_len((header[8] >> 1) & 0x0f, header[8] & 1 != 0);
    let doff = usize::from(header[4]) * 4;
    let optlen = doff.checked_sub(hdr_len)?;
    if optlen == 0 {
        return Some(false);
    }
    let ops = dccp.get(hdr_len..doff)?;
    let mut i = 0;
    while let Some(&op) = ops.get(i) {
        if op == option {
            return Some(true);
        }
        // (Past the options the length does not matter: any step ends the walk.)
        i += if op < 2 { 1 } else { usize::from(ops.get(i + 1).copied().unwrap_or(1)).max(1) };
    }
    Some(false)
}

impl DccpMatch {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name dccp rev 0 sport {}-{} dport {}-{} types 0x{:04x} option {} ",
            self.sport.0, self.sport.1, self.dport.0, self.dport.1, self.types, self.option
        );
        self.tests.print(o, 2);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<DccpMatch> {
        c.expect_all(&["name", "dccp", "rev", "0", "sport"])?;
        let sport = port_range(c.next()?)?;
        c.expect("dport")?;
        let dport = port_range(c.next()?)?;
        c.expect("types")?;
        let types = u16::try_from(c.hex()?).map_err(|_| "dccp: types above 16 bits".to_string())?;
        let option = c.keyed_num::<u8>("option")?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        Ok(DccpMatch { sport, dport, types, option, tests })
    }

    /// `dccp_mt_check`: no inversion of a test the match does not make.
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.tests.inverted & !self.tests.made != 0 {
            return Err("dccp: an inverted test it does not make".into());
        }
        Ok(())
    }

    /// The answer for a DCCP header `dccp` (as much of the packet from it as there is):
    /// `None` drops the packet.
    fn holds(&self, dccp: &[u8]) -> Option<bool> {
        let header = dccp.get(..12)?;
        let port = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let kind = (header[8] >> 1) & 0x0f;
        // (The kernel's `DCCHECK` is `Tests::holds`; the option is looked for last.)
        let t = self.tests;
        if !t.holds(test_bits::SPORT, (self.sport.0..=self.sport.1).contains(&port(0)))
            || !t.holds(test_bits::DPORT, (self.dport.0..=self.dport.1).contains(&port(2)))
            || !t.holds(test_bits::TYPE, self.types & (1 << kind) != 0)
        {
            return Some(false);
        }
        if t.made & test_bits::OPTION == 0 {
            return Some(true);
        }
        Some(t.holds(test_bits::OPTION, has_option(dccp, self.option)?))
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_transport(e, 33, |dccp| self.holds(dccp));
        e.match_answer(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DCCP Request (generic header, service code) with `options`, data offset covering
    /// them.
    fn request(options: &[u8]) -> Vec<u8> {
        let doff = (16 + options.len()) / 4;
        let mut h = vec![0, 1, 0, 2, doff as u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 42];
        h.extend_from_slice(options);
        h
    }

    #[test]
    fn the_option_walk_is_the_kernels() {
        // Padding, Mandatory, then type 32 (length 4), then 44 (length 4).
        let p = request(&[0, 1, 32, 4, 9, 9, 44, 4, 7, 7, 0, 0]);
        for (option, found) in [(0, true), (1, true), (32, true), (44, true), (9, false), (7, false)] {
            assert_eq!(has_option(&p, option), Some(found), "option {option}");
        }
        // Type 2 takes its next byte as a length, though DCCP calls it a single byte.
        let p = request(&[2, 3, 5, 44]);
        assert_eq!(has_option(&p, 5), Some(false));
        // No options; a data offset before the headers' end; options past the packet.
        assert_eq!(has_option(&request(&[]), 0), Some(false));
        let mut short = request(&[]);
        short[4] = 3;
        assert_eq!(has_option(&short, 0), None);
        let mut long = request(&[0, 0, 0, 0]);
        long[4] = 6;
        assert_eq!(has_option(&long, 0), None);
    }
}
