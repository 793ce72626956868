//! `nftvm compile`: the command-line contract (formats, source locations, exit codes), with
//! nftables' own payload file as the oracle for what the bytecode must be.

mod common;
#[path = "common/nft_py.rs"]
mod nft_py;

use std::path::PathBuf;
use std::process::{Command, Output};

const RULESET: &str = "table inet test-inet {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport 22
\t\ttcp dport { 33, 55, 67, 88}
\t}
}
";

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nftvm-cli-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

/// The real `nft -f PATH`, in a fresh network namespace (root, as CI runs).
fn real_nft(path: &PathBuf) -> Output {
    Command::new("unshare").args(["-n", "nft", "-f"]).arg(path).output().expect("run unshare nft")
}

/// An ip table whose input chain holds `rule`.
fn input_rule(rule: &str) -> String {
    format!(
        "table ip t {{\n\tchain c {{\n\t\ttype filter hook input priority filter; policy accept;\n\t\t{rule}\n\t}}\n}}\n"
    )
}

/// The first line a command wrote to stderr.
fn first_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").to_string()
}

fn nftvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nftvm")).args(args).output().expect("run nftvm")
}

/// The expression lines nft generated for `rule` in inet/tcp.t.payload.
fn expected(rule: &str) -> Vec<String> {
    let path = common::shared_dir().join("peer-tests/nftables/tests-py/inet/tcp.t.payload");
    let blocks = nft_py::read_payload(&path).expect("payload file");
    blocks.into_iter().find(|b| b.rule == rule).expect("block for the rule").exprs
}

#[test]
fn bytecode_is_printed_per_rule_in_netlink_form() {
    let file = write_temp("rules.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.trim().is_empty()).collect();
    assert_eq!(blocks.len(), 2, "{text}");
    for (block, rule) in blocks.iter().zip(["tcp dport 22", "tcp dport { 33, 55, 67, 88}"]) {
        assert!(block.starts_with(&format!("# {rule}\n")), "{block}");
        assert!(block.contains("\ninet test-inet input\n"), "{block}");
        let exprs: Vec<String> =
            block.lines().filter(|l| l.starts_with("  [")).map(|l| l.trim().to_string()).collect();
        assert_eq!(exprs, expected(rule));
    }
    assert!(blocks[1].contains("__set%d test-inet 3\n__set%d test-inet 0\n\telement 0021"), "{}", blocks[1]);
}

#[test]
fn json_names_source_locations() {
    let file = write_temp("json.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let chain = &v["chains"][0];
    assert_eq!(chain["name"], "input");
    assert_eq!(chain["base"]["hook"], "input");
    let rules = chain["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2);
    let name = file.to_str().unwrap();
    assert_eq!(rules[0]["location"], format!("{name}:4"));
    assert_eq!(rules[1]["location"], format!("{name}:5"));
    let exprs: Vec<String> =
        rules[0]["exprs"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    assert_eq!(exprs, expected("tcp dport 22"));
    let set = rules[1]["anonymous_sets"][0].as_u64().expect("an anonymous set") as usize;
    assert_eq!(v["sets"][set]["elements"].as_array().map(Vec::len), Some(4));
}

#[test]
fn ir_and_errors() {
    let file = write_temp("ir.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "ir"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Ruleset"));

    let bad = write_temp("bad.nft", "table ip t { chain c { tcp dport 99999 } }\n");
    let out = nftvm(&["compile", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "an invalid ruleset is a negative answer");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.nft:1:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "assembly"]);
    assert_eq!(out.status.code(), Some(2));
    let out = nftvm(&["compile", "/nonexistent/rules.nft"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--emit asm`: one function per chain, named by family, table and chain, each with code
/// that returns; a long chain comes as segments and the driver that runs them.
#[test]
fn asm_shows_each_function_s_machine_code() {
    let file = write_temp("asm.nft", RULESET);
    let out = nftvm(&["compile", file.to_str().unwrap(), "--emit", "asm"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let functions: Vec<&str> = text.split("\n; ").collect();
    assert_eq!(functions.len(), 1, "one chain, one function:\n{text}");
    assert!(text.starts_with("; chain inet test-inet input\n"), "{text}");
    assert!(text.contains("ret"), "{text}");

    let rules: String = (0..600).map(|i| format!("\t\ttcp dport {} counter\n", 1000 + i)).collect();
    let long = write_temp("asm-long.nft", &format!("table ip t {{\n\tchain c {{\n{rules}\t}}\n}}\n"));
    let out = nftvm(&["compile", long.to_str().unwrap(), "--emit", "asm"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("; ")).collect();
    assert!(headers.iter().any(|h| h.starts_with("; chain ip t c (driver of ")), "{headers:?}");
    assert!(headers.iter().any(|h| h.starts_with("; chain ip t c rules 0..")), "{headers:?}");
}

#[test]
fn optimizer_levels_and_explain() {
    let rules = "table ip t {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\
                 \t\ttcp dport 22 accept\n\t\ttcp dport 80 accept\n\t\ttcp dport 80 counter drop\n\
                 \t\tip saddr 10.0.0.1 accept\n\t\tip saddr 10.0.0.2 accept\n\t\tip saddr 10.0.0.3 accept\n\
                 \t\tip saddr 10.0.0.4 accept\n\t}\n}\n";
    let file = write_temp("opt.nft", rules);
    let f = file.to_str().unwrap();
    let plain = nftvm(&["compile", f]);
    let o0 = nftvm(&["compile", "-O0", f]);
    assert!(plain.status.success() && o0.status.success());
    assert_eq!(plain.stdout, o0.stdout, "the default is -O0");
    let o1 = nftvm(&["compile", "-O1", "--explain", f]);
    assert!(o1.status.success());
    let out = String::from_utf8_lossy(&o1.stdout);
    let explain = String::from_utf8_lossy(&o1.stderr);
    assert!(out.contains("[ lookup reg 1 set __set%d ]"), "{out}");
    assert_eq!(out.matches("ip t input").count(), 2, "two rules after merging\n{out}");
    assert!(
        explain.contains("opt.nft:6: dropped: shadowed by an earlier rule that ends the chain"),
        "{explain}"
    );
    assert!(
        explain.contains("opt.nft:5: merged into the rule before it (an anonymous set of 2 elements)"),
        "{explain}"
    );
    let no_merge = nftvm(&["compile", "-O1", "--no-opt", "merge,dead", f]);
    assert_eq!(String::from_utf8_lossy(&no_merge.stdout), String::from_utf8_lossy(&plain.stdout));
    // -O2 classifies the six rules left after the dead one and prints the classifier they
    // now start with: per rule, the boxes of what its removed matches accepted.
    let o2 = nftvm(&["compile", "-O2", "--no-opt", "merge", f]);
    assert!(o2.status.success());
    let out = String::from_utf8_lossy(&o2.stdout);
    assert_eq!(out.matches("[ classify __classify0 entry ").count(), 6, "{out}");
    assert!(out.contains("classifier ip t __classify0 chain input first 0\n"), "{out}");
    assert!(out.contains("\tfield 1 recipe 1 bytes 0-3\n"), "{out}");
    assert!(
        out.contains("\tentry 0 f0 0x0016 f2 0x06\n") && out.contains("\tentry 5 f1 0x0a000004\n"),
        "{out}"
    );
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("classifier"), "nothing at -O0");
    let bad = nftvm(&["compile", "-O9", f]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("-O9"));
    let bad = nftvm(&["compile", "--no-opt", "inline", f]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("fold, dead, merge, classify"));
}

/// A jump loop no base chain reaches loads in the kernel (it checks what its hooks can run)
/// and compiles here; one a base chain reaches is refused by both ("Too many links"). The
/// kernel, in a fresh network namespace, is the oracle (as root, as CI runs).
#[test]
fn loops_only_base_chains_reach_are_refused_as_the_kernel_refuses_them() {
    let unreachable = [
        "table inet t {\n\tchain a {\n\t\tiif \"lo\" jump a\n\t}\n}\n",
        "table inet t {\n\tchain a {\n\t\tjump b\n\t}\n\tchain b {\n\t\tgoto a\n\t}\n}\n",
        "table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tjump c\n\t}\n\tchain c {\n\t}\n\
         \tchain w {\n\t\tiif vmap { \"lo\" : jump w }\n\t}\n}\n",
    ];
    let reached = "table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0;\n\t\tjump a\n\t}\n\
                   \tchain a {\n\t\tjump b\n\t}\n\tchain b {\n\t\tjump a\n\t}\n}\n";
    let kernel_loads = |path: &PathBuf| real_nft(path).status.success();
    for (i, text) in unreachable.iter().enumerate() {
        let path = write_temp(&format!("loop{i}.nft"), text);
        assert!(kernel_loads(&path), "the kernel loads:\n{text}");
        for level in ["-O0", "-O2"] {
            let out = nftvm(&["compile", path.to_str().unwrap(), level]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{level} compiles:\n{text}\n{err}");
        }
    }
    let path = write_temp("loop-reached.nft", reached);
    assert!(!kernel_loads(&path), "the kernel refuses a loop its hook reaches");
    let out = nftvm(&["compile", path.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Too many links"));
}

/// A shift by its type's whole width or more: nft refuses it with this message (the real
/// `nft -f`, in a fresh network namespace, is the oracle) and so must nftvm, word for word,
/// in statements and in matches (it used to reach the verifier as an internal error). In a
/// statement, nftables since 1.0.7 (the peer tests' `meta mark set ip dscp << 26 | 0x10;ok`)
/// measures against the target's width when wider, which the kernel test machine's nft
/// (1.0.6) does not: those cases are checked against that rule instead.
#[test]
fn shifts_past_the_type_width_are_refused_as_nft_refuses_them() {
    let statements = [
        (
            "meta mark set ip dscp << 51 | 0x10",
            "4:28-29: Error: Left shift of 51 bits is undefined for type of 32 bits width",
        ),
        ("meta mark set ip dscp << 26 | 0x10", ""),
    ];
    for (i, (rule, want)) in statements.iter().enumerate() {
        let path = write_temp(&format!("shift-stmt{i}.nft"), &input_rule(rule));
        let ours = nftvm(&["compile", path.to_str().unwrap()]);
        let err = first_line(&ours);
        assert_eq!(ours.status.success(), want.is_empty(), "{rule}: {err}");
        assert!(err.ends_with(want), "{rule}: {err}");
    }
    let rules =
        ["ct mark set ct mark >> 33", "meta mark << 40 == 0x1", "meta mark >> 32 != 0", "ip dscp << 8 == 0"];
    for (i, rule) in rules.iter().enumerate() {
        let path = write_temp(&format!("shift{i}.nft"), &input_rule(rule));
        let kernel = real_nft(&path);
        let ours = nftvm(&["compile", path.to_str().unwrap()]);
        assert!(!kernel.status.success() && !ours.status.success(), "{rule}: both refuse it");
        assert!(
            first_line(&kernel).contains("bits is undefined for type of"),
            "{rule}: nft says {}",
            first_line(&kernel)
        );
        assert_eq!(first_line(&ours), first_line(&kernel), "{rule}");
    }
}

/// A bit field whose bytes cannot be converted as a unit (32 bits from bit 31: five bytes)
/// used as a set key is refused at the rule, with its place and why — not generated into
/// bytecode the verifier (and the kernel's `nft_byteorder`) refuses, which `compile` used
/// to report as an internal error (found by the `nft_compile` fuzz target).
#[test]
fn unconvertible_bit_field_keys_are_refused_at_the_rule() {
    let path = write_temp("bitfield-key.nft", &input_rule("ip saddr . @nh,31,32 { 1.1.1.1 . 0x14 } accept"));
    let pcap = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/host-firewall.pcapng");
    for args in [vec!["compile"], vec!["check"], vec!["eval", "--pcap", pcap]] {
        let cmd = args[0];
        let out = nftvm(&[args.as_slice(), &[path.to_str().unwrap()]].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd}: {err}");
        assert!(
            err.contains("bitfield-key.nft:4:3-41: Error:") && err.contains("spans 5 bytes"),
            "{cmd}: {err}"
        );
        assert!(!err.contains("Internal error"), "{cmd}: {err}");
    }
    for cmd in ["compile", "check"] {
        let out = nftvm(&[cmd, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: an invalid ruleset is a negative answer");
    }
    // Fields whose bytes convert as a unit still compile: two bytes, four.
    for key in ["@nh,4,8", "@nh,4,12", "@nh,36,24"] {
        let path = write_temp(
            "bitfield-ok.nft",
            &input_rule(&format!("ip saddr . {key} {{ 1.1.1.1 . 0x14 }} accept")),
        );
        let out = nftvm(&["compile", path.to_str().unwrap()]);
        assert!(out.status.success(), "{key}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
