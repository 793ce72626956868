//! The token stream the iptables grammar runs on.
//!
//! iptables-restore is line oriented and decides what a line is by its first byte: `#`
//! comment, `*` table header, `:` chain declaration, `COMMIT`, `[` rule counters, anything
//! else an iptables command whose words are split by the restore quoting rules. This module
//! applies that line classification and the word lexer ([`super::lexer`]), and hands the
//! grammar one token per word (option, `!`, or plain word) plus line structure.

use super::ast::Word;
use super::lexer::{Lexeme, Quoting, lex_words};
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};

/// A grammar token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    Newline,
    /// A `#` line (restore files only).
    Comment(Span),
    /// `*name`: the word holds the name, its span the whole header.
    Table(Word),
    /// `:name`: the word holds the chain name.
    Chain(Word),
    Commit,
    /// `[packets:bytes]` before a rule.
    Counters(Word),
    Bang(Word),
    Opt(Word),
    Word(Word),
}

/// `(start, token, end)` as lalrpop expects from an external lexer.
pub type Spanned = (usize, Tok, usize);

fn word_token(w: Word) -> Spanned {
    let (s, e) = (w.span.start as usize, w.span.end as usize);
    let tok = if w.is_bang() {
        Tok::Bang(w)
    } else if w.is_option() {
        Tok::Opt(w)
    } else {
        Tok::Word(w)
    };
    (s, tok, e)
}

fn push_lexemes(out: &mut Vec<Spanned>, lexemes: Vec<Lexeme>) {
    for l in lexemes {
        match l {
            Lexeme::Word(w) => out.push(word_token(w)),
            Lexeme::Newline(sp) => out.push((sp.start as usize, Tok::Newline, sp.end as usize)),
        }
    }
}

/// Tokens of a single command line (shell quoting; newlines are kept as tokens).
pub fn command_line_tokens(text: &str, file: FileId) -> Result<Vec<Spanned>, Diagnostic> {
    let mut out = Vec::new();
    push_lexemes(&mut out, lex_words(text, 0, file, Quoting::Shell)?);
    Ok(out)
}

/// Split a header line's rest at blanks/tabs, as `strtok(…, " \t\n")` does.
fn strtok_words(line: &str, base: usize, file: FileId) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain(std::iter::once((line.len(), ' '))) {
        let sep = c == ' ' || c == '\t';
        match (sep, start) {
            (true, Some(s)) => {
                out.push(Word {
                    text: line[s..i].to_string(),
                    span: Span::new(file, base + s, base + i),
                    quoted: false,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Tokens of an iptables-restore file. Every line ends with a `Newline` token (one is
/// synthesized after a last line without `\n`).
pub fn restore_tokens(text: &str, file: FileId) -> Vec<Spanned> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < text.len() {
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = &text[offset..end];
        restore_line_tokens(line, offset, file, &mut out);
        out.push((end, Tok::Newline, (end + 1).min(text.len().max(end))));
        offset = end + 1;
    }
    out
}

fn restore_line_tokens(line: &str, base: usize, file: FileId, out: &mut Vec<Spanned>) {
    let line_span = Span::new(file, base, base + line.len());
    match line.as_bytes().first() {
        None => {}
        Some(b'#') => out.push((base, Tok::Comment(line_span), base + line.len())),
        Some(b'*') => {
            let name = strtok_words(&line[1..], base + 1, file).into_iter().next().unwrap_or(Word {
                text: String::new(),
                span: Span::new(file, base + 1, base + 1),
                quoted: false,
            });
            out.push((base, Tok::Table(Word { span: line_span, ..name }), base + line.len()));
        }
        Some(b':') => {
            let mut words = strtok_words(&line[1..], base + 1, file).into_iter();
            let name = words.next().unwrap_or(Word {
                text: String::new(),
                span: Span::new(file, base + 1, base + 1),
                quoted: false,
            });
            let (s, e) = (base, name.span.end as usize);
            out.push((s, Tok::Chain(name), e));
            for w in words {
                let (s, e) = (w.span.start as usize, w.span.end as usize);
                out.push((s, Tok::Word(w), e));
            }
        }
        Some(_) if line == "COMMIT" => out.push((base, Tok::Commit, base + line.len())),
        Some(b'[') => {
            // `[packets:bytes]` directly followed by the command (no blank needed).
            let close = line.find(']').map_or(line.len(), |i| i + 1);
            out.push((
                base,
                Tok::Counters(Word {
                    text: line[..close].to_string(),
                    span: Span::new(file, base, base + close),
                    quoted: false,
                }),
                base + close,
            ));
            push_lexemes(
                out,
                lex_words(&line[close..], base + close, file, Quoting::Restore).unwrap_or_default(),
            );
        }
        Some(_) => {
            push_lexemes(out, lex_words(line, base, file, Quoting::Restore).unwrap_or_default());
        }
    }
}
