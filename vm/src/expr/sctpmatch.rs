//! `match name sctp` — iptables' `-m sctp`, run as iptables-nft runs it: the kernel's match
//! (`xt_sctp`). Source and destination port ranges, and the chunk types a packet carries:
//! `all` of a set (each with its flags, when given), `any` of them, or `only` those. The
//! chunk walk reads every chunk header (each padded to 4 bytes) to the packet's end; a packet
//! whose common header is cut short, with no chunk, or with a chunk of length 0 is dropped
//! (the kernel's hotdrop). Non-first fragments never match.

use super::xt::Tests;
use super::xt::on_transport;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `XT_SCTP_SRC_PORTS`, `XT_SCTP_DEST_PORTS`, `XT_SCTP_CHUNK_TYPES`: the tests the match
/// makes (bits of its [`Tests`]).
pub mod test_bits {
    pub const SPORT: u16 = 0x01;
    pub const DPORT: u16 = 0x02;
    pub const CHUNKS: u16 = 0x04;
    /// Every test.
    pub const ALL: u16 = 0x07;
}

/// How the chunk types are matched (`SCTP_CHUNK_MATCH_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChunkMode {
    /// One of the set is present (with its flags).
    #[default]
    Any,
    /// Every type of the set is present, with its flags.
    All,
    /// No other type is present, and those of the set have their flags.
    Only,
}

impl ChunkMode {
    fn name(self) -> &'static str {
        match self {
            ChunkMode::Any => "any",
            ChunkMode::All => "all",
            ChunkMode::Only => "only",
        }
    }
}

/// A flag test on one chunk type: `flags & mask == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkFlags {
    pub chunk_type: u8,
    pub value: u8,
    pub mask: u8,
}

/// Most chunk types with a flag test (`XT_NUM_SCTP_FLAGS`).
pub const MAX_FLAGS: usize = 4;

/// One `-m sctp` match (the kernel's `xt_sctp_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SctpMatch {
    pub sport: (u16, u16),
    pub dport: (u16, u16),
    /// Bit `t` of word `t / 64`: chunk type `t` is in the set.
    pub chunks: [u64; 4],
    pub mode: ChunkMode,
    pub flags: Vec<ChunkFlags>,
    /// Which of [`test_bits`] the match makes, and which of them are inverted.
    pub tests: Tests,
}

fn has(map: &[u64; 4], t: u8) -> bool {
    map[usize::from(t >> 6)] >> (t & 63) & 1 != 0
}

/// A port range as the xt matches print it: `LO-HI`.
pub(crate) fn port_range(s: &str) -> PResult<(u16, u16)> {
    let (lo, hi) = s.split_once('-').ok_or_else(|| format!("expected a port range, found `{s}`"))?;
    let n = |x: &str| x.parse::<u16>().map_err(|_| format!("bad port `{x}`"));
    Ok((n(lo)?, n(hi)?))
}

impl SctpMatch {
    /// The chunk types of the set, in order.
    fn types(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|t| has(&self.chunks, *t))
    }

    /// Does a chunk of `chunk_type` with `flags` pass its flag test (none: it does)?
    fn flags_hold(&self, chunk_type: u8, flags: u8) -> bool {
        self.flags.iter().find(|f| f.chunk_type == chunk_type).is_none_or(|f| flags & f.mask == f.value)
    }

    /// The chunk walk over the SCTP packet `sctp` (from its common header) from `offset`:
    /// the answer, or `None` for a hotdrop.
    fn chunks_match(&self, sctp: &[u8], mut offset: usize) -> Option<bool> {
        let mut all = self.chunks;
        loop {
            let header = sctp.get(offset..offset + 4)?;
            let (chunk_type, flags) = (header[0], header[1]);
            let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if len == 0 {
                return None;
            }
            offset += (len + 3) & !3;
            if has(&self.chunks, chunk_type) {
                let held = self.flags_hold(chunk_type, flags);
                match self.mode {
                    ChunkMode::Any if held => return Some(true),
                    ChunkMode::All if held => all[usize::from(chunk_type >> 6)] &= !(1 << (chunk_type & 63)),
                    ChunkMode::Only if !held => return Some(false),
                    _ => {}
                }
            } else if self.mode == ChunkMode::Only {
                return Some(false);
            }
            if offset >= sctp.len() {
                break;
            }
        }
        Some(match self.mode {
            ChunkMode::All => all == [0; 4],
            ChunkMode::Any => false,
            ChunkMode::Only => true,
        })
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name sctp rev 0 sport {}-{} dport {}-{} ",
            self.sport.0, self.sport.1, self.dport.0, self.dport.1
        );
        self.tests.print(o, 2);
        let _ = write!(o, " chunks {}", self.mode.name());
        let types: Vec<String> = self.types().map(|t| t.to_string()).collect();
        o.push(' ');
        o.push_str(if types.is_empty() { "none" } else { "" });
        o.push_str(&types.join(","));
        for f in &self.flags {
            let _ = write!(o, " flags {}:0x{:02x}/0x{:02x}", f.chunk_type, f.value, f.mask);
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<SctpMatch> {
        c.expect_all(&["name", "sctp", "rev", "0", "sport"])?;
        let sport = port_range(c.next()?)?;
        c.expect("dport")?;
        let dport = port_range(c.next()?)?;
        let tests = Tests::parse(c, test_bits::ALL)?;
        c.expect("chunks")?;
        let mode = match c.next()? {
            "any" => ChunkMode::Any,
            "all" => ChunkMode::All,
            "only" => ChunkMode::Only,
            m => return Err(format!("unknown chunk match `{m}` (any, all or only)")),
        };
        let mut chunks = [0u64; 4];
        let list = c.next()?;
        if list != "none" {
            for t in list.split(',') {
                let t: u8 = t.parse().map_err(|_| format!("bad chunk type `{t}`"))?;
                chunks[usize::from(t >> 6)] |= 1 << (t & 63);
            }
        }
        let mut flags = Vec::new();
        while c.eat("flags") {
            let f = c.next()?;
            let bad = || format!("expected TYPE:0xVALUE/0xMASK, found `{f}`");
            let (t, rest) = f.split_once(':').ok_or_else(bad)?;
            let (v, m) = rest.split_once('/').ok_or_else(bad)?;
            let hex =
                |x: &str| x.strip_prefix("0x").and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(bad);
            flags.push(ChunkFlags {
                chunk_type: t.parse().map_err(|_| bad())?,
                value: hex(v)?,
                mask: hex(m)?,
            });
        }
        Ok(SctpMatch { sport, dport, chunks, mode, flags, tests })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.flags.len() > MAX_FLAGS {
            return Err(format!("sctp: more than {MAX_FLAGS} chunk types with flags"));
        }
        if !self.tests.within(test_bits::ALL) {
            return Err("sctp: unknown test bits".into());
        }
        Ok(())
    }

    /// The answer for an SCTP packet `sctp` (from its common header): `None` drops it.
    fn holds(&self, sctp: &[u8]) -> Option<bool> {
        let header = sctp.get(..12)?;
        let (sport, dport) =
            (u16::from_be_bytes([header[0], header[1]]), u16::from_be_bytes([header[2], header[3]]));
        // (The kernel's `SCCHECK` is `Tests::holds`.)
        let t = self.tests;
        if !t.holds(test_bits::SPORT, (self.sport.0..=self.sport.1).contains(&sport))
            || !t.holds(test_bits::DPORT, (self.dport.0..=self.dport.1).contains(&dport))
        {
            return Some(false);
        }
        if t.made & test_bits::CHUNKS == 0 {
            return Some(true);
        }
        Some(t.holds(test_bits::CHUNKS, self.chunks_match(sctp, 12)?))
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = on_transport(e, 132, |sctp| self.holds(sctp));
        e.match_answer(answer);
    }
}
