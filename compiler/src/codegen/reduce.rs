//! nft's `stmt_reduce` (rule.c), applied to a rule's statements before lowering:
//!
//! - **Payload merging.** Runs of equality matches of constants against payload fields
//!   (not interrupted by a non-match statement) are sorted by header base and offset, and
//!   fields that are adjacent and byte aligned are joined into one load and one `cmp`
//!   (`tcp sport 1024 tcp dport 22` → a 4-byte load at transport offset 0). A join may not
//!   grow past 4 bytes unless the load is at the link layer or one side is already wider
//!   than 4 bytes (the kernel's fast path handles loads up to 4 bytes), and never past 16.
//!   Matches of other kinds inside the run are skipped, not barriers. When the later field
//!   is a protocol key (`ether type`), the joined match takes its place so that the
//!   protocol test is not moved before its own dependency.
//! - **Redundant `meta protocol`.** `meta protocol ip` in an `ip` table (`ip6` in `ip6`) is
//!   dropped — unless it is the rule's last statement (nft deletes it while looking at the
//!   next statement).

use crate::ir::{Expr, ExprKind, MatchOp, Payload, Stmt, StmtKind};
use crate::proto::{Field, ProtoKey};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::{Family, MetaKey};

/// The statements to lower, after merging and dropping.
pub fn reduce(stmts: &[Stmt], family: Family) -> Vec<Stmt> {
    let mut out: Vec<Option<Stmt>> = stmts.iter().cloned().map(Some).collect();
    let mut protocol: Vec<bool> = stmts.iter().map(is_protocol_match).collect();
    let mut window: Vec<usize> = Vec::new();
    let mut redundant: Option<usize> = None;
    for (i, s) in stmts.iter().enumerate() {
        if let Some(d) = redundant.take() {
            out[d] = None;
        }
        let StmtKind::Match(m) = &s.kind else {
            if window.len() >= 2 {
                merge(&mut out, &mut protocol, &mut window);
            }
            window.clear();
            continue;
        };
        let ExprKind::Value(v) = &m.right.kind else { continue };
        match &m.left.kind {
            ExprKind::Payload(p) if m.op == MatchOp::Eq && !p.is_bitfield() => window.push(i),
            ExprKind::Meta(MetaKey::Protocol) if m.op == MatchOp::Eq => {
                let proto = v.to_u64().unwrap_or(0);
                if (family == Family::Ip && proto == 0x0800) || (family == Family::Ip6 && proto == 0x86dd) {
                    redundant = Some(i);
                }
            }
            _ => {}
        }
    }
    if window.len() > 1 {
        merge(&mut out, &mut protocol, &mut window);
    }
    out.into_iter().flatten().collect()
}

/// Does this statement match a protocol key field (`ether type`, `ip protocol`, …)?
fn is_protocol_match(s: &Stmt) -> bool {
    let Some(m) = s.as_match() else { return false };
    let Some(p) = m.left.as_payload() else { return false };
    match p.proto.map(|pr| pr.desc().protocol_key) {
        Some(Some(ProtoKey::Field(name))) => p.field.name == name,
        _ => false,
    }
}

fn payload_of(out: &[Option<Stmt>], i: usize) -> Option<(&Payload, &Value)> {
    let m = out.get(i)?.as_ref()?.as_match()?;
    Some((m.left.as_payload()?, m.right.as_value()?))
}

/// `payload_do_merge`: join adjacent fields of the run.
fn merge(out: &mut [Option<Stmt>], protocol: &mut [bool], window: &mut [usize]) {
    window
        .sort_by_key(|&i| payload_of(out, i).map(|(p, _)| (p.base as u8, p.offset)).unwrap_or((u8::MAX, 0)));
    let Some((&first, rest)) = window.split_first() else { return };
    let mut last = first;
    for &this in rest {
        let (Some((a, va)), Some((b, vb))) = (payload_of(out, last), payload_of(out, this)) else {
            last = this;
            continue;
        };
        if !can_merge(a, b) {
            last = this;
            continue;
        }
        let Some(joined) = join(a, va, b, vb) else {
            last = this;
            continue;
        };
        // Keep the statement of a protocol key, delete the other.
        let (keep, drop) = if protocol[this] { (this, last) } else { (last, this) };
        protocol[keep] = protocol[keep] || protocol[drop];
        if let Some(Some(s)) = out.get_mut(keep)
            && let StmtKind::Match(m) = &mut s.kind
        {
            m.left = joined.0;
            m.right = joined.1;
        }
        out[drop] = None;
        last = keep;
    }
}

/// `payload_can_merge`.
fn can_merge(a: &Payload, b: &Payload) -> bool {
    if a.inner != b.inner || a.base != b.base || a.offset + a.len != b.offset {
        return false;
    }
    if a.is_bitfield() || b.is_bitfield() {
        return false;
    }
    let total = a.len + b.len;
    if total > 128 {
        return false;
    }
    total <= 32 || a.base == nftvm_vm::keys::PayloadBase::Link || a.len > 32 || b.len > 32
}

/// The joined load and constant.
fn join(a: &Payload, va: &Value, b: &Payload, vb: &Value) -> Option<(Expr, Expr)> {
    let len = a.len + b.len;
    let field = Field::new("", Type::Integer, a.field.offset, len);
    let payload = Payload { proto: a.proto, field, base: a.base, offset: a.offset, len, inner: a.inner };
    let mut bytes = va.bytes().to_vec();
    bytes.extend_from_slice(vb.bytes());
    let value = Value::from_bytes(len, ByteOrder::Network, &bytes).ok()?;
    let left = Expr::new(ExprKind::Payload(payload), Type::Integer, len, ByteOrder::Network);
    let right = Expr::new(ExprKind::Value(value), Type::Integer, len, ByteOrder::Network);
    Some((left, right))
}
