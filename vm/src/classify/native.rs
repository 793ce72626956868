//! What a query needs when native code runs it ([`crate::jit`] compiles one per classifier):
//! the parts in order, with their filters spelled out, and where the tree's arrays are.
//!
//! A query in native code makes the same steps as [`Tree::query`] — per part the filter
//! test, the final-answer bit, the walk down the wide nodes, the leaf scan — but with every
//! part's constants (its first entry, its root, its filter's key bytes and words) in the
//! instructions, and without the call into Rust. It reads the arrays through the addresses
//! given here, so it relies on what the verifier checked ([`Tree::check`]): every node, leaf
//! and rank in bounds, the final-answer bitmap one bit longer than the entries.

use super::filter::KeyByte;
pub use super::tree::BoxHead;
use super::tree::{self, LEAF_BIT, Tree, Wide};

/// A tree as native code reads it (borrowed from the tree, whose arrays must outlive the
/// code: the compiled program holds the verified program, which nothing changes).
pub struct NativeTree<'t> {
    pub parts: Vec<NativePart>,
    /// The address of the first wide node: [`WIDE_BYTES`] each, cut fields at byte 0 (a
    /// nibble per cut), thresholds at bytes 4..32 (cut `k` at `4 * (k + 1)`), kids at bytes
    /// 32..64 (as [`super::tree`]'s `Wide`).
    pub wides: *const u8,
    /// The leaves' words (see [`Tree`]'s `leaves`).
    pub leaves: &'t [u32],
    pub filter_words: &'t [u64],
    pub bucket_roots: &'t [u32],
    /// Bit `e` of word `e / 64`: is an answer of entry `e` final (no later part asked)?
    /// One bit for every entry a leaf may list.
    pub finals: &'t [u64],
    /// The fields whose bounds take one word (`lo | hi << 16`).
    pub narrow: u32,
    /// How a leaf's box begins.
    pub head: BoxHead,
    /// The fields a box may test (those before this index).
    pub fields: usize,
}

/// One part: as [`super::tree`]'s parts.
#[derive(Clone, Copy, Debug)]
pub struct NativePart {
    pub first: u32,
    /// A wide node's index, or [`LEAF`] with a leaf's first word.
    pub root: u32,
    pub filter: Option<NativeFilter>,
}

/// A part filter: the key is `(field hi.0 >> hi.1) & 0xff` then `(field lo.0 >> lo.1) & 0xff`.
#[derive(Clone, Copy, Debug)]
pub struct NativeFilter {
    pub hi: (usize, u32),
    pub lo: (usize, u32),
    /// Its first word in `filter_words`.
    pub at: usize,
    /// Words are pairs (bits, rank of the word's first set bit in `bucket_roots`).
    pub dispatch: bool,
}

/// The bit of a reference that makes it a leaf.
pub const LEAF: u32 = LEAF_BIT;
/// Bytes of one wide node.
pub const WIDE_BYTES: usize = std::mem::size_of::<Wide>();
/// Where a two-word box head keeps the number of its bound words (above the entry).
pub const WORDS_SHIFT: u32 = tree::WORDS_SHIFT;

fn byte(k: KeyByte) -> (usize, u32) {
    (usize::from(k.field), u32::from(k.shift) & 31)
}

impl Tree {
    /// The tree for native code, or `None` when the query should stay in Rust: a later rule
    /// of the run may ask again about the same packet (the Rust query keeps its walks then).
    pub fn native(&self) -> Option<NativeTree<'_>> {
        if !self.is_built() || self.may_requery() {
            return None;
        }
        let parts = self
            .parts
            .iter()
            .map(|p| NativePart {
                first: p.first,
                root: p.root,
                filter: p.filter.map(|f| NativeFilter {
                    hi: byte(f.key[0]),
                    lo: byte(f.key[1]),
                    at: f.at as usize,
                    dispatch: f.dispatch,
                }),
            })
            .collect();
        Some(NativeTree {
            parts,
            wides: self.wides.as_ptr().cast(),
            leaves: &self.leaves,
            filter_words: &self.filter_words,
            bucket_roots: &self.bucket_roots,
            finals: &self.finals,
            narrow: self.narrow,
            head: self.head,
            fields: self.fields(),
        })
    }
}
