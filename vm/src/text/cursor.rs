//! A token cursor over one expression's text (`load 4b @ network header + 12 => reg 1`).

use crate::reg::Reg;
use std::str::FromStr;

/// Whitespace-separated tokens of an expression body, consumed left to right.
#[derive(Debug)]
pub struct Cursor<'a> {
    raw: &'a str,
    toks: Vec<&'a str>,
    pos: usize,
}

pub type PResult<T> = Result<T, String>;

impl<'a> Cursor<'a> {
    pub fn new(raw: &'a str) -> Cursor<'a> {
        Cursor { raw, toks: raw.split_whitespace().collect(), pos: 0 }
    }

    /// The untokenized text (for fields that may hold spaces, such as a log prefix).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    pub fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.pos).copied()
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a str> {
        self.toks.get(self.pos + n).copied()
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> PResult<&'a str> {
        let t = self.toks.get(self.pos).copied().ok_or_else(|| "unexpected end of expression".to_string())?;
        self.pos += 1;
        Ok(t)
    }

    /// Consumes `word` if it is next.
    pub fn eat(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, word: &str) -> PResult<()> {
        match self.peek() {
            Some(t) if t == word => {
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(format!("expected `{word}`, found `{t}`")),
            None => Err(format!("expected `{word}` at end of expression")),
        }
    }

    /// Consumes a sequence of words.
    pub fn expect_all(&mut self, words: &[&str]) -> PResult<()> {
        words.iter().try_for_each(|w| self.expect(w))
    }

    /// `word N`: the keyword, then its number.
    pub fn keyed_num<T: FromStr>(&mut self, word: &str) -> PResult<T> {
        self.expect(word)?;
        self.num()
    }

    pub fn num<T: FromStr>(&mut self) -> PResult<T> {
        let t = self.next()?;
        t.parse().map_err(|_| format!("expected a number, found `{t}`"))
    }

    /// A number with a unit suffix (`12b`, `300ms`).
    pub fn num_suffix<T: FromStr>(&mut self, suffix: &str) -> PResult<T> {
        let t = self.next()?;
        t.strip_suffix(suffix)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("expected a number followed by `{suffix}`, found `{t}`"))
    }

    /// A `0x…` hexadecimal number.
    pub fn hex(&mut self) -> PResult<u64> {
        let t = self.next()?;
        parse_hex(t)
    }

    /// Bytes written `0x` and two hex digits each (`pattern 0x616263`); `what` names them
    /// in the error.
    pub fn hex_bytes(&mut self, what: &str) -> PResult<Vec<u8>> {
        let t = self.next()?;
        let digits = t.strip_prefix("0x").unwrap_or("");
        if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("expected {what} as 0x and hex digit pairs, found `{t}`"));
        }
        Ok((0..digits.len() / 2)
            .filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok())
            .collect())
    }

    /// A bare hexadecimal number (`flags f`).
    pub fn bare_hex(&mut self) -> PResult<u64> {
        let t = self.next()?;
        u64::from_str_radix(t, 16).map_err(|_| format!("expected a hexadecimal number, found `{t}`"))
    }

    /// A register number.
    pub fn reg(&mut self) -> PResult<Reg> {
        let n: u8 = self.num()?;
        Ok(Reg(n))
    }

    /// `reg N`.
    pub fn kw_reg(&mut self) -> PResult<Reg> {
        self.expect("reg")?;
        self.reg()
    }

    /// Consumes tokens while `f` accepts them.
    pub fn take_while(&mut self, f: impl Fn(&str) -> bool) -> Vec<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.toks[start..self.pos].to_vec()
    }

    /// All remaining tokens.
    pub fn rest(&mut self) -> Vec<&'a str> {
        let v = self.toks[self.pos..].to_vec();
        self.pos = self.toks.len();
        v
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Fails if tokens are left.
    pub fn done(&self) -> PResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected `{t}`")),
        }
    }
}

/// Parses `0x…`.
pub fn parse_hex(t: &str) -> PResult<u64> {
    t.strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or_else(|| format!("expected a 0x… number, found `{t}`"))
}

/// Does the token look like a `0x…` value group?
pub fn is_hex_word(t: &str) -> bool {
    t.len() > 2 && t.starts_with("0x") && t[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Writes `bytes` as [`Cursor::hex_bytes`] reads them: `0x` and two hex digits each.
pub fn write_hex_bytes(o: &mut String, bytes: &[u8]) {
    use std::fmt::Write;
    o.push_str("0x");
    for b in bytes {
        let _ = write!(o, "{b:02x}");
    }
}
