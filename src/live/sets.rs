//! Live set elements for `nftvm list ruleset`: the named sets the packet path changes —
//! those a dynset writes (`add|update|delete @set`) and those whose elements time out — are
//! listed with what they hold now, as `nft list ruleset` lists the kernel's: every live
//! element with its own `timeout` when it differs from the set's, the time
//! it has left as `expires`, and the state of its statements (`counter packets 2 bytes 60`,
//! a quota's `used`, `last used`). The workers share the sets their rules write
//! ([`nftvm_vm::interp::shared`]): such a set is listed as the one copy they hold. A set
//! they each hold their own of (one whose elements time out but no rule writes, or any set
//! before a worker's first packet) is merged over the workers (counters and quotas added
//! up, the latest expiry kept).
//!
//! Only hash sets change from the packet path (as in the kernel); every other set, and a set
//! whose elements the listing cannot spell (verdict or object data), is listed as declared.

use nftvm_compiler::ir::{self, Expr, ExprKind, KeyField, Ruleset, SetElem, Stmt, StmtKind};
use nftvm_compiler::types::Value;
use nftvm_compiler::types::value::{bytes_for, padded_len};
use nftvm_vm::Program;
use nftvm_vm::interp::{ProgramState, Slot};
use nftvm_vm::set::{ElemData, SetBackend, flags};
use std::collections::HashMap;

/// One live element as a worker holds it (times in ns).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveElem {
    pub key: Vec<u8>,
    /// A data map's value.
    pub data: Option<Vec<u8>>,
    pub timeout: Option<u64>,
    pub expires_in: Option<u64>,
    pub slots: Vec<Slot>,
    /// The ruleset declared it (its comment is listed with it).
    pub declared: bool,
}

/// Per set of the program: its live elements, or `None` when it is listed as declared.
pub type LiveSets = Vec<Option<Vec<LiveElem>>>;

/// The sets whose listing is live: named, and written by a dynset or timing out.
fn changing(prog: &Program) -> Vec<bool> {
    prog.sets
        .iter()
        .zip(prog.dynset_targets())
        .map(|(s, written)| !s.is_anonymous() && (written || s.flags & flags::TIMEOUT != 0))
        .collect()
}

/// One worker's live sets at `now`.
pub fn snapshot(prog: &Program, state: &ProgramState, now: u64) -> LiveSets {
    changing(prog)
        .into_iter()
        .enumerate()
        .map(|(i, live)| live.then(|| state.set(i, |b| elements_of(b, now))).flatten().flatten())
        .collect()
}

/// A set's live elements at `now` (`None`: it is listed as declared).
fn elements_of(backend: &SetBackend, now: u64) -> Option<Vec<LiveElem>> {
    let mut elems = Vec::new();
    for (key, rec) in backend.live_elements(now)? {
        let data = match &rec.data {
            None => None,
            Some(ElemData::Value(d)) => Some(d.bytes().to_vec()),
            Some(ElemData::Verdict(_) | ElemData::Object(_)) => return None,
        };
        elems.push(LiveElem {
            key: key.to_vec(),
            data,
            timeout: rec.timeout,
            expires_in: rec.expires.map(|t| t.saturating_sub(now)),
            slots: rec.slots.clone(),
            declared: rec.declared,
        });
    }
    Some(elems)
}

/// Per set of the program: does this worker's state share it with the others
/// ([`ProgramState::is_set_shared`])? Such a set is listed once, not added up.
pub fn shared(prog: &Program, state: &ProgramState) -> Vec<bool> {
    (0..prog.sets.len()).map(|i| state.is_set_shared(i)).collect()
}

/// Adds `b`'s state of one statement to `a`'s (the same element in two workers).
fn add_slot(a: &mut Slot, b: &Slot) {
    match (a, b) {
        (Slot::Counter { packets, bytes }, Slot::Counter { packets: p, bytes: q }) => {
            *packets += p;
            *bytes += q;
        }
        (Slot::Quota { consumed }, Slot::Quota { consumed: c }) => *consumed += c,
        (Slot::Last { at }, Slot::Last { at: b }) => *at = (*at).max(*b),
        _ => {}
    }
}

/// The workers' live sets merged (a worker that reported nothing is left out), each with
/// which sets it shares with the others ([`shared`]): a shared set is the one reported by a
/// worker that shares it (they all read the same copy), a worker that does not share it yet
/// — it has not seen a packet since the program was loaded — holding an untouched copy.
pub fn merge(workers: &[(&LiveSets, &[bool])]) -> LiveSets {
    let n = workers.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let shared = workers.iter().find(|(_, s)| s.get(i).copied().unwrap_or(false));
            if let Some(elems) = shared.and_then(|(w, _)| w.get(i)?.as_ref()) {
                return Some(elems.clone());
            }
            let mut by_key: HashMap<Vec<u8>, LiveElem> = HashMap::new();
            let mut any = false;
            for elems in workers.iter().filter_map(|(w, _)| w.get(i)?.as_ref()) {
                any = true;
                for e in elems {
                    match by_key.get_mut(&e.key) {
                        None => {
                            by_key.insert(e.key.clone(), e.clone());
                        }
                        Some(m) => {
                            m.slots.iter_mut().zip(&e.slots).for_each(|(a, b)| add_slot(a, b));
                            if e.expires_in > m.expires_in {
                                (m.expires_in, m.timeout, m.declared) = (e.expires_in, e.timeout, e.declared);
                            }
                        }
                    }
                }
            }
            any.then(|| by_key.into_values().collect())
        })
        .collect()
}

/// A field's value read from register bytes (`None` when they are too short).
fn field_value(f: &KeyField, bytes: &[u8]) -> Option<Expr> {
    let v = Value::from_bytes(f.bits, f.order, bytes.get(..bytes_for(f.bits))?).ok()?;
    Some(Expr::new(ExprKind::Value(v), f.ty, f.bits, f.order))
}

/// The constant `fields` spell in `bytes`: one value, or a concatenation whose members each
/// take whole 32-bit words (as the kernel lays out concatenated keys).
fn constant(fields: &[KeyField], bytes: &[u8]) -> Option<Expr> {
    match fields {
        [one] => field_value(one, bytes),
        many => {
            let mut at = 0;
            let mut parts = Vec::with_capacity(many.len());
            for f in many {
                parts.push(field_value(f, bytes.get(at..)?)?);
                at += padded_len(f.bits);
            }
            Some(ir::build::concat(parts))
        }
    }
}

/// Does `slot` hold the state of statement `s`?
fn holds_state_of(slot: &Slot, s: &Stmt) -> bool {
    matches!(
        (slot, &s.kind),
        (Slot::Counter { .. }, StmtKind::Counter(_))
            | (Slot::Limit { .. }, StmtKind::Limit(_))
            | (Slot::Quota { .. }, StmtKind::Quota(_))
            | (Slot::Last { .. }, StmtKind::Last(_))
            | (Slot::Conns(_) | Slot::None, StmtKind::ConnLimit(_))
    )
}

/// The statements of an element: the first of `candidates` (the set's own, then those of
/// each dynset that writes it) whose statements `slots` hold the state of, with that state
/// filled in. An element without state (one the ruleset declares) has the set's own as
/// declared; one whose state fits no candidate is listed without statements.
fn element_stmts(candidates: &[Vec<Stmt>], slots: &[Slot], now: u64) -> Vec<Stmt> {
    if slots.is_empty() {
        return candidates.first().cloned().unwrap_or_default();
    }
    let fits = |c: &&Vec<Stmt>| {
        c.len() == slots.len() && slots.iter().zip(c.iter()).all(|(s, t)| holds_state_of(s, t))
    };
    let Some(template) = candidates.iter().find(fits) else { return Vec::new() };
    template
        .iter()
        .zip(slots)
        .map(|(t, slot)| {
            let mut s = t.clone();
            match (&mut s.kind, slot) {
                (StmtKind::Counter(c), Slot::Counter { packets, bytes }) => {
                    (c.packets, c.bytes) = (*packets, *bytes)
                }
                // The kernel lists what was used up to the quota, never beyond it.
                (StmtKind::Quota(q), Slot::Quota { consumed }) => q.used = (*consumed).min(q.bytes),
                (StmtKind::Last(l), Slot::Last { at }) => {
                    l.used = at.map(|at| now.saturating_sub(at) / 1_000_000)
                }
                _ => {}
            }
            s
        })
        .collect()
}

/// The statements an element of `set` (in `table`) may carry: the set's own (first, even
/// when there are none), then those of each dynset that writes it with statements.
fn candidates(table: &ir::Table, set: &ir::Set) -> Vec<Vec<Stmt>> {
    let dynsets = table.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.stmts);
    let written = dynsets.filter_map(|s| match &s.kind {
        StmtKind::DynSet(d) if d.set == set.name && !d.stmts.is_empty() => Some(d.stmts.clone()),
        _ => None,
    });
    std::iter::once(set.stmts.clone()).chain(written).collect()
}

/// The listing's elements of `set`, or `None` when one cannot be spelled.
fn elements(table: &ir::Table, set: &ir::Set, live: &[LiveElem], now: u64) -> Option<Vec<SetElem>> {
    let data_fields = match &set.data {
        Some(ir::SetData::Value { fields, interval: false }) => Some(fields.as_slice()),
        Some(_) => return None,
        None => None,
    };
    let candidates = candidates(table, set);
    // The declared elements with a comment (looked up by key for each live one the ruleset
    // declared: most sets have none, so most listings look up nothing).
    let commented: Vec<(&Expr, &String)> =
        set.elems.iter().filter_map(|d| Some((&d.key, d.comment.as_ref()?))).collect();
    let ms = |ns: u64| ns / 1_000_000;
    // (The printer puts them in nft's order.)
    live.iter()
        .map(|e| {
            let data = match (data_fields, &e.data) {
                (Some(f), Some(d)) => Some(constant(f, d)?),
                (None, None) => None,
                _ => return None,
            };
            let key = constant(&set.key, &e.key)?;
            // An element the ruleset declared keeps its comment while it lives (the kernel keeps
            // it with the element); one the packet path made, even for the same key, has none.
            let comment = match e.declared {
                true => commented.iter().find(|(k, _)| k.same_key(&key)).map(|(_, c)| (*c).clone()),
                false => None,
            };
            Some(SetElem {
                key,
                data,
                timeout: e.timeout.map(ms).filter(|t| Some(*t) != set.timeout),
                expires: e.expires_in.map(ms),
                comment,
                stmts: element_stmts(&candidates, &e.slots, now),
                span: Default::default(),
            })
        })
        .collect()
}

/// Writes the live elements of `sets` (merged, per set of `prog`) into the IR `rs` of the
/// same program; `now` is the packet clock they were taken at.
pub fn apply(rs: &mut Ruleset, prog: &Program, sets: &LiveSets, now: u64) {
    for (def, live) in prog.sets.iter().zip(sets) {
        let (Some(live), Some(table)) = (live, prog.tables.get(def.table.index())) else { continue };
        let Some(t) = rs.table_mut(table.family, &table.name) else { continue };
        let Some(i) = t.sets.iter().position(|s| s.name == def.name) else { continue };
        if let Some(elems) = elements(t, &t.sets[i], live, now) {
            t.sets[i].elems = elems;
        }
    }
}
