//! The program `nftvm run` executes, with what the control socket needs besides the
//! bytecode: the IR (for `nftvm list ruleset`), the rules' source locations (metrics labels)
//! and the mapping from counter statements to the VM's counter slots.
//!
//! Until the shared program loader lands, a ruleset is compiled here with
//! `codegen::compile_verified`; a `.nftvm` file (bytecode text) is assembled as `eval`
//! does.

use std::path::Path;
use std::sync::Arc;

use nftvm_compiler::codegen::{self, Origins};
use nftvm_compiler::ir::{self, Ruleset, StmtKind};
use nftvm_vm::expr::Expr;
use nftvm_vm::interp::ProgramState;
use nftvm_vm::{Program, VerifiedProgram};

use crate::load::{Syntax, load};

/// A loaded, verified program.
pub struct LiveProgram {
    pub program: Arc<VerifiedProgram>,
    /// The checked IR it was compiled from (`None` for bytecode text).
    pub ruleset: Option<Ruleset>,
    pub origins: Option<Origins>,
    /// `file:line` of each rule, by `SourceId`.
    pub labels: Vec<String>,
}

/// Reads and compiles a ruleset file (nft, iptables-save, or bytecode text `.nftvm`).
pub fn compile(path: &Path, syntax: Option<Syntax>) -> Result<LiveProgram, String> {
    if path.extension().is_some_and(|e| e == "nftvm") {
        let loaded = crate::cmd::eval::load_program(path, true, None).map_err(|f| f.message)?;
        let program = nftvm_vm::verify(loaded.program).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(LiveProgram {
            program: Arc::new(program),
            ruleset: None,
            origins: None,
            labels: loaded.sources,
        });
    }
    let loaded = load(path, syntax).map_err(|e| e.message)?;
    let (program, origins) =
        codegen::compile_verified(&loaded.ruleset).map_err(|e| format!("{}: {e}", path.display()))?;
    let labels = (0..origins.len())
        .map(|i| {
            let id = nftvm_vm::SourceId(i as u32);
            match origins.location(id, &loaded.sources) {
                Some(loc) => loc.to_string(),
                None => origins.get(id).map_or(format!("rule#{i}"), |o| format!("{} {}", o.table, o.chain)),
            }
        })
        .collect();
    Ok(LiveProgram {
        program: Arc::new(program),
        ruleset: Some(loaded.ruleset),
        origins: Some(origins),
        labels,
    })
}

/// Counter values of every state slot of one worker (`None`: not a counter).
pub fn counter_slots(state: &ProgramState) -> Vec<Option<(u64, u64)>> {
    (0..state.slots.len()).map(|i| state.counter(i as u32)).collect()
}

/// The counters of all workers added up: each worker starts from the program's initial
/// values, so those count once.
pub fn sum_counters(prog: &Program, workers: &[Vec<Option<(u64, u64)>>]) -> Vec<Option<(u64, u64)>> {
    let initial = counter_slots(&ProgramState::new(prog, 0));
    let mut total = initial.clone();
    for w in workers {
        for ((t, v), i) in total.iter_mut().zip(w).zip(&initial) {
            if let (Some(t), Some(v), Some(i)) = (t.as_mut(), v, i) {
                t.0 += v.0.saturating_sub(i.0);
                t.1 += v.1.saturating_sub(i.1);
            }
        }
    }
    total
}

/// The IR with every counter statement and named counter showing the live values.
pub fn with_counters(live: &LiveProgram, values: &[Option<(u64, u64)>]) -> Option<Ruleset> {
    let mut rs = live.ruleset.clone()?;
    let origins = live.origins.as_ref()?;
    let prog = live.program.program();
    for chain in &prog.chains {
        for rule in &chain.rules {
            let Some(o) = origins.get(rule.source) else { continue };
            let slots = rule.exprs.iter().filter_map(|e| match e {
                Expr::Counter(c) => Some(c.slot),
                _ => None,
            });
            let Some(ir_rule) = rs
                .tables
                .iter_mut()
                .find(|t| t.family == o.family && t.name == o.table)
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
    let base = ProgramState::new(prog, 0).object_base;
    for (i, obj) in prog.objects.iter().enumerate() {
        let Some(Some((p, b))) = values.get(base + i) else { continue };
        let Some(table) = prog.tables.get(obj.table.index()) else { continue };
        let target = rs
            .tables
            .iter_mut()
            .find(|t| t.family == table.family && t.name == table.name)
            .and_then(|t| t.objects.iter_mut().find(|o| o.name == obj.name));
        if let Some(ir::Object { kind: ir::ObjectKind::Counter(c), .. }) = target {
            (c.packets, c.bytes) = (*p, *b);
        }
    }
    Some(rs)
}

/// The program of a running instance and how to replace it (SIGHUP, `nftvm reload`).
pub struct Reloader {
    path: std::path::PathBuf,
    syntax: Option<Syntax>,
    instance: Arc<nftvm_runtime::live::Instance>,
    current: std::sync::Mutex<Arc<LiveProgram>>,
}

impl Reloader {
    pub fn new(
        path: &Path,
        syntax: Option<Syntax>,
        instance: Arc<nftvm_runtime::live::Instance>,
        running: LiveProgram,
    ) -> Reloader {
        Reloader {
            path: path.to_path_buf(),
            syntax,
            instance,
            current: std::sync::Mutex::new(Arc::new(running)),
        }
    }

    /// Re-reads and compiles the ruleset file and swaps it in on every worker. A ruleset
    /// that does not compile is reported and the running one stays. Reloads are serialized.
    pub fn reload(&self) -> Result<(), String> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let next = compile(&self.path, self.syntax)?;
        self.instance.reload(next.program.clone())?;
        *current = Arc::new(next);
        Ok(())
    }

    /// The program running now.
    pub fn current(&self) -> Arc<LiveProgram> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
