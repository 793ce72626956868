//! Programmable matches: `u32` (byte-code-free tests on 32-bit words of the packet) and
//! `bpf` (a classic BPF program).

use crate::iptables::ext::{Extension, OptCall, OptSpec};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::scan_u64;
use nftvm_vm::expr::bpf::{Insn, MAX_INSNS};

/// How a u32 location step combines with the previous value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum U32Op {
    And,
    LeftShift,
    RightShift,
    /// `@`: move to the offset.
    At,
}

/// One `location=ranges` test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct U32Test {
    /// First number, then `(op, number)` steps.
    pub location: Vec<(Option<U32Op>, u32)>,
    pub values: Vec<(u32, u32)>,
}

/// The u32 match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct U32 {
    pub tests: Vec<U32Test>,
    pub invert: bool,
}

/// `XT_U32_MAXSIZE` (per-test location steps, values, and tests).
pub const U32_MAX: usize = 10;

static U32_OPTS: [OptSpec; 1] = [OptSpec::arg("u32", 0).inv().mand()];

fn u32_number(s: &[u8], i: &mut usize) -> Result<u32, String> {
    while *i < s.len() && s[*i].is_ascii_whitespace() {
        *i += 1;
    }
    let rest = std::str::from_utf8(&s[*i..]).map_err(|_| "u32: invalid text".to_string())?;
    let n = scan_u64(rest, 0)
        .filter(|n| n.value <= u64::from(u32::MAX))
        .ok_or_else(|| format!("u32: at char {}: expected number", *i))?;
    *i += n.end;
    Ok(n.value as u32)
}

/// Parse a u32 test expression (`0x0=0x0&&0x0>>22&0x3C@12>>16=1:5`).
pub fn parse_u32(arg: &str) -> Result<Vec<U32Test>, String> {
    let s = arg.as_bytes();
    let mut i = 0;
    let mut tests = vec![U32Test::default()];
    let mut reading_values = false;
    loop {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let Some(t) = tests.last_mut() else { break };
        if i >= s.len() {
            if !reading_values {
                return Err("u32: abrupt end of input after location specifier".into());
            }
            if t.values.is_empty() {
                return Err("u32: test ended with no value specified".into());
            }
            break;
        }
        if !reading_values {
            if s[i] == b'=' {
                if t.location.is_empty() {
                    return Err(format!("u32: at char {i}: location spec missing"));
                }
                i += 1;
                reading_values = true;
                continue;
            }
            let op = if t.location.is_empty() {
                None
            } else {
                let op = match s[i] {
                    b'&' => U32Op::And,
                    b'<' if s.get(i + 1) == Some(&b'<') => {
                        i += 1;
                        U32Op::LeftShift
                    }
                    b'>' if s.get(i + 1) == Some(&b'>') => {
                        i += 1;
                        U32Op::RightShift
                    }
                    b'@' => U32Op::At,
                    _ => return Err(format!("u32: at char {i}: operator expected")),
                };
                i += 1;
                Some(op)
            };
            let n = u32_number(s, &mut i)?;
            t.location.push((op, n));
            if t.location.len() > U32_MAX {
                return Err(format!("u32: at char {i}: too many operators"));
            }
        } else if s[i] == b'&' {
            if s.get(i + 1) != Some(&b'&') {
                return Err(format!("u32: at char {i}: a second '&' was expected"));
            }
            if t.values.is_empty() {
                return Err(format!("u32: at char {i}: value spec missing"));
            }
            i += 2;
            if tests.len() >= U32_MAX {
                return Err(format!("u32: at char {i}: too many \"&&\"s"));
            }
            tests.push(U32Test::default());
            reading_values = false;
        } else {
            if !t.values.is_empty() {
                if s[i] != b',' {
                    return Err(format!("u32: at char {i}: expected \",\" or \"&&\""));
                }
                i += 1;
            }
            let min = u32_number(s, &mut i)?;
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
            let max = if s.get(i) == Some(&b':') {
                i += 1;
                u32_number(s, &mut i)?
            } else {
                min
            };
            t.values.push((min, max));
            if t.values.len() > U32_MAX {
                return Err(format!("u32: at char {i}: too many \",\"s"));
            }
        }
    }
    Ok(tests)
}

impl Extension for U32 {
    fn options(&self) -> &'static [OptSpec] {
        &U32_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        self.tests = parse_u32(call.arg)?;
        self.invert = call.invert;
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        let mut s = String::new();
        for (ti, t) in self.tests.iter().enumerate() {
            if ti > 0 {
                s.push_str("&&");
            }
            for (op, n) in &t.location {
                s.push_str(match op {
                    None => "",
                    Some(U32Op::And) => "&",
                    Some(U32Op::LeftShift) => "<<",
                    Some(U32Op::RightShift) => ">>",
                    Some(U32Op::At) => "@",
                });
                s.push_str(&format!("0x{n:x}"));
            }
            s.push('=');
            let vals: Vec<String> = t
                .values
                .iter()
                .map(|&(a, b)| if a == b { format!("0x{a:x}") } else { format!("0x{a:x}:0x{b:x}") })
                .collect();
            s.push_str(&vals.join(","));
        }
        out.opt(self.invert, "u32");
        out.push(&format!(" \"{s}\""));
    }
}

/// The bpf match (`--bytecode` form, the instructions the VM's match runs; `--object-pinned`
/// names a pinned program).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bpf {
    pub program: Vec<Insn>,
    pub pinned: Option<String>,
}

static BPF_OPTS: [OptSpec; 2] = [OptSpec::arg("bytecode", 0), OptSpec::arg("object-pinned", 1)];

/// `N,code jt jf k,code jt jf k,…`.
pub fn parse_bytecode(s: &str) -> Result<Vec<Insn>, String> {
    let mut parts = s.split(',');
    let len: usize = parts
        .next()
        .and_then(|p| p.trim().parse().ok())
        .filter(|_| s.contains(','))
        .ok_or("bpf: error parsing program length")?;
    if len == 0 {
        return Err("bpf: illegal zero length program".into());
    }
    if len > MAX_INSNS {
        return Err("bpf: number of instructions exceeds maximum".into());
    }
    let mut out = Vec::new();
    for (i, p) in parts.filter(|p| !p.is_empty()).enumerate() {
        if out.len() >= len {
            return Err("bpf: real program length exceeds the encoded length parameter".into());
        }
        let f: Vec<&str> = p.split_whitespace().collect();
        let bad = || format!("bpf: error at instr {i}");
        if f.len() != 4 {
            return Err(bad());
        }
        out.push(Insn {
            code: f[0].parse().map_err(|_| bad())?,
            jt: f[1].parse().map_err(|_| bad())?,
            jf: f[2].parse().map_err(|_| bad())?,
            k: f[3].parse().map_err(|_| bad())?,
        });
    }
    if out.len() != len {
        return Err("bpf: parsed program length is less than the encoded length parameter".into());
    }
    Ok(out)
}

impl Extension for Bpf {
    fn options(&self) -> &'static [OptSpec] {
        &BPF_OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        if call.spec.id == 0 {
            self.program = parse_bytecode(call.arg)?;
        } else {
            self.pinned = Some(call.arg.to_string());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if let Some(p) = &self.pinned {
            out.push(&format!(" --object-pinned {p}"));
            return;
        }
        let insns: Vec<String> =
            self.program.iter().map(|i| format!("{} {} {} {}", i.code, i.jt, i.jf, i.k)).collect();
        out.push(&format!(" --bytecode \"{},{}\"", self.program.len(), insns.join(",")));
    }
}
