//! `connlimit`: match while the number of tracked connections counted here is at most
//! `count` (flag 0x1 inverts: `ct count over`) (nft_connlimit.c). The runtime keeps the
//! connection lists ([`ConnList`]): one per expression, and one per set element that
//! carries `ct count` (`add @s { ip saddr ct count over 3 }`, and iptables' `-m connlimit`).

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
        if self.breaks(e.env, ConnList::Slot(self.slot)) {
            e.brk();
        }
    }

    /// Counts the packet's connection in `list`: does the rule break (the count is above
    /// `count`, or with flag 0x1 at most `count`; or there is nothing to count)?
    pub fn breaks(&self, env: &mut dyn Env, list: ConnList) -> bool {
        match env.connlimit_count(list) {
            Some(n) => (n > self.count) ^ (self.flags & 1 != 0),
            None => true,
        }
    }
}
