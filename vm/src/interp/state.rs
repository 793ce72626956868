//! Mutable state kept outside the immutable program: counters, token buckets, quotas,
//! numgen counters, `last` timestamps, and the set backends (with dynamic elements).
//!
//! Stateful expressions carry a slot number that [`crate::verify`] assigns; objects use the
//! slots after the expressions'. Reloading a program means building a new state; the
//! interpreter and the JIT share this one. Live workers each have a state, sharing its
//! meters and the sets the packet path writes with the others' ([`super::shared`]).
//!
//! [`crate::verify`]: mod@crate::verify

use super::shared::SharedState;
use crate::expr::Expr;
use crate::expr::connlimit::ConnList;
use crate::expr::limit::Limit;
use crate::expr::xt::XtMatch;
use crate::object::ObjectKind;
use crate::program::{ObjId, Program};
use crate::set::SetBackend;
use std::sync::Arc;

/// State of one stateful expression or object.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    None,
    Counter {
        packets: u64,
        bytes: u64,
    },
    /// Token bucket: tokens (nanoseconds of credit) and when it was last refilled.
    Limit {
        tokens: u64,
        last: u64,
    },
    Quota {
        consumed: u64,
    },
    Numgen {
        counter: u32,
    },
    Last {
        at: Option<u64>,
    },
    /// The connection list of a set element's `ct count` (the runtime keeps the list).
    Conns(crate::expr::connlimit::ConnList),
}

impl Slot {
    /// A counter's `(packets, bytes)`; `None` for any other slot.
    pub fn counter(&self) -> Option<(u64, u64)> {
        match self {
            Slot::Counter { packets, bytes } => Some((*packets, *bytes)),
            _ => None,
        }
    }
}

/// All mutable state of a loaded program.
#[derive(Clone, Debug, Default)]
pub struct ProgramState {
    pub slots: Vec<Slot>,
    /// First slot of the objects (object `i` is slot `object_base + i`).
    pub object_base: usize,
    pub sets: Vec<SetBackend>,
    /// The address lists of `-m recent` ([`super::recent`]).
    pub recent: super::recent::RecentLists,
    /// The classifier walks of the evaluation under way, for its next query about the same
    /// packet (scratch, forgotten when an evaluation starts: kept here rather than in each
    /// [`super::Eval`] so that starting an evaluation does not clear them).
    pub walks: crate::classify::walks::Walks,
    /// What this state shares with other workers' ([`ProgramState::share`]).
    shared: Option<Arc<SharedState>>,
}

impl ProgramState {
    /// Fresh state for a verified program at time `now` (ns): counters from their initial
    /// values, full token buckets, sets loaded with their elements.
    pub fn new(prog: &Program, now: u64) -> ProgramState {
        let (slots, object_base) = ProgramState::initial_slots(prog, now);
        let sets = prog.sets.iter().map(|s| SetBackend::build(s, now)).collect();
        ProgramState {
            slots,
            object_base,
            sets,
            recent: super::recent::RecentLists::of(prog),
            walks: Default::default(),
            shared: None,
        }
    }

    /// From now on uses the limits, quotas, `numgen inc` counters and the sets the packet
    /// path writes of `shared`, shared with every state of `prog` given it (the first one's
    /// values are where they start): one of each for all workers, as the kernel has
    /// ([`super::shared`]).
    pub fn share(&mut self, prog: &Program, shared: Arc<SharedState>) {
        shared.attach(prog, &self.slots, &self.sets);
        self.shared = Some(shared);
    }

    /// Runs `f` on meter slot `i` (a limit's, a quota's or a `numgen inc` counter's): the
    /// shared one when this state shares it, else its own; `None` past the slots.
    pub(crate) fn meter<R>(&mut self, i: usize, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        if let Some(shared) = self.shared.as_ref().and_then(|s| s.meter(i)) {
            let mut slot = shared.lock().unwrap_or_else(|e| e.into_inner());
            return Some(f(&mut slot));
        }
        self.slots.get_mut(i).map(f)
    }

    /// Runs `f` on set `i`'s backend: the shared one when this state shares it, else its
    /// own; `None` past the sets.
    pub fn set<R>(&self, i: usize, f: impl FnOnce(&SetBackend) -> R) -> Option<R> {
        if let Some(shared) = self.shared.as_ref().and_then(|s| s.set(i)) {
            return Some(f(&shared.lock().unwrap_or_else(|e| e.into_inner())));
        }
        self.sets.get(i).map(f)
    }

    /// [`ProgramState::set`], to change the set.
    pub fn set_mut<R>(&mut self, i: usize, f: impl FnOnce(&mut SetBackend) -> R) -> Option<R> {
        if let Some(shared) = self.shared.as_ref().and_then(|s| s.set(i)) {
            return Some(f(&mut shared.lock().unwrap_or_else(|e| e.into_inner())));
        }
        self.sets.get_mut(i).map(f)
    }

    /// Is set `i` the copy other workers' states share ([`ProgramState::share`])?
    pub fn is_set_shared(&self, i: usize) -> bool {
        self.shared.as_ref().is_some_and(|s| s.set(i).is_some())
    }

    /// Runs every set's collection due by `now` ([`SetBackend::collect`]): a shared set's
    /// by whichever worker comes first (the others find it done).
    pub fn collect_sets(&mut self, now: u64, gone: &mut dyn FnMut(ConnList) -> bool) {
        for i in 0..self.sets.len() {
            self.set_mut(i, |b| b.collect(now, gone));
        }
    }

    /// The slots a fresh state starts with, and where the objects' begin — what
    /// [`ProgramState::new`] makes without loading the sets (a listing needs only these).
    pub fn initial_slots(prog: &Program, now: u64) -> (Vec<Slot>, usize) {
        let mut slots = Vec::new();
        for chain in &prog.chains {
            for rule in &chain.rules {
                for e in &rule.exprs {
                    collect_slots(e, now, &mut slots);
                }
            }
        }
        let object_base = slots.len();
        for o in &prog.objects {
            slots.push(match &o.kind {
                ObjectKind::Counter(c) => Slot::Counter { packets: c.packets, bytes: c.bytes },
                ObjectKind::Quota(q) => Slot::Quota { consumed: q.consumed },
                ObjectKind::Limit(l) => Slot::Limit { tokens: l.tokens_max(), last: now },
                _ => Slot::None,
            });
        }
        (slots, object_base)
    }

    /// The slot number of object `obj`.
    pub fn object_index(&self, obj: ObjId) -> usize {
        self.object_base + obj.index()
    }

    pub fn object_slot(&mut self, obj: ObjId) -> Option<&mut Slot> {
        let i = self.object_index(obj);
        self.slots.get_mut(i)
    }

    /// Counter value of an expression slot (packets, bytes).
    pub fn counter(&self, slot: u32) -> Option<(u64, u64)> {
        self.slots.get(slot as usize)?.counter()
    }
}

fn collect_slots(e: &Expr, now: u64, slots: &mut Vec<Slot>) {
    match e {
        Expr::Counter(c) => slots.push(Slot::Counter { packets: c.packets, bytes: c.bytes }),
        Expr::Limit(l) => slots.push(limit_slot(l, now)),
        Expr::Quota(q) => slots.push(Slot::Quota { consumed: q.consumed }),
        Expr::Numgen(n) => slots.push(Slot::Numgen { counter: n.modulus.wrapping_sub(1) }),
        Expr::Last(l) => {
            slots.push(Slot::Last { at: l.msecs.map(|ms| now.saturating_sub(ms.saturating_mul(1_000_000))) })
        }
        Expr::Connlimit(_) | Expr::Match(XtMatch::Connlimit(_)) => slots.push(Slot::None),
        Expr::Inner(i) => collect_slots(&i.expr, now, slots),
        _ => {}
    }
}

fn limit_slot(l: &Limit, now: u64) -> Slot {
    Slot::Limit { tokens: l.tokens_max(), last: now }
}

/// Assigns slot numbers in the order [`ProgramState::new`] allocates them.
pub(crate) fn assign_slots(prog: &mut Program) {
    let mut next = 0u32;
    for chain in &mut prog.chains {
        for rule in &mut chain.rules {
            for e in &mut rule.exprs {
                assign_expr(e, &mut next);
            }
        }
    }
}

fn assign_expr(e: &mut Expr, next: &mut u32) {
    let slot = match e {
        Expr::Counter(c) => &mut c.slot,
        Expr::Limit(l) => &mut l.slot,
        Expr::Quota(q) => &mut q.slot,
        Expr::Numgen(n) => &mut n.slot,
        Expr::Last(l) => &mut l.slot,
        Expr::Connlimit(c) => &mut c.slot,
        Expr::Match(XtMatch::Connlimit(c)) => &mut c.slot,
        Expr::Inner(i) => return assign_expr(&mut i.expr, next),
        _ => return,
    };
    *slot = *next;
    *next += 1;
}
