//! Expectations (`nf_conntrack_expect.c`): connections a helper announced (an FTP data
//! connection, a TFTP transfer), so that their first packet is RELATED to the master
//! instead of NEW.
//!
//! An expectation matches on source and destination address, protocol and destination
//! port; the source port is a wildcard (the mask FTP and TFTP use). It lives until it is
//! used, its master dies, or its timeout (5 minutes for both) passes.

use super::entry::ConnId;
use super::packet::Time;
use super::tuple::Tuple;

/// NAT of an expected connection (`nf_nat_follow_master`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectNat {
    /// The direction (of the master) the expected connection's packets come from.
    pub dir: usize,
    /// The port the inside host really listens on (the one before mangling).
    pub saved_port: u16,
}

/// One expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Expected tuple; `src_id` is ignored (wildcard source port).
    pub tuple: Tuple,
    pub zone: u16,
    pub master: ConnId,
    /// Absolute expiry.
    pub timeout: Time,
    /// Set when the master is NATed: the new connection follows the master's NAT.
    pub nat: Option<ExpectNat>,
    /// Creation order, to evict the oldest of a master.
    pub(crate) serial: u64,
}

impl Expectation {
    /// Whether `t` (in zone `zone`) is the expected connection.
    pub fn matches(&self, t: &Tuple, zone: u16) -> bool {
        self.zone == zone
            && self.tuple.l3 == t.l3
            && self.tuple.proto == t.proto
            && self.tuple.src == t.src
            && self.tuple.dst == t.dst
            && self.tuple.dst_id == t.dst_id
    }

    /// `expect_clash`: two expectations that would both match some connection.
    fn clashes(&self, other: &Expectation) -> bool {
        self.matches(&other.tuple, other.zone)
    }
}

/// Why an expectation was not registered (`nf_ct_expect_related` errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectError {
    /// Another master already expects the same connection (`-EBUSY`).
    Busy,
    /// The table of expectations is full (`-EMFILE`).
    Full,
}

/// All pending expectations.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    list: Vec<Expectation>,
    serial: u64,
}

impl Expectations {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Expectation> {
        self.list.iter()
    }

    /// Registers `exp` with the policy "at most `max_per_master` per master" (the oldest
    /// is evicted), replacing an identical expectation of the same master.
    pub fn add(
        &mut self,
        mut exp: Expectation,
        max_per_master: usize,
        max_total: usize,
        now: Time,
    ) -> Result<(), ExpectError> {
        self.list.retain(|e| e.timeout > now);
        if let Some(i) = self
            .list
            .iter()
            .position(|e| e.master == exp.master && e.tuple == exp.tuple && e.zone == exp.zone)
        {
            self.list.remove(i);
        } else if self.list.iter().any(|e| e.clashes(&exp)) {
            return Err(ExpectError::Busy);
        }
        let mine = self.list.iter().filter(|e| e.master == exp.master).count();
        if max_per_master > 0
            && mine >= max_per_master
            && let Some(oldest) = self
                .list
                .iter()
                .enumerate()
                .filter(|(_, e)| e.master == exp.master)
                .min_by_key(|(_, e)| e.serial)
                .map(|(i, _)| i)
        {
            self.list.remove(oldest);
        }
        if self.list.len() >= max_total {
            return Err(ExpectError::Full);
        }
        self.serial += 1;
        exp.serial = self.serial;
        self.list.push(exp);
        Ok(())
    }

    /// `nf_ct_find_expectation`: takes (removes) the expectation a new connection matches.
    pub fn take(&mut self, t: &Tuple, zone: u16, now: Time) -> Option<Expectation> {
        if self.list.is_empty() {
            return None;
        }
        self.list.retain(|e| e.timeout > now);
        let i = self.list.iter().position(|e| e.matches(t, zone))?;
        Some(self.list.remove(i))
    }

    /// Removes every expectation of `master` (it is going away).
    pub fn remove_master(&mut self, master: ConnId) {
        if !self.list.is_empty() {
            self.list.retain(|e| e.master != master);
        }
    }

    /// Removes one expectation (a helper giving up on it).
    pub fn remove(&mut self, exp: &Expectation) {
        self.list.retain(|e| e.serial != exp.serial);
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }
}
