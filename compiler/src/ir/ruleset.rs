//! A whole ruleset and its tables.
//!
//! Tables, and inside a table its chains, sets, objects and flowtables, are kept in creation
//! order: the order `nft list ruleset` prints them in (the kernel keeps its lists that way).

use super::chain::Chain;
use super::flowtable::Flowtable;
use super::object::Object;
use super::set::Set;
use super::{Family, Span};

/// Everything loaded: the state `nft list ruleset` would print.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

/// `table <family> <name> { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub family: Family,
    pub name: String,
    pub flags: TableFlags,
    pub comment: Option<String>,
    pub chains: Vec<Chain>,
    /// Named sets, maps and meters (anonymous sets live inline in rules).
    pub sets: Vec<Set>,
    pub objects: Vec<Object>,
    pub flowtables: Vec<Flowtable>,
    /// Where the table was (first) declared.
    pub span: Span,
    /// Kernel-style handle, unique within the ruleset (`0` until the evaluator numbers it).
    pub handle: u64,
}

/// `flags dormant, owner, persist`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableFlags {
    pub dormant: bool,
    pub owner: bool,
    pub persist: bool,
}

impl TableFlags {
    /// The flag words in nft's order.
    pub fn words(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.dormant {
            out.push("dormant");
        }
        if self.owner {
            out.push("owner");
        }
        if self.persist {
            out.push("persist");
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        !(self.dormant || self.owner || self.persist)
    }
}

impl Ruleset {
    pub fn new() -> Ruleset {
        Ruleset::default()
    }

    /// The table `family name`.
    pub fn table(&self, family: Family, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.family == family && t.name == name)
    }

    pub fn table_mut(&mut self, family: Family, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.family == family && t.name == name)
    }

    /// Every rule of the ruleset with its table and chain, in listing order.
    pub fn rules(&self) -> impl Iterator<Item = (&Table, &Chain, &super::Rule)> {
        self.tables
            .iter()
            .flat_map(|t| t.chains.iter().flat_map(move |c| c.rules.iter().map(move |r| (t, c, r))))
    }
}

impl Table {
    /// An empty table.
    pub fn new(family: Family, name: impl Into<String>) -> Table {
        Table {
            family,
            name: name.into(),
            flags: TableFlags::default(),
            comment: None,
            chains: Vec::new(),
            sets: Vec::new(),
            objects: Vec::new(),
            flowtables: Vec::new(),
            span: Span::default(),
            handle: 0,
        }
    }

    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    /// A named set or map.
    pub fn set(&self, name: &str) -> Option<&Set> {
        self.sets.iter().find(|s| s.name == name)
    }

    pub fn set_mut(&mut self, name: &str) -> Option<&mut Set> {
        self.sets.iter_mut().find(|s| s.name == name)
    }

    /// A stateful object of the given type.
    pub fn object(&self, ty: super::ObjectType, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.kind.object_type() == ty && o.name == name)
    }

    pub fn flowtable(&self, name: &str) -> Option<&Flowtable> {
        self.flowtables.iter().find(|f| f.name == name)
    }
}
