//! Live counters for `nftvm list ruleset`: every worker has its own program state, so the
//! values of counter statements and named counters are added up over the workers and
//! written into the checked IR, which the nft printer then lists as `nft list ruleset` would.

use crate::program::LoadedProgram;
use nftvm_compiler::ir::{self, Ruleset, StmtKind};
use nftvm_vm::Program;
use nftvm_vm::expr::Expr;
use nftvm_vm::interp::{ProgramState, Slot};

/// `(packets, bytes)` of every state slot of one worker (`None`: not a counter).
pub type CounterSlots = Vec<Option<(u64, u64)>>;

/// The counter values of one worker's program state.
pub fn counter_slots(state: &ProgramState) -> CounterSlots {
    state.slots.iter().map(Slot::counter).collect()
}

/// What every worker's counters start from: the program's initial values (`counter packets
/// 5 bytes 300` in the ruleset), and the first slot of its named objects.
pub struct Initial {
    pub counters: CounterSlots,
    pub object_base: usize,
}

impl Initial {
    /// The initial counters of `prog` (its sets are not loaded: a listing does not need them).
    pub fn of(prog: &Program) -> Initial {
        let (slots, object_base) = ProgramState::initial_slots(prog, 0);
        let counters = slots.iter().map(Slot::counter).collect();
        Initial { counters, object_base }
    }
}

/// The counters of all workers added up: each worker starts from the program's initial
/// values, so those count once.
pub fn sum_counters<'a>(
    initial: &Initial,
    workers: impl IntoIterator<Item = &'a CounterSlots>,
) -> CounterSlots {
    let initial = &initial.counters;
    let mut total = initial.clone();
    for w in workers {
        for ((t, v), i) in total.iter_mut().zip(w).zip(initial) {
            if let (Some(t), Some(v), Some(i)) = (t.as_mut(), v, i) {
                t.0 += v.0.saturating_sub(i.0);
                t.1 += v.1.saturating_sub(i.1);
            }
        }
    }
    total
}

/// The IR of `loaded` with every counter statement and named counter showing `values`
/// (named objects' from `object_base` on); `None` when the program was loaded as bytecode
/// text (there is no IR to list).
pub fn with_counters(
    loaded: &LoadedProgram,
    values: &[Option<(u64, u64)>],
    object_base: usize,
) -> Option<Ruleset> {
    let (ruleset, origins) = loaded.ir()?;
    let mut rs = ruleset.clone();
    let prog = loaded.program().program();
    for chain in &prog.chains {
        for rule in &chain.rules {
            let Some(o) = origins.get(rule.source) else { continue };
            let slots = rule.exprs.iter().filter_map(|e| match e {
                Expr::Counter(c) => Some(c.slot),
                _ => None,
            });
            let Some(ir_rule) = rs
                .table_mut(o.family, &o.table)
                .and_then(|t| t.chains.iter_mut().find(|c| c.name == o.chain))
                .and_then(|c| c.rules.get_mut(o.index))
            else {
                continue;
            };
            let counters = ir_rule.stmts.iter_mut().filter_map(|s| match &mut s.kind {
                StmtKind::Counter(c) => Some(c),
                _ => None,
            });
            for (c, slot) in counters.zip(slots) {
                if let Some(Some((p, b))) = values.get(slot as usize) {
                    (c.packets, c.bytes) = (*p, *b);
                }
            }
        }
    }
    for (i, obj) in prog.objects.iter().enumerate() {
        let Some(Some((p, b))) = values.get(object_base + i) else { continue };
        let Some(table) = prog.tables.get(obj.table.index()) else { continue };
        let target = rs
            .table_mut(table.family, &table.name)
            .and_then(|t| t.objects.iter_mut().find(|o| o.name == obj.name));
        if let Some(ir::Object { kind: ir::ObjectKind::Counter(c), .. }) = target {
            (c.packets, c.bytes) = (*p, *b);
        }
    }
    Some(rs)
}
