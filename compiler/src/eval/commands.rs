//! Commands: `add|create|insert|replace|delete|destroy|flush|reset` of tables, chains, rules,
//! sets, elements, objects and flowtables, and `flush ruleset` — applied in file order to
//! the ruleset under construction, with the kernel's rules for what may exist twice, what
//! must exist, and where a rule goes.

use super::{EBUSY, EEXIST, ENOENT, Evaluator, closest};
use crate::ir::{Chain, Family, Rule, Table};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{self, Command, Verb};

/// The IR family of an AST family.
pub(crate) fn family(f: Option<ast::Family>) -> Family {
    match f.unwrap_or(ast::Family::Ip) {
        ast::Family::Ip => Family::Ip,
        ast::Family::Ip6 => Family::Ip6,
        ast::Family::Inet => Family::Inet,
        ast::Family::Arp => Family::Arp,
        ast::Family::Bridge => Family::Bridge,
        ast::Family::Netdev => Family::Netdev,
    }
}

/// Where a rule command puts its rule.
enum Place {
    End,
    Start,
    /// After the rule at this index (`add … handle N`).
    After(usize),
    /// Before it (`insert … handle N`).
    Before(usize),
    /// Instead of it, keeping its handle (`replace … handle N`).
    Replace(usize),
}

impl Evaluator {
    /// Run one top-level command.
    pub(super) fn command(&mut self, cmd: &Command) {
        match cmd {
            Command::FlushRuleset { family: fam, .. } => {
                let only = fam.map(|f| family(Some(f)));
                self.ruleset.tables.retain(|t| only.is_some_and(|f| f != t.family));
            }
            Command::Table { verb, spec, body, span } => {
                self.table_command(*verb, spec, body.as_ref(), *span)
            }
            Command::Chain { verb, spec, body, span } => {
                self.chain_command(*verb, spec, body.as_ref(), *span)
            }
            Command::RenameChain { spec, new_name, .. } => self.rename_chain(spec, new_name),
            Command::Rule { verb, spec, locator, rule, span } => {
                self.rule_command(*verb, spec, locator.as_ref(), rule.as_ref(), *span)
            }
            Command::Set { verb, kind, spec, body, span } => {
                self.set_command(*verb, *kind, spec, body.as_ref(), *span)
            }
            Command::Element { verb, spec, elements, span } => {
                self.element_command(*verb, spec, elements, *span)
            }
            Command::Flowtable { verb, spec, body, span } => {
                self.flowtable_command(*verb, spec, body.as_ref(), *span)
            }
            Command::Object { verb, kind, spec, body, span } => {
                self.object_command(*verb, kind, spec, body.as_ref(), *span)
            }
            Command::Include { .. } | Command::Define(_) => {}
        }
    }

    /// The table a command names, or an error (`No such file or directory`, with a
    /// suggestion when a similar table exists).
    pub(super) fn find_table(&mut self, spec: &ast::Spec) -> Option<(Family, String)> {
        let fam = family(spec.family);
        let Some(name) = &spec.table else {
            self.error(spec.span, "missing table name");
            return None;
        };
        if self.ruleset.table(fam, &name.name).is_some() {
            return Some((fam, name.name.clone()));
        }
        let msg = match self.ruleset.tables.iter().find(|t| t.name == name.name).or_else(|| {
            let c = closest(&name.name, self.ruleset.tables.iter().map(|t| t.name.as_str()))?;
            self.ruleset.tables.iter().find(|t| t.name == c)
        }) {
            Some(t) => format!("{ENOENT}; did you mean table '{}' in family {}?", t.name, t.family.name()),
            None => ENOENT.to_string(),
        };
        self.error(name.span, msg);
        None
    }

    pub(super) fn table_mut(&mut self, key: &(Family, String)) -> Option<&mut Table> {
        self.ruleset.table_mut(key.0, &key.1)
    }

    pub(super) fn table_ref(&self, key: &(Family, String)) -> Option<&Table> {
        self.ruleset.table(key.0, &key.1)
    }

    /// The chain a command names (error if it does not exist).
    pub(super) fn find_chain(&mut self, key: &(Family, String), name: &ast::Ident) -> bool {
        let Some(t) = self.table_ref(key) else { return false };
        if t.chain(&name.name).is_some() {
            return true;
        }
        let msg = match closest(&name.name, t.chains.iter().filter(|c| !c.binding).map(|c| c.name.as_str())) {
            Some(c) => format!("{ENOENT}; did you mean chain '{c}' in table {} '{}'?", key.0.name(), key.1),
            None => ENOENT.to_string(),
        };
        self.error(name.span, msg);
        false
    }

    fn table_command(&mut self, verb: Verb, spec: &ast::Spec, body: Option<&ast::TableBody>, span: Span) {
        let fam = family(spec.family);
        match verb {
            Verb::Block | Verb::Add | Verb::Create => {
                let Some(name) = &spec.table else {
                    self.error(spec.span, "missing table name");
                    return;
                };
                if self.ruleset.table(fam, &name.name).is_some() {
                    if verb == Verb::Create {
                        self.error(span, format!("Could not process rule: {EEXIST}"));
                        return;
                    }
                } else {
                    let mut t = Table::new(fam, name.name.clone());
                    t.span = span;
                    t.handle = self.next_table_handle;
                    self.next_table_handle += 1;
                    self.ruleset.tables.push(t);
                }
                if let Some(body) = body {
                    self.table_body((fam, name.name.clone()), body);
                }
            }
            Verb::Delete | Verb::Destroy => {
                if let Some(h) = &spec.handle {
                    let n = h.number();
                    let before = self.ruleset.tables.len();
                    self.ruleset.tables.retain(|t| !(t.family == fam && Some(t.handle) == n));
                    if before == self.ruleset.tables.len() && verb == Verb::Delete {
                        self.error(h.span, format!("Could not process rule: {ENOENT}"));
                    }
                    return;
                }
                let Some(name) = &spec.table else { return };
                if self.ruleset.table(fam, &name.name).is_none() {
                    if verb == Verb::Delete {
                        self.find_table(spec);
                    }
                    return;
                }
                self.ruleset.tables.retain(|t| !(t.family == fam && t.name == name.name));
            }
            Verb::Flush => {
                if let Some(key) = self.find_table(spec)
                    && let Some(t) = self.table_mut(&key)
                {
                    for c in &mut t.chains {
                        c.rules.clear();
                    }
                }
            }
            Verb::Reset | Verb::Insert | Verb::Replace => {
                self.find_table(spec);
            }
        }
    }

    /// The items of `table … { … }`, in nft's expansion order: table properties, chain
    /// declarations, objects, sets, flowtables, then every chain's rules.
    fn table_body(&mut self, key: (Family, String), body: &ast::TableBody) {
        for item in &body.items {
            match item {
                ast::TableItem::Flags { flags, .. } => self.table_flags(&key, flags),
                ast::TableItem::Comment { text, .. } => {
                    if let Some(t) = self.table_mut(&key) {
                        t.comment = Some(text.text.clone());
                    }
                }
                _ => {}
            }
        }
        for item in &body.items {
            if let ast::TableItem::Chain { name, body, span } = item {
                self.declare_chain(&key, name, Some(body), *span, false);
            }
        }
        for item in &body.items {
            if let ast::TableItem::Object { kind, name, body, span } = item {
                self.declare_object(&key, kind, name, Some(body), *span, false);
            }
        }
        for item in &body.items {
            if let ast::TableItem::Set { kind, name, body, span } = item {
                self.declare_set(&key, *kind, name, Some(body), *span, false);
            }
        }
        for item in &body.items {
            if let ast::TableItem::Flowtable { name, body, span } = item {
                self.declare_flowtable(&key, name, Some(body), *span, false);
            }
        }
        for item in &body.items {
            if let ast::TableItem::Chain { name, body, .. } = item {
                self.chain_rules(&key, &name.name, body);
            }
        }
    }

    fn table_flags(&mut self, key: &(Family, String), flags: &[ast::Atom]) {
        let mut parsed = crate::ir::TableFlags::default();
        for f in flags {
            match f.text.as_str() {
                "dormant" => parsed.dormant = true,
                "owner" => parsed.owner = true,
                "persist" => parsed.persist = true,
                other => {
                    self.error(f.span, format!("unknown table option {other}"));
                    return;
                }
            }
        }
        if let Some(t) = self.table_mut(key) {
            t.flags = parsed;
        }
    }

    fn chain_command(&mut self, verb: Verb, spec: &ast::Spec, body: Option<&ast::ChainBody>, span: Span) {
        let Some(key) = self.find_table(spec) else { return };
        match verb {
            Verb::Block | Verb::Add | Verb::Create => {
                let Some(name) = &spec.name else {
                    self.error(spec.span, "missing chain name");
                    return;
                };
                self.declare_chain(&key, name, body, span, verb == Verb::Create);
                if let Some(body) = body {
                    self.chain_rules(&key, &name.name, body);
                }
            }
            Verb::Delete | Verb::Destroy => {
                let name = match (&spec.name, &spec.handle) {
                    (Some(n), _) => n.name.clone(),
                    (None, Some(h)) => {
                        let n = h.number();
                        match self.table_ref(&key).and_then(|t| t.chains.iter().find(|c| Some(c.handle) == n))
                        {
                            Some(c) => c.name.clone(),
                            None => {
                                if verb == Verb::Delete {
                                    self.error(h.span, format!("Could not process rule: {ENOENT}"));
                                }
                                return;
                            }
                        }
                    }
                    _ => return,
                };
                let Some(t) = self.table_ref(&key) else { return };
                let Some(chain) = t.chain(&name) else {
                    if verb == Verb::Delete
                        && let Some(n) = &spec.name
                    {
                        self.find_chain(&key, n);
                    }
                    return;
                };
                let referenced = t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        r.stmts.iter().any(|s| {
                            matches!(&s.kind, crate::ir::StmtKind::Verdict(v) if v.target() == Some(chain.name.as_str()))
                        })
                    })
                });
                if !chain.rules.is_empty() || referenced {
                    self.error(span, format!("Could not process rule: {EBUSY}"));
                    return;
                }
                if let Some(t) = self.table_mut(&key) {
                    t.chains.retain(|c| c.name != name);
                }
            }
            Verb::Flush => {
                let Some(name) = &spec.name else { return };
                if self.find_chain(&key, name)
                    && let Some(c) = self.table_mut(&key).and_then(|t| t.chain_mut(&name.name))
                {
                    c.rules.clear();
                }
            }
            Verb::Reset | Verb::Insert | Verb::Replace => {
                if let Some(name) = &spec.name {
                    self.find_chain(&key, name);
                }
            }
        }
    }

    /// Create (or update) a chain declaration; rules come later ([`Self::chain_rules`]).
    pub(super) fn declare_chain(
        &mut self,
        key: &(Family, String),
        name: &ast::Ident,
        body: Option<&ast::ChainBody>,
        span: Span,
        create: bool,
    ) {
        let spec = match body {
            Some(b) => self.chain_spec(key.0, b),
            None => Some(Default::default()),
        };
        let Some(spec) = spec else { return };
        let exists = self.table_ref(key).and_then(|t| t.chain(&name.name)).is_some();
        if exists {
            if create {
                self.error(span, format!("Could not process rule: {EEXIST}"));
                return;
            }
            let Some(chain) = self.table_mut(key).and_then(|t| t.chain_mut(&name.name)) else { return };
            if let Some(c) = spec.comment {
                chain.comment = Some(c);
            }
            match (&mut chain.base, spec.base) {
                (Some(cur), Some(new)) => {
                    if cur.hook != new.hook || cur.chain_type != new.chain_type {
                        let msg = format!("Could not process rule: {}", super::EOPNOTSUPP);
                        self.error(span, msg);
                        return;
                    }
                    if spec.policy_given {
                        cur.policy = new.policy;
                    }
                }
                (None, Some(_)) => {
                    self.error(span, format!("Could not process rule: {}", super::EOPNOTSUPP));
                }
                (Some(cur), None) => {
                    if spec.policy_given {
                        cur.policy = spec.policy;
                    }
                }
                (None, None) => {}
            }
            return;
        }
        if name.name.len() > 255 {
            self.error(name.span, "chain name too long");
            return;
        }
        let handle = self.next_handle(key.0, &key.1);
        let mut chain = Chain::new(name.name.clone());
        chain.span = span;
        chain.handle = handle;
        chain.comment = spec.comment;
        chain.base = spec.base;
        if let Some(t) = self.table_mut(key) {
            t.chains.push(chain);
        }
    }

    /// Add the rules of a chain body to an existing chain.
    pub(super) fn chain_rules(&mut self, key: &(Family, String), chain: &str, body: &ast::ChainBody) {
        for item in &body.items {
            if let ast::ChainItem::Rule(r) = item {
                if self.table_ref(key).and_then(|t| t.chain(chain)).is_none() {
                    return;
                }
                if let Some(rule) = self.eval_rule(key, chain, r) {
                    self.place_rule(key, chain, rule, Place::End);
                }
            }
        }
    }

    fn rename_chain(&mut self, spec: &ast::Spec, new_name: &ast::Ident) {
        let Some(key) = self.find_table(spec) else { return };
        let Some(name) = &spec.name else { return };
        if !self.find_chain(&key, name) {
            return;
        }
        if self.table_ref(&key).and_then(|t| t.chain(&new_name.name)).is_some() {
            self.error(new_name.span, format!("Could not process rule: {EEXIST}"));
            return;
        }
        if let Some(t) = self.table_mut(&key) {
            for c in &mut t.chains {
                for r in &mut c.rules {
                    for s in &mut r.stmts {
                        if let crate::ir::StmtKind::Verdict(
                            crate::ir::Verdict::Jump(target) | crate::ir::Verdict::Goto(target),
                        ) = &mut s.kind
                            && *target == name.name
                        {
                            *target = new_name.name.clone();
                        }
                    }
                }
            }
            if let Some(c) = t.chain_mut(&name.name) {
                c.name = new_name.name.clone();
            }
        }
    }

    fn rule_command(
        &mut self,
        verb: Verb,
        spec: &ast::Spec,
        locator: Option<&ast::RuleLocator>,
        rule: Option<&ast::Rule>,
        span: Span,
    ) {
        let Some(key) = self.find_table(spec) else { return };
        let Some(chain_name) = &spec.name else {
            self.error(spec.span, "missing chain name");
            return;
        };
        if !self.find_chain(&key, chain_name) {
            return;
        }
        let chain = chain_name.name.clone();
        // Where the locator points.
        let index = match locator {
            None => None,
            Some(ast::RuleLocator::Handle(h) | ast::RuleLocator::Position(h)) => {
                let n = h.number();
                let found = self
                    .table_ref(&key)
                    .and_then(|t| t.chain(&chain))
                    .and_then(|c| c.rules.iter().position(|r| Some(r.handle) == n));
                match found {
                    Some(i) => Some(i),
                    None => {
                        self.error(h.span, format!("Could not process rule: {ENOENT}"));
                        return;
                    }
                }
            }
            Some(ast::RuleLocator::Index(ix)) => {
                let n = ix.number().unwrap_or(u64::MAX);
                let len = self.table_ref(&key).and_then(|t| t.chain(&chain)).map_or(0, |c| c.rules.len());
                match usize::try_from(n) {
                    Ok(i) if i < len => Some(i),
                    _ => {
                        self.error(ix.span, format!("Could not process rule: {ENOENT}"));
                        return;
                    }
                }
            }
        };
        match verb {
            Verb::Delete | Verb::Destroy => match index {
                Some(i) => {
                    if let Some(c) = self.table_mut(&key).and_then(|t| t.chain_mut(&chain)) {
                        c.rules.remove(i);
                    }
                }
                None => self.error(span, "delete rule needs a handle"),
            },
            Verb::Add | Verb::Block | Verb::Create | Verb::Insert | Verb::Replace => {
                let Some(r) = rule else { return };
                if verb == Verb::Replace && index.is_none() {
                    self.error(span, "replace rule needs a handle");
                    return;
                }
                let Some(mut ir_rule) = self.eval_rule(&key, &chain, r) else { return };
                ir_rule.span = span;
                let place = match (verb, index) {
                    (Verb::Replace, Some(i)) => Place::Replace(i),
                    (Verb::Insert, Some(i)) => Place::Before(i),
                    (_, Some(i)) => Place::After(i),
                    (Verb::Insert, None) => Place::Start,
                    (_, None) => Place::End,
                };
                self.place_rule(&key, &chain, ir_rule, place);
            }
            Verb::Flush | Verb::Reset => {}
        }
    }

    /// Insert an evaluated rule into its chain.
    fn place_rule(&mut self, key: &(Family, String), chain: &str, mut rule: Rule, place: Place) {
        if !matches!(place, Place::Replace(_)) {
            rule.handle = self.next_handle(key.0, &key.1);
        }
        let Some(c) = self.table_mut(key).and_then(|t| t.chain_mut(chain)) else { return };
        let len = c.rules.len();
        match place {
            Place::End => c.rules.push(rule),
            Place::Start => c.rules.insert(0, rule),
            Place::Before(i) => c.rules.insert(i.min(len), rule),
            Place::After(i) => c.rules.insert((i + 1).min(len), rule),
            Place::Replace(i) => {
                if let Some(old) = c.rules.get_mut(i) {
                    rule.handle = old.handle;
                    *old = rule;
                }
            }
        }
    }
}
