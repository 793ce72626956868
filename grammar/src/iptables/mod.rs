//! The iptables rule language: lexer, grammar, AST. (Being built: see issue 5.)
