//! `connlimit`: match while the number of tracked connections counted here is at most
//! `count` (flag 0x1 inverts: `ct count over`) (nft_connlimit.c). The runtime keeps the
//! connection lists ([`ConnList`]): one per expression, and one per set element that
//! carries `ct count` (`add @s { ip saddr ct count over 3 }`, and iptables' `-m connlimit`).
//! A packet conntrack cannot read a tuple from (an ICMP header or a port pair cut short) has
//! nothing to count: the kernel drops it, whatever the rule says.

use crate::interp::{Env, Eval};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// Which connection list a `connlimit` counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnList {
    /// The list of the `connlimit` expression (or object) with this state slot.
    Slot(u32),
    /// The list of one set element: made with the element, gone with it (a new element of
    /// the same key starts empty, as the kernel's does).
    Element(u64),
    /// The list of one address group of the `-m connlimit` match with this state slot
    /// ([`super::xt_connlimit`]): the masked address as a number (the runtime adds the zone).
    Group { slot: u32, key: u128 },
}

/// What the environment answers when asked to count the packet's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// The connections in the list, the packet's own counted.
    Conns(u32),
    /// The packet has no conntrack tuple (`nf_ct_get_tuplepr` fails): the kernel drops it.
    NoTuple,
    /// Nothing counts connections here (an environment without conntrack): the rule breaks.
    NotCounted,
}

impl ConnList {
    /// A list for a new set element, never handed out before in this process (elements are
    /// made deep inside set updates, where no program state is at hand to number them).
    pub fn new_element() -> ConnList {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        ConnList::Element(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Connlimit {
    pub count: u32,
    pub flags: u32,
    pub slot: u32,
}

impl Connlimit {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "count {} flags {:x}", self.count, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Connlimit> {
        c.expect("count")?;
        let count = c.num()?;
        c.expect("flags")?;
        let flags = c.bare_hex()? as u32;
        Ok(Connlimit { count, flags, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let answer = self.answer(e.env, ConnList::Slot(self.slot));
        e.match_answer(answer);
    }

    /// Counts the packet's connection in `list`, answering as an x_tables match does:
    /// `Some(true)` when the rule goes on (the count is at most `count`, or with flag 0x1
    /// above it), `Some(false)` when it breaks (also where nothing counts), `None` when the
    /// packet is dropped (it has no tuple to count).
    pub fn answer(&self, env: &mut dyn Env, list: ConnList) -> Option<bool> {
        match env.connlimit_count(list) {
            Count::Conns(n) => Some((n <= self.count) ^ (self.flags & 1 != 0)),
            Count::NoTuple => None,
            Count::NotCounted => Some(false),
        }
    }
}
