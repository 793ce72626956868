//! The bytecode program: tables, chains, rules, sets and stateful objects.
//!
//! Modelled on nf_tables: a table has a family and holds chains, sets and objects; a base
//! chain is attached to a hook with a priority and a policy, a regular chain is only reached
//! by jump/goto; a rule is a flat list of expressions evaluated in order until one breaks
//! (NFT_BREAK: the rule does not match) or sets a verdict. Names are kept for printing;
//! references between items are indexes ([`ChainId`], [`SetId`], [`ObjId`]) into the
//! program's vectors, so engines never look anything up by name.

use crate::classify::Classifier;
use crate::expr::Expr;
use crate::flowtable::Flowtable;
use crate::keys::{Family, Hook};
use crate::object::Object;
use crate::set::Set;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub u32);
        impl $name {
            /// The index into the program's vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// Index of a table in [`Program::tables`].
    TableId
);
id_type!(
    /// Index of a chain in [`Program::chains`].
    ChainId
);
id_type!(
    /// Index of a set or map in [`Program::sets`].
    SetId
);
id_type!(
    /// Index of a stateful object in [`Program::objects`].
    ObjId
);
id_type!(
    /// Index of a classifier in [`Program::classifiers`].
    ClassifierId
);
id_type!(
    /// Index of a flowtable in [`Program::flowtables`].
    FlowtableId
);
id_type!(
    /// An opaque id the compiler gives each rule (e.g. an index into its source map), reported
    /// back in run results and traces.
    SourceId
);

/// A whole ruleset in bytecode form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    pub tables: Vec<Table>,
    pub chains: Vec<Chain>,
    pub sets: Vec<Set>,
    pub objects: Vec<Object>,
    /// Classified runs of rules (an nftvm extension: see [`crate::classify`]).
    pub classifiers: Vec<Classifier>,
    pub flowtables: Vec<Flowtable>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub family: Family,
}

/// A chain: base (hooked) or regular.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub name: String,
    pub table: TableId,
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

/// What makes a chain a base chain.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseChain {
    pub kind: ChainKind,
    pub hook: Hook,
    pub priority: i32,
    pub policy: Policy,
    /// The device of a netdev (ingress/egress) chain.
    pub device: Option<String>,
}

/// `type filter|nat|route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainKind {
    Filter,
    Nat,
    Route,
}

impl ChainKind {
    pub fn name(self) -> &'static str {
        match self {
            ChainKind::Filter => "filter",
            ChainKind::Nat => "nat",
            ChainKind::Route => "route",
        }
    }

    pub fn from_name(s: &str) -> Option<ChainKind> {
        Some(match s {
            "filter" => ChainKind::Filter,
            "nat" => ChainKind::Nat,
            "route" => ChainKind::Route,
            _ => return None,
        })
    }
}

/// A base chain's policy: the verdict when evaluation falls off its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    #[default]
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        }
    }
}

/// One rule: expressions evaluated in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub exprs: Vec<Expr>,
    /// Set by the compiler; reported in results and traces.
    pub source: SourceId,
    /// Printed as the `# …` line above the rule (the rule's source text, as in the
    /// `.payload` files).
    pub comment: Option<String>,
}

impl Program {
    pub fn new() -> Program {
        Program::default()
    }

    /// Per set: does a dynset of some rule write it (the packet path changes its elements)?
    /// Dynsets inside `inner` expressions and other dynsets count too.
    pub fn dynset_targets(&self) -> Vec<bool> {
        fn mark(e: &Expr, out: &mut [bool]) {
            match e {
                Expr::Dynset(d) => {
                    if let Some(x) = out.get_mut(d.set.index()) {
                        *x = true;
                    }
                    d.exprs.iter().for_each(|inner| mark(inner, out));
                }
                Expr::Inner(i) => mark(&i.expr, out),
                _ => {}
            }
        }
        let mut out = vec![false; self.sets.len()];
        for e in self.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.exprs) {
            mark(e, &mut out);
        }
        out
    }

    /// Adds a table, or returns the existing one with that family and name.
    pub fn add_table(&mut self, family: Family, name: &str) -> TableId {
        if let Some(t) = self.find_table(family, name) {
            return t;
        }
        self.tables.push(Table { name: name.to_string(), family });
        TableId(self.tables.len() as u32 - 1)
    }

    /// Adds a chain (or returns the existing one with that name, setting `base` if given).
    pub fn add_chain(&mut self, table: TableId, name: &str, base: Option<BaseChain>) -> ChainId {
        if let Some(c) = self.find_chain(table, name) {
            if base.is_some() {
                self.chains[c.index()].base = base;
            }
            return c;
        }
        self.chains.push(Chain { name: name.to_string(), table, base, rules: Vec::new() });
        ChainId(self.chains.len() as u32 - 1)
    }

    pub fn add_set(&mut self, set: Set) -> SetId {
        self.sets.push(set);
        SetId(self.sets.len() as u32 - 1)
    }

    pub fn add_object(&mut self, obj: Object) -> ObjId {
        self.objects.push(obj);
        ObjId(self.objects.len() as u32 - 1)
    }

    /// Appends a rule to a chain; `None` if the chain does not exist.
    pub fn add_rule(&mut self, chain: ChainId, rule: Rule) -> Option<usize> {
        let c = self.chains.get_mut(chain.index())?;
        c.rules.push(rule);
        Some(c.rules.len() - 1)
    }

    pub fn add_flowtable(&mut self, f: Flowtable) -> FlowtableId {
        self.flowtables.push(f);
        FlowtableId(self.flowtables.len() as u32 - 1)
    }

    pub fn flowtable(&self, id: FlowtableId) -> Option<&Flowtable> {
        self.flowtables.get(id.index())
    }

    pub fn find_flowtable(&self, table: TableId, name: &str) -> Option<FlowtableId> {
        self.flowtables.iter().position(|f| f.table == table && f.name == name).map(|i| FlowtableId(i as u32))
    }

    pub fn add_classifier(&mut self, c: Classifier) -> ClassifierId {
        self.classifiers.push(c);
        ClassifierId(self.classifiers.len() as u32 - 1)
    }

    pub fn classifier(&self, id: ClassifierId) -> Option<&Classifier> {
        self.classifiers.get(id.index())
    }

    pub fn find_classifier(&self, name: &str) -> Option<ClassifierId> {
        self.classifiers.iter().position(|c| c.name == name).map(|i| ClassifierId(i as u32))
    }

    pub fn find_table(&self, family: Family, name: &str) -> Option<TableId> {
        self.tables.iter().position(|t| t.family == family && t.name == name).map(|i| TableId(i as u32))
    }

    pub fn find_chain(&self, table: TableId, name: &str) -> Option<ChainId> {
        self.chains.iter().position(|c| c.table == table && c.name == name).map(|i| ChainId(i as u32))
    }

    /// A named set (not an anonymous `__set%d`) of a table.
    pub fn find_set(&self, table: TableId, name: &str) -> Option<SetId> {
        self.sets.iter().position(|s| s.table == table && s.name == name).map(|i| SetId(i as u32))
    }

    pub fn find_object(&self, table: TableId, name: &str, kind: u32) -> Option<ObjId> {
        self.objects
            .iter()
            .position(|o| o.table == table && o.name == name && (kind == 0 || o.kind.type_number() == kind))
            .map(|i| ObjId(i as u32))
    }

    pub fn table(&self, id: TableId) -> Option<&Table> {
        self.tables.get(id.index())
    }

    pub fn chain(&self, id: ChainId) -> Option<&Chain> {
        self.chains.get(id.index())
    }

    pub fn set(&self, id: SetId) -> Option<&Set> {
        self.sets.get(id.index())
    }

    pub fn object(&self, id: ObjId) -> Option<&Object> {
        self.objects.get(id.index())
    }

    /// The family of the table a chain belongs to.
    pub fn chain_family(&self, id: ChainId) -> Option<Family> {
        let c = self.chain(id)?;
        Some(self.table(c.table)?.family)
    }

    pub fn chain_name(&self, id: ChainId) -> &str {
        self.chain(id).map_or("?", |c| c.name.as_str())
    }

    /// `family table chain`, the way a listing names a chain (`chain#N` when there is none).
    pub fn chain_label(&self, id: ChainId) -> String {
        let Some(ch) = self.chain(id) else { return format!("chain#{}", id.0) };
        match self.table(ch.table) {
            Some(t) => format!("{} {} {}", t.family.name(), t.name, ch.name),
            None => ch.name.clone(),
        }
    }

    pub fn set_name(&self, id: SetId) -> &str {
        self.set(id).map_or("?", |s| s.name.as_str())
    }

    pub fn object_name(&self, id: ObjId) -> &str {
        self.object(id).map_or("?", |o| o.name.as_str())
    }

    /// Base chains attached to `hook` in a table of `family` (inet chains serve ip and ip6),
    /// sorted by priority (stable: declaration order breaks ties), as a hook runs them.
    pub fn hook_chains(&self, family: Family, hook: Hook) -> Vec<ChainId> {
        let mut v: Vec<(i32, ChainId)> = self
            .chains
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let base = c.base.as_ref()?;
                let tf = self.table(c.table)?.family;
                let fam_ok =
                    tf == family || (tf == Family::Inet && matches!(family, Family::Ip | Family::Ip6));
                (fam_ok && base.hook == hook).then_some((base.priority, ChainId(i as u32)))
            })
            .collect();
        v.sort_by_key(|(p, _)| *p);
        v.into_iter().map(|(_, c)| c).collect()
    }

    /// Number of expressions in the whole program.
    pub fn expr_count(&self) -> usize {
        self.chains.iter().flat_map(|c| &c.rules).map(|r| r.exprs.len()).sum()
    }
}
