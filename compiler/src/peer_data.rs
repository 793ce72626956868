//! Test support: where the shared peer test data lives (nftables' own `tests/py` files), for
//! the unit tests that check the compiler's tables and lowering against what `nft` does.

use std::path::{Path, PathBuf};

/// nftables' `tests/py` directory in the read-only `shared/` data. `NFTVM_SHARED` overrides;
/// otherwise the first ancestor of this crate with a `shared/` sibling, then `/work/shared`.
/// Panics (failing the test, never skipping it) when none exists.
pub fn tests_py_dir() -> PathBuf {
    let shared = match std::env::var_os("NFTVM_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared"))
            .find(|c| c.join("peer-tests").is_dir())
            .unwrap_or_else(|| PathBuf::from("/work/shared")),
    };
    assert!(shared.join("peer-tests").is_dir(), "peer test data not found: set NFTVM_SHARED");
    shared.join("peer-tests/nftables/tests-py")
}

/// The files below `tests_py_dir()` (subdirectories included) whose name `keep` accepts,
/// sorted by path.
pub fn tests_py_files(keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                walk(&path, keep, out);
            } else if path.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&tests_py_dir(), &keep, &mut out);
    out.sort();
    out
}
