//! Oracle test: the canonical listings in nftables' py tests (`RULE;ok;LISTING`, or the rule
//! itself when it lists unchanged) checked against our selector names and datatype printing.
//!
//! Rules that are one selector and one value (`ct state 8` → `ct state new`, `ip dscp 0x38`
//! → `ip dscp cs7`, `ct expiration 233` → `ct expiration 3m53s`) are parsed with our types
//! and printed back as the py tests print (`-nn`: numeric protocols, `TZ=UTC-2`).

use super::{PrintOpts, Type, Value};
use crate::peer_data::tests_py_files;
use crate::proto::selector::{Selector, resolve};

/// Parse a value the way the evaluator will: flag lists OR'ed for bitmask types, string
/// wildcards kept as prefixes.
fn parse_value(ty: Type, bits: u32, order: super::ByteOrder, text: &str) -> Option<Value> {
    let unquoted = text.trim_matches('"');
    if ty.is_bitmask() && unquoted.contains(',') {
        let mut acc: Option<Value> = None;
        for part in unquoted.split(',') {
            let v = ty.parse_as(part, bits, order).ok()?;
            acc = Some(match acc {
                Some(a) => a.or(&v).ok()?,
                None => v,
            });
        }
        return acc;
    }
    if ty.is_string() {
        return match super::string_match(unquoted) {
            super::StringMatch::Prefix(_) => None,
            super::StringMatch::Exact(e) => ty.parse_as(&e, bits, order).ok(),
        };
    }
    ty.parse_as(unquoted, bits, order).ok()
}

fn print_value(ty: Type, v: &Value, opts: &PrintOpts) -> String {
    if ty.is_bitmask() && v.to_u128().is_some_and(|n| n.count_ones() > 1) {
        ty.print_flags(v, ",", opts)
    } else {
        ty.print(v, opts)
    }
}

#[test]
fn values_list_as_nfts_py_tests_expect() {
    // nft's py tests run with TZ=UTC-2; hours and dates need that offset.
    let tz_ok = super::local_offset_secs() == 7200;
    let opts = PrintOpts { numeric_proto: true, ..PrintOpts::default() };
    let files = tests_py_files(|name| name.ends_with(".t"));
    let (mut checked, mut failures) = (0usize, Vec::new());
    let (mut fail_checked, mut fail_rejected) = (0usize, 0usize);
    let mut accepted_fails = Vec::new();
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
            if line.is_empty() || line.starts_with(['#', ':', '*', '!', '?', '%', '-']) {
                continue;
            }
            let fields: Vec<&str> = line.split(';').collect();
            let (rule, status) = match fields.as_slice() {
                [r, s, ..] => (*r, *s),
                _ => continue,
            };
            let expected = fields.get(2).copied().unwrap_or(rule);
            let words: Vec<&str> = rule.split_whitespace().collect();
            let Ok(res) = resolve(&words) else { continue };
            let [value] = &words[res.consumed..] else { continue };
            if value.contains(['{', '(', '/', '$', '@']) || value.starts_with('-') {
                continue;
            }
            let Some((ty, bits, order)) = res.selector.value_type() else { continue };
            // Resolved by the table's family (`rt nexthop` in ip6 lists as `rt ip6 nexthop`),
            // or rewritten by the evaluator (`fib … oif exists` lists as `fib … check`).
            if matches!(res.selector, Selector::Rt { family: None, .. })
                || (matches!(res.selector, Selector::Fib { .. }) && matches!(*value, "exists" | "missing"))
            {
                continue;
            }
            if matches!(ty, Type::Hour | Type::Date) && !tz_ok {
                continue;
            }
            if let Some((lo, hi)) = value.split_once('-')
                && ty.parse_as(lo, bits, order).is_ok()
                && ty.parse_as(hi, bits, order).is_ok()
            {
                continue; // a range; the printer's business
            }
            if status == "fail" {
                // A failing one-value rule whose selector resolves must fail on the value.
                fail_checked += 1;
                let parsed = parse_value(ty, bits, order, value);
                let over = match (&parsed, res.selector.max_value()) {
                    (Some(v), Some(max)) => v.to_u128().is_some_and(|n| n > max),
                    _ => false,
                };
                if parsed.is_none() || over {
                    fail_rejected += 1;
                } else {
                    accepted_fails.push(rule.to_string());
                }
                continue;
            }
            if status != "ok" {
                continue;
            }
            let exp_words: Vec<&str> = expected.split_whitespace().collect();
            let Ok(exp_res) = resolve(&exp_words) else { continue };
            let [exp_value] = &exp_words[exp_res.consumed..] else { continue };
            checked += 1;
            let canonical = res.selector.canonical();
            if canonical != exp_words[..exp_res.consumed].join(" ")
                && !matches!(res.selector, Selector::Raw { .. })
            {
                failures.push(format!("{rule}: selector lists as `{canonical}`, nft: `{expected}`"));
                continue;
            }
            match parse_value(ty, bits, order, value) {
                Some(v) => {
                    let printed = print_value(ty, &v, &opts);
                    if printed != *exp_value {
                        failures.push(format!("{rule}: value lists as `{printed}`, nft: `{exp_value}`"));
                    }
                }
                None if value.contains('*') => checked -= 1,
                None => failures.push(format!("{rule}: cannot parse `{value}` as {ty}")),
            }
        }
    }
    let passed = checked - failures.len();
    println!("listing oracle: {passed}/{checked} one-value rules list as nft lists them");
    println!("listing oracle: {fail_rejected}/{fail_checked} one-value `fail` rules rejected by the value");
    for f in &accepted_fails {
        println!("  accepted: {f}");
    }
    for f in failures.iter().take(40) {
        println!("  {f}");
    }
    assert!(checked > 300, "only {checked} rules compared");
    assert!(failures.is_empty(), "{} listings differ", failures.len());
}
