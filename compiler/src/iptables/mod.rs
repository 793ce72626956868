//! iptables rules as a typed, validated, canonical model.
//!
//! The grammar crate gives words; this module gives them meaning the way iptables does:
//!
//! - [`parse`]: one invocation (`-A INPUT -p tcp --dport 22 -j ACCEPT`) → [`Command`], with
//!   iptables' getopt behaviour ([`getopt`]), implicit protocol matches, `!` handling and all
//!   rule-level checks.
//! - [`ext`]: the extension framework (option tables, generic checks); [`matches`] and
//!   [`targets`]: one file per extension, each turning its arguments into typed values
//!   ([`values`]: addresses with masks, port ranges, flag sets, …) and printing them back.
//! - [`rule`]: a rule (IP part [`ip`], matches, action) and its canonical iptables-save line.
//! - [`ruleset`]: iptables-restore semantics over whole files (tables, chains, policies,
//!   counters, -A/-I/-D/-R/-N/-X/-F/-Z/-E/-P) and the iptables-save printer.
//! - [`check`]: load-time checks — what the kernel refuses (a match in the wrong hook or
//!   table, `-m tcp` without `-p tcp`, …).
//!
//! Entry points: [`parse_command_line`], [`parse_args`], [`load_restore`],
//! [`ruleset::Ruleset::save`], [`check::check_rule`].
//!
//! [`matches`]: mod@matches

pub mod check;
pub mod ext;
pub mod from_ir;
pub mod getopt;
pub mod ip;
pub mod lower;
pub mod matches;
pub mod parse;
pub mod rule;
pub mod ruleset;
pub mod save;
pub mod targets;
pub mod values;
pub mod xlate;

pub use parse::{Command, CommandKind, ParseOptions};
pub use rule::{Action, Counters, MatchEntry, Name, Rule, Verdict};
pub use ruleset::{Ruleset, SaveOptions};

use nftvm_grammar::iptables::ast::{Args, CommandLine};
use nftvm_grammar::{Diagnostic, FileId, SourceMap};

/// The address family of an iptables tool: `iptables` or `ip6tables`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// Address width in bits.
    pub fn addr_bits(self) -> u8 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }

    /// `iptables` / `ip6tables`.
    pub fn tool_name(self) -> &'static str {
        match self {
            Family::Ipv4 => "iptables",
            Family::Ipv6 => "ip6tables",
        }
    }

    /// `IPv4` / `IPv6`.
    pub fn addr_name(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        }
    }

    /// The family a program name stands for (`ip6tables`, `ip6tables-translate`,
    /// `ip6tables-restore` … are IPv6; everything else IPv4).
    pub fn of_program(program: &str) -> Family {
        let base = program.rsplit('/').next().unwrap_or(program);
        if base.starts_with("ip6tables") { Family::Ipv6 } else { Family::Ipv4 }
    }
}

/// Parse the argument list of one invocation.
pub fn parse_args(args: &Args, opts: &ParseOptions) -> Result<Command, Diagnostic> {
    parse::parse_words(&args.words(), args.span, opts)
}

/// Parse a command line such as `iptables-translate -t nat -A POSTROUTING -j MASQUERADE`
/// (the program name picks the family) into its syntax tree and typed command.
pub fn parse_command_line(sources: &SourceMap, file: FileId) -> Result<(CommandLine, Command), Diagnostic> {
    let cl = nftvm_grammar::iptables::parse_command_line(sources, file)?;
    let family = Family::of_program(&cl.program.text);
    let cmd = parse_args(&cl.args, &ParseOptions { family, restore_table: None })?;
    Ok((cl, cmd))
}

/// Parse an already split argument vector (as a CLI receives it: `iptables-translate -A
/// INPUT …` without the program name). The arguments are registered in `sources` as one
/// line under `name` (shell-quoted where needed) so diagnostics can point into it.
pub fn parse_argv(
    sources: &mut SourceMap,
    name: &str,
    family: Family,
    args: &[String],
) -> Result<(FileId, Command), Diagnostic> {
    use nftvm_grammar::Span;
    use nftvm_grammar::iptables::ast::Word;
    let mut text = String::new();
    let mut spans = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let start = text.len();
        text.push_str(&shell_quote(a));
        spans.push((start, text.len()));
    }
    let file = sources.add(name, text.clone());
    let words: Vec<Word> = args
        .iter()
        .zip(&spans)
        .map(|(a, &(s, e))| Word { text: a.clone(), span: Span::new(file, s, e), quoted: false })
        .collect();
    let refs: Vec<&Word> = words.iter().collect();
    let cmd = parse::parse_words(
        &refs,
        Span::new(file, 0, text.len()),
        &ParseOptions { family, restore_table: None },
    )?;
    Ok((file, cmd))
}

/// A word as a shell would need it written (for echoing argument vectors).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:,=+@%".contains(&b));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

/// How a restore file is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreOptions {
    pub family: Family,
    /// Keep the counters of the file (`iptables-restore -c`); otherwise they are zeroed.
    pub counters: bool,
    /// Do not flush the tables the file names (`iptables-restore --noflush`).
    pub noflush: bool,
}

/// Load an iptables-save / iptables-restore file with iptables-restore semantics. All
/// diagnostics are returned (one per bad line); the ruleset holds everything that loaded.
pub fn load_restore(sources: &SourceMap, file: FileId, opts: RestoreOptions) -> (Ruleset, Vec<Diagnostic>) {
    load_restore_with(sources, file, opts, Default::default())
}

/// [`load_restore`] on a machine that has `ipsets` (what `-m set` may name).
pub fn load_restore_with(
    sources: &SourceMap,
    file: FileId,
    opts: RestoreOptions,
    ipsets: std::sync::Arc<crate::ipset::Ipsets>,
) -> (Ruleset, Vec<Diagnostic>) {
    let (tree, mut diags) = nftvm_grammar::iptables::parse_restore(sources, file);
    let mut rs = Ruleset::new(opts.family);
    rs.ipsets = ipsets;
    rs.restore_counters = opts.counters;
    rs.noflush = opts.noflush;
    diags.extend(rs.restore(&tree));
    (rs, diags)
}

/// The family of an iptables-save text when nothing else says: IPv6 when its first line is
/// `# Generated by ip6tables-save`.
pub fn detect_family(text: &str) -> Family {
    if text.lines().next().is_some_and(|l| l.starts_with("# Generated by ip6tables-save")) {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

#[cfg(test)]
mod tests;
