//! `limit`: token-bucket rate limit on the packet clock (nft_limit.c). The bucket holds
//! nanoseconds of credit: a packet costs `unit / rate` (bytes mode: `unit * len / rate`), the
//! bucket refills with elapsed time up to its size, and an over-limit packet breaks the rule
//! (flag 0x1 inverts: only over-limit packets match).

use crate::interp::{Eval, Slot};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NFT_LIMIT_F_INV`.
pub const F_INV: u32 = 1;
const NSEC_PER_SEC: u64 = 1_000_000_000;
/// `NFT_LIMIT_PKT_BURST_DEFAULT`.
const PKT_BURST_DEFAULT: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Packets,
    Bytes,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub rate: u64,
    /// The period in seconds (`/second` = 1, `/minute` = 60 …).
    pub unit: u64,
    pub burst: u32,
    pub kind: LimitKind,
    pub flags: u32,
    pub slot: u32,
}

const UNITS: [(u64, &str); 5] = [(1, "second"), (60, "minute"), (60, "hour"), (24, "day"), (7, "week")];

impl Limit {
    fn nsecs(&self) -> u64 {
        self.unit.saturating_mul(NSEC_PER_SEC)
    }

    fn burst(&self) -> u64 {
        if self.kind == LimitKind::Packets && self.burst == 0 { PKT_BURST_DEFAULT } else { self.burst as u64 }
    }

    /// The bucket size in nanoseconds of credit (the kernel's `tokens_max`).
    pub fn tokens_max(&self) -> u64 {
        let rate = self.rate.max(1);
        match self.kind {
            LimitKind::Packets => (self.nsecs() / rate).saturating_mul(self.burst()),
            LimitKind::Bytes => {
                ((self.nsecs() as u128 * (rate as u128 + self.burst() as u128)) / rate as u128) as u64
            }
        }
    }

    /// The cost of a packet of `len` bytes.
    pub fn cost(&self, len: u64) -> u64 {
        let rate = self.rate.max(1);
        match self.kind {
            LimitKind::Packets => self.nsecs() / rate,
            LimitKind::Bytes => ((self.nsecs() as u128 * len as u128) / rate as u128) as u64,
        }
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(o, "rate {}/", self.rate);
        let mut secs = self.unit;
        let mut name = UNITS[0].1;
        for (size, n) in &UNITS[1..] {
            if !secs.is_multiple_of(*size) {
                break;
            }
            secs /= size;
            name = n;
        }
        if secs > 1 {
            let _ = write!(o, "{secs} ");
        }
        let kind = match self.kind {
            LimitKind::Packets => "packets",
            LimitKind::Bytes => "bytes",
        };
        let _ = write!(o, "{name} burst {} type {kind} flags 0x{:x}", self.burst, self.flags);
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Limit> {
        c.expect("rate")?;
        let t = c.next()?;
        let (rate, rest) = t.split_once('/').ok_or_else(|| format!("expected RATE/UNIT, found `{t}`"))?;
        let rate: u64 = rate.parse().map_err(|_| format!("bad rate `{rate}`"))?;
        let (count, name) = if rest.is_empty() {
            let n: u64 = c.num()?;
            (n, c.next()?)
        } else {
            (1, rest)
        };
        let mut unit = 1u64;
        let mut found = false;
        for (size, n) in UNITS {
            unit = unit.saturating_mul(size);
            if n == name {
                found = true;
                break;
            }
        }
        if !found {
            return Err(format!("unknown time unit `{name}`"));
        }
        c.expect("burst")?;
        let burst = c.num()?;
        c.expect("type")?;
        let kind = match c.next()? {
            "packets" => LimitKind::Packets,
            "bytes" => LimitKind::Bytes,
            t => return Err(format!("unknown limit type `{t}`")),
        };
        c.expect("flags")?;
        let flags = c.hex()? as u32;
        Ok(Limit { rate, unit: unit.saturating_mul(count), burst, kind, flags, slot: 0 })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.rate == 0 || self.unit == 0 {
            return Err("limit rate and unit must not be zero".into());
        }
        if self.rate.checked_add(self.burst as u64).is_none() {
            return Err("limit rate + burst overflows".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let cost = self.cost(e.packet_len());
        let now = e.now();
        if e.state.meter(self.slot as usize, |slot| over_limit(self, slot, cost, now)) == Some(true) {
            e.brk();
        }
    }
}

/// Takes `cost` from the bucket in `slot`; true when the rule must break (over the limit,
/// or under it when inverted).
pub(crate) fn over_limit(l: &Limit, slot: &mut Slot, cost: u64, now: u64) -> bool {
    let invert = l.flags & F_INV != 0;
    let Slot::Limit { tokens, last } = slot else { return false };
    let elapsed = now.saturating_sub(*last);
    let avail = tokens.saturating_add(elapsed).min(l.tokens_max());
    *last = now.max(*last);
    if avail >= cost {
        *tokens = avail - cost;
        invert
    } else {
        *tokens = avail;
        !invert
    }
}
