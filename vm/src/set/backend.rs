//! The runtime form of a set: one of the backends plus the catch-all element, chosen from
//! the set's flags and key when the program is loaded.

use super::concat::ConcatSet;
use super::hash::HashSet;
use super::interval::IntervalSet;
use super::prefix::PrefixSet;
use super::{ElemData, Element, Set};
use crate::data::Data;
use crate::expr::Expr;
use crate::expr::connlimit::ConnList;
use crate::interp::Slot;

/// What a lookup found.
#[derive(Clone, Copy, Debug)]
pub struct Found<'a> {
    pub data: Option<&'a ElemData>,
}

/// A live element: its map data, expiry (ns on the packet clock), the timeout it was created
/// with (ns, what a listing shows; an update restarts the expiry with the update's own) and
/// the state of the expressions attached to it by a dynset.
#[derive(Clone, Debug, PartialEq)]
pub struct ElemRec {
    pub data: Option<ElemData>,
    pub expires: Option<u64>,
    pub timeout: Option<u64>,
    pub slots: Vec<Slot>,
    /// The ruleset declared it (the packet path did not create it): a listing shows the
    /// declaration's comment with it.
    pub declared: bool,
}

impl ElemRec {
    pub fn from_element(e: &Element, now: u64) -> ElemRec {
        let ns = |ms: u64| ms.saturating_mul(1_000_000);
        let ttl = e.expires_ms.or(e.timeout_ms).map(ns);
        ElemRec {
            data: e.data.clone(),
            expires: ttl.map(|t| now.saturating_add(t)),
            timeout: e.timeout_ms.map(ns),
            slots: Vec::new(),
            declared: true,
        }
    }

    /// Elements expire when the clock reaches their expiry (`time_after_eq`).
    pub fn live(&self, now: u64) -> bool {
        self.expires.is_none_or(|t| now < t)
    }
}

/// The elements of a set with a timeout, each declared without one given the set's (as
/// the kernel does when it adds them: they expire like the elements the packet path adds);
/// `None` when nothing changes.
fn with_set_timeout(set: &Set) -> Option<Vec<Element>> {
    let t = set.timeout_ms?;
    let lacks = |e: &Element| e.timeout_ms.is_none() && !e.is_catchall() && !e.is_interval_end();
    if !set.elements.iter().any(lacks) {
        return None;
    }
    let with = |e: &Element| {
        let mut e = e.clone();
        if lacks(&e) {
            e.timeout_ms = Some(t);
        }
        e
    };
    Some(set.elements.iter().map(with).collect())
}

/// The backend kinds.
#[derive(Clone, Debug)]
pub enum Store {
    Hash(HashSet),
    Interval(IntervalSet),
    Prefix(PrefixSet),
    Concat(ConcatSet),
}

/// A loaded set.
#[derive(Clone, Debug)]
pub struct SetBackend {
    pub store: Store,
    pub catchall: Option<ElemRec>,
}

impl SetBackend {
    /// Loads a set's elements into the backend its flags and key call for.
    pub fn build(set: &Set, now: u64) -> SetBackend {
        let catchall = set.elements.iter().find(|e| e.is_catchall()).map(|e| ElemRec::from_element(e, now));
        let defaulted = with_set_timeout(set);
        let elements = defaulted.as_deref().unwrap_or(&set.elements);
        let elems: Vec<&Element> = elements.iter().filter(|e| !e.is_catchall()).collect();
        let store = if set.is_interval() {
            let concat = set.key.len() > 1 || elems.iter().any(|e| e.key_end.is_some());
            if concat {
                Store::Concat(ConcatSet::build(set, &elems, now))
            } else {
                let iv = IntervalSet::build(&elems, now);
                match PrefixSet::from_intervals(&iv, set.key_len()) {
                    Some(p) => Store::Prefix(p),
                    None => Store::Interval(iv),
                }
            }
        } else {
            let gc_every = u64::from(set.gc_interval_ms.unwrap_or(0)).saturating_mul(1_000_000);
            Store::Hash(HashSet::build(&elems, now, gc_every, set.is_dynamic()))
        };
        SetBackend { store, catchall }
    }

    /// Looks `key` up at time `now`; the catch-all element answers when nothing else does.
    pub fn lookup(&self, key: &[u8], now: u64) -> Option<Found<'_>> {
        let rec = match &self.store {
            Store::Hash(h) => h.get(key, now),
            Store::Interval(i) => i.get(key, now),
            Store::Prefix(p) => p.get(key),
            Store::Concat(c) => c.get(key, now),
        };
        rec.or(self.catchall.as_ref().filter(|c| c.live(now))).map(|r| Found { data: r.data.as_ref() })
    }

    /// Dynset add/update: the element for `key`, created if absent (with `data`, expiring
    /// after `timeout` ns); `refresh` restarts an existing element's timeout. `None` when the
    /// set is full or cannot change (only hash sets can). A collection due first asks
    /// `gone` about the elements' connection lists ([`HashSet::collect`]).
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        key: &[u8],
        data: Option<Data>,
        timeout: Option<u64>,
        refresh: bool,
        now: u64,
        max: u32,
        exprs: &[Expr],
        gone: &mut dyn FnMut(ConnList) -> bool,
    ) -> Option<&mut [Slot]> {
        match &mut self.store {
            Store::Hash(h) => h.update(key, data, timeout, refresh, now, max, exprs, gone),
            _ => None,
        }
    }

    /// Runs the collection when due by `now` (only hash sets change: see
    /// [`HashSet::collect`]).
    pub fn collect(&mut self, now: u64, gone: &mut dyn FnMut(ConnList) -> bool) {
        if let Store::Hash(h) = &mut self.store {
            h.collect(now, gone);
        }
    }

    /// The live elements with their keys, for a listing: `None` for the backends the packet
    /// path cannot change (only hash sets change: their listing is the declaration's).
    pub fn live_elements(&self, now: u64) -> Option<Vec<(&[u8], &ElemRec)>> {
        match &self.store {
            Store::Hash(h) => Some(h.entries().filter(|(_, r)| r.live(now)).collect()),
            _ => None,
        }
    }

    /// Dynset delete.
    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        match &mut self.store {
            Store::Hash(h) => h.delete(key, now),
            _ => false,
        }
    }

    /// Number of live elements (catch-all included).
    pub fn len(&self, now: u64) -> usize {
        let n = match &self.store {
            Store::Hash(h) => h.len(now),
            Store::Interval(i) => i.len(),
            Store::Prefix(p) => p.len(),
            Store::Concat(c) => c.len(),
        };
        n + self.catchall.is_some() as usize
    }

    pub fn is_empty(&self, now: u64) -> bool {
        self.len(now) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ByteOrder, Data, Field};
    use crate::program::TableId;
    use crate::set::flags;

    fn elem(k: [u8; 4], timeout_ms: Option<u64>) -> Element {
        Element { timeout_ms, ..Element::new(Data::new(&k, ByteOrder::Network).unwrap()) }
    }

    /// A set with a timeout gives the elements the ruleset declares without one its own:
    /// they expire (and are not the packet path's, for a listing); one with its own keeps it.
    #[test]
    fn declared_elements_take_the_sets_timeout() {
        let ms = 1_000_000;
        let key = vec![Field::new(4, ByteOrder::Network)];
        let mut set = Set::new("s", TableId(0), flags::TIMEOUT | flags::EVAL, key);
        set.timeout_ms = Some(1_000);
        set.elements = vec![elem([10, 0, 0, 1], None), elem([10, 0, 0, 2], Some(5_000))];
        let b = SetBackend::build(&set, 0);
        assert!(b.lookup(&[10, 0, 0, 1], 999 * ms).is_some());
        assert!(b.lookup(&[10, 0, 0, 1], 1_000 * ms).is_none(), "expired with the set's timeout");
        assert!(b.lookup(&[10, 0, 0, 2], 4_999 * ms).is_some(), "its own timeout");
        let live = b.live_elements(0).unwrap();
        assert!(live.iter().all(|(_, r)| r.declared));
        let mut no_timeout = set.clone();
        no_timeout.timeout_ms = None;
        let b = SetBackend::build(&no_timeout, 0);
        assert!(b.lookup(&[10, 0, 0, 1], u64::MAX / 2).is_some(), "no timeout: never expires");
    }
}
