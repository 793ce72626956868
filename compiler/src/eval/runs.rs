//! Splitting atom runs into selectors and values.
//!
//! The grammar hands statements over as runs of juxtaposed items (see the AST docs): `ip
//! saddr 1.2.3.4 tcp dport` is one run. [`segment`] walks a run with the selector resolver:
//! take the longest selector, then exactly one value item, and repeat. A run may start with
//! a value (the right side of a relation) and may end with a selector that has no value yet
//! (the left side of an explicit relation, a `set` target, a map key).

use crate::proto::selector::{Resolved, Selector, resolve};
use nftvm_grammar::nft::ast::{AtomKind, Item, ItemKind};
use nftvm_grammar::{Diagnostic, Span};

/// A selector read from a run.
#[derive(Clone, Debug)]
pub(super) struct Sel<'a> {
    pub selector: Selector,
    /// The items it was read from (for spans; one item for `fib`, `numgen`, `jhash`).
    pub items: &'a [Item],
    pub span: Span,
}

/// A run, split.
#[derive(Debug, Default)]
pub(super) struct Segments<'a> {
    /// A value before the first selector (only when the caller expects one).
    pub lead: Option<&'a Item>,
    /// Complete `selector value` matches, in order.
    pub pairs: Vec<(Sel<'a>, &'a Item)>,
    /// A selector at the end without a value.
    pub tail: Option<Sel<'a>>,
}

/// The word an atom contributes to a selector path.
fn word(item: &Item) -> Option<String> {
    match &item.kind {
        ItemKind::Atom(a) => match a.kind {
            AtomKind::RawPayload => Some(format!("@{}", a.text)),
            AtomKind::Quoted | AtomKind::SetRef | AtomKind::Asterisk => None,
            _ => Some(a.text.clone()),
        },
        _ => None,
    }
}

/// Resolve the selector starting at `items[0]`.
pub(super) fn selector_at(items: &[Item]) -> Result<Sel<'_>, Diagnostic> {
    let Some(first) = items.first() else {
        return Err(Diagnostic::error(Span::default(), "expected a selector"));
    };
    match &first.kind {
        ItemKind::Fib(fib) => {
            let mut words: Vec<String> = vec!["fib".into()];
            for (i, f) in fib.flags.iter().enumerate() {
                if i > 0 {
                    words.push(".".into());
                }
                words.push(f.text.clone());
            }
            words.push(fib.result.text.clone());
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            return match resolve(&refs) {
                Ok(r) => Ok(Sel { selector: r.selector, items: &items[..1], span: first.span }),
                Err(e) => Err(Diagnostic::error(first.span, e.message)),
            };
        }
        ItemKind::Numgen(n) => {
            return match resolve(&["numgen", &n.mode.text]) {
                Ok(r) => Ok(Sel { selector: r.selector, items: &items[..1], span: first.span }),
                Err(e) => Err(Diagnostic::error(n.mode.span, e.message)),
            };
        }
        ItemKind::Hash(h) => {
            let w = match h.kind {
                nftvm_grammar::nft::ast::HashKind::Jhash => "jhash",
                nftvm_grammar::nft::ast::HashKind::Symhash => "symhash",
            };
            return match resolve(&[w]) {
                Ok(r) => Ok(Sel { selector: r.selector, items: &items[..1], span: first.span }),
                Err(e) => Err(Diagnostic::error(first.span, e.message)),
            };
        }
        _ => {}
    }
    let words: Vec<String> = items.iter().map_while(word).collect();
    if words.is_empty() {
        return Err(Diagnostic::error(first.span, "syntax error, expected a selector"));
    }
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    match resolve(&refs) {
        Ok(Resolved { selector, consumed }) => {
            let consumed = consumed.clamp(1, items.len());
            let span = first.span.to(items[consumed - 1].span);
            Ok(Sel { selector, items: &items[..consumed], span })
        }
        Err(e) => {
            let at = items.get(e.word).or(items.get(words.len().saturating_sub(1))).unwrap_or(first);
            let span = if e.word >= words.len() { first.span.to(at.span) } else { at.span };
            Err(Diagnostic::error(span, e.message))
        }
    }
}

/// Whether the items at the start of a run can be read as a selector.
pub(super) fn starts_selector(items: &[Item]) -> bool {
    match items.first().map(|i| &i.kind) {
        Some(ItemKind::Fib(_) | ItemKind::Numgen(_) | ItemKind::Hash(_)) => true,
        Some(ItemKind::Atom(a)) if matches!(a.kind, AtomKind::Word | AtomKind::RawPayload) => {
            selector_at(items).is_ok()
        }
        _ => false,
    }
}

/// Split a run. With `lead_value`, the first item is a value.
pub(super) fn segment(items: &[Item], lead_value: bool) -> Result<Segments<'_>, Diagnostic> {
    let mut seg = Segments::default();
    let mut i = 0;
    if lead_value {
        seg.lead = items.first();
        i = 1;
    }
    while i < items.len() {
        let sel = selector_at(&items[i..])?;
        let n = sel.items.len();
        match items.get(i + n) {
            Some(value) => {
                seg.pairs.push((sel, value));
                i += n + 1;
            }
            None => {
                seg.tail = Some(sel);
                i += n;
            }
        }
    }
    Ok(seg)
}
