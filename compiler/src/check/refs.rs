//! Ruleset-wide references, checked as the kernel checks a table when it is loaded: every
//! jump/goto (also in verdict maps) targets an existing chain of the same table and never a
//! base chain; chains reachable from a base chain contain only statements that base chain's
//! type and hook allow; no loop is reachable from a base chain (`Too many links`, the
//! kernel's EMLINK); at most 16 nested jumps.

use crate::ir::{Expr, ExprKind, Ruleset, StmtKind, Table, Verdict};
use nftvm_grammar::{Diagnostic, Span};
use std::collections::{HashMap, HashSet};

fn unsupported() -> String {
    format!("Could not process rule: {}", crate::eval::EOPNOTSUPP)
}

/// Jump targets of a chain's rules, with the span of each jump.
fn targets(table: &Table, chain: usize) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let from_expr = |e: &Expr, span: Span, out: &mut Vec<(String, Span)>| {
        e.walk(&mut |x| {
            if let ExprKind::Verdict(Verdict::Jump(t) | Verdict::Goto(t)) = &x.kind {
                out.push((t.clone(), if x.span == Span::default() { span } else { x.span }));
            }
        });
    };
    for r in &table.chains[chain].rules {
        for s in &r.stmts {
            match &s.kind {
                StmtKind::Verdict(Verdict::Jump(t) | Verdict::Goto(t)) => out.push((t.clone(), s.span)),
                StmtKind::VerdictMap(e) => {
                    from_expr(e, s.span, &mut out);
                    if let ExprKind::Map(m) = &e.kind
                        && let ExprKind::SetRef(name) = &m.map.kind
                        && let Some(set) = table.set(name)
                    {
                        for el in &set.elems {
                            if let Some(d) = &el.data {
                                from_expr(d, s.span, &mut out);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The span of the chain name in `jump name` (the kernel's error points there).
fn name_span(span: Span, name: &str) -> Span {
    let len = name.len() as u32;
    if span.end >= span.start + len { Span { start: span.end - len, ..span } } else { span }
}

/// Check references, loops and what reachable chains may contain.
pub fn check(rs: &Ruleset) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for t in &rs.tables {
        let index: HashMap<&str, usize> =
            t.chains.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        let mut edges: Vec<Vec<(usize, Span)>> = vec![Vec::new(); t.chains.len()];
        for (ci, out) in edges.iter_mut().enumerate() {
            for (target, span) in targets(t, ci) {
                match index.get(target.as_str()) {
                    None => diags.push(Diagnostic::error(
                        span,
                        format!("Could not process rule: {}", crate::eval::ENOENT),
                    )),
                    Some(&ti) if t.chains[ti].base.is_some() => {
                        diags.push(Diagnostic::error(name_span(span, &target), unsupported()))
                    }
                    Some(&ti) => out.push((ti, span)),
                }
            }
        }
        // Verdict maps declared as named sets: their jump targets.
        for s in t.sets.iter().filter(|s| s.is_vmap()) {
            for e in &s.elems {
                if let Some(d) = &e.data
                    && let ExprKind::Verdict(Verdict::Jump(c) | Verdict::Goto(c)) = &d.kind
                    && !index.contains_key(c.as_str())
                {
                    diags.push(Diagnostic::error(
                        if d.span == Span::default() { e.span } else { d.span },
                        format!("Could not process rule: {}", crate::eval::ENOENT),
                    ));
                }
            }
        }
        diags.extend(from_base_chains(t, &edges));
    }
    diags
}

/// Walk from every base chain: loops, depth, and statements the base chain's hook refuses.
fn from_base_chains(t: &Table, edges: &[Vec<(usize, Span)>]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut reported: HashSet<(u32, u32)> = HashSet::new();
    for (bi, base) in t.chains.iter().enumerate() {
        let Some(b) = &base.base else { continue };
        // Depth-first over jump paths; `path` holds the chains on the current path.
        let mut stack: Vec<(usize, usize, Span)> = vec![(bi, 0, Span::default())];
        let mut path: Vec<usize> = vec![bi];
        let mut checked: HashSet<usize> = HashSet::new();
        while let Some(&(node, next, _)) = stack.last() {
            if next == 0 && node != bi && checked.insert(node) {
                // Statements of a reached chain under the base chain's hook.
                let mut bad = false;
                for r in &t.chains[node].rules {
                    for st in &r.stmts {
                        for d in super::chain_rules::violations(t.family, b.chain_type, b.hook, st) {
                            bad = true;
                            if reported.insert((d.span.start, d.span.end)) {
                                diags.push(d);
                            }
                        }
                    }
                }
                if bad {
                    // The jump from the base chain that leads here is refused too.
                    let first = stack.get(1).map(|e| e.2).unwrap_or_default();
                    if reported.insert((first.start, first.end)) {
                        diags.push(Diagnostic::error(first, unsupported()));
                    }
                }
            }
            if next < edges[node].len() {
                let (to, span) = edges[node][next];
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                if path.contains(&to) {
                    if reported.insert((span.start, span.end)) {
                        diags.push(Diagnostic::error(span, "Could not process rule: Too many links"));
                    }
                    continue;
                }
                if path.len() > 16 {
                    if reported.insert((span.start, span.end)) {
                        diags.push(Diagnostic::error(span, "Could not process rule: Too many links"));
                    }
                    continue;
                }
                path.push(to);
                stack.push((to, 0, span));
            } else {
                stack.pop();
                path.pop();
            }
        }
    }
    diags
}
