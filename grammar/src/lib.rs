//! nftvm-grammar: source text → syntax trees, for both rule languages nftvm reads.
//!
//! - [`nft`]: the `nft -f` file language (logos lexer + lalrpop grammar → [`nft::ast`]).
//! - [`iptables`]: iptables-save/-restore files and single iptables command lines.
//!
//! The grammars own *structure* only (blocks, statements, expressions, operators, sets,
//! maps). Vocabulary — `tcp dport`, `ct original saddr`, `echo-request`, `ssh` — stays as
//! generic keyword paths and symbols, resolved later by the compiler against its protocol and
//! datatype tables. Every node carries a [`span::Span`]; every error is a [`diag::Diagnostic`].

pub mod diag;
pub mod iptables;
pub mod nft;
pub mod span;

pub use diag::{Diagnostic, Severity};
pub use span::{FileId, SourceMap, Span};
