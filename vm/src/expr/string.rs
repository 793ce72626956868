//! `match name string` — iptables' `-m string`, run as iptables-nft runs it: the kernel's
//! `xt_string` match inside an nf_tables rule. It matches when the pattern occurs whole in
//! the packet's bytes from offset `from` to `to` (counted from the network header, where
//! the kernel's `skb->data` starts at these hooks), optionally ignoring ASCII case. The
//! kernel's Boyer-Moore and Knuth-Morris-Pratt searches find the same occurrences in a
//! linear packet, which is what nftvm has; `algo` is kept for the listing.

use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult, cursor::write_hex_bytes};
use crate::verify::Check;
use std::fmt::Write;

/// `XT_STRING_MAX_PATTERN_SIZE`.
pub const MAX_PATTERN: usize = 128;

/// One `-m string` match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct StringMatch {
    /// `bm` or `kmp`.
    pub algo: String,
    pub from: u16,
    pub to: u16,
    pub pattern: Vec<u8>,
    pub icase: bool,
    pub invert: bool,
}

impl StringMatch {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name string rev 1 algo {} from {} to {} pattern ", self.algo, self.from, self.to);
        write_hex_bytes(o, &self.pattern);
        for (on, word) in [(self.icase, "icase"), (self.invert, "invert")] {
            if on {
                let _ = write!(o, " {word}");
            }
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<StringMatch> {
        c.expect_all(&["name", "string", "rev", "1", "algo"])?;
        let algo = c.next()?.to_string();
        let from = c.keyed_num("from")?;
        let to = c.keyed_num("to")?;
        c.expect("pattern")?;
        let pattern = c.hex_bytes("a pattern")?;
        let icase = c.eat("icase");
        let invert = c.eat("invert");
        Ok(StringMatch { algo, from, to, pattern, icase, invert })
    }

    /// The kernel's load-time rules (`string_mt_check`).
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.from > self.to {
            return Err("string: from is after to".into());
        }
        if self.pattern.is_empty() || self.pattern.len() > MAX_PATTERN {
            return Err(format!("string: a pattern has 1 to {MAX_PATTERN} bytes"));
        }
        if !matches!(self.algo.as_str(), "bm" | "kmp") {
            return Err(format!("string: unknown algorithm `{}` (bm or kmp)", self.algo));
        }
        Ok(())
    }

    /// Does the pattern lie whole within `bytes[from..to]`?
    pub fn found_in(&self, bytes: &[u8]) -> bool {
        let end = usize::from(self.to).min(bytes.len());
        let Some(window) = bytes.get(usize::from(self.from)..end) else { return false };
        let same = |a: &u8, b: &u8| if self.icase { a.eq_ignore_ascii_case(b) } else { a == b };
        window.windows(self.pattern.len()).any(|w| w.iter().zip(&self.pattern).all(|(a, b)| same(a, b)))
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let bytes = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        if self.found_in(bytes) == self.invert {
            e.brk();
        }
    }
}
