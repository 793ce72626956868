//! Helpers the generated parser's actions call: building atoms, names and nodes from token
//! spans, recording recovered syntax errors, and bounding tree depth.

use super::ast::*;
use super::lexer::Tok;
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
use lalrpop_util::ErrorRecovery;

/// A syntax error the parser recovered from.
pub type Recovered = ErrorRecovery<usize, Tok, std::convert::Infallible>;

/// Deepest expression tree the parser builds (deeper input gets a diagnostic instead).
pub const MAX_DEPTH: usize = 128;

/// Parser state shared by all actions.
pub struct Ctx<'a> {
    pub text: &'a str,
    pub file: FileId,
    pub recovered: Vec<Recovered>,
    pub errors: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(text: &'a str, file: FileId) -> Ctx<'a> {
        Ctx { text, file, recovered: vec![], errors: vec![] }
    }

    pub fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r.max(l))
    }

    fn slice(&self, l: usize, r: usize) -> &'a str {
        self.text.get(l..r).unwrap_or("")
    }

    /// An atom of the given kind from the token at `l..r`, with quotes, `$`, `@` and IPv6
    /// brackets removed from its text.
    pub fn atom(&self, kind: AtomKind, l: usize, r: usize) -> Atom {
        let raw = self.slice(l, r);
        let text = match kind {
            AtomKind::Quoted => raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""),
            AtomKind::Var | AtomKind::SetRef | AtomKind::RawPayload => raw.get(1..).unwrap_or(""),
            AtomKind::Ipv6 if raw.starts_with('[') => raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""),
            _ => raw,
        };
        Atom { kind, text: text.to_string(), span: self.span(l, r) }
    }

    /// A keyword or other token used as a plain word.
    pub fn word(&self, l: usize, r: usize) -> Atom {
        self.atom(AtomKind::Word, l, r)
    }

    pub fn ident(&self, l: usize, r: usize, quoted: bool) -> Ident {
        let raw = self.slice(l, r);
        let name = if quoted { raw.get(1..raw.len().saturating_sub(1)).unwrap_or("") } else { raw };
        Ident { name: name.to_string(), quoted, span: self.span(l, r) }
    }

    pub fn ident_of(&self, a: Atom) -> Ident {
        Ident { quoted: a.kind == AtomKind::Quoted, name: a.text, span: a.span }
    }

    pub fn recover(&mut self, e: Recovered) {
        self.recovered.push(e);
    }

    pub fn item(&self, kind: ItemKind, l: usize, r: usize) -> Item {
        Item { kind, span: self.span(l, r) }
    }

    pub fn expr(&self, kind: ExprKind, l: usize, r: usize) -> Expr {
        Expr { kind, span: self.span(l, r) }
    }

    /// Reject trees deeper than [`MAX_DEPTH`] (the later stages recurse over them).
    fn bounded(&mut self, e: Expr) -> Expr {
        if e.depth() > MAX_DEPTH {
            self.errors
                .push(Diagnostic::error(e.span, format!("expression nested too deeply (limit {MAX_DEPTH})")));
            return Expr { kind: ExprKind::Run(vec![]), span: e.span };
        }
        e
    }

    pub fn binary(&mut self, op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        self.bounded(Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span })
    }

    pub fn concat(&mut self, lhs: Expr, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        let kind = match lhs.kind {
            ExprKind::Concat(mut parts) => {
                parts.push(rhs);
                ExprKind::Concat(parts)
            }
            other => ExprKind::Concat(vec![Expr { kind: other, span: lhs.span }, rhs]),
        };
        self.bounded(Expr { kind, span })
    }

    pub fn map(&mut self, kind: MapKind, key: Expr, data: Expr) -> Expr {
        let span = key.span.to(data.span);
        self.bounded(Expr { kind: ExprKind::Map { kind, key: Box::new(key), data: Box::new(data) }, span })
    }

    pub fn run(&mut self, items: Vec<Item>, l: usize, r: usize) -> Expr {
        let e = self.expr(ExprKind::Run(items), l, r);
        self.bounded(e)
    }

    pub fn stmt(&self, kind: StmtKind, l: usize, r: usize) -> Stmt {
        Stmt { kind, span: self.span(l, r) }
    }

    pub fn spec(
        &self,
        family: Option<Family>,
        table: Option<Ident>,
        name: Option<Ident>,
        handle: Option<Atom>,
        l: usize,
        r: usize,
    ) -> Spec {
        Spec { family, table, name, handle, span: self.span(l, r) }
    }
}

impl Ctx<'_> {
    /// `… <op> v` after an expression chain: the previous right-hand side (or the bare first
    /// expression) gives up its trailing items as the new left-hand side.
    pub fn chain_relation(&mut self, mut chain: Vec<Stmt>, op: RelOp, op_span: Span, v: Expr) -> Vec<Stmt> {
        let lhs = match chain.pop() {
            Some(Stmt { kind: StmtKind::Match(Relation { lhs, op: None, .. }), .. }) => Some(lhs),
            Some(prev) => self.split_previous(&mut chain, prev, op_span),
            None => None,
        };
        if let Some(lhs) = lhs {
            let span = lhs.span.to(v.span);
            chain.push(Stmt {
                kind: StmtKind::Match(Relation { lhs, op: Some((op, op_span)), rhs: Some(v) }),
                span,
            });
        }
        chain
    }

    /// `… set v` after an expression chain (see [`Ctx::chain_relation`]).
    pub fn chain_set(&mut self, mut chain: Vec<Stmt>, op_span: Span, v: Expr) -> Vec<Stmt> {
        let target = match chain.pop() {
            Some(Stmt { kind: StmtKind::Match(Relation { lhs, op: None, .. }), .. }) => Some(lhs),
            Some(prev) => self.split_previous(&mut chain, prev, op_span),
            None => None,
        };
        if let Some(target) = target {
            let span = target.span.to(v.span);
            chain.push(Stmt { kind: StmtKind::Set { target, value: v }, span });
        }
        chain
    }

    /// Put `prev` back with its value cut after the first item of its last run; return the
    /// cut-off items (the next statement's left-hand side).
    fn split_previous(&mut self, chain: &mut Vec<Stmt>, prev: Stmt, op_span: Span) -> Option<Expr> {
        let (kind, rest) = match prev.kind {
            StmtKind::Match(Relation { lhs, op, rhs: Some(rhs) }) => {
                let (rhs, rest) = split_trailing(rhs);
                (StmtKind::Match(Relation { lhs, op, rhs: Some(rhs) }), rest)
            }
            StmtKind::Set { target, value } => {
                let (value, rest) = split_trailing(value);
                (StmtKind::Set { target, value }, rest)
            }
            mut other => {
                let rest = trailing_expr_mut(&mut other).and_then(|e| {
                    let placeholder = Expr { kind: ExprKind::Run(vec![]), span: e.span };
                    let (value, rest) = split_trailing(std::mem::replace(e, placeholder));
                    *e = value;
                    rest
                });
                (other, rest)
            }
        };
        let span = match &kind {
            StmtKind::Match(Relation { lhs, rhs: Some(rhs), .. }) => lhs.span.to(rhs.span),
            StmtKind::Set { target, value } => target.span.to(value.span),
            _ => prev.span,
        };
        chain.push(Stmt { kind, span });
        if rest.is_none() {
            self.errors.push(Diagnostic::error(op_span, "syntax error, missing expression before operator"));
        }
        rest
    }
}

/// The expression a keyword statement ends with, if any.
fn trailing_expr_mut(kind: &mut StmtKind) -> Option<&mut Expr> {
    match kind {
        StmtKind::Reject { with } => with.as_mut(),
        StmtKind::Counter { name, .. } | StmtKind::Synproxy { name, .. } => name.as_mut(),
        StmtKind::Limit(Limit::Named(e)) | StmtKind::Quota(Quota::Named(e)) | StmtKind::Reset(e) => Some(e),
        StmtKind::Nat(n) => {
            if n.port.is_some() {
                n.port.as_mut()
            } else {
                n.addr.as_mut()
            }
        }
        StmtKind::Dup { to, device } | StmtKind::Fwd { to, device, .. } => match device {
            Some(d) => Some(d),
            None => Some(to),
        },
        StmtKind::Tproxy { addr, port, .. } => {
            if port.is_some() {
                port.as_mut()
            } else {
                addr.as_mut()
            }
        }
        StmtKind::Queue(opts) => match opts.last_mut() {
            Some(QueueOption::To(e)) => Some(e),
            _ => None,
        },
        StmtKind::Log(opts) => match opts.last_mut() {
            Some(LogOption::Flags(e)) => Some(e),
            _ => None,
        },
        _ => None,
    }
}

/// Split an expression after the first item of its last run: `(value, trailing run)`.
/// Values are single items, so what follows the first item of the last run belongs to the next
/// statement.
pub fn split_trailing(e: Expr) -> (Expr, Option<Expr>) {
    let span = e.span;
    match e.kind {
        ExprKind::Run(mut items) if items.len() > 1 => {
            let rest = items.split_off(1);
            let first = items[0].span;
            let rest_span = rest[0].span.to(rest[rest.len() - 1].span);
            let value = Expr { kind: ExprKind::Run(items), span: Span { end: first.end, ..span } };
            (value, Some(Expr { kind: ExprKind::Run(rest), span: rest_span }))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (rhs, rest) = split_trailing(*rhs);
            if rest.is_some() {
                let span = lhs.span.to(rhs.span);
                return (Expr { kind: ExprKind::Binary { op, lhs, rhs: Box::new(rhs) }, span }, rest);
            }
            // `… != v meta mark & 0xf0 == 1`: the value ends inside the operator's left
            // side, and the operator belongs to the next statement's left-hand side.
            match split_trailing(*lhs) {
                (value, Some(next)) => {
                    let span = next.span.to(rhs.span);
                    (
                        value,
                        Some(Expr {
                            kind: ExprKind::Binary { op, lhs: Box::new(next), rhs: Box::new(rhs) },
                            span,
                        }),
                    )
                }
                (lhs, None) => {
                    let span = lhs.span.to(rhs.span);
                    (
                        Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span },
                        None,
                    )
                }
            }
        }
        // `… > 178 ip daddr . udp dport { … }`: the value is the first item of the first
        // part; the rest of it starts the next statement's concatenation.
        ExprKind::Concat(mut parts) if parts.first().and_then(Expr::as_run).is_some_and(|r| r.len() > 1) => {
            let first = parts.remove(0);
            let (value, rest) = split_trailing(first);
            if let Some(rest) = rest {
                parts.insert(0, rest);
            }
            let rest_span = parts[0].span.to(parts[parts.len() - 1].span);
            (value, Some(Expr { kind: ExprKind::Concat(parts), span: rest_span }))
        }
        ExprKind::Concat(mut parts) => match parts.pop() {
            Some(last) => {
                let (last, rest) = split_trailing(last);
                parts.push(last);
                let span = parts[0].span.to(parts[parts.len() - 1].span);
                (Expr { kind: ExprKind::Concat(parts), span }, rest)
            }
            None => (Expr { kind: ExprKind::Concat(parts), span }, None),
        },
        ExprKind::Map { kind, key, data } => {
            let (data, rest) = split_trailing(*data);
            let span = key.span.to(data.span);
            (Expr { kind: ExprKind::Map { kind, key, data: Box::new(data) }, span }, rest)
        }
        kind => (Expr { kind, span }, None),
    }
}

/// `a` followed by `rest` (the grammar collects statements right to left).
pub fn cons<T>(a: T, mut rest: Vec<T>) -> Vec<T> {
    rest.push(a);
    rest
}

/// A `counter packets N bytes N` option pair in either order.
pub fn counter_args(pairs: Vec<(bool, Atom)>) -> (Option<Atom>, Option<Atom>) {
    let mut packets = None;
    let mut bytes = None;
    for (is_packets, a) in pairs {
        if is_packets {
            packets = Some(a);
        } else {
            bytes = Some(a);
        }
    }
    (packets, bytes)
}

/// The items of an included file, parsed in the context of the block that includes it.
#[derive(Debug)]
pub enum Fragment {
    Table(Vec<TableItem>),
    Chain(Vec<ChainItem>),
}
