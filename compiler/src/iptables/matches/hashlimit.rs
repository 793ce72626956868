//! `hashlimit`: per-flow token buckets (packets per time unit or bytes per second), flows
//! grouped by address/port with masks.

use crate::iptables::Family;
use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::matches::limit::{atoi, rate_per_unit, save_unit_name};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::addr::parse_mask;
use crate::iptables::values::names::is_ci_prefix;
use crate::iptables::values::num::{parse_uint, parse_uint_prefix};

/// `XT_HASHLIMIT_SCALE_v2`: packet rates are intervals in microseconds.
pub const SCALE: u64 = 1_000_000;
const BYTE_SHIFT: u32 = 4;
const GCINTERVAL: u32 = 1000;
const BURST_MAX: u64 = 1_000_000;
const BYTE_EXPIRE: u32 = 15;
const BYTE_EXPIRE_BURST: u32 = 60;

/// `XT_HASHLIMIT_*` mode bits.
pub mod hl_mode {
    pub const HASH_DIP: u32 = 1 << 0;
    pub const HASH_DPT: u32 = 1 << 1;
    pub const HASH_SIP: u32 = 1 << 2;
    pub const HASH_SPT: u32 = 1 << 3;
    pub const INVERT: u32 = 1 << 4;
    pub const BYTES: u32 = 1 << 5;
    pub const RATE_MATCH: u32 = 1 << 6;
}
use hl_mode::*;

/// The hashlimit match (revision 3), with the kernel's configuration fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashlimit {
    /// [`hl_mode`] bits (`INVERT` = `--hashlimit-above`).
    pub mode: u32,
    /// Packet mode: interval per packet in 1/1000000 s; byte mode: cost per byte unit.
    pub avg: u64,
    /// Packets, or (byte mode) multiples of the byte cost.
    pub burst: u64,
    pub size: u32,
    pub max: u32,
    pub gc_interval: u32,
    /// Milliseconds.
    pub expire: u32,
    pub srcmask: u8,
    pub dstmask: u8,
    pub interval: u32,
    pub name: String,
    /// Seconds of the rate unit given (for the default expiry).
    unit_secs: u32,
    default_mask: u8,
}

impl Hashlimit {
    pub fn new(f: Family) -> Hashlimit {
        Hashlimit {
            mode: 0,
            avg: 0,
            burst: 5,
            size: 0,
            max: 0,
            gc_interval: GCINTERVAL,
            expire: 0,
            srcmask: f.addr_bits(),
            dstmask: f.addr_bits(),
            interval: 0,
            name: String::new(),
            unit_secs: 1,
            default_mask: f.addr_bits(),
        }
    }
}

const O_UPTO: u8 = 0;
const O_ABOVE: u8 = 1;
const O_MODE: u8 = 3;
const O_SRCMASK: u8 = 4;
const O_DSTMASK: u8 = 5;
const O_NAME: u8 = 6;
const O_BURST: u8 = 7;
const O_HTABLE_SIZE: u8 = 8;
const O_HTABLE_MAX: u8 = 9;
const O_HTABLE_GCINT: u8 = 10;
const O_HTABLE_EXPIRE: u8 = 11;
const O_RATEMATCH: u8 = 12;
const O_INTERVAL: u8 = 13;

static OPTS: [OptSpec; 14] = [
    OptSpec::arg("hashlimit-upto", O_UPTO).excl(bit(O_ABOVE)).inv(),
    OptSpec::arg("hashlimit-above", O_ABOVE).excl(bit(O_UPTO)).inv(),
    OptSpec::arg("hashlimit", O_UPTO).excl(bit(O_ABOVE)).inv(),
    OptSpec::arg("hashlimit-srcmask", O_SRCMASK),
    OptSpec::arg("hashlimit-dstmask", O_DSTMASK),
    OptSpec::arg("hashlimit-burst", O_BURST),
    OptSpec::arg("hashlimit-htable-size", O_HTABLE_SIZE),
    OptSpec::arg("hashlimit-htable-max", O_HTABLE_MAX),
    OptSpec::arg("hashlimit-htable-gcinterval", O_HTABLE_GCINT),
    OptSpec::arg("hashlimit-htable-expire", O_HTABLE_EXPIRE),
    OptSpec::arg("hashlimit-mode", O_MODE),
    OptSpec::arg("hashlimit-name", O_NAME).mand(),
    OptSpec::flag("hashlimit-rate-match", O_RATEMATCH),
    OptSpec::arg("hashlimit-rate-interval", O_INTERVAL),
];

pub fn cost_to_bytes(cost: u64) -> u64 {
    let r = u64::from(u32::MAX).checked_div(cost).unwrap_or(u64::from(u32::MAX));
    r.saturating_sub(1) << BYTE_SHIFT
}

pub fn bytes_to_cost(bytes: u64) -> u64 {
    let r = (bytes >> BYTE_SHIFT) as u32 as u64;
    u64::from(u32::MAX) / (r + 1)
}

fn factor(c: Option<char>) -> u64 {
    match c {
        Some('m') => 1024 * 1024,
        Some('k') => 1024,
        _ => 1,
    }
}

/// `Nb/s`, `Nkb/s`, `Nmb/s` → cost, if the argument is a byte rate.
fn parse_bytes(s: &str) -> Result<Option<u64>, String> {
    let Some(pos) = s.find("b/s") else { return Ok(None) };
    if pos == 0 {
        return Ok(None);
    }
    let r = atoi(s);
    if r <= 0 {
        return Ok(None);
    }
    let unit = s[..pos].chars().last();
    let tmp = (r as u64).saturating_mul(factor(unit));
    let cost = bytes_to_cost(tmp);
    if cost == 0 {
        return Err(format!("Rate too high \"{s}\""));
    }
    Ok(Some(cost))
}

/// `N[/sec|min|hour|day]` → interval per packet (µs) and the unit in seconds.
fn parse_rate(s: &str) -> Option<(u64, u32)> {
    let mult: u32 = match s.split_once('/') {
        None => 1,
        Some((_, "")) => return None,
        Some((_, u)) => {
            if is_ci_prefix(u, "second") {
                1
            } else if is_ci_prefix(u, "minute") {
                60
            } else if is_ci_prefix(u, "hour") {
                3600
            } else if is_ci_prefix(u, "day") {
                86400
            } else {
                return None;
            }
        }
    };
    let r = atoi(s);
    if r <= 0 {
        return None;
    }
    Some((SCALE * u64::from(mult) / r as u64, mult))
}

fn format_rate(period: u64) -> (String, u32) {
    if period == 0 {
        return ("inf".into(), 0);
    }
    let (count, unit) = rate_per_unit(period, SCALE);
    (format!("{count}/{}", save_unit_name(unit)), (unit * 1000) as u32)
}

/// The units libxtables prints byte sizes in: (prefix, size), largest first.
const BYTE_UNITS: [(&str, u64); 3] = [("m", 1024 * 1024), ("k", 1024), ("", 1)];

/// The largest of the byte units not above `bytes` (bytes when below 1 KiB).
pub fn size_unit(bytes: u64) -> (&'static str, u64) {
    BYTE_UNITS.into_iter().find(|&(_, u)| bytes >= u).unwrap_or(("", 1))
}

/// The rate in bytes per second of the byte-mode cost `avg`, and the largest byte unit that
/// gives back the same cost (libxtables' `print_bytes`).
pub fn byte_rate_unit(avg: u64) -> (u64, (&'static str, u64)) {
    let r = cost_to_bytes(avg);
    let unit = BYTE_UNITS.into_iter().find(|&(_, u)| r >= u && bytes_to_cost(r & !(u - 1)) == avg);
    (r, unit.unwrap_or(("", 1)))
}

fn format_bytes(avg: u64, burst: u64) -> (String, Option<String>, u32) {
    let (r, (prefix, unit)) = byte_rate_unit(avg);
    let rate = format!("{}{prefix}b/s", r / unit);
    if burst == 0 {
        return (rate, None, BYTE_EXPIRE * 1000);
    }
    let total = r.saturating_mul(burst);
    let (burst_prefix, burst_unit) = size_unit(total);
    (rate, Some(format!("{}{burst_prefix}b", total / burst_unit)), BYTE_EXPIRE_BURST * 1000)
}

impl Extension for Hashlimit {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let u32v = || {
            parse_uint(call.arg, 0, u32::MAX as u64).map(|v| v as u32).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range (0-4294967295)", call.spec.name)
            })
        };
        match call.spec.id {
            O_UPTO | O_ABOVE => {
                let above = call.spec.id == O_ABOVE;
                if above != call.invert {
                    self.mode |= INVERT;
                }
                if let Some(cost) = parse_bytes(call.arg)? {
                    self.avg = cost;
                    self.mode |= BYTES;
                    self.unit_secs = BYTE_EXPIRE;
                } else {
                    let (avg, unit) = parse_rate(call.arg).ok_or_else(|| {
                        format!("Bad value for \"--{}\" option: \"{}\" (expecting N/sec|min|hour|day or Nb/s, Nkb/s, Nmb/s)", call.spec.name, call.arg)
                    })?;
                    if avg == 0 {
                        return Err(format!("Rate too fast \"{}\"", call.arg));
                    }
                    self.avg = avg;
                    self.unit_secs = unit;
                }
            }
            O_MODE => {
                for tok in call.arg.split([',', '|']).filter(|t| !t.is_empty()) {
                    self.mode |= match tok {
                        "dstip" => HASH_DIP,
                        "srcip" => HASH_SIP,
                        "srcport" => HASH_SPT,
                        "dstport" => HASH_DPT,
                        _ => {
                            return Err(format!(
                                "Bad value for \"--hashlimit-mode\" option: \"{}\" (expecting srcip, srcport, dstip, dstport)",
                                call.arg
                            ));
                        }
                    };
                }
            }
            O_SRCMASK | O_DSTMASK => {
                let f = call.family();
                let len = match parse_uint(call.arg, 0, f.addr_bits() as u64) {
                    Some(v) => v as u8,
                    None => parse_mask(call.arg, f)
                        .map(|m| m.mask_to_prefix_len().unwrap_or(u8::MAX))
                        .ok_or_else(|| format!("bad value for option \"--{}\": neither a valid network mask nor a valid CIDR", call.spec.name))?,
                };
                if call.spec.id == O_SRCMASK {
                    self.srcmask = len;
                } else {
                    self.dstmask = len;
                }
            }
            O_NAME => {
                if call.arg.is_empty() {
                    return Err("Argument must have a minimum length of 1 characters".into());
                }
                self.name = crate::iptables::targets::log::truncate_bytes(call.arg, 15);
            }
            O_BURST => {
                let bad =
                    || format!("bad value for option \"--hashlimit-burst\", or out of range (1-{BURST_MAX})");
                let (v, rest) = parse_uint_prefix(call.arg, 1, u64::MAX).ok_or_else(bad)?;
                if rest.is_empty() && v > BURST_MAX {
                    return Err(bad());
                }
                self.burst = v.checked_mul(factor(rest.chars().next())).ok_or_else(bad)?;
            }
            O_HTABLE_SIZE => self.size = u32v()?,
            O_HTABLE_MAX => self.max = u32v()?,
            O_HTABLE_GCINT => self.gc_interval = u32v()?,
            O_HTABLE_EXPIRE => self.expire = u32v()?,
            O_RATEMATCH => self.mode |= RATE_MATCH,
            _ => {
                let r = atoi(call.arg);
                if r <= 0 {
                    return Err(format!(
                        "Bad value for \"--hashlimit-rate-interval\" option: \"{}\"",
                        call.arg
                    ));
                }
                self.interval = r as u32;
            }
        }
        Ok(())
    }

    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & (bit(O_UPTO) | bit(O_ABOVE)) == 0 {
            return Err("You have to specify --hashlimit-upto or --hashlimit-above".into());
        }
        if seen & bit(O_HTABLE_EXPIRE) == 0 {
            self.expire = self.unit_secs * 1000;
        }
        if self.mode & BYTES != 0 {
            let mut burst = 0;
            if seen & bit(O_BURST) != 0 {
                let unit = cost_to_bytes(self.avg);
                if self.burst < unit {
                    return Err(format!("burst cannot be smaller than {unit}b"));
                }
                burst = self.burst / unit.max(1);
                if !self.burst.is_multiple_of(unit.max(1)) {
                    burst += 1;
                }
                if seen & bit(O_HTABLE_EXPIRE) == 0 {
                    self.expire = BYTE_EXPIRE_BURST * 1000;
                }
            }
            self.burst = burst;
        } else if self.burst > BURST_MAX {
            return Err(format!(
                "bad value for option \"--hashlimit-burst\", or out of range (1-{BURST_MAX})"
            ));
        }
        if seen & bit(O_RATEMATCH) != 0 {
            if self.mode & BYTES == 0 {
                self.avg /= u64::from(self.unit_secs.max(1));
            }
            if self.interval == 0 {
                self.interval = if self.mode & BYTES != 0 { 1 } else { self.unit_secs };
            }
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        out.push(if self.mode & INVERT != 0 { " --hashlimit-above" } else { " --hashlimit-upto" });
        let quantum = if self.mode & BYTES != 0 {
            let (rate, burst, q) = format_bytes(self.avg, self.burst);
            out.push(&format!(" {rate}"));
            if let Some(b) = burst {
                out.push(&format!(" --hashlimit-burst {b}"));
            }
            q
        } else {
            let (rate, q) = format_rate(self.avg);
            out.push(&format!(" {rate} --hashlimit-burst {}", self.burst));
            q
        };
        if self.mode & (HASH_SIP | HASH_SPT | HASH_DIP | HASH_DPT) != 0 {
            let mut parts = Vec::new();
            for (b, n) in
                [(HASH_SIP, "srcip"), (HASH_SPT, "srcport"), (HASH_DIP, "dstip"), (HASH_DPT, "dstport")]
            {
                if self.mode & b != 0 {
                    parts.push(n);
                }
            }
            out.push(&format!(" --hashlimit-mode {}", parts.join(",")));
        }
        out.push(&format!(" --hashlimit-name {}", self.name));
        if self.size != 0 {
            out.push(&format!(" --hashlimit-htable-size {}", self.size));
        }
        if self.max != 0 {
            out.push(&format!(" --hashlimit-htable-max {}", self.max));
        }
        if self.gc_interval != GCINTERVAL {
            out.push(&format!(" --hashlimit-htable-gcinterval {}", self.gc_interval));
        }
        if self.expire != quantum {
            out.push(&format!(" --hashlimit-htable-expire {}", self.expire));
        }
        if self.srcmask != self.default_mask {
            out.push(&format!(" --hashlimit-srcmask {}", self.srcmask));
        }
        if self.dstmask != self.default_mask {
            out.push(&format!(" --hashlimit-dstmask {}", self.dstmask));
        }
        if self.mode & RATE_MATCH != 0 {
            out.push(" --hashlimit-rate-match");
            if self.interval != 1 {
                out.push(&format!(" --hashlimit-rate-interval {}", self.interval));
            }
        }
    }
}
