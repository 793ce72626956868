//! Structural equality of IR pieces that ignores where they were written (spans) — what the
//! passes mean by "the same test" or "the same statement".

use crate::ir::{Expr, ExprKind, Span, Stmt, StmtKind};
use nftvm_vm::keys::MetaKey;

/// `e` with every span cleared.
pub fn unspanned(e: &Expr) -> Expr {
    let mut e = e.clone();
    clear(&mut e);
    e
}

fn clear(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Binary { lhs, rhs, .. } => {
            clear(lhs);
            clear(rhs);
        }
        ExprKind::Concat(parts) => parts.iter_mut().for_each(clear),
        ExprKind::Set(s) => {
            for el in &mut s.elems {
                el.span = Span::default();
                clear(&mut el.key);
                if let Some(d) = &mut el.data {
                    clear(d);
                }
                el.stmts.iter_mut().for_each(clear_stmt);
            }
        }
        ExprKind::Map(m) => {
            clear(&mut m.key);
            clear(&mut m.map);
        }
        ExprKind::Hash(h) => {
            if let Some(x) = &mut h.expr {
                clear(x);
            }
        }
        _ => {}
    }
}

/// `s` with every span cleared and the `implicit` flag reset.
pub fn unspanned_stmt(s: &Stmt) -> Stmt {
    let mut s = s.clone();
    clear_stmt(&mut s);
    s.implicit = false;
    s
}

fn clear_stmt(s: &mut Stmt) {
    s.span = Span::default();
    match &mut s.kind {
        StmtKind::Match(m) => {
            clear(&mut m.left);
            clear(&mut m.right);
        }
        StmtKind::VerdictMap(e) | StmtKind::OptStrip(e) => clear(e),
        StmtKind::Write(w) => {
            clear(&mut w.target);
            clear(&mut w.value);
        }
        StmtKind::Nat(n) => {
            for x in [&mut n.addr, &mut n.port].into_iter().flatten() {
                clear(x);
            }
        }
        StmtKind::Queue(q) => {
            if let Some(x) = &mut q.num {
                clear(x);
            }
        }
        StmtKind::DynSet(d) => {
            clear(&mut d.key);
            if let Some(x) = &mut d.data {
                clear(x);
            }
            d.stmts.iter_mut().for_each(clear_stmt);
        }
        StmtKind::Meter(m) => {
            clear(&mut m.key);
            clear_stmt(&mut m.stmt);
        }
        StmtKind::ObjRef(o) => clear(&mut o.name),
        StmtKind::Dup { addr, dev } => {
            for x in [addr, dev].into_iter().flatten() {
                clear(x);
            }
        }
        StmtKind::Fwd { addr, dev, .. } => {
            clear(dev);
            if let Some(x) = addr {
                clear(x);
            }
        }
        StmtKind::Tproxy(t) => {
            for x in [&mut t.addr, &mut t.port].into_iter().flatten() {
                clear(x);
            }
        }
        _ => {}
    }
}

/// The same expression, wherever written.
pub fn expr_eq(a: &Expr, b: &Expr) -> bool {
    unspanned(a) == unspanned(b)
}

/// The same statement, wherever written (implicit or not).
pub fn stmt_eq(a: &Stmt, b: &Stmt) -> bool {
    unspanned_stmt(a) == unspanned_stmt(b)
}

/// A load that gives the same value whenever it is read for one packet (not `numgen`, whose
/// counter moves on each read, nor `meta random`): tests of it may be dropped, merged or
/// reordered.
pub fn stable_load(e: &Expr) -> bool {
    e.is_load() && !matches!(e.kind, ExprKind::Numgen(_) | ExprKind::Meta(MetaKey::Prandom))
}
