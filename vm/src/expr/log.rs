//! `log`: record the packet in the trace (nft_log.c); the runtime formats the line.

use crate::interp::{Eval, LogRequest};
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// `NF_LOG_*` flags, in the order nft prints them.
const FLAG_NAMES: [(u32, &str); 5] =
    [(0x01, "tcpseq"), (0x02, "tcpopt"), (0x04, "ipopt"), (0x08, "uid"), (0x20, "macdecode")];

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Log {
    pub prefix: Option<String>,
    /// Netlink group (`log group N`, nflog); then snaplen and qthreshold apply.
    pub group: Option<u16>,
    pub snaplen: u32,
    pub qthreshold: u16,
    pub level: Option<u32>,
    pub flags: Option<u32>,
}

impl Log {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.prefix {
            parts.push(format!("prefix {p}"));
        }
        if let Some(g) = self.group {
            parts.push(format!("group {g} snaplen {} qthreshold {}", self.snaplen, self.qthreshold));
        } else {
            if let Some(l) = self.level {
                parts.push(format!("level {l}"));
            }
            if let Some(f) = self.flags {
                for (bit, name) in FLAG_NAMES {
                    if f & bit != 0 {
                        parts.push(name.to_string());
                    }
                }
            }
        }
        let _ = write!(o, "{}", parts.join(" "));
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<Log> {
        let mut log = Log::default();
        let raw = c.raw().trim_start();
        c.rest();
        let rest = if let Some(p) = raw.strip_prefix("prefix ") {
            // The prefix may hold spaces: it ends where the rest parses as the tail.
            let cut = [" group ", " level "]
                .iter()
                .filter_map(|m| p.rfind(m))
                .max()
                .or_else(|| tail_flags_start(p))
                .unwrap_or(p.len());
            log.prefix = Some(p[..cut].to_string());
            &p[cut..]
        } else {
            raw
        };
        let mut c = Cursor::new(rest);
        while let Some(t) = c.peek() {
            match t {
                "group" => {
                    c.next()?;
                    log.group = Some(c.num()?);
                    c.expect("snaplen")?;
                    log.snaplen = c.num()?;
                    c.expect("qthreshold")?;
                    log.qthreshold = c.num()?;
                }
                "level" => {
                    c.next()?;
                    log.level = Some(c.num()?);
                }
                _ => {
                    let bit = FLAG_NAMES
                        .iter()
                        .find(|(_, n)| *n == t)
                        .map(|(b, _)| *b)
                        .ok_or_else(|| format!("unknown log option `{t}`"))?;
                    c.next()?;
                    log.flags = Some(log.flags.unwrap_or(0) | bit);
                }
            }
        }
        Ok(log)
    }

    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        if self.level.is_some_and(|l| l > 8) {
            return Err("log level above 8".into());
        }
        Ok(())
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        e.env.log(&LogRequest {
            prefix: self.prefix.as_deref(),
            level: self.level,
            group: self.group,
            flags: self.flags.unwrap_or(0),
        });
    }
}

/// Where trailing flag words start in a prefix-holding text (`prefix foo tcpseq`).
fn tail_flags_start(p: &str) -> Option<usize> {
    let mut cut = None;
    let mut end = p.len();
    while let Some(sp) = p[..end].rfind(' ') {
        let word = &p[sp + 1..end];
        if FLAG_NAMES.iter().any(|(_, n)| *n == word) {
            cut = Some(sp);
            end = sp;
        } else {
            break;
        }
    }
    cut
}
