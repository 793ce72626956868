//! `limit`: token-bucket rate limit (`--limit N/unit`, `--limit-burst N`).

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::names::is_ci_prefix;
use crate::iptables::values::num::parse_uint;

/// `XT_LIMIT_SCALE`: rates are stored as the average interval in 1/10000 s.
pub const LIMIT_SCALE: u32 = 10000;

/// C `atoi`: optional blanks and sign, then decimal digits (0 when there are none).
pub fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = d.chars().take_while(char::is_ascii_digit).collect();
    let v = digits.parse::<i64>().unwrap_or(0);
    if neg { -v } else { v }
}

/// `N[/second|minute|hour|day]` (unit: any prefix) → average interval in 1/10000 s.
pub fn parse_rate(s: &str) -> Result<u32, String> {
    let bad = || format!("bad rate \"{s}\": expecting N/second, N/minute, N/hour or N/day");
    let mult: u64 = match s.split_once('/') {
        None => 1,
        Some((_, unit)) => {
            if unit.is_empty() {
                return Err(bad());
            }
            if is_ci_prefix(unit, "second") {
                1
            } else if is_ci_prefix(unit, "minute") {
                60
            } else if is_ci_prefix(unit, "hour") {
                3600
            } else if is_ci_prefix(unit, "day") {
                86400
            } else {
                return Err(bad());
            }
        }
    };
    let r = atoi(s) as u32 as u64;
    if r == 0 {
        return Err(bad());
    }
    let avg = (u64::from(LIMIT_SCALE) * mult / r) as u32;
    if avg == 0 {
        return Err(format!("Rate too fast \"{s}\""));
    }
    Ok(avg)
}

/// A packet interval `period > 0` (in `1/scale` s) as `count` per `unit` seconds, as
/// libxtables' rate printers choose the unit: the largest of day, hour, minute and second in
/// which the count is still whole-ish.
pub fn rate_per_unit(period: u64, scale: u64) -> (u64, u64) {
    const UNITS: [u64; 4] = [86400, 3600, 60, 1];
    let mut i = 1;
    while i < UNITS.len() {
        let m = scale * UNITS[i];
        if period > m || m / period < m % period {
            break;
        }
        i += 1;
    }
    let unit = UNITS[i - 1];
    (scale * unit / period, unit)
}

/// The name iptables-save gives a rate unit of `seconds` (one of [`rate_per_unit`]'s).
pub fn save_unit_name(seconds: u64) -> &'static str {
    match seconds {
        86400 => "day",
        3600 => "hour",
        60 => "min",
        _ => "sec",
    }
}

/// ` N/unit` for an average interval (`print_rate`).
pub fn format_rate(period: u32) -> String {
    if period == 0 {
        return "inf".into();
    }
    let (count, unit) = rate_per_unit(period.into(), LIMIT_SCALE.into());
    format!("{count}/{}", save_unit_name(unit))
}

/// The limit match; `avg` is the interval between packets in 1/10000 s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub avg: u32,
    pub burst: u32,
}

/// Default `3/hour`, burst 5.
impl Default for Limit {
    fn default() -> Limit {
        Limit { avg: LIMIT_SCALE * 3600 / 3, burst: 5 }
    }
}

static OPTS: [OptSpec; 2] = [OptSpec::arg("limit", 0), OptSpec::arg("limit-burst", 1)];

impl Extension for Limit {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.avg = parse_rate(call.arg)?;
        } else {
            self.burst = parse_uint(call.arg, 0, 10000).ok_or_else(|| {
                format!("bad value \"{}\" for \"--limit-burst\": expecting 0-10000", call.arg)
            })? as u32;
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.opt_val(false, "limit", format_rate(self.avg));
        if self.burst != 5 {
            out.opt_val(false, "limit-burst", self.burst);
        }
    }
}
