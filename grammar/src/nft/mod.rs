//! The nft rule language: lexer, grammar, AST.
pub mod actions;
pub mod ast;
pub mod lexer;

#[allow(clippy::all, unused_parens, dead_code, unused_imports, unused_variables)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/nft/grammar.rs"));
}
