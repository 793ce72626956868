//! The statement order nft gives a rule after evaluation (`stmt_reduce`): runs of equality
//! matches on adjacent payload fields are merged into one load — we keep them as separate
//! statements, but in the merged group's place and field order, so listings come out in
//! nft's order and codegen can merge them the same way (`tcp sport 1024 tcp dport 22` →
//! one 4-byte load). `meta protocol ip` in an ip table (and `ip6` in ip6) is dropped as
//! redundant.

use crate::ir::{ExprKind, Family, MatchOp, Rule, Stmt, StmtKind};
use nftvm_vm::keys::{MetaKey, PayloadBase};

/// A mergeable match: `payload == value` on whole bytes.
fn candidate(s: &Stmt) -> Option<(PayloadBase, u32, u32, Option<crate::proto::Proto>, bool)> {
    let m = s.as_match()?;
    if m.op != MatchOp::Eq || m.right.as_value().is_none() {
        return None;
    }
    let p = m.left.as_payload()?;
    let key = p.proto.is_some_and(|pr| super::hide::is_protocol_key(pr, p.field.name));
    Some((p.base, p.offset, p.len, p.inner, key))
}

fn base_rank(b: PayloadBase) -> u8 {
    match b {
        PayloadBase::Link => 1,
        PayloadBase::Network => 2,
        PayloadBase::Transport => 3,
        PayloadBase::Inner | PayloadBase::Tunnel => 4,
    }
}

/// Reorder a rule's statements as nft's payload merging does.
pub fn reorder(family: Family, rule: &mut Rule) {
    // Redundant `meta protocol` of the table's own family (nft drops it only when a
    // statement follows it).
    let last = rule.stmts.len().saturating_sub(1);
    let mut index = 0;
    rule.stmts.retain(|s| {
        let i = index;
        index += 1;
        let Some(m) = s.as_match() else { return true };
        if i == last || m.op != MatchOp::Eq || !matches!(m.left.kind, ExprKind::Meta(MetaKey::Protocol)) {
            return true;
        }
        let v = m.right.as_value().and_then(|v| v.to_u64());
        !matches!((family, v), (Family::Ip, Some(0x0800)) | (Family::Ip6, Some(0x86dd)))
    });
    // Batches end at statements other than matches (and verdict maps).
    let mut keeper_of: Vec<Option<usize>> = vec![None; rule.stmts.len()];
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut batch: Vec<usize> = Vec::new();
    let n = rule.stmts.len();
    for i in 0..=n {
        let ends = i == n || !matches!(rule.stmts[i].kind, StmtKind::Match(_) | StmtKind::VerdictMap(_));
        if ends {
            if batch.len() >= 2 {
                merge_batch(&rule.stmts, &batch, &mut groups);
            }
            batch.clear();
            continue;
        }
        if candidate(&rule.stmts[i]).is_some() {
            batch.push(i);
        }
    }
    if groups.is_empty() {
        return;
    }
    for (keeper, members) in &groups {
        for &m in members {
            keeper_of[m] = Some(*keeper);
        }
    }
    let old = std::mem::take(&mut rule.stmts);
    let mut slots: Vec<Option<Stmt>> = old.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(slots.len());
    for i in 0..slots.len() {
        match keeper_of[i] {
            Some(k) if k == i => {
                if let Some((_, members)) = groups.iter().find(|(kk, _)| *kk == i) {
                    for &m in members {
                        if let Some(s) = slots[m].take() {
                            out.push(s);
                        }
                    }
                }
            }
            Some(_) => {}
            None => {
                if let Some(s) = slots[i].take() {
                    out.push(s);
                }
            }
        }
    }
    // Anything left (should not happen) keeps its place at the end.
    out.extend(slots.into_iter().flatten());
    rule.stmts = out;
}

/// `payload_do_merge` over one batch: groups of adjacent fields, each with the statement
/// whose place the merged load takes.
fn merge_batch(stmts: &[Stmt], batch: &[usize], groups: &mut Vec<(usize, Vec<usize>)>) {
    let mut sa: Vec<usize> = batch.to_vec();
    sa.sort_by_key(|&i| {
        let (b, off, ..) = candidate(&stmts[i]).unwrap_or((PayloadBase::Link, 0, 0, None, false));
        (base_rank(b), off)
    });
    let info = |i: usize| candidate(&stmts[i]);
    let mut keeper = sa[0];
    let mut members = vec![sa[0]];
    let Some((mut base, mut off, mut len, mut inner, _)) = info(sa[0]) else { return };
    for &i in &sa[1..] {
        let Some((b, o, l, inn, key)) = info(i) else { continue };
        let adjacent = b == base && off + len == o && inn == inner;
        let aligned = off % 8 == 0 && len % 8 == 0 && o % 8 == 0 && l % 8 == 0;
        let total = len + l;
        let ok = adjacent
            && aligned
            && total <= 128
            && (total <= 32 || b == PayloadBase::Link || len > 32 || l > 32);
        if ok {
            members.push(i);
            len = total;
            if key {
                keeper = i;
            }
        } else {
            if members.len() > 1 {
                groups.push((keeper, std::mem::take(&mut members)));
            }
            members = vec![i];
            keeper = i;
            base = b;
            off = o;
            len = l;
            inner = inn;
        }
    }
    if members.len() > 1 {
        groups.push((keeper, members));
    }
}
