//! The iptables rule languages: iptables-save / iptables-restore files and single
//! `iptables` / `ip6tables` command lines.
//!
//! - [`lexer`]: the two quoting conventions (iptables-restore's and the shell's) as logos
//!   lexers that produce words.
//! - [`tokens`]: restore files are line oriented; this classifies lines (`#`, `*table`,
//!   `:chain`, `COMMIT`, `[counters]`, commands) and turns words into grammar tokens.
//! - `parser.lalrpop`: the structure (table sections, chain declarations, commands as
//!   generic option lists), with error recovery per line.
//! - [`ast`]: the syntax tree. Options and their arguments stay generic words; the compiler
//!   gives them meaning with its extension tables (`nftvm_compiler::iptables`).
//!
//! Entry points: [`parse_restore`] and [`parse_command_line`].

pub mod ast;
pub mod lexer;
pub mod tokens;

#[allow(clippy::all, unused_parens, dead_code)]
mod parser {
    lalrpop_util::lalrpop_mod!(pub generated, "/iptables/parser.rs");
}

use crate::diag::Diagnostic;
use crate::span::{FileId, SourceMap, Span};
use ast::{CommandLine, RestoreFile};
use lalrpop_util::{ErrorRecovery, ParseError};
use tokens::Tok;

/// Parse an iptables-save / iptables-restore file. Every malformed line is reported (the
/// parser recovers at the end of the line); the tree holds everything that parsed.
pub fn parse_restore(sources: &SourceMap, file: FileId) -> (RestoreFile, Vec<Diagnostic>) {
    let text = &sources.file(file).text;
    let toks = tokens::restore_tokens(text, file);
    let eof = text.len();
    let mut recovered = Vec::new();
    let result = parser::generated::RestoreFileParser::new().parse(file, &mut recovered, toks);
    let mut diags: Vec<Diagnostic> =
        recovered.into_iter().map(|e: ErrorRecovery<usize, Tok, ()>| convert(e.error, file, eof)).collect();
    match result {
        Ok(tree) => (tree, diags),
        Err(e) => {
            diags.push(convert(e, file, eof));
            (RestoreFile::default(), diags)
        }
    }
}

/// Parse one command line such as `iptables -t nat -A POSTROUTING -j MASQUERADE`
/// (shell quoting). The first word is the program name.
pub fn parse_command_line(sources: &SourceMap, file: FileId) -> Result<CommandLine, Diagnostic> {
    let text = &sources.file(file).text;
    let toks = tokens::command_line_tokens(text, file)?;
    if toks.iter().all(|(_, t, _)| *t == Tok::Newline) {
        return Err(Diagnostic::error(
            Span::new(file, 0, text.len()),
            "empty command line, expecting a program name",
        ));
    }
    let mut recovered = Vec::new();
    parser::generated::CommandLineParser::new()
        .parse(file, &mut recovered, toks)
        .map_err(|e| convert(e, file, text.len()))
}

/// How a token is named in messages.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Newline => "end of line".into(),
        Tok::Comment(_) => "comment".into(),
        Tok::Table(w) => format!("table header \"*{}\"", w.text),
        Tok::Chain(w) => format!("chain declaration \":{}\"", w.text),
        Tok::Commit => "COMMIT".into(),
        Tok::Counters(w) => format!("counters \"{}\"", w.text),
        Tok::Bang(_) => "\"!\"".into(),
        Tok::Opt(w) | Tok::Word(w) => format!("\"{}\"", w.text),
    }
}

fn describe_expected(expected: &[String]) -> String {
    let mut names: Vec<&str> = expected
        .iter()
        .map(|e| match e.trim_matches('"') {
            "newline" => "end of line",
            "comment" => "comment",
            "table" => "table header (*table)",
            "chain" => "chain declaration (:CHAIN POLICY [packets:bytes])",
            "COMMIT" => "COMMIT",
            "counters" => "[packets:bytes]",
            "!" => "\"!\"",
            "option" => "option",
            "word" => "word",
            other => other,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

fn convert(e: ParseError<usize, Tok, ()>, file: FileId, eof: usize) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken { token: (l, tok, r), expected } => {
            let msg = match &tok {
                Tok::Table(_) if expected.iter().any(|x| x.contains("COMMIT")) => {
                    "syntax error, COMMIT expected before a new table section".to_string()
                }
                Tok::Commit
                | Tok::Chain(_)
                | Tok::Counters(_)
                | Tok::Opt(_)
                | Tok::Word(_)
                | Tok::Bang(_)
                    if expected.iter().any(|x| x.contains("table")) =>
                {
                    format!(
                        "syntax error, unexpected {} outside a table section, expecting *table",
                        describe(&tok)
                    )
                }
                _ => format!(
                    "syntax error, unexpected {}, expecting {}",
                    describe(&tok),
                    describe_expected(&expected)
                ),
            };
            // Point at the token; a newline token gets the position just before it.
            let span = if tok == Tok::Newline {
                Span::new(file, l.saturating_sub(1), l)
            } else {
                Span::new(file, l, r)
            };
            Diagnostic::error(span, msg)
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let msg = if expected.iter().any(|x| x.contains("COMMIT")) {
                "syntax error, COMMIT expected at end of input".to_string()
            } else {
                format!("syntax error, unexpected end of input, expecting {}", describe_expected(&expected))
            };
            let at = location.min(eof);
            Diagnostic::error(Span::new(file, at.saturating_sub(1), at), msg)
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error(Span::new(file, l, r), format!("syntax error, unexpected {}", describe(&tok)))
        }
        ParseError::InvalidToken { location } => {
            Diagnostic::error(Span::new(file, location, location + 1), "syntax error, invalid token")
        }
        ParseError::User { .. } => Diagnostic::error(Span::new(file, 0, 0), "syntax error"),
    }
}

#[cfg(test)]
mod tests;
