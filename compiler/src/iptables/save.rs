//! The output buffer of iptables-save printing and its quoting rule.
//!
//! Extensions print themselves the way their libxtables `save` functions do: every piece
//! starts with a space (` --dport 22`), negations are a separate ` !`, and free-form strings
//! go through [`SaveBuf::string`] (`xtables_save_string`: bare when only `[A-Za-z0-9_-]`,
//! otherwise double-quoted with `"`, `\` and `'` backslash-escaped).

use crate::iptables::Family;
use std::fmt;

/// A line being printed.
#[derive(Debug)]
pub struct SaveBuf {
    pub out: String,
    pub family: Family,
}

impl SaveBuf {
    pub fn new(family: Family) -> SaveBuf {
        SaveBuf { out: String::new(), family }
    }

    /// Append raw text.
    pub fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// ` !` when `invert`.
    pub fn bang(&mut self, invert: bool) {
        if invert {
            self.out.push_str(" !");
        }
    }

    /// ` [!] --name`.
    pub fn opt(&mut self, invert: bool, name: &str) {
        self.bang(invert);
        self.out.push_str(" --");
        self.out.push_str(name);
    }

    /// ` [!] --name value` (value printed as is).
    pub fn opt_val(&mut self, invert: bool, name: &str, value: impl fmt::Display) {
        self.opt(invert, name);
        self.out.push(' ');
        self.out.push_str(&value.to_string());
    }

    /// ` [!] --name "value"`, quoted as iptables-save quotes strings.
    pub fn opt_str(&mut self, invert: bool, name: &str, value: &str) {
        self.opt(invert, name);
        self.string(value);
    }

    /// A space and a string in `xtables_save_string` form.
    pub fn string(&mut self, value: &str) {
        self.out.push(' ');
        self.out.push_str(&save_string(value));
    }
}

impl fmt::Write for SaveBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.push_str(s);
        Ok(())
    }
}

/// `xtables_save_string` without the leading space.
pub fn save_string(value: &str) -> String {
    let plain =
        !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::save_string;

    #[test]
    fn quoting() {
        assert_eq!(save_string("foo_bar-1"), "foo_bar-1");
        assert_eq!(save_string("test: "), "\"test: \"");
        assert_eq!(save_string(""), "\"\"");
        assert_eq!(save_string("a\"b'c\\"), "\"a\\\"b\\'c\\\\\"");
    }
}
