//! Building the native code: the Cranelift target, one function per chain (long chains split
//! into segment functions run by a small driver), and the function table compiled code calls
//! through. No relocations: helpers and chains are called by address.

use super::chain::{elided_rules, translate_driver, translate_rules};
use super::emit::{Fx, chain_signature};
use super::helpers::Addrs;
use super::program::{Disassembly, JitProgram, JitStats};
use super::sets::{InlineLimits, SetPlans};
use super::{JitError, JitOptions, OptLevel};
use crate::program::ChainId;
use crate::verify::VerifiedProgram;
use cranelift_codegen::ir::{UserFuncName, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module, default_libcall_names};
use std::sync::Arc;
use std::time::Instant;

/// One function to build.
enum Job {
    /// Rules `first..first + count` of a chain; `whole`: the chain's own function.
    Rules { chain: ChainId, first: usize, count: usize, whole: bool, ends_chain: bool },
    /// A chain split into segments (function-table indexes) of `per` rules; `classified`:
    /// the chain has classifiers (its segments may hand over to each other).
    Driver { segments: Vec<usize>, per: usize, classified: bool },
}

/// Compiles every chain of `prog`.
pub fn compile(prog: Arc<VerifiedProgram>, opts: &JitOptions) -> Result<JitProgram, JitError> {
    let started = Instant::now();
    let jobs = plan(&prog, opts.segment_rules.max(1));
    let optimized = match opts.opt_level {
        OptLevel::None => false,
        OptLevel::Speed => true,
        OptLevel::Auto => {
            let counts: Vec<usize> = jobs.iter().map(|j| j.expr_count(&prog)).collect();
            counts.iter().sum::<usize>() <= opts.auto_speed_max_exprs
                && counts.iter().all(|&n| n <= opts.auto_speed_max_function_exprs)
        }
    };
    let mut module = new_module(optimized, opts.verify_ir)?;
    let call_conv = module.isa().default_call_conv();
    let sig = chain_signature(call_conv);
    let ids: Vec<FuncId> = jobs
        .iter()
        .map(|_| module.declare_anonymous_function(&sig).map_err(err))
        .collect::<Result<_, _>>()?;
    let plans =
        SetPlans::new(&prog, InlineLimits { exact: opts.inline_set_max, ranges: opts.inline_ranges_max });
    let addrs = Addrs::get();
    let mut ctx = module.make_context();
    let mut fcx = FunctionBuilderContext::new();
    let mut tables = Vec::new();
    let mut code_bytes = 0;
    let mut disassembly = Vec::new();
    for (index, (job, id)) in jobs.iter().zip(&ids).enumerate() {
        // (Clearing the context turns it off.)
        ctx.set_disasm(opts.disasm);
        ctx.func.signature = sig.clone();
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let b = FunctionBuilder::new(&mut ctx.func, &mut fcx);
        match job {
            Job::Rules { chain, first, count, whole, ends_chain } => {
                let done = if *whole { super::abi::ret::FELL_OFF } else { super::abi::ret::CHAIN_DONE };
                let mut fx = Fx::new(b, call_conv, addrs, done);
                let rules = prog.chain(*chain).map_or(&[][..], |c| &c.rules[*first..*first + *count]);
                translate_rules(&mut fx, &prog, *chain, *first, rules, *ends_chain, &plans, &mut tables);
                fx.finish(module.target_config());
            }
            Job::Driver { segments, per, classified } => {
                let mut fx = Fx::new(b, call_conv, addrs, super::abi::ret::FELL_OFF);
                if *classified {
                    super::classify::translate_driver(&mut fx, segments, *per);
                } else {
                    translate_driver(&mut fx, segments);
                }
                fx.finish(module.target_config());
            }
        }
        module.define_function(*id, &mut ctx).map_err(err)?;
        code_bytes += ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
        if let Some(code) = ctx.compiled_code().and_then(|c| c.vcode.clone()) {
            disassembly.push(Disassembly { what: job.describe(index, &prog), code });
        }
        module.clear_context(&mut ctx);
    }
    module.finalize_definitions().map_err(err)?;
    let fns = ids.iter().map(|id| module.get_finalized_function(*id) as usize as u64).collect();
    let stats = JitStats { functions: ids.len(), optimized, compile_time: started.elapsed(), code_bytes };
    Ok(JitProgram::new(prog, fns, module, stats, tables, disassembly))
}

impl Job {
    /// What function `index` (its place in the function table) runs, for its disassembly.
    fn describe(&self, index: usize, prog: &VerifiedProgram) -> String {
        let chain = |c: ChainId| format!("chain {}", prog.program().chain_label(c));
        match self {
            Job::Rules { chain: c, whole: true, .. } => chain(*c),
            Job::Rules { chain: c, first, count, .. } => {
                format!("{} rules {first}..{}", chain(*c), first + count)
            }
            Job::Driver { segments, .. } => {
                format!("{} (driver of {} segments)", chain(ChainId(index as u32)), segments.len())
            }
        }
    }

    /// The expressions the function compiles (its rules' that get code; a driver has none).
    fn expr_count(&self, prog: &VerifiedProgram) -> usize {
        match self {
            Job::Rules { chain, first, count, .. } => {
                let Some(rules) = prog.chain(*chain).and_then(|c| c.rules.get(*first..*first + *count))
                else {
                    return 0;
                };
                let elided = elided_rules(prog, *chain, *first, rules);
                rules.iter().zip(elided).filter(|(_, e)| !e).map(|(r, _)| r.exprs.len()).sum()
            }
            Job::Driver { .. } => 0,
        }
    }
}

fn err(e: impl std::fmt::Display) -> JitError {
    JitError(e.to_string())
}

/// The host target, optimizing or not.
fn new_module(optimized: bool, verify_ir: bool) -> Result<JITModule, JitError> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(err);
    set(&mut flags, "opt_level", if optimized { "speed" } else { "none" })?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "enable_verifier", if verify_ir { "true" } else { "false" })?;
    if !optimized {
        set(&mut flags, "regalloc_algorithm", "single_pass")?;
    }
    let isa = cranelift_native::builder()
        .map_err(|m| JitError(format!("unsupported host: {m}")))?
        .finish(settings::Flags::new(flags))
        .map_err(err)?;
    if isa.pointer_type() != types::I64 {
        return Err(JitError("the JIT needs a 64-bit target".into()));
    }
    Ok(JITModule::new(JITBuilder::with_isa(isa, default_libcall_names())))
}

/// Longest segment of a chain with classifiers (rules).
const CLASSIFIED_SEGMENT_MAX: usize = 1 << 14;

/// The functions to build: one per chain (ids first, so chain `c` is table entry `c`), then
/// the segments of chains longer than `segment` rules.
fn plan(prog: &VerifiedProgram, segment: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut segs = Vec::new();
    let n = prog.chains.len();
    for (i, c) in prog.chains.iter().enumerate() {
        let chain = ChainId(i as u32);
        let count = c.rules.len();
        // A classified run's rules are short (what follows their `classify`), and an answer
        // that lands in another segment costs a trip through the driver: such a chain gets
        // segments as long as its longest run (within reason).
        let longest_run =
            prog.classifiers.iter().filter(|x| x.chain == chain).map(|x| x.entries.len()).max().unwrap_or(0);
        let segment = segment.max(longest_run.min(CLASSIFIED_SEGMENT_MAX));
        if count <= segment {
            jobs.push(Job::Rules { chain, first: 0, count, whole: true, ends_chain: true });
            continue;
        }
        let mut segments = Vec::new();
        for first in (0..count).step_by(segment) {
            let len = segment.min(count - first);
            segments.push(n + segs.len());
            segs.push(Job::Rules {
                chain,
                first,
                count: len,
                whole: false,
                ends_chain: first + len == count,
            });
        }
        let classified = prog.classifiers.iter().any(|x| x.chain == chain);
        jobs.push(Job::Driver { segments, per: segment, classified });
    }
    jobs.extend(segs);
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::program::assemble;

    /// One chain of `rules` rules of two expressions each, segmented every `segment` rules.
    fn optimized(rules: usize, segment: usize) -> bool {
        let mut text =
            String::from("table ip f\nchain ip f c type filter hook input priority 0 policy accept\n\n");
        for i in 0..rules {
            text.push_str(&format!(
                "ip f c\n  [ meta load mark => reg 1 ]\n  [ cmp eq reg 1 0x{:08x} ]\n\n",
                i + 1
            ));
        }
        let prog = crate::verify::verify(assemble(&text).expect("assembles")).expect("verifies");
        let opts = JitOptions { segment_rules: segment, ..JitOptions::default() };
        compile(Arc::new(prog), &opts).expect("compiles").stats().optimized
    }

    /// One classified run of `rules` rules that set the mark to their number and accept.
    fn classified(rules: usize) -> JitStats {
        let mut text = String::from(
            "table ip f\nchain ip f c type filter hook input priority 0 policy drop\n\
             classifier ip f __classify0 chain c first 0\n\
             \trecipe 4 [ payload load 4b @ network header + 12 => reg 1 ]\n\
             \tfield 0 recipe 0 bytes 0-3\n",
        );
        for i in 0..rules {
            text.push_str(&format!("\tentry {i} f0 0x{:08x}\n", 0x0a00_0000 + i));
        }
        text.push('\n');
        for i in 0..rules {
            text.push_str(&format!(
                "ip f c\n  [ classify __classify0 entry {i} ]\n  [ immediate reg 1 0x{:08x} ]\n  \
                 [ meta set mark with reg 1 ]\n  [ immediate reg 0 accept ]\n\n",
                i + 1
            ));
        }
        let prog = crate::verify::verify(assemble(&text).expect("assembles")).expect("verifies");
        compile(Arc::new(prog), &JitOptions::default()).expect("compiles").stats()
    }

    #[test]
    fn a_classified_run_with_shared_actions_compiles_to_code_of_one_size() {
        let (small, large) = (classified(16), classified(12_000));
        // Rule code is elided: the same few blocks whatever the run's length, optimized; only
        // the native query grows a little, with the tree's parts (a few), not with its rules.
        assert!(large.optimized, "{large:?}");
        assert_eq!(small.functions, large.functions);
        assert!(large.code_bytes <= small.code_bytes + 256, "{small:?} vs {large:?}");
    }

    #[test]
    fn auto_optimizes_unless_a_function_or_the_program_is_large() {
        let most = JitOptions::default().auto_speed_max_function_exprs;
        // Small functions: optimized, as long as the program is small too.
        assert!(optimized(most, 256));
        // The same rules in one function: too large for the optimizing register allocator.
        assert!(!optimized(most, most));
        assert!(optimized(most / 2, most));
    }
}
