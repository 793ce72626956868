//! The bytecode of an nft ruleset as the real `nft` generates it, in the VM's program text
//! format: the ruleset is loaded with `nft --debug=netlink` in the oracle's namespace (each
//! rule's bytecode block, anonymous sets included) and its structure (tables, base chains,
//! named sets, ct helper objects) read back with `nft -j list ruleset`.
//!
//! The differential suite runs nftvm's own compiler; this is the reference for its side
//! check ([`compare`]): rule by rule, the expressions nftvm generates against nft's.
//!
//! One thing the 1.0.6 listing loses: it prints constants as whole 32-bit words, so a
//! comparison shorter than its word (a byte-aligned prefix such as `ct original ip saddr
//! 10.0.1.0/24`, which nft compiles to a 3-byte `cmp` on a 4-byte register) reads back as
//! a 4-byte one; [`compare`] lets such a constant match ours when the bytes nft meant agree.
//! And 1.0.6 still writes `a-b` matches as `cmp gte` + `cmp lte` where later versions (and
//! nftvm, following the nftables test payloads) write one `range eq`.

use serde_json::Value;

use crate::common::kernel::Netns;

fn family_num(f: &str) -> u16 {
    match f {
        "ip" => 2,
        "ip6" => 10,
        _ => 1,
    }
}

fn key_spec(t: &Value) -> Option<String> {
    let one = |s: &str| -> Option<&'static str> {
        Some(match s {
            "ipv4_addr" => "4n",
            "ipv6_addr" => "16n",
            "inet_service" => "2n",
            "inet_proto" => "1n",
            "mark" => "4h",
            "ifname" => "16n",
            "ether_addr" => "6n",
            _ => return None,
        })
    };
    match t {
        Value::String(s) => one(s).map(str::to_string),
        Value::Array(parts) => {
            let v: Option<Vec<&str>> = parts.iter().map(|p| p.as_str().and_then(one)).collect();
            v.map(|v| v.join("."))
        }
        _ => None,
    }
}

/// Loads `ruleset` into `netns` and returns the program text for the VM assembler.
pub fn load_and_translate(netns: &Netns, ruleset: &str) -> String {
    let debug = netns.run_with_input("nft", &["--debug=netlink", "-f", "-"], Some(ruleset));
    let json: Value =
        serde_json::from_str(&netns.run("nft", &["-j", "list", "ruleset"])).expect("nft -j output");
    let mut decls = String::new();
    let mut named_sets: Vec<String> = Vec::new();
    for item in json["nftables"].as_array().into_iter().flatten() {
        if let Some(t) = item.get("table") {
            decls += &format!("table {} {}\n", t["family"].as_str().unwrap(), t["name"].as_str().unwrap());
        } else if let Some(c) = item.get("chain") {
            let f = c["family"].as_str().unwrap();
            let mut line =
                format!("chain {f} {} {}", c["table"].as_str().unwrap(), c["name"].as_str().unwrap());
            if let Some(hook) = c.get("hook").and_then(Value::as_str) {
                line += &format!(
                    " type {} hook {hook} priority {} policy {}",
                    c["type"].as_str().unwrap(),
                    c["prio"].as_i64().unwrap(),
                    c["policy"].as_str().unwrap_or("accept")
                );
            }
            decls += &line;
            decls.push('\n');
        } else if let Some(h) = item.get("ct helper") {
            let f = h["family"].as_str().unwrap();
            let l4 = match h["protocol"].as_str().unwrap_or("tcp") {
                "udp" => 17,
                _ => 6,
            };
            decls += &format!(
                "object {f} {} {} ct_helper {} l3proto {} l4proto {l4}\n",
                h["table"].as_str().unwrap(),
                h["name"].as_str().unwrap(),
                h["type"].as_str().unwrap(),
                family_num(h["l3proto"].as_str().unwrap_or(f))
            );
        } else if let Some(s) = item.get("set").or_else(|| item.get("map")) {
            let name = s["name"].as_str().unwrap().to_string();
            let key =
                key_spec(&s["type"]).unwrap_or_else(|| panic!("set type {} not supported here", s["type"]));
            // A data map's values (`"map": "mark"`).
            let data = s.get("map").and_then(key_spec).map(|d| format!(" data {d}")).unwrap_or_default();
            decls += &format!(
                "set {} {} {name} flags 0x0 key {key}{data}\n",
                s["family"].as_str().unwrap(),
                s["table"].as_str().unwrap()
            );
            named_sets.push(name);
        }
    }
    // Rule blocks: blocks whose last header line is `family table chain`. Named-set element
    // listings (`NAME table 0` + element lines) attach to their declaration.
    let mut rules = String::new();
    let mut set_elems: Vec<(String, String)> = Vec::new();
    for block in debug.split("\n\n") {
        let lines: Vec<&str> = block.lines().filter(|l| !l.contains("(null)")).collect();
        if lines.is_empty() {
            continue;
        }
        if lines.iter().any(|l| l.trim_start().starts_with('[')) {
            // A named set's header in a rule block (`NAME table flags`) may carry its timeout,
            // size or collection interval, which the set's declaration (from the JSON
            // listing) has already: the header is kept without them, and left out when no
            // element lines follow it (an empty set).
            let is_header = |l: &str| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() >= 3 && named_sets.iter().any(|n| n == w[0]) && w[2].parse::<u32>().is_ok()
            };
            let mut kept: Vec<String> = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if !is_header(l) {
                    kept.push(l.to_string());
                } else if lines.get(i + 1).is_some_and(|n| n.starts_with('\t')) {
                    kept.push(l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
                }
            }
            let lines = kept;
            rules += &lines.join("\n");
            rules += "\n\n";
        } else {
            // `NAME table 0` (twice), then element lines for a named set.
            let mut cur: Option<String> = None;
            for l in &lines {
                if let Some(e) = l.strip_prefix('\t') {
                    if let Some(n) = &cur {
                        set_elems.push((n.clone(), format!("\t{e}")));
                    }
                } else if let Some(first) = l.split_whitespace().next()
                    && named_sets.iter().any(|n| n == first)
                {
                    cur = Some(first.to_string());
                }
            }
        }
    }
    // Put element lines under their set declarations.
    let mut out = String::new();
    for line in decls.lines() {
        out += line;
        out.push('\n');
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"set") {
            for (n, e) in &set_elems {
                if words.get(3) == Some(&n.as_str()) {
                    out += e;
                    out.push('\n');
                }
            }
        }
    }
    out.push('\n');
    out += &rules;
    out
}

/// nft 1.0.6 (this machine's) prints register data as 32-bit words, each the little-endian
/// number of 4 register bytes; the VM's text format (newer nft) prints network-order values
/// byte by byte and host-order values as whole numbers. The VM assembler reads the 1.0.6
/// digits in its own convention; this turns every constant back into the register bytes
/// nft meant, then prints the program in the VM's format.
pub fn to_vm_text(legacy: &str) -> Result<String, String> {
    use nftvm_vm::data::{ByteOrder, Data, round_up4};
    use nftvm_vm::expr::Expr;
    use nftvm_vm::expr::bitwise::BitwiseOp;
    use nftvm_vm::expr::immediate::ImmValue;
    use nftvm_vm::set::{ElemData, SetData};

    fn fix(d: &mut Data) {
        let mut printed = d.bytes().to_vec();
        if d.order() == ByteOrder::Host {
            printed.reverse();
        }
        let mut mem = Vec::with_capacity(printed.len());
        for chunk in printed.chunks(4) {
            mem.extend(chunk.iter().rev());
        }
        if let Some(n) = Data::new(&mem, d.order()) {
            *d = n;
        }
    }

    /// Per field: fix, then keep the field's own length (padded to 4 in concatenations).
    fn fix_fields(d: &mut Data, fields: &[nftvm_vm::data::Field]) {
        let bytes = d.bytes().to_vec();
        let single = fields.len() <= 1;
        let mut out = Vec::new();
        let mut at = 0;
        for f in fields {
            let width = round_up4(f.len as usize);
            let Some(chunk) = bytes.get(at..(at + width).min(bytes.len())) else { break };
            let Some(mut part) = Data::new(chunk, f.order) else { break };
            fix(&mut part);
            let keep = if single { f.len as usize } else { width };
            let mut b = part.bytes().to_vec();
            b.resize(keep, 0);
            if !single {
                b[f.len as usize..].fill(0);
            }
            out.extend(b);
            at += width;
        }
        if let Some(n) = Data::new(&out, d.order()) {
            *d = n;
        }
    }

    fn fix_expr(e: &mut Expr) {
        match e {
            Expr::Cmp(c) => fix(&mut c.data),
            Expr::Range(r) => {
                fix(&mut r.from);
                fix(&mut r.to);
            }
            Expr::Bitwise(b) => {
                if let BitwiseOp::MaskXor { mask, xor } = &mut b.op {
                    fix(mask);
                    fix(xor);
                }
            }
            Expr::Immediate(i) => {
                if let ImmValue::Data(d) = &mut i.value {
                    fix(d);
                }
            }
            Expr::Dynset(d) => d.exprs.iter_mut().for_each(fix_expr),
            _ => {}
        }
    }

    // 1.0.6 writes an element's data and flags as ` : [DATA] FLAGS [end]` where newer nft
    // writes ` : DATA flags FLAGS`.
    let legacy: String = legacy
        .lines()
        .map(|l| {
            if !l.starts_with('\t') {
                return l.to_string();
            }
            l.split('\t')
                .map(|item| match item.find(" : ").filter(|_| item.trim_end().ends_with("[end]")) {
                    Some(i) => {
                        let tail = item[i + 3..].trim_end().trim_end_matches("[end]");
                        let mut words: Vec<&str> = tail.split_whitespace().collect();
                        let flags = words.pop().unwrap_or("0");
                        let mut out = item[..i].trim_end().to_string();
                        if !words.is_empty() {
                            out = format!("{out} : {}", words.join(" "));
                        }
                        if flags != "0" {
                            out = format!("{out} flags {flags}");
                        }
                        out
                    }
                    None => item.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let legacy = legacy.as_str();
    let mut prog = nftvm_vm::text::assemble(legacy).map_err(|e| format!("assemble: {e}\n{legacy}"))?;
    for chain in &mut prog.chains {
        for rule in &mut chain.rules {
            rule.exprs.iter_mut().for_each(fix_expr);
        }
    }
    for set in &mut prog.sets {
        let key = set.key.clone();
        let data_fields = match &set.data {
            SetData::Value { fields, .. } => Some(fields.clone()),
            _ => None,
        };
        for el in &mut set.elements {
            fix_fields(&mut el.key, &key);
            if let Some(k) = &mut el.key_end {
                fix_fields(k, &key);
            }
            if let (Some(ElemData::Value(v)), Some(f)) = (&mut el.data, &data_fields) {
                fix_fields(v, f);
            }
        }
    }
    Ok(nftvm_vm::text::disassemble(&prog))
}

/// How nftvm's bytecode compares with nft's for one scenario.
#[derive(Debug, Default, Clone)]
pub struct BytecodeCheck {
    /// Rules whose expressions (and anonymous sets' elements) are the same.
    pub equal: usize,
    /// Rules compared (nft's rules; one missing on our side counts as different).
    pub total: usize,
    /// What differed, for the report.
    pub diffs: Vec<String>,
}

/// A rule as comparable lines: its expressions, then its anonymous sets' elements (sorted:
/// nft and nftvm may list them in a different order).
fn rule_lines(p: &nftvm_vm::Program, rule: &nftvm_vm::Rule) -> Vec<String> {
    use nftvm_vm::text::{block, elements};
    let mut lines: Vec<String> = rule.exprs.iter().map(|e| e.line(p).trim().to_string()).collect();
    for set in block::rule_anon_sets(p, rule) {
        if let Some(s) = p.sets.get(set.index()) {
            let mut elems: Vec<String> = s.elements.iter().map(|e| elements::element_text(p, s, e)).collect();
            elems.sort();
            lines.push(format!("{} {}", elements::decl_line(p, s), elems.join(" ")));
        }
    }
    lines
}

/// Is `theirs` (a 1.0.6 constant, whole 32-bit words) the word-padded form of `ours`? A
/// network-order constant is padded after its bytes, a host-order one before its digits.
fn same_hex_but_word_padding(ours: &str, theirs: &str) -> bool {
    let hex = |t: &str| {
        let d = t.strip_prefix("0x").unwrap_or(t);
        (!d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit())).then(|| d.to_string())
    };
    let (Some(a), Some(b)) = (hex(ours), hex(theirs)) else { return false };
    if a.len() >= b.len() || b.len() % 8 != 0 {
        return false;
    }
    let pad = b.len() - a.len();
    let zeros = |t: &str| t.bytes().all(|c| c == b'0');
    (b.starts_with(&a) && zeros(&b[a.len()..])) || (b.ends_with(&a) && zeros(&b[..pad]))
}

/// Do two printed lines say the same, allowing 1.0.6's word-padded constants, its
/// ` size N` on anonymous set declarations and its concatenated keys without ` . `?
fn same_line(ours: &str, theirs: &str) -> bool {
    let words = |l: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = l.split_whitespace().peekable();
        while let Some(w) = it.next() {
            if w == "size" && it.peek().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) {
                it.next();
                continue;
            }
            // 1.0.6 prints a concatenated key as words side by side, newer nft with ` . `.
            if w == "." {
                continue;
            }
            out.push(w.to_string());
        }
        out
    };
    let (o, t) = (words(ours), words(theirs));
    o.len() == t.len() && o.iter().zip(&t).all(|(a, b)| a == b || same_hex_but_word_padding(a, b))
}

/// nft 1.0.6 writes an equality range as `cmp gte` + `cmp lte` (later versions, and
/// nftvm, as one `range eq`; the kernel treats both alike): ours in 1.0.6's form.
fn as_1_0_6(ours: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in ours {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["[", "range", "eq", "reg", r, from, to, "]"] = w.as_slice() {
            out.push(format!("[ cmp gte reg {r} {from} ]"));
            out.push(format!("[ cmp lte reg {r} {to} ]"));
        } else {
            out.push(line.clone());
        }
    }
    out
}

fn same_rule(ours: &[String], theirs: &[String]) -> bool {
    let ours = as_1_0_6(ours);
    ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(o, t)| same_line(o, t))
}

/// nftvm's program against nft's bytecode (`legacy`: the `--debug=netlink` text of
/// [`load_and_translate`]), rule by rule within each chain.
pub fn compare(legacy: &str, ours: &nftvm_vm::Program) -> BytecodeCheck {
    let mut check = BytecodeCheck::default();
    let theirs =
        match to_vm_text(legacy).and_then(|t| nftvm_vm::text::assemble(&t).map_err(|e| e.to_string())) {
            Ok(p) => p,
            Err(e) => {
                check.diffs.push(format!("nft's bytecode cannot be read back: {e}"));
                return check;
            }
        };
    let key = |p: &nftvm_vm::Program, c: &nftvm_vm::program::Chain| {
        let t = p.table(c.table);
        format!("{} {} {}", t.map_or("?", |t| t.family.name()), t.map_or("?", |t| t.name.as_str()), c.name)
    };
    for tc in &theirs.chains {
        let name = key(&theirs, tc);
        let oc = ours.chains.iter().find(|c| key(ours, c) == name);
        for (i, tr) in tc.rules.iter().enumerate() {
            check.total += 1;
            let t = rule_lines(&theirs, tr);
            let o = oc.and_then(|c| c.rules.get(i)).map(|r| rule_lines(ours, r)).unwrap_or_default();
            if same_rule(&o, &t) {
                check.equal += 1;
            } else {
                check.diffs.push(format!(
                    "{name} rule {i} ({}):\n    nft   {}\n    nftvm {}",
                    tr.comment.as_deref().unwrap_or("?"),
                    t.join("\n          "),
                    o.join("\n          ")
                ));
            }
        }
    }
    check
}
