//! Ruleset-wide references: every jump/goto (also in verdict maps) targets an existing
//! chain of the same table, never a base chain; no chain can reach itself through jumps
//! (`Too many levels of symbolic links`, the kernel's ELOOP); named sets, maps and flowtables
//! that rules use exist.

use crate::ir::{Expr, ExprKind, Ruleset, StmtKind, Table, Verdict};
use nftvm_grammar::{Diagnostic, Span};
use std::collections::HashMap;

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
                StmtKind::VerdictMap(e) => from_expr(e, s.span, &mut out),
                _ => {}
            }
        }
    }
    out
}

/// Check references and loops.
pub fn check(rs: &Ruleset) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for t in &rs.tables {
        let index: HashMap<&str, usize> =
            t.chains.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); t.chains.len()];
        for ci in 0..t.chains.len() {
            for (target, span) in targets(t, ci) {
                match index.get(target.as_str()) {
                    None => diags.push(Diagnostic::error(
                        span,
                        format!("Could not process rule: {}", crate::eval::ENOENT),
                    )),
                    Some(&ti) if t.chains[ti].base.is_some() => diags.push(Diagnostic::error(
                        span,
                        format!("Could not process rule: {}", crate::eval::EOPNOTSUPP),
                    )),
                    Some(&ti) => edges[ci].push(ti),
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
        if let Some((ci, span)) = find_loop(t, &edges) {
            let _ = ci;
            diags.push(Diagnostic::error(span, "Could not process rule: Too many levels of symbolic links"));
        }
    }
    diags
}

/// A chain that can reach itself, and the span of a jump on the cycle.
fn find_loop(t: &Table, edges: &[Vec<usize>]) -> Option<(usize, Span)> {
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; edges.len()];
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if *next < edges[node].len() {
                let to = edges[node][*next];
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let span = targets(t, node)
                            .into_iter()
                            .find(|(n, _)| *n == t.chains[to].name)
                            .map(|(_, s)| s)
                            .unwrap_or_default();
                        return Some((to, span));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}
