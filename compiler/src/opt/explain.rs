//! What the optimizer did and why, rule by rule, for `nftvm compile --explain`.

use super::classify::RunReport;
use crate::codegen::Origins;
use crate::ir::Span;
use nftvm_grammar::SourceMap;
use nftvm_vm::Program;
use std::fmt::Write;

/// The kind of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// Tests folded inside one rule.
    Folded,
    /// The rule was dropped: it can never match, or no packet reaches it.
    Dead,
    /// The rule was merged into the rule at `into` (the first of its group).
    Merged,
    /// A run of rules became a classifier (or was considered and left alone).
    Classified,
}

/// One decision about a rule (or a run of rules from `span` to `last`).
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub kind: NoteKind,
    pub span: Span,
    /// The last rule of a run.
    pub last: Option<Span>,
    /// Another rule the decision refers to (the shadowing rule, the merged rule).
    pub other: Option<Span>,
    pub text: String,
}

/// Every decision, in the order the passes made them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explain {
    pub notes: Vec<Note>,
}

impl Explain {
    pub fn push(&mut self, kind: NoteKind, span: Span, other: Option<Span>, text: impl Into<String>) {
        self.notes.push(Note { kind, span, last: None, other, text: text.into() });
    }

    pub fn count(&self, kind: NoteKind) -> usize {
        self.notes.iter().filter(|n| n.kind == kind).count()
    }

    /// Records the classify pass's decisions.
    pub fn classified(&mut self, p: &Program, origins: &Origins, reports: Vec<RunReport>) {
        for r in reports {
            let span_of = |i: usize| {
                p.chain(r.chain)
                    .and_then(|c| c.rules.get(i))
                    .and_then(|rule| origins.get(rule.source))
                    .map_or(Span::default(), |o| o.span)
            };
            let text = match &r.classifier {
                Some(name) => format!(
                    "{} rules classified by {name}: decision tree on {} fields, {} parts ({} with a filter, {} per-key trees, {} final answers), {} nodes in {} wide nodes and {} leaves of {} boxes, depth {} (max {}), {} KiB ({} KiB read by queries); cost model: {:.1} expressions per packet instead of {:.1}",
                    r.count,
                    r.fields,
                    r.stats.parts,
                    r.stats.filters,
                    r.stats.buckets,
                    r.stats.finals,
                    r.stats.nodes,
                    r.stats.wides,
                    r.stats.leaves,
                    r.stats.items,
                    r.stats.depth_sum / r.stats.leaves.max(1),
                    r.stats.max_depth,
                    r.bytes.div_ceil(1024),
                    r.stats.query_bytes.div_ceil(1024),
                    r.classified,
                    r.linear
                ),
                None => format!(
                    "{} {} left rule by rule: {}",
                    r.count,
                    if r.count == 1 { "rule" } else { "rules" },
                    r.reason.as_deref().unwrap_or("not worth a classifier")
                ),
            };
            self.notes.push(Note {
                kind: NoteKind::Classified,
                span: span_of(r.first),
                last: Some(span_of(r.first + r.count.saturating_sub(1))),
                other: None,
                text,
            });
        }
    }

    /// One line per decision: `file:line: text` (`file:line-line` for runs).
    pub fn render(&self, sources: &SourceMap) -> String {
        let loc = |s: Span| -> String {
            if s == Span::default() || !sources.files().any(|(f, _)| f == s.file) {
                return "?".into();
            }
            sources.location(s).to_string()
        };
        let line = |s: Span| -> String {
            if s == Span::default() || !sources.files().any(|(f, _)| f == s.file) {
                return "?".into();
            }
            sources.location(s).line.to_string()
        };
        let mut o = String::new();
        for n in &self.notes {
            let mut at = loc(n.span);
            if let Some(l) = n.last.filter(|l| *l != n.span) {
                let _ = write!(at, "-{}", line(l));
            }
            let _ = write!(o, "{at}: {}", n.text);
            if let Some(other) = n.other {
                let _ = write!(o, " ({})", loc(other));
            }
            o.push('\n');
        }
        o
    }
}
