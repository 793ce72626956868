//! Every optimized ruleset is equivalent to its source (issue 7, item 2), on nftables'
//! shell-test dumps (the conformance rulesets) and on the ClassBench filter sets:
//!
//! - the IR passes (`fold`, `dead`, `merge`: `-O1`) are proven equivalent by `diff`'s engine,
//!   symbolically, ruleset against optimized ruleset — no "different" answer is allowed;
//!   nor an undecided one (the engine refusing a feature the optimizer touched);
//! - the `classify` pass works on bytecode, below what `diff` reads (the IR), so `-O2` is
//!   checked as bytecode against `-O0` bytecode: packets aimed at the rules' own constants
//!   (`common::opt_diff`) run through every IP base chain on the interpreter and on the JIT,
//!   and must get the same verdict, the same runtime requests (marks, NAT, logs …) in order
//!   and the same packet bytes. (The ClassBench traces themselves are `opt_classbench`.)

mod common;

use common::{load, opt_diff};
use nftvm::classbench::{parse_filters, to_nft};
use nftvm::compiler::diff::{self, Options as DiffOptions};
use nftvm::compiler::iptables::Family;
use nftvm::compiler::ir::Ruleset;
use nftvm::compiler::opt::{self, Level, Options, Pass};
use nftvm::runtime::packet::PacketBuilder;
use nftvm::vm::jit::runs_natively;
use nftvm::vm::{Engine, Executable};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How one ruleset fared.
#[derive(Debug, PartialEq, Eq)]
enum Proof {
    /// The IR passes changed nothing.
    Unchanged,
    Equivalent,
    Undecidable(String),
    Different(String),
}

/// `-O1`'s ruleset against the source, by the diff engine.
fn prove_ir(rs: &Ruleset) -> (Proof, usize) {
    let (optimized, explain) = opt::optimize_ruleset(rs, &Options::level(Level::O1));
    let decisions = explain.notes.len();
    if &optimized == rs {
        return (Proof::Unchanged, decisions);
    }
    let proof = match diff::diff(rs, &optimized, &DiffOptions { max: 1 }) {
        Ok(r) if r.equivalent() => Proof::Equivalent,
        Ok(r) => Proof::Different(format!("{:?}\n{explain:?}", r.counterexamples.first())),
        Err(e) => Proof::Undecidable(e.to_string()),
    };
    (proof, decisions)
}

/// `-O2` bytecode against `-O0` bytecode on both engines: (agreeing runs, runs), or the
/// first disagreement. A ruleset codegen refuses at `-O0` has nothing to compare (0 runs).
fn check_bytecode(rs: &Ruleset, packets: usize, seed: u64) -> Result<(usize, usize), String> {
    let compile = |level| {
        opt::compile_verified(rs, &Options::level(level))
            .map(|(p, _, _)| Arc::new(p))
            .map_err(|e| e.to_string())
    };
    let Ok(o0) = compile(Level::O0) else { return Ok((0, 0)) };
    let o2 = compile(Level::O2)?;
    let (mut ok, mut total) = (0, 0);
    for engine in Engine::ALL {
        let reference = Executable::new(Arc::clone(&o0), Engine::Interp).map_err(|e| e.to_string())?;
        let optimized = Executable::new(Arc::clone(&o2), engine).map_err(|e| e.to_string())?;
        let (k, n, first) = opt_diff::compare(&reference, &optimized, packets, seed);
        if let Some(d) = first {
            return Err(format!("{engine}: {d}"));
        }
        ok += k;
        total += n;
    }
    Ok((ok, total))
}

/// [`check_bytecode`]'s results over many rulesets: runs that agree, runs, and failures.
#[derive(Default)]
struct Tally {
    agree: usize,
    runs: usize,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, name: &str, result: Result<(usize, usize), String>) {
        match result {
            Ok((k, n)) => {
                self.agree += k;
                self.runs += n;
            }
            Err(e) => self.failures.push(format!("{name}: -O2 bytecode differs from -O0: {e}")),
        }
    }
}

/// [`check_bytecode`] on `packets` packets, which must all agree (and be some).
fn assert_agree(what: &str, rs: &Ruleset, packets: usize, seed: u64) {
    let (ok, total) = check_bytecode(rs, packets, seed).unwrap_or_else(|e| panic!("{what}: {e}"));
    println!("{what}: -O2 and -O0 agree on {ok}/{total} runs");
    assert!(total > 0 && ok == total, "{what}: {ok}/{total}");
}

fn dump_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "nft") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn shell_dumps_optimized_are_equivalent() {
    let dir = common::shared_dir().join("peer-tests/nftables/shell-dumps");
    let files = dump_files(&dir);
    assert!(files.len() > 100, "shell dumps under {}", dir.display());
    let (mut loaded, mut unchanged, mut proven, mut undecidable) = (0, 0, 0, 0);
    let mut tally = Tally::default();
    for (i, f) in files.iter().enumerate() {
        let name = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let Ok((rs, _)) = load::nft(&name, &text) else { continue };
        loaded += 1;
        match prove_ir(&rs).0 {
            Proof::Unchanged => unchanged += 1,
            Proof::Equivalent => proven += 1,
            Proof::Undecidable(why) => {
                undecidable += 1;
                if std::env::var_os("NFTVM_VERBOSE").is_some() {
                    println!("undecidable {name}: {why}");
                }
            }
            Proof::Different(d) => tally.failures.push(format!("{name}: -O1 differs from the source: {d}")),
        }
        tally.add(&name, check_bytecode(&rs, 64, i as u64 + 1));
    }
    println!(
        "shell dumps: {loaded} loaded; -O1: {unchanged} unchanged, {proven} proven equivalent, \
         {undecidable} undecidable; -O2 vs -O0 bytecode: {}/{} runs agree",
        tally.agree, tally.runs
    );
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
    assert_eq!(undecidable, 0, "every optimized dump is decided (NFTVM_VERBOSE=1 lists them)");
    assert!(proven >= 10, "the optimizer changes some dumps");
}

/// Real iptables rulesets (firewalld, Fedora's defaults, a wireless router's): chains of
/// jumps and marks, which classified runs now span. `-O2` bytecode against `-O0` on aimed
/// packets, every dump.
#[test]
fn iptables_save_dumps_optimized_are_equivalent() {
    let dir = common::shared_dir().join("peer-tests/iptables/save-dumps");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    assert!(files.len() >= 8, "save dumps under {}", dir.display());
    let (mut loaded, mut classified) = (0, 0);
    let mut tally = Tally::default();
    for (i, f) in files.iter().enumerate() {
        let name = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let family = if name.contains("ip6tables") { Family::Ipv6 } else { Family::Ipv4 };
        let (rs, _) = load::iptables(&name, &text, family).unwrap_or_else(|e| panic!("{name}: {e}"));
        loaded += 1;
        if let Ok((p, _, _)) = opt::compile_verified(&rs, &Options::level(Level::O2)) {
            classified += p.program().classifiers.len();
        }
        tally.add(&name, check_bytecode(&rs, 500, i as u64 + 1));
    }
    println!(
        "iptables save dumps: {loaded} loaded, {classified} classifiers; -O2 vs -O0: {}/{} runs agree",
        tally.agree, tally.runs
    );
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
    assert_eq!(loaded, files.len());
    assert!(tally.runs > 0 && tally.agree == tally.runs);
}

/// The ClassBench sets: `-O1` proven by `diff`, `-O2` bytecode against `-O0` on aimed packets.
fn classbench(sets: &[&str], packets: usize) {
    for set in sets {
        let dir = common::shared_dir().join("classbench/wustl/rules");
        let text = std::fs::read_to_string(dir.join(set)).expect("filter file");
        let filters = parse_filters(&text).expect("filters");
        let (rs, _) = load::nft(set, &to_nft(&filters)).expect("loads");
        let (proof, decisions) = prove_ir(&rs);
        println!("{set}: -O1 {proof:?} ({decisions} decisions)");
        assert!(
            matches!(proof, Proof::Equivalent | Proof::Unchanged),
            "{set}: the optimized ruleset is not proven equivalent: {proof:?}"
        );
        let (ok, total) = check_bytecode(&rs, packets, 7).unwrap_or_else(|e| panic!("{set}: {e}"));
        println!("{set}: -O2 vs -O0 bytecode: {ok}/{total} runs agree");
        assert_eq!(ok, total);
    }
}

#[test]
fn classbench_1k_optimized_are_equivalent() {
    classbench(&["acl1_1K", "fw1_1K", "ipc1_1K"], 2000);
}

#[test]
fn classbench_10k_optimized_are_equivalent() {
    classbench(&["acl1_10K", "fw1_10K", "ipc1_10K"], 2000);
}

/// Rules whose matches make too many boxes cut their run into pieces, each classified on its
/// own — thousands of them in one chain must neither exhaust the stack (the split once
/// recursed per such rule) nor change a verdict.
#[test]
fn unclassifiable_rules_split_runs_in_order() {
    const UNBOXABLE: usize = 3000;
    let mut rules = String::new();
    for i in 0..UNBOXABLE {
        for k in 0..4 {
            rules += &format!("\t\tip saddr 10.{}.{}.{k} tcp dport {} accept\n", i % 200, i / 200, 1000 + k);
        }
        // 9 x 9 address pairs: 81 boxes, over the classifier's limit of 64 per rule.
        let set = |net: &str| (1..10).map(|h| format!("{net}.{h}")).collect::<Vec<_>>().join(", ");
        rules += &format!(
            "\t\tip saddr {{ {} }} ip daddr {{ {} }} counter drop\n",
            set(&format!("172.16.{}", i % 250)),
            set(&format!("192.168.{}", i % 250))
        );
    }
    let text = format!(
        "table ip t {{\n\tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n{rules}\t}}\n}}\n"
    );
    let rs = load::nft("unboxable.nft", &text).unwrap_or_else(|e| panic!("{e}")).0;
    // Without merge, which would fold the runs of four into sets first.
    let opts = Options { disabled: vec![Pass::Merge], ..Options::level(Level::O2) };
    let (program, _, explain) = opt::compile_verified(&rs, &opts).unwrap_or_else(|e| panic!("{e}"));
    let left: Vec<u32> = explain
        .notes
        .iter()
        .filter(|n| n.text.contains("more than 64 boxes"))
        .map(|n| n.span.start)
        .collect();
    assert_eq!(left.len(), UNBOXABLE, "each unclassifiable rule is reported");
    assert!(left.is_sorted(), "reports in chain order");
    assert_eq!(program.program().classifiers.len(), UNBOXABLE, "every run of 4 is classified");
    assert_agree("unclassifiable rules", &rs, 2000, 7);
}

/// Rules that change the packet, its mark or its connection and go on — and rules that jump
/// to a chain that does — stay in their classified run; the rules after them must be asked
/// about the packet as it is then (a mark just set, a DSCP just rewritten, what the called
/// chain changed), which later rules' tests here depend on.
#[test]
fn rules_that_change_the_packet_and_go_on_stay_in_their_run() {
    const BLOCKS: usize = 60;
    let (mut rules, mut jumps) = (String::new(), String::new());
    for i in 0..BLOCKS {
        let (a, b) = (i % 250, 1 + i % 200);
        rules += &format!("\t\tip saddr 10.0.{a}.0/24 tcp dport 22 meta mark set {}\n", 0x100 + i);
        rules += &format!("\t\tmeta mark {} tcp dport 22 ip daddr != 192.168.{a}.{b} accept\n", 0x100 + i);
        rules += &format!("\t\tip saddr 10.0.{a}.5 ip dscp set cs1\n");
        rules += &format!("\t\tip dscp cs1 ip daddr 172.16.{a}.0/24 drop\n");
        rules += &format!("\t\tip saddr 10.1.{a}.0/24 ct mark set {}\n", 0x200 + i);
        rules += &format!("\t\tct mark {} tcp dport 443 counter accept\n", 0x200 + i);
        rules += &format!("\t\tip daddr 10.2.{a}.0/24 jump mangle\n");
        rules += &format!("\t\tmeta mark 0x99 udp dport {} drop\n", 1000 + i);
        rules += &format!("\t\tip dscp cs3 tcp sport {} accept\n", 2000 + i);
        // Only jumps change the packet here (to an address the first rule drops): that
        // rule, which ends the chain for the packet the jump makes, must not hide the rules
        // after the jump.
        jumps += &format!(
            "\t\tip saddr 10.3.{a}.0/24 ip daddr 10.4.{a}.0/24 tcp dport {} jump mangle\n",
            3000 + i
        );
        jumps += &format!("\t\tmeta mark 0x99 udp dport {} accept\n", 1000 + i);
        jumps += &format!("\t\tip daddr 10.9.0.1 tcp dport {} accept\n", 3000 + i);
    }
    let text = format!(
        "table ip t {{\n\tchain mangle {{\n\t\tip protocol udp meta mark set 0x99\n\t\tip protocol tcp ip dscp set cs3 ip daddr set 10.9.0.1\n\t}}\n\
         \tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n{rules}\t}}\n\
         \tchain forward {{\n\t\ttype filter hook forward priority 0; policy drop;\n\t\tip daddr 10.9.0.0/16 drop\n{jumps}\t}}\n}}\n"
    );
    let rs = load::nft("changes.nft", &text).unwrap_or_else(|e| panic!("{e}")).0;
    let opts = Options { disabled: vec![Pass::Merge], ..Options::level(Level::O2) };
    let (program, _, explain) = opt::compile_verified(&rs, &opts).unwrap_or_else(|e| panic!("{e}"));
    let classified: usize = explain
        .notes
        .iter()
        .filter(|n| n.text.contains("classified by"))
        .map(|n| n.text.split_whitespace().next().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0))
        .sum();
    println!(
        "changing rules: {classified} of {} rules in {} classifiers",
        12 * BLOCKS + 1,
        program.program().classifiers.len()
    );
    assert_eq!(classified, 12 * BLOCKS + 1, "every rule of the chain is in a classified run\n{explain:?}");
    assert_agree("changing rules", &rs, 4000, 11);
}

/// Random chains over a few values of each field, so that rules overlap and a packet meets
/// several: tests on addresses, ports, mark, DSCP and ct mark; actions that end the chain,
/// that change what later tests read and go on, and jumps to chains that change it. `-O1`
/// proven by `diff`, `-O2` against `-O0` on both engines. (400 chains pass too; 40 keep
/// the suite quick.)
#[test]
fn random_chains_of_changing_rules_are_equivalent() {
    let pick = |rng: &mut opt_diff::Rng, xs: &[&str]| xs[rng.below(xs.len())].to_string();
    let (mut classified, mut runs, mut agree, mut proven, mut undecided) = (0, 0, 0, 0, 0);
    for seed in 0..40u64 {
        let mut rng = opt_diff::Rng::new(seed + 100);
        let mut rules = String::new();
        // Every other chain is in an inet table, with IPv6 tests beside the IPv4 ones.
        let inet = seed % 2 == 1;
        for _ in 0..rng.range(12, 60) {
            let mut tests = Vec::new();
            if inet && rng.chance(40) {
                tests.push(pick(
                    &mut rng,
                    &[
                        "ip6 saddr 2001:db8::/32",
                        "ip6 saddr 2001:db8::1",
                        "ip6 daddr 2001:db8:1::/48",
                        "meta nfproto ipv6",
                        "meta nfproto ipv4",
                        "ip6 hoplimit 64",
                    ],
                ));
            }
            if rng.chance(60) {
                tests.push(format!(
                    "ip saddr {}",
                    pick(&mut rng, &["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "10.9.0.1"])
                ));
            }
            if rng.chance(40) {
                tests.push(format!(
                    "ip daddr {}",
                    pick(&mut rng, &["192.168.0.0/16", "192.168.1.1", "10.9.0.1"])
                ));
            }
            if rng.chance(40) {
                tests.push(format!(
                    "{} dport {}",
                    pick(&mut rng, &["tcp", "udp"]),
                    pick(&mut rng, &["22", "53", "80-90", "{ 22, 80 }", "!= 53", "{ 53, 1000-2000 }"])
                ));
            }
            if rng.chance(15) {
                tests.push(pick(
                    &mut rng,
                    &["ip saddr != 10.0.0.0/8", "ip daddr != 192.168.1.1", "iifname \"eth0\""],
                ));
            }
            if rng.chance(15) {
                tests.push(pick(
                    &mut rng,
                    &["meta l4proto { tcp, udp }", "ip protocol icmp", "ip saddr { 10.1.2.3, 10.9.0.1 }"],
                ));
            }
            if rng.chance(30) {
                tests.push(format!("meta mark {}", pick(&mut rng, &["1", "2", "0x99"])));
            }
            if rng.chance(25) {
                tests.push(format!("ip dscp {}", pick(&mut rng, &["cs1", "cs3"])));
            }
            if rng.chance(20) {
                tests.push(format!("ct mark {}", pick(&mut rng, &["5", "6"])));
            }
            // An IPv6 test keeps the rule to IPv6: no IPv4 tests or rewrites beside it.
            let v6 = tests.first().is_some_and(|t| t.starts_with("ip6") || t.ends_with("ipv6"));
            if v6 {
                let first = tests.remove(0);
                tests.retain(|t| !t.starts_with("ip "));
                tests.insert(0, first);
            }
            if tests.is_empty() {
                tests.push("ip protocol tcp".into());
            }
            let action = pick(
                &mut rng,
                &[
                    "accept",
                    "drop",
                    "counter",
                    "meta mark set 1",
                    "meta mark set 2",
                    "meta mark set 0x99 accept",
                    "ip dscp set cs3",
                    "ip dscp set cs1",
                    "ct mark set 5",
                    "ct mark set 6",
                    "jump mangle",
                    "goto mangle",
                    "return",
                    "meta mark set 2 counter",
                ],
            );
            let action = if v6 { action.replace("ip dscp", "ip6 dscp") } else { action };
            rules += &format!("\t\t{} {action}\n", tests.join(" "));
        }
        let family = if inet { "inet" } else { "ip" };
        let text = format!(
            "table {family} t {{\n\tchain mangle {{\n\t\tip protocol udp meta mark set 0x99\n\
             \t\tip protocol tcp ip dscp set cs3 ip daddr set 10.9.0.1\n\t}}\n\
             \tchain input {{\n\t\ttype filter hook input priority 0; policy drop;\n{rules}\t}}\n}}\n"
        );
        let rs = load::nft("random.nft", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let opts = Options { disabled: vec![Pass::Merge], ..Options::level(Level::O2) };
        let (program, _, _) = opt::compile_verified(&rs.0, &opts).unwrap_or_else(|e| panic!("{e}\n{text}"));
        classified += program.program().classifiers.len();
        match prove_ir(&rs.0).0 {
            Proof::Different(d) => panic!("-O1 differs from the source: {d}\n{text}"),
            Proof::Undecidable(_) => undecided += 1,
            Proof::Equivalent => proven += 1,
            Proof::Unchanged => {}
        }
        let (ok, total) = check_bytecode(&rs.0, 400, seed).unwrap_or_else(|e| panic!("{e}\n{text}"));
        agree += ok;
        runs += total;
    }
    println!(
        "random changing chains: -O1 proven equivalent {proven}, undecidable {undecided}; \
         {classified} classifiers; -O2 vs -O0: {agree}/{runs} runs agree"
    );
    assert!(classified >= 30, "the chains are classified");
    assert!(proven >= 10 && undecided == 0, "-O1 changes chains, and diff decides every one");
    assert!(runs > 0 && agree == runs);
}

/// Random long chains whose rules all end the chain once they match — the classified runs
/// whose query native code runs (`Tree::native`) — over address prefixes spread across many
/// 2^16-blocks (part filters, dispatching ones among them), ports, protocols, marks and
/// interfaces; in inet tables IPv6 rules too, so IPv4 packets leave fields absent (as do the
/// packets cut short). `-O2` against `-O0` on both engines. (A rule that may go on after
/// its classified tests keeps its run's query in Rust, which reuses walks across rules.)
#[test]
fn random_classified_runs_that_end_the_chain_are_equivalent() {
    let (mut native, mut filtered, mut dispatching, mut parted, mut agree, mut runs) = (0, 0, 0, 0, 0, 0);
    for seed in 0..16u64 {
        let mut rng = opt_diff::Rng::new(seed + 500);
        let inet = seed % 3 == 2;
        let mut rules = String::new();
        let prefix = |rng: &mut opt_diff::Rng| match rng.below(6) {
            0 => format!("10.{}.0.0/16", rng.below(64)),
            1 => format!("10.{}.{}.0/24", rng.below(64), rng.below(256)),
            2 => format!("10.{}.{}.{}", rng.below(64), rng.below(4), rng.below(256)),
            3 => format!("{}.0.0.0/8", 1 + rng.below(20)),
            4 => format!("172.{}.0.0/12", 16 + rng.below(16)),
            _ => format!("192.168.{}.0/23", 2 * rng.below(100)),
        };
        for i in 0..rng.range(200, 900) {
            let mut tests = Vec::new();
            let v6 = inet && rng.chance(25);
            if v6 {
                tests.push(format!("ip6 saddr 2001:db8:{:x}::/48", rng.below(300)));
            } else {
                if rng.chance(80) {
                    tests.push(format!("ip saddr {}", prefix(&mut rng)));
                }
                if rng.chance(50) {
                    tests.push(format!("ip daddr {}", prefix(&mut rng)));
                }
            }
            if rng.chance(50) {
                let proto = ["tcp", "udp"][rng.below(2)];
                let port = match rng.below(3) {
                    0 => format!("{}", 1 + rng.below(2000)),
                    1 => format!("{}-{}", 1000 + rng.below(100), 1100 + rng.below(3000)),
                    _ => format!("{{ {}, {} }}", 1 + rng.below(100), 1 + rng.below(100)),
                };
                tests.push(format!("{proto} {} {port}", ["sport", "dport"][rng.below(2)]));
            } else if rng.chance(20) {
                tests.push(["meta l4proto icmp", "meta l4proto { tcp, udp }"][rng.below(2)].to_string());
            }
            // (A field native code does not read — the mark, an interface name — keeps the
            // query in Rust: only every fourth chain has them.)
            if seed % 4 == 3 && rng.chance(15) {
                tests.push(format!("meta mark {}", rng.below(4)));
            }
            if seed % 4 == 3 && rng.chance(10) {
                tests.push(format!("iifname \"{}\"", ["eth0", "eth1", "lo"][rng.below(3)]));
            }
            if tests.is_empty() {
                tests.push("meta l4proto tcp".to_string());
            }
            let action = ["accept", "drop", "counter accept", "meta mark set 7 accept"][i % 4];
            rules += &format!("\t\t{} {action}\n", tests.join(" "));
        }
        let family = if inet { "inet" } else { "ip" };
        let text = format!(
            "table {family} t {{\n\tchain input {{\n\t\ttype filter hook input priority 0; policy drop;\n{rules}\t}}\n}}\n"
        );
        let rs = load::nft("ending.nft", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (program, _, _) = opt::compile_verified(&rs.0, &Options::level(Level::O2))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        for c in program.program().classifiers.iter().filter(|c| runs_natively(c)) {
            native += 1;
            filtered += usize::from(c.tree.stats.filters > 0);
            dispatching += usize::from(c.tree.stats.buckets > 0);
            parted += usize::from(c.tree.stats.parts > 1);
        }
        let (ok, total) = check_bytecode(&rs.0, 2000, seed).unwrap_or_else(|e| panic!("{e}\n{text}"));
        agree += ok;
        runs += total;
    }
    println!(
        "random ending chains: {native} classifiers queried in native code ({filtered} with part \
         filters, {dispatching} dispatching, {parted} in several parts); -O2 vs -O0: {agree}/{runs} runs agree"
    );
    assert!(native >= 10 && filtered >= 5 && dispatching >= 2 && parted >= 5, "the trees take every shape");
    assert!(runs > 0 && agree == runs);
}

/// A part whose filter dispatches on a key that takes a byte of the destination port keeps,
/// in its own tree, the boxes of rules that test no port: a packet cut short of its ports
/// has no key, walks that tree, and meets the portless rule (were the part passed over, the
/// packet would go on to the policy). Checked against `-O0` on both engines.
#[test]
fn a_packet_without_its_filter_key_walks_the_part_itself() {
    let mut rules = String::new();
    for i in 0..300u32 {
        if i == 150 {
            rules += "\t\tip saddr 10.0.0.1 ip daddr 10.0.0.3 drop\n";
        }
        rules += &format!("\t\tip saddr 10.0.0.1 ip daddr 10.0.0.2 tcp dport {} accept\n", 1024 + 7 * i);
    }
    let text = format!(
        "table ip t {{\n\tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n{rules}\t}}\n}}\n"
    );
    let rs = load::nft("portless.nft", &text).unwrap_or_else(|e| panic!("{e}")).0;
    // (Without `merge`, which would make the port rules one set lookup.)
    let compile = |level| {
        let opts = Options { disabled: vec![Pass::Merge], ..Options::level(level) };
        let (p, _, explain) = opt::compile_verified(&rs, &opts).unwrap_or_else(|e| panic!("{e}"));
        (Arc::new(p), explain)
    };
    let (o0, _) = compile(Level::O0);
    let (o2, explain) = compile(Level::O2);
    let note = explain.notes.iter().find(|n| n.text.contains("classified by")).map(|n| n.text.clone());
    let note = note.unwrap_or_else(|| panic!("the rules are classified\n{explain:?}"));
    assert!(
        !note.contains(" 0 per-key trees") && note.contains("per-key trees"),
        "a dispatching filter: {note}"
    );
    println!("{note}");
    // 10.0.0.1 > 10.0.0.`to`, TCP from port 4000 to `port`, cut `cut` bytes into the TCP header.
    let packet = |to: u8, port: u16, cut: usize| {
        let mut b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, to]).tcp(4000, port).build();
        b.truncate(20 + cut);
        opt_diff::Plan { bytes: b, meta: Default::default(), ct: Default::default() }
    };
    let reference = Executable::new(Arc::clone(&o0), Engine::Interp).unwrap_or_else(|e| panic!("{e}"));
    let [(chain, hook, _)] = opt_diff::ip_base_chains(o0.program())[..] else { panic!("one base chain") };
    use nftvm::vm::Verdict::{Accept, Drop};
    let cases = [
        (2, 1024 + 7 * 3, 20, Accept),
        (3, 1024 + 7 * 200, 20, Drop),
        (2, 1024 + 7 * 200, 20, Accept),
        (2, 1024, 2, Accept),
        (3, 1024, 2, Drop),
        (3, 1024, 0, Drop),
    ];
    for engine in Engine::ALL {
        let optimized = Executable::new(Arc::clone(&o2), engine).unwrap_or_else(|e| panic!("{e}"));
        let other = opt_diff::same_chain(o0.program(), o2.program(), chain).expect("same chain");
        for (to, port, cut, verdict) in cases {
            let plan = packet(to, port, cut);
            let want = opt_diff::run(&reference, &mut reference.new_state(0), chain, hook, &plan);
            let got = opt_diff::run(&optimized, &mut optimized.new_state(0), other, hook, &plan);
            assert_eq!(want.verdict, verdict, "to {to} port {port} cut {cut}: -O0");
            assert_eq!(got, want, "{engine}: to {to} port {port} cut {cut}");
        }
    }
}
