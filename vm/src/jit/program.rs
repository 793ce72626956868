//! A compiled program: the verified program it was built from, the addresses of its native
//! functions, and the code memory, freed when the last owner drops it.

use crate::keys::Family;
use crate::program::{ChainId, Policy};
use crate::verdict::Verdict;
use crate::verify::VerifiedProgram;
use cranelift_jit::JITModule;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Native code for every chain of a verified program. Share it with an [`Arc`]: a reload
/// builds a new one while packets still finish on the old; the code is freed when the last
/// reference goes (no run can outlive it: runs borrow the `JitProgram`).
pub struct JitProgram {
    pub(crate) prog: Arc<VerifiedProgram>,
    /// Function addresses: chains by id, then the segments of long chains.
    pub(crate) fns: Vec<u64>,
    /// What a run of each chain (by id) needs before and after the native call.
    pub(crate) entries: Vec<ChainEntry>,
    pub(crate) stats: JitStats,
    _code: CodeMemory,
    /// Data the code reads by address (shared actions' tables): kept as long as the code.
    _tables: Vec<super::template::Tables>,
    /// With [`super::JitOptions::disasm`]: per function, what it runs and its machine code.
    disassembly: Vec<Disassembly>,
}

/// One native function's machine code, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disassembly {
    /// What the function runs: `chain C` (the whole chain, or the driver of its segments)
    /// or `chain C rules A..B` (a segment).
    pub what: String,
    pub code: String,
}

/// A chain as [`super::run_chain_into`] starts it: its code, the family of its table, and the
/// verdict its end gives (its policy; accept for a regular chain).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainEntry {
    /// 0 when the chain may not run ([`VerifiedProgram::runnable`]): it is never entered,
    /// though chains that may run never reach it either.
    pub addr: u64,
    pub family: Family,
    pub end_verdict: Verdict,
}

/// What a compilation produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitStats {
    /// Native functions (chains and segments).
    pub functions: usize,
    /// Whether Cranelift optimized (`speed`) or not (`none`, for very large programs).
    pub optimized: bool,
    /// Wall time of the compilation.
    pub compile_time: Duration,
    /// Bytes of native code, all functions.
    pub code_bytes: usize,
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram").field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl JitProgram {
    pub(crate) fn new(
        prog: Arc<VerifiedProgram>,
        fns: Vec<u64>,
        module: JITModule,
        stats: JitStats,
        tables: Vec<super::template::Tables>,
        disassembly: Vec<Disassembly>,
    ) -> JitProgram {
        let p = prog.program();
        let entries = (0..p.chains.len())
            .map(|i| {
                let id = ChainId(i as u32);
                let policy = p.chain(id).and_then(|c| c.base.as_ref()).map_or(Policy::Accept, |b| b.policy);
                ChainEntry {
                    addr: fns.get(i).copied().filter(|_| prog.runnable(id)).unwrap_or(0),
                    family: p.chain_family(id).unwrap_or(Family::Ip),
                    end_verdict: if policy == Policy::Drop { Verdict::Drop } else { Verdict::Accept },
                }
            })
            .collect();
        JitProgram {
            prog,
            fns,
            entries,
            stats,
            _code: CodeMemory(Mutex::new(Some(module))),
            _tables: tables,
            disassembly,
        }
    }

    /// The program this code runs (its state must come from this program).
    pub fn program(&self) -> &Arc<VerifiedProgram> {
        &self.prog
    }

    pub fn stats(&self) -> JitStats {
        self.stats
    }

    /// Every function's machine code, when compiled with [`super::JitOptions::disasm`]
    /// (else empty).
    pub fn disassembly(&self) -> &[Disassembly] {
        &self.disassembly
    }
}

/// Owns the Cranelift module (and so the executable memory). The mutex only makes the owner
/// shareable between threads; nothing locks it but `drop`.
struct CodeMemory(Mutex<Option<JITModule>>);

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let module = self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(m) = module {
            // SAFETY: the memory belongs to this `JitProgram` alone; it is being dropped, so
            // no run borrows it any more and no function pointer into it survives (the
            // addresses live in the same `JitProgram`).
            #[allow(unsafe_code)]
            unsafe {
                m.free_memory()
            };
        }
    }
}
