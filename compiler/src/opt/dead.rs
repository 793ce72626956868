//! Dead-rule elimination (IR → IR, `-O1`, decided on the rules' bytecode): a rule goes when
//! no packet can make it run —
//!
//! - it follows, in its chain, a rule without tests that always ends the chain
//!   (`accept`, `counter drop`, `goto x`): nothing after it is ever reached;
//! - it is shadowed: every packet its tests accept is taken, earlier in the chain, by rules
//!   that always end the chain once they match, and nothing in between can change the
//!   packet (a rule that may change it and go on — `meta mark set 1`, a `jump` — starts a
//!   new window).
//!
//! A rule that makes the kernel track connections (`ct`, NAT, …) is never dropped: its mere
//! presence turns conntrack on for its family.
//!
//! Shadowing is decided on the same analysis and decision tree as the `classify` pass
//! ([`super::classify`]): the rules of a window become entries of a tree built with
//! shadowing cuts, and an entry that appears in no leaf is shadowed — by one earlier rule,
//! or by several together.

use super::classify::analyze::{Analysis, Sources, analyze};
use super::classify::layout::Layout;
use super::explain::{Explain, NoteKind};
use crate::codegen;
use crate::ir::{Ruleset, Span};
use nftvm_vm::classify::effects::{self, RunFlags};
use nftvm_vm::classify::tree::{Params, Tree};
use nftvm_vm::classify::{Classifier, Entry, Interval};
use nftvm_vm::keys::Family;
use nftvm_vm::verify::Check;
use nftvm_vm::{ChainId, Program, TableId};

/// The shadowing tree is one tree (shadowing across partitions would go unseen) and cuts
/// down to single boxes (a region where one box covers everything
/// is where the boxes after it are cut off); the item budget bounds the work on large
/// windows (a leaf left larger only hides shadowing, never invents it).
const PARAMS: Params =
    Params { leaf_max: 1, max_items: 400_000, partition: false, filters: false, dispatch: false };

/// A dead rule: where it is, why, and the rule that shadows it (when one does alone).
struct Dead {
    family: Family,
    table: String,
    chain: String,
    index: usize,
    span: Span,
    why: String,
    by: Option<Span>,
}

/// Drops dead rules.
pub fn run(rs: &mut Ruleset, explain: &mut Explain) {
    // Codegen errors surface when the optimized ruleset is compiled: nothing to decide here.
    let Ok(compiled) = codegen::compile(rs) else { return };
    let prog = &compiled.program;
    let mut dead: Vec<Dead> = Vec::new();
    for ci in 0..prog.chains.len() {
        for (vm_index, why, by) in dead_in_chain(prog, ChainId(ci as u32)) {
            let Some(rule) = prog.chains[ci].rules.get(vm_index) else { continue };
            // Conntrack runs for a family as soon as any rule of it could use it, reached or
            // not (the kernel's rule): such a rule stays.
            if rule.exprs.iter().any(|e| e.enables_conntrack(prog)) {
                continue;
            }
            let Some(o) = compiled.origins.get(rule.source) else { continue };
            let by =
                by.and_then(|b| prog.chains[ci].rules.get(b)).and_then(|r| compiled.origins.span(r.source));
            dead.push(Dead {
                family: o.family,
                table: o.table.clone(),
                chain: o.chain.clone(),
                index: o.index,
                span: o.span,
                why,
                by,
            });
        }
    }
    dead.sort_by_key(|d| std::cmp::Reverse(d.index));
    for d in &dead {
        let Some(chain) = rs.table_mut(d.family, &d.table).and_then(|t| t.chain_mut(&d.chain)) else {
            continue;
        };
        if d.index < chain.rules.len() {
            chain.rules.remove(d.index);
        }
    }
    dead.reverse();
    for d in dead {
        explain.push(NoteKind::Dead, d.span, d.by, d.why);
    }
}

/// Dead rules of one chain: (index, why, the single rule responsible).
fn dead_in_chain(prog: &Program, chain: ChainId) -> Vec<(usize, String, Option<usize>)> {
    let Some(ch) = prog.chain(chain) else { return Vec::new() };
    let mut out = Vec::new();
    let end = match ch.rules.iter().position(|r| effects::ends_chain(&r.exprs)) {
        Some(k) => {
            for i in k + 1..ch.rules.len() {
                out.push((
                    i,
                    "dropped: unreachable, an earlier rule always ends the chain".to_string(),
                    Some(k),
                ));
            }
            k + 1
        }
        None => ch.rules.len(),
    };
    let family = prog.table(ch.table).map_or(Family::Ip, |t| t.family);
    let mut sources = Sources::default();
    let mut window: Vec<(usize, Analysis, bool)> = Vec::new();
    for (i, r) in ch.rules.iter().enumerate().take(end) {
        let a = analyze(prog, r, &mut sources);
        let actions = r.exprs.get(a.prefix..).unwrap_or(&[]);
        let mut check = Check::new(prog, family, chain, ch.base.as_ref());
        let self_contained = actions.iter().all(|e| e.check(&mut check).is_ok());
        let tests = a.prefix > 0 || effects::ends_chain(actions);
        if !(tests && self_contained) {
            out.extend(shadowed(prog, ch.table, chain, &sources, &window));
            window.clear();
            continue;
        }
        let ends_run = !effects::ends_chain(actions) && !effects::is_pure(actions);
        window.push((i, a, effects::ends_chain(actions)));
        if ends_run {
            out.extend(shadowed(prog, ch.table, chain, &sources, &window));
            window.clear();
        }
    }
    out.extend(shadowed(prog, ch.table, chain, &sources, &window));
    out.sort_by_key(|d| d.0);
    out
}

/// The shadowed rules of a window (rule index, analysis, ends the chain once matched).
fn shadowed(
    _prog: &Program,
    table: TableId,
    chain: ChainId,
    sources: &Sources,
    window: &[(usize, Analysis, bool)],
) -> Vec<(usize, String, Option<usize>)> {
    if window.len() < 2 {
        return Vec::new();
    }
    let analyses: Vec<&Analysis> = window.iter().map(|w| &w.1).collect();
    // (Exact for every packet, a truncated IP header included: no prefix loads merged.)
    let layout = Layout::new(sources, &analyses, 0);
    let mut flags = RunFlags { ends_chain: Vec::new(), prune: true };
    let mut entries = Vec::new();
    for (_, a, ends) in window {
        match layout.boxes(a) {
            Some(boxes) => {
                entries.push(Entry { boxes });
                flags.ends_chain.push(*ends);
            }
            None => {
                // Too complex to describe: may match anything, shadows nothing.
                entries.push(Entry { boxes: vec![vec![Interval::ANY; layout.fields.len()]] });
                flags.ends_chain.push(false);
            }
        }
    }
    let c = Classifier {
        name: String::new(),
        table,
        chain,
        first: 0,
        recipes: layout.recipes,
        fields: layout.fields,
        entries,
        tree: Tree::default(),
    };
    let reachable = nftvm_vm::classify::build::reachable(&c, &flags, &PARAMS);
    let mut out = Vec::new();
    for (k, live) in reachable.iter().enumerate() {
        if *live {
            continue;
        }
        let Some((index, _, _)) = window.get(k) else { continue };
        let Some(entry) = c.entries.get(k) else { continue };
        if entry.boxes.is_empty() {
            out.push((*index, "dropped: can never match".to_string(), None));
            continue;
        }
        let by = (0..k).find(|&i| {
            flags.ends_chain.get(i).copied().unwrap_or(false)
                && c.entries.get(i).is_some_and(|e| covers(&e.boxes, &entry.boxes))
        });
        let why = match by {
            Some(_) => "dropped: shadowed by an earlier rule that ends the chain",
            None => "dropped: shadowed by earlier rules that end the chain, together",
        };
        out.push((*index, why.to_string(), by.and_then(|i| window.get(i)).map(|w| w.0)));
    }
    out
}

/// Does the union `a` include every box of `b` (each inside one box of `a`)?
fn covers(a: &[Vec<Interval>], b: &[Vec<Interval>]) -> bool {
    b.iter().all(|bb| a.iter().any(|ab| ab.iter().zip(bb).all(|(x, y)| x.covers(*y))))
}
