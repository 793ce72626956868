//! The register file of one evaluation: 64 data bytes and the verdict register.

use crate::reg::{DATA_BYTES, Reg};
use crate::verdict::Verdict;

/// Registers of one chain traversal (`struct nft_regs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regs {
    pub data: [u8; DATA_BYTES],
    pub verdict: Verdict,
}

impl Default for Regs {
    fn default() -> Self {
        Regs { data: [0; DATA_BYTES], verdict: Verdict::Continue }
    }
}

impl Regs {
    /// `len` bytes at `reg` (`None` if out of the file: the verifier prevents that).
    pub fn get(&self, reg: Reg, len: usize) -> Option<&[u8]> {
        self.data.get(reg.span(len)?)
    }

    /// The destination for a `len`-byte load at `reg`: as the kernel does, the last 32-bit
    /// word is zeroed first when `len` is not a multiple of 4.
    pub fn dest(&mut self, reg: Reg, len: usize) -> Option<&mut [u8]> {
        let span = reg.span(len)?;
        let padded_end = (span.start + len.div_ceil(4) * 4).min(DATA_BYTES);
        self.data.get_mut(span.end..padded_end)?.fill(0);
        self.data.get_mut(span)
    }

    /// Stores bytes at `reg` (zero-padding the last word); false if out of the file.
    pub fn store(&mut self, reg: Reg, bytes: &[u8]) -> bool {
        if bytes.len() <= 4 {
            // The common short value: one padded word, no memset/memcpy calls.
            return self.store_word(reg, bytes.len(), le_word(bytes).to_le_bytes());
        }
        match self.dest(reg, bytes.len()) {
            Some(d) => {
                d.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Stores the first `len` (1..=4) bytes of `word` at `reg`, the rest of its word zeroed
    /// (what [`Regs::store`] does for a short value); false if out of the file.
    pub fn store_word(&mut self, reg: Reg, len: usize, mut word: [u8; 4]) -> bool {
        let Some(span) = reg.span(len) else { return false };
        for b in word.iter_mut().skip(len) {
            *b = 0;
        }
        // Registers start at a word, so a valid span's word is inside the file.
        match self.data.get_mut(span.start..span.start + 4) {
            Some(d) => {
                d.copy_from_slice(&word);
                true
            }
            None => false,
        }
    }

    /// A host-order u32 (little-endian) at `reg`.
    pub fn store_u32(&mut self, reg: Reg, v: u32) -> bool {
        self.store(reg, &v.to_le_bytes())
    }

    pub fn load_u32(&self, reg: Reg) -> Option<u32> {
        let b = self.get(reg, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Sets the verdict to NFT_BREAK: the rule does not match.
    pub fn brk(&mut self) {
        self.verdict = Verdict::Break;
    }
}

/// Up to the first 4 bytes of `b` as a little-endian word, missing bytes zero (built by
/// shifts, which the compiler keeps inline where a byte-copy loop becomes a `memcpy` call).
pub fn le_word(b: &[u8]) -> u32 {
    b.iter().take(4).enumerate().fold(0, |w, (i, x)| w | u32::from(*x) << (8 * i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_stores_zero_pad_their_word_as_long_ones_do() {
        for len in 1..=4 {
            let bytes = &[0xa1, 0xb2, 0xc3, 0xd4][..len];
            let mut fast = Regs { data: [0xee; DATA_BYTES], verdict: Verdict::Continue };
            let mut slow = fast.clone();
            assert!(fast.store(Reg(9), bytes));
            let d = slow.dest(Reg(9), len).expect("in the file");
            d.copy_from_slice(bytes);
            assert_eq!(fast, slow, "len {len}");
            assert_eq!(le_word(bytes).to_le_bytes()[..len], *bytes);
        }
        let mut r = Regs::default();
        assert!(!r.store(Reg(23), &[1, 2, 3, 4, 5]), "past the end of the file");
        assert!(!r.store(Reg(9), &[]), "nothing to store");
    }
}
