//! The nft rule language (`nft -f` files): lexer, grammar, syntax tree.
//!
//! ```
//! use nftvm_grammar::{nft, SourceMap};
//! let mut sources = SourceMap::new();
//! let file = nft::parse_str(&mut sources, "rules.nft", "table ip t { chain c { tcp dport 22 accept } }")
//!     .expect("parses");
//! assert_eq!(file.commands.len(), 1);
//! ```
//!
//! - [`lexer`]: logos tokens, splitting text the way nft's scanner does.
//! - `grammar.lalrpop`: the structure of files, blocks, rules, statements and expressions.
//! - [`ast`]: the tree the compiler reads — start there.
//! - [`expand`]: `include`, `define` and `$var` resolution.
//!
//! Errors come back as [`Diagnostic`]s in nft's format; the parser recovers at the next line
//! or statement separator, so one call reports every syntax error of a file.

pub mod actions;
pub mod ast;
pub mod expand;
pub mod lexer;
mod parser;

#[allow(clippy::all, unused_parens, dead_code, unused_imports, unused_variables, unused_mut)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/nft/grammar.rs"));
}

pub use actions::MAX_DEPTH;
pub use parser::token_name;

use crate::diag::Diagnostic;
use crate::span::{FileId, SourceMap};
use std::path::Path;

/// Parse `text` (named `name` in diagnostics) into a self-contained tree: includes are
/// resolved relative to `name`'s directory, defines and variables are expanded. On failure,
/// every error found (syntax errors after recovery, undefined variables, missing includes).
pub fn parse_str(sources: &mut SourceMap, name: &str, text: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let file = sources.add(name, text);
    parse_file(sources, file)
}

/// Read and parse a file (see [`parse_str`]). An unreadable file is a diagnostic too.
pub fn load_file(sources: &mut SourceMap, path: &Path) -> Result<ast::File, Vec<Diagnostic>> {
    let name = path.to_string_lossy().into_owned();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(sources, &name, &text),
        Err(e) => {
            let file = sources.add(name.clone(), "");
            Err(vec![Diagnostic::error(
                crate::span::Span::new(file, 0, 0),
                format!("Could not open file \"{name}\": {e}"),
            )])
        }
    }
}

/// Parse a file already in `sources` (see [`parse_str`]).
pub fn parse_file(sources: &mut SourceMap, file: FileId) -> Result<ast::File, Vec<Diagnostic>> {
    let (commands, mut diags) = parser::parse_commands(sources, file);
    let mut expander = expand::Expander::new(sources);
    let commands = expander.commands(commands);
    diags.append(&mut expander.diags);
    if diags.iter().any(Diagnostic::is_error) {
        diags.sort_by_key(|d| (d.span.file, d.span.start));
        return Err(diags);
    }
    Ok(ast::File { commands })
}
