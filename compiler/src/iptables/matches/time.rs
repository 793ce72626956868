//! `time`: time of day, weekdays, days of month and a date window.

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;

/// Seconds in a day minus one (`XT_TIME_MAX_DAYTIME`).
pub const MAX_DAYTIME: u32 = 24 * 60 * 60 - 1;
/// All days 1–31 (bit n = day n) and all weekdays 1 (Monday) – 7 (Sunday): the kernel
/// match's (nftvm's `match name time`).
pub use nftvm_vm::expr::time_match::{ALL_MONTHDAYS, ALL_WEEKDAYS};
const WEEKDAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The time match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    /// Seconds since midnight.
    pub daytime_start: u32,
    pub daytime_stop: u32,
    pub monthdays: u32,
    pub weekdays: u8,
    /// UNIX seconds (UTC); `date_stop` defaults to `i32::MAX`.
    pub date_start: u32,
    pub date_stop: u32,
    /// `--kerneltz` / `--localtz`.
    pub kernel_tz: bool,
    pub contiguous: bool,
}

impl Default for Time {
    fn default() -> Time {
        Time {
            daytime_start: 0,
            daytime_stop: MAX_DAYTIME,
            monthdays: ALL_MONTHDAYS,
            weekdays: ALL_WEEKDAYS,
            date_start: 0,
            date_stop: i32::MAX as u32,
            kernel_tz: false,
            contiguous: false,
        }
    }
}

const O_DATE_START: u8 = 0;
const O_DATE_STOP: u8 = 1;
const O_TIME_START: u8 = 2;
const O_TIME_STOP: u8 = 3;
const O_CONTIGUOUS: u8 = 4;
const O_WEEKDAYS: u8 = 5;
const O_MONTHDAYS: u8 = 6;
const O_LOCAL_TZ: u8 = 7;
const O_UTC: u8 = 8;
const O_KERNEL_TZ: u8 = 9;

static OPTS: [OptSpec; 10] = [
    OptSpec::arg("datestart", O_DATE_START),
    OptSpec::arg("datestop", O_DATE_STOP),
    OptSpec::arg("timestart", O_TIME_START),
    OptSpec::arg("timestop", O_TIME_STOP),
    OptSpec::flag("contiguous", O_CONTIGUOUS),
    OptSpec::arg("weekdays", O_WEEKDAYS).inv(),
    OptSpec::arg("monthdays", O_MONTHDAYS).inv(),
    OptSpec::flag("localtz", O_LOCAL_TZ).excl(bit(O_UTC)),
    OptSpec::flag("utc", O_UTC).excl(bit(O_LOCAL_TZ) | bit(O_KERNEL_TZ)),
    OptSpec::flag("kerneltz", O_KERNEL_TZ).excl(bit(O_UTC)),
];

/// Leading decimal digits (like `strtoul(…, 10)`); returns the value and the rest.
fn dec(s: &str) -> (u64, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (s[..n].parse().unwrap_or(0), &s[n..])
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]` (UTC) → UNIX seconds.
pub fn parse_date(s: &str) -> Result<u32, String> {
    let bad = || format!("Invalid date \"{s}\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]");
    let mut f = [1970u64, 1, 1, 0, 0, 0];
    let seps = ['-', '-', 'T', ':', ':'];
    let limits = [(1970, 2038), (0, 12), (0, 31), (0, 23), (0, 59), (0, 59)];
    let mut rest = s;
    for i in 0..6 {
        let (v, r) = dec(rest);
        let next = r.chars().next();
        let ok_sep = next.is_none() || (i < 5 && next == Some(seps[i]));
        if !ok_sep || v < limits[i].0 || v > limits[i].1 {
            return Err(bad());
        }
        f[i] = v;
        match next {
            None => break,
            Some(c) => rest = &r[c.len_utf8()..],
        }
    }
    let days = days_from_civil(f[0] as i64, f[1].max(1) as u32, f[2].max(1) as u32);
    // mktime normalizes month 0 / day 0 to the previous period.
    let days = days - i64::from(f[1] == 0) * 31 - i64::from(f[2] == 0);
    let secs = days * 86400 + (f[3] * 3600 + f[4] * 60 + f[5]) as i64;
    u32::try_from(secs).map_err(|_| bad())
}

/// `hh:mm[:ss]` → seconds since midnight.
pub fn parse_daytime(s: &str) -> Result<u32, String> {
    let bad =
        || format!("invalid time \"{s}\" specified, should be hh:mm[:ss] format and within the boundaries");
    let (h, r) = dec(s);
    let r = r.strip_prefix(':').ok_or_else(bad)?;
    let (m, r) = dec(r);
    let sec = match r.strip_prefix(':') {
        Some(r2) => {
            let (sv, rest) = dec(r2);
            if !rest.is_empty() {
                return Err(bad());
            }
            sv
        }
        None if r.is_empty() => 0,
        None => return Err(bad()),
    };
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    Ok((h * 3600 + m * 60 + sec) as u32)
}

fn parse_monthdays(s: &str) -> Result<u32, String> {
    let mut mask = 0u32;
    for d in s.split(',') {
        let v = crate::iptables::values::num::parse_uint(d, 0, 31)
            .ok_or_else(|| format!("{d} is not a valid day for --monthdays"))?;
        mask |= 1 << v;
    }
    Ok(mask)
}

fn parse_weekdays(s: &str) -> Result<u8, String> {
    let mut mask = 0u8;
    for d in s.split(',') {
        if let Some(v) = crate::iptables::values::num::parse_uint(d, 0, 7) {
            if v == 0 {
                return Err("No, the week does NOT begin with Sunday.".into());
            }
            mask |= 1 << v;
            continue;
        }
        let hit: Vec<usize> =
            (1..8).filter(|&i| d.len() >= 2 && d.as_bytes()[..2] == WEEKDAYS[i].as_bytes()[..2]).collect();
        if hit.is_empty() {
            return Err(format!(
                "{d} is not a valid day specifier (expecting Mon, Tue, Wed, Thu, Fri, Sat, Sun or 1-7)"
            ));
        }
        for i in hit {
            mask |= 1 << i;
        }
    }
    Ok(mask)
}

/// `YYYY-MM-DDThh:mm:ss` of UNIX seconds (UTC).
pub fn format_date(t: u32) -> String {
    let days = i64::from(t / 86400);
    let secs = t % 86400;
    let (y, m, d) = nftvm_vm::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn hms(t: u32) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

impl Extension for Time {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_DATE_START => self.date_start = parse_date(call.arg)?,
            O_DATE_STOP => self.date_stop = parse_date(call.arg)?,
            O_TIME_START => self.daytime_start = parse_daytime(call.arg)?,
            O_TIME_STOP => self.daytime_stop = parse_daytime(call.arg)?,
            O_CONTIGUOUS => self.contiguous = true,
            O_LOCAL_TZ | O_KERNEL_TZ => self.kernel_tz = true,
            O_UTC => {}
            O_MONTHDAYS => {
                self.monthdays = parse_monthdays(call.arg)?;
                if call.invert {
                    self.monthdays ^= ALL_MONTHDAYS;
                }
            }
            _ => {
                self.weekdays = parse_weekdays(call.arg)?;
                if call.invert {
                    self.weekdays ^= ALL_WEEKDAYS;
                }
            }
        }
        Ok(())
    }
    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if self.contiguous && self.daytime_start < self.daytime_stop {
            return Err("--contiguous only makes sense when stoptime is smaller than starttime".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME {
            out.push(&format!(
                " --timestart {} --timestop {}",
                hms(self.daytime_start),
                hms(self.daytime_stop)
            ));
        }
        if self.monthdays != ALL_MONTHDAYS {
            let days: Vec<String> =
                (1..=31).filter(|i| self.monthdays & (1 << i) != 0).map(|i| i.to_string()).collect();
            out.push(&format!(" --monthdays {}", days.join(",")));
        }
        if self.weekdays != ALL_WEEKDAYS {
            let days: Vec<&str> =
                (1..=7).filter(|i| self.weekdays & (1 << i) != 0).map(|i| WEEKDAYS[i]).collect();
            out.push(&format!(" --weekdays {}", days.join(",")));
        }
        if self.date_start != 0 {
            out.push(&format!(" --datestart {}", format_date(self.date_start)));
        }
        // Like iptables, the default stop date (i32::MAX) is printed too: only 0 is skipped.
        if self.date_stop != 0 {
            out.push(&format!(" --datestop {}", format_date(self.date_stop)));
        }
        if self.kernel_tz {
            out.push(" --kerneltz");
        }
        if self.contiguous {
            out.push(" --contiguous");
        }
    }
}
