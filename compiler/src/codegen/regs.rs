//! nft's register allocator (`get_register`/`release_register` in netlink_linearize.c).
//!
//! Registers are handed out as a stack of 32-bit words: a single value always takes a whole
//! 128-bit register (4 words), a concatenation takes as many words as its members need
//! (each member padded to a word). A word number is printed with the kernel's numbering:
//! the first word of a 128-bit register as `reg 1`…`reg 4`, any other word as the 32-bit
//! register `reg 9`…`reg 23` — which is why a concatenation `ip saddr . tcp dport` loads
//! into `reg 1` and `reg 9`.

use super::error::LResult;
use nftvm_vm::Reg;
use nftvm_vm::reg::DATA_WORDS;

/// Words of a 128-bit register.
pub const WORDS_PER_REG: u32 = 4;

/// The allocator state of one rule.
#[derive(Clone, Debug, Default)]
pub struct Regs {
    /// First free word.
    low: u32,
}

/// Words a value of `bits` occupies (`netlink_register_space`).
pub fn words_for(bits: u32) -> u32 {
    bits.div_ceil(32)
}

impl Regs {
    pub fn new() -> Regs {
        Regs::default()
    }

    /// Allocate `words` consecutive words; returns the first.
    pub fn get_words(&mut self, words: u32) -> LResult<u32> {
        let first = self.low;
        let end = first + words;
        if end as usize > DATA_WORDS {
            return Err(format!(
                "the rule needs more than the {DATA_WORDS} 32-bit registers of the register file"
            ));
        }
        self.low = end;
        Ok(first)
    }

    /// Release the last `words` allocated.
    pub fn release_words(&mut self, words: u32) {
        self.low = self.low.saturating_sub(words);
    }

    /// A register for a single value (128 bits).
    pub fn get(&mut self) -> LResult<u32> {
        self.get_words(WORDS_PER_REG)
    }

    pub fn release(&mut self) {
        self.release_words(WORDS_PER_REG);
    }

    /// A register for an expression of `bits` that is a concatenation (`concat`) or not.
    pub fn get_for(&mut self, concat: bool, bits: u32) -> LResult<u32> {
        if concat { self.get_words(words_for(bits).max(1)) } else { self.get() }
    }

    pub fn release_for(&mut self, concat: bool, bits: u32) {
        if concat { self.release_words(words_for(bits).max(1)) } else { self.release() }
    }

    /// Reserve words without returning them (nft bumps `reg_low` around map keys).
    pub fn bump(&mut self, words: u32) {
        self.low += words;
    }

    pub fn unbump(&mut self, words: u32) {
        self.low = self.low.saturating_sub(words);
    }
}

/// The register operand for a word, numbered as nft prints it (`netlink_put_register`).
pub fn reg(word: u32) -> Reg {
    if word.is_multiple_of(WORDS_PER_REG) {
        Reg((word / WORDS_PER_REG + 1) as u8)
    } else {
        Reg((word + 8) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_words_like_nft() {
        assert_eq!(reg(0), Reg(1));
        assert_eq!(reg(1), Reg(9));
        assert_eq!(reg(4), Reg(2));
        assert_eq!(reg(5), Reg(13));
        assert_eq!(reg(15), Reg(23));
    }

    #[test]
    fn single_values_take_whole_registers() {
        let mut r = Regs::new();
        assert_eq!(r.get().unwrap(), 0);
        assert_eq!(r.get().unwrap(), 4);
        r.release();
        assert_eq!(r.get_for(true, 48).unwrap(), 4);
        assert_eq!(r.get_for(false, 8).unwrap(), 6);
        assert_eq!(r.get().unwrap(), 10);
        assert!(r.get().is_err());
    }
}
