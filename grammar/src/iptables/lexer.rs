//! Word lexers for the two quoting conventions iptables input comes in.
//!
//! - [`Quoting::Restore`]: how iptables-restore splits a rule line into arguments. Only blanks
//!   and tabs separate words; `"` opens a quoted part in which `\x` stands for `x`; a closing
//!   `"` ends the word (so `"a"b` is two words, `a"b c"` is one); an unterminated quote runs
//!   to the end of the line; outside quotes `\` and `'` are ordinary characters.
//! - [`Quoting::Shell`]: POSIX shell words, as the `iptables …` command lines of the
//!   translation tests are written (`'…'` literal, `"…"` with `\"` `\\` `\$` `` \` `` escapes,
//!   `\x` outside quotes).
//!
//! Each convention has a logos lexer producing *pieces*; adjacent pieces are then glued into
//! [`Word`]s following the convention's rules.

use super::ast::Word;
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
use logos::Logos;

/// Which quoting convention a text uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    Restore,
    Shell,
}

#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t]+")]
enum RestorePiece {
    #[regex(r#"[^ \t\n"]+"#)]
    Bare,
    /// A double-quoted part; the closing quote is optional (unterminated runs to the end).
    #[regex(r#""([^"\\\n]|\\[^\n])*\\?"?"#)]
    Quoted,
    #[token("\n")]
    Newline,
}

#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(skip r"[ \t\r]+")]
enum ShellPiece {
    #[regex(r#"[^ \t\r\n"'\\]+"#)]
    Bare,
    #[regex(r#""([^"\\]|\\(.|\n))*""#)]
    DoubleQuoted,
    #[regex(r"'[^']*'")]
    SingleQuoted,
    #[regex(r"\\(.|\n)")]
    Escaped,
    #[token("\n")]
    Newline,
}

/// A lexed element of one line: a word, or the end of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lexeme {
    Word(Word),
    Newline(Span),
}

/// Split `text` (which starts at byte `base` of file `file`) into words.
pub fn lex_words(text: &str, base: usize, file: FileId, quoting: Quoting) -> Result<Vec<Lexeme>, Diagnostic> {
    match quoting {
        Quoting::Restore => Ok(lex_restore(text, base, file)),
        Quoting::Shell => lex_shell(text, base, file),
    }
}

/// Word under construction: its unquoted text, raw extent and whether anything was quoted.
struct Builder {
    file: FileId,
    current: Option<(String, usize, usize, bool)>,
    out: Vec<Lexeme>,
}

impl Builder {
    fn new(file: FileId) -> Builder {
        Builder { file, current: None, out: Vec::new() }
    }

    /// Append a piece spanning `start..end`; it continues the current word when adjacent.
    fn piece(&mut self, text: &str, start: usize, end: usize, quoted: bool) {
        match &mut self.current {
            Some((buf, _, wend, q)) if *wend == start => {
                buf.push_str(text);
                *wend = end;
                *q |= quoted;
            }
            _ => {
                self.finish();
                self.current = Some((text.to_string(), start, end, quoted));
            }
        }
    }

    fn finish(&mut self) {
        if let Some((text, start, end, quoted)) = self.current.take() {
            self.out.push(Lexeme::Word(Word { text, span: Span::new(self.file, start, end), quoted }));
        }
    }

    fn newline(&mut self, start: usize) {
        self.finish();
        self.out.push(Lexeme::Newline(Span::new(self.file, start, start + 1)));
    }
}

fn lex_restore(text: &str, base: usize, file: FileId) -> Vec<Lexeme> {
    let mut b = Builder::new(file);
    let mut lexer = RestorePiece::lexer(text);
    while let Some(piece) = lexer.next() {
        let range = lexer.span();
        let (start, end) = (base + range.start, base + range.end);
        let slice = lexer.slice();
        match piece {
            Ok(RestorePiece::Bare) => b.piece(slice, start, end, false),
            Ok(RestorePiece::Quoted) => {
                let (value, closed) = unquote_restore(slice);
                b.piece(&value, start, end, true);
                if closed {
                    // A closing quote ends the parameter even when text follows directly.
                    b.finish();
                }
            }
            Ok(RestorePiece::Newline) => b.newline(start),
            // Every byte is covered by some piece pattern; keep it as text regardless.
            Err(()) => b.piece(slice, start, end, false),
        }
    }
    b.finish();
    b.out
}

/// Contents of a restore-style quoted piece (`"…"`, maybe unterminated), and whether it was
/// closed by a quote.
fn unquote_restore(raw: &str) -> (String, bool) {
    let inner = &raw[1..];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '"' => {
                closed = true;
                break;
            }
            _ => out.push(c),
        }
    }
    (out, closed)
}

fn lex_shell(text: &str, base: usize, file: FileId) -> Result<Vec<Lexeme>, Diagnostic> {
    let mut b = Builder::new(file);
    let mut lexer = ShellPiece::lexer(text);
    while let Some(piece) = lexer.next() {
        let range = lexer.span();
        let (start, end) = (base + range.start, base + range.end);
        let slice = lexer.slice();
        match piece {
            Ok(ShellPiece::Bare) => b.piece(slice, start, end, false),
            Ok(ShellPiece::DoubleQuoted) => b.piece(&unquote_shell_double(slice), start, end, true),
            Ok(ShellPiece::SingleQuoted) => b.piece(&slice[1..slice.len() - 1], start, end, true),
            Ok(ShellPiece::Escaped) => {
                if slice.ends_with('\n') {
                    // Backslash-newline is a line continuation: it joins, adds nothing.
                    b.piece("", start, end, false);
                } else {
                    b.piece(&slice[1..], start, end, true);
                }
            }
            Ok(ShellPiece::Newline) => b.newline(start),
            Err(()) => {
                let what = if slice.starts_with('\'') || slice.starts_with('"') {
                    "unterminated quoted string"
                } else {
                    "unexpected character"
                };
                return Err(Diagnostic::error(Span::new(file, start, text.len() + base), what));
            }
        }
    }
    b.finish();
    Ok(b.out)
}

/// Contents of a shell `"…"` piece: backslash escapes only `$`, `` ` ``, `"`, `\` and newline.
fn unquote_shell_double(raw: &str) -> String {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => {
                    out.extend(chars.next());
                    continue;
                }
                Some('\n') => {
                    chars.next();
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, q: Quoting) -> Vec<(String, bool)> {
        lex_words(text, 0, FileId(0), q)
            .unwrap()
            .into_iter()
            .filter_map(|l| match l {
                Lexeme::Word(w) => Some((w.text, w.quoted)),
                Lexeme::Newline(_) => None,
            })
            .collect()
    }

    fn texts(text: &str, q: Quoting) -> Vec<String> {
        words(text, q).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn restore_quotes_and_escapes() {
        assert_eq!(
            texts(r#"-m comment --comment "a \"b\" c\\d" -j X"#, Quoting::Restore),
            ["-m", "comment", "--comment", r#"a "b" c\d"#, "-j", "X"]
        );
        // A closing quote ends the word; an opening quote inside a word continues it.
        assert_eq!(texts(r#""a"b c"d e""#, Quoting::Restore), ["a", "b", "cd e"]);
        // Single quotes and backslashes outside double quotes are ordinary characters.
        assert_eq!(texts(r"'a b' c\d", Quoting::Restore), ["'a", "b'", r"c\d"]);
        // Empty quoted argument, and an unterminated quote running to the end of the line.
        assert_eq!(words(r#"-c "" x"#, Quoting::Restore)[1], (String::new(), true));
        assert_eq!(texts("--log-prefix \"abc def\n-x", Quoting::Restore), ["--log-prefix", "abc def", "-x"]);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            texts(r#"--comment "A privatized \"IP\" block" -s 'a b'c x\ y"#, Quoting::Shell),
            ["--comment", r#"A privatized "IP" block"#, "-s", "a bc", "x y"]
        );
        assert_eq!(texts(r#""\d\$""#, Quoting::Shell), [r"\d$"]);
        assert!(lex_words("-j 'oops", 0, FileId(0), Quoting::Shell).is_err());
    }

    #[test]
    fn spans_cover_raw_text() {
        let lex = lex_words(r#"ab "c d"e"#, 10, FileId(3), Quoting::Shell).unwrap();
        let spans: Vec<(usize, usize)> = lex
            .iter()
            .filter_map(|l| match l {
                Lexeme::Word(w) => Some((w.span.start as usize, w.span.end as usize)),
                Lexeme::Newline(_) => None,
            })
            .collect();
        assert_eq!(spans, [(10, 12), (13, 19)]);
    }
}
