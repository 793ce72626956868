//! The nft lexer: source text → tokens, splitting the input the way nft's flex scanner does.
//!
//! Token classes follow nft's `scanner.l`: the longest match wins, and on a tie keywords win
//! over the other classes. That decides the classic ambiguities the same way nft does:
//!
//! - `dead::beef`, `::ffff:1.2.3.4`, `00:0f:54:0c:11:4` are single address tokens, while
//!   `{ 22 : accept }` and `{22:accept}` lex as number, colon, keyword. A `hex:hex` pair (`1:2`,
//!   a tc class id) is one token only when followed by a blank, a colon, a dash, a comma, `}` or
//!   the end; otherwise the lexer backs up to the colon, like flex's trailing context.
//! - a word may contain `.`, `-` and `/` after its first letter (`echo-request`,
//!   `fully-random`, `kbytes/second`), so `80-90` is number, dash, number while `ssh-http` is one
//!   word, and `10/second` is number, slash, word while `10.0.0.0/8` is address, slash, number.
//!   A lone `.` (with blanks around it) is the concatenation operator.
//! - `30s`, `1h2m3s`, `2d`, `30000ms` are time tokens; `@th,16,16` is one raw-payload token;
//!   `[dead::beef]` is one bracketed IPv6 token (used before `:port` in NAT statements).
//! - `#` starts a comment to the end of the line, `\` + newline continues a line, and a newline
//!   is a token (nft's statement separator).
//!
//! A few statement keywords double as values (`ct status snat`, `icmp type redirect`): right
//! after `status`, `type`, `code`, a comparison operator or a comma they are handed out as plain
//! words (see [`Lexer`]).

use logos::Logos;

/// A token kind. Tokens carry no data: the parser reads their text through their span.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\f]+")]
#[logos(skip r"\\\r?\n")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
pub enum Tok {
    #[regex(r"\r?\n")]
    Newline,
    #[token(";")]
    Semi,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(".", priority = 10)]
    Dot,
    #[token(":")]
    Colon,
    #[token("=")]
    Assign,
    #[token("==")]
    #[token("eq")]
    EqEq,
    #[token("!=")]
    #[token("ne")]
    NotEq,
    #[token("<")]
    #[token("lt")]
    Lt,
    #[token(">")]
    #[token("gt")]
    Gt,
    #[token("<=")]
    #[token("le")]
    Le,
    #[token(">=")]
    #[token("ge")]
    Ge,
    #[token("!")]
    #[token("not")]
    Bang,
    #[token("&")]
    #[token("and")]
    Amp,
    #[token("|")]
    #[token("or")]
    Pipe,
    #[token("^")]
    #[token("xor")]
    Caret,
    #[token("<<")]
    #[token("lshift")]
    Shl,
    #[token(">>")]
    #[token("rshift")]
    Shr,
    #[token("/")]
    Slash,
    #[token("-")]
    Dash,
    #[token("+")]
    Plus,
    #[token("*")]
    Star,

    // ---- atoms ----
    #[regex("[0-9]+")]
    Number,
    #[regex("0[xX][0-9a-fA-F]+")]
    Hex,
    #[regex(r"[a-zA-Z_.][a-zA-Z0-9/\-_.]*")]
    #[token("8021q")]
    #[token("8021ad")]
    Word,
    #[regex(r"[a-zA-Z_.][a-zA-Z0-9/\-_.]*\*")]
    Wildcard,
    #[regex(r#""[^"]*""#)]
    Quoted,
    #[regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")]
    Ipv4,
    #[regex(r"([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){6}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::|::[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){6}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::|[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){6}[0-9a-fA-F]{1,4}::|::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){4}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){5}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")]
    Ipv6,
    #[regex(r"\[(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){6}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::|::[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}|::([0-9a-fA-F]{1,4}:){6}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::|[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}::|([0-9a-fA-F]{1,4}:){5}[0-9a-fA-F]{1,4}::[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){6}[0-9a-fA-F]{1,4}::|::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){4}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|::([0-9a-fA-F]{1,4}:){5}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){4}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){1}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){3}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){2}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){2}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4}::([0-9a-fA-F]{1,4}:){1}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|([0-9a-fA-F]{1,4}:){4}[0-9a-fA-F]{1,4}::[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})\]")]
    Ipv6Bracketed,
    #[regex(r"([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}")]
    Mac,
    #[regex(r"[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}")]
    Classid,
    #[regex(r"[0-9]+(d|h|m|s|ms)([0-9]+(h|m|s|ms))*")]
    Time,
    #[regex(r"\$[a-zA-Z_.][a-zA-Z0-9/\-_.]*")]
    Var,
    #[regex(r"@[a-zA-Z_.][a-zA-Z0-9/\-_.]*")]
    SetRef,
    #[regex(r"@[a-zA-Z0-9_]+,[0-9]+,[0-9]+")]
    RawPayload,

    // ---- families ----
    #[token("ip")]
    Ip,
    #[token("ip6")]
    Ip6,
    #[token("inet")]
    Inet,
    #[token("arp")]
    Arp,
    #[token("bridge")]
    Bridge,
    #[token("netdev")]
    Netdev,

    // ---- commands and declarations ----
    #[token("table")]
    Table,
    #[token("chain")]
    Chain,
    #[token("rule")]
    Rule,
    #[token("set")]
    Set,
    #[token("map")]
    Map,
    #[token("vmap")]
    Vmap,
    #[token("element")]
    Element,
    #[token("elements")]
    Elements,
    #[token("flowtable")]
    Flowtable,
    #[token("include")]
    Include,
    #[token("define")]
    Define,
    #[token("redefine")]
    Redefine,
    #[token("undefine")]
    Undefine,
    #[token("add")]
    Add,
    #[token("insert")]
    Insert,
    #[token("create")]
    Create,
    #[token("delete")]
    Delete,
    #[token("destroy")]
    Destroy,
    #[token("replace")]
    Replace,
    #[token("flush")]
    Flush,
    #[token("rename")]
    Rename,
    #[token("update")]
    Update,
    #[token("ruleset")]
    Ruleset,
    #[token("handle")]
    Handle,
    #[token("position")]
    Position,
    #[token("index")]
    Index,
    #[token("comment")]
    Comment,
    #[token("type")]
    Type,
    #[token("typeof")]
    Typeof,
    #[token("hook")]
    Hook,
    #[token("device")]
    Device,
    #[token("devices")]
    Devices,
    #[token("priority")]
    Priority,
    #[token("policy")]
    Policy,
    #[token("flags")]
    Flags,
    #[token("size")]
    Size,
    #[token("timeout")]
    Timeout,
    #[token("gc-interval")]
    GcInterval,
    #[token("auto-merge")]
    AutoMerge,
    #[token("expires")]
    Expires,

    // ---- statements ----
    #[token("accept")]
    Accept,
    #[token("drop")]
    Drop,
    #[token("continue")]
    Continue,
    #[token("return")]
    Return,
    #[token("jump")]
    Jump,
    #[token("goto")]
    Goto,
    #[token("queue")]
    Queue,
    #[token("reject")]
    Reject,
    #[token("counter")]
    Counter,
    #[token("limit")]
    Limit,
    #[token("quota")]
    Quota,
    #[token("log")]
    Log,
    #[token("notrack")]
    Notrack,
    #[token("snat")]
    Snat,
    #[token("dnat")]
    Dnat,
    #[token("masquerade")]
    Masquerade,
    #[token("redirect")]
    Redirect,
    #[token("tproxy")]
    Tproxy,
    #[token("dup")]
    Dup,
    #[token("fwd")]
    Fwd,
    #[token("synproxy")]
    Synproxy,
    #[token("last")]
    Last,
    #[token("meter")]
    Meter,
    #[token("reset")]
    Reset,
    #[token("xt")]
    Xt,
    #[token("flow")]
    Flow,
    #[token("ct")]
    Ct,
    #[token("fib")]
    Fib,
    #[token("numgen")]
    Numgen,
    #[token("jhash")]
    Jhash,
    #[token("symhash")]
    Symhash,

    // ---- statement options ----
    #[token("to")]
    To,
    #[token("with")]
    With,
    #[token("over")]
    Over,
    #[token("until")]
    Until,
    #[token("used")]
    Used,
    #[token("burst")]
    Burst,
    #[token("rate")]
    Rate,
    #[token("name")]
    Name,
    #[token("packets")]
    Packets,
    #[token("bytes")]
    #[token("kbytes")]
    #[token("mbytes")]
    #[token("gbytes")]
    ByteUnit,
    #[token("prefix")]
    Prefix,
    #[token("level")]
    Level,
    #[token("group")]
    Group,
    #[token("snaplen")]
    Snaplen,
    #[token("queue-threshold")]
    QueueThreshold,
    #[token("num")]
    Num,
    #[token("bypass")]
    Bypass,
    #[token("fanout")]
    Fanout,
    #[token("random")]
    Random,
    #[token("persistent")]
    Persistent,
    #[token("fully-random")]
    FullyRandom,
    #[token("mss")]
    #[token("maxseg")]
    Mss,
    #[token("wscale")]
    Wscale,
    #[token("timestamp")]
    Timestamp,
    #[token("sack-perm")]
    #[token("sack-permitted")]
    SackPerm,
    #[token("mod")]
    Mod,
    #[token("seed")]
    Seed,
    #[token("offset")]
    Offset,

    /// Input no token matches (nft's JUNK), including an unterminated `"`.
    Junk,
    /// Marks the start of a file included inside a table block (never produced from text).
    StartTable,
    /// Marks the start of a file included inside a chain block (never produced from text).
    StartChain,
}

/// A token with its byte range in the source text.
pub type Spanned = (usize, Tok, usize);

/// Whether a statement keyword stands where a value is expected and is therefore a plain
/// word: after a comma, a comparison, `|`, `{` or `:` (`ct status expected,snat`,
/// `ct event set new|destroy`, `{ redirect, … }`), and in a few fixed phrases
/// (`ct status snat`, `icmp type redirect`, `reject with tcp reset`, `meta random`).
fn demote_to_word(tok: Tok, prev: Option<Tok>, prev_text: &str) -> bool {
    let keyword_value = matches!(
        tok,
        Tok::Snat
            | Tok::Dnat
            | Tok::Redirect
            | Tok::Masquerade
            | Tok::Last
            | Tok::Reset
            | Tok::Destroy
            | Tok::Random
    );
    // `random` after a comma is a NAT flag, handled by the grammar.
    let keyword_value_after_operator = keyword_value && tok != Tok::Random;
    if !keyword_value {
        return false;
    }
    let after_operator = keyword_value_after_operator
        && matches!(
            prev,
            Some(
                Tok::Comma
                    | Tok::EqEq
                    | Tok::NotEq
                    | Tok::Lt
                    | Tok::Gt
                    | Tok::Le
                    | Tok::Ge
                    | Tok::Bang
                    | Tok::Pipe
                    | Tok::LBrace
                    | Tok::Colon
            )
        );
    let phrase = match (prev, tok) {
        (Some(Tok::Type), Tok::Redirect) => true,
        (Some(Tok::Word), Tok::Snat | Tok::Dnat) => prev_text == "status",
        (Some(Tok::Word), Tok::Reset) => prev_text == "tcp",
        (Some(Tok::Word), Tok::Random) => prev_text == "meta",
        _ => false,
    };
    after_operator || phrase
}

/// `bytes/…`, `kbytes/…`, `mbytes/…`, `gbytes/…`: the length of the unit before the slash.
fn byte_rate_unit_len(word: &str) -> Option<usize> {
    let slash = word.find('/')?;
    matches!(&word[..slash], "bytes" | "kbytes" | "mbytes" | "gbytes").then_some(slash)
}

/// Characters after which a `hex:hex` pair stays one class-id token (flex trailing context).
fn classid_may_end_before(next: Option<u8>) -> bool {
    matches!(next, None | Some(b' ' | b'\t' | b'\n' | b'\r' | b':' | b'-' | b'}' | b','))
}

/// The nft lexer over one source text: an iterator of `(start, token, end)` as the generated
/// parser wants it. It never fails: bytes that start no token become [`Tok::Junk`].
pub struct Lexer<'a> {
    text: &'a str,
    inner: logos::Lexer<'a, Tok>,
    /// Offset of `inner`'s input inside `text` (the lexer restarts after backing up).
    base: usize,
    pending: std::collections::VecDeque<Spanned>,
    prev: Option<Tok>,
    prev_span: (usize, usize),
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            text,
            inner: Tok::lexer(text),
            base: 0,
            pending: Default::default(),
            prev: None,
            prev_span: (0, 0),
        }
    }

    /// A lexer whose first token is `start` (used to parse an included file as the body of a
    /// table or chain block).
    pub fn with_start(text: &'a str, start: Tok) -> Lexer<'a> {
        let mut lexer = Lexer::new(text);
        lexer.pending.push_back((0, start, 0));
        lexer
    }

    fn restart_at(&mut self, offset: usize) {
        self.base = offset;
        self.inner = Tok::lexer(self.text.get(offset..).unwrap_or(""));
    }

    fn raw_next(&mut self) -> Option<Spanned> {
        if let Some(t) = self.pending.pop_front() {
            return Some(t);
        }
        let tok = self.inner.next()?;
        let span = self.inner.span();
        let (start, end) = (span.start + self.base, span.end + self.base);
        let tok = match tok {
            Ok(t) => t,
            Err(()) => Tok::Junk,
        };
        if tok == Tok::Classid && !classid_may_end_before(self.text.as_bytes().get(end).copied()) {
            return Some(self.split_classid(start, end));
        }
        if tok == Tok::Word
            && let Some(unit_len) = byte_rate_unit_len(&self.text[start..end])
        {
            // `kbytes/second`: unit, slash, and the rest lexed afresh.
            let slash = start + unit_len;
            self.pending.push_back((slash, Tok::Slash, slash + 1));
            self.restart_at(slash + 1);
            return Some((start, Tok::ByteUnit, slash));
        }
        Some((start, tok, end))
    }

    /// `ab:cd` not followed by a separator: lex `ab` alone and continue at the colon.
    fn split_classid(&mut self, start: usize, end: usize) -> Spanned {
        let colon = self.text[start..end].find(':').map_or(end, |i| start + i);
        let mut head = Tok::lexer(&self.text[start..colon]);
        while let Some(t) = head.next() {
            let s = head.span();
            self.pending.push_back((start + s.start, t.unwrap_or(Tok::Junk), start + s.end));
        }
        self.restart_at(colon);
        self.pending.pop_front().unwrap_or((start, Tok::Junk, colon))
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<Spanned, std::convert::Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        let (start, mut tok, end) = self.raw_next()?;
        let prev_text = self.text.get(self.prev_span.0..self.prev_span.1).unwrap_or("");
        if demote_to_word(tok, self.prev, prev_text) {
            tok = Tok::Word;
        }
        self.prev = Some(tok);
        self.prev_span = (start, end);
        Some(Ok((start, tok, end)))
    }
}

/// All tokens of a text with their texts (for tests and debugging).
pub fn tokens(text: &str) -> Vec<(Tok, &str)> {
    Lexer::new(text).flatten().map(|(s, t, e)| (t, &text[s..e])).collect()
}

#[cfg(test)]
mod tests {
    use super::Tok::*;
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokens(text).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn ipv6_forms() {
        for a in ["::1", "dead::beef", "::ffff:1.2.3.4", "fe80::1", "::", "1:2:3:4:5:6:7:8", "ff02::1:2"] {
            assert_eq!(tokens(a), vec![(Ipv6, a)], "{a}");
        }
        assert_eq!(
            tokens("1234:1234:1234:1234:1234:1234:1234::"),
            vec![(Ipv6, "1234:1234:1234:1234:1234:1234:1234::")]
        );
        assert_eq!(kinds("[dead::beef]:80"), vec![Ipv6Bracketed, Colon, Number]);
        assert_eq!(
            kinds("[2001:838:35f:1::]-[2001:838:35f:2::]:80-100"),
            vec![Ipv6Bracketed, Dash, Ipv6Bracketed, Colon, Number, Dash, Number]
        );
        assert_eq!(kinds("dead::/64"), vec![Ipv6, Slash, Number]);
    }

    #[test]
    fn macs_and_classids() {
        assert_eq!(tokens("00:0f:54:0c:11:4"), vec![(Mac, "00:0f:54:0c:11:4")]);
        assert_eq!(kinds("1:2 "), vec![Classid]);
        assert_eq!(kinds("{ 22 : accept }"), vec![LBrace, Number, Colon, Accept, RBrace]);
        assert_eq!(kinds("{22:accept}"), vec![LBrace, Number, Colon, Accept, RBrace]);
        assert_eq!(tokens("established:122"), vec![(Word, "established"), (Colon, ":"), (Number, "122")]);
    }

    #[test]
    fn numbers_words_times() {
        assert_eq!(kinds("80-90"), vec![Number, Dash, Number]);
        assert_eq!(kinds("ssh-http"), vec![Word]);
        assert_eq!(kinds("echo-request fully-random"), vec![Word, FullyRandom]);
        assert_eq!(kinds("10/second"), vec![Number, Slash, Word]);
        assert_eq!(
            tokens("1 kbytes/second"),
            vec![(Number, "1"), (ByteUnit, "kbytes"), (Slash, "/"), (Word, "second")]
        );
        assert_eq!(kinds("1025bytes/ second"), vec![Number, ByteUnit, Slash, Word]);
        assert_eq!(kinds("1025bytes / second"), vec![Number, ByteUnit, Slash, Word]);
        assert_eq!(kinds("10.0.0.0/8"), vec![Ipv4, Slash, Number]);
        assert_eq!(kinds("1h2m3s 30s 2d 30000ms 1m-1h"), vec![Time, Time, Time, Time, Time, Dash, Time]);
        assert_eq!(kinds("0x1f 017 8021q"), vec![Hex, Number, Word]);
        assert_eq!(kinds("ip saddr . tcp dport"), vec![Ip, Word, Dot, Word, Word]);
        assert_eq!(kinds("1.2.3.4 . 80"), vec![Ipv4, Dot, Number]);
    }

    #[test]
    fn sigils_strings_comments() {
        assert_eq!(
            kinds("$foo @bar @th,16,16 \"a b\" eth*"),
            vec![Var, SetRef, RawPayload, Quoted, Wildcard]
        );
        assert_eq!(kinds("a # comment\nb"), vec![Word, Newline, Word]);
        assert_eq!(kinds("a \\\nb"), vec![Word, Word]);
        assert_eq!(kinds("\"open"), vec![Junk]);
        assert_eq!(
            kinds("== != <= >= < > eq ne and or xor not"),
            vec![EqEq, NotEq, Le, Ge, Lt, Gt, EqEq, NotEq, Amp, Pipe, Caret, Bang]
        );
    }

    #[test]
    fn keywords_as_values() {
        assert_eq!(kinds("ct status snat"), vec![Ct, Word, Word]);
        assert_eq!(kinds("icmp type redirect accept"), vec![Word, Type, Word, Accept]);
        assert_eq!(kinds("udp dport 53 redirect"), vec![Word, Word, Number, Redirect]);
        assert_eq!(kinds("ct status expected,snat"), vec![Ct, Word, Word, Comma, Word]);
    }
}
