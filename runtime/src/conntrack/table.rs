//! The connection table: entries in a slab, both directions' tuples in one hashbrown index
//! keyed by a seeded (foldhash) hash of tuple + zone, plus the bookkeeping around them
//! (expectations, NAT source map, early-drop candidates, events, statistics).
//!
//! The index stores only `(hash, slot, direction)`, 16 bytes, and compares tuples in the
//! slab on a hash match: lookups touch one index group and the entry they return, and
//! never allocate. Entries being created live in the slab but not in the index until they
//! are confirmed; entries killed while a packet still refers to them are unlinked at once
//! and freed when that packet is finished ([`Conntrack::finish`] / [`Conntrack::abort`]).

use std::collections::VecDeque;

use foldhash::fast::FixedState;
use hashbrown::HashMap;
use nftvm_vm::keys::ct_status as st;

use super::config::Config;
use super::entry::{Conn, ConnId};
use super::events::{Event, ev};
use super::expect::Expectations;
use super::format::{self, FormatOptions};
use super::index::{FlowIndex, Hit};
use super::packet::Time;
use super::tuple::{L3, Tuple};

/// The kernel's conntrack statistics (`conntrack -S`), with its meanings: `found` counts
/// NAT tuple clashes, `insert` only entries created by ctnetlink (always 0 here), `error`
/// bad ICMP errors, `invalid` other untrackable packets. `confirmed` (ours) counts
/// entries that entered the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub found: u64,
    pub invalid: u64,
    pub insert: u64,
    pub insert_failed: u64,
    pub drop: u64,
    pub early_drop: u64,
    pub error: u64,
    pub expect_new: u64,
    pub expect_create: u64,
    pub confirmed: u64,
}

impl Stats {
    /// The `conntrack -S` line for CPU `cpu`.
    pub fn line(&self, cpu: u32) -> String {
        format!(
            "cpu={cpu:<4}\tfound={} invalid={} insert={} insert_failed={} drop={} early_drop={} error={} \
             search_restart=0 clash_resolve=0 chaintoolong=0 ",
            self.found, self.invalid, self.insert, self.insert_failed, self.drop, self.early_drop, self.error
        )
    }
}

/// Tuples owned by other tables: in multi-worker live mode each worker has a table of its
/// own, and a NAT tuple chosen by one must not be chosen by another. Source NAT asks this
/// before taking a reply tuple it does not find in its own table.
pub trait TupleClaims: Send + Sync + std::fmt::Debug {
    /// Would a connection whose reply-direction packets carry `reply` be handled by another
    /// table than this one?
    fn claimed_elsewhere(&self, reply: &Tuple) -> bool;
}

/// Why the packet had to be dropped while tracking (`NF_DROP` from conntrack).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The table is full of assured connections (`nf_conntrack: table full, dropping packet`).
    TableFull,
}

#[derive(Clone, Debug)]
struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

/// Key of the NAT "by source" map: what `find_appropriate_src` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SrcKey {
    pub zone: u16,
    pub proto: u8,
    pub l3: L3,
    pub addr: u128,
    pub port: u16,
}

impl SrcKey {
    pub(crate) fn of(t: &Tuple, zone: u16) -> SrcKey {
        SrcKey { zone, proto: t.proto, l3: t.l3, addr: t.src, port: t.src_id }
    }
}

/// The connection tracking table with its configuration.
#[derive(Debug)]
pub struct Conntrack {
    pub(crate) cfg: Config,
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: FlowIndex,
    /// Allocated entries (pending, confirmed, dying), as the kernel counts them.
    count: usize,
    next_id: u32,
    pub(crate) expect: Expectations,
    /// The source keys of PPTP calls' GRE packets (the PPTP helper's).
    pub(crate) gre_keymap: super::gre_keymap::GreKeymap,
    /// Source-NATed (incl. null-bound) connections by original source.
    pub(crate) bysrc: HashMap<SrcKey, Vec<ConnId>, FixedState>,
    /// Early-drop candidates: confirmed entries in confirmation order, checked lazily.
    unreplied: VecDeque<ConnId>,
    replied: VecDeque<ConnId>,
    /// Entries the packet in flight owns: pending (unconfirmed) or killed under it.
    pub(crate) transient: Vec<ConnId>,
    /// Entries below this index belong to a packet still in flight while one the host
    /// generated because of it is processed ([`Conntrack::nest`]).
    transient_floor: usize,
    events: VecDeque<Event>,
    pub(crate) fmt: FormatOptions,
    pub(crate) rng: u64,
    pub(crate) stats: Stats,
    /// `found` is counted where the table is only read.
    found: std::cell::Cell<u64>,
    /// The latest packet time seen.
    pub(crate) now: Time,
    /// Where the incremental garbage collection continues.
    gc_cursor: usize,
    /// Tuples other tables own (multi-worker live mode).
    claims: Option<std::sync::Arc<dyn TupleClaims>>,
}

/// Events kept for readers before the oldest are dropped.
const EVENT_BACKLOG: usize = 65_536;

impl Conntrack {
    pub fn new(cfg: Config) -> Conntrack {
        let fmt = FormatOptions { acct: cfg.acct, ..FormatOptions::default() };
        let rng = cfg.seed ^ 0x9e37_79b9_7f4a_7c15;
        Conntrack {
            slots: Vec::new(),
            free: Vec::new(),
            index: FlowIndex::new(cfg.seed),
            count: 0,
            next_id: 0,
            expect: Expectations::default(),
            gre_keymap: super::gre_keymap::GreKeymap::default(),
            bysrc: HashMap::with_hasher(FixedState::with_seed(cfg.seed.rotate_left(17))),
            unreplied: VecDeque::new(),
            replied: VecDeque::new(),
            transient: Vec::new(),
            transient_floor: 0,
            events: VecDeque::new(),
            fmt,
            rng,
            stats: Stats::default(),
            found: std::cell::Cell::new(0),
            now: 0,
            gc_cursor: 0,
            claims: None,
            cfg,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Declares the tuples other tables own (see [`TupleClaims`]).
    pub fn set_claims(&mut self, claims: Option<std::sync::Arc<dyn TupleClaims>>) {
        self.claims = claims;
    }

    /// Whether another table owns connections replying with `reply`.
    pub(crate) fn claimed_elsewhere(&self, reply: &Tuple) -> bool {
        self.claims.as_ref().is_some_and(|c| c.claimed_elsewhere(reply))
    }

    /// Reserves room for `n` more entries (avoids growth pauses, e.g. in benchmarks).
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.index.reserve(2 * n);
    }

    /// Allocated entries (pending and confirmed), what `nf_conntrack_count` shows.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Confirmed entries in the table.
    pub fn len(&self) -> usize {
        self.index.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn stats(&self) -> Stats {
        Stats { found: self.found.get(), ..self.stats }
    }

    /// Output options used for event lines and dumps (accounting follows the config).
    pub fn format_options(&self) -> &FormatOptions {
        &self.fmt
    }

    pub fn set_format_options(&mut self, opts: FormatOptions) {
        self.fmt = opts;
    }

    // ---- slab -------------------------------------------------------------------------

    /// The entry behind a handle.
    pub fn get(&self, id: ConnId) -> Option<&Conn> {
        self.slots
            .get(id.slot as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.conn.as_ref())
    }

    /// The entry behind a handle, mutably. Prefer the setters (`set_mark`, …), which also
    /// record the events the change causes.
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.slots
            .get_mut(id.slot as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.conn.as_mut())
    }

    pub(crate) fn alloc(&mut self, mut conn: Conn) -> ConnId {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        conn.id = self.next_id;
        self.count += 1;
        if let Some(slot) = self.free.pop()
            && let Some(s) = self.slots.get_mut(slot as usize)
        {
            s.conn = Some(conn);
            return ConnId { slot, generation: s.generation };
        }
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(Slot { generation: 0, conn: Some(conn) });
        ConnId { slot, generation: 0 }
    }

    fn free_slot(&mut self, id: ConnId) {
        let Some(s) = self.slots.get_mut(id.slot as usize).filter(|s| s.generation == id.generation) else {
            return;
        };
        if s.conn.take().is_some() {
            s.generation = s.generation.wrapping_add(1);
            self.free.push(id.slot);
            self.count = self.count.saturating_sub(1);
        }
    }

    pub(crate) fn next_random(&mut self) -> u64 {
        // splitmix64: deterministic for a given seed.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    // ---- index ------------------------------------------------------------------------

    /// The confirmed entry holding tuple `t` in zone `zone`, and the direction it matched
    /// (0 original, 1 reply). Expired entries are found too. Reads only the index.
    pub fn find(&self, t: &Tuple, zone: u16) -> Option<(ConnId, usize)> {
        let hit = self.index.find(t, zone)?;
        Some((ConnId { slot: hit.slot, generation: hit.generation }, usize::from(hit.dir)))
    }

    /// Like [`Conntrack::find`] but an expired entry is destroyed and not returned.
    pub fn lookup(&mut self, t: &Tuple, zone: u16, now: Time) -> Option<(ConnId, usize)> {
        let (id, dir) = self.find(t, zone)?;
        if self.get(id).is_some_and(|c| c.expired(now)) {
            self.kill(id, now, false);
            return None;
        }
        Some((id, dir))
    }

    /// Whether tuple `t` is used by a live confirmed entry other than `ignored` that is not
    /// the same flow (`nf_conntrack_tuple_taken`).
    pub(crate) fn tuple_taken(&self, t: &Tuple, zone: u16, ignored: ConnId, now: Time) -> bool {
        let Some((id, _)) = self.find(t, zone) else { return false };
        if id == ignored {
            return false;
        }
        let (Some(other), Some(me)) = (self.get(id), self.get(ignored)) else { return false };
        if other.expired(now) || (other.tuple[0] == me.tuple[0] && other.zone == me.zone) {
            return false;
        }
        self.found.set(self.found.get() + 1);
        true
    }

    fn index_remove(&mut self, id: ConnId) {
        let Some(c) = self.get(id) else { return };
        let (orig, reply, zone) = (c.tuple[0], c.tuple[1], c.zone);
        self.index.remove(&orig, zone, id.slot, 0);
        self.index.remove(&reply, zone, id.slot, 1);
    }

    /// Puts a pending entry into the index and marks it CONFIRMED. Fails (and leaves the
    /// entry pending) when either tuple is already taken.
    pub(crate) fn insert_confirmed(&mut self, id: ConnId) -> bool {
        let Some(c) = self.get(id) else { return false };
        let (orig, reply, zone) = (c.tuple[0], c.tuple[1], c.zone);
        let (h0, h1) = (self.index.hash(&orig, zone), self.index.hash(&reply, zone));
        // The original tuple was looked up when the entry was created, and nothing can
        // have entered the table since (one packet in flight): only the reply tuple, which
        // NAT may have changed, can clash.
        if self.index.find_hashed(h1, &reply, zone).is_some() {
            return false;
        }
        let hit = Hit { slot: id.slot, generation: id.generation, dir: 0 };
        self.index.insert_hashed(h0, &orig, zone, hit);
        self.index.insert_hashed(h1, &reply, zone, Hit { dir: 1, ..hit });
        if let Some(c) = self.get_mut(id) {
            c.status |= st::CONFIRMED;
        }
        self.unreplied.push_back(id);
        self.compact_candidates();
        true
    }

    // ---- death ------------------------------------------------------------------------

    /// Kills an entry (`nf_ct_delete`): DESTROY event, unlinked from the index, its
    /// expectations and NAT source mapping dropped. `in_flight` keeps the memory until the
    /// current packet is finished because it still refers to the entry.
    pub fn kill(&mut self, id: ConnId, now: Time, in_flight: bool) {
        let Some(c) = self.get_mut(id) else { return };
        if c.status & st::DYING != 0 {
            return;
        }
        c.status |= st::DYING;
        let confirmed = c.confirmed();
        if confirmed {
            self.deliver_event(id, ev::DESTROY, now);
            self.index_remove(id);
        }
        self.unlink_extras(id);
        if in_flight {
            if !self.transient.contains(&id) {
                self.transient.push(id);
            }
        } else if !self.transient.contains(&id) {
            self.free_slot(id);
        }
    }

    /// Drops what other structures hold about an entry that is going away.
    fn unlink_extras(&mut self, id: ConnId) {
        if self.get(id).and_then(|c| c.helper) == Some(crate::helper::Helper::Pptp) {
            self.end_pptp_call(id);
        }
        self.expect.remove_master(id);
        let Some(c) = self.get(id) else { return };
        if c.status & st::SRC_NAT_DONE != 0 {
            let key = SrcKey::of(&c.tuple[0], c.zone);
            if let Some(list) = self.bysrc.get_mut(&key) {
                list.retain(|x| *x != id);
                if list.is_empty() {
                    self.bysrc.remove(&key);
                }
            }
        }
    }

    /// Frees everything the finished packet owned: entries never confirmed, and entries
    /// killed while it was processed.
    pub(crate) fn release_transient(&mut self) {
        while self.transient.len() > self.transient_floor {
            let Some(id) = self.transient.pop() else { break };
            let Some(c) = self.get(id) else { continue };
            if !c.confirmed() || c.status & st::DYING != 0 {
                if !c.confirmed() {
                    self.unlink_extras(id);
                }
                self.free_slot(id);
            }
        }
    }

    /// A packet the host generates while another is in flight (an ICMP error about a `dup`
    /// copy, sent before the original leaves postrouting) is tracked on its own: what the
    /// outer packet has pending stays until the outer packet finishes, as a nested packet
    /// in the kernel has its own skb. Returns what [`Conntrack::unnest`] restores.
    pub fn nest(&mut self) -> usize {
        std::mem::replace(&mut self.transient_floor, self.transient.len())
    }

    /// The generated packet is done: what it left pending goes, the outer packet's stays.
    pub fn unnest(&mut self, floor: usize) {
        self.release_transient();
        self.transient_floor = floor.min(self.transient.len());
    }

    /// Destroys expired entries. `max` bounds the work: that many slots are examined,
    /// continuing where the previous call stopped (0 = the whole table). Returns how many
    /// entries died. Lookups also remove expired entries they meet; call this periodically
    /// (e.g. every packet-clock second) so idle entries go too and their DESTROY events are
    /// emitted.
    pub fn gc(&mut self, now: Time, max: usize) -> usize {
        self.now = self.now.max(now);
        let n = self.slots.len();
        if n == 0 {
            return 0;
        }
        let budget = if max == 0 { n } else { max.min(n) };
        let mut expired = Vec::new();
        for _ in 0..budget {
            let i = self.gc_cursor % n;
            self.gc_cursor = (i + 1) % n;
            if let Some(s) = self.slots.get(i)
                && let Some(c) = &s.conn
                && c.confirmed()
                && c.status & st::DYING == 0
                && c.expired(now)
            {
                expired.push(ConnId { slot: i as u32, generation: s.generation });
            }
        }
        for &id in &expired {
            self.kill(id, now, false);
        }
        expired.len()
    }

    /// Deletes one entry (`conntrack -D`).
    pub fn delete(&mut self, id: ConnId) -> bool {
        if self.get(id).is_none_or(|c| !c.confirmed()) {
            return false;
        }
        let now = self.now;
        self.kill(id, now, false);
        true
    }

    /// Deletes every confirmed entry (`conntrack -F`). Returns how many.
    pub fn flush(&mut self) -> usize {
        let ids: Vec<ConnId> = self.iter().map(|(id, _)| id).collect();
        let now = self.now;
        for &id in &ids {
            self.kill(id, now, false);
        }
        self.expect.clear();
        ids.len()
    }

    // ---- early drop -------------------------------------------------------------------

    /// Makes room for a new entry when the table is at `max`: evicts an expired or
    /// unreplied entry, else a replied but not assured one (oldest first). Linux scans the
    /// new tuple's hash buckets instead; which victim is chosen can differ, the rule
    /// (never an ASSURED entry, refuse if there is none) is the same.
    pub(crate) fn early_drop(&mut self, now: Time) -> bool {
        while let Some(id) = self.unreplied.pop_front() {
            let evictable = self.get(id).is_some_and(|c| {
                c.confirmed()
                    && c.status & st::DYING == 0
                    && (c.expired(now) || (c.status & (st::ASSURED | st::SEEN_REPLY) == 0))
            });
            if evictable {
                self.kill(id, now, false);
                self.stats.early_drop += 1;
                return true;
            }
        }
        while let Some(id) = self.replied.pop_front() {
            let evictable = self.get(id).is_some_and(|c| {
                c.confirmed() && c.status & st::DYING == 0 && (c.expired(now) || c.status & st::ASSURED == 0)
            });
            if evictable {
                self.kill(id, now, false);
                self.stats.early_drop += 1;
                return true;
            }
        }
        false
    }

    /// Records that an entry saw its first reply (it stays evictable until ASSURED).
    pub(crate) fn note_replied(&mut self, id: ConnId) {
        self.replied.push_back(id);
        self.compact_candidates();
    }

    /// Keeps the candidate queues proportional to the table: stale handles are dropped
    /// once the queues grow past twice the number of entries.
    fn compact_candidates(&mut self) {
        let limit = 2 * self.count + 1024;
        if self.unreplied.len() > limit {
            let mut q = std::mem::take(&mut self.unreplied);
            q.retain(|id| self.get(*id).is_some_and(|c| c.status & (st::ASSURED | st::SEEN_REPLY) == 0));
            self.unreplied = q;
        }
        if self.replied.len() > limit {
            let mut q = std::mem::take(&mut self.replied);
            q.retain(|id| self.get(*id).is_some_and(|c| c.status & st::ASSURED == 0));
            self.replied = q;
        }
    }

    // ---- events -----------------------------------------------------------------------

    /// Caches event bits on an entry, to be delivered at the confirm point.
    pub(crate) fn cache_event(&mut self, id: ConnId, bits: u16) {
        if !self.cfg.events {
            return;
        }
        if let Some(c) = self.get_mut(id) {
            c.pending_events |= bits;
        }
    }

    /// Delivers the cached events of an entry (plus `extra`) as one event.
    pub(crate) fn deliver_event(&mut self, id: ConnId, extra: u16, now: Time) {
        if !self.cfg.events {
            return;
        }
        let Some(c) = self.get_mut(id) else { return };
        let mask = if extra & ev::DESTROY != 0 { ev::DESTROY } else { c.pending_events | extra };
        c.pending_events = 0;
        if mask == 0 {
            return;
        }
        let Some(c) = self.get(id) else { return };
        let event = Event::capture(c, mask, now, &self.fmt);
        if self.events.len() >= EVENT_BACKLOG {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Takes the events delivered so far, oldest first.
    pub fn drain_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    // ---- listing ----------------------------------------------------------------------

    /// Pending expectations (`conntrack -L expect`).
    pub fn expectations(&self) -> impl Iterator<Item = &super::expect::Expectation> {
        self.expect.iter()
    }

    /// Confirmed entries (including expired ones not yet collected), in slab order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let c = s.conn.as_ref()?;
            (c.confirmed() && c.status & st::DYING == 0)
                .then_some((ConnId { slot: i as u32, generation: s.generation }, c))
        })
    }

    /// `conntrack -L expect`: one line per pending expectation at `now`.
    pub fn dump_expectations(&self, now: Time) -> Vec<String> {
        self.expect
            .iter()
            .filter(|e| e.timeout > now)
            .filter_map(|e| {
                let m = self.get(e.master)?;
                Some(format::expect_line(e, m, m.helper.map(|h| h.name()), now))
            })
            .collect()
    }

    /// `conntrack -L`: one line per live entry at `now`.
    pub fn dump(&self, now: Time) -> Vec<String> {
        let mut children: HashMap<ConnId, usize> = HashMap::default();
        for (_, c) in self.iter() {
            if let Some(m) = c.master() {
                *children.entry(m).or_default() += 1;
            }
        }
        self.iter()
            .filter(|(_, c)| !c.expired(now))
            .map(|(id, c)| {
                format::conn_line_use(c, now, &self.fmt, 1 + children.get(&id).copied().unwrap_or(0))
            })
            .collect()
    }
}
