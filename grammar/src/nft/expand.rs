//! Expansion of `include`, `define`/`redefine`/`undefine` and `$variables`, so the compiler
//! sees one self-contained tree.
//!
//! Scoping follows nft: a `define` holds from its line to the end of the block it is written
//! in (the file, a table block, a chain block); inner blocks see outer definitions; a variable
//! must be defined before it is used. A definition's value is itself expanded when it is
//! defined. Included files are parsed in the context of the block that includes them and
//! share its scope (definitions in an included file stay visible after the include, as in
//! nft). Include paths are relative to the including file; a pattern with `*`, `?` or `[`
//! in its last component includes every matching regular file in alphabetical order (no match
//! is fine), a plain path that does not exist is an error. Includes nest at most
//! [`MAX_INCLUDE_DEPTH`] deep.

use super::actions::Fragment;
use super::ast::*;
use super::lexer::Tok;
use super::parser::{parse_commands, parse_fragment};
use crate::diag::Diagnostic;
use crate::span::{SourceMap, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How deep includes may nest (nft's limit).
pub const MAX_INCLUDE_DEPTH: usize = 16;

pub struct Expander<'s> {
    sources: &'s mut SourceMap,
    pub diags: Vec<Diagnostic>,
    scopes: Vec<HashMap<String, Expr>>,
    include_depth: usize,
}

/// Where an include stands, which decides how the included file is parsed.
#[derive(Clone, Copy)]
enum Context {
    Table,
    Chain,
}

impl<'s> Expander<'s> {
    pub fn new(sources: &'s mut SourceMap) -> Expander<'s> {
        Expander { sources, diags: vec![], scopes: vec![HashMap::new()], include_depth: 0 }
    }

    pub fn commands(&mut self, commands: Vec<Command>) -> Vec<Command> {
        let mut out = Vec::with_capacity(commands.len());
        for command in commands {
            match command {
                Command::Include { path, span } => {
                    for file in self.include_files(&path, span) {
                        let (cmds, diags) = parse_commands(self.sources, file);
                        self.diags.extend(diags);
                        self.include_depth += 1;
                        let expanded = self.commands(cmds);
                        self.include_depth -= 1;
                        out.extend(expanded);
                    }
                }
                Command::Define(d) => self.define(d),
                other => out.push(self.command(other)),
            }
        }
        out
    }

    fn command(&mut self, command: Command) -> Command {
        match command {
            Command::Table { verb, spec, body, span } => {
                let body = body.map(|b| self.scoped(|x| x.table_body(b)));
                Command::Table { verb, spec, body, span }
            }
            Command::Chain { verb, spec, body, span } => {
                let body = body.map(|b| self.scoped(|x| x.chain_body(b)));
                Command::Chain { verb, spec, body, span }
            }
            Command::Rule { verb, spec, locator, rule, span } => {
                Command::Rule { verb, spec, locator, rule: rule.map(|r| self.rule(r)), span }
            }
            Command::Set { verb, kind, spec, body, span } => {
                Command::Set { verb, kind, spec, body: body.map(|b| self.set_body(b)), span }
            }
            Command::Element { verb, spec, elements, span } => {
                Command::Element { verb, spec, elements: self.elems(elements), span }
            }
            Command::Flowtable { verb, spec, body, span } => {
                Command::Flowtable { verb, spec, body: body.map(|b| self.props(b)), span }
            }
            Command::Object { verb, kind, spec, body, span } => {
                Command::Object { verb, kind, spec, body: body.map(|b| self.props(b)), span }
            }
            other => other,
        }
    }

    fn scoped<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.scopes.push(HashMap::new());
        let out = f(self);
        self.scopes.pop();
        out
    }

    fn define(&mut self, d: Define) {
        let name = d.name.name.clone();
        match d.kind {
            DefineKind::Define | DefineKind::Redefine => {
                let Some(value) = d.value else { return };
                let value = self.expr(value);
                let scope = if d.kind == DefineKind::Redefine {
                    self.scopes.iter().rposition(|s| s.contains_key(&name)).unwrap_or(self.scopes.len() - 1)
                } else {
                    self.scopes.len() - 1
                };
                if let Some(s) = self.scopes.get_mut(scope) {
                    s.insert(name, value);
                }
            }
            DefineKind::Undefine => match self.scopes.iter().rposition(|s| s.contains_key(&name)) {
                Some(i) => {
                    self.scopes[i].remove(&name);
                }
                None => self.diags.push(Diagnostic::error(d.name.span, format!("undefined symbol '{name}'"))),
            },
        }
    }

    fn lookup(&mut self, var: &Atom) -> Option<Expr> {
        let found = self.scopes.iter().rev().find_map(|s| s.get(&var.text)).cloned();
        if found.is_none() {
            self.diags.push(Diagnostic::error(var.span, format!("unknown identifier '{}'", var.text)));
        }
        found
    }

    // ------------------------------------------------------------------ blocks

    fn table_body(&mut self, body: TableBody) -> TableBody {
        let items = self.table_items(body.items);
        TableBody { items, span: body.span }
    }

    fn table_items(&mut self, items: Vec<TableItem>) -> Vec<TableItem> {
        let mut out = vec![];
        for item in items {
            match item {
                TableItem::Include { path, span } => {
                    if let Some(Fragment::Table(items)) = self.include_fragment(&path, span, Context::Table) {
                        out.extend(items);
                    }
                }
                TableItem::Define(d) => self.define(d),
                TableItem::Chain { name, body, span } => {
                    let body = self.scoped(|x| x.chain_body(body));
                    out.push(TableItem::Chain { name, body, span });
                }
                TableItem::Set { kind, name, body, span } => {
                    out.push(TableItem::Set { kind, name, body: self.set_body(body), span })
                }
                TableItem::Flowtable { name, body, span } => {
                    out.push(TableItem::Flowtable { name, body: self.props(body), span })
                }
                TableItem::Object { kind, name, body, span } => {
                    out.push(TableItem::Object { kind, name, body: self.props(body), span })
                }
                other => out.push(other),
            }
        }
        // Items of included fragments still need expanding.
        out
    }

    fn chain_body(&mut self, body: ChainBody) -> ChainBody {
        let items = self.chain_items(body.items);
        ChainBody { items, span: body.span }
    }

    fn chain_items(&mut self, items: Vec<ChainItem>) -> Vec<ChainItem> {
        let mut out = vec![];
        for item in items {
            match item {
                ChainItem::Include { path, span } => {
                    if let Some(Fragment::Chain(items)) = self.include_fragment(&path, span, Context::Chain) {
                        out.extend(items);
                    }
                }
                ChainItem::Define(d) => self.define(d),
                ChainItem::Rule(r) => out.push(ChainItem::Rule(self.rule(r))),
                ChainItem::Hook(mut h) => {
                    h.devices = h.devices.map(|d| self.expr(d));
                    if let Some(p) = h.priority.as_mut() {
                        p.base = self.atom(p.base.clone());
                    }
                    out.push(ChainItem::Hook(h));
                }
                ChainItem::Policy { policy, span } => {
                    out.push(ChainItem::Policy { policy: self.atom(policy), span })
                }
                ChainItem::Devices { devices, span } => {
                    out.push(ChainItem::Devices { devices: self.expr(devices), span })
                }
                other => out.push(other),
            }
        }
        out
    }

    fn set_body(&mut self, body: SetBody) -> SetBody {
        let mut props = vec![];
        for p in body.props {
            match p {
                SetProp::Define(d) => self.define(d),
                SetProp::Elements { elements, span } => {
                    props.push(SetProp::Elements { elements: self.expr(elements), span })
                }
                SetProp::Typeof { key, data, span } => props.push(SetProp::Typeof {
                    key: self.expr(key),
                    data: data.map(|d| self.expr(d)),
                    span,
                }),
                SetProp::Stmts(v) => {
                    props.push(SetProp::Stmts(v.into_iter().map(|s| self.stmt(s)).collect()))
                }
                SetProp::Size { size, span } => props.push(SetProp::Size { size: self.atom(size), span }),
                SetProp::Timeout { timeout, span } => {
                    props.push(SetProp::Timeout { timeout: self.atom(timeout), span })
                }
                other => props.push(other),
            }
        }
        SetBody { props, span: body.span }
    }

    fn props(&mut self, block: PropertyBlock) -> PropertyBlock {
        let props = block
            .props
            .into_iter()
            .map(|p| Property {
                words: p.words.into_iter().map(|a| self.atom(a)).collect(),
                value: p.value.map(|v| self.expr(v)),
                block: p.block.map(|b| self.props(b)),
                span: p.span,
            })
            .collect();
        PropertyBlock { props, span: block.span }
    }

    // ------------------------------------------------------------------ includes

    fn include_fragment(&mut self, path: &Atom, span: Span, context: Context) -> Option<Fragment> {
        let start = match context {
            Context::Table => Tok::StartTable,
            Context::Chain => Tok::StartChain,
        };
        let mut merged: Option<Fragment> = None;
        for file in self.include_files(path, span) {
            let (fragment, diags) = parse_fragment(self.sources, file, start);
            self.diags.extend(diags);
            self.include_depth += 1;
            let expanded = match fragment {
                Some(Fragment::Table(items)) => Some(Fragment::Table(self.table_items(items))),
                Some(Fragment::Chain(items)) => Some(Fragment::Chain(self.chain_items(items))),
                None => None,
            };
            self.include_depth -= 1;
            merged = match (merged, expanded) {
                (Some(Fragment::Table(mut a)), Some(Fragment::Table(b))) => {
                    a.extend(b);
                    Some(Fragment::Table(a))
                }
                (Some(Fragment::Chain(mut a)), Some(Fragment::Chain(b))) => {
                    a.extend(b);
                    Some(Fragment::Chain(a))
                }
                (None, b) => b,
                (a, _) => a,
            };
        }
        merged
    }

    /// Load the files an `include` names into the source map.
    fn include_files(&mut self, path: &Atom, span: Span) -> Vec<crate::span::FileId> {
        if self.include_depth + 1 >= MAX_INCLUDE_DEPTH {
            self.diags.push(Diagnostic::error(
                span,
                format!("Include nested too deeply, max {MAX_INCLUDE_DEPTH} levels"),
            ));
            return vec![];
        }
        let including = Path::new(&self.sources.file(span.file).name).parent().map(Path::to_path_buf);
        let target = Path::new(&path.text);
        let full: PathBuf = match (&including, target.is_absolute()) {
            (Some(dir), false) => dir.join(target),
            _ => target.to_path_buf(),
        };
        let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let paths = if name.contains(['*', '?', '[']) {
            let dir = full.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .filter(|p| {
                            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| glob_match(name, n))
                        })
                        .collect()
                })
                .unwrap_or_default();
            found.sort();
            found
        } else if full.is_file() {
            vec![full]
        } else {
            self.diags.push(Diagnostic::error(span, format!("File not found: {}", path.text)));
            return vec![];
        };
        let mut files = vec![];
        for p in paths {
            match std::fs::read_to_string(&p) {
                Ok(text) => files.push(self.sources.add(p.to_string_lossy(), text)),
                Err(e) => self
                    .diags
                    .push(Diagnostic::error(span, format!("Could not open file \"{}\": {e}", p.display()))),
            }
        }
        files
    }

    // ------------------------------------------------------------------ rules and expressions

    fn rule(&mut self, rule: Rule) -> Rule {
        Rule { stmts: rule.stmts.into_iter().map(|s| self.stmt(s)).collect(), span: rule.span }
    }

    fn opt(&mut self, e: Option<Expr>) -> Option<Expr> {
        e.map(|e| self.expr(e))
    }

    fn stmt(&mut self, stmt: Stmt) -> Stmt {
        use StmtKind as K;
        let kind = match stmt.kind {
            K::Match(r) => K::Match(Relation { lhs: self.expr(r.lhs), op: r.op, rhs: self.opt(r.rhs) }),
            K::Set { target, value } => K::Set { target: self.expr(target), value: self.expr(value) },
            K::Verdict(v) => K::Verdict(self.verdict(v)),
            K::Counter { name, packets, bytes } => K::Counter { name: self.opt(name), packets, bytes },
            K::Limit(Limit::Named(e)) => K::Limit(Limit::Named(self.expr(e))),
            K::Limit(Limit::Rate { over, amount, byte_unit, per, burst }) => {
                K::Limit(Limit::Rate { over, amount: self.atom(amount), byte_unit, per, burst })
            }
            K::Quota(Quota::Named(e)) => K::Quota(Quota::Named(self.expr(e))),
            K::Log(opts) => K::Log(
                opts.into_iter()
                    .map(|o| match o {
                        LogOption::Prefix(a) => LogOption::Prefix(self.atom(a)),
                        LogOption::Level(a) => LogOption::Level(self.atom(a)),
                        LogOption::Group(a) => LogOption::Group(self.atom(a)),
                        LogOption::Snaplen(a) => LogOption::Snaplen(self.atom(a)),
                        LogOption::QueueThreshold(a) => LogOption::QueueThreshold(self.atom(a)),
                        LogOption::Flags(e) => LogOption::Flags(e),
                    })
                    .collect(),
            ),
            K::Reject { with } => K::Reject { with: self.opt(with) },
            K::Nat(mut n) => {
                n.addr = self.opt(n.addr);
                n.port = self.opt(n.port);
                K::Nat(n)
            }
            K::Queue(opts) => K::Queue(
                opts.into_iter()
                    .map(|o| match o {
                        QueueOption::Num(e) => QueueOption::Num(self.expr(e)),
                        QueueOption::To(e) => QueueOption::To(self.expr(e)),
                        other => other,
                    })
                    .collect(),
            ),
            K::Dup { to, device } => K::Dup { to: self.expr(to), device: self.opt(device) },
            K::Fwd { family, to, device } => K::Fwd { family, to: self.expr(to), device: self.opt(device) },
            K::Tproxy { family, addr, port } => {
                K::Tproxy { family, addr: self.opt(addr), port: self.opt(port) }
            }
            K::Synproxy { name, options } => K::Synproxy { name: self.opt(name), options },
            K::DynSet { op, set, elem } => K::DynSet { op, set, elem: self.elem(elem) },
            K::Reset(e) => K::Reset(self.expr(e)),
            K::Meter { name, size, elem } => K::Meter { name, size, elem: self.elem(elem) },
            K::Comment(a) => K::Comment(self.atom(a)),
            other => other,
        };
        Stmt { kind, span: stmt.span }
    }

    fn verdict(&mut self, v: Verdict) -> Verdict {
        let kind = match v.kind {
            VerdictKind::Jump(t) => VerdictKind::Jump(self.jump_target(t)),
            VerdictKind::Goto(t) => VerdictKind::Goto(self.jump_target(t)),
            other => other,
        };
        Verdict { kind, span: v.span }
    }

    fn jump_target(&mut self, t: JumpTarget) -> JumpTarget {
        match t {
            JumpTarget::Chain(a) => JumpTarget::Chain(self.atom(a)),
            JumpTarget::Anonymous(body) => JumpTarget::Anonymous(self.scoped(|x| x.chain_body(body))),
        }
    }

    fn elems(&mut self, elems: Vec<SetElem>) -> Vec<SetElem> {
        elems.into_iter().map(|e| self.elem(e)).collect()
    }

    fn elem(&mut self, e: SetElem) -> SetElem {
        SetElem {
            key: self.expr(e.key),
            key_options: self.elem_options(e.key_options),
            data: self.opt(e.data),
            data_options: self.elem_options(e.data_options),
            span: e.span,
        }
    }

    fn elem_options(&mut self, opts: Vec<ElemOption>) -> Vec<ElemOption> {
        opts.into_iter()
            .map(|o| match o {
                ElemOption::Timeout(a) => ElemOption::Timeout(self.atom(a)),
                ElemOption::Expires(a) => ElemOption::Expires(self.atom(a)),
                ElemOption::Comment(a) => ElemOption::Comment(self.atom(a)),
                ElemOption::Stmt(s) => ElemOption::Stmt(self.stmt(s)),
            })
            .collect()
    }

    pub fn expr(&mut self, e: Expr) -> Expr {
        let kind = match e.kind {
            ExprKind::Run(items) => ExprKind::Run(self.items(items)),
            ExprKind::Binary { op, lhs, rhs } => {
                ExprKind::Binary { op, lhs: Box::new(self.expr(*lhs)), rhs: Box::new(self.expr(*rhs)) }
            }
            ExprKind::Concat(parts) => ExprKind::Concat(parts.into_iter().map(|p| self.expr(p)).collect()),
            ExprKind::Map { kind, key, data } => {
                ExprKind::Map { kind, key: Box::new(self.expr(*key)), data: Box::new(self.expr(*data)) }
            }
        };
        Expr { kind, span: e.span }
    }

    fn items(&mut self, items: Vec<Item>) -> Vec<Item> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let span = item.span;
            let kind = match item.kind {
                ItemKind::Atom(a) if a.kind == AtomKind::Var => {
                    match self.lookup(&a) {
                        Some(Expr { kind: ExprKind::Run(values), .. }) => out.extend(values),
                        Some(value) => out.push(Item { kind: ItemKind::Group(Box::new(value)), span }),
                        None => out.push(Item { kind: ItemKind::Atom(a), span }),
                    }
                    continue;
                }
                ItemKind::Range(a, b) => ItemKind::Range(Box::new(self.atom(*a)), Box::new(self.atom(*b))),
                ItemKind::List(v) => ItemKind::List(self.atoms(v)),
                ItemKind::Mask(a, b) => ItemKind::Mask(self.atoms(a), self.atoms(b)),
                ItemKind::Set(elems) => ItemKind::Set(self.elems(elems)),
                ItemKind::Group(e) => ItemKind::Group(Box::new(self.expr(*e))),
                ItemKind::Verdict(v) => ItemKind::Verdict(Box::new(self.verdict(*v))),
                ItemKind::Numgen(n) => {
                    let NumgenItem { mode, modulus, offset } = *n;
                    let (modulus, offset) = (self.atom(modulus), offset.map(|o| self.atom(o)));
                    ItemKind::Numgen(Box::new(NumgenItem { mode, modulus, offset }))
                }
                ItemKind::Hash(h) => {
                    let HashItem { kind, expr, modulus, seed, offset } = *h;
                    ItemKind::Hash(Box::new(HashItem {
                        kind,
                        expr: expr.map(|e| Box::new(self.expr(*e))),
                        modulus: self.atom(modulus),
                        seed: seed.map(|s| self.atom(s)),
                        offset: offset.map(|o| self.atom(o)),
                    }))
                }
                other => other,
            };
            out.push(Item { kind, span });
        }
        out
    }

    fn atoms(&mut self, atoms: Vec<Atom>) -> Vec<Atom> {
        let mut out = Vec::with_capacity(atoms.len());
        for a in atoms {
            if a.kind != AtomKind::Var {
                out.push(a);
                continue;
            }
            // A variable in a list expands to its values when they are plain atoms.
            match self.lookup(&a) {
                Some(Expr { kind: ExprKind::Run(items), .. }) => {
                    for it in items {
                        match it.kind {
                            ItemKind::Atom(v) => out.push(v),
                            ItemKind::List(vs) => out.extend(vs),
                            _ => {
                                self.diags.push(Diagnostic::error(
                                    a.span,
                                    format!("variable '{}' cannot be used here", a.text),
                                ));
                            }
                        }
                    }
                }
                Some(_) => self
                    .diags
                    .push(Diagnostic::error(a.span, format!("variable '{}' cannot be used here", a.text))),
                None => out.push(a),
            }
        }
        out
    }

    /// A single atom: a variable must hold exactly one plain value here.
    fn atom(&mut self, a: Atom) -> Atom {
        if a.kind != AtomKind::Var {
            return a;
        }
        match self.lookup(&a) {
            Some(Expr { kind: ExprKind::Run(items), .. }) if items.len() == 1 => match &items[0].kind {
                ItemKind::Atom(v) => v.clone(),
                _ => {
                    self.diags.push(Diagnostic::error(
                        a.span,
                        format!("variable '{}' cannot be used here", a.text),
                    ));
                    a
                }
            },
            Some(_) => {
                self.diags
                    .push(Diagnostic::error(a.span, format!("variable '{}' cannot be used here", a.text)));
                a
            }
            None => a,
        }
    }
}

/// Shell-style match of one path component: `*`, `?` and `[…]` classes (with `!`/`^`
/// negation and `a-z` ranges).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with single-star backtracking (no recursion, linear-ish time).
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Match `c` against the class starting at `p[start] == '['`: `(matched, index after ']')`,
/// or `None` when the class is not closed.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*.nft", "a.nft"));
        assert!(!glob_match("*.nft", "a.conf"));
        assert!(glob_match("r?les-[0-9].nft", "rules-4.nft"));
        assert!(!glob_match("rules-[!0-9].nft", "rules-4.nft"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
    }
}
