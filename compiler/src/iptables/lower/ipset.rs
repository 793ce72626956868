//! `-m set [!] --match-set NAME FLAGS`: a lookup in the named nft set that
//! [`crate::ipset::to_nft`] makes of the ipset, declared in the rule's table; `-j SET
//! --add-set|--del-set NAME FLAGS`: `add` (`update` with `--exist`) or `delete` of the
//! packet's key in that set.
//!
//! The kernel's ipsets are global; the nft sets belong to a table. A set that rules change
//! must therefore be used in one table only ([`check_shared`]), and it is declared
//! `dynamic` with single-value members wherever it appears (`Lowerer::dynamic_ipsets`).

use super::expr::never;
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::ipset::to_nft::{Lookup, lookup};
use crate::ipset::{Ipset, Ipsets};
use crate::iptables::matches::set::SetMatch;
use crate::iptables::targets::misc::SetTarget;
use crate::ir::{DynSet, DynSetOp, Expr, ExprKind, MatchOp, Set, Stmt, StmtKind};
use nftvm_grammar::{Diagnostic, Span};

/// The set `name` of `ipsets`.
fn find<'a>(ipsets: &'a Ipsets, name: &str) -> LResult<&'a Ipset> {
    ipsets.get(name).ok_or_else(|| {
        Unsupported::new(format!("Set {name} doesn't exist (give the ipset file with --ipset FILE)"))
    })
}

pub fn set_match(m: &SetMatch, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    if m.packets.is_some() || m.bytes.is_some() {
        return Err(Unsupported::new("--packets-*/--bytes-* (ipset entry counters) are not supported yet"));
    }
    let ipsets = std::sync::Arc::clone(&cx.lw.ipsets);
    let set = find(&ipsets, &m.name)?;
    // A list holds what its members do: a member rules change would be a second copy.
    let changed = set.entries.iter().flat_map(|e| &e.parts).find_map(|p| match p {
        crate::ipset::Part::Member(n) if cx.lw.dynamic_ipsets.contains(n) => Some(n.clone()),
        _ => None,
    });
    if let Some(n) = changed {
        return Err(Unsupported::new(format!(
            "list {} holds set {n}, which -j SET changes: nftvm cannot keep the two in step",
            m.name
        )));
    }
    let dynamic = cx.lw.dynamic_ipsets.contains(&m.name);
    match lookup(set, &ipsets, &m.dims, cx.fam, m.return_nomatch, dynamic).map_err(Unsupported::new)? {
        Lookup::Never(why) => {
            cx.notes.push(format!("{why}: `--match-set {}` never matches, as in the kernel", m.name));
            if m.invert { Ok(vec![]) } else { Ok(vec![never(cx.fam)?]) }
        }
        Lookup::Member { key, set } => {
            let name = declare(cx, *set);
            let right = Expr::new(ExprKind::SetRef(name), key.ty, key.bits, key.order);
            Ok(vec![Stmt::matches(key, if m.invert { MatchOp::Ne } else { MatchOp::Eq }, right)])
        }
    }
}

/// Declares `set` in the rule's table once; its name.
fn declare(cx: &mut Mcx<'_>, set: Set) -> String {
    let name = set.name.clone();
    if !cx.lw.extra_sets.iter().any(|s| s.name == name) {
        cx.lw.extra_sets.push(set);
        cx.lw.ipset_tables.push((name.clone(), cx.table.to_string()));
    }
    name
}

pub fn set_target(t: &SetTarget, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let ipsets = std::sync::Arc::clone(&cx.lw.ipsets);
    let mut out = Vec::new();
    let ops = [(&t.add, if t.exist { DynSetOp::Update } else { DynSetOp::Add }), (&t.del, DynSetOp::Delete)];
    for (which, op) in ops {
        let Some((name, dims)) = which else { continue };
        let set = find(&ipsets, name)?;
        // ipset reads TCP's, UDP's, SCTP's and UDPLITE's ports as nft's `th` does; other
        // protocols' otherwise (ICMP type and code, 0): a rule that stores ports says which.
        if set.ty.dims.contains(&crate::ipset::Dim::Port)
            && !cx.proto().is_some_and(|p| matches!(p, 6 | 17 | 132 | 136))
        {
            return Err(Unsupported::new(format!(
                "-j SET on set {name}, which stores ports, needs -p tcp, udp, sctp or udplite in the rule"
            )));
        }
        match lookup(set, &ipsets, dims, cx.fam, false, true).map_err(Unsupported::new)? {
            Lookup::Never(why) => {
                cx.notes.push(format!("{why}: `-j SET` on it changes nothing, as in the kernel"))
            }
            Lookup::Member { key, set: nft } => {
                // `--timeout N` on a set with timeouts: the entry's own. 0 is a permanent
                // entry, which nft cannot add to a set whose entries time out by default.
                let timeout = match t.timeout {
                    Some(0) if nft.timeout.is_some() && op != DynSetOp::Delete => {
                        return Err(Unsupported::new(format!(
                            "-j SET --timeout 0 (a permanent entry) in set {name}, whose entries time out: nft adds every entry of such a set with a timeout"
                        )));
                    }
                    Some(n) if n > 0 && nft.flags.timeout && op != DynSetOp::Delete => {
                        Some(u64::from(n) * 1000)
                    }
                    _ => None,
                };
                let name = declare(cx, *nft);
                out.push(Stmt::new(StmtKind::DynSet(Box::new(DynSet {
                    op,
                    set: name,
                    key,
                    data: None,
                    stmts: Vec::new(),
                    timeout,
                    expires: None,
                }))));
            }
        }
    }
    Ok(out)
}

/// The sets rules change must each be in one table: the kernel has one set where nftvm
/// would have a copy per table. An error at each rule that changes such a set.
pub fn check_shared(lw: &super::Lowerer, changes: &[(String, Span)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, span) in changes {
        let mut tables: Vec<&str> =
            lw.ipset_tables.iter().filter(|(n, _)| n == name).map(|(_, t)| t.as_str()).collect();
        tables.sort_unstable();
        tables.dedup();
        if tables.len() > 1 {
            out.push(Diagnostic::error(
                *span,
                format!(
                    "cannot run this rule: set {name} is changed by -j SET and used in tables {}: nftvm keeps a copy of an ipset per table",
                    tables.join(", ")
                ),
            ));
        }
    }
    out
}
