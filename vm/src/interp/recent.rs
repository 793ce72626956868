//! The address lists of `xt_recent` (iptables' `-m recent`): per list name, up to 100
//! addresses (the least recently updated one makes room), each with a ring of the times it
//! was last seen, as the kernel module keeps them (`ip_list_tot` 100, `ip_pkt_list_tot`
//! 20). Lists are shared by every rule that names them, whatever its chain or table.
//!
//! The ring holds a power of two of times: 32 unless a rule's `--hitcount` needs more
//! (the kernel sizes it when the rules are loaded, largest wins); the address mask is the
//! first rule's.

use crate::expr::Expr;
use crate::expr::recent::{Recent, RecentCmd};
use crate::expr::xt::XtMatch;
use crate::keys::Family;
use crate::program::Program;

/// Addresses a list remembers (the module's `ip_list_tot`).
pub const LIST_MAX: usize = 100;
/// Times per address the module keeps by default (`ip_pkt_list_tot`).
const PKT_LIST_TOT: u32 = 20;

/// One remembered address.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    family: Family,
    addr: [u8; 16],
    ttl: u8,
    /// Times seen (ns on the packet clock), a ring of the list's size.
    stamps: Vec<u64>,
    /// Next slot of the ring, and how many slots hold a time.
    index: usize,
    filled: usize,
    /// Order of last update (the least recent is evicted first).
    touched: u64,
}

/// One named list.
#[derive(Clone, Debug, PartialEq)]
pub struct RecentList {
    pub name: String,
    mask: [u8; 16],
    ring: usize,
    entries: Vec<Entry>,
    clock: u64,
}

/// Every list of a program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecentLists {
    lists: Vec<RecentList>,
}

/// The ring size a rule asks for (`recent_mt_check`).
fn ring_for(hitcount: u32) -> usize {
    let n = if hitcount < PKT_LIST_TOT { PKT_LIST_TOT } else { hitcount.max(1) };
    n.next_power_of_two() as usize
}

impl RecentLists {
    /// The lists the program's rules name, created in rule order.
    pub fn of(prog: &Program) -> RecentLists {
        let mut out = RecentLists::default();
        for e in prog.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.exprs) {
            if let Expr::Match(XtMatch::Recent(r)) = e {
                let ring = ring_for(r.hitcount);
                match out.lists.iter_mut().find(|l| l.name == r.list) {
                    Some(l) => l.ring = l.ring.max(ring),
                    None => out.lists.push(RecentList {
                        name: r.list.clone(),
                        mask: r.mask,
                        ring,
                        entries: Vec::new(),
                        clock: 0,
                    }),
                }
            }
        }
        out
    }

    /// Applies `rule` to the packet's address and TTL at `now`; does the rule match?
    pub fn apply(&mut self, rule: &Recent, family: Family, addr: [u8; 16], ttl: u8, now: u64) -> bool {
        let Some(list) = self.lists.iter_mut().find(|l| l.name == rule.list) else { return false };
        list.apply(rule, family, addr, ttl, now)
    }
}

impl RecentList {
    fn apply(&mut self, rule: &Recent, family: Family, addr: [u8; 16], ttl: u8, now: u64) -> bool {
        let mut masked = addr;
        for (b, m) in masked.iter_mut().zip(self.mask) {
            *b &= m;
        }
        let mut ret = rule.invert;
        let want_ttl = if rule.ttl { ttl } else { 0 };
        let found = self.entries.iter().position(|e| {
            e.family == family && e.addr == masked && (want_ttl == e.ttl || want_ttl == 0 || e.ttl == 0)
        });
        let Some(at) = found else {
            if rule.cmd != RecentCmd::Set {
                return ret;
            }
            self.insert(family, masked, ttl, now);
            return !ret;
        };
        let mut at = Some(at);
        match rule.cmd {
            RecentCmd::Set => ret = !ret,
            RecentCmd::Remove => {
                if let Some(i) = at {
                    self.entries.remove(i);
                }
                return !ret;
            }
            RecentCmd::Check | RecentCmd::Update => {
                let since = now.saturating_sub(u64::from(rule.seconds).saturating_mul(1_000_000_000));
                if let Some(e) = at.and_then(|i| self.entries.get(i)) {
                    let mut hits = 0;
                    for &t in &e.stamps[..e.filled] {
                        if rule.seconds != 0 && t < since {
                            continue;
                        }
                        hits += 1;
                        if rule.hitcount == 0 || hits >= rule.hitcount {
                            ret = !ret;
                            break;
                        }
                    }
                }
                if rule.reap
                    && let Some(gone) = self.reap(since)
                {
                    // The entry itself may be the one reaped (the kernel would then update
                    // freed memory; here the update is skipped).
                    at = at.and_then(|i| match i.cmp(&gone) {
                        std::cmp::Ordering::Equal => None,
                        std::cmp::Ordering::Greater => Some(i - 1),
                        std::cmp::Ordering::Less => Some(i),
                    });
                }
            }
        }
        if (rule.cmd == RecentCmd::Set || rule.cmd == RecentCmd::Update && ret)
            && let Some(i) = at
        {
            self.touch(i, ttl, now);
        }
        ret
    }

    fn insert(&mut self, family: Family, addr: [u8; 16], ttl: u8, now: u64) {
        if self.entries.len() >= LIST_MAX
            && let Some(oldest) =
                self.entries.iter().enumerate().min_by_key(|(_, e)| e.touched).map(|(i, _)| i)
        {
            self.entries.remove(oldest);
        }
        self.clock += 1;
        let mut stamps = vec![0; self.ring];
        stamps[0] = now;
        self.entries.push(Entry { family, addr, ttl, stamps, index: 1, filled: 1, touched: self.clock });
    }

    fn touch(&mut self, at: usize, ttl: u8, now: u64) {
        self.clock += 1;
        let (ring, clock) = (self.ring, self.clock);
        let e = &mut self.entries[at];
        e.index &= ring - 1;
        e.stamps[e.index] = now;
        e.index += 1;
        e.filled = e.filled.max(e.index);
        e.touched = clock;
        e.ttl = ttl;
    }

    /// `--reap`: the least recently updated entry goes when its last time is before `since`;
    /// the index it had.
    fn reap(&mut self, since: u64) -> Option<usize> {
        let i = self.entries.iter().enumerate().min_by_key(|(_, e)| e.touched).map(|(i, _)| i)?;
        let e = &self.entries[i];
        let last = e.stamps[(e.index + e.stamps.len() - 1) % e.stamps.len()];
        (last < since).then(|| {
            self.entries.remove(i);
            i
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cmd: RecentCmd) -> Recent {
        let mut mask = [0u8; 16];
        mask[..4].fill(0xff);
        Recent { list: "L".into(), cmd, mask, ..Recent::default() }
    }

    fn list(ring: usize) -> RecentList {
        RecentList { name: "L".into(), mask: rule(RecentCmd::Set).mask, ring, entries: Vec::new(), clock: 0 }
    }

    fn addr(n: u32) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&n.to_be_bytes());
        a
    }

    /// The 101st address pushes out the least recently updated one, not the oldest created.
    #[test]
    fn a_full_list_forgets_the_least_recently_updated_address() {
        let mut l = list(32);
        let set = rule(RecentCmd::Set);
        for n in 0..LIST_MAX as u32 {
            assert!(l.apply(&set, Family::Ip, addr(n), 64, u64::from(n)));
        }
        // Address 0 is seen again, so 1 is now the least recently updated.
        l.apply(&set, Family::Ip, addr(0), 64, 1_000);
        l.apply(&set, Family::Ip, addr(500), 64, 1_001);
        let check = rule(RecentCmd::Check);
        assert!(l.apply(&check, Family::Ip, addr(0), 64, 1_002));
        assert!(!l.apply(&check, Family::Ip, addr(1), 64, 1_002));
        assert!(l.apply(&check, Family::Ip, addr(500), 64, 1_002));
        assert_eq!(l.entries.len(), LIST_MAX);
    }

    /// The ring keeps the last 32 times by default: a hit count of 33 is never reached, a
    /// rule asking for 40 gets a ring of 64.
    #[test]
    fn the_ring_bounds_the_hits_a_rule_can_count() {
        for (ring, hitcount, want) in
            [(ring_for(0), 33, false), (ring_for(40), 40, true), (ring_for(32), 32, true)]
        {
            let mut l = list(ring);
            let set = rule(RecentCmd::Set);
            for t in 0..50u64 {
                l.apply(&set, Family::Ip, addr(7), 64, t);
            }
            let check = Recent { hitcount, ..rule(RecentCmd::Check) };
            assert_eq!(l.apply(&check, Family::Ip, addr(7), 64, 60), want, "ring {ring} hitcount {hitcount}");
        }
        assert_eq!((ring_for(0), ring_for(20), ring_for(33)), (32, 32, 64));
    }

    /// `--remove` forgets and matches once; `!` inverts every outcome; another family is
    /// another entry.
    #[test]
    fn remove_invert_and_families() {
        let mut l = list(32);
        l.apply(&rule(RecentCmd::Set), Family::Ip, addr(9), 64, 0);
        let not_seen = Recent { invert: true, ..rule(RecentCmd::Check) };
        assert!(!l.apply(&not_seen, Family::Ip, addr(9), 64, 1));
        assert!(l.apply(&not_seen, Family::Ip6, addr(9), 64, 1));
        assert!(l.apply(&rule(RecentCmd::Remove), Family::Ip, addr(9), 64, 2));
        assert!(!l.apply(&rule(RecentCmd::Remove), Family::Ip, addr(9), 64, 3));
        assert!(l.apply(&not_seen, Family::Ip, addr(9), 64, 4));
    }
}
