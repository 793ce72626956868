//! Shared support for the integration tests: where the peer test data lives and how its
//! corpora are listed, and the pass-rate ratchet every conformance runner reports through.
#![allow(dead_code)]

pub mod classbench_live;
pub mod kernel;
pub mod load;
pub mod opt_diff;
pub mod scratch;
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

/// A file of the peer test data, with the name runners report it by.
pub struct PeerFile {
    pub path: PathBuf,
    /// The path below the corpus directory (`include/0001_table.nft`, `libxt_mark.t`).
    pub name: String,
}

/// The files below `shared/peer-tests/<corpus>` (subdirectories included) that `keep`
/// accepts, sorted by path. Panics when a directory cannot be read.
pub fn peer_files(corpus: &str, keep: impl Fn(&Path) -> bool) -> Vec<PeerFile> {
    let dir = shared_dir().join("peer-tests").join(corpus);
    let mut paths = vec![];
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("peer data {}: {e}", d.display()));
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
            PeerFile { path, name }
        })
        .collect()
}

/// nftables' shell-test dumps: `shell-dumps/**/*.nft`, rulesets as `nft list ruleset` prints them.
pub fn nft_shell_dumps() -> Vec<PeerFile> {
    peer_files("nftables/shell-dumps", |p| p.extension().is_some_and(|x| x == "nft"))
}

/// Whether a ruleset listing has a table of family ip, ip6 or inet.
pub fn has_ip_table(listing: &str) -> bool {
    listing
        .lines()
        .any(|l| l.starts_with("table ip ") || l.starts_with("table ip6 ") || l.starts_with("table inet "))
}

/// iptables' `save-dumps/*`: `iptables-save` output; `ip6tables` in a name marks an IPv6 dump.
pub fn ipt_save_dumps() -> Vec<PeerFile> {
    peer_files("iptables/save-dumps", |_| true)
}

/// A wustl ClassBench filter set and its trace (`classbench/wustl/{rules/SET,traces/SET_trace}`);
/// panics naming the file that is missing or malformed.
pub fn classbench(set: &str) -> (Vec<nftvm::classbench::Filter>, Vec<nftvm::classbench::TracePacket>) {
    let base = shared_dir().join("classbench/wustl");
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let filters = nftvm::classbench::parse_filters(&read(base.join("rules").join(set)))
        .unwrap_or_else(|e| panic!("{set}: {e}"));
    let trace = nftvm::classbench::parse_trace(&read(base.join("traces").join(format!("{set}_trace"))))
        .unwrap_or_else(|e| panic!("{set}_trace: {e}"));
    (filters, trace)
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
