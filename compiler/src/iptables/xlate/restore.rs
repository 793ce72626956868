//! A whole iptables-save / iptables-restore file → nft commands, line by line as
//! `iptables-restore-translate` prints them: `add table` for each `*table`, `add chain` with
//! the base chain's type, hook, priority and policy for each built-in chain declaration,
//! `add chain` for each user chain, and each command line translated (untranslatable rules
//! commented out as `# -t TABLE …`).
//!
//! The header and footer comments (`# Translated by … on DATE`) carry a date and are added by
//! the caller. Every output piece keeps the source line it came from, for `--side-by-side`.

use super::{Mode, Translated, Translator, family_word};
use crate::iptables::check::builtin_hook;
use crate::iptables::ext::Hook;
use crate::iptables::parse::ParseOptions;
use crate::iptables::{Family, parse_args};
use nftvm_grammar::iptables::ast::{FileItem, TableLine};
use nftvm_grammar::{Diagnostic, FileId, SourceMap, Span};

/// What one source line became.
#[derive(Clone, Debug, PartialEq)]
pub struct RestoreLine {
    /// The source line (a table header, chain declaration or command).
    pub span: Span,
    /// The nft text for it (zero, one or several lines, each ending in `\n`).
    pub output: String,
    /// False when the line was commented out.
    pub ok: bool,
}

/// A translated file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestoreXlate {
    pub lines: Vec<RestoreLine>,
    /// Errors (lines that do not parse) and warnings (untranslatable constructs, known
    /// differences in meaning).
    pub diagnostics: Vec<Diagnostic>,
}

impl RestoreXlate {
    /// The nft text without header and footer.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| l.output.as_str()).collect()
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The priority `iptables-restore-translate` prints for a built-in chain (`get_hook_prio`).
/// Note that it prints 0 for the security table, whose chains iptables-nft registers at 50.
pub fn xlate_priority(table: &str, chain: &str) -> i32 {
    match table {
        "nat" => match chain {
            "PREROUTING" | "OUTPUT" => -100,
            "INPUT" | "POSTROUTING" => 100,
            _ => 0,
        },
        "mangle" => -150,
        "raw" => -300,
        _ => 0,
    }
}

fn hook_word(h: Hook) -> &'static str {
    match h {
        Hook::Prerouting => "prerouting",
        Hook::Input => "input",
        Hook::Forward => "forward",
        Hook::Output => "output",
        Hook::Postrouting => "postrouting",
    }
}

/// `add chain ip filter INPUT { type filter hook input priority 0; policy accept; }`.
pub fn base_chain_line(family: Family, table: &str, chain: &str, hook: Hook, policy: &str) -> String {
    let ty = if table == "nat" {
        "nat"
    } else if table == "mangle" && chain == "OUTPUT" {
        "route"
    } else {
        "filter"
    };
    let policy = match policy {
        "ACCEPT" => "policy accept; ",
        "DROP" => "policy drop; ",
        _ => "",
    };
    format!(
        "add chain {} {table} {chain} {{ type {ty} hook {} priority {}; {policy}}}\n",
        family_word(family),
        hook_word(hook),
        xlate_priority(table, chain)
    )
}

/// Translate a restore file of `family`.
pub fn translate_restore(sources: &SourceMap, file: FileId, family: Family) -> RestoreXlate {
    let (tree, diags) = nftvm_grammar::iptables::parse_restore(sources, file);
    let mut out = RestoreXlate { diagnostics: diags, ..Default::default() };
    let mut tr = Translator::new(family, Mode::Restore);
    let fam = family_word(family);
    for item in &tree.items {
        let FileItem::Table(section) = item else { continue };
        let table = section.name.text.as_str();
        if crate::iptables::check::builtin_chains(table).is_none() {
            out.diagnostics.push(Diagnostic::error(
                section.name.span,
                format!("table name '{table}' invalid: expecting filter, nat, mangle, raw or security"),
            ));
            continue;
        }
        out.lines.push(RestoreLine {
            span: section.header,
            output: format!("add table {fam} {table}\n"),
            ok: true,
        });
        for line in &section.lines {
            match line {
                TableLine::Comment(_) => {}
                TableLine::Chain(decl) => {
                    let chain = decl.name.text.as_str();
                    let output = match builtin_hook(table, chain) {
                        Some(hook) => {
                            let policy = decl.policy.as_ref().map_or("", |p| p.text.as_str());
                            base_chain_line(family, table, chain, hook, policy)
                        }
                        None => format!("add chain {fam} {table} {chain}\n"),
                    };
                    out.lines.push(RestoreLine { span: decl.span, output, ok: true });
                }
                TableLine::Rule(r) => {
                    let opts = ParseOptions { family, restore_table: Some(table.to_string()) };
                    match parse_args(&r.args, &opts) {
                        Err(d) => out.diagnostics.push(d),
                        Ok(cmd) => {
                            let mut args = vec!["-t".to_string(), table.to_string()];
                            args.extend(r.args.words().iter().map(|w| w.text.clone()));
                            let Translated { text, ok, warnings } = tr.command(&cmd, &args);
                            out.diagnostics.extend(warnings);
                            out.lines.push(RestoreLine { span: r.span, output: text, ok });
                        }
                    }
                }
            }
        }
    }
    out
}

/// `Thu Jun 29 18:03:06 2017` for UNIX seconds (UTC), as `ctime` prints it (without the
/// newline).
pub fn ctime_utc(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86400;
    let rem = secs % 86400;
    let (y, m, d) = nftvm_vm::calendar::civil_from_days(days as i64);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {y}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1).clamp(0, 11) as usize],
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::ctime_utc;

    #[test]
    fn ctime_like_libc() {
        assert_eq!(ctime_utc(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime_utc(1498759386), "Thu Jun 29 18:03:06 2017");
    }
}
