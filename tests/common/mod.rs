//! Shared support for the integration tests: where the peer test data lives, and the
//! pass-rate ratchet every conformance runner reports through.
#![allow(dead_code)]

pub mod classbench_live;
pub mod kernel;
pub mod load;
pub mod vmreplay;

use std::path::{Path, PathBuf};

/// The read-only `shared/` directory (peer tests, ClassBench). `NFTVM_SHARED` overrides;
/// otherwise the first ancestor of this checkout that has a `shared/` sibling, then
/// `/work/shared`. Panics (failing the test, never skipping it) when none exists.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NFTVM_SHARED") {
        return PathBuf::from(dir);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for ancestor in here.ancestors() {
        let candidate = ancestor.join("shared");
        if candidate.join("peer-tests").is_dir() {
            return candidate;
        }
    }
    let fallback = PathBuf::from("/work/shared");
    assert!(
        fallback.join("peer-tests").is_dir(),
        "peer test data not found: set NFTVM_SHARED to the shared/ directory"
    );
    fallback
}

/// Print a conformance pass rate and fail if it is below the baseline stored in
/// `tests/baselines/<name>` (a fraction such as `0.953`). Raise the file as results improve.
pub fn ratchet(name: &str, passed: usize, total: usize) {
    let rate = if total == 0 { 0.0 } else { passed as f64 / total as f64 };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/baselines").join(name);
    let baseline: f64 = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing baseline {}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("bad baseline {}: {e}", path.display()));
    println!("{name}: {passed}/{total} = {:.2}% (baseline {:.2}%)", rate * 100.0, baseline * 100.0);
    assert!(total > 0, "{name}: no cases found");
    assert!(
        rate + 1e-9 >= baseline,
        "{name}: pass rate {:.2}% fell below the baseline {:.2}%",
        rate * 100.0,
        baseline * 100.0
    );
}
