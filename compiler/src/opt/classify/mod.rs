//! The `classify` pass: long runs of rules whose leading matches test the packet, its
//! metadata or its connection become one classifier ([`nftvm_vm::classify`]) each, and
//! every rule of the run starts with a `classify` expression instead of its tests.
//!
//! 1. [`analyze`] reads each rule's leading tests from its bytecode.
//! 2. Runs are maximal stretches of rules whose tests could be read (or that have none and
//!    always end the chain, like a final `accept`) and whose remaining expressions do not
//!    read registers the tests wrote. A rule may change the packet, its metadata or its
//!    connection and go on (`meta mark set 1`, `ip dscp set cs1`, `jump other`): every rule's
//!    `classify` reads the fields afresh, so the rule after it asks the tree about the packet
//!    as it is then, as its own tests would have. Only the shadowing cuts
//!    ([`effects`]'s `prune`) assume an unchanged packet; a run with such a rule is built
//!    without them.
//! 3. [`layout`] turns the tests into boxes over at most 16 fields (runs needing more are
//!    halved); the tree is built, and [`cost`] compares it with the rule-by-rule walk. A run
//!    whose tree exceeds its budget is halved too.
//! 4. Chosen runs are rewritten: `[ classify __classifyN entry i ]`, then the rule's
//!    remaining expressions (its statements and verdict), with its source id unchanged.
//!
//! [`analyze`]: mod@analyze

pub mod analyze;
pub mod cost;
pub mod layout;

use analyze::{Analysis, Sources, analyze};
use layout::Layout;
use nftvm_vm::classify::effects::{self, RunFlags};
use nftvm_vm::classify::tree::{MAX_ENTRIES, Params, Tree};
use nftvm_vm::classify::{Classifier, Entry, MAX_FIELDS, TreeStats};
use nftvm_vm::expr::classify::Classify;
use nftvm_vm::keys::{Family, Hook};
use nftvm_vm::verify::Check;
use nftvm_vm::{ChainId, ClassifierId, Expr, Program};
use std::collections::{HashMap, HashSet};

/// Shortest run worth a classifier.
pub const MIN_RUN: usize = 4;
/// Total bytes all classifiers of a program may take.
pub const MEMORY_BUDGET: usize = 64 << 20;

/// What the pass decided for one run of rules.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub chain: ChainId,
    /// Chain positions `first .. first + count`.
    pub first: usize,
    pub count: usize,
    /// The classifier's name when the run was classified.
    pub classifier: Option<String>,
    pub fields: usize,
    pub stats: TreeStats,
    /// Bytes the classifier takes.
    pub bytes: usize,
    /// The cost model's estimates (expressions per packet).
    pub linear: f64,
    pub classified: f64,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// One rule as the pass sees it.
struct Candidate {
    analysis: Analysis,
    /// The rule may stand in a run.
    eligible: bool,
}

/// Classifies the runs of every chain of `prog` worth it; returns what it decided.
pub fn run(prog: &mut Program) -> Vec<RunReport> {
    let mut reports = Vec::new();
    let mut budget = MEMORY_BUDGET;
    for ci in 0..prog.chains.len() {
        let chain = ChainId(ci as u32);
        let mut sources = Sources::default();
        let cands = candidates(prog, chain, &mut sources);
        let mut start = 0;
        while start < cands.len() {
            if !cands[start].eligible {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < cands.len() && cands[end].eligible && end - start < MAX_ENTRIES {
                end += 1;
            }
            // Runs that must be split are tried again piece by piece, in chain order (a worklist:
            // a run of unclassifiable rules would otherwise recurse once per rule).
            let mut todo = Vec::new();
            todo.push(start..end);
            while let Some(r) = todo.pop() {
                let pieces =
                    classify_run(prog, chain, &sources, &cands, r.start, r.end, &mut budget, &mut reports);
                todo.extend(pieces.into_iter().rev());
            }
            start = end;
        }
    }
    // Pieces of split runs report after the rules cut out of them: back to chain order.
    reports.sort_by_key(|r| (r.chain.index(), r.first));
    reports
}

/// A chain of the IR: its table's family and name, its name.
pub type ChainKey = (Family, String, String);

/// The IR rules of `rs` (per chain, their positions) that stand in runs of at least
/// [`MIN_RUN`] rules this pass can classify — what [`super::merge`] leaves alone at `-O2`:
/// the classifier takes such a run whole, while a set or verdict map merged out of it would
/// be one rule it cannot take (a lookup of hundreds of intervals, rule after rule). An IR
/// rule that lowers to several rules counts only when every one of them stands in such a run.
pub fn classifiable(rs: &crate::ir::Ruleset) -> HashMap<ChainKey, HashSet<usize>> {
    let mut yes: HashMap<ChainKey, HashSet<usize>> = HashMap::new();
    let mut no: HashSet<(ChainKey, usize)> = HashSet::new();
    let Ok(compiled) = crate::codegen::compile(rs) else { return yes };
    let prog = &compiled.program;
    for (ci, chain) in prog.chains.iter().enumerate() {
        let cands = candidates(prog, ChainId(ci as u32), &mut Sources::default());
        let mut k = 0;
        while k < cands.len() {
            let run = cands[k..].iter().take_while(|c| c.eligible).count().max(1);
            let long = cands[k].eligible && run >= MIN_RUN;
            for rule in chain.rules.get(k..k + run).unwrap_or_default() {
                let Some(o) = compiled.origins.get(rule.source) else { continue };
                let key = (o.family, o.table.clone(), o.chain.clone());
                match long {
                    true => yes.entry(key).or_default().insert(o.index),
                    false => no.insert((key, o.index)),
                };
            }
            k += run;
        }
    }
    for (key, index) in no {
        if let Some(set) = yes.get_mut(&key) {
            set.remove(&index);
        }
    }
    yes
}

/// The network header bytes every packet `chain` sees has: a whole IPv4 (20) or IPv6 (40)
/// header in ip, ip6 and inet tables, which only see packets the IP layer accepted — unless
/// the table has an ingress chain (it sees packets before that), then none.
fn whole_ip_header(prog: &Program, chain: ChainId) -> u32 {
    let Some(table) = prog.chain(chain).map(|c| c.table) else { return 0 };
    let ingress = prog
        .chains
        .iter()
        .any(|c| c.table == table && c.base.as_ref().is_some_and(|b| b.hook == Hook::Ingress));
    match prog.table(table).map(|t| t.family) {
        _ if ingress => 0,
        Some(Family::Ip | Family::Inet) => 20,
        Some(Family::Ip6) => 40,
        _ => 0,
    }
}

fn candidates(prog: &Program, chain: ChainId, sources: &mut Sources) -> Vec<Candidate> {
    let Some(ch) = prog.chain(chain) else { return Vec::new() };
    let family = prog.table(ch.table).map_or(Family::Ip, |t| t.family);
    ch.rules
        .iter()
        .map(|r| {
            let analysis = analyze(prog, r, sources);
            let actions = r.exprs.get(analysis.prefix..).unwrap_or(&[]);
            let mut check = Check::new(prog, family, chain, ch.base.as_ref());
            let self_contained = actions.iter().all(|e| e.check(&mut check).is_ok());
            let has_classify = r.exprs.iter().any(|e| matches!(e, Expr::Classify(_)));
            let tests = analysis.prefix > 0 || effects::ends_chain(actions);
            let eligible = tests && self_contained && !has_classify;
            Candidate { analysis, eligible }
        })
        .collect()
}

/// Tries rules `start..end` of `chain` as one run; the pieces to try instead when it must be
/// split (halved, or cut around a rule that cannot be classified), in chain order.
#[allow(clippy::too_many_arguments)]
fn classify_run(
    prog: &mut Program,
    chain: ChainId,
    sources: &Sources,
    cands: &[Candidate],
    start: usize,
    end: usize,
    budget: &mut usize,
    reports: &mut Vec<RunReport>,
) -> Vec<std::ops::Range<usize>> {
    let count = end - start;
    let mut report = RunReport {
        chain,
        first: start,
        count,
        classifier: None,
        fields: 0,
        stats: TreeStats::default(),
        bytes: 0,
        linear: 0.0,
        classified: 0.0,
        reason: None,
    };
    if count < MIN_RUN {
        report.reason = Some(format!("shorter than {MIN_RUN} rules"));
        reports.push(report);
        return Vec::new();
    }
    let run = &cands[start..end];
    let analyses: Vec<&Analysis> = run.iter().map(|c| &c.analysis).collect();
    let layout = Layout::new(sources, &analyses, whole_ip_header(prog, chain));
    let halves = vec![start..start + count / 2, start + count / 2..end];
    if layout.fields.len() > MAX_FIELDS || layout.recipes.len() > MAX_FIELDS {
        return halves;
    }
    let mut entries = Vec::with_capacity(count);
    let mut unboxed = Vec::new();
    for (k, a) in analyses.iter().enumerate() {
        match layout.boxes(a) {
            Some(boxes) => entries.push(Entry { boxes }),
            None => unboxed.push(start + k),
        }
    }
    if !unboxed.is_empty() {
        // Too many boxes: those rules stay as they are, the run is cut around them.
        let mut pieces = Vec::new();
        let mut from = start;
        for at in unboxed.into_iter().chain([end]) {
            if from < at {
                pieces.push(from..at);
            }
            if at < end {
                let reason = format!("its matches make more than {} boxes", layout::MAX_BOXES);
                reports.push(RunReport { first: at, count: 1, reason: Some(reason), ..report.clone() });
            }
            from = at + 1;
        }
        return pieces;
    }
    let flags = run_flags(prog, chain, run, start);
    let Some(table) = prog.chain(chain).map(|c| c.table) else { return Vec::new() };
    let mut c = Classifier {
        name: format!("__classify{}", prog.classifiers.len()),
        table,
        chain,
        first: start as u32,
        recipes: layout.recipes,
        fields: layout.fields,
        entries,
        tree: Tree::default(),
    };
    let params = Params { max_items: (*budget / 16).min(Params::default().max_items), ..Params::default() };
    c.tree = Tree::build(&c, &flags, &params);
    report.fields = c.fields.len();
    report.stats = c.tree.stats;
    report.bytes = c.heap_bytes();
    let prefixes: Vec<usize> = run.iter().map(|c| c.analysis.prefix).collect();
    report.linear = cost::linear(&prefixes);
    report.classified = cost::classified(&c.tree.stats, c.recipes.len());
    if c.tree.stats.truncated && count >= 2 * MIN_RUN {
        return halves;
    }
    if report.classified >= report.linear {
        report.reason = Some("the rule-by-rule walk is estimated cheaper".into());
        reports.push(report);
        return Vec::new();
    }
    if report.bytes > *budget {
        report.reason = Some("over the memory budget".into());
        reports.push(report);
        return Vec::new();
    }
    *budget -= report.bytes;
    report.classifier = Some(c.name.clone());
    let id = ClassifierId(prog.classifiers.len() as u32);
    if let Some(ch) = prog.chains.get_mut(chain.index()) {
        for (k, cand) in run.iter().enumerate() {
            if let Some(rule) = ch.rules.get_mut(start + k) {
                let rest = rule.exprs.split_off(cand.analysis.prefix.min(rule.exprs.len()));
                rule.exprs = Vec::with_capacity(rest.len() + 1);
                rule.exprs.push(Expr::Classify(Classify { classifier: id, entry: k as u32 }));
                rule.exprs.extend(rest);
            }
        }
    }
    prog.add_classifier(c);
    reports.push(report);
    Vec::new()
}

/// The facts the tree may rely on, from the rules' remaining expressions.
fn run_flags(prog: &Program, chain: ChainId, run: &[Candidate], start: usize) -> RunFlags {
    let rules = prog.chain(chain).map_or(&[][..], |c| c.rules.as_slice());
    let mut flags = RunFlags { ends_chain: Vec::with_capacity(run.len()), prune: true };
    for (k, cand) in run.iter().enumerate() {
        let actions = rules.get(start + k).and_then(|r| r.exprs.get(cand.analysis.prefix..)).unwrap_or(&[]);
        let ends = effects::ends_chain(actions);
        flags.ends_chain.push(ends);
        flags.prune &= ends || effects::is_pure(actions) || k + 1 == run.len();
    }
    flags
}
