//! Symbolic names in extension arguments: comma-separated flag lists (`NEW,ESTABLISHED`),
//! with the matching rules iptables uses (`strcasecmp` for whole names, `strncasecmp`
//! prefixes in a few extensions such as conntrack and state).

/// `strncasecmp(token, name, strlen(token)) == 0`: `token` is a case-insensitive prefix of
/// `name` (the empty token matches nothing here; callers reject it first).
pub fn is_ci_prefix(token: &str, name: &str) -> bool {
    !token.is_empty()
        && token.len() <= name.len()
        && name.as_bytes()[..token.len()].eq_ignore_ascii_case(token.as_bytes())
}

/// Parse `a,b,c` against a table of `(name, bit)`; `prefix` enables prefix matching. The
/// first table entry that matches wins, as in iptables' if/else chains.
pub fn parse_flag_list(arg: &str, table: &[(&str, u32)], prefix: bool, what: &str) -> Result<u32, String> {
    let mut mask = 0;
    for token in arg.split(',') {
        let hit = table.iter().find(|(name, _)| {
            if prefix { is_ci_prefix(token, name) } else { token.eq_ignore_ascii_case(name) }
        });
        match hit {
            Some((_, bit)) => mask |= bit,
            None => return Err(format!("Bad {what} \"{token}\": expecting one of {}", names_of(table))),
        }
    }
    Ok(mask)
}

/// `A, B, C` for messages.
pub fn names_of(table: &[(&str, u32)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Names of the set bits in table order, joined by `,` (`NONE`-style fallback left to callers).
pub fn format_flags(mask: u32, table: &[(&str, u32)]) -> String {
    table.iter().filter(|(_, b)| *b != 0 && mask & b == *b).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
}
