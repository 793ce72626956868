//! What `diff` answers: counterexample packets with each side's fate and deciding rules, and
//! for `--explain` the rules that can never match. Rendering (text and JSON) takes a function
//! that turns a span of either ruleset into `file:line`, so the library stays free of files.

use super::error::Side;
use super::program::Effect;
use super::state::{Decider, FinalVerdict};
use super::storage::Point;
use super::witness::FieldValue;
use nftvm_grammar::Span;
use serde_json::{Value as Json, json};

/// What one ruleset does with the counterexample packet.
#[derive(Clone, Debug, PartialEq)]
pub struct SideOutcome {
    pub verdict: FinalVerdict,
    /// Rules (and policies) whose verdict applied, in order.
    pub deciders: Vec<Decider>,
    pub effects: Vec<Effect>,
    /// Written fields after the hook, as `(name, value)`.
    pub writes: Vec<(String, String)>,
}

/// A packet the two rulesets treat differently.
#[derive(Clone, Debug, PartialEq)]
pub struct Counterexample {
    pub point: Point,
    /// The packet: every field either ruleset reads at this point.
    pub fields: Vec<FieldValue>,
    /// The packet's headers as bytes, with the bits the rules read marked.
    pub headers: Vec<super::witness::Header>,
    pub sides: [SideOutcome; 2],
    /// What differs: `verdict`, `effects`, or a written field.
    pub what: String,
}

/// Counters of the search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub points: usize,
    pub slots: usize,
    pub nodes: u64,
    pub leaves: u64,
    pub pruned: u64,
}

/// The answer of [`super::diff`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub counterexamples: Vec<Counterexample>,
    pub stats: Stats,
}

impl Report {
    pub fn equivalent(&self) -> bool {
        self.counterexamples.is_empty()
    }
}

/// Why a rule never matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadReason {
    /// No base chain reaches its chain.
    Unreachable,
    /// Its own conditions contradict each other (or the packet context).
    NeverTrue,
    /// Packets it would match are decided earlier, by these rules (or policies).
    Shadowed(Vec<Decider>),
}

/// A rule that can never match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadRule {
    pub side: Side,
    pub span: Span,
    pub table: String,
    pub chain: String,
    pub reason: DeadReason,
}

/// The text of a verdict.
pub fn verdict_text(v: &FinalVerdict) -> String {
    match v {
        FinalVerdict::Accept => "accept".into(),
        FinalVerdict::Drop => "drop".into(),
        FinalVerdict::Reject(r) => match r.with {
            0 => "reject with tcp reset".into(),
            4 => format!("reject with icmp code {}", r.code),
            6 => format!("reject with icmpv6 code {}", r.code),
            _ => format!("reject code {}", r.code),
        },
        FinalVerdict::Queue(q) => {
            let num =
                if q.num.is_point() { format!("{}", q.num.lo) } else { format!("{}-{}", q.num.lo, q.num.hi) };
            let mut t = format!("queue to {num}");
            if q.bypass {
                t.push_str(" bypass");
            }
            if q.fanout {
                t.push_str(" fanout");
            }
            t
        }
        FinalVerdict::Stolen(s) => s.clone(),
    }
}

/// The text of an effect.
pub fn effect_text(e: &Effect) -> String {
    match e {
        Effect::Nat { kind, family, addr, port, flags } => {
            let name = match kind {
                0 => "snat",
                1 => "dnat",
                2 => "masquerade",
                _ => "redirect",
            };
            let one = |v: u128| match family {
                2 if v <= u128::from(u32::MAX) => std::net::Ipv4Addr::from(v as u32).to_string(),
                10 => std::net::Ipv6Addr::from(v).to_string(),
                _ => format!("{v:#x}"),
            };
            let iv = |i: &super::interval::Interval| {
                if i.is_point() { one(i.lo) } else { format!("{}-{}", one(i.lo), one(i.hi)) }
            };
            let mut t = name.to_string();
            if let Some(a) = addr {
                t.push_str(&format!(" to {}", iv(a)));
            }
            if let Some(p) = port {
                t.push_str(&format!(
                    " port {}",
                    if p.is_point() { format!("{}", p.lo) } else { format!("{}-{}", p.lo, p.hi) }
                ));
            }
            if *flags != 0 {
                t.push_str(&format!(" flags {flags:#x}"));
            }
            t
        }
        Effect::Notrack => "notrack".into(),
        Effect::Object { ty, name } => format!("{ty} set \"{name}\""),
        Effect::Other(s) => s.clone(),
    }
}

/// Render counterexamples as text; `loc(side, span)` gives `file:line`.
pub fn render_text(report: &Report, loc: &dyn Fn(Side, Span) -> String) -> String {
    let mut out = String::new();
    for (i, c) in report.counterexamples.iter().enumerate() {
        out.push_str(&format!("counterexample {} ({} differs): {}\n", i + 1, c.what, c.point));
        let packet: Vec<String> =
            c.fields.iter().filter(|f| f.shown).map(|f| format!("{} {}", f.name, f.text)).collect();
        out.push_str(&format!("  packet: {}\n", packet.join(", ")));
        for (k, s) in c.sides.iter().enumerate() {
            let side = Side::from_index(k);
            let label = if k == 0 { "A" } else { "B" };
            let rules: Vec<String> = s
                .deciders
                .iter()
                .map(|d| match d.rule {
                    Some(_) => loc(side, d.span),
                    None => format!("{} (policy)", loc(side, d.span)),
                })
                .collect();
            let rules = if rules.is_empty() { "no rule".to_string() } else { rules.join(", ") };
            let mut line = format!("  {label}: {} by {rules}", verdict_text(&s.verdict));
            for e in &s.effects {
                line.push_str(&format!("; {}", effect_text(e)));
            }
            for (n, v) in &s.writes {
                line.push_str(&format!("; {n} {v}"));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn side_json(s: &SideOutcome, side: Side, loc: &dyn Fn(Side, Span) -> String) -> Json {
    let rules: Vec<Json> =
        s.deciders.iter().map(|d| json!({ "at": loc(side, d.span), "policy": d.rule.is_none() })).collect();
    let writes: serde_json::Map<String, Json> =
        s.writes.iter().map(|(n, v)| (n.clone(), Json::from(v.clone()))).collect();
    json!({
        "verdict": verdict_text(&s.verdict),
        "rules": rules,
        "effects": s.effects.iter().map(effect_text).collect::<Vec<_>>(),
        "writes": writes,
    })
}

/// The storage of a field as a JSON object (what a replay needs to rebuild the packet).
pub fn storage_json(s: &super::storage::Storage) -> Json {
    use super::storage::Storage as S;
    match s {
        S::Payload { ctx, base, inner } => {
            json!({ "kind": "payload", "ctx": ctx.name(), "base": base.name(), "inner": inner.map(|p| p.name()) })
        }
        S::Meta(k) => json!({ "kind": "meta", "key": k.name() }),
        S::Ct { key, dir } => json!({ "kind": "ct", "key": key.name(), "dir": dir.map(|d| d.name()) }),
        S::Exthdr { op, kind } => {
            json!({ "kind": "exthdr", "op": format!("{op:?}").to_lowercase(), "type": kind })
        }
        S::ExthdrPresent { op, kind } => {
            json!({ "kind": "exthdr-present", "op": format!("{op:?}").to_lowercase(), "type": kind })
        }
        S::Rt(k) => json!({ "kind": "rt", "key": *k as u32 }),
        other => json!({ "kind": "other", "name": other.describe() }),
    }
}

/// Render one counterexample as a JSON object.
pub fn counterexample_json(c: &Counterexample, loc: &dyn Fn(Side, Span) -> String) -> Json {
    let packet: serde_json::Map<String, Json> =
        c.fields.iter().filter(|f| f.shown).map(|f| (f.name.clone(), Json::from(f.text.clone()))).collect();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let headers: Vec<Json> = c
        .headers
        .iter()
        .map(|h| json!({ "base": h.base.name(), "bytes": hex(&h.bytes), "mask": hex(&h.mask) }))
        .collect();
    let fields: Vec<Json> = c
        .fields
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "storage": storage_json(&f.storage),
                "offset": f.off,
                "len": f.len,
                "value": format!("{:#x}", f.value),
                "text": f.text,
                "shown": f.shown,
            })
        })
        .collect();
    json!({
        "family": c.point.ctx.name(),
        "hook": c.point.hook.name(),
        "differs": c.what,
        "packet": packet,
        "fields": fields,
        "headers": headers,
        "a": side_json(&c.sides[0], Side::A, loc),
        "b": side_json(&c.sides[1], Side::B, loc),
    })
}

/// Render the dead rules of `--explain`.
pub fn render_dead(dead: &[DeadRule], loc: &dyn Fn(Side, Span) -> String) -> String {
    let mut out = String::new();
    for d in dead {
        let label = if d.side == Side::A { "A" } else { "B" };
        let at = loc(d.side, d.span);
        let why = match &d.reason {
            DeadReason::Unreachable => format!("unreachable: no base chain reaches chain {}", d.chain),
            DeadReason::NeverTrue => "its conditions can never hold".to_string(),
            DeadReason::Shadowed(by) => {
                let list: Vec<String> = by
                    .iter()
                    .map(|x| {
                        if x.rule.is_some() {
                            loc(d.side, x.span)
                        } else {
                            format!("{} (policy)", loc(d.side, x.span))
                        }
                    })
                    .collect();
                format!("shadowed by {}", list.join(", "))
            }
        };
        out.push_str(&format!("{label}: {at}: never matches ({why})\n"));
    }
    out
}

/// One dead rule as a JSON object.
pub fn dead_json(d: &DeadRule, loc: &dyn Fn(Side, Span) -> String) -> Json {
    let (reason, by): (&str, Vec<Json>) = match &d.reason {
        DeadReason::Unreachable => ("unreachable", vec![]),
        DeadReason::NeverTrue => ("never-true", vec![]),
        DeadReason::Shadowed(by) => (
            "shadowed",
            by.iter().map(|x| json!({ "at": loc(d.side, x.span), "policy": x.rule.is_none() })).collect(),
        ),
    };
    json!({
        "ruleset": if d.side == Side::A { "a" } else { "b" },
        "at": loc(d.side, d.span),
        "table": d.table,
        "chain": d.chain,
        "reason": reason,
        "shadowed_by": by,
    })
}
