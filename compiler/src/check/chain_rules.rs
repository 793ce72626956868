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
    let mut seen_terminal = false;
    for st in rule.stmts.iter().filter(|s| !s.implicit) {
        if seen_terminal {
            diags.push(Diagnostic::error(st.span, "Statement after terminal statement has no effect"));
            break;
        }
        seen_terminal = terminal(&st.kind);
    }
    let Some((chain_type, hook)) = env.base else { return diags };
    for st in &rule.stmts {
        let ok = match &st.kind {
            StmtKind::Nat(n) => {
                chain_type == ChainType::Nat
                    && match n.kind {
                        NatKind::Snat | NatKind::Masquerade => {
                            matches!(hook, Hook::Postrouting | Hook::Input)
                        }
                        NatKind::Dnat | NatKind::Redirect => matches!(hook, Hook::Prerouting | Hook::Output),
                    }
            }
            StmtKind::Tproxy(_) => hook == Hook::Prerouting,
            StmtKind::Synproxy(_) => matches!(hook, Hook::Input | Hook::Forward),
            StmtKind::Reject(_) => {
                matches!(hook, Hook::Input | Hook::Forward | Hook::Output | Hook::Prerouting | Hook::Ingress)
            }
            StmtKind::FlowOffload { .. } => hook == Hook::Forward,
            StmtKind::Notrack => matches!(hook, Hook::Prerouting | Hook::Output),
            _ => true,
        };
        if !ok {
            diags.push(Diagnostic::error(st.span, unsupported()));
            continue;
        }
        // Meta keys only some hooks provide (`meta ipsec`, `meta sdif`).
        super::visit_exprs(st, &mut |e| {
            if let ExprKind::Meta(k) = &e.kind
                && !crate::proto::meta::info(*k).allowed_in(env.family, Some(hook))
            {
                diags.push(Diagnostic::error(e.span, unsupported()));
            }
        });
    }
    diags
}
