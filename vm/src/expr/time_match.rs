//! `match name time rev 0` — iptables' `-m time`, run as iptables-nft runs it: the kernel's
//! match (`xt_time`), for the rules nft's `meta time`/`meta day`/`meta hour` cannot say:
//! those with `--monthdays`. A packet matches when, on the packet clock (UTC, or the
//! kernel's time zone with `--kerneltz`), all of these hold: the date is within
//! `--datestart`..`--datestop`; the time of day within `--timestart`..`--timestop` (a range
//! that wraps past midnight means "not between stop and start"); the weekday is one of
//! `--weekdays`; the day of the month one of `--monthdays`. With `--contiguous`, the early
//! hours of a range that wraps past midnight count as the day before, so that "Monday,
//! 23:00 to 01:00" holds until Tuesday 01:00.

use crate::calendar::civil_from_days;
use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

const DAY: i64 = 86_400;
/// Every day of the month (bits 1..=31).
pub const ALL_MONTHDAYS: u32 = 0xffff_fffe;
/// Every weekday (bits 1 Monday ..= 7 Sunday).
pub const ALL_WEEKDAYS: u8 = 0xfe;

/// One `-m time` match (the kernel's `xt_time_info`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeMatch {
    /// UNIX seconds.
    pub date_start: u32,
    pub date_stop: u32,
    /// Seconds since midnight.
    pub daytime_start: u32,
    pub daytime_stop: u32,
    /// Bit `d` for day `d` of the month (1..=31).
    pub monthdays: u32,
    /// Bit 1 Monday ..= 7 Sunday.
    pub weekdays: u8,
    /// `--kerneltz`: the kernel's time zone (else UTC).
    pub local_tz: bool,
    pub contiguous: bool,
}

impl TimeMatch {
    /// Does the match hold at `stamp` (seconds, already in the match's time zone)?
    pub fn holds_at(&self, mut stamp: i64) -> bool {
        if stamp < i64::from(self.date_start) || stamp > i64::from(self.date_stop) {
            return false;
        }
        let time = stamp.rem_euclid(DAY) as u32;
        let (start, stop) = (self.daytime_start, self.daytime_stop);
        if start < stop {
            if time < start || time > stop {
                return false;
            }
        } else {
            if time < start && time > stop {
                return false;
            }
            if self.contiguous && time <= stop {
                stamp -= DAY;
            }
        }
        let days = stamp.div_euclid(DAY);
        // 1970-01-01 was a Thursday (4).
        let weekday = (4 + days - 1).rem_euclid(7) + 1;
        if self.weekdays & (1 << weekday) == 0 {
            return false;
        }
        self.monthdays == ALL_MONTHDAYS || self.monthdays & (1 << civil_from_days(days).2) != 0
    }

    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let _ = write!(
            o,
            "name time rev 0 date {}-{} daytime {}-{} weekdays 0x{:02x} monthdays 0x{:08x}",
            self.date_start,
            self.date_stop,
            self.daytime_start,
            self.daytime_stop,
            self.weekdays,
            self.monthdays
        );
        if self.local_tz {
            o.push_str(" kerneltz");
        }
        if self.contiguous {
            o.push_str(" contiguous");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<TimeMatch> {
        c.expect_all(&["name", "time", "rev", "0"])?;
        let pair = |c: &mut Cursor, word: &str| -> PResult<(u32, u32)> {
            c.expect(word)?;
            let t = c.next()?;
            t.split_once('-')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                .ok_or_else(|| format!("time: bad {word} `{t}` (FROM-TO)"))
        };
        let (date_start, date_stop) = pair(c, "date")?;
        let (daytime_start, daytime_stop) = pair(c, "daytime")?;
        if daytime_start.max(daytime_stop) >= DAY as u32 {
            return Err("time: a time of day past 23:59:59".into());
        }
        c.expect("weekdays")?;
        let weekdays = u8::try_from(c.hex()?).map_err(|_| "time: weekdays above 8 bits".to_string())?;
        c.expect("monthdays")?;
        let monthdays = u32::try_from(c.hex()?).map_err(|_| "time: monthdays above 32 bits".to_string())?;
        let local_tz = c.eat("kerneltz");
        let contiguous = c.eat("contiguous");
        Ok(TimeMatch {
            date_start,
            date_stop,
            daytime_start,
            daytime_stop,
            monthdays,
            weekdays,
            local_tz,
            contiguous,
        })
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        // time_mt_check refuses only times of day past midnight (checked when parsed).
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let mut stamp = (e.now() / 1_000_000_000) as i64;
        if self.local_tz {
            stamp += e.env.tz_offset_secs();
        }
        if !self.holds_at(stamp) {
            e.brk();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any() -> TimeMatch {
        TimeMatch {
            date_start: 0,
            date_stop: i32::MAX as u32,
            daytime_start: 0,
            daytime_stop: DAY as u32 - 1,
            monthdays: ALL_MONTHDAYS,
            weekdays: ALL_WEEKDAYS,
            local_tz: false,
            contiguous: false,
        }
    }

    #[test]
    fn monthdays_weekdays_and_contiguous_ranges() {
        // 2026-11-27 (a Friday) 12:00 UTC.
        let noon = 20_784 * DAY + 12 * 3600;
        let on = |m: TimeMatch, t: i64| m.holds_at(t);
        assert!(on(TimeMatch { monthdays: 1 << 27, ..any() }, noon));
        assert!(!on(TimeMatch { monthdays: 1 << 26 | 1 << 28, ..any() }, noon));
        assert!(on(TimeMatch { weekdays: 1 << 5, ..any() }, noon), "Friday");
        assert!(!on(TimeMatch { weekdays: 1 << 4, ..any() }, noon));
        // 23:00-01:00 on Thursdays: Friday 00:30 holds only with --contiguous.
        let late = TimeMatch { daytime_start: 23 * 3600, daytime_stop: 3600, weekdays: 1 << 4, ..any() };
        let half_past = 20_784 * DAY + 1800;
        assert!(!on(late.clone(), half_past));
        assert!(on(TimeMatch { contiguous: true, ..late }, half_past));
    }
}
