//! Rate limiters, quotas, connection limits, iptables' xt matches (`recent` lists,
//! `string` searches in the payload, which the engine does not model; not those
//! `iptables::lower::xt_model` writes out as nft expressions) and `flow add` (the
//! rule goes on only when the connection is offloaded): statements whose
//! outcome the engine takes as a free input. The engine gives each one a free boolean input ("over the limit")
//! and pairs the limiters of the two rulesets by parameters and order of appearance (the
//! k-th `limit rate 1/second` of A with the k-th of B). That is exact when paired limiters
//! are consulted by exactly the same packets — which the explorer checks at every leaf; where
//! it does not hold, the answer is "cannot decide".

use super::error::Side;
use crate::ir::{Family, Ruleset, StmtKind};
use nftvm_grammar::Span;
use std::collections::HashMap;

/// Position of a statement in a ruleset: table, chain, rule, statement indices.
pub type StmtPos = (usize, usize, usize, usize);

/// Limiter identities shared by both sides.
#[derive(Clone, Debug, Default)]
pub struct Limiters {
    ids: HashMap<(String, u32), u32>,
    /// Per side: statement position → (key, occurrence).
    occurrences: [HashMap<StmtPos, (String, u32)>; 2],
    /// Where each limiter is, per side (for messages).
    spans: HashMap<(Side, u32), Span>,
}

/// The pairing key of a limiting statement (None for other statements).
pub fn key(kind: &StmtKind, family: Family) -> Option<String> {
    match kind {
        StmtKind::Limit(l) => Some(format!(
            "limit rate {}/{}s burst {}{}",
            l.rate,
            l.unit,
            l.burst,
            if l.bytes { " bytes" } else { "" }
        )),
        StmtKind::Quota(q) => Some(format!("quota {} bytes used {}", q.bytes, q.used)),
        StmtKind::ConnLimit(c) => Some(format!("ct count {}", c.count)),
        StmtKind::XtMatch(m) if !crate::iptables::lower::xt_model::modelled(m, family) => {
            Some(format!("xt {m:?}"))
        }
        // Whether the connection is offloaded (the rule goes on) depends on its state.
        StmtKind::FlowOffload { flowtable } => Some(format!("flow add @{flowtable}")),
        _ => None,
    }
}

impl Limiters {
    pub fn new() -> Limiters {
        Limiters::default()
    }

    /// Number every limiting statement of one side's ruleset in listing order.
    pub fn register(&mut self, side: Side, rs: &Ruleset) {
        let mut seen: HashMap<String, u32> = HashMap::new();
        for (ti, t) in rs.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                for (ri, r) in c.rules.iter().enumerate() {
                    for (si, s) in r.stmts.iter().enumerate() {
                        if let Some(k) = key(&s.kind, t.family) {
                            let n = seen.entry(k.clone()).or_insert(0);
                            self.occurrences[side.index()].insert((ti, ci, ri, si), (k, *n));
                            *n += 1;
                        }
                    }
                }
            }
        }
    }

    /// The shared id of the limiter at `pos` (registering it).
    pub fn id(&mut self, side: Side, pos: StmtPos, span: Span) -> Option<u32> {
        let k = self.occurrences[side.index()].get(&pos)?.clone();
        let next = self.ids.len() as u32;
        let id = *self.ids.entry(k).or_insert(next);
        self.spans.entry((side, id)).or_insert(span);
        Some(id)
    }

    /// The id of a named limit/quota object (shared by every rule that references it).
    pub fn named(&mut self, side: Side, key: String, span: Span) -> u32 {
        let next = self.ids.len() as u32;
        let id = *self.ids.entry((key, u32::MAX)).or_insert(next);
        self.spans.entry((side, id)).or_insert(span);
        id
    }

    /// Where limiter `id` is in `side` (if it exists there).
    pub fn span(&self, side: Side, id: u32) -> Option<Span> {
        self.spans.get(&(side, id)).copied()
    }
}
