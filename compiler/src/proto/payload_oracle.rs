//! Oracle test: nftables' own `.t.payload` files (the bytecode `nft --debug=netlink` printed
//! for each rule) checked against our templates.
//!
//! For every block whose rule starts with a selector followed by a single value, resolve the
//! selector and compare with what nft generated: the load (base, offset, length, key and
//! direction), the `bitwise` mask of bit fields, the encoding of the value in the `cmp`, and
//! the implicit dependencies before the load. Mismatches are printed; the pass rate must stay
//! at the recorded floor.

use super::deps::{Guard, GuardKey, ProtoCtx};
use super::exthdr::ExthdrOp;
use super::selector::{Selector, resolve};
use super::{Field, Proto};
use crate::peer_data::{tests_py_dir, tests_py_files};
use crate::types::{ByteOrder, Type, Value};
use nftvm_vm::keys::{Family, PayloadBase};

/// One `# rule` block: the rule, its family and its expression lines.
struct Block {
    rule: String,
    family: Option<Family>,
    exprs: Vec<String>,
}

/// Blocks of a payload file; a `.payload.<family>` suffix names the family (some headers in
/// those files name another one).
fn blocks(text: &str, file_family: Option<Family>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines() {
        if let Some(rule) = line.strip_prefix("# ") {
            out.push(Block { rule: rule.to_string(), family: file_family, exprs: Vec::new() });
        } else if let Some(b) = out.last_mut() {
            let t = line.trim();
            if t.starts_with('[') {
                b.exprs.push(t.to_string());
            } else if b.family.is_none() && !t.is_empty() && !t.starts_with("__") && !t.starts_with("element")
            {
                b.family = t.split_whitespace().next().and_then(Family::from_name);
            }
        }
    }
    out
}

/// Data as `--debug=netlink` prints it: 32-bit words, host-order integers byte-swapped per
/// word, everything else in memory order.
fn netlink_hex(v: &Value, ty: Type) -> String {
    let swap = v.order() == ByteOrder::Host && !ty.is_string();
    v.bytes()
        .chunks(4)
        .map(|w| {
            let bytes: Vec<u8> = if swap { w.iter().rev().copied().collect() } else { w.to_vec() };
            format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn base_word(b: PayloadBase) -> &'static str {
    match b {
        PayloadBase::Link => "link",
        PayloadBase::Network => "network",
        PayloadBase::Transport => "transport",
        PayloadBase::Inner => "inner",
        PayloadBase::Tunnel => "tunnel",
    }
}

fn guard_lines(g: &Guard, ctx_ll_offset: u32) -> Vec<String> {
    let load = match g.key {
        GuardKey::Meta(k) => format!("[ meta load {} => reg 1 ]", k.name()),
        GuardKey::Payload { proto, field } => {
            let (off, len) = field.load_span();
            let extra = if proto.base() == PayloadBase::Link { ctx_ll_offset / 8 } else { 0 };
            format!("[ payload load {len}b @ {} header + {} => reg 1 ]", base_word(proto.base()), off + extra)
        }
    };
    let check = if g.values.len() == 1 {
        format!("[ cmp eq reg 1 {} ]", netlink_hex(&g.values[0], g.ty))
    } else {
        "[ lookup".to_string()
    };
    vec![load, check]
}

/// The load line nft prints for a selector (None: not checked), and the field, if any.
fn expected_load(sel: &Selector, ll_offset: u32, prefix: Option<u32>) -> Option<(String, Option<Field>)> {
    match sel {
        Selector::Payload { proto, field } => {
            let (off, len) = match prefix {
                Some(p) => field.prefix_load_span(p),
                None => field.load_span(),
            };
            let extra = if proto.base() == PayloadBase::Link { ll_offset / 8 } else { 0 };
            let line = format!(
                "[ payload load {len}b @ {} header + {} => reg 1 ]",
                base_word(proto.base()),
                off + extra
            );
            Some((line, Some(*field)))
        }
        Selector::Meta(m) => Some((format!("[ meta load {} => reg 1 ]", m.key.name()), None)),
        Selector::Ct { key, dir } => {
            let dir = match (dir, key.dir) {
                (Some(d), super::ct::DirRule::Optional | super::ct::DirRule::Required) => {
                    format!(" , dir {}", d.name())
                }
                _ => String::new(),
            };
            Some((format!("[ ct load {} => reg 1{dir} ]", key.key.name()), None))
        }
        Selector::Exthdr { op, kind, field, .. } => {
            let opname = op.netlink_name();
            let opname = if opname.is_empty() { String::new() } else { format!("{opname} ") };
            let line = match field {
                Some(f) => {
                    let (off, len) = f.load_span();
                    format!("[ exthdr load {opname}{len}b @ {kind} + {off} => reg 1 ]")
                }
                None if *op == ExthdrOp::Ipv6 => {
                    format!("[ exthdr load {opname}1b @ {kind} + 0 present => reg 1 ]")
                }
                None => format!("[ exthdr load {opname}1b @ {kind} + 0 present => reg 1 ]"),
            };
            Some((line, *field))
        }
        Selector::Raw { base, field } => {
            let (off, len) = field.load_span();
            Some((
                format!("[ payload load {len}b @ {} header + {off} => reg 1 ]", base_word(*base)),
                Some(*field),
            ))
        }
        _ => None,
    }
}

const OPS: &[&str] = &["==", "eq", "!=", "ne"];
const RELOPS: &[&str] = &["<", ">", "<=", ">=", "lt", "gt", "le", "ge"];

fn tokens(rule: &str) -> Vec<String> {
    rule.split_whitespace().map(|t| t.trim_matches('"').to_string()).collect()
}

#[derive(Default)]
struct Tally {
    checked: usize,
    passed: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checked += 1;
        if ok {
            self.passed += 1;
        } else if self.failures.len() < 40 {
            self.failures.push(what());
        }
    }
}

fn check_block(b: &Block, loads: &mut Tally, values: &mut Tally, deps: &mut Tally) {
    let toks = tokens(&b.rule);
    let words: Vec<&str> = toks.iter().map(String::as_str).collect();
    let Ok(res) = resolve(&words) else { return };
    let rest = &words[res.consumed..];
    let single = match rest {
        [v] => Some(("==", *v)),
        [op, v] if OPS.contains(op) => Some((*op, *v)),
        _ => None,
    };
    // Other rules: only a set or an ordered comparison after the selector (no statements,
    // concatenations or further selectors, whose loads nft may merge).
    let set_or_cmp = match rest {
        [first, ..] if first.starts_with('{') => rest.last().is_some_and(|l| l.ends_with('}')),
        [op, v] if RELOPS.contains(op) => !v.contains(['{', '.']),
        [op, first, ..] if OPS.contains(op) && first.starts_with('{') => {
            rest.last().is_some_and(|l| l.ends_with('}'))
        }
        _ => false,
    };
    if single.is_none()
        && (!set_or_cmp || rest.iter().any(|t| matches!(*t, "." | ":" | "map" | "vmap" | "set")))
    {
        return;
    }
    let family = b.family.unwrap_or(Family::Ip);
    let mut ctx = ProtoCtx::new(family);
    let mut guards = Vec::new();
    if let Selector::Payload { proto, field } = &res.selector {
        match ctx.dependencies(*proto) {
            Ok(g) => {
                guards = g;
                guards.extend(ProtoCtx::icmp_guard(field, None));
            }
            Err(e) => {
                deps.check(false, || format!("{}: {}", b.rule, e.message));
                return;
            }
        }
    }
    if let Selector::Exthdr { op, .. } = &res.selector {
        match ctx.exthdr_dependencies(*op) {
            Ok(g) => guards = g,
            Err(e) => {
                deps.check(false, || format!("{}: {}", b.rule, e.message));
                return;
            }
        }
    }
    let prefix = single.and_then(|(_, v)| v.split_once('/')).and_then(|(_, p)| p.parse::<u32>().ok());
    let Some((load, field)) = expected_load(&res.selector, ctx.ll_offset(), prefix) else { return };
    // With a single value the selector's load is the last one; otherwise it is the first
    // after the dependencies (payload and meta/ct selectors only).
    let pos = match single {
        Some(_) => b.exprs.iter().rposition(|l| l.contains(" load ")),
        None => match res.selector {
            Selector::Payload { .. } | Selector::Meta(_) | Selector::Ct { .. } => Some(guards.len() * 2),
            _ => None,
        },
    };
    let Some(pos) = pos.filter(|&p| p < b.exprs.len()) else { return };
    let actual = &b.exprs[pos];
    let ok = actual == &load || (actual.starts_with(&load[..load.len() - 1]) && load.contains("present"));
    loads.check(ok, || format!("{} [{family}]: want {load} got {actual}", b.rule));
    if !ok {
        return;
    }
    // Dependencies: the lines before the load.
    if matches!(res.selector, Selector::Payload { .. } | Selector::Exthdr { .. }) {
        let want: Vec<String> = guards.iter().flat_map(|g| guard_lines(g, 0)).collect();
        let got: Vec<&String> = b.exprs[..pos].iter().collect();
        let same = want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| g.starts_with(w.as_str()));
        deps.check(same, || format!("{} [{family}]: deps want {want:?} got {got:?}", b.rule));
    }
    // The value: parsed by our datatype, shifted into place, encoded as nft prints it.
    let Some((op, value)) = single else { return };
    if value.contains(['{', '}', '(', ')', '/', ',', '@', '$']) {
        return;
    }
    let Some((ty, bits, order)) = res.selector.value_type() else { return };
    if let Some((lo, hi)) = value.split_once('-')
        && ty.parse_as(lo, bits, order).is_ok()
        && ty.parse_as(hi, bits, order).is_ok()
    {
        return; // a range
    }
    let parsed = match crate::types::string_match(value) {
        crate::types::StringMatch::Prefix(p) if ty.is_string() => Ok(Value::raw_string(&p)),
        crate::types::StringMatch::Exact(e) if ty.is_string() => ty.parse_as(&e, bits, order),
        _ => ty.parse_as(value, bits, order),
    };
    let Ok(v) = parsed else {
        values.check(false, || format!("{}: cannot parse `{value}` as {ty}", b.rule));
        return;
    };
    let mut rest_lines = b.exprs[pos + 1..].iter();
    let mut next = rest_lines.next();
    let (v, ty) = match field {
        Some(f) if f.is_bitfield() => {
            let Some(mask) = f.mask() else { return };
            let want_mask = format!("[ bitwise reg 1 = ( reg 1 & {} ) ^ ", netlink_hex(&mask, Type::Integer));
            let got = next.map(String::as_str).unwrap_or("");
            values.check(got.starts_with(&want_mask), || format!("{}: want {want_mask} got {got}", b.rule));
            next = rest_lines.next();
            let n = v.to_u128().unwrap_or(0) << f.shift();
            match Value::from_uint(mask.bits(), ByteOrder::Network, n) {
                Ok(shifted) => (shifted, Type::Integer),
                Err(_) => return,
            }
        }
        _ => (v, ty),
    };
    let Some(cmp) = next else { return };
    let Some(rest) = cmp.strip_prefix("[ cmp ") else { return };
    let want_op = if op == "!=" || op == "ne" { "neq" } else { "eq" };
    let want = format!("{want_op} reg 1 {} ]", netlink_hex(&v, ty));
    values.check(rest == want, || format!("{}: want cmp {want} got {cmp}", b.rule));
}

#[test]
fn templates_agree_with_nft_payload_files() {
    let files = tests_py_files(|name| name.contains(".t.payload"));
    assert!(!files.is_empty(), "no payload files under {}", tests_py_dir().display());
    let (mut loads, mut values, mut deps) = (Tally::default(), Tally::default(), Tally::default());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let file_family = f.extension().and_then(|e| e.to_str()).and_then(Family::from_name);
        for b in blocks(&text, file_family) {
            check_block(&b, &mut loads, &mut values, &mut deps);
        }
    }
    for (name, t, floor) in [("loads", &loads, 1.0), ("values", &values, 1.0), ("dependencies", &deps, 1.0)] {
        let rate = t.passed as f64 / t.checked.max(1) as f64;
        println!("payload oracle {name}: {}/{} = {:.1}%", t.passed, t.checked, rate * 100.0);
        for f in &t.failures {
            println!("  {f}");
        }
        assert!(t.checked > 100, "{name}: only {} cases", t.checked);
        assert!(rate + 1e-9 >= floor, "{name}: {:.1}% below the floor {:.1}%", rate * 100.0, floor * 100.0);
    }
}

#[test]
fn value_encoding_matches_netlink_text() {
    let v = Type::InetService.parse("22").unwrap();
    assert_eq!(netlink_hex(&v, Type::InetService), "0x0016");
    let m = Type::Mark.parse("4").unwrap();
    assert_eq!(netlink_hex(&m, Type::Mark), "0x00000004");
    let s = Type::IfName.parse("dummy0").unwrap();
    assert_eq!(netlink_hex(&s, Type::IfName), "0x64756d6d 0x79300000 0x00000000 0x00000000");
    let _ = Proto::Tcp;
}

/// Words that start a statement rather than a selector.
const STATEMENTS: &[&str] = &[
    "accept",
    "drop",
    "reject",
    "counter",
    "limit",
    "log",
    "queue",
    "quota",
    "dnat",
    "snat",
    "masquerade",
    "redirect",
    "dup",
    "fwd",
    "synproxy",
    "notrack",
    "last",
    "add",
    "delete",
    "reset",
    "update",
    "tproxy",
    "jump",
    "goto",
    "return",
    "continue",
];

#[test]
fn every_ok_rule_starts_with_a_resolvable_selector() {
    let files = tests_py_files(|name| name.ends_with(".t"));
    let (mut total, mut bad) = (0, Vec::new());
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap_or_default().lines() {
            if line.is_empty() || line.starts_with(['#', ':', '*', '!', '?', '%', '-']) {
                continue;
            }
            let mut parts = line.split(';');
            let rule = parts.next().unwrap_or("");
            if parts.next() != Some("ok") {
                continue;
            }
            let toks = tokens(rule);
            let words: Vec<&str> = toks.iter().map(String::as_str).collect();
            let first = words.first().copied().unwrap_or("");
            if STATEMENTS.contains(&first)
                || (first == "ct" && matches!(words.get(1), Some(&("count" | "expectation" | "timeout"))))
            {
                continue;
            }
            total += 1;
            if let Err(e) = resolve(&words) {
                bad.push(format!("{rule}: {}", e.message));
            }
        }
    }
    println!("selector resolution: {}/{total} ok rules", total - bad.len());
    assert!(total > 1000, "only {total} rules");
    assert!(bad.is_empty(), "unresolved selectors:\n{}", bad.join("\n"));
}
