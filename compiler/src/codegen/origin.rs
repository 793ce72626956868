//! The way back from bytecode to source: every rule of the program carries a
//! [`SourceId`]; [`Origins`] maps it to the IR rule it came from (table, chain, position,
//! handle, span), so traces and `eval --json` can name `file:line`.

use nftvm_grammar::{SourceMap, Span, span::Location};
use nftvm_vm::SourceId;
use nftvm_vm::keys::Family;

/// Where one rule of the program came from.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleOrigin {
    pub family: Family,
    pub table: String,
    pub chain: String,
    /// Position of the rule in its chain (0-based).
    pub index: usize,
    /// The IR rule's handle.
    pub handle: u64,
    /// The rule's span in the source (`Span::default()` for programmatic IR).
    pub span: Span,
}

/// `SourceId` → [`RuleOrigin`]; ids are dense, in the order rules were lowered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Origins {
    rules: Vec<RuleOrigin>,
}

impl Origins {
    /// Records a rule and returns its id.
    pub(crate) fn push(&mut self, origin: RuleOrigin) -> SourceId {
        self.rules.push(origin);
        SourceId(self.rules.len() as u32 - 1)
    }

    pub fn get(&self, id: SourceId) -> Option<&RuleOrigin> {
        self.rules.get(id.index())
    }

    /// The rule's span, if it has a real one.
    pub fn span(&self, id: SourceId) -> Option<Span> {
        self.get(id).map(|o| o.span).filter(|s| *s != Span::default())
    }

    /// `file:line` of the rule (None for programmatic rules or spans outside `sources`).
    pub fn location(&self, id: SourceId, sources: &SourceMap) -> Option<Location> {
        let span = self.span(id)?;
        let exists = sources.files().any(|(f, _)| f == span.file);
        exists.then(|| sources.location(span))
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &RuleOrigin)> {
        self.rules.iter().enumerate().map(|(i, o)| (SourceId(i as u32), o))
    }
}
