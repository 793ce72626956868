//! The text format: the disassembler prints exactly what `nft --debug=netlink` prints, and
//! the assembler parses it back (see [`program`] for whole programs, [`listing`] for
//! `.payload` files).

pub mod asm;
pub mod block;
pub mod cursor;
pub mod elements;
pub mod listing;
pub mod program;

pub use program::{AsmError, assemble, disassemble};
