//! Packet classification: which rule of a long run of rules is the first to match a packet,
//! found without testing the rules one by one.
//!
//! The optimizer (`nftvm-compiler`'s `opt::classify`) replaces the leading matches of every
//! rule in a run with a [`crate::expr::classify::Classify`] expression and describes those
//! matches here, in a [`Classifier`]:
//!
//! - **recipes** ([`Recipe`]): how to read one value from the packet — the very load (and
//!   `bitwise`/`byteorder` transform) expressions the rules used, so every value is exactly
//!   what the rules compared;
//! - **fields** ([`Field`]): up to 4 bytes of a recipe's value, read as a big-endian number
//!   (the order `cmp`, `range` and set lookups compare in), or [`ABSENT`] when the load
//!   breaks (a short packet, no transport header, an interface the runtime does not know);
//! - **entries** ([`Entry`]): per rule of the run, the union of boxes (one closed interval
//!   per field) of the packets its removed matches accepted.
//!
//! From these the classifier builds a decision tree ([`build`]), HyperSplit-style: binary
//! cuts of one field's value range at a time until a leaf holds a few candidate boxes, then
//! folded three levels to a cache line for the walk ([`tree`]).
//! [`Classifier::first_match`] walks it for one packet and answers "the first entry at or
//! after `from` whose box holds the packet"; the evaluation keeps the walks ([`walks`]) for
//! the next rule of the run that asks about the same packet. The tree is derived data: it
//! is rebuilt from the definition by [`Classifier::build`] (the assembler does that), never
//! printed; the verifier checks it was built from this definition and is well formed.
//!
//! Shadowing: when an entry matches the whole region of a leaf and always ends the chain
//! once it matched ([`effects::ends_chain`]), later entries of the leaf can only be reached
//! by starting the search after it — which never happens when every rule of the run that
//! may continue leaves the packet unchanged ([`effects::is_pure`]). Such leaves are cut
//! after that entry; [`Classifier::build`] decides from the program, and the verifier checks
//! the decision against it.

pub mod build;
pub mod effects;
mod filter;
pub mod finals;
pub mod native;
pub mod profile;
pub mod recipe;
#[cfg(test)]
mod tests;
pub mod text;
pub mod tree;
pub mod walks;

pub use build::Params;
pub use recipe::Recipe;
pub use tree::{Tree, TreeStats};

use crate::interp::Eval;
use crate::program::{ChainId, ClassifierId, Program, TableId};

/// The value of a field whose load broke: above every 32-bit value.
pub const ABSENT: u64 = 1 << 32;
/// Most fields a classifier reads.
pub const MAX_FIELDS: usize = 16;

/// A closed interval of field values (`ABSENT` included only in the full wildcard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    pub lo: u64,
    pub hi: u64,
}

impl Interval {
    /// Every value, present or not.
    pub const ANY: Interval = Interval { lo: 0, hi: ABSENT };

    pub fn new(lo: u64, hi: u64) -> Interval {
        Interval { lo, hi }
    }

    pub fn point(v: u64) -> Interval {
        Interval { lo: v, hi: v }
    }

    pub fn contains(self, v: u64) -> bool {
        self.lo <= v && v <= self.hi
    }

    pub fn is_any(self) -> bool {
        self == Interval::ANY
    }

    /// Does this interval include all of `other`?
    pub fn covers(self, other: Interval) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    pub fn intersects(self, other: Interval) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }
}

/// Up to four bytes of a recipe's value: bytes `offset..offset + width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub recipe: u8,
    pub offset: u8,
    /// 1..=4.
    pub width: u8,
}

impl Field {
    /// The largest value the field takes when present.
    pub fn max(self) -> u64 {
        (1u64 << (8 * self.width.clamp(1, 4) as u32)) - 1
    }
}

/// What one rule of the run matched: a union of boxes, each one interval per field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub boxes: Vec<Vec<Interval>>,
}

/// A run of rules classified together (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    /// `__classify%d` (unique in the program).
    pub name: String,
    pub table: TableId,
    pub chain: ChainId,
    /// Position in the chain of the rule of entry 0; entry `i` is rule `first + i`.
    pub first: u32,
    pub recipes: Vec<Recipe>,
    pub fields: Vec<Field>,
    pub entries: Vec<Entry>,
    /// Derived from the above and the program by [`Classifier::build`].
    pub tree: Tree,
}

impl Classifier {
    /// The chain position just after the run.
    pub fn end(&self) -> u32 {
        self.first.saturating_add(self.entries.len() as u32)
    }

    /// Builds (or rebuilds) the tree from the definition and the rules of `prog` (which decide
    /// where shadowed entries may be cut).
    pub fn build(&mut self, prog: &Program) {
        let flags = effects::run_flags(prog, self);
        self.tree = Tree::build(self, &flags, &Params::default());
    }

    /// Builds with explicit parameters (the optimizer's cost model tries several).
    pub fn build_with(&mut self, prog: &Program, params: &Params) {
        let flags = effects::run_flags(prog, self);
        self.tree = Tree::build(self, &flags, params);
    }

    /// The first entry at or after `from` that holds the packet, if any (`id`: this
    /// classifier's, under which `e` keeps its walks).
    pub fn first_match(&self, id: ClassifierId, e: &mut Eval, from: u32) -> Option<u32> {
        let mut values = [ABSENT; MAX_FIELDS];
        self.tree.values(self, e, &mut values);
        e.state.walks.query(id, &self.tree, &values, from)
    }

    /// The first entry at or after `from` holding `values`, by testing every entry in turn
    /// (the reference the tree is checked against).
    pub fn first_match_linear(&self, values: &[u64], from: u32) -> Option<u32> {
        let hit = |b: &Vec<Interval>| b.iter().zip(values).all(|(iv, v)| iv.contains(*v));
        self.entries
            .iter()
            .enumerate()
            .skip(from as usize)
            .find(|(_, e)| e.boxes.iter().any(hit))
            .map(|(i, _)| i as u32)
    }

    /// Bytes the definition and the tree occupy (heap included).
    pub fn heap_bytes(&self) -> usize {
        let boxes: usize = self
            .entries
            .iter()
            .map(|e| {
                std::mem::size_of::<Entry>()
                    + e.boxes.iter().map(|b| 24 + b.len() * std::mem::size_of::<Interval>()).sum::<usize>()
            })
            .sum();
        boxes + self.tree.heap_bytes() + self.recipes.len() * 64 + self.fields.len() * 3
    }
}
