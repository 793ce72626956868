//! Running the generated parser: nesting limits, and syntax errors as nft-style diagnostics
//! ("syntax error, unexpected X, expecting Y"), including every error the parser recovered
//! from.

use super::actions::{Ctx, Fragment, MAX_DEPTH};
use super::ast::Command;
use super::grammar;
use super::lexer::{Lexer, Tok};
use crate::diag::Diagnostic;
use crate::span::{FileId, SourceMap, Span};
use lalrpop_util::ParseError;

type Error = ParseError<usize, Tok, std::convert::Infallible>;

/// Parse one loaded file into raw commands (defines and includes not yet expanded).
pub fn parse_commands(sources: &SourceMap, file: FileId) -> (Vec<Command>, Vec<Diagnostic>) {
    let text = sources.file(file).text.as_str();
    if let Some(d) = check_nesting(text, file) {
        return (vec![], vec![d]);
    }
    let mut cx = Ctx::new(text, file);
    let result = grammar::FileParser::new().parse(&mut cx, Lexer::new(text));
    finish(&mut cx, result.map_err(Some)).map_or_else(|d| (vec![], d), |(c, d)| (c, d))
}

/// Parse an included file as the items of a table (`start` = [`Tok::StartTable`]) or chain
/// block ([`Tok::StartChain`]).
pub fn parse_fragment(sources: &SourceMap, file: FileId, start: Tok) -> (Option<Fragment>, Vec<Diagnostic>) {
    let text = sources.file(file).text.as_str();
    if let Some(d) = check_nesting(text, file) {
        return (None, vec![d]);
    }
    let mut cx = Ctx::new(text, file);
    let result = grammar::FragmentParser::new().parse(&mut cx, Lexer::with_start(text, start));
    match finish(&mut cx, result.map_err(Some)) {
        Ok((f, d)) => (Some(f), d),
        Err(d) => (None, d),
    }
}

fn finish<T>(
    cx: &mut Ctx,
    result: Result<T, Option<Error>>,
) -> Result<(T, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = cx.file;
    let text = cx.text;
    let mut diags: Vec<Diagnostic> =
        cx.recovered.drain(..).map(|r| syntax_error(file, text, &r.error)).collect();
    diags.append(&mut cx.errors);
    match result {
        Ok(v) => Ok((v, diags)),
        Err(e) => {
            if let Some(e) = e {
                diags.push(syntax_error(file, text, &e));
            }
            Err(diags)
        }
    }
}

/// Refuse input whose brackets nest deeper than the tree depth limit (later stages recurse).
fn check_nesting(text: &str, file: FileId) -> Option<Diagnostic> {
    let mut depth = 0usize;
    for (l, tok, r) in Lexer::new(text).flatten() {
        match tok {
            Tok::LBrace | Tok::LParen | Tok::LBracket => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Diagnostic::error(
                        Span::new(file, l, r),
                        format!("nesting too deep (limit {MAX_DEPTH})"),
                    ));
                }
            }
            Tok::RBrace | Tok::RParen | Tok::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Render a parse error as nft does: the unexpected token's kind, and the expected ones when
/// there are at most four of them.
fn syntax_error(file: FileId, text: &str, e: &Error) -> Diagnostic {
    let (span, unexpected, expected) = match e {
        ParseError::UnrecognizedToken { token: (l, tok, r), expected } => {
            (Span::new(file, *l, *r), token_name(*tok), expected.as_slice())
        }
        ParseError::ExtraToken { token: (l, tok, r) } => (Span::new(file, *l, *r), token_name(*tok), &[][..]),
        ParseError::UnrecognizedEof { location, expected } => {
            let at = (*location).min(text.len());
            (Span::new(file, at, at), "end of file", expected.as_slice())
        }
        ParseError::InvalidToken { location } => {
            let at = (*location).min(text.len());
            (Span::new(file, at, at + 1), "junk", &[][..])
        }
        ParseError::User { error } => match *error {},
    };
    let names: Vec<&str> = expected
        .iter()
        .map(|s| s.trim_matches('"'))
        .filter(|s| !s.starts_with("START_") && *s != "junk")
        .collect();
    let mut message = format!("syntax error, unexpected {unexpected}");
    if !names.is_empty() && names.len() <= 4 {
        message.push_str(", expecting ");
        message.push_str(&names.join(" or "));
    }
    Diagnostic::error(span, message)
}

/// The name nft-style diagnostics use for a token kind (the grammar's terminal names).
pub fn token_name(tok: Tok) -> &'static str {
    match tok {
        Tok::Newline => "newline",
        Tok::Semi => "';'",
        Tok::LBrace => "'{'",
        Tok::RBrace => "'}'",
        Tok::LParen => "'('",
        Tok::RParen => "')'",
        Tok::LBracket => "'['",
        Tok::RBracket => "']'",
        Tok::Comma => "comma",
        Tok::Dot => "'.'",
        Tok::Colon => "colon",
        Tok::Assign => "'='",
        Tok::EqEq => "'=='",
        Tok::NotEq => "'!='",
        Tok::Lt => "'<'",
        Tok::Gt => "'>'",
        Tok::Le => "'<='",
        Tok::Ge => "'>='",
        Tok::Bang => "'!'",
        Tok::Amp => "'&'",
        Tok::Pipe => "'|'",
        Tok::Caret => "'^'",
        Tok::Shl => "'<<'",
        Tok::Shr => "'>>'",
        Tok::Slash => "'/'",
        Tok::Dash => "'-'",
        Tok::Plus => "'+'",
        Tok::Star => "'*'",
        Tok::Number => "number",
        Tok::Hex => "hex number",
        Tok::Word => "string",
        Tok::Wildcard => "wildcard string",
        Tok::Quoted => "quoted string",
        Tok::Ipv4 => "ipv4 address",
        Tok::Ipv6 => "ipv6 address",
        Tok::Ipv6Bracketed => "bracketed ipv6 address",
        Tok::Mac => "mac address",
        Tok::Classid => "class id",
        Tok::Time => "time",
        Tok::Var => "variable",
        Tok::SetRef => "set reference",
        Tok::RawPayload => "raw payload",
        Tok::Ip => "ip",
        Tok::Ip6 => "ip6",
        Tok::Inet => "inet",
        Tok::Arp => "arp",
        Tok::Bridge => "bridge",
        Tok::Netdev => "netdev",
        Tok::Table => "table",
        Tok::Chain => "chain",
        Tok::Rule => "rule",
        Tok::Set => "set",
        Tok::Map => "map",
        Tok::Vmap => "vmap",
        Tok::Element => "element",
        Tok::Elements => "elements",
        Tok::Flowtable => "flowtable",
        Tok::Include => "include",
        Tok::Define => "define",
        Tok::Redefine => "redefine",
        Tok::Undefine => "undefine",
        Tok::Add => "add",
        Tok::Insert => "insert",
        Tok::Create => "create",
        Tok::Delete => "delete",
        Tok::Destroy => "destroy",
        Tok::Replace => "replace",
        Tok::Flush => "flush",
        Tok::Rename => "rename",
        Tok::Update => "update",
        Tok::Ruleset => "ruleset",
        Tok::Handle => "handle",
        Tok::Position => "position",
        Tok::Index => "index",
        Tok::Comment => "comment",
        Tok::Type => "type",
        Tok::Typeof => "typeof",
        Tok::Hook => "hook",
        Tok::Device => "device",
        Tok::Devices => "devices",
        Tok::Priority => "priority",
        Tok::Policy => "policy",
        Tok::Flags => "flags",
        Tok::Size => "size",
        Tok::Timeout => "timeout",
        Tok::GcInterval => "gc-interval",
        Tok::AutoMerge => "auto-merge",
        Tok::Expires => "expires",
        Tok::Accept => "accept",
        Tok::Drop => "drop",
        Tok::Continue => "continue",
        Tok::Return => "return",
        Tok::Jump => "jump",
        Tok::Goto => "goto",
        Tok::Queue => "queue",
        Tok::Reject => "reject",
        Tok::Counter => "counter",
        Tok::Limit => "limit",
        Tok::Quota => "quota",
        Tok::Log => "log",
        Tok::Notrack => "notrack",
        Tok::Snat => "snat",
        Tok::Dnat => "dnat",
        Tok::Masquerade => "masquerade",
        Tok::Redirect => "redirect",
        Tok::Tproxy => "tproxy",
        Tok::Dup => "dup",
        Tok::Fwd => "fwd",
        Tok::Synproxy => "synproxy",
        Tok::Last => "last",
        Tok::Meter => "meter",
        Tok::Reset => "reset",
        Tok::Xt => "xt",
        Tok::Flow => "flow",
        Tok::Ct => "ct",
        Tok::Fib => "fib",
        Tok::Numgen => "numgen",
        Tok::Jhash => "jhash",
        Tok::Symhash => "symhash",
        Tok::To => "to",
        Tok::With => "with",
        Tok::Over => "over",
        Tok::Until => "until",
        Tok::Used => "used",
        Tok::Burst => "burst",
        Tok::Rate => "rate",
        Tok::Name => "name",
        Tok::Packets => "packets",
        Tok::ByteUnit => "byte unit",
        Tok::Prefix => "prefix",
        Tok::Level => "level",
        Tok::Group => "group",
        Tok::Snaplen => "snaplen",
        Tok::QueueThreshold => "queue-threshold",
        Tok::Num => "num",
        Tok::Bypass => "bypass",
        Tok::Fanout => "fanout",
        Tok::Random => "random",
        Tok::Persistent => "persistent",
        Tok::FullyRandom => "fully-random",
        Tok::Mss => "mss",
        Tok::Wscale => "wscale",
        Tok::Timestamp => "timestamp",
        Tok::SackPerm => "sack-perm",
        Tok::Mod => "mod",
        Tok::Seed => "seed",
        Tok::Offset => "offset",
        Tok::Junk => "junk",
        Tok::StartTable => "START_TABLE",
        Tok::StartChain => "START_CHAIN",
    }
}
