//! Statements a chain's type and hook do not allow, as the kernel's validation refuses them
//! (`Could not process rule: Operation not supported`): NAT outside nat chains or at the
//! wrong hook, `tproxy` outside prerouting, `reject` outside input/forward/output, …
//! Regular chains are checked only when jumped to (not here), as in the kernel.

use super::RuleEnv;
use crate::ir::{ChainType, ExprKind, Hook, NatKind, Rule, StmtKind};
use nftvm_grammar::Diagnostic;

fn unsupported() -> String {
    format!("Could not process rule: {}", crate::eval::EOPNOTSUPP)
}

/// Whether nothing after this statement can run (`STMT_F_TERMINAL`).
fn terminal(kind: &StmtKind) -> bool {
    match kind {
        StmtKind::Verdict(v) => *v != crate::ir::Verdict::Continue,
        StmtKind::Reject(_) | StmtKind::Nat(_) | StmtKind::Queue(_) | StmtKind::Fwd { .. } => true,
        _ => false,
    }
}

/// Check a rule's statements against its base chain, and that nothing follows a terminal
/// statement.
pub fn check(env: &RuleEnv<'_>, rule: &Rule) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut terminal_span = None;
    for st in rule.stmts.iter().filter(|s| !s.implicit) {
        if let Some(t) = terminal_span {
            let mut d = Diagnostic::error(st.span, "Statement after terminal statement has no effect");
            if t != st.span {
                d = d.with_secondary(t);
            }
            diags.push(d);
            break;
        }
        if terminal(&st.kind) {
            terminal_span = Some(st.span);
        }
    }
    if env.family == crate::ir::Family::Netdev {
        for st in &rule.stmts {
            diags.extend(conntrack_in_netdev(st));
        }
    }
    let Some((chain_type, hook)) = env.base else { return diags };
    for st in &rule.stmts {
        diags.extend(violations(env.family, chain_type, hook, st));
    }
    diags
}

/// Conntrack has no netdev family: an expression that needs it (`ct …`, `ct count`) fails to
/// load there whatever the chain (`nf_ct_netns_get` answers EPROTO).
fn conntrack_in_netdev(st: &crate::ir::Stmt) -> Vec<Diagnostic> {
    let refuse = |span| Diagnostic::error(span, "Could not process rule: Protocol error");
    if matches!(st.kind, StmtKind::ConnLimit(_)) {
        return vec![refuse(st.span)];
    }
    let mut diags = Vec::new();
    super::visit_exprs(st, &mut |e| {
        if matches!(e.kind, ExprKind::Ct(_)) {
            diags.push(refuse(e.span));
        }
    });
    diags.truncate(1);
    diags
}

/// What the kernel refuses in one statement at this chain type and hook (the offending
/// statement or expression spans).
pub fn violations(
    family: crate::ir::Family,
    chain_type: ChainType,
    hook: Hook,
    st: &crate::ir::Stmt,
) -> Vec<Diagnostic> {
    let ok = match &st.kind {
        StmtKind::Nat(n) => {
            chain_type == ChainType::Nat
                && match n.kind {
                    NatKind::Snat | NatKind::Masquerade => matches!(hook, Hook::Postrouting | Hook::Input),
                    NatKind::Dnat | NatKind::Redirect => matches!(hook, Hook::Prerouting | Hook::Output),
                }
        }
        StmtKind::Tproxy(_) => hook == Hook::Prerouting,
        StmtKind::Synproxy(_) => matches!(hook, Hook::Input | Hook::Forward),
        StmtKind::Reject(_) => {
            matches!(hook, Hook::Input | Hook::Forward | Hook::Output | Hook::Prerouting | Hook::Ingress)
        }
        StmtKind::FlowOffload { .. } => hook == Hook::Forward,
        // The kernel checks hook numbers, and netdev ingress is number 0 like prerouting.
        StmtKind::Notrack => {
            matches!(hook, Hook::Prerouting | Hook::Output)
                || family == crate::ir::Family::Netdev && hook == Hook::Ingress
        }
        _ => true,
    };
    if !ok {
        return vec![Diagnostic::error(st.span, unsupported())];
    }
    // Meta keys only some hooks provide (`meta ipsec`, `meta sdif`); `osf` in ip and inet
    // tables at prerouting, input and forward only (`nft_osf_validate`).
    let mut diags = Vec::new();
    super::visit_exprs(st, &mut |e| {
        let refused = match &e.kind {
            ExprKind::Meta(k) => !crate::proto::meta::info(*k).allowed_in(family, Some(hook)),
            ExprKind::Osf { .. } => {
                !matches!(family, crate::ir::Family::Ip | crate::ir::Family::Inet)
                    || !matches!(hook, Hook::Prerouting | Hook::Input | Hook::Forward)
            }
            _ => false,
        };
        if refused {
            diags.push(Diagnostic::error(e.span, unsupported()));
        }
    });
    diags
}
