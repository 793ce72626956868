//! Reading an ipset file (`ipset save` output, or any `ipset restore` input): one command
//! per line — `create NAME TYPE [OPTIONS]`, `add NAME ENTRY [OPTIONS]`, `del NAME ENTRY`,
//! `flush [NAME]`, `destroy [NAME]` — applied in order, as `ipset restore` (without
//! `-exist`) would: adding an element twice or deleting one not there is an error. Every
//! error names its line and column.

use super::entry::parse_entry;
use super::{AddrFamily, Entry, Ipset, Ipsets, Part, SetType};
use nftvm_grammar::{Diagnostic, FileId, SourceMap, Span};
use std::collections::{HashMap, HashSet};

/// A word of a line and where it is.
struct Word<'a> {
    text: &'a str,
    span: Span,
}

/// The words of `line` (at byte `base` of file `file`); `"…"` quotes a word with spaces.
fn words(line: &str, base: usize, file: FileId) -> Result<Vec<Word<'_>>, Diagnostic> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if bytes[i] == b'"' {
            let Some(len) = line[i + 1..].find('"') else {
                return Err(Diagnostic::error(
                    Span::new(file, base + i, base + line.len()),
                    "unterminated string",
                ));
            };
            out.push(Word {
                text: &line[i + 1..i + 1 + len],
                span: Span::new(file, base + i, base + i + len + 2),
            });
            i += len + 2;
            continue;
        }
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push(Word { text: &line[start..i], span: Span::new(file, base + start, base + i) });
    }
    Ok(out)
}

/// The sets file `file` of `sources` defines.
pub fn parse(sources: &SourceMap, file: FileId) -> Result<Ipsets, Vec<Diagnostic>> {
    let text = sources.file(file).text.as_str();
    let mut sets = Ipsets::default();
    // Per set, its elements (an element added twice is an error; a list scan per line made
    // a blocklist of 100,000 entries take seconds).
    let mut stored: HashMap<String, HashSet<Vec<Part>>> = HashMap::new();
    let mut diags = Vec::new();
    let mut base = 0;
    for line in text.split_inclusive('\n') {
        let at = base;
        base += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim_start().starts_with('#') {
            continue;
        }
        let result = words(body, at, file)
            .and_then(|w| command(&mut sets, &mut stored, &w, Span::new(file, at, at + body.len())));
        if let Err(d) = result {
            diags.push(d);
        }
    }
    if diags.is_empty() { Ok(sets) } else { Err(diags) }
}

/// The number after option `opt` (decimal or `0x` hex).
fn number<T: TryFrom<u64>>(w: Option<&Word<'_>>, opt: &Word<'_>) -> Result<T, Diagnostic> {
    let w = w.ok_or_else(|| Diagnostic::error(opt.span, format!("option {} needs a value", opt.text)))?;
    let t = w.text;
    let n = match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| Diagnostic::error(w.span, format!("\"{t}\" is not a valid value for {}", opt.text)))
}

/// Applies one line's command.
fn command(
    sets: &mut Ipsets,
    stored: &mut HashMap<String, HashSet<Vec<Part>>>,
    w: &[Word<'_>],
    line: Span,
) -> Result<(), Diagnostic> {
    // `-exist` may stand on a line; `ipset restore` still refuses an element twice then
    // (only `ipset -exist restore` would not), so it changes nothing here.
    let w: Vec<&Word<'_>> = w.iter().filter(|w| !matches!(w.text, "-exist" | "-!")).collect();
    let Some(cmd) = w.first() else { return Ok(()) };
    let name = w.get(1);
    let need_set = |sets: &mut Ipsets| -> Result<usize, Diagnostic> {
        let n = name.ok_or_else(|| Diagnostic::error(cmd.span, format!("{} needs a set name", cmd.text)))?;
        sets.sets.iter().position(|s| s.name == n.text).ok_or_else(|| {
            Diagnostic::error(n.span, format!("The set with the given name does not exist: {}", n.text))
        })
    };
    match cmd.text {
        "create" | "-N" | "n" => {
            create(sets, &w, line)?;
            stored.insert(w[1].text.to_string(), HashSet::new());
            Ok(())
        }
        "add" | "-A" | "a" | "del" | "-D" | "d" => {
            let i = need_set(sets)?;
            add_or_del(sets, i, stored, &w, line)
        }
        "flush" | "-F" | "destroy" | "-X" | "x" => {
            let keep = |s: &Ipset| name.is_some_and(|n| n.text != s.name);
            if name.is_some() {
                need_set(sets)?;
            }
            for s in sets.sets.iter().filter(|s| !keep(s)) {
                stored.remove(&s.name);
            }
            if matches!(cmd.text, "flush" | "-F") {
                sets.sets.iter_mut().filter(|s| !keep(s)).for_each(|s| s.entries.clear());
            } else {
                sets.sets.retain(keep);
            }
            Ok(())
        }
        "COMMIT" => Ok(()),
        other => Err(Diagnostic::error(
            cmd.span,
            format!("unknown command \"{other}\" (expecting create, add, del, flush or destroy)"),
        )),
    }
}

/// `add` or `del` (by `w[0]`) of an entry of set `i`; `stored` indexes each set's elements.
fn add_or_del(
    sets: &mut Ipsets,
    i: usize,
    stored: &mut HashMap<String, HashSet<Vec<Part>>>,
    w: &[&Word<'_>],
    line: Span,
) -> Result<(), Diagnostic> {
    let cmd = w[0];
    let entry = w.get(2).ok_or_else(|| Diagnostic::error(line, "expected an entry after the set name"))?;
    if sets.sets[i].ty.method == super::Method::List {
        member_exists(sets, i, entry)?;
    }
    let set = &mut sets.sets[i];
    let parts = parse_entry(entry.text, &set.ty, set.family, set.netmask)
        .map_err(|m| Diagnostic::error(entry.span, m))?;
    let elements = stored.entry(set.name.clone()).or_default();
    let present = |p: &Vec<Part>| elements.contains(p);
    if matches!(cmd.text, "del" | "-D" | "d") {
        if !parts.iter().all(present) {
            return Err(Diagnostic::error(
                entry.span,
                "Element cannot be deleted from the set: it's not added",
            ));
        }
        set.entries.retain(|e| !parts.contains(&e.parts));
        parts.iter().for_each(|p| {
            elements.remove(p);
        });
        return Ok(());
    }
    if parts.iter().any(present) {
        return Err(Diagnostic::error(entry.span, "Element cannot be added to the set: it's already added"));
    }
    let mut nomatch = false;
    let mut timeout = None;
    let mut k = 3;
    while let Some(opt) = w.get(k) {
        k += 1;
        match opt.text {
            "nomatch" if set.ty.dims.contains(&super::Dim::Net) => nomatch = true,
            "timeout" => {
                timeout = Some(number(w.get(k).copied(), opt)?);
                k += 1;
            }
            "packets" | "bytes" | "skbmark" | "skbprio" | "skbqueue" | "comment" => k += 1,
            // A list's order does not change what it holds.
            "before" | "after" if set.ty.method == super::Method::List => k += 1,
            _ => {
                return Err(Diagnostic::error(
                    opt.span,
                    format!("Unknown argument: `{}' (for an entry of {})", opt.text, set.ty.name()),
                ));
            }
        }
    }
    if set.timeout.is_none() && timeout.is_some() {
        return Err(Diagnostic::error(
            line,
            format!("set {} has no timeout support (create it with timeout N)", set.name),
        ));
    }
    let timeout = timeout.or(set.timeout);
    for p in parts {
        elements.insert(p.clone());
        set.entries.push(Entry { parts: p, nomatch, timeout, span: entry.span });
    }
    Ok(())
}

/// A `list:set` member must be a set that exists and is not a list itself (ipset's rules).
fn member_exists(sets: &Ipsets, list: usize, entry: &Word<'_>) -> Result<(), Diagnostic> {
    match sets.sets.iter().position(|s| s.name == entry.text) {
        None => Err(Diagnostic::error(
            entry.span,
            format!("The set with the given name does not exist: {}", entry.text),
        )),
        Some(i) if i == list || sets.sets[i].ty.method == super::Method::List => {
            Err(Diagnostic::error(entry.span, "a list:set cannot hold a list:set"))
        }
        Some(_) => Ok(()),
    }
}

/// `create NAME TYPE [OPTIONS]`.
fn create(sets: &mut Ipsets, w: &[&Word<'_>], line: Span) -> Result<(), Diagnostic> {
    let (Some(name), Some(ty)) = (w.get(1), w.get(2)) else {
        return Err(Diagnostic::error(line, "expected create NAME TYPE [OPTIONS]"));
    };
    if name.text.len() >= 32 {
        return Err(Diagnostic::error(name.span, "set names are at most 31 characters"));
    }
    if sets.get(name.text).is_some() {
        return Err(Diagnostic::error(
            name.span,
            format!("Set cannot be created: set with the same name already exists: {}", name.text),
        ));
    }
    let st = SetType::parse(ty.text).ok_or_else(|| {
        Diagnostic::error(ty.span, format!("Syntax error: typename '{}' is unknown", ty.text))
    })?;
    let mut set = Ipset {
        name: name.text.to_string(),
        ty: st,
        family: AddrFamily::V4,
        netmask: None,
        timeout: None,
        counters: false,
        maxelem: None,
        entries: Vec::new(),
        span: name.span,
    };
    let mut k = 3;
    while let Some(opt) = w.get(k) {
        k += 1;
        match opt.text {
            "family" => {
                let v = w.get(k).ok_or_else(|| Diagnostic::error(opt.span, "family needs inet or inet6"))?;
                k += 1;
                set.family = match v.text {
                    "inet" | "ipv4" => AddrFamily::V4,
                    "inet6" | "ipv6" => AddrFamily::V6,
                    t => {
                        return Err(Diagnostic::error(
                            v.span,
                            format!("unknown family \"{t}\" (expecting inet or inet6)"),
                        ));
                    }
                };
            }
            "-4" => set.family = AddrFamily::V4,
            "-6" => set.family = AddrFamily::V6,
            "netmask" => {
                set.netmask = Some(number(w.get(k).copied(), opt)?);
                k += 1;
            }
            "timeout" => {
                set.timeout = Some(number(w.get(k).copied(), opt)?);
                k += 1;
            }
            "counters" => set.counters = true,
            "maxelem" => {
                set.maxelem = Some(number(w.get(k).copied(), opt)?);
                k += 1;
            }
            "comment" | "skbinfo" | "forceadd" | "nomatch" => {}
            "hashsize" | "bucketsize" | "initval" | "size" | "markmask" | "range" | "bitmask" => {
                if w.get(k).is_none() {
                    return Err(Diagnostic::error(opt.span, format!("option {} needs a value", opt.text)));
                }
                k += 1;
            }
            t => return Err(Diagnostic::error(opt.span, format!("unknown option \"{t}\" of create"))),
        }
    }
    if let Some(m) = set.netmask
        && (m == 0 || u32::from(m) > set.family.bits())
    {
        return Err(Diagnostic::error(line, format!("netmask {m} is out of range for the set's family")));
    }
    sets.sets.push(set);
    Ok(())
}
