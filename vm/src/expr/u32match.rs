//! `match name u32` — iptables' `-m u32`, run as iptables-nft runs it: the kernel's
//! `xt_u32`. Each test reads a big-endian 32-bit word of the packet (offsets from the
//! network header), combines it with `&`, `<<`, `>>` and `@` steps (`@` moves to the
//! offset the value gives and reads there), and must land in one of its ranges; every test
//! must pass. A read past the packet's end fails the match (and `!` turns that into a
//! match, as the kernel's inversion does).

use crate::interp::Eval;
use crate::program::Program;
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

/// Most steps, ranges and tests the kernel takes (`XT_U32_MAXSIZE` + 1).
pub const MAX: usize = 11;

/// How a location step combines with the value so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    And(u32),
    Shl(u32),
    Shr(u32),
    /// `@N`: move the base by the value, read the word at base + N.
    At(u32),
}

/// One `location=ranges` test.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct U32Test {
    pub start: u32,
    pub steps: Vec<Step>,
    pub ranges: Vec<(u32, u32)>,
}

/// One `-m u32` match.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct U32Match {
    pub tests: Vec<U32Test>,
    pub invert: bool,
}

/// The big-endian word at `at` of `bytes`.
fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl U32Test {
    /// Does the test pass on `bytes` (the packet from its network header)?
    fn passes(&self, bytes: &[u8]) -> bool {
        let Some(mut val) = word(bytes, self.start as usize) else { return false };
        let mut base: u32 = 0;
        for step in &self.steps {
            match *step {
                Step::And(n) => val &= n,
                Step::Shl(n) => val = val.wrapping_shl(n),
                Step::Shr(n) => val = val.wrapping_shr(n),
                Step::At(n) => {
                    let Some(b) = base.checked_add(val) else { return false };
                    base = b;
                    let Some(v) = (base as usize).checked_add(n as usize).and_then(|at| word(bytes, at))
                    else {
                        return false;
                    };
                    val = v;
                }
            }
        }
        self.ranges.iter().any(|&(lo, hi)| lo <= val && val <= hi)
    }

    fn print(&self, o: &mut String) {
        let _ = write!(o, "{}", self.start);
        for s in &self.steps {
            let _ = match s {
                Step::And(n) => write!(o, "&0x{n:x}"),
                Step::Shl(n) => write!(o, "<<{n}"),
                Step::Shr(n) => write!(o, ">>{n}"),
                Step::At(n) => write!(o, "@{n}"),
            };
        }
        let ranges: Vec<String> = self.ranges.iter().map(|(lo, hi)| format!("0x{lo:x}:0x{hi:x}")).collect();
        let _ = write!(o, "={}", ranges.join(","));
    }

    /// `START[&N|<<N|>>N|@N]…=LO:HI[,LO:HI]…` (numbers decimal or 0x hex).
    fn parse(t: &str) -> PResult<U32Test> {
        let bad = || format!("bad u32 test `{t}`");
        let (loc, vals) = t.split_once('=').ok_or_else(bad)?;
        let num = |s: &str| -> PResult<u32> {
            match s.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16).map_err(|_| bad()),
                None => s.parse().map_err(|_| bad()),
            }
        };
        let cut = loc.find(['&', '<', '>', '@']).unwrap_or(loc.len());
        let mut test = U32Test { start: num(&loc[..cut])?, ..U32Test::default() };
        let mut rest = &loc[cut..];
        while !rest.is_empty() {
            let (op, len) = match rest.as_bytes() {
                [b'&', ..] => ("&", 1),
                [b'@', ..] => ("@", 1),
                [b'<', b'<', ..] => ("<<", 2),
                [b'>', b'>', ..] => (">>", 2),
                _ => return Err(bad()),
            };
            rest = &rest[len..];
            let end = rest.find(['&', '<', '>', '@']).unwrap_or(rest.len());
            let n = num(&rest[..end])?;
            rest = &rest[end..];
            test.steps.push(match op {
                "&" => Step::And(n),
                "@" => Step::At(n),
                "<<" => Step::Shl(n),
                _ => Step::Shr(n),
            });
        }
        for r in vals.split(',') {
            let (lo, hi) = r.split_once(':').ok_or_else(bad)?;
            test.ranges.push((num(lo)?, num(hi)?));
        }
        Ok(test)
    }
}

impl U32Match {
    pub(crate) fn print(&self, _p: &Program, o: &mut String) {
        o.push_str("name u32 rev 0");
        for t in &self.tests {
            o.push_str(" test ");
            t.print(o);
        }
        if self.invert {
            o.push_str(" invert");
        }
    }

    pub(crate) fn parse(c: &mut Cursor, _a: &mut Asm) -> PResult<U32Match> {
        c.expect_all(&["name", "u32", "rev", "0"])?;
        let mut m = U32Match::default();
        while c.eat("test") {
            m.tests.push(U32Test::parse(c.next()?)?);
        }
        m.invert = c.eat("invert");
        Ok(m)
    }

    /// The kernel's load-time rules (`u32_mt_checkentry`).
    pub(crate) fn check(&self, _c: &mut Check) -> Result<(), String> {
        let sizes_ok = !self.tests.is_empty()
            && self.tests.len() <= MAX
            && self
                .tests
                .iter()
                .all(|t| t.steps.len() < MAX && !t.ranges.is_empty() && t.ranges.len() <= MAX);
        if !sizes_ok {
            return Err(format!("u32: at most {MAX} tests, steps and ranges"));
        }
        // Shifting a 32-bit word by 32 or more is refused (the kernel's check since 5.x).
        let wide = self
            .tests
            .iter()
            .flat_map(|t| &t.steps)
            .any(|s| matches!(s, Step::Shl(n) | Step::Shr(n) if *n > 31));
        if wide { Err("u32: a shift by more than 31 bits".into()) } else { Ok(()) }
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        let bytes = e.pkt.data.get(e.pkt.network_off..).unwrap_or(&[]);
        if self.tests.iter().all(|t| t.passes(bytes)) == self.invert {
            e.brk();
        }
    }
}
