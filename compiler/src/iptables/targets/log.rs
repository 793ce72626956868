//! `LOG` (kernel log) and `NFLOG` (netlink log group).

use crate::iptables::ext::{Extension, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// `LOG_DEFAULT_LEVEL` (warning).
pub const DEFAULT_LOG_LEVEL: u8 = 4;

/// `XT_LOG_*` flag bits.
pub mod log_flags {
    pub const TCPSEQ: u8 = 0x01;
    pub const TCPOPT: u8 = 0x02;
    pub const IPOPT: u8 = 0x04;
    pub const UID: u8 = 0x08;
    pub const MACDECODE: u8 = 0x20;
}

/// syslog level names (`error` and `panic` are deprecated aliases).
const LEVELS: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
];

/// `XTTYPE_SYSLOGLEVEL`: 0–7 or a level name.
pub fn parse_log_level(s: &str) -> Result<u8, String> {
    if let Some(n) = parse_uint(s, 0, 7) {
        return Ok(n as u8);
    }
    LEVELS.iter().find(|(n, _)| *n == s).map(|&(_, l)| l).ok_or_else(|| {
        format!("log level \"{s}\" unknown: expecting 0-7 or emerg, alert, crit, error, warning, notice, info, debug")
    })
}

/// The LOG target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub level: u8,
    /// At most 29 bytes (longer prefixes are cut, as iptables does).
    pub prefix: String,
    /// [`log_flags`] bits.
    pub flags: u8,
}

impl Default for Log {
    fn default() -> Log {
        Log { level: DEFAULT_LOG_LEVEL, prefix: String::new(), flags: 0 }
    }
}

/// Longest LOG prefix kept (`char prefix[30]`).
pub const LOG_PREFIX_MAX: usize = 29;

static LOG_OPTS: [OptSpec; 7] = [
    OptSpec::arg("log-level", 6),
    OptSpec::arg("log-prefix", 7),
    OptSpec::flag("log-tcp-sequence", 0),
    OptSpec::flag("log-tcp-options", 1),
    OptSpec::flag("log-ip-options", 2),
    OptSpec::flag("log-uid", 3),
    OptSpec::flag("log-macdecode", 5),
];

/// Cut a string to at most `max` bytes on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl Extension for Log {
    fn options(&self) -> &'static [OptSpec] {
        &LOG_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            6 => self.level = parse_log_level(call.arg)?,
            7 => {
                if call.arg.is_empty() {
                    return Err("Argument must have a minimum length of 1 characters".into());
                }
                if call.arg.contains('\n') {
                    return Err("Newlines not allowed in --log-prefix".into());
                }
                self.prefix = truncate_bytes(call.arg, LOG_PREFIX_MAX);
            }
            id => self.flags |= 1 << id,
        }
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if !self.prefix.is_empty() {
            out.opt_str(false, "log-prefix", &self.prefix);
        }
        if self.level != DEFAULT_LOG_LEVEL {
            out.opt_val(false, "log-level", self.level);
        }
        for (bit, name) in [
            (log_flags::TCPSEQ, "log-tcp-sequence"),
            (log_flags::TCPOPT, "log-tcp-options"),
            (log_flags::IPOPT, "log-ip-options"),
            (log_flags::UID, "log-uid"),
            (log_flags::MACDECODE, "log-macdecode"),
        ] {
            if self.flags & bit != 0 {
                out.opt(false, name);
            }
        }
    }
}

/// The NFLOG target as iptables-nft stores it (an nft `log` statement): the prefix may be
/// up to 127 bytes, `--nflog-range` is not kept (it never had an effect).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Nflog {
    pub group: u16,
    pub prefix: String,
    /// `--nflog-size`: bytes to copy.
    pub size: Option<u32>,
    /// `--nflog-range` as given (ignored by the kernel; not printed back by iptables-nft).
    pub range: Option<u32>,
    pub threshold: u16,
}

/// `NF_LOG_PREFIXLEN - 1`.
pub const NFLOG_PREFIX_MAX: usize = 127;

const O_GROUP: u8 = 0;
const O_PREFIX: u8 = 1;
const O_RANGE: u8 = 2;
const O_SIZE: u8 = 3;
const O_THRESHOLD: u8 = 4;

static NFLOG_OPTS: [OptSpec; 5] = [
    OptSpec::arg("nflog-group", O_GROUP),
    OptSpec::arg("nflog-prefix", O_PREFIX),
    OptSpec::arg("nflog-range", O_RANGE).excl(bit(O_SIZE)),
    OptSpec::arg("nflog-size", O_SIZE).excl(bit(O_RANGE)),
    OptSpec::arg("nflog-threshold", O_THRESHOLD),
];

fn uint(call: &OptCall<'_>, max: u64) -> Result<u64, String> {
    parse_uint(call.arg, 0, max)
        .ok_or_else(|| format!("bad value for option \"--{}\", or out of range (0-{max})", call.spec.name))
}

impl Extension for Nflog {
    fn options(&self) -> &'static [OptSpec] {
        &NFLOG_OPTS
    }

    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        match call.spec.id {
            O_GROUP => self.group = uint(call, u16::MAX as u64)? as u16,
            O_PREFIX => {
                if call.arg.is_empty() {
                    return Err("Argument must have a minimum length of 1 characters".into());
                }
                if call.arg.contains('\n') {
                    return Err("Newlines not allowed in --log-prefix".into());
                }
                self.prefix = truncate_bytes(call.arg, NFLOG_PREFIX_MAX);
            }
            O_RANGE => self.range = Some(uint(call, u32::MAX as u64)? as u32),
            O_SIZE => self.size = Some(uint(call, u32::MAX as u64)? as u32),
            _ => self.threshold = uint(call, u16::MAX as u64)? as u16,
        }
        Ok(())
    }

    fn finish(&mut self, _seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        Ok(())
    }

    fn save(&self, out: &mut SaveBuf) {
        if !self.prefix.is_empty() {
            out.opt_str(false, "nflog-prefix", &self.prefix);
        }
        if self.group != 0 {
            out.opt_val(false, "nflog-group", self.group);
        }
        if let Some(s) = self.size {
            out.opt_val(false, "nflog-size", s);
        }
        if self.threshold != 0 {
            out.opt_val(false, "nflog-threshold", self.threshold);
        }
    }
}
