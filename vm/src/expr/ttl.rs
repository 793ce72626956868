//! `target name TTL rev 0` / `target name HL rev 0` — iptables' `-j TTL` and ip6tables'
//! `-j HL`, run as iptables-nft runs them: the kernel's targets (`ipt_TTL`, `ip6t_HL` in
//! `xt_HL`). nft can set the TTL but not count it up or down (`--ttl-inc`, `--ttl-dec`:
//! a router that hides from traceroute, a tethered link that must look like one hop).
//! As the kernel: an increment stops at 255, a decrement at 0, and the IPv4 header
//! checksum follows the new TTL.

use crate::interp::{Eval, csum};
use crate::keys::Family;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// How the new value comes from the old.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TtlMode {
    #[default]
    Set,
    Inc,
    Dec,
}

/// One `-j TTL` (IPv4) or `-j HL` (IPv6).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ttl {
    /// The IPv6 hop limit (`HL`), else the IPv4 TTL.
    pub ipv6: bool,
    pub mode: TtlMode,
    pub value: u8,
}

impl TtlMode {
    fn name(self) -> &'static str {
        match self {
            TtlMode::Set => "set",
            TtlMode::Inc => "inc",
            TtlMode::Dec => "dec",
        }
    }
}

impl Ttl {
    pub fn name(&self) -> &'static str {
        if self.ipv6 { "HL" } else { "TTL" }
    }

    /// The TTL after the target.
    pub fn apply(&self, ttl: u8) -> u8 {
        match self.mode {
            TtlMode::Set => self.value,
            TtlMode::Inc => ttl.saturating_add(self.value),
            TtlMode::Dec => ttl.saturating_sub(self.value),
        }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "name {} rev 0 mode {} value {}", self.name(), self.mode.name(), self.value);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Ttl> {
        c.expect("name")?;
        let ipv6 = match c.next()? {
            "TTL" => false,
            "HL" => true,
            w => return Err(format!("expected TTL or HL, found `{w}`")),
        };
        c.expect_all(&["rev", "0", "mode"])?;
        let mode = match c.next()? {
            "set" => TtlMode::Set,
            "inc" => TtlMode::Inc,
            "dec" => TtlMode::Dec,
            w => return Err(format!("expected set, inc or dec, found `{w}`")),
        };
        c.expect("value")?;
        Ok(Ttl { ipv6, mode, value: c.num()? })
    }

    /// The kernel registers `TTL` for IPv4 tables and `HL` for IPv6 ones only.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let want = if self.ipv6 { Family::Ip6 } else { Family::Ip };
        if c.family != want {
            return Err(format!("target {} runs in {} tables only", self.name(), want.name()));
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let net = e.pkt.network_off;
        // TTL: byte 8 of the IPv4 header, its checksum at 10; hop limit: byte 7 of IPv6's.
        let at = net + if self.ipv6 { 7 } else { 8 };
        let Some(&old) = e.pkt.data.get(at) else { return e.brk() };
        let new = self.apply(old);
        if new == old {
            return;
        }
        let written = if self.ipv6 {
            e.pkt.data.get_mut(at).map(|b| *b = new).is_some()
        } else {
            csum::set_byte(e.pkt.data, at, 0, new, net + 10)
        };
        if !written {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increments_and_decrements_stop_at_the_ends() {
        let t = |mode, value| Ttl { ipv6: false, mode, value };
        assert_eq!(t(TtlMode::Inc, 10).apply(250), 255);
        assert_eq!(t(TtlMode::Inc, 1).apply(63), 64);
        assert_eq!(t(TtlMode::Dec, 5).apply(3), 0);
        assert_eq!(t(TtlMode::Dec, 1).apply(64), 63);
        assert_eq!(t(TtlMode::Set, 7).apply(64), 7);
    }
}
