//! Expectations (`nf_conntrack_expect.c`): connections a helper announced (an FTP data
//! connection, a TFTP transfer), so that their first packet is RELATED to the master
//! instead of NEW.
//!
//! An expectation matches on source and destination address, protocol and destination
//! port; the source port is a wildcard (the mask FTP and TFTP use) unless the helper names
//! it too (PPTP's GRE keys), and so may the source address be (IRC's DCC: any peer may
//! connect). It lives until it is used, its master dies, or its timeout passes.

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
    /// Expected tuple; `src_id` is ignored (wildcard source port) unless `exact_src_id`.
    pub tuple: Tuple,
    /// The source port (or GRE key) must match too.
    pub exact_src_id: bool,
    /// The source address is a wildcard too (`tuple.src` is then zero, as the kernel
    /// lists it).
    pub any_src: bool,
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
        self.matches_with(t, zone, self.any_src, self.exact_src_id)
    }

    /// [`Expectation::matches`] with the source address compared unless `any_src`, the
    /// source port (key) when `exact_src_id`.
    fn matches_with(&self, t: &Tuple, zone: u16, any_src: bool, exact_src_id: bool) -> bool {
        self.zone == zone
            && self.tuple.l3 == t.l3
            && self.tuple.proto == t.proto
            && (any_src || self.tuple.src == t.src)
            && self.tuple.dst == t.dst
            && self.tuple.dst_id == t.dst_id
            && (!exact_src_id || self.tuple.src_id == t.src_id)
    }

    /// `expect_clash`: two expectations that would both match some connection (compared
    /// under both masks: a wildcard source address or port in either clashes with any).
    fn clashes(&self, other: &Expectation) -> bool {
        let any_src = self.any_src || other.any_src;
        self.matches_with(&other.tuple, other.zone, any_src, self.exact_src_id && other.exact_src_id)
    }

    /// `expect_matches`: the same master expecting the same tuple under the same mask.
    pub(crate) fn same_as(&self, other: &Expectation) -> bool {
        self.master == other.master
            && self.tuple == other.tuple
            && self.any_src == other.any_src
            && self.exact_src_id == other.exact_src_id
            && self.zone == other.zone
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
        if let Some(i) = self.list.iter().position(|e| e.same_as(&exp)) {
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

    /// Removes the first expectation `t` (in zone `zone`) matches (`nf_ct_expect_find_get`
    /// and `nf_ct_unexpect_related`); whether there was one.
    pub fn remove_matching(&mut self, t: &Tuple, zone: u16) -> bool {
        match self.list.iter().position(|e| e.matches(t, zone)) {
            Some(i) => {
                self.list.remove(i);
                true
            }
            None => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tuple::proto;
    use std::net::IpAddr;

    fn tuple(src: &str, dport: u16) -> Tuple {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Tuple::ports(ip(src), ip("10.0.2.1"), proto::TCP, 0, dport)
    }

    fn conn(slot: u32) -> ConnId {
        ConnId { slot, generation: 0 }
    }

    fn exp(master: u32, src: &str, any_src: bool) -> Expectation {
        let mut tuple = tuple(src, 5000);
        if any_src {
            tuple.src = 0;
        }
        Expectation {
            tuple,
            exact_src_id: false,
            any_src,
            zone: 0,
            master: conn(master),
            timeout: 100,
            nat: None,
            serial: 0,
        }
    }

    #[test]
    fn a_wildcard_source_matches_any_host_and_clashes_with_a_specific_one() {
        let mut all = Expectations::default();
        all.add(exp(1, "0.0.0.0", true), 8, 100, 0).unwrap();
        // Another master expecting one host on the same port would share a connection.
        assert_eq!(all.add(exp(2, "10.0.2.9", false), 8, 100, 0), Err(ExpectError::Busy));
        // Any host's connection to the port is the expected one.
        let mut from = tuple("192.0.2.77", 5000);
        from.src_id = 40000;
        assert_eq!(all.take(&from, 0, 1).map(|e| e.master), Some(conn(1)));
        assert!(all.is_empty());
        // Specific sources of two masters do not clash when they differ.
        all.add(exp(1, "10.0.2.8", false), 8, 100, 0).unwrap();
        all.add(exp(2, "10.0.2.9", false), 8, 100, 0).unwrap();
        assert_eq!(all.add(exp(3, "0.0.0.0", true), 8, 100, 0), Err(ExpectError::Busy));
        assert_eq!(all.take(&tuple("10.0.2.7", 5000), 0, 1), None);
    }

    #[test]
    fn an_exact_source_key_must_match_and_clashes_only_with_the_same_key_or_a_wildcard() {
        let keyed = |master, src_id| {
            let mut e = exp(master, "10.0.2.8", false);
            e.tuple.src_id = src_id;
            e.exact_src_id = true;
            e
        };
        let mut all = Expectations::default();
        all.add(keyed(1, 7), 8, 100, 0).unwrap();
        // Another key on the same tuple is another connection; a wildcard port would take both.
        all.add(keyed(2, 8), 8, 100, 0).unwrap();
        assert_eq!(all.add(exp(3, "10.0.2.8", false), 8, 100, 0), Err(ExpectError::Busy));
        assert_eq!(all.add(keyed(3, 7), 8, 100, 0), Err(ExpectError::Busy));
        let mut from = tuple("10.0.2.8", 5000);
        from.src_id = 9;
        assert_eq!(all.take(&from, 0, 1), None, "no key 9 expected");
        from.src_id = 8;
        assert_eq!(all.take(&from, 0, 1).map(|e| e.master), Some(conn(2)));
    }
}
