//! Times: relative times (`ct expiration 1m30s`, in milliseconds), dates (`meta time
//! "2019-06-21 17:00:00"`, nanoseconds since the epoch) and hours of the day (`meta hour
//! "17:00"`, seconds since midnight UTC).
//!
//! Dates and hours are written in local time and stored in UTC, as nft does. The local offset
//! comes from a `TZ` of the form `UTC`, `UTC-2`, `GMT+5:30` (nft's own tests run with
//! `TZ=UTC-2`); anything else counts as UTC, so results never depend on the host's zoneinfo.

use super::value::Value;
use super::{PrintOpts, TypeError};
use nftvm_vm::calendar::{civil_from_days, days_from_civil};

const MS_PER_SEC: u64 = 1000;
const SECS_PER_DAY: i64 = 86_400;

/// Parse `1d2h3m4s5ms` (a bare number is seconds) into milliseconds.
pub fn parse_relative_ms(text: &str) -> Result<u64, TypeError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = text.parse().map_err(|_| TypeError::new("value too large"))?;
        return secs.checked_mul(MS_PER_SEC).ok_or_else(|| TypeError::new("value too large"));
    }
    let units: [(&str, u64, &str); 5] = [
        ("ms", 1, "Millisecond"),
        ("d", 86_400_000, "Day"),
        ("h", 3_600_000, "Hour"),
        ("m", 60_000, "Minute"),
        ("s", 1000, "Second"),
    ];
    let mut seen = [false; 5];
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 8 {
            return Err(TypeError::new("value too large"));
        }
        let (num, tail) = rest.split_at(digits);
        let Some(idx) = units.iter().position(|(u, _, _)| tail.starts_with(u)) else {
            return Err(TypeError::new("wrong time format"));
        };
        if seen[idx] {
            return Err(TypeError::new(format!("{} has been specified twice", units[idx].2)));
        }
        seen[idx] = true;
        let n: u64 =
            if num.is_empty() { 0 } else { num.parse().map_err(|_| TypeError::new("wrong time format"))? };
        total = total.saturating_add(n.saturating_mul(units[idx].1));
        rest = &tail[units[idx].0.len()..];
    }
    if text.is_empty() {
        return Err(TypeError::new("wrong time format"));
    }
    Ok(total)
}

pub(super) fn parse_relative(text: &str) -> Result<u128, TypeError> {
    let ms = parse_relative_ms(text)?;
    if ms > u64::from(u32::MAX) {
        return Err(TypeError::new("value too large"));
    }
    Ok(u128::from(ms))
}

/// Milliseconds as `1d2h3m4s5ms` (`0s` for zero; whole seconds with `-T`).
pub fn format_relative_ms(ms: u64, opts: &PrintOpts) -> String {
    if opts.numeric_time {
        return format!("{}s", ms / MS_PER_SEC);
    }
    let parts = [
        (ms / 86_400_000, "d"),
        (ms % 86_400_000 / 3_600_000, "h"),
        (ms % 3_600_000 / 60_000, "m"),
        (ms % 60_000 / 1000, "s"),
        (ms % 1000, "ms"),
    ];
    let out: String = parts.iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect();
    if out.is_empty() { "0s".to_string() } else { out }
}

pub(super) fn print_relative(value: &Value, opts: &PrintOpts) -> String {
    format_relative_ms(value.to_u64().unwrap_or(0), opts)
}

/// Process-wide override of the local offset (`i64::MIN`: none).
static OFFSET_OVERRIDE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(i64::MIN);

/// Use this local offset (seconds east of UTC) instead of the `TZ` environment variable, for
/// the whole process (None: back to `TZ`). Conformance runners use it to reproduce the
/// environment of the suites they replay (nftables' py tests export `TZ=UTC-2`).
pub fn set_local_offset_override(offset: Option<i64>) {
    OFFSET_OVERRIDE.store(offset.unwrap_or(i64::MIN), std::sync::atomic::Ordering::Relaxed);
}

/// Seconds to add to UTC to get local time, from a `TZ` like `UTC-2` (POSIX: local is UTC+2)
/// or the override set with [`set_local_offset_override`].
pub fn local_offset_secs() -> i64 {
    let o = OFFSET_OVERRIDE.load(std::sync::atomic::Ordering::Relaxed);
    if o != i64::MIN {
        return o;
    }
    std::env::var("TZ").ok().map(|tz| parse_tz_offset(&tz)).unwrap_or(0)
}

/// Offset of a `UTC±H[:MM]` / `GMT±H[:MM]` zone string; 0 for anything else.
pub fn parse_tz_offset(tz: &str) -> i64 {
    let tz = tz.strip_prefix(':').unwrap_or(tz);
    let Some(rest) = tz.strip_prefix("UTC").or_else(|| tz.strip_prefix("GMT")) else { return 0 };
    if rest.is_empty() {
        return 0;
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'-' => (1, &rest[1..]),
        b'+' => (-1, &rest[1..]),
        _ => (-1, rest),
    };
    let mut it = digits.splitn(2, ':');
    let hours: i64 = it.next().and_then(|h| h.parse().ok()).unwrap_or(0);
    let minutes: i64 = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    sign * (hours * 3600 + minutes * 60)
}

fn parse_fields(text: &str, sep: char, min: usize) -> Option<Vec<i64>> {
    let parts: Vec<&str> = text.split(sep).collect();
    if parts.len() < min || parts.len() > 3 {
        return None;
    }
    parts.iter().map(|p| if p.is_empty() { None } else { p.parse().ok() }).collect()
}

/// `YYYY-MM-DD[ HH:MM[:SS]]` local time, or seconds since the epoch, into nanoseconds.
pub(super) fn parse_date(text: &str) -> Result<u128, TypeError> {
    parse_date_at(text, local_offset_secs())
}

/// [`parse_date`] with an explicit local offset (seconds east of UTC).
pub fn parse_date_at(text: &str, offset: i64) -> Result<u128, TypeError> {
    let err = || TypeError::new("Cannot parse date");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u128 = text.parse().map_err(|_| err())?;
        return Ok(secs * 1_000_000_000);
    }
    let (date, clock) = match text.split_once(' ') {
        Some((d, c)) => (d, Some(c)),
        None => (text, None),
    };
    let ymd = parse_fields(date, '-', 3).ok_or_else(err)?;
    let hms = match clock {
        Some(c) => parse_fields(c, ':', 2).ok_or_else(err)?,
        None => vec![0, 0, 0],
    };
    let (y, mo, d) = (ymd[0], ymd[1], ymd[2]);
    let (h, mi, s) = (hms[0], hms[1], hms.get(2).copied().unwrap_or(0));
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 60
    {
        return Err(err());
    }
    let secs = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + s - offset;
    u128::try_from(secs).map(|s| s * 1_000_000_000).map_err(|_| err())
}

pub(super) fn print_date(value: &Value) -> String {
    format_date_at(value.to_u64().unwrap_or(0), local_offset_secs())
}

/// Nanoseconds since the epoch as nft prints a date, at an explicit local offset.
pub fn format_date_at(ns: u64, offset: i64) -> String {
    let secs = (ns / 1_000_000_000) as i64 + offset;
    let (y, m, d) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let t = secs.rem_euclid(SECS_PER_DAY);
    format!("\"{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}\"", t / 3600, t % 3600 / 60, t % 60)
}

/// `HH:MM[:SS]` local time (or a plain number of seconds, or `17h`) into seconds since
/// midnight UTC.
pub(super) fn parse_hour(text: &str) -> Result<u128, TypeError> {
    parse_hour_at(text, local_offset_secs())
}

/// [`parse_hour`] with an explicit local offset.
pub fn parse_hour_at(text: &str, offset: i64) -> Result<u128, TypeError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u32>().map(u128::from).map_err(|_| TypeError::new("value too large"));
    }
    let local = if text.contains(':') {
        let f = parse_fields(text, ':', 2)
            .filter(|f| f[0] <= 23 && f[1] <= 59 && f.get(2).is_none_or(|s| *s <= 60))
            .ok_or_else(|| TypeError::new(format!("Can't parse trailing input: \"{text}\"")))?;
        f[0] * 3600 + f[1] * 60 + f.get(2).copied().unwrap_or(0)
    } else {
        (parse_relative_ms(text)? / MS_PER_SEC) as i64
    };
    Ok((local - offset).rem_euclid(SECS_PER_DAY) as u128)
}

pub(super) fn print_hour(value: &Value) -> String {
    format_hour_at(value.to_u64().unwrap_or(0), local_offset_secs())
}

/// Seconds since midnight UTC as nft prints an hour, at an explicit local offset.
pub fn format_hour_at(secs: u64, offset: i64) -> String {
    let t = (secs as i64 + offset).rem_euclid(SECS_PER_DAY);
    let (h, m, s) = (t / 3600, t % 3600 / 60, t % 60);
    if s != 0 { format!("\"{h:02}:{m:02}:{s:02}\"") } else { format!("\"{h:02}:{m:02}\"") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let o = PrintOpts::default();
        assert_eq!(parse_relative_ms("30s").unwrap(), 30_000);
        assert_eq!(parse_relative_ms("30000ms").unwrap(), 30_000);
        assert_eq!(parse_relative_ms("233").unwrap(), 233_000);
        assert_eq!(parse_relative_ms("4d23h59m59s").unwrap(), 431_999_000);
        assert_eq!(parse_relative_ms("1m30s").unwrap(), 90_000);
        assert!(parse_relative_ms("1s1s").unwrap_err().message.contains("Second has been specified twice"));
        assert!(parse_relative_ms("1x").is_err());
        assert!(parse_relative_ms("").is_err());
        assert_eq!(format_relative_ms(233_000, &o), "3m53s");
        assert_eq!(format_relative_ms(67_000, &o), "1m7s");
        assert_eq!(format_relative_ms(0, &o), "0s");
        assert_eq!(format_relative_ms(93_784_005, &o), "1d2h3m4s5ms");
        let t = PrintOpts { numeric_time: true, ..o };
        assert_eq!(format_relative_ms(60_000, &t), "60s");
    }

    #[test]
    fn dates_and_hours_match_nfts_tests_at_utc_plus_2() {
        // nft's py tests run with TZ=UTC-2; their listings and payloads are the oracle.
        let off = 7200;
        assert_eq!(format_date_at(12_341_234 * 1_000_000_000, off), "\"1970-05-23 22:07:14\"");
        let ns = parse_date_at("1970-05-23 22:07:14", off).unwrap();
        assert_eq!(ns, 12_341_234 * 1_000_000_000);
        assert_eq!(parse_date_at("2019-06-21", 0).unwrap(), 1_561_075_200 * 1_000_000_000);
        assert_eq!(parse_date_at("2019-06-21 17:00", 0).unwrap(), 1_561_136_400 * 1_000_000_000);
        assert!(parse_date_at("2019-13-01", 0).is_err());
        assert!(parse_date_at("99999999999999999-01-01", 0).is_err());
        assert!(parse_date_at("99999999999999999999999999999999999999999", 0).is_err());
        assert_eq!(parse_hour_at("17:00", off).unwrap(), 0xd2f0);
        assert_eq!(parse_hour_at("17:00:01", off).unwrap(), 0xd2f1);
        assert_eq!(parse_hour_at("01:00", off).unwrap(), 23 * 3600);
        assert_eq!(format_hour_at(0xd2f0, off), "\"17:00\"");
        assert_eq!(format_hour_at(0xd2f1, off), "\"17:00:01\"");
        assert!(parse_hour_at("25:00", off).is_err());
    }

    #[test]
    fn tz_strings() {
        assert_eq!(parse_tz_offset("UTC-2"), 7200);
        assert_eq!(parse_tz_offset("UTC+5:30"), -(5 * 3600 + 1800));
        assert_eq!(parse_tz_offset("UTC"), 0);
        assert_eq!(parse_tz_offset("Europe/Berlin"), 0);
    }
}
