//! JSON listing conformance (`nft -j list ruleset`).
//!
//! 1. [`tests_py_rules_list_as_json`]: nftables' py tests (`tests-py/{ip,ip6,inet,any}/*.t`).
//!    Every `;ok` rule that has a JSON block (the `X.t.json.output` block for that rule if
//!    there is one, else the `X.t.json` block) is added, in every table context of its file
//!    (after the file's sets, elements and objects, as the text runner `nft_list` does), and
//!    its listed `expr` array must equal the block as JSON values — key order aside, and
//!    after sorting the elements of every `{"set": […]}` (the only normalization). Listed as
//!    the py tests list: protocols as numbers, no counter values, in their time zone
//!    (`TZ=UTC-2`, see [`in_py_tests_timezone`]). Ratchet: `nft_json`.
//! 2. [`shell_dumps_list_as_valid_json`]: every shell dump with an ip/ip6/inet table that
//!    loads lists as valid JSON with the schema's top-level shape.
//! 3. [`shell_dumps_agree_with_real_nft`] (root, real `nft`): each such dump is loaded with the
//!    installed `nft` in a throwaway namespace and its `nft -j list ruleset` compared with
//!    ours (metainfo and handles dropped, items and set elements in any order). The installed
//!    nft (1.0.6) is older than the test data our printer follows, so this only reports the
//!    agreement rate, the rate once the known differences between nft releases are forgiven
//!    ([`forgive_version_gap`]), and the remaining differences by category; it fails only where
//!    it cannot run.
//!
//! `NFTVM_VERBOSE=1` prints every failure; `NFTVM_ONLY=substring` limits the files.

mod common;
#[path = "common/nft_py.rs"]
mod nft_py;

use nft_py::{Case, Expect, apply};
use nftvm_compiler::ir::{Family, Ruleset};
use nftvm_compiler::print::{ListOpts, json};
use nftvm_grammar::SourceMap;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The blocks of a `.t.json` / `.t.json.output` file: rule text → JSON text. As nftables'
/// runner reads them, the first block for a rule wins and a blank line ends it.
fn json_blocks(path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(path) else { return out };
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rule) = line.strip_prefix('#') {
            if let Some((r, body)) = current.take() {
                out.entry(r).or_insert(body);
            }
            current = Some((rule.trim().to_string(), String::new()));
        } else if line.trim().is_empty() {
            if let Some((r, body)) = current.take() {
                out.entry(r).or_insert(body);
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line.trim());
        }
    }
    if let Some((r, body)) = current.take() {
        out.entry(r).or_insert(body);
    }
    out
}

/// Sort the members of every `{"set": […]}` (set element order is not part of the listing).
fn normalize(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                normalize(inner);
                if k == "set"
                    && let Value::Array(items) = inner
                {
                    items.sort_by_cached_key(|x| x.to_string());
                }
            }
        }
        _ => {}
    }
}

#[derive(Default)]
struct Tally {
    total: usize,
    pass: usize,
}

/// nftables' py tests run with `TZ=UTC-2` (their runner sets it), and dates and hours list
/// in local time. Setting the variable in-process needs `unsafe` (edition 2024), so outside
/// that zone the test re-runs itself in a child process that has it, and reports the child's
/// result; returns true when the caller is already in the zone and should run the body.
fn in_py_tests_timezone(test: &str) -> bool {
    const TZ: &str = "UTC-2";
    if std::env::var("TZ").as_deref() == Ok(TZ) {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env("TZ", TZ)
        .output()
        .expect("re-run the test with TZ set");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} failed under TZ={TZ}");
    false
}

#[test]
fn tests_py_rules_list_as_json() {
    if !in_py_tests_timezone("tests_py_rules_list_as_json") {
        return;
    }
    let dir = common::shared_dir().join("peer-tests/nftables/tests-py");
    let verbose = std::env::var_os("NFTVM_VERBOSE").is_some();
    let only = std::env::var("NFTVM_ONLY").ok();
    let opts = ListOpts::py_tests();
    let mut per_dir: BTreeMap<String, Tally> = BTreeMap::new();
    for path in nft_py::t_files(&dir, &["ip", "ip6", "inet", "any"]) {
        let short = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
        if only.as_ref().is_some_and(|o| !short.contains(o.as_str())) {
            continue;
        }
        let input = json_blocks(&PathBuf::from(format!("{}.json", path.display())));
        let output = json_blocks(&PathBuf::from(format!("{}.json.output", path.display())));
        if input.is_empty() && output.is_empty() {
            continue;
        }
        let file = nft_py::read_t(&path).expect("readable .t file");
        let tally = per_dir.entry(short.split('/').next().unwrap_or("").to_string()).or_default();
        // A context the reference kernel refuses lists nothing (`nft_list` checks the refusal).
        for table in file.tables.iter().filter(|t| t.refused.is_none()) {
            let Some(fam) = Family::from_name(&table.family) else { continue };
            let mut base = Ruleset::new();
            let _ = apply(&mut base, &format!("add table {}", table.spec()));
            for cmd in file.chain_commands(table) {
                let _ = apply(&mut base, &cmd);
            }
            for case in &file.cases {
                match case {
                    Case::Rule { disabled: true, .. } => {}
                    Case::Rule { expect: Expect::Fail, .. } => {}
                    Case::Rule { line, rule, .. } => {
                        let key = rule.trim();
                        let Some(block) = output.get(key).or_else(|| input.get(key)) else { continue };
                        let mut wanted: Value = serde_json::from_str(block)
                            .unwrap_or_else(|e| panic!("{short}:{line}: bad JSON block: {e}"));
                        normalize(&mut wanted);
                        for chain in &table.chains {
                            tally.total += 1;
                            let mut rs = base.clone();
                            let got = apply(&mut rs, &format!("add rule {} {chain} {rule}", table.spec()))
                                .and_then(|()| {
                                    let t = rs.table(fam, &table.table).ok_or("table vanished")?;
                                    let c = t.chain(chain).ok_or("chain vanished")?;
                                    let r = c.rules.last().ok_or("no rule added")?;
                                    let text = json::rule_exprs(t, r, &opts).to_text();
                                    serde_json::from_str::<Value>(&text)
                                        .map_err(|e| format!("invalid JSON ({e}): {text}"))
                                });
                            match got {
                                Ok(mut g) => {
                                    normalize(&mut g);
                                    if g == wanted {
                                        tally.pass += 1;
                                    } else if verbose {
                                        println!(
                                            "DIFF {short}:{line} [{} {chain}] {rule}\n  expected: {wanted}\n  got:      {g}",
                                            table.spec()
                                        );
                                    }
                                }
                                Err(e) => {
                                    if verbose {
                                        println!(
                                            "REJECTED {short}:{line} [{} {chain}] {rule}\n{e}",
                                            table.spec()
                                        );
                                    }
                                }
                            }
                        }
                    }
                    Case::Set { expect, .. }
                    | Case::Elements { expect, .. }
                    | Case::Object { expect, .. } => {
                        let chain = table.chains.first().map(String::as_str).unwrap_or("c");
                        let mut rs = base.clone();
                        if apply(&mut rs, &case.to_command(table, chain)).is_ok() && *expect == Expect::Ok {
                            base = rs;
                        }
                    }
                }
            }
        }
    }
    let (mut total, mut pass) = (0, 0);
    for (d, t) in &per_dir {
        println!("  {d:<6} {}/{}", t.pass, t.total);
        total += t.total;
        pass += t.pass;
    }
    if only.is_some() {
        println!("nft_json: {pass}/{total} (filtered run, no ratchet)");
        return;
    }
    common::ratchet("nft_json", pass, total);
}

// ---------------------------------------------------------------------------------------------
// Shell dumps
// ---------------------------------------------------------------------------------------------

/// Dumps with at least one ip, ip6 or inet table, with their names and texts.
fn in_scope_dumps() -> Vec<(String, String)> {
    common::nft_shell_dumps()
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f.path).ok()?;
            common::has_ip_table(&text).then_some((f.name, text))
        })
        .collect()
}

/// Our `-j` listing of a dump (None when we do not load it).
fn our_json(name: &str, text: &str) -> Option<String> {
    let mut sm = SourceMap::new();
    let file = nftvm_grammar::nft::parse_str(&mut sm, name, text).ok()?;
    let rs = nftvm_compiler::eval::load(&file).ok()?;
    Some(json::ruleset(&rs, &ListOpts::default_listing()))
}

#[test]
fn shell_dumps_list_as_valid_json() {
    let (mut loaded, mut valid) = (0, 0);
    for (name, text) in in_scope_dumps() {
        let Some(out) = our_json(&name, &text) else { continue };
        loaded += 1;
        match serde_json::from_str::<Value>(&out) {
            Ok(v) => {
                let items = v["nftables"].as_array().cloned().unwrap_or_default();
                assert!(
                    items.first().is_some_and(|m| m.get("metainfo").is_some()),
                    "{name}: the listing must start with metainfo: {out}"
                );
                assert!(
                    items.iter().all(|i| i.as_object().is_some_and(|o| o.len() == 1)),
                    "{name}: every item must be a one-key object: {out}"
                );
                valid += 1;
            }
            Err(e) => println!("INVALID {name}: {e}\n{out}"),
        }
    }
    println!("shell dumps listed as valid JSON: {valid}/{loaded}");
    // The command line prints the same listing (one line), and `--pretty` the same value.
    let (name, text) = in_scope_dumps().into_iter().find(|(n, t)| our_json(n, t).is_some()).expect("a dump");
    let path = common::shared_dir().join("peer-tests/nftables/shell-dumps").join(&name);
    let cli = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nftvm"))
            .args(["list", &path.to_string_lossy(), "--format", "json"])
            .args(extra)
            .output()
            .expect("run nftvm");
        assert!(out.status.success(), "nftvm list --format json {extra:?} failed on {name}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let compact = cli(&[]);
    assert_eq!(Some(compact.clone()), our_json(&name, &text), "{name}: CLI and library listings differ");
    assert_eq!(compact.lines().count(), 1, "{name}: nft -j prints one line");
    let pretty: Value = serde_json::from_str(&cli(&["--pretty"])).expect("--pretty prints JSON");
    assert_eq!(
        pretty,
        serde_json::from_str::<Value>(&compact).expect("valid JSON"),
        "{name}: --pretty differs"
    );
    assert!(loaded > 0, "no dump loaded");
    assert_eq!(valid, loaded, "some JSON listings are not valid JSON");
}

/// The listing's items without metainfo and `handle` keys, set elements sorted, each under
/// an identity key (`rule inet t c #2`, `set inet t s`) so that items pair up across listings
/// whatever their order.
fn keyed_items(v: &Value) -> BTreeMap<String, Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(strip),
            Value::Object(map) => {
                map.remove("handle");
                map.values_mut().for_each(strip);
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    let mut ordinals: BTreeMap<String, usize> = BTreeMap::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else { continue };
        if kind == "metainfo" {
            continue;
        }
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut key = format!("{kind} {} {} {}", field("family"), field("table"), field("name"));
        if kind == "rule" {
            let chain = format!("{} {} {}", field("family"), field("table"), field("chain"));
            let n = ordinals.entry(chain.clone()).or_default();
            *n += 1;
            key = format!("rule {chain} #{n}");
        }
        let mut item = item.clone();
        strip(&mut item);
        sort_sets(&mut item);
        out.insert(key, item);
    }
    out
}

/// A short name for where two values first differ (`rule.expr.match.right`).
fn diff_path(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = diff_path(u, v, &p) {
                            return Some(d);
                        }
                    }
                    (Some(_), None) => return Some(format!("{p} (only nft)")),
                    (None, Some(_)) => return Some(format!("{p} (only ours)")),
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path} (length)"));
            }
            x.iter().zip(y).find_map(|(u, v)| diff_path(u, v, path))
        }
        (Value::Array(_), _) | (_, Value::Array(_)) => Some(format!("{path} (array vs scalar)")),
        _ if a != b => Some(path.to_string()),
        _ => None,
    }
}

/// `nft -j list ruleset` of a dump loaded by the real nft in a fresh namespace.
fn real_nft_json(netns: &common::kernel::Netns, text: &str) -> Result<String, String> {
    let run = |args: &[&str], input: Option<&str>| -> Result<String, String> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", netns.name(), "nft"]).args(args);
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot run nft: {e}"))?;
        if let (Some(t), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write as _;
            stdin.write_all(t.as_bytes()).map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    run(&["flush", "ruleset"], None)?;
    run(&["-f", "-"], Some(text))?;
    run(&["-j", "list", "ruleset"], None)
}

#[test]
fn shell_dumps_agree_with_real_nft() {
    common::kernel::require_environment();
    let verbose = std::env::var_os("NFTVM_VERBOSE").is_some();
    let netns = common::kernel::Netns::new();
    let (mut compared, mut agree, mut agree_modulo, mut nft_rejects, mut we_reject) = (0, 0, 0, 0, 0);
    let mut gaps: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut categories: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, text) in in_scope_dumps() {
        let Ok(theirs) = real_nft_json(&netns, &text) else {
            nft_rejects += 1;
            continue;
        };
        let Some(ours) = our_json(&name, &text) else {
            we_reject += 1;
            continue;
        };
        let (Ok(t), Ok(o)) = (serde_json::from_str::<Value>(&theirs), serde_json::from_str::<Value>(&ours))
        else {
            categories.entry("invalid JSON".into()).or_default().push(name);
            continue;
        };
        compared += 1;
        let (mut t, mut o) = (keyed_items(&t), keyed_items(&o));
        if t == o {
            agree += 1;
            agree_modulo += 1;
            continue;
        }
        let mut fired = std::collections::BTreeSet::new();
        for (k, a) in t.iter_mut() {
            if let Some(b) = o.get_mut(k) {
                forgive_version_gap(a, b, &mut fired);
            }
        }
        for g in &fired {
            *gaps.entry(g).or_default() += 1;
        }
        if t == o {
            agree_modulo += 1;
            continue;
        }
        // The first item that still differs, and where.
        let category = t
            .keys()
            .chain(o.keys())
            .find_map(|k| {
                let kind = k.split(' ').next().unwrap_or("");
                match (t.get(k), o.get(k)) {
                    (Some(a), Some(b)) => diff_path(a, b, ""),
                    (Some(_), None) => Some(format!("{kind} (only nft)")),
                    (None, Some(_)) => Some(format!("{kind} (only ours)")),
                    (None, None) => None,
                }
            })
            .unwrap_or_else(|| "order".into());
        if verbose {
            println!("DIFF {name}: {category}\n  nft:  {theirs}  ours: {ours}");
        }
        categories.entry(category).or_default().push(name);
    }
    let version = nft_version();
    println!("known differences of {version} from the nft 1.1.x forms we print (dumps affected):");
    for (g, n) in &gaps {
        println!("  {n:>3}  {g}");
    }
    println!("remaining differences (first differing path):");
    let mut sorted: Vec<_> = categories.iter().collect();
    sorted.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (cat, names) in sorted {
        println!("  {:>3}  {cat}  ({})", names.len(), names.join(", "));
    }
    println!(
        "nft_json shell dumps vs {version}: {agree}/{compared} identical, {agree_modulo}/{compared} modulo known \
         version differences ({nft_rejects} not loadable by the installed nft, {we_reject} not by us) — informational"
    );
    assert!(compared > 0, "no dump could be compared");
}

/// Bring one item pair to common ground where nft 1.0.6 prints an older form than the
/// nft 1.1.x forms we follow (recording which gap each change covers):
/// `typeof` set types (1.1.2), concatenated map data as arrays and flattened binary operands
/// (1.1.0), the `dynamic` flag (1.0.9), `auto-merge` (1.1.0), chain `dev` and table/chain
/// comments, table flags (a 1.0.6 bug prints garbage), single flags as strings, flag lists
/// for masks, statements of set elements beyond the first (after 1.1.6), map statements
/// (text in 1.0.6), and one-element anonymous sets (1.0.6 reduces them to the element).
fn forgive_version_gap(
    theirs: &mut Value,
    ours: &mut Value,
    fired: &mut std::collections::BTreeSet<&'static str>,
) {
    if theirs == ours {
        return;
    }
    let (Some((kind, t)), Some((_, o))) = (
        theirs.as_object_mut().and_then(|m| m.iter_mut().next()),
        ours.as_object_mut().and_then(|m| m.iter_mut().next()),
    ) else {
        return;
    };
    let (Some(t), Some(o)) = (t.as_object_mut(), o.as_object_mut()) else { return };
    match kind.as_str() {
        "set" | "map" | "meter" => {
            if o.get("type").is_some_and(|v| v.get("typeof").is_some()) {
                take(fired, "typeof set types (nft 1.1.2)", t, o, "type");
            }
            if let (Some(Value::String(a)), Some(Value::Array(b))) = (t.get("map"), o.get("map"))
                && a.split(" . ").map(|x| Value::String(x.into())).collect::<Vec<_>>() == *b
            {
                take(fired, "concatenated map data as arrays (nft 1.1.0)", t, o, "map");
            }
            if let Some(Value::Array(flags)) = o.get_mut("flags") {
                if flags.iter().any(|f| f == "dynamic")
                    && !t.get("flags").is_some_and(|x| x.to_string().contains("dynamic"))
                {
                    flags.retain(|f| f != "dynamic");
                    fired.insert("`dynamic` set flag (nft 1.0.9)");
                }
                if flags.is_empty() {
                    o.remove("flags");
                }
            }
            if o.contains_key("auto-merge") && !t.contains_key("auto-merge") {
                take(fired, "`auto-merge` (nft 1.1.0)", t, o, "auto-merge");
            }
            let multi = |e: &Value| e.get("elem").and_then(Value::as_object).is_some_and(|m| m.len() > 2);
            if o.get("elem").and_then(Value::as_array).is_some_and(|es| es.iter().any(multi)) {
                take(fired, "several statements per set element (after nft 1.1.6)", t, o, "elem");
            }
        }
        "chain" => {
            take(fired, "chain `dev` (nft 1.1.0)", t, o, "dev");
            take(fired, "chain comments", t, o, "comment");
        }
        "table" => {
            if t.get("flags").is_some_and(Value::is_string) {
                take(fired, "table flags (garbled by nft 1.0.6)", t, o, "flags");
            }
            take(fired, "table comments", t, o, "comment");
        }
        _ => {}
    }
    // nft 1.0.6 prints no JSON for map statements (`update @m { k : v }`), only their text.
    if let (Some(Value::Array(te)), Some(Value::Array(oe))) = (t.get("expr"), o.get("expr"))
        && te.iter().zip(oe).any(|(a, b)| a.is_string() && b.get("map").is_some())
    {
        take(fired, "map statements (text in nft 1.0.6)", t, o, "expr");
    }
    if theirs == ours {
        return;
    }
    let before = (theirs.clone(), ours.clone());
    for v in [&mut *theirs, &mut *ours] {
        flatten_forms(v);
        or_as_list(v);
        sort_sets(v);
    }
    if theirs == ours {
        if (theirs.clone(), ours.clone()) != before {
            fired.insert("nested binary operands, flag lists, one-item arrays (nft < 1.1.0)");
        }
        return;
    }
    let mut unwrapped = ours.clone();
    unwrap_single_sets(&mut unwrapped);
    if unwrapped == *theirs {
        fired.insert("one-element anonymous sets reduced to their element (nft 1.0.6)");
        *ours = unwrapped;
    }
}

/// `{"set": [x]}` as `x` (without element options): nft 1.0.6 reduces such sets on input.
fn unwrap_single_sets(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(unwrap_single_sets),
        Value::Object(map) => {
            map.values_mut().for_each(unwrap_single_sets);
            if let Some(Value::Array(items)) = map.get("set")
                && map.len() == 1
                && let [one] = items.as_slice()
            {
                let plain = one.get("elem").and_then(|e| e.get("val")).unwrap_or(one).clone();
                *v = plain;
            }
        }
        _ => {}
    }
}

/// Make `theirs[key]` what ours is, noting the gap `label` if they differed.
fn take(
    fired: &mut std::collections::BTreeSet<&'static str>,
    label: &'static str,
    t: &mut serde_json::Map<String, Value>,
    o: &serde_json::Map<String, Value>,
    key: &str,
) {
    if t.get(key) != o.get(key) {
        fired.insert(label);
        match o.get(key) {
            Some(v) => t.insert(key.to_string(), v.clone()),
            None => t.remove(key),
        };
    }
}

/// Old and new spellings of the same expression made equal: `{"|": [{"|": [a, b]}, c]}` and
/// `{"|": [a, b, c]}`; a mask written as a flag list `[a, b]`; `["x"]` and `"x"` for flags.
fn flatten_forms(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(flatten_forms),
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                flatten_forms(inner);
                if matches!(k.as_str(), "|" | "&" | "^")
                    && let Value::Array(items) = inner
                {
                    let mut flat = Vec::new();
                    for item in items.drain(..) {
                        match item.get(k.as_str()).and_then(Value::as_array) {
                            Some(nested) => flat.extend(nested.iter().cloned()),
                            None => flat.push(item),
                        }
                    }
                    *items = flat;
                }
                if (k == "flags" || k == "type_flags")
                    && let Value::Array(items) = inner
                    && items.len() == 1
                {
                    *inner = items[0].clone();
                }
            }
        }
        _ => {}
    }
}

/// `{"|": ["a", "b"]}` as the flag list `["a", "b"]` (after [`flatten_forms`]).
fn or_as_list(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(or_as_list),
        Value::Object(map) => {
            map.values_mut().for_each(or_as_list);
            if let Some(Value::Array(bits)) = map.get("|")
                && map.len() == 1
                && bits.iter().all(Value::is_string)
            {
                *v = Value::Array(bits.clone());
            }
        }
        _ => {}
    }
}

/// Sort the members of `{"set": […]}` and `"elem": […]` arrays.
fn sort_sets(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(sort_sets),
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                sort_sets(inner);
                if (k == "set" || k == "elem")
                    && let Value::Array(items) = inner
                {
                    items.sort_by_cached_key(|x| x.to_string());
                }
            }
        }
        _ => {}
    }
}

fn nft_version() -> String {
    Command::new("nft")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
