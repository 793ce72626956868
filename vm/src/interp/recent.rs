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

    /// The addresses of list `name`, for inspection: `(family, address, times seen)`.
    pub fn entries(&self, name: &str) -> Vec<(Family, [u8; 16], usize)> {
        self.lists
            .iter()
            .filter(|l| l.name == name)
            .flat_map(|l| l.entries.iter().map(|e| (e.family, e.addr, e.filled)))
            .collect()
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
