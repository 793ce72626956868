//! `string`: payload pattern search (text or `|hex|` blocks) with an algorithm and an offset
//! window.

use crate::iptables::ext::{Extension, LoadCx, OptCall, OptSpec, ParseCx, bit};
use crate::iptables::save::SaveBuf;
use crate::iptables::values::num::parse_uint;

/// `XT_STRING_MAX_PATTERN_SIZE`.
pub const MAX_PATTERN: usize = 128;

/// The string match (revision 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringMatch {
    pub pattern: Vec<u8>,
    pub algo: String,
    pub from: u16,
    pub to: u16,
    pub invert: bool,
    pub icase: bool,
}

impl Default for StringMatch {
    fn default() -> StringMatch {
        StringMatch {
            pattern: vec![],
            algo: String::new(),
            from: 0,
            to: u16::MAX,
            invert: false,
            icase: false,
        }
    }
}

const O_FROM: u8 = 0;
const O_TO: u8 = 1;
const O_ALGO: u8 = 2;
const O_STRING: u8 = 3;
const O_HEX: u8 = 4;
const O_ICASE: u8 = 5;

static OPTS: [OptSpec; 6] = [
    OptSpec::arg("from", O_FROM),
    OptSpec::arg("to", O_TO),
    OptSpec::arg("algo", O_ALGO).mand(),
    OptSpec::arg("string", O_STRING).inv().excl(bit(O_HEX)),
    OptSpec::arg("hex-string", O_HEX).inv().excl(bit(O_STRING)),
    OptSpec::flag("icase", O_ICASE),
];

/// `--hex-string` syntax: text with `|hex hex|` blocks and `\x` literals.
pub fn parse_hex_string(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("STRING must contain at least one char".into());
    }
    let mut out = Vec::new();
    let mut hex = false;
    let mut i = 0;
    while i < b.len() {
        if out.len() >= MAX_PATTERN {
            return Err(format!("STRING too long \"{s}\""));
        }
        let mut literal = false;
        if b[i] == b'\\' && !hex {
            literal = true;
        } else if b[i] == b'\\' {
            return Err("Cannot include literals in hex data".into());
        } else if b[i] == b'|' {
            hex = !hex;
            if hex {
                while b.get(i + 1) == Some(&b' ') {
                    i += 1;
                }
            }
            if i + 1 >= b.len() {
                break;
            }
            i += 1;
        }
        if literal {
            let c = *b.get(i + 1).ok_or("Bad literal placement at end of string")?;
            out.push(c);
            i += 2;
        } else if hex {
            if i + 1 >= b.len() {
                return Err("Odd number of hex digits".into());
            }
            if i + 2 >= b.len() {
                return Err("Invalid hex block".into());
            }
            let pair = std::str::from_utf8(&b[i..i + 2]).map_err(|_| "Invalid hex char".to_string())?;
            let v =
                u8::from_str_radix(pair, 16).map_err(|_| format!("Invalid hex char '{}'", b[i] as char))?;
            out.push(v);
            i += if b.get(i + 2) == Some(&b' ') { 3 } else { 2 };
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn is_hex_string(p: &[u8]) -> bool {
    p.iter().any(|&c| !(0x20..0x7f).contains(&c)) || p.last() == Some(&b'\\')
}

impl Extension for StringMatch {
    fn options(&self) -> &'static [OptSpec] {
        &OPTS
    }
    fn parse(&mut self, call: &mut OptCall<'_>) -> Result<(), String> {
        let u16v = || {
            parse_uint(call.arg, 0, 65535).map(|v| v as u16).ok_or_else(|| {
                format!("bad value for option \"--{}\", or out of range (0-65535)", call.spec.name)
            })
        };
        match call.spec.id {
            O_FROM => self.from = u16v()?,
            O_TO => self.to = u16v()?,
            O_ALGO => {
                if call.arg.len() >= 16 {
                    return Err("algorithm name too long (at most 15 bytes)".into());
                }
                self.algo = call.arg.to_string();
            }
            O_STRING => {
                if call.arg.len() > MAX_PATTERN {
                    return Err(format!("STRING too long \"{}\" (at most {MAX_PATTERN} bytes)", call.arg));
                }
                self.pattern = call.arg.as_bytes().to_vec();
                self.invert = call.invert;
            }
            O_HEX => {
                self.pattern = parse_hex_string(call.arg)?;
                self.invert = call.invert;
            }
            _ => self.icase = true,
        }
        Ok(())
    }
    fn finish(&mut self, seen: u64, _cx: &ParseCx<'_>) -> Result<(), String> {
        if seen & (bit(O_STRING) | bit(O_HEX)) == 0 {
            return Err("You must specify `--string' or `--hex-string'".into());
        }
        Ok(())
    }
    fn save(&self, out: &mut SaveBuf) {
        if is_hex_string(&self.pattern) {
            let hex: String = self.pattern.iter().map(|b| format!("{b:02x}")).collect();
            out.opt(self.invert, "hex-string");
            out.push(&format!(" \"|{hex}|\""));
        } else {
            out.opt(self.invert, "string");
            let mut s = String::from(" \"");
            for &c in &self.pattern {
                if c == b'"' || c == b'\\' {
                    s.push('\\');
                }
                s.push(c as char);
            }
            s.push('"');
            out.push(&s);
        }
        out.push(&format!(" --algo {}", self.algo));
        if self.from != 0 {
            out.push(&format!(" --from {}", self.from));
        }
        if self.to != u16::MAX {
            out.push(&format!(" --to {}", self.to));
        }
        if self.icase {
            out.push(" --icase");
        }
    }
    fn check_load(&self, _cx: &LoadCx<'_>) -> Result<(), String> {
        // The kernel's textsearch algorithms.
        if !matches!(self.algo.as_str(), "bm" | "kmp" | "fsm") {
            return Err(format!("unknown search algorithm `{}' (expecting bm or kmp)", self.algo));
        }
        if self.from > self.to {
            return Err("--from is larger than --to".into());
        }
        Ok(())
    }
}
