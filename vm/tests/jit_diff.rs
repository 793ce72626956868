//! Differential fuzzing, interpreter vs JIT: seeded random verified programs × random packets
//! must give identical verdicts, deciding rules, traces, registers, packet bytes, state and
//! environment requests. `NFTVM_DIFF_SEED=N` starts elsewhere; `NFTVM_DIFF_CASES=N` runs
//! more programs (each runs 8 packets).

mod difftest;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn interpreter_and_jit_agree_on_random_programs() {
    let start = env_num("NFTVM_DIFF_SEED", 0x5eed_0000);
    let programs = env_num("NFTVM_DIFF_CASES", 1_400);
    let mut cov = difftest::Coverage::default();
    for seed in start..start + programs {
        if let Err(e) = difftest::check(seed, &mut cov) {
            panic!("engines differ (rerun with NFTVM_DIFF_SEED={seed} NFTVM_DIFF_CASES=1):\n{e}");
        }
    }
    println!(
        "jit_diff: {programs} programs ({} rules), {} packet runs on both engines, 0 differences; \
         {} decided by a rule, {} rule matches, {} left the base chain, {} rewrote the packet",
        cov.rules, cov.packets, cov.decided, cov.matched, cov.left_base, cov.rewritten
    );
    assert!(cov.packets >= 10_000, "only {} cases", cov.packets);
}
