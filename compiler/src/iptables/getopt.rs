//! A `getopt_long` work-alike over syntax-tree words.
//!
//! iptables parses its arguments with GNU `getopt_long` in "return in order" mode (`-` at the
//! start of the option string) and a long-option table that grows as extensions are loaded.
//! The exact behaviour matters for what is accepted: short options cluster (`-ptcp`,
//! `-fj ACCEPT`), long options may be abbreviated to any unambiguous prefix (`--to` for
//! `--to-source`) and take `--name=value`, a required argument is the next word whatever it
//! looks like (`--sport -1`), optional arguments only attach (`-FINPUT`), non-option words
//! are returned in order, and `--` ends option scanning.

use crate::iptables::ext::ArgKind;
use nftvm_grammar::Span;
use nftvm_grammar::iptables::ast::Word;

/// A long option in the current table; `code` is opaque to the scanner.
#[derive(Clone, Debug)]
pub struct LongOpt<C> {
    pub name: &'static str,
    pub arg: ArgKind,
    pub code: C,
}

/// An option argument: its text and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptArg {
    pub text: String,
    pub span: Span,
    /// Index of the word it came from.
    pub word: usize,
}

/// What one scanning step found.
#[derive(Clone, Debug)]
pub enum Event<C> {
    /// A word that is not an option (getopt's code 1).
    NonOption { word: usize },
    /// A short option from the base option string.
    Short { ch: char, arg: Option<OptArg>, word: usize },
    /// A long option; `name` is the full name it resolved to.
    Long { code: C, name: &'static str, arg: Option<OptArg>, word: usize },
    /// Not a known option (`text` as written, e.g. `--foo` or `-q`).
    Unknown { text: String, word: usize },
    /// An option that needs an argument came last.
    MissingArg { name: String, word: usize },
    /// An abbreviation that fits several options.
    Ambiguous { text: String, candidates: Vec<&'static str>, word: usize },
    /// `--name=value` for an option without argument.
    UnexpectedArg { name: &'static str, word: usize },
    /// End of the words, or `--` (then `optind` points after it).
    Done,
}

/// The scanner state (`optind` and the position inside a short-option cluster).
#[derive(Clone, Debug)]
pub struct Getopt<'w> {
    words: &'w [&'w Word],
    pub optind: usize,
    cluster: Option<(usize, usize)>,
    finished: bool,
}

impl<'w> Getopt<'w> {
    pub fn new(words: &'w [&'w Word]) -> Getopt<'w> {
        Getopt { words, optind: 0, cluster: None, finished: false }
    }

    pub fn words(&self) -> &'w [&'w Word] {
        self.words
    }

    /// Words not yet consumed.
    pub fn remaining(&self) -> &'w [&'w Word] {
        &self.words[self.optind.min(self.words.len())..]
    }

    /// Re-scan from word `index` (after an unknown option made iptables load the protocol
    /// match: `optind--` and retry).
    pub fn rewind_to(&mut self, index: usize) {
        self.optind = index;
        self.cluster = None;
    }

    /// The word `xs_has_arg` would take as an extra argument (next word that does not start
    /// with `-` or `!`), consuming it.
    pub fn take_plain(&mut self) -> Option<usize> {
        let w = self.words.get(self.optind)?;
        if w.text.starts_with('-') || w.text.starts_with('!') {
            return None;
        }
        self.optind += 1;
        Some(self.optind - 1)
    }

    fn whole_word_arg(&mut self) -> Option<OptArg> {
        let w = self.words.get(self.optind)?;
        self.optind += 1;
        Some(OptArg { text: w.text.clone(), span: w.span, word: self.optind - 1 })
    }

    /// One step. `short` gives the argument kind of each short option letter; `long` is the
    /// current long-option table in precedence order.
    pub fn next<C: Clone + PartialEq>(
        &mut self,
        short: &dyn Fn(char) -> Option<ArgKind>,
        long: &[LongOpt<C>],
    ) -> Event<C> {
        if let Some((wi, off)) = self.cluster {
            return self.short_step(wi, off, short);
        }
        if self.finished || self.optind >= self.words.len() {
            return Event::Done;
        }
        let wi = self.optind;
        let text = &self.words[wi].text;
        if text == "--" {
            self.optind += 1;
            self.finished = true;
            return Event::Done;
        }
        if !text.starts_with('-') || text.len() == 1 {
            self.optind += 1;
            return Event::NonOption { word: wi };
        }
        if let Some(body) = text.strip_prefix("--") {
            self.optind += 1;
            return self.long_step(wi, body, long);
        }
        self.short_step(wi, 1, short)
    }

    fn long_step<C: Clone + PartialEq>(&mut self, wi: usize, body: &str, long: &[LongOpt<C>]) -> Event<C> {
        let (name, inline) = match body.find('=') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let found = match long.iter().find(|o| o.name == name) {
            Some(exact) => exact,
            None => {
                let cands: Vec<&LongOpt<C>> = long.iter().filter(|o| o.name.starts_with(name)).collect();
                match cands.first().copied() {
                    None => return Event::Unknown { text: format!("--{name}"), word: wi },
                    Some(first) => {
                        // glibc: prefixes of options with identical meaning are not ambiguous.
                        if cands.iter().any(|o| o.code != first.code || o.arg != first.arg) {
                            let candidates = cands.iter().map(|o| o.name).collect();
                            return Event::Ambiguous { text: format!("--{name}"), candidates, word: wi };
                        }
                        first
                    }
                }
            }
        };
        let w = self.words[wi];
        let inline_arg = inline.map(|v| {
            let start = w.span.start as usize + (w.text.len() - v.len()).min(w.span.len());
            OptArg { text: v.to_string(), span: Span::new(w.span.file, start, w.span.end as usize), word: wi }
        });
        let arg = match found.arg {
            ArgKind::None => {
                if inline.is_some() {
                    return Event::UnexpectedArg { name: found.name, word: wi };
                }
                None
            }
            ArgKind::Optional => inline_arg,
            ArgKind::Required => match inline_arg {
                Some(a) => Some(a),
                None => match self.whole_word_arg() {
                    Some(a) => Some(a),
                    None => return Event::MissingArg { name: format!("--{}", found.name), word: wi },
                },
            },
        };
        Event::Long { code: found.code.clone(), name: found.name, arg, word: wi }
    }

    fn short_step<C>(&mut self, wi: usize, off: usize, short: &dyn Fn(char) -> Option<ArgKind>) -> Event<C> {
        let w = self.words[wi];
        let text = &w.text;
        let Some(ch) = text[off..].chars().next() else {
            self.cluster = None;
            self.optind = wi + 1;
            return Event::Done;
        };
        let next_off = off + ch.len_utf8();
        let rest = &text[next_off..];
        let done_with_word = |s: &mut Getopt<'w>| {
            s.cluster = None;
            s.optind = wi + 1;
        };
        let Some(kind) = short(ch) else {
            if rest.is_empty() {
                done_with_word(self);
            } else {
                self.cluster = Some((wi, next_off));
            }
            return Event::Unknown { text: format!("-{ch}"), word: wi };
        };
        let rest_arg = || {
            let start = (w.span.start as usize + next_off).min(w.span.end as usize);
            OptArg {
                text: rest.to_string(),
                span: Span::new(w.span.file, start, w.span.end as usize),
                word: wi,
            }
        };
        match kind {
            ArgKind::None => {
                if rest.is_empty() {
                    done_with_word(self);
                } else {
                    self.cluster = Some((wi, next_off));
                }
                Event::Short { ch, arg: None, word: wi }
            }
            ArgKind::Optional => {
                let arg = (!rest.is_empty()).then(rest_arg);
                done_with_word(self);
                Event::Short { ch, arg, word: wi }
            }
            ArgKind::Required => {
                done_with_word(self);
                if !rest.is_empty() {
                    return Event::Short { ch, arg: Some(rest_arg()), word: wi };
                }
                match self.whole_word_arg() {
                    Some(a) => Event::Short { ch, arg: Some(a), word: wi },
                    None => Event::MissingArg { name: format!("-{ch}"), word: wi },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nftvm_grammar::FileId;

    fn words(texts: &[&str]) -> Vec<Word> {
        texts
            .iter()
            .map(|t| Word { text: t.to_string(), span: Span::new(FileId(0), 0, t.len()), quoted: false })
            .collect()
    }

    fn short(c: char) -> Option<ArgKind> {
        match c {
            'p' | 'j' | 's' => Some(ArgKind::Required),
            'f' => Some(ArgKind::None),
            'F' => Some(ArgKind::Optional),
            _ => None,
        }
    }

    fn run(texts: &[&str]) -> Vec<String> {
        let ws = words(texts);
        let refs: Vec<&Word> = ws.iter().collect();
        let long = vec![
            LongOpt { name: "to-source", arg: ArgKind::Required, code: 1 },
            LongOpt { name: "to-destination", arg: ArgKind::Required, code: 2 },
            LongOpt { name: "syn", arg: ArgKind::None, code: 3 },
        ];
        let mut g = Getopt::new(&refs);
        let mut out = vec![];
        loop {
            let e = g.next(&short, &long);
            out.push(match e {
                Event::Done => break,
                Event::NonOption { word } => format!("arg:{}", ws[word].text),
                Event::Short { ch, arg, .. } => format!("-{ch}={}", arg.map(|a| a.text).unwrap_or_default()),
                Event::Long { name, arg, .. } => {
                    format!("--{name}={}", arg.map(|a| a.text).unwrap_or_default())
                }
                Event::Unknown { text, .. } => format!("?{text}"),
                Event::MissingArg { name, .. } => format!(":{name}"),
                Event::Ambiguous { text, .. } => format!("ambiguous {text}"),
                Event::UnexpectedArg { name, .. } => format!("noarg {name}"),
            });
        }
        out
    }

    #[test]
    fn getopt_semantics() {
        assert_eq!(run(&["-ptcp", "-fj", "ACCEPT"]), ["-p=tcp", "-f=", "-j=ACCEPT"]);
        assert_eq!(run(&["--to", "1.2.3.4"]), ["ambiguous --to", "arg:1.2.3.4"]);
        assert_eq!(run(&["--to-s=1.2.3.4", "--syn"]), ["--to-source=1.2.3.4", "--syn="]);
        assert_eq!(run(&["-s", "-1", "x", "!"]), ["-s=-1", "arg:x", "arg:!"]);
        assert_eq!(run(&["-F", "-FINPUT"]), ["-F=", "-F=INPUT"]);
        assert_eq!(run(&["--syn=1", "-q", "-p"]), ["noarg syn", "?-q", ":-p"]);
        assert_eq!(run(&["--", "-p"]), Vec::<String>::new());
    }
}
