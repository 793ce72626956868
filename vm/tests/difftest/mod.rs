//! Differential testing of the engines: a seeded generator of random verified programs and
//! random packets, a deterministic environment, and a runner that evaluates every packet on
//! the interpreter and on the JIT and reports the first difference in verdict, deciding
//! rule, trace, registers, packet bytes, program state or environment requests. Each engine
//! also runs every packet through its untraced, buffer-reusing entry point
//! (`run_chain_into`), which must observe the same with an empty trace.
//!
//! Programs are built rule by rule; a rule the verifier rejects is dropped, so every program
//! is valid without this file restating the verifier's rules. Constants are drawn from the
//! packets the program will see, so comparisons and set lookups match often enough to reach
//! deep into rules and chains.

#![allow(dead_code)]

pub mod env;
pub mod packets;
pub mod programs;

use env::{EnvSpec, FuzzEnv};
pub use nftvm_testkit::Rng;
use nftvm_vm::interp::{PacketCtx, ProgramState, RunOptions, RunResult, Slot};
use nftvm_vm::jit::{JitOptions, OptLevel};
use nftvm_vm::keys::Hook;
use nftvm_vm::{ChainId, Engine, Executable, VerifiedProgram, text};
use packets::TestPacket;
use std::sync::Arc;

/// One generated case: a program, the chain to run, and packets with their environments.
pub struct Case {
    pub prog: Arc<VerifiedProgram>,
    pub chain: ChainId,
    pub hook: Hook,
    pub packets: Vec<(TestPacket, EnvSpec)>,
    pub jit: JitOptions,
}

/// Everything observable about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub result: RunResult,
    pub packet: Vec<u8>,
    pub slots: Vec<Slot>,
    pub set_sizes: Vec<usize>,
    pub effects: Vec<String>,
}

/// Generates case `seed`.
pub fn case(seed: u64) -> Case {
    let mut r = Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let pool: Vec<TestPacket> = (0..8).map(|_| packets::random(&mut r)).collect();
    let (prog, chain, hook) = programs::program(&mut r, &pool);
    let nchains = prog.chains.len() as u32;
    let packets = pool.into_iter().map(|p| (p, EnvSpec::random(&mut r, nchains))).collect();
    let jit = JitOptions {
        opt_level: *r.pick(&[OptLevel::Auto, OptLevel::None, OptLevel::Speed]),
        segment_rules: *r.pick(&[1, 2, 3, 256, 256]),
        inline_set_max: *r.pick(&[0, 4, 256, 256]),
        inline_ranges_max: *r.pick(&[0, 3, 16, 16]),
        verify_ir: true,
        ..JitOptions::default()
    };
    Case { prog: Arc::new(prog), chain, hook, packets, jit }
}

/// Runs one packet on one engine.
pub fn observe(exe: &Executable, state: &mut ProgramState, case: &Case, i: usize, now: u64) -> Observed {
    observe_with(exe, state, case, i, now, None)
}

/// Runs one packet on one engine, through `run_chain_into` without a trace when `reused` is
/// given (the result is written there, then copied out).
pub fn observe_with(
    exe: &Executable,
    state: &mut ProgramState,
    case: &Case,
    i: usize,
    now: u64,
    reused: Option<&mut RunResult>,
) -> Observed {
    let (tp, spec) = &case.packets[i];
    let mut env = FuzzEnv::new(spec.clone(), now);
    let mut bytes = tp.bytes();
    let result = {
        let mut pkt: PacketCtx<'_> = tp.ctx(&mut bytes, case.hook);
        match reused {
            None => exe.run_chain(state, case.chain, &mut pkt, &mut env),
            Some(out) => {
                exe.run_chain_into(state, case.chain, &mut pkt, &mut env, RunOptions::UNTRACED, out);
                out.clone()
            }
        }
    };
    Observed {
        result,
        packet: bytes,
        slots: state.slots.clone(),
        set_sizes: state.sets.iter().map(|s| s.len(now)).collect(),
        effects: env.effects,
    }
}

/// What the runs covered (to see that cases reach deep into programs).
#[derive(Debug, Default)]
pub struct Coverage {
    pub packets: usize,
    pub rules: usize,
    /// Runs a rule decided (not the policy).
    pub decided: usize,
    /// Rules that matched, over all runs.
    pub matched: usize,
    /// Runs that reached a chain other than the base chain.
    pub left_base: usize,
    /// Runs whose packet bytes changed.
    pub rewritten: usize,
}

/// Runs every packet of case `seed` on both engines (each with its own state, carried from
/// packet to packet); `Err` describes the first difference.
pub fn check(seed: u64, cov: &mut Coverage) -> Result<(), String> {
    let case = case(seed);
    let interp = Executable::new(Arc::clone(&case.prog), Engine::Interp).map_err(|e| e.to_string())?;
    let jit = Executable::with_options(Arc::clone(&case.prog), Engine::Jit, &case.jit)
        .map_err(|e| format!("seed {seed}: {e}\n{}", text::disassemble(&case.prog)))?;
    let mut s_interp = interp.new_state(0);
    let mut s_jit = jit.new_state(0);
    let mut untraced = [(&interp, interp.new_state(0)), (&jit, jit.new_state(0))];
    // Reused across packets; the stale trace must be cleared by each run.
    let mut reused = RunResult::default();
    let mut now = 0u64;
    for i in 0..case.packets.len() {
        now += case.packets[i].1.clock_step;
        let a = observe(&interp, &mut s_interp, &case, i, now);
        let b = observe(&jit, &mut s_jit, &case, i, now);
        for (exe, state) in &mut untraced {
            let u = observe_with(exe, state, &case, i, now, Some(&mut reused));
            let mut expected = a.clone();
            expected.result.trace.clear();
            if u != expected {
                return Err(format!(
                    "seed {seed}, packet {i}: {} untraced run_chain_into differs from the traced run\nprogram:\n{}\ntraced: {expected:#?}\nuntraced: {u:#?}",
                    exe.engine(),
                    text::disassemble(&case.prog),
                ));
            }
            reused.trace.push(a.result.trace.first().copied().unwrap_or(nftvm_vm::interp::TraceEntry {
                rule: nftvm_vm::interp::RuleRef { chain: case.chain, rule: 0, source: Default::default() },
                verdict: None,
            }));
        }
        cov.packets += 1;
        cov.decided += a.result.decided_by.is_some() as usize;
        cov.matched += a.result.trace.len();
        cov.left_base += a.result.trace.iter().any(|t| t.rule.chain != case.chain) as usize;
        cov.rewritten += (a.packet != case.packets[i].0.bytes()) as usize;
        if a != b {
            return Err(format!(
                "seed {seed}, packet {i} ({:?}), jit options {:?}\nprogram:\n{}\npacket: {}\nenv: {:?}\ninterp: {a:#?}\njit:    {b:#?}",
                case.hook,
                case.jit,
                text::disassemble(&case.prog),
                case.packets[i].0.hex(),
                case.packets[i].1,
            ));
        }
    }
    cov.rules += case.prog.chains.iter().map(|c| c.rules.len()).sum::<usize>();
    Ok(())
}
