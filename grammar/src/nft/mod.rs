//! The nft rule language: lexer, grammar, AST. (Being built: see issue 2.)
