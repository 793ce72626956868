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
        match self.dest(reg, bytes.len()) {
            Some(d) => {
                d.copy_from_slice(bytes);
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
