//! `diff` on every iptables save dump of the peer tests against its
//! `iptables-restore-translate` translation (issue 5's acceptance):
//!
//! - a dump and its translation are equivalent — except where the translator comments rules
//!   out (it says so), and then every counterexample must involve such a rule on the dump's
//!   side;
//! - mutated translations (a port changed, accept ↔ drop, a live rule deleted) are checked
//!   against the translation: every counterexample, replayed from its JSON through codegen
//!   and the bytecode interpreter on both sides, must really get different fates; a mutant
//!   found equivalent is spot-checked by replaying a packet that reaches the mutated rule.
//!
//! Rates are ratcheted: mutants caught, counterexamples verified.

mod common;

use common::{load, vmreplay};
use nftvm::compiler::diff::{self, Options, Side};
use nftvm::compiler::iptables::Family;
use nftvm::compiler::ir::{Ruleset, Span};
use nftvm::grammar::SourceMap;

/// Mutants per kind and dump.
const PER_KIND: usize = 8;

#[derive(Default)]
struct Tally {
    mutants: usize,
    caught: usize,
    counterexamples: usize,
    verified: usize,
    spot_checks: usize,
    /// Counterexamples that need a rate limiter over its limit (not replayable).
    unreplayable: usize,
}

fn loc<'a>(a: &'a SourceMap, b: &'a SourceMap) -> impl Fn(Side, Span) -> String + 'a {
    move |side, span| {
        let m = if side == Side::A { a } else { b };
        let l = m.location(span);
        format!("{}:{}", l.file, l.line)
    }
}

/// Replay every counterexample of `a` vs `b` on both; count verified ones.
fn verify(
    a: &Ruleset,
    b: &Ruleset,
    report: &diff::Report,
    l: &dyn Fn(Side, Span) -> String,
    tally: &mut Tally,
    label: &str,
) {
    let (ra, rb) = (vmreplay::Replayer::new(a), vmreplay::Replayer::new(b));
    for c in &report.counterexamples {
        tally.counterexamples += 1;
        let json = diff::report::counterexample_json(c, l);
        let (Some(fa), Some(fb)) = (ra.replay(&json), rb.replay(&json)) else {
            tally.unreplayable += 1;
            continue;
        };
        if fa != fb {
            tally.verified += 1;
        } else {
            eprintln!("{label}: counterexample does not replay: {json}\nA: {fa:?}\nB: {fb:?}");
        }
    }
}

/// Insert ` ct mark set 0x5eed5eed` after the rule's `counter` (None when it has none).
fn marked(line: &str) -> Option<String> {
    let at = line.find(" counter")? + " counter".len();
    Some(format!("{} ct mark set 0x5eed5eed{}", &line[..at], &line[at..]))
}

fn change_dport(line: &str) -> Option<String> {
    let at = line.find(" dport ")? + " dport ".len();
    let end = line[at..].find(' ').map_or(line.len(), |e| at + e);
    let port: u16 = line[at..end].parse().ok()?;
    Some(format!("{}{}{}", &line[..at], port.wrapping_add(1), &line[end..]))
}

fn flip(line: &str) -> Option<String> {
    if let Some(l) = line.strip_suffix(" accept") {
        Some(format!("{l} drop"))
    } else {
        line.strip_suffix(" drop").map(|l| format!("{l} accept"))
    }
}

fn check_dump(path: &std::path::Path, tally: &mut Tally) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("dump").to_string();
    let text = std::fs::read_to_string(path).expect("dump");
    let family = if name.contains("ip6tables") { Family::Ipv6 } else { Family::Ipv4 };
    let (dump, dump_src) = load::iptables(&name, &text, family).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (xlate, warned) = load::translate(&name, &text, family);
    let xname = format!("{name}.nft");
    let (trans, trans_src) =
        load::nft(&xname, &xlate).unwrap_or_else(|e| panic!("{name}: translation: {e}\n{xlate}"));
    let l = loc(&dump_src, &trans_src);

    // The dump against its translation. A dump that runs `-j TCPMSS` loads the kernel's
    // target, which its translation (`tcp option maxseg size set …`) is not, and whose
    // added options and route MTUs diff does not model (nor the translation's `rt mtu`):
    // it cannot decide, and says so.
    match diff::diff(&dump, &trans, &Options { max: 10 }) {
        Err(e)
            if (e.side == Side::A && e.construct.contains("xt target \"TCPMSS\""))
                || (e.side == Side::B && e.construct.contains("tcp option maxseg size set")) =>
        {
            println!("{name}: cannot decide ({}) at {}", e.construct, l(e.side, e.span));
        }
        result => {
            let report = result.unwrap_or_else(|e| panic!("{name}: {e} at {}", l(e.side, e.span)));
            let rendered = diff::report::render_text(&report, &l);
            if warned.is_empty() {
                assert!(report.equivalent(), "{name}: translation differs:\n{rendered}");
            }
            for c in &report.counterexamples {
                let involved =
                    c.sides[0].deciders.iter().any(|d| warned.contains(&dump_src.location(d.span).line));
                assert!(
                    involved,
                    "{name}: a difference not explained by a commented-out rule (lines {warned:?}):\n{rendered}"
                );
            }
            verify(&dump, &trans, &report, &l, tally, &name);
            println!(
                "{name}: {} ({} rules commented out by the translator)",
                if report.equivalent() { "equivalent" } else { "different" },
                warned.len()
            );
        }
    }

    // Mutants of the translation, on live rules.
    let dead: Vec<usize> = diff::explain(&trans, Side::A)
        .unwrap_or_else(|e| panic!("{name}: explain: {e}"))
        .iter()
        .map(|d| trans_src.location(d.span).line)
        .collect();
    let lines: Vec<&str> = xlate.lines().collect();
    let rule_lines: Vec<usize> =
        (0..lines.len()).filter(|i| lines[*i].starts_with("add rule") && !dead.contains(&(i + 1))).collect();
    let mut mutants: Vec<(&str, usize, String)> = Vec::new();
    type Mutation = fn(&str) -> Option<String>;
    let kinds: [(&str, Mutation); 3] =
        [("port", change_dport), ("flip", flip), ("delete", |_| Some(String::new()))];
    for (kind, f) in kinds {
        let all: Vec<(usize, String)> =
            rule_lines.iter().filter_map(|&i| f(lines[i]).map(|m| (i, m))).collect();
        let step = (all.len() / PER_KIND).max(1);
        mutants.extend(all.into_iter().step_by(step).take(PER_KIND).map(|(i, m)| (kind, i, m)));
    }
    for (kind, i, m) in mutants {
        {
            let mut t: Vec<&str> = lines.clone();
            t[i] = &m;
            let mtext = t.join("\n") + "\n";
            let (mutant, msrc) =
                load::nft("mutant.nft", &mtext).unwrap_or_else(|e| panic!("{name}: mutant: {e}"));
            let ml = loc(&trans_src, &msrc);
            let label = format!("{name} {kind} line {}", i + 1);
            let r =
                diff::diff(&trans, &mutant, &Options { max: 3 }).unwrap_or_else(|e| panic!("{label}: {e}"));
            tally.mutants += 1;
            if !r.equivalent() {
                tally.caught += 1;
                verify(&trans, &mutant, &r, &ml, tally, &label);
                continue;
            }
            // Claimed equivalent: replay a packet that reaches the mutated rule on both.
            let Some(mark) = marked(lines[i]) else { continue };
            let mut t: Vec<&str> = lines.clone();
            t[i] = &mark;
            let (probe, psrc) = load::nft("probe.nft", &(t.join("\n") + "\n"))
                .unwrap_or_else(|e| panic!("{label}: probe: {e}"));
            let pl = loc(&trans_src, &psrc);
            let reach =
                diff::diff(&trans, &probe, &Options { max: 3 }).unwrap_or_else(|e| panic!("{label}: {e}"));
            let (rt, rm) = (vmreplay::Replayer::new(&trans), vmreplay::Replayer::new(&mutant));
            for c in &reach.counterexamples {
                let json = diff::report::counterexample_json(c, &pl);
                let (Some(ft), Some(fm)) = (rt.replay(&json), rm.replay(&json)) else { continue };
                tally.spot_checks += 1;
                assert_eq!(ft, fm, "{label}: claimed equivalent, but this packet differs: {json}");
            }
            eprintln!("{label}: equivalent (spot-checked with {} packets)", reach.counterexamples.len());
        }
    }
}

#[test]
fn save_dumps_against_their_translations() {
    let dir = common::shared_dir().join("peer-tests/iptables/save-dumps");
    let mut paths: Vec<_> =
        std::fs::read_dir(&dir).expect("save dumps").filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut tally = Tally::default();
    for p in &paths {
        check_dump(p, &mut tally);
    }
    println!(
        "save dumps: {}/{} mutants caught, {}/{} counterexamples verified by replay ({} need a limiter over its limit), {} spot checks",
        tally.caught,
        tally.mutants,
        tally.verified,
        tally.counterexamples,
        tally.unreplayable,
        tally.spot_checks
    );
    common::ratchet("diff_iptables_caught", tally.caught, tally.mutants);
    common::ratchet("diff_iptables_verified", tally.verified, tally.counterexamples - tally.unreplayable);
}
