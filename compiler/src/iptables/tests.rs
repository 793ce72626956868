//! Unit tests of the typed model: tricky arguments and canonical forms.

use super::*;
use nftvm_grammar::SourceMap;

/// Parse `iptables … ` (shell quoting) and give the save line of its single rule.
fn save(cmdline: &str) -> Result<String, String> {
    let mut sm = SourceMap::new();
    let f = sm.add("<cmdline>", cmdline);
    let (_, cmd) = parse_command_line(&sm, f).map_err(|d| d.render(&sm))?;
    let CommandKind::Append { chain } = &cmd.kind else { return Err("not -A".into()) };
    let family = Family::of_program(cmdline.split(' ').next().unwrap_or(""));
    let mut out = Vec::new();
    for r in &cmd.rules {
        check::check_rule(r, family, &cmd.table, &chain.text).map_err(|d| d.render(&sm))?;
        out.push(r.save_line(&chain.text, family));
    }
    Ok(out.join("\n"))
}

#[test]
fn basic_rule() {
    assert_eq!(
        save("iptables -A INPUT -p tcp --dport 22 -s 10.1.2.3/8 -j ACCEPT").unwrap(),
        "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT"
    );
}
