//! A whole iptables ruleset: tables, chains, policies, counters and rules, built with
//! iptables-restore semantics, and printed the way iptables-save (nft backend) prints it.
//!
//! Restore semantics: `*table` starts a section and flushes the table; `:CHAIN POLICY
//! [p:b]` sets a built-in chain's policy (and counters when restoring with counters) or
//! creates a user chain; every other line is an iptables command applied in order; `COMMIT`
//! ends the section.
//!
//! Save form: tables in iptables-nft's order (mangle, security, raw, filter, nat) — a table
//! is printed when it has any chain; all built-in chains of a printed table in hook order
//! (`ACCEPT [0:0]` for those never touched), then user chains sorted by name; then the rules
//! chain by chain in the same order; `COMMIT`.

use crate::iptables::check::{TABLES, builtin_chains, check_rule};
use crate::iptables::getopt::OptArg;
use crate::iptables::parse::{Command, CommandKind, ParseOptions, assert_valid_chain_name};
use crate::iptables::rule::{Action, Counters, Name, Rule};
use crate::iptables::{Family, parse_args};
use nftvm_grammar::iptables::ast::{FileItem, RestoreFile, TableLine};
use nftvm_grammar::{Diagnostic, Span};

/// Built-in chain policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }

    /// The policy named `ACCEPT` or `DROP`.
    pub fn from_name(name: &str) -> Option<Policy> {
        [Policy::Accept, Policy::Drop].into_iter().find(|p| p.name() == name)
    }
}

/// A chain. Built-in chains have a policy; user chains do not.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub name: String,
    pub policy: Option<Policy>,
    pub counters: Counters,
    pub rules: Vec<Rule>,
    pub span: Span,
}

impl Chain {
    pub fn is_builtin(&self) -> bool {
        self.policy.is_some()
    }
}

/// A table with the chains that exist in it (in creation order; printing sorts).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    /// Chains in iptables-save order: built-in chains of the table in hook order (those that
    /// do not exist yet as `ACCEPT [0:0]`), then user chains sorted by name.
    pub fn chains_in_save_order(&self) -> Vec<Chain> {
        let builtins = builtin_chains(&self.name).unwrap_or(&[]);
        let mut out: Vec<Chain> = builtins
            .iter()
            .map(|b| {
                self.chain(b).cloned().unwrap_or(Chain {
                    name: b.to_string(),
                    policy: Some(Policy::Accept),
                    counters: Counters::default(),
                    rules: vec![],
                    span: Span::default(),
                })
            })
            .collect();
        let mut users: Vec<&Chain> =
            self.chains.iter().filter(|c| !builtins.contains(&c.name.as_str())).collect();
        users.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        out.extend(users.into_iter().cloned());
        out
    }
}

/// How iptables-save is asked to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// Print rule counters (`iptables-save -c`).
    pub counters: bool,
}

/// A whole ruleset of one family.
#[derive(Clone, Debug, PartialEq)]
pub struct Ruleset {
    pub family: Family,
    pub tables: Vec<Table>,
    /// Keep counters from the input (`iptables-restore -c`); otherwise they are zeroed.
    pub restore_counters: bool,
    /// Keep the existing contents of a table a restore section names (`--noflush`).
    pub noflush: bool,
    /// The ipsets rules may name (`-m set`), from `--ipset FILE`; the kernel's are global,
    /// so the same for every table.
    pub ipsets: std::sync::Arc<crate::ipset::Ipsets>,
}

fn err(span: Span, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(span, msg)
}

/// `[packets:bytes]`.
pub fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    let num = |x: &str| x.parse::<u64>().ok();
    Some(Counters { packets: num(p)?, bytes: num(b)? })
}

impl Ruleset {
    pub fn new(family: Family) -> Ruleset {
        Ruleset {
            family,
            tables: Vec::new(),
            restore_counters: false,
            noflush: false,
            ipsets: Default::default(),
        }
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn table_mut(&mut self, name: &str) -> &mut Table {
        if let Some(i) = self.tables.iter().position(|t| t.name == name) {
            return &mut self.tables[i];
        }
        self.tables.push(Table { name: name.to_string(), chains: Vec::new() });
        let last = self.tables.len() - 1;
        &mut self.tables[last]
    }

    /// Apply an iptables-restore file; returns one diagnostic per rejected line.
    pub fn restore(&mut self, file: &RestoreFile) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        for item in &file.items {
            let FileItem::Table(section) = item else { continue };
            let tname = section.name.text.clone();
            if builtin_chains(&tname).is_none() {
                diags.push(err(
                    section.name.span,
                    format!("table name '{tname}' invalid: expecting filter, nat, mangle, raw or security"),
                ));
                continue;
            }
            // A table section replaces the table (unless --noflush).
            if !self.noflush {
                self.tables.retain(|t| t.name != tname);
            }
            for line in &section.lines {
                let res = match line {
                    TableLine::Comment(_) => Ok(()),
                    TableLine::Chain(decl) => self.declare_chain(&tname, decl),
                    TableLine::Rule(r) => {
                        let mut res = Ok(());
                        if let Some(c) = &r.counters
                            && parse_counters(&c.text).is_none()
                        {
                            res = Err(err(c.span, "Bad counters: expecting [packets:bytes]"));
                        }
                        res.and_then(|_| {
                            let opts =
                                ParseOptions { family: self.family, restore_table: Some(tname.clone()) };
                            let mut cmd = parse_args(&r.args, &opts)?;
                            if let Some(c) = r.counters.as_ref().and_then(|c| parse_counters(&c.text))
                                && self.restore_counters
                            {
                                for rule in &mut cmd.rules {
                                    rule.counters = Some(c);
                                }
                            }
                            self.apply(&cmd)
                        })
                    }
                };
                if let Err(d) = res {
                    diags.push(d);
                }
            }
        }
        diags
    }

    fn declare_chain(
        &mut self,
        table: &str,
        decl: &nftvm_grammar::iptables::ast::ChainDecl,
    ) -> Result<(), Diagnostic> {
        let name = &decl.name;
        if name.text.is_empty() {
            return Err(err(decl.span, "chain name invalid"));
        }
        assert_valid_chain_name(&OptArg { text: name.text.clone(), span: name.span, word: 0 }, self.family)?;
        let policy = decl
            .policy
            .as_ref()
            .ok_or_else(|| err(decl.span, "policy invalid: expecting ACCEPT, DROP or -"))?;
        let builtin = builtin_chains(table).is_some_and(|b| b.contains(&name.text.as_str()));
        let restore_counters = self.restore_counters;
        let t = self.table_mut(table);
        if builtin {
            let Some(p) = Policy::from_name(&policy.text) else {
                return Err(err(
                    policy.span,
                    format!(
                        "Can't set policy `{}' on `{}': expecting ACCEPT or DROP",
                        policy.text, name.text
                    ),
                ));
            };
            if table == "nat" && p == Policy::Drop {
                return Err(err(
                    policy.span,
                    "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited",
                ));
            }
            let counters = match &decl.counters {
                Some(c) => parse_counters(&c.text).ok_or_else(|| {
                    err(c.span, format!("invalid policy counters for chain '{}'", name.text))
                })?,
                None if restore_counters => {
                    return Err(err(decl.span, format!("invalid policy counters for chain '{}'", name.text)));
                }
                None => Counters::default(),
            };
            let counters = if restore_counters { counters } else { Counters::default() };
            match t.chain_mut(&name.text) {
                Some(c) => {
                    c.policy = Some(p);
                    c.counters = counters;
                }
                None => t.chains.push(Chain {
                    name: name.text.clone(),
                    policy: Some(p),
                    counters,
                    rules: vec![],
                    span: decl.span,
                }),
            }
        } else if let Some(c) = t.chain_mut(&name.text) {
            // Declaring an existing user chain flushes it.
            c.rules.clear();
        } else {
            t.chains.push(Chain {
                name: name.text.clone(),
                policy: None,
                counters: Counters::default(),
                rules: vec![],
                span: decl.span,
            });
        }
        Ok(())
    }

    /// Make sure a chain exists for a rule command: built-in chains are created on demand,
    /// user chains must have been created.
    fn chain_for_rules(&mut self, table: &str, chain: &Name) -> Result<&mut Chain, Diagnostic> {
        let builtin = builtin_chains(table).is_some_and(|b| b.contains(&chain.text.as_str()));
        let t = self.table_mut(table);
        if t.chain(&chain.text).is_none() {
            if !builtin {
                return Err(err(chain.span, format!("Chain '{}' does not exist", chain.text)));
            }
            t.chains.push(Chain {
                name: chain.text.clone(),
                policy: Some(Policy::Accept),
                counters: Counters::default(),
                rules: vec![],
                span: chain.span,
            });
        }
        t.chain_mut(&chain.text).ok_or_else(|| err(chain.span, "chain vanished"))
    }

    /// Check rules of a command against their chain and their jump targets.
    fn check_rules(&self, table: &str, chain: &Name, rules: &[Rule]) -> Result<(), Diagnostic> {
        if builtin_chains(table).is_none() {
            return Err(err(
                chain.span,
                format!("can't initialize {} table `{table}': Table does not exist", self.family.tool_name()),
            ));
        }
        for r in rules {
            check_rule(r, self.family, table, &chain.text, &self.ipsets)?;
            if let Some(Action::Jump(n) | Action::Goto(n)) = &r.action {
                let exists =
                    self.table(table).is_some_and(|t| t.chain(&n.text).is_some_and(|c| !c.is_builtin()));
                if !exists {
                    return Err(err(
                        n.span,
                        format!("Couldn't load target `{}': no such target or user-defined chain", n.text),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Apply one command.
    pub fn apply(&mut self, cmd: &Command) -> Result<(), Diagnostic> {
        let table = cmd.table.as_str();
        if builtin_chains(table).is_none() && !matches!(cmd.kind, CommandKind::Ignored) {
            return Err(err(
                cmd.span,
                format!("can't initialize {} table `{table}': Table does not exist", self.family.tool_name()),
            ));
        }
        match &cmd.kind {
            CommandKind::Ignored | CommandKind::List { .. } => Ok(()),
            CommandKind::Append { chain } => {
                self.check_rules(table, chain, &cmd.rules)?;
                let c = self.chain_for_rules(table, chain)?;
                c.rules.extend(cmd.rules.iter().cloned());
                Ok(())
            }
            CommandKind::Insert { chain, position } => {
                self.check_rules(table, chain, &cmd.rules)?;
                let c = self.chain_for_rules(table, chain)?;
                let at = *position as usize - 1;
                if at > c.rules.len() {
                    return Err(err(chain.span, "Index of insertion too big"));
                }
                for (i, r) in cmd.rules.iter().enumerate() {
                    c.rules.insert(at + i, r.clone());
                }
                Ok(())
            }
            CommandKind::Replace { chain, position } => {
                self.check_rules(table, chain, &cmd.rules)?;
                let c = self.chain_for_rules(table, chain)?;
                let at = *position as usize - 1;
                match (c.rules.get_mut(at), cmd.rules.first()) {
                    (Some(slot), Some(r)) => {
                        *slot = r.clone();
                        Ok(())
                    }
                    _ => Err(err(chain.span, "Index of replacement too big")),
                }
            }
            CommandKind::Delete { chain } => {
                let family = self.family;
                let c = self.chain_for_rules(table, chain)?;
                for r in &cmd.rules {
                    let want = r.save_spec(family);
                    match c.rules.iter().position(|x| x.save_spec(family) == want) {
                        Some(i) => {
                            c.rules.remove(i);
                        }
                        None => {
                            return Err(err(
                                chain.span,
                                "Bad rule (does a matching rule exist in that chain?)",
                            ));
                        }
                    }
                }
                Ok(())
            }
            CommandKind::DeleteNum { chain, first, last } => {
                let c = self.chain_for_rules(table, chain)?;
                let last = last.unwrap_or(*first) as usize;
                if last > c.rules.len() || (*first as usize) > last {
                    return Err(err(chain.span, "Index of deletion too big"));
                }
                c.rules.drain(*first as usize - 1..last);
                Ok(())
            }
            CommandKind::Check { chain } => {
                let family = self.family;
                let c = self.chain_for_rules(table, chain)?;
                let found = cmd
                    .rules
                    .iter()
                    .all(|r| c.rules.iter().any(|x| x.save_spec(family) == r.save_spec(family)));
                if found {
                    Ok(())
                } else {
                    Err(err(chain.span, "Bad rule (does a matching rule exist in that chain?)"))
                }
            }
            CommandKind::Flush { chain } => {
                let t = self.table_mut(table);
                match chain {
                    None => t.chains.iter_mut().for_each(|c| c.rules.clear()),
                    Some(n) => match t.chain_mut(&n.text) {
                        Some(c) => c.rules.clear(),
                        None => return Err(err(n.span, format!("Chain '{}' does not exist", n.text))),
                    },
                }
                Ok(())
            }
            CommandKind::Zero { chain, .. } => {
                let t = self.table_mut(table);
                for c in t.chains.iter_mut().filter(|c| chain.as_ref().is_none_or(|n| n.text == c.name)) {
                    c.counters = Counters::default();
                    for r in &mut c.rules {
                        r.counters = r.counters.map(|_| Counters::default());
                    }
                }
                Ok(())
            }
            CommandKind::NewChain { chain } => {
                let builtin = builtin_chains(table).is_some_and(|b| b.contains(&chain.text.as_str()));
                let t = self.table_mut(table);
                if builtin || t.chain(&chain.text).is_some() {
                    return Err(err(chain.span, format!("Chain '{}' already exists", chain.text)));
                }
                t.chains.push(Chain {
                    name: chain.text.clone(),
                    policy: None,
                    counters: Counters::default(),
                    rules: vec![],
                    span: chain.span,
                });
                Ok(())
            }
            CommandKind::DeleteChain { chain } => self.delete_chain(table, chain.as_ref()),
            CommandKind::RenameChain { chain, new_name } => {
                let t = self.table_mut(table);
                if t.chain(&new_name.text).is_some() {
                    return Err(err(new_name.span, format!("Chain '{}' already exists", new_name.text)));
                }
                match t.chain_mut(&chain.text) {
                    Some(c) if !c.is_builtin() => c.name = new_name.text.clone(),
                    _ => return Err(err(chain.span, format!("Chain '{}' does not exist", chain.text))),
                }
                for c in &mut t.chains {
                    for r in &mut c.rules {
                        if let Some(Action::Jump(n) | Action::Goto(n)) = &mut r.action
                            && n.text == chain.text
                        {
                            n.text = new_name.text.clone();
                        }
                    }
                }
                Ok(())
            }
            CommandKind::Policy { chain, policy } => {
                let Some(p) = Policy::from_name(&policy.text) else {
                    return Err(err(
                        policy.span,
                        format!("Bad policy name `{}': expecting ACCEPT or DROP", policy.text),
                    ));
                };
                let builtin = builtin_chains(table).is_some_and(|b| b.contains(&chain.text.as_str()));
                if !builtin {
                    return Err(err(
                        chain.span,
                        format!("Chain '{}' is not a built-in chain: no policy", chain.text),
                    ));
                }
                let c = self.chain_for_rules(table, chain)?;
                c.policy = Some(p);
                Ok(())
            }
        }
    }

    fn delete_chain(&mut self, table: &str, chain: Option<&Name>) -> Result<(), Diagnostic> {
        let t = self.table_mut(table);
        let referenced = |t: &Table, name: &str| {
            t.chains
                .iter()
                .flat_map(|c| c.rules.iter())
                .any(|r| matches!(&r.action, Some(Action::Jump(n) | Action::Goto(n)) if n.text == name))
        };
        match chain {
            None => {
                let users: Vec<String> =
                    t.chains.iter().filter(|c| !c.is_builtin()).map(|c| c.name.clone()).collect();
                for u in &users {
                    if referenced(t, u) {
                        continue;
                    }
                    t.chains.retain(|c| &c.name != u);
                }
                Ok(())
            }
            Some(n) => {
                let Some(c) = t.chain(&n.text) else {
                    return Err(err(n.span, format!("Chain '{}' does not exist", n.text)));
                };
                if c.is_builtin() {
                    return Err(err(n.span, "Cannot delete built-in chain"));
                }
                if !c.rules.is_empty() {
                    return Err(err(
                        n.span,
                        format!("Directory not empty: chain '{}' still has rules", n.text),
                    ));
                }
                if referenced(t, &n.text) {
                    return Err(err(
                        n.span,
                        format!("Too many links: chain '{}' is still referenced", n.text),
                    ));
                }
                t.chains.retain(|c| c.name != n.text);
                Ok(())
            }
        }
    }

    /// Tables that exist (have a chain), in iptables-save order.
    pub fn tables_in_save_order(&self) -> Vec<&Table> {
        TABLES.iter().filter_map(|(name, _)| self.table(name)).filter(|t| !t.chains.is_empty()).collect()
    }

    /// One table as `iptables-save -t TABLE` prints it (without the `#` comment lines).
    pub fn save_table(&self, name: &str, opts: SaveOptions) -> String {
        let Some(t) = self.table(name).filter(|t| !t.chains.is_empty()) else { return String::new() };
        let mut out = format!("*{}\n", t.name);
        let chains = t.chains_in_save_order();
        for c in &chains {
            let policy = c.policy.map_or("-", Policy::name);
            out.push_str(&format!(":{} {} [{}:{}]\n", c.name, policy, c.counters.packets, c.counters.bytes));
        }
        for c in &chains {
            for r in &c.rules {
                if opts.counters {
                    let k = r.counters.unwrap_or_default();
                    out.push_str(&format!("[{}:{}] ", k.packets, k.bytes));
                }
                out.push_str(&r.save_line(&c.name, self.family));
                out.push('\n');
            }
        }
        out.push_str("COMMIT\n");
        out
    }

    /// The whole ruleset as `iptables-save` prints it (without the `#` comment lines).
    pub fn save(&self, opts: SaveOptions) -> String {
        self.tables_in_save_order().iter().map(|t| self.save_table(&t.name, opts)).collect()
    }
}
