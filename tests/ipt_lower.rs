//! Lowering iptables into the IR:
//!
//! 1. every save dump (`iptables/save-dumps/`) and every OK rule of iptables' `.t` files
//!    lowers to IR that passes the checker — or is refused with a diagnostic naming a
//!    construct the engines cannot express yet (counted, never silent);
//! 2. the lowered IR agrees with the text translation: the translation (our
//!    `iptables-translate`) is parsed and evaluated by the nft front end and compared with
//!    the lowered IR rule by rule. This is a cheap precursor of `diff`: the matches before
//!    the first action of a rule are compared as a set (their order does not matter), `ip
//!    protocol N` and `meta l4proto N` are the same test, checker-inserted dependencies and
//!    spans, handles and counter values are ignored. A disagreement is either a
//!    representation difference still to normalize or a translation that does not mean what
//!    the iptables rule means (iptables-translate has several; see the report).
//!
//! `IPT_LOWER_VERBOSE=1` prints every refusal and disagreement.

mod common;
#[path = "common/ipt_t.rs"]
mod ipt_t;

use nftvm_compiler::iptables::lower::{lower_ruleset, xt_model};
use nftvm_compiler::iptables::xlate::restore::translate_restore;
use nftvm_compiler::iptables::xlate::{Mode, Translator, family_word};
use nftvm_compiler::iptables::{
    CommandKind, Family, RestoreOptions, Ruleset, load_restore, parse_command_line,
};
use nftvm_compiler::ir;
use nftvm_grammar::{SourceMap, diag::render_all};
use std::fs;

fn verbose() -> bool {
    std::env::var_os("IPT_LOWER_VERBOSE").is_some()
}

/// Remove `span: Span { … }` and `handle: N` from a Debug rendering.
fn scrub(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("span: Span {") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "span: Span {".len()..];
        let mut depth = 1;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    let mut cleaned = String::new();
    for part in out.split("handle: ") {
        if cleaned.is_empty() && !out.starts_with("handle: ") {
            cleaned.push_str(part);
            continue;
        }
        cleaned.push_str(part.trim_start_matches(|c: char| c.is_ascii_digit()));
    }
    cleaned
}

/// Matches that no packet passes, in any of their spellings: `iifname "INVAL/D"` (a name no
/// interface can have), `iifname != *` (a zero-length prefix), `meta l4proto != 0-255`.
fn is_never(m: &ir::Match) -> bool {
    let ifname = matches!(m.left.kind, ir::ExprKind::Meta(ir::MetaKey::IifName | ir::MetaKey::OifName));
    match (&m.right.kind, m.op) {
        (ir::ExprKind::Value(v), ir::MatchOp::Eq) if ifname => {
            v.to_str_lossy().trim_end_matches('\0') == "INVAL/D"
        }
        (ir::ExprKind::Prefix { len: 0, .. }, ir::MatchOp::Ne) => true,
        (ir::ExprKind::Range { low, high }, ir::MatchOp::Ne) => {
            matches!(m.left.kind, ir::ExprKind::Meta(ir::MetaKey::L4proto))
                && low.to_u128() == Some(0)
                && high.to_u128() == Some(255)
        }
        _ => false,
    }
}

/// The layer-4 protocol a match can only pass for (a transport header field, a TCP option,
/// an SCTP chunk, the mobility header).
fn implied_l4proto(m: &ir::Match) -> Option<u128> {
    use nftvm_compiler::proto::Proto;
    let mut found = None;
    m.left.walk(&mut |e| match &e.kind {
        ir::ExprKind::Payload(p) if p.base == ir::PayloadBase::Transport => {
            found = found.or(match p.proto {
                Some(Proto::Tcp) => Some(6),
                Some(Proto::Udp) => Some(17),
                Some(Proto::Udplite) => Some(136),
                Some(Proto::Sctp) => Some(132),
                Some(Proto::Dccp) => Some(33),
                Some(Proto::Icmp) => Some(1),
                Some(Proto::Icmpv6) => Some(58),
                Some(Proto::Esp) => Some(50),
                Some(Proto::Ah) => Some(51),
                Some(Proto::Comp) => Some(108),
                _ => None,
            })
        }
        ir::ExprKind::Exthdr(x) => {
            use nftvm_compiler::proto::exthdr::ExthdrOp;
            found = found.or(match x.op {
                ExthdrOp::TcpOpt => Some(6),
                ExthdrOp::Sctp => Some(132),
                ExthdrOp::Dccp => Some(33),
                ExthdrOp::Ipv6 if x.kind == 135 => Some(135),
                _ => None,
            })
        }
        _ => {}
    });
    found
}

/// `x & b == b` / `x & b != b` with a single bit `b` is the flag test `x b` / `x ! b`.
fn single_bit_flags(m: &mut ir::Match) {
    let ir::ExprKind::Binary { op: ir::BinOp::And, lhs, rhs } = &m.left.kind else { return };
    let (Some(mask), Some(val)) =
        (rhs.as_value().and_then(|v| v.to_u128()), m.right.as_value().and_then(|v| v.to_u128()))
    else {
        return;
    };
    if mask != val || mask.count_ones() != 1 {
        return;
    }
    let op = match m.op {
        ir::MatchOp::Eq => ir::MatchOp::Flags,
        ir::MatchOp::Ne => ir::MatchOp::NoFlags,
        _ => return,
    };
    let left = (**lhs).clone();
    m.right = rhs.as_ref().clone();
    m.left = left;
    m.op = op;
}

/// A rule in comparable form: its leading matches as a sorted, deduplicated list, the rest
/// in order.
fn canonical(rule: &ir::Rule) -> (Vec<String>, Vec<String>, Option<String>) {
    let mut matches: Vec<ir::Match> = Vec::new();
    let mut rest = Vec::new();
    let mut in_matches = true;
    for s in &rule.stmts {
        let mut s = s.clone();
        s.implicit = false;
        if let ir::StmtKind::Counter(c) = &mut s.kind {
            *c = ir::Counter::default();
        }
        if in_matches && let ir::StmtKind::Match(m) = &mut s.kind {
            // `ip protocol N` is `meta l4proto N` for these purposes.
            if let ir::ExprKind::Payload(p) = &m.left.kind
                && p.proto == Some(nftvm_compiler::proto::Proto::Ip)
                && p.field.name == "protocol"
            {
                let l4 = ir::build::meta(ir::MetaKey::L4proto);
                if let Some(n) = m.right.as_value().and_then(|v| v.to_u128())
                    && let Ok(v) = l4.number(n)
                {
                    m.right = v;
                    m.left = l4;
                }
            }
            single_bit_flags(m);
            matches.push(m.clone());
            continue;
        }
        in_matches = false;
        rest.push(scrub(&format!("{:?}", s.kind)));
    }
    // A protocol test another match implies says nothing more.
    let implied: Vec<u128> = matches.iter().filter_map(implied_l4proto).collect();
    let mut texts: Vec<String> = matches
        .iter()
        .filter(|m| {
            !(matches!(m.left.kind, ir::ExprKind::Meta(ir::MetaKey::L4proto))
                && m.op == ir::MatchOp::Eq
                && m.right.as_value().and_then(|v| v.to_u128()).is_some_and(|n| implied.contains(&n)))
        })
        .map(|m| if is_never(m) { "NEVER".to_string() } else { scrub(&format!("{m:?}")) })
        .collect();
    texts.sort();
    texts.dedup();
    (texts, rest, rule.comment.clone())
}

/// Evaluate nft text with the nft front end.
fn eval_nft(text: &str) -> Result<ir::Ruleset, String> {
    let mut sm = SourceMap::new();
    let file =
        nftvm_grammar::nft::parse_str(&mut sm, "translation.nft", text).map_err(|d| render_all(&d, &sm))?;
    nftvm_compiler::eval::load(&file).map_err(|d| render_all(&d, &sm))
}

#[derive(Default, Debug)]
struct Tally {
    rules: usize,
    lowered: usize,
    refused: usize,
    broken: usize,
    compared: usize,
    agree: usize,
    not_translated: usize,
    eval_failed: usize,
    /// Rules that run one of the kernel's xt matches (`-m sctp`, `-m ipv6header` …) or
    /// targets (`-j TCPMSS`, `-j CT --helper` …), as iptables-nft loads them: deliberately
    /// not the translation's nft expressions, so not compared with it (the kernel oracle
    /// checks them instead: `kernel_diff` xt groups) — unless `xt_model` writes the match
    /// out as nft expressions for `diff`, which are then compared in its place.
    xt: usize,
}

/// `rule` with each xt match `xt_model` writes out as nft expressions replaced by them (as
/// `diff` sees it); `None` when another xt match, or an xt target, remains.
fn written_out(rule: &ir::Rule, family: ir::Family) -> Option<ir::Rule> {
    let mut out = rule.clone();
    out.stmts.clear();
    for s in &rule.stmts {
        match &s.kind {
            ir::StmtKind::XtMatch(m) => out.stmts.extend(xt_model::as_nft(m, family)?.ok()?),
            ir::StmtKind::XtTarget(_) => return None,
            _ => out.stmts.push(s.clone()),
        }
    }
    Some(out)
}

/// Compare the rules of two rulesets chain by chain.
fn compare(label: &str, lowered: &ir::Ruleset, evaluated: &ir::Ruleset, t: &mut Tally) {
    for table in &lowered.tables {
        let Some(other) = evaluated.table(table.family, &table.name) else { continue };
        for chain in &table.chains {
            let Some(oc) = other.chain(&chain.name) else { continue };
            if chain.rules.len() != oc.rules.len() {
                if verbose() {
                    println!(
                        "{label}: {} {}: {} lowered rules, {} translated",
                        table.name,
                        chain.name,
                        chain.rules.len(),
                        oc.rules.len()
                    );
                }
                continue;
            }
            for (a, b) in chain.rules.iter().zip(&oc.rules) {
                let Some(a) = written_out(a, table.family) else {
                    t.xt += 1;
                    continue;
                };
                t.compared += 1;
                let (ca, cb) = (canonical(&a), canonical(b));
                if ca == cb {
                    t.agree += 1;
                } else if verbose() {
                    println!(
                        "{label}: {} {}: disagreement\n  lowered:    {ca:?}\n  translated: {cb:?}",
                        table.name, chain.name
                    );
                }
            }
        }
    }
}

/// Lower a typed ruleset; count its rules.
fn lower_counted(label: &str, rs: &Ruleset, sm: &SourceMap, t: &mut Tally) -> ir::Ruleset {
    let total: usize = rs.tables.iter().flat_map(|tb| tb.chains.iter()).map(|c| c.rules.len()).sum();
    let (ir, diags) = lower_ruleset(rs);
    let refused =
        diags.iter().filter(|d| d.is_error() && d.message.starts_with("cannot run this rule")).count();
    let broken =
        diags.iter().filter(|d| d.is_error() && !d.message.starts_with("cannot run this rule")).count();
    t.rules += total;
    t.refused += refused;
    t.broken += broken;
    t.lowered += total - refused.min(total);
    if verbose() && !diags.is_empty() {
        println!("{label}:\n{}", render_all(&diags, sm));
    }
    ir
}

#[test]
fn save_dumps_lower_and_agree_with_the_translation() {
    let mut t = Tally::default();
    for common::PeerFile { path, name } in common::ipt_save_dumps() {
        let family = if name.contains("ip6tables") { Family::Ipv6 } else { Family::Ipv4 };
        let mut sm = SourceMap::new();
        let id = sm.add(name.clone(), fs::read_to_string(&path).expect("dump"));
        let (rs, diags) = load_restore(&sm, id, RestoreOptions { family, counters: false, noflush: false });
        assert!(diags.is_empty(), "{name}: {}", render_all(&diags, &sm));
        let lowered = lower_counted(&name, &rs, &sm, &mut t);
        let xl = translate_restore(&sm, id, family);
        match eval_nft(&xl.text()) {
            Ok(evaluated) => compare(&name, &lowered, &evaluated, &mut t),
            Err(e) => {
                t.eval_failed += 1;
                if verbose() {
                    println!("{name}: the translation does not evaluate:\n{e}");
                }
            }
        }
    }
    println!("ipt_lower dumps: {t:?}");
    assert_eq!(t.broken, 0, "lowered IR failed the checker");
    common::ratchet("ipt_lower_dumps", t.lowered, t.rules);
    common::ratchet("ipt_lower_dumps_agree", t.agree, t.compared);
}

/// `.t` cases: (place, family, table, chain, rule) of every OK line.
fn t_cases() -> Vec<(String, Family, String, String, String)> {
    let mut out = Vec::new();
    for f in ipt_t::t_files() {
        let text = fs::read_to_string(&f.path).unwrap_or_default();
        let cases = ipt_t::cases(&text);
        for &fam in ipt_t::families(&f.name) {
            for case in &cases {
                let fields = &case.fields;
                if case.after_external_setup
                    || fields.get(2).map(|s| s.trim()) != Some("OK")
                    || fields.get(3).is_some()
                {
                    continue;
                }
                let table = case.table.as_deref().unwrap_or("filter");
                for chain in &case.chains {
                    out.push((
                        format!("{}:{}", f.name, case.line),
                        fam,
                        table.to_string(),
                        chain.clone(),
                        fields[0].clone(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn t_ok_rules_lower_and_agree_with_the_translation() {
    let mut t = Tally::default();
    for (place, family, table, chain, rule) in t_cases() {
        let text = format!("{} -t {table} -A {chain} {rule}", family.tool_name());
        let mut sm = SourceMap::new();
        let f = sm.add(place.clone(), text);
        let Ok((_, cmd)) = parse_command_line(&sm, f) else { continue };
        let CommandKind::Append { .. } = &cmd.kind else { continue };
        let mut rs = Ruleset::new(family);
        if rs.apply(&cmd).is_err() {
            continue;
        }
        let label = format!("{place} [{}] -A {chain} {rule}", family.tool_name());
        let lowered = lower_counted(&label, &rs, &sm, &mut t);
        let Some(r) = cmd.rules.first() else { continue };
        let x = match Translator::new(family, Mode::Restore).rule(r) {
            Ok(x) => x,
            Err(_) => {
                t.not_translated += 1;
                continue;
            }
        };
        // The translation in a table with the same base chain.
        let fam = family_word(family);
        let Some(c) = lowered.tables.first().and_then(|tb| tb.chain(&chain)) else { continue };
        let head = match &c.base {
            Some(b) => format!(
                "add chain {fam} {table} {chain} {{ type {} hook {} priority {}; }}\n",
                b.chain_type.name(),
                b.hook.name(),
                b.priority
            ),
            None => format!("add chain {fam} {table} {chain}\n"),
        };
        let set = x.set.as_ref().map(|s| format!("add set {fam} {table} {s}\n")).unwrap_or_default();
        let nft = format!("add table {fam} {table}\n{head}{set}add rule {fam} {table} {chain} {}\n", x.rule);
        match eval_nft(&nft) {
            Ok(evaluated) => compare(&label, &lowered, &evaluated, &mut t),
            Err(e) => {
                t.eval_failed += 1;
                if verbose() {
                    println!("{label}: translation does not evaluate: {}\n{e}", x.rule);
                }
            }
        }
    }
    println!("ipt_lower .t: {t:?}");
    assert_eq!(t.broken, 0, "lowered IR failed the checker");
    common::ratchet("ipt_lower_t", t.lowered, t.rules);
    common::ratchet("ipt_lower_t_agree", t.agree, t.compared);
}

/// Lowering a dump and reading the IR back as iptables rules (as `list --format
/// iptables-save` does for nft rulesets) gives back the dump's canonical rules, where
/// iptables-nft's reading covers the constructs (the rest is counted, not failed).
#[test]
fn save_dumps_round_trip_through_the_ir() {
    let (mut same, mut total) = (0, 0);
    for common::PeerFile { path, name } in common::ipt_save_dumps() {
        let family = if name.contains("ip6tables") { Family::Ipv6 } else { Family::Ipv4 };
        let mut sm = SourceMap::new();
        let id = sm.add(name.clone(), fs::read_to_string(&path).expect("dump"));
        let (rs, _) = load_restore(&sm, id, RestoreOptions { family, counters: false, noflush: false });
        let (lowered, _) = lower_ruleset(&rs);
        let (v4, v6, _) = nftvm_compiler::iptables::from_ir::from_ir(&lowered);
        let back = if family == Family::Ipv4 { v4 } else { v6 };
        let want: Vec<String> = rs.save(Default::default()).lines().map(str::to_string).collect();
        let got: Vec<String> = back.save(Default::default()).lines().map(str::to_string).collect();
        for line in want.iter().filter(|l| l.starts_with("-A ")) {
            total += 1;
            if got.contains(line) {
                same += 1;
            } else if verbose() {
                println!("{name}: not read back: {line}");
            }
        }
    }
    common::ratchet("ipt_lower_roundtrip", same, total);
}
