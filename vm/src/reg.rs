//! Register operands and the register file layout.
//!
//! The kernel numbers registers two ways, and `nft --debug=netlink` prints whichever number
//! the rule used: `reg 0` is the verdict register, `reg 1`..`reg 4` are the legacy 128-bit
//! registers (`NFT_REG_1..4`), and `reg 8`..`reg 23` are the 32-bit registers
//! (`NFT_REG32_00..15`). Both views alias the same 16 × 32-bit data words: `reg 1` is words
//! 0..3, `reg 2` words 4..7, `reg 9` word 1. A [`Reg`] keeps the number as written so the
//! disassembly round-trips; [`Reg::word`] maps it to the data word it starts at.

use std::fmt;

/// Number of 32-bit data words in the register file.
pub const DATA_WORDS: usize = 16;
/// Size of the data register file in bytes (`NFT_REG32_COUNT * NFT_REG32_SIZE`).
pub const DATA_BYTES: usize = DATA_WORDS * 4;

/// A register operand with the kernel's number (`NFT_REG_*` / `NFT_REG32_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Reg(pub u8);

impl Reg {
    /// The verdict register (`NFT_REG_VERDICT`).
    pub const VERDICT: Reg = Reg(0);
    /// `NFT_REG_1`, the register nft uses first.
    pub const R1: Reg = Reg(1);

    /// Is this the verdict register?
    pub fn is_verdict(self) -> bool {
        self.0 == 0
    }

    /// The data word this register starts at, or `None` for the verdict register and for
    /// numbers that name no register (5..=7, ≥ 24).
    pub fn word(self) -> Option<usize> {
        match self.0 {
            1..=4 => Some((self.0 as usize - 1) * 4),
            8..=23 => Some(self.0 as usize - 8),
            _ => None,
        }
    }

    /// Byte offset into the data register file, if this names a data register.
    pub fn byte_offset(self) -> Option<usize> {
        self.word().map(|w| w * 4)
    }

    /// The byte range `len` bytes starting at this register occupy, if it fits the file.
    pub fn span(self, len: usize) -> Option<std::ops::Range<usize>> {
        let start = self.byte_offset()?;
        let end = start.checked_add(len)?;
        (len > 0 && end <= DATA_BYTES).then_some(start..end)
    }

    /// The 32-bit register (`reg 8`..`reg 23`) that starts at data word `word`.
    pub fn from_word(word: usize) -> Option<Reg> {
        (word < DATA_WORDS).then(|| Reg(word as u8 + 8))
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_32bit_numbers_alias_the_same_words() {
        assert_eq!(Reg(1).word(), Some(0));
        assert_eq!(Reg(8).word(), Some(0));
        assert_eq!(Reg(2).word(), Some(4));
        assert_eq!(Reg(12).word(), Some(4));
        assert_eq!(Reg(9).word(), Some(1));
        assert_eq!(Reg(23).word(), Some(15));
        assert_eq!(Reg(0).word(), None);
        assert_eq!(Reg(5).word(), None);
        assert_eq!(Reg(24).word(), None);
        assert_eq!(Reg(4).span(16), Some(48..64));
        assert_eq!(Reg(4).span(17), None);
        assert_eq!(Reg(23).span(4), Some(60..64));
        assert_eq!(Reg(23).span(5), None);
    }
}
