//! A rule as a typed value: the IP part, the matches in order, and what happens on a match.

use crate::iptables::Family;
use crate::iptables::ip::IpPart;
use crate::iptables::matches::Match;
use crate::iptables::save::SaveBuf;
use crate::iptables::targets::Target;
use nftvm_grammar::Span;

/// A name with the place it was written (chain names, jump targets).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// One `-m NAME options…` (or a protocol match loaded implicitly by `-p tcp --dport …`).
#[derive(Clone, Debug, PartialEq)]
pub struct MatchEntry {
    /// The name iptables-save prints after `-m`.
    pub name: &'static str,
    pub m: Match,
    /// Where the match was named (`-m tcp`), or the first of its options when implicit.
    pub span: Span,
    /// Loaded by `-p PROTO` rather than by `-m`.
    pub implicit: bool,
}

/// The built-in verdicts of `-j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Drop,
    Return,
    Queue,
}

impl Verdict {
    pub fn from_name(name: &str) -> Option<Verdict> {
        Some(match name {
            "ACCEPT" => Verdict::Accept,
            "DROP" => Verdict::Drop,
            "RETURN" => Verdict::Return,
            "QUEUE" => Verdict::Queue,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Return => "RETURN",
            Verdict::Queue => "QUEUE",
        }
    }
}

/// What a rule does when it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Verdict(Verdict, Span),
    /// `-j CHAIN`.
    Jump(Name),
    /// `-g CHAIN`.
    Goto(Name),
    /// `-j TARGET options…`.
    Target {
        name: &'static str,
        t: Target,
        span: Span,
    },
}

/// A rule's counters (`[packets:bytes]` or `-c packets bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// One rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub ip: IpPart,
    pub matches: Vec<MatchEntry>,
    /// `None`: no `-j`/`-g` (the rule only counts).
    pub action: Option<Action>,
    pub counters: Option<Counters>,
    pub span: Span,
}

impl Rule {
    /// The rule's part of an iptables-save line (after `-A CHAIN`), starting with a space
    /// unless empty.
    pub fn save_spec(&self, family: Family) -> String {
        let mut out = SaveBuf::new(family);
        self.ip.save(&mut out);
        for m in &self.matches {
            out.push(" -m ");
            out.push(m.name);
            m.m.ext().save(&mut out);
        }
        match &self.action {
            None => {}
            Some(Action::Verdict(v, _)) => {
                out.push(" -j ");
                out.push(v.name());
            }
            Some(Action::Jump(n)) => {
                out.push(" -j ");
                out.push(&n.text);
            }
            Some(Action::Goto(n)) => {
                out.push(" -g ");
                out.push(&n.text);
            }
            Some(Action::Target { name, t, .. }) => {
                out.push(" -j ");
                out.push(name);
                t.ext().save(&mut out);
            }
        }
        out.out
    }

    /// `-A CHAIN …` as iptables-save prints it (without counters).
    pub fn save_line(&self, chain: &str, family: Family) -> String {
        format!("-A {chain}{}", self.save_spec(family))
    }

    /// The extension target, if the rule has one.
    pub fn target(&self) -> Option<&Target> {
        match &self.action {
            Some(Action::Target { t, .. }) => Some(t),
            _ => None,
        }
    }
}
