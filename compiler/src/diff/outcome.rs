//! Comparing the two sides' outcomes for a region whose fate both know: the final verdict,
//! and for packets that go on, the NAT and other effects and every written field (marks,
//! conntrack marks, rewritten headers). Conntrack writes count even when the packet is dropped
//! (they stay on the connection).
//!
//! A written value may be a copy of an input ("mark unchanged") on one side and a constant on
//! the other: they differ only for packets whose input is not that constant, so a difference
//! comes with the *picks* the witness must respect.

use super::interval::Interval;
use super::state::{FinalVerdict, SideState, SymVal};
use super::universe::Slot;

/// A constraint on the witness packet so that it shows a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The slot's value must not be this constant.
    Not(Slot, u128),
    /// The two slots' values must differ.
    Apart(Slot, Slot),
}

/// What differs between the two sides (None: nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub picks: Vec<Pick>,
    pub what: String,
}

/// `None`: equal on the whole region; `Some(picks)`: different where the picks hold.
fn compare_vals(a: SymVal, b: SymVal, region: &[Interval]) -> Option<Vec<Pick>> {
    let single = |x: Slot| {
        let iv = region[x as usize];
        iv.is_point().then_some(iv.lo)
    };
    match (a, b) {
        (x, y) if x == y => None,
        (SymVal::Const(_), SymVal::Const(_)) => Some(vec![]),
        (SymVal::Input(x), SymVal::Const(c)) | (SymVal::Const(c), SymVal::Input(x)) => {
            if single(x) == Some(c) { None } else { Some(vec![Pick::Not(x, c)]) }
        }
        (SymVal::Input(x), SymVal::Input(y)) => match (single(x), single(y)) {
            (Some(p), Some(q)) if p == q => None,
            _ => Some(vec![Pick::Apart(x, y)]),
        },
    }
}

/// Compare two finished sides; `conntrack[slot]` tells which slots belong to the connection.
pub fn compare(a: &SideState, b: &SideState, region: &[Interval], conntrack: &[bool]) -> Option<Difference> {
    let (Some(va), Some(vb)) = (&a.fate, &b.fate) else {
        return Some(Difference { picks: vec![], what: "internal: unfinished side".into() });
    };
    if va != vb {
        return Some(Difference { picks: vec![], what: "verdict".into() });
    }
    let goes_on = matches!(va, FinalVerdict::Accept | FinalVerdict::Queue(_) | FinalVerdict::Stolen(_));
    if goes_on {
        let mut ea = a.effects.clone();
        let mut eb = b.effects.clone();
        ea.sort();
        ea.dedup();
        eb.sort();
        eb.dedup();
        if ea != eb {
            return Some(Difference { picks: vec![], what: "effects".into() });
        }
    }
    let mut slots: Vec<Slot> = a.writes.iter().chain(&b.writes).map(|w| w.0).collect();
    slots.sort_unstable();
    slots.dedup();
    for s in slots {
        if !goes_on && !conntrack.get(s as usize).copied().unwrap_or(false) {
            continue;
        }
        if let Some(picks) = compare_vals(a.value(s), b.value(s), region) {
            return Some(Difference { picks, what: format!("written slot {s}") });
        }
    }
    None
}
