//! The text buffer a translation is written into, with libxtables' spacing rule.
//!
//! Extensions append fragments (`tcp dport 22`, ` / `, `{ `); a space is inserted before a
//! fragment when the buffer does not already end in whitespace and the fragment starts with
//! a letter, a digit or a brace. Whitespace at the end of the rule is dropped when the rule
//! is taken out. Reproducing this rule (rather than joining words) is what makes the output
//! byte-identical to `iptables-translate`, including its few odd spacings (`group 0  comment`).
//!
//! Besides the rule text a translation may declare a set (connlimit's dynamic set, printed
//! as an `add set` line before the rule) and carries the rule comment, which is appended
//! after the verdict.

use crate::iptables::Family;
use nftvm_grammar::Span;

/// One rule being translated.
#[derive(Debug)]
pub struct Xl {
    rule: String,
    set: String,
    comment: Option<String>,
    family: Family,
    notes: Vec<(String, Option<Span>)>,
}

/// Whether a fragment starting with `c` gets a separating space.
fn wants_space(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '(' | ')' | '{' | '}' | '[' | ']')
}

fn append(buf: &mut String, text: &str, space: bool) {
    if space
        && buf.chars().next_back().is_some_and(|c| !c.is_ascii_whitespace())
        && text.chars().next().is_some_and(wants_space)
    {
        buf.push(' ');
    }
    buf.push_str(text);
}

impl Xl {
    pub fn new(family: Family) -> Xl {
        Xl { rule: String::new(), set: String::new(), comment: None, family, notes: Vec::new() }
    }

    /// The family of the tool doing the translation.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Append to the rule (`xt_xlate_add`).
    pub fn add(&mut self, text: &str) {
        append(&mut self.rule, text, true);
    }

    /// [`Xl::add`] as the successful end of a translation.
    pub fn put(&mut self, text: &str) -> super::XResult {
        self.add(text);
        Ok(())
    }

    /// Append to the rule without the automatic space (`xt_xlate_rule_add_nospc`).
    pub fn add_nospc(&mut self, text: &str) {
        append(&mut self.rule, text, false);
    }

    /// Append to the set declaration (`xt_xlate_set_add`).
    pub fn set_add(&mut self, text: &str) {
        append(&mut self.set, text, true);
    }

    /// Replace the rule comment (the last `-m comment` wins).
    pub fn set_comment(&mut self, quoted: String) {
        self.comment = Some(quoted);
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Record that the translation (kept identical to the real tool's) does not mean what the
    /// iptables rule means.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push((text.into(), None));
    }

    /// Give notes without a place the place of the extension that made them.
    pub fn place_notes(&mut self, span: Span) {
        for n in &mut self.notes {
            n.1.get_or_insert(span);
        }
    }

    pub fn take_notes(&mut self) -> Vec<(String, Option<Span>)> {
        std::mem::take(&mut self.notes)
    }

    /// The rule text without trailing whitespace.
    pub fn rule(&self) -> &str {
        self.rule.trim_end_matches(|c: char| c.is_ascii_whitespace())
    }

    /// The set declaration, if a match made one.
    pub fn set(&self) -> Option<&str> {
        if self.set.is_empty() { None } else { Some(&self.set) }
    }
}

/// `xt_xlate_add(xl, fmt, …)` with Rust formatting.
macro_rules! xadd {
    ($xl:expr, $($arg:tt)*) => { $xl.add(&format!($($arg)*)) };
}
pub(crate) use xadd;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_follows_libxtables() {
        let mut xl = Xl::new(Family::Ipv4);
        xl.add("ip protocol");
        xl.add(" !=");
        xl.add("tcp");
        xl.add("ip saddr 1.2.3.4 ");
        xl.add("counter");
        xl.add(" accept");
        assert_eq!(xl.rule(), "ip protocol != tcp ip saddr 1.2.3.4 counter accept");
        let mut xl = Xl::new(Family::Ipv4);
        xl.add("meta day ");
        xl.add("{");
        xl.add("6");
        xl.add(", ");
        xl.add("0");
        xl.add("}");
        assert_eq!(xl.rule(), "meta day { 6, 0 }");
    }
}
