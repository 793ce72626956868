//! Diagnostics in nft's format.
//!
//! ```text
//! rules.nft:3:22-25: Error: unknown chain hook "inptu", expecting one of ...
//!     type filter hook inptu priority 0;
//!                      ^^^^^
//! ```
//!
//! The first line is `file:line:col-col: Error: message` (columns 1-based, end inclusive, as
//! nft prints them); then the source line; then a marker line with `^` under the primary span
//! and `~` under secondary spans on the same line. Tabs in the source line are kept in the
//! marker line so the carets line up in a terminal. Every stage reports through this type, and
//! a load collects all diagnostics rather than stopping at the first.

use crate::span::{SourceMap, Span};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    pub message: String,
    /// Related places, underlined with `~` when they sit on the primary span's line.
    pub secondary: Vec<Span>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, span, message: message.into(), secondary: vec![] }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, span, message: message.into(), secondary: vec![] }
    }

    pub fn with_secondary(mut self, span: Span) -> Diagnostic {
        self.secondary.push(span);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render as nft does: header line, source line, marker line.
    pub fn render(&self, sources: &SourceMap) -> String {
        let file = sources.file(self.span.file);
        let start = file.line_col(self.span.start);
        let last = self.span.end.max(self.span.start + 1) - 1;
        let end = file.line_col(last.min(file.text.len().saturating_sub(1) as u32).max(self.span.start));
        let end_col =
            if end.line == start.line { end.col } else { file.line_text(start.line).len().max(start.col) };
        let kind = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}:{}:{}-{}: {}: {}",
            file.name, start.line, start.col, end_col, kind, self.message
        );
        let line = file.line_text(start.line);
        out.push_str(line);
        out.push('\n');
        // Marker line: `~` for secondary spans on this line, `^` for the primary one.
        let mut marks: Vec<u8> = line.bytes().map(|b| if b == b'\t' { b'\t' } else { b' ' }).collect();
        let mut paint = |span: Span, ch: u8| {
            if span.file != self.span.file {
                return;
            }
            let s = file.line_col(span.start);
            if s.line != start.line {
                return;
            }
            let width = span.len().max(1);
            for i in 0..width {
                let idx = s.col - 1 + i;
                if idx >= marks.len() {
                    marks.resize(idx + 1, b' ');
                }
                if marks[idx] != b'^' {
                    marks[idx] = ch;
                }
            }
        };
        for &s in &self.secondary {
            paint(s, b'~');
        }
        paint(self.span, b'^');
        let marks = String::from_utf8(marks).unwrap_or_default();
        out.push_str(marks.trim_end_matches([' ', '\t']));
        out.push('\n');
        out
    }
}

/// Render a list of diagnostics, one after another, in source order.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| (d.span.file, d.span.start));
    sorted.iter().map(|d| d.render(sources)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_nft() {
        let mut sm = SourceMap::new();
        let f = sm.add("<cmdline>", "add rule ip test input ip hdrlength 22\n");
        let d = Diagnostic::error(Span::new(f, 36, 38), "Value 22 exceeds valid range 0-15")
            .with_secondary(Span::new(f, 23, 35));
        assert_eq!(
            d.render(&sm),
            "<cmdline>:1:37-38: Error: Value 22 exceeds valid range 0-15\n\
             add rule ip test input ip hdrlength 22\n\
             \x20                      ~~~~~~~~~~~~ ^^\n"
        );
    }

    #[test]
    fn keeps_tabs_in_marker_line() {
        let mut sm = SourceMap::new();
        let f = sm.add("r.nft", "table ip t {\n\tchain c {\n\t\tfoo\n");
        let d = Diagnostic::error(Span::new(f, 26, 29), "syntax error");
        assert_eq!(d.render(&sm), "r.nft:3:3-5: Error: syntax error\n\t\tfoo\n\t\t^^^\n");
    }
}
