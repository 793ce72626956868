//! Logging targets: `LOG`, `NFLOG`, `AUDIT` (libxt_LOG, libxt_NFLOG, libxt_AUDIT).

use super::buf::{Xl, xadd};
use super::misc::cut;
use super::{NoXlate, XResult};
use crate::iptables::targets::log::{DEFAULT_LOG_LEVEL, Log, Nflog, log_flags};
use crate::iptables::targets::misc::Audit;

/// glibc's `prioritynames`: the first name listed for each syslog level.
fn level_name(level: u8) -> Option<&'static str> {
    Some(match level {
        0 => "emerg",
        1 => "alert",
        2 => "crit",
        3 => "err",
        4 => "warn",
        5 => "notice",
        6 => "info",
        7 => "debug",
        _ => return None,
    })
}

/// `XT_LOG_MASK`: every flag.
const ALL_FLAGS: u8 = 0x2f;

pub fn log(l: &Log, xl: &mut Xl) -> XResult {
    xl.add("log");
    if !l.prefix.is_empty() {
        xadd!(xl, " prefix \"{}\"", l.prefix);
    }
    match level_name(l.level) {
        None => return Err(NoXlate::new(format!("LOG: level {} has no name", l.level))),
        Some(name) if l.level != DEFAULT_LOG_LEVEL => xadd!(xl, " level {name}"),
        Some(_) => {}
    }
    if l.flags & ALL_FLAGS == ALL_FLAGS {
        xl.add(" flags all");
    } else {
        if l.flags & (log_flags::TCPSEQ | log_flags::TCPOPT) != 0 {
            let mut delim = " ";
            xl.add(" flags tcp");
            if l.flags & log_flags::TCPSEQ != 0 {
                xl.add(" sequence");
                delim = ",";
            }
            if l.flags & log_flags::TCPOPT != 0 {
                xadd!(xl, "{delim}options");
            }
        }
        if l.flags & log_flags::IPOPT != 0 {
            xl.add(" flags ip options");
        }
        if l.flags & log_flags::UID != 0 {
            xl.add(" flags skuid");
        }
        if l.flags & log_flags::MACDECODE != 0 {
            xl.add(" flags ether");
        }
    }
    Ok(())
}

/// `struct xt_nflog_info` keeps 63 bytes of the prefix; that is what the translation sees.
const NFLOG_XLATE_PREFIX: usize = 63;

pub fn nflog(n: &Nflog, xl: &mut Xl) -> XResult {
    xl.add("log ");
    if !n.prefix.is_empty() {
        xadd!(xl, "prefix \"{}\" ", cut(&n.prefix, NFLOG_XLATE_PREFIX));
        if n.prefix.len() > NFLOG_XLATE_PREFIX {
            xl.note("iptables-translate cuts NFLOG prefixes to 63 bytes");
        }
    }
    if let Some(size) = n.size {
        xadd!(xl, "snaplen {size} ");
    }
    if n.threshold != 0 {
        xadd!(xl, "queue-threshold {} ", n.threshold);
    }
    xadd!(xl, "group {} ", n.group);
    Ok(())
}

pub fn audit(_a: &Audit, xl: &mut Xl) -> XResult {
    xl.add("log level audit");
    Ok(())
}
