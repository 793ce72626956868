//! iptables → nft text, byte for byte as `iptables-translate` / `iptables-restore-translate`
//! (iptables 1.8.13, the version of the peer test data) print it.
//!
//! This is a text translation that works directly on the typed rule, the way each iptables
//! extension translates itself (its `xlate` callback): [`buf`] is the output buffer with
//! libxtables' spacing rule, [`rule`] the IP part, counter, action and comment, and one file
//! per extension group turns its typed value into nft words ([`matches`], [`targets`]).
//! It is deliberately independent of the IR lowering ([`crate::iptables::lower`]), so that
//! comparing the two derivations (`nftvm diff FILE translated-FILE`) catches mistakes in
//! either.
//!
//! Where the real tool has no translation it comments the rule out (`# -A INPUT …`); so do
//! we, and every such rule also yields a warning naming the source place and the reason
//! ([`Translated::warnings`]). Where the real tool's translation is known to mean something
//! else than the iptables rule (IPv4 `TOS` becomes `ip6 dscp set`, ip6tables `connlimit`
//! declares an `ipv4_addr` set, …) the output is kept byte-identical and a warning says so.
//!
//! Entry points: [`Translator::command`] (one command line or restore line), [`Translator::rule`]
//! (one typed rule, structured), [`restore::translate_restore`] (a whole iptables-save file).
//!
//! [`matches`]: mod@matches

pub mod buf;
mod conn;
mod header;
mod ipsec;
mod ipv6ext;
mod limit;
mod log;
mod mark;
mod matches;
mod misc;
mod nat;
mod portproto;
pub mod restore;
pub mod rule;
mod targets;

use crate::iptables::parse::{Command, CommandKind};
use crate::iptables::{Family, ip::IpPart, rule::Rule};
use buf::Xl;
use nftvm_grammar::{Diagnostic, Span};

/// Why a rule has no translation (and where, once known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoXlate {
    pub reason: String,
    pub span: Option<Span>,
}

impl NoXlate {
    pub fn new(reason: impl Into<String>) -> NoXlate {
        NoXlate { reason: reason.into(), span: None }
    }

    /// Attach a place unless one is known already.
    pub fn at(mut self, span: Span) -> NoXlate {
        self.span.get_or_insert(span);
        self
    }
}

pub type XResult = Result<(), NoXlate>;

/// What an extension's translation sees besides its own value.
pub struct Cx<'a> {
    pub family: Family,
    /// The rule's IP part (`multiport` prints the protocol of `-p`).
    pub ip: &'a IpPart,
    /// connlimit numbers its sets `connlimit0`, `connlimit1`, … across a whole run.
    pub connlimit_id: &'a mut u32,
}

/// A translated rule: the optional set declaration and the rule, without `add rule …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleXlate {
    /// `connlimit0 { type ipv4_addr; flags dynamic; }` (for `add set <family> <table> …`).
    pub set: Option<String>,
    /// `tcp dport 22 counter accept`.
    pub rule: String,
    /// Known differences in meaning between the iptables rule and this translation.
    pub notes: Vec<(String, Span)>,
}

/// How the output is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `iptables-translate`: `nft '…'` lines.
    CommandLine,
    /// `iptables-restore-translate`: bare nft commands.
    Restore,
}

/// The result of translating one command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Translated {
    /// Exactly what the tool prints (possibly several lines, each ending in `\n`).
    pub text: String,
    /// False when the command (or one of its rules) had no translation.
    pub ok: bool,
    /// Untranslatable constructs and known differences in meaning, with their places.
    pub warnings: Vec<Diagnostic>,
}

/// nft's name of an iptables family.
pub fn family_word(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    }
}

/// Translates commands of one family; keeps the state the real tool keeps across commands.
#[derive(Debug)]
pub struct Translator {
    pub family: Family,
    pub mode: Mode,
    connlimit_id: u32,
}

impl Translator {
    pub fn new(family: Family, mode: Mode) -> Translator {
        Translator { family, mode, connlimit_id: 0 }
    }

    /// Translate one typed rule.
    pub fn rule(&mut self, rule: &Rule) -> Result<RuleXlate, NoXlate> {
        let mut xl = Xl::new(self.family);
        let mut cx = Cx { family: self.family, ip: &rule.ip, connlimit_id: &mut self.connlimit_id };
        rule::xlate_rule(rule, &mut cx, &mut xl).map_err(|e| e.at(rule.span))?;
        let notes = xl.take_notes().into_iter().map(|(n, s)| (n, s.unwrap_or(rule.span))).collect();
        Ok(RuleXlate { set: xl.set().map(str::to_string), rule: xl.rule().to_string(), notes })
    }

    /// Translate one command as `iptables-translate ARGS` (or one restore line) prints it.
    /// `args` are the words of the invocation as the tool echoes them when it comments a
    /// rule out (for restore lines: `-t TABLE` followed by the line's words).
    pub fn command(&mut self, cmd: &Command, args: &[String]) -> Translated {
        let fam = family_word(self.family);
        let table = &cmd.table;
        let restore = self.mode == Mode::Restore;
        let mut out = Translated { ok: true, ..Default::default() };
        let nft = if restore { "" } else { "nft " };
        let simple = |out: &mut Translated, line: String| {
            out.text.push_str(nft);
            out.text.push_str(&line);
            out.text.push('\n');
        };
        match &cmd.kind {
            CommandKind::Append { chain } | CommandKind::Insert { chain, .. } => {
                let (verb, index) = match &cmd.kind {
                    CommandKind::Insert { position, .. } if *position > 1 => ("insert", Some(*position)),
                    CommandKind::Insert { .. } => ("insert", None),
                    _ => ("add", None),
                };
                self.rules(cmd, &chain.text, verb, index, args, &mut out);
            }
            CommandKind::Flush { chain: Some(c) } => {
                simple(&mut out, format!("flush chain {fam} {table} {}", c.text))
            }
            CommandKind::Flush { chain: None } => simple(&mut out, format!("flush table {fam} {table}")),
            CommandKind::List { rules_format: false, .. } => {
                simple(&mut out, format!("list table {fam} {table}"))
            }
            CommandKind::NewChain { chain } => {
                simple(&mut out, format!("add chain {fam} {table} {}", chain.text))
            }
            CommandKind::DeleteChain { chain: Some(c) } => {
                simple(&mut out, format!("delete chain {fam} {table} {}", c.text))
            }
            CommandKind::Ignored => {}
            other => {
                let what = command_name(other);
                out.ok = false;
                out.text.push_str(nft);
                out.text.push_str(&commented(args));
                out.warnings.push(Diagnostic::warning(
                    cmd.span,
                    format!("{what} has no nft translation; the command is commented out"),
                ));
            }
        }
        out
    }

    /// `-A`/`-I`: one `add rule` (or `insert rule`) per rule of the command (several when
    /// `-s`/`-d` list several addresses), framed as `xtables-translate` frames them.
    fn rules(
        &mut self,
        cmd: &Command,
        chain: &str,
        verb: &str,
        index: Option<u32>,
        args: &[String],
        out: &mut Translated,
    ) {
        let fam = family_word(self.family);
        let restore = self.mode == Mode::Restore;
        let (tick, nft) = if restore { ("", "") } else { ("'", "nft ") };
        out.text.push_str(nft);
        let mut last_ok = true;
        // iptables makes one rule per (source, destination) pair, sources outermost, and
        // prints "nft " again after each source's group (except the last).
        let groups = source_groups(&cmd.rules);
        for (gi, group) in groups.iter().enumerate() {
            for rule in group {
                match self.rule(rule) {
                    Ok(x) => {
                        last_ok = true;
                        if let Some(set) = &x.set {
                            out.text.push_str(&format!("{tick}add set {fam} {} {set}{tick}\n", cmd.table));
                            out.text.push_str(nft);
                        }
                        let idx = index.map(|i| format!("index {i} ")).unwrap_or_default();
                        out.text.push_str(&format!(
                            "{tick}{verb} rule {fam} {} {chain} {idx}{}{tick}\n",
                            cmd.table, x.rule
                        ));
                        for (note, span) in x.notes {
                            out.warnings.push(Diagnostic::warning(span, note));
                        }
                    }
                    Err(e) => {
                        last_ok = false;
                        out.ok = false;
                        out.warnings.push(Diagnostic::warning(
                            e.span.unwrap_or(rule.span),
                            format!("{}; the rule is commented out in the translation", e.reason),
                        ));
                    }
                }
            }
            if !restore && gi + 1 < groups.len() {
                out.text.push_str(nft);
            }
        }
        if !last_ok {
            out.text.push_str(&commented(args));
        }
    }
}

/// The rules of a command grouped by source address (iptables' outer loop).
fn source_groups(rules: &[Rule]) -> Vec<Vec<&Rule>> {
    let mut groups: Vec<Vec<&Rule>> = Vec::new();
    for r in rules {
        match groups.last_mut() {
            Some(g) if g.first().is_some_and(|f| f.ip.src == r.ip.src) => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    groups
}

/// `print_ipt_cmd`: `# ` and every argument followed by a space.
pub fn commented(args: &[String]) -> String {
    let mut s = String::from("# ");
    for a in args {
        s.push_str(a);
        s.push(' ');
    }
    s.push('\n');
    s
}

fn command_name(kind: &CommandKind) -> &'static str {
    match kind {
        CommandKind::Append { .. } => "-A",
        CommandKind::Insert { .. } => "-I",
        CommandKind::Delete { .. } | CommandKind::DeleteNum { .. } => "-D (delete rule)",
        CommandKind::Replace { .. } => "-R (replace rule)",
        CommandKind::Check { .. } => "-C (check rule)",
        CommandKind::List { .. } => "-S (list rules)",
        CommandKind::Flush { .. } => "-F",
        CommandKind::Zero { .. } => "-Z (zero counters)",
        CommandKind::NewChain { .. } => "-N",
        CommandKind::DeleteChain { .. } => "-X without a chain name",
        CommandKind::RenameChain { .. } => "-E (rename chain)",
        CommandKind::Policy { .. } => "-P (set policy)",
        CommandKind::Ignored => "an ignored line",
    }
}

#[cfg(test)]
mod tests;
