//! A classifier as text: one declaration line, then tab-indented lines for its recipes,
//! fields and entries (like a set's elements). The tree is not printed: it is rebuilt from
//! the definition.
//!
//! ```text
//! classifier ip filter __classify0 chain input first 2
//! <TAB>recipe 4 [ payload load 4b @ network header + 12 => reg 1 ]
//! <TAB>recipe 2 [ payload load 2b @ transport header + 2 => reg 1 ]
//! <TAB>field 0 recipe 0 bytes 0-3
//! <TAB>field 1 recipe 1 bytes 0-1
//! <TAB>entry 0 f0 0x0a000000-0x0affffff f1 0x0016
//! <TAB>entry 1 f1 0x0050 | f1 0x01bb
//! <TAB>entry 2 *
//! ```
//!
//! A field's values print as hex numbers of its width; `lo-hi` is a closed range; fields an
//! entry does not test are left out (`*` when it tests none); `|` separates the boxes of an
//! entry; `none` is an entry that matches nothing.

use super::{ABSENT, Classifier, Entry, Field, Interval, Recipe};
use crate::expr::Expr;
use crate::program::{Program, TableId};
use crate::text::asm::Asm;
use crate::text::cursor::{Cursor, PResult};
use std::fmt::Write;

/// The declaration and its lines (each line ends with a newline).
pub fn print(p: &Program, c: &Classifier) -> String {
    let mut o = String::new();
    let t = p.table(c.table);
    let _ = writeln!(
        o,
        "classifier {} {} {} chain {} first {}",
        t.map_or("?", |t| t.family.name()),
        t.map_or("?", |t| t.name.as_str()),
        c.name,
        p.chain_name(c.chain),
        c.first
    );
    for r in &c.recipes {
        let _ = write!(o, "\trecipe {}", r.len);
        for e in &r.exprs {
            let _ = write!(o, " {}", e.line(p).trim());
        }
        o.push('\n');
    }
    for (i, f) in c.fields.iter().enumerate() {
        let _ = writeln!(o, "\tfield {i} recipe {} bytes {}-{}", f.recipe, f.offset, f.offset + f.width - 1);
    }
    for (i, e) in c.entries.iter().enumerate() {
        let _ = writeln!(o, "\tentry {i} {}", entry_text(c, e));
    }
    o
}

/// One entry's boxes (`f0 0x0a000000-0x0affffff f1 0x0016 | …`).
pub fn entry_text(c: &Classifier, e: &Entry) -> String {
    if e.boxes.is_empty() {
        return "none".into();
    }
    let boxes: Vec<String> = e
        .boxes
        .iter()
        .map(|b| {
            let parts: Vec<String> = b
                .iter()
                .enumerate()
                .filter(|(_, iv)| !iv.is_any())
                .map(|(f, iv)| {
                    let digits = c.fields.get(f).map_or(8, |x| 2 * x.width as usize);
                    let num =
                        |v: u64| if v >= ABSENT { "absent".to_string() } else { format!("0x{v:0digits$x}") };
                    if iv.lo == iv.hi {
                        format!("f{f} {}", num(iv.lo))
                    } else {
                        format!("f{f} {}-{}", num(iv.lo), num(iv.hi))
                    }
                })
                .collect();
            if parts.is_empty() { "*".to_string() } else { parts.join(" ") }
        })
        .collect();
    boxes.join(" | ")
}

/// Parses a declaration (`line`) and its tab-indented lines into a classifier of `prog`
/// (its tree not yet built).
pub fn parse(prog: &mut Program, line: &str, lines: &[&str]) -> PResult<Classifier> {
    let mut c = Cursor::new(line);
    c.expect("classifier")?;
    let f = c.next()?;
    let family = crate::keys::Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
    let tname = c.next()?;
    let table = prog.find_table(family, tname).ok_or_else(|| format!("unknown table {f} {tname}"))?;
    let name = c.next()?.to_string();
    c.expect("chain")?;
    let cname = c.next()?;
    let chain = prog.find_chain(table, cname).ok_or_else(|| format!("unknown chain `{cname}`"))?;
    c.expect("first")?;
    let first: u32 = c.num()?;
    c.done()?;
    let mut cl = Classifier {
        name,
        table,
        chain,
        first,
        recipes: Vec::new(),
        fields: Vec::new(),
        entries: Vec::new(),
        tree: Default::default(),
    };
    for l in lines {
        let t = l.trim();
        let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        match word {
            "recipe" => cl.recipes.push(parse_recipe(prog, table, family, rest)?),
            "field" => cl.fields.push(parse_field(rest)?),
            "entry" => cl.entries.push(parse_entry(&cl.fields, rest, cl.entries.len())?),
            _ => return Err(format!("unknown classifier line `{t}`")),
        }
    }
    Ok(cl)
}

fn parse_recipe(
    prog: &mut Program,
    table: TableId,
    family: crate::keys::Family,
    rest: &str,
) -> PResult<Recipe> {
    let (len, exprs_text) =
        rest.trim().split_once(char::is_whitespace).ok_or("recipe needs a length and expressions")?;
    let len: u8 = len.parse().map_err(|_| format!("bad recipe length `{len}`"))?;
    let mut a = Asm::new(prog, table, family, false);
    let mut exprs = Vec::new();
    let mut s = exprs_text.trim();
    while !s.is_empty() {
        let end = s.find(']').ok_or("unterminated `[` in a recipe")?;
        a.expr_index = exprs.len();
        exprs.push(Expr::parse_line(&s[..=end], &mut a)?);
        s = s[end + 1..].trim_start();
    }
    Ok(Recipe { exprs, len })
}

fn parse_field(rest: &str) -> PResult<Field> {
    let mut c = Cursor::new(rest);
    let _index: u32 = c.num()?;
    c.expect("recipe")?;
    let recipe: u8 = c.num()?;
    c.expect("bytes")?;
    let span = c.next()?;
    let (a, b) = span.split_once('-').ok_or_else(|| format!("expected `FIRST-LAST`, found `{span}`"))?;
    let a: u8 = a.parse().map_err(|_| format!("bad byte `{a}`"))?;
    let b: u8 = b.parse().map_err(|_| format!("bad byte `{b}`"))?;
    c.done()?;
    if b < a || b - a >= 4 {
        return Err(format!("a field is 1 to 4 bytes, not bytes {a}-{b}"));
    }
    Ok(Field { recipe, offset: a, width: b - a + 1 })
}

fn parse_entry(fields: &[Field], rest: &str, expected: usize) -> PResult<Entry> {
    let rest = rest.trim();
    let (index, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if index.parse::<usize>().ok() != Some(expected) {
        return Err(format!("entry `{index}` out of order (expected {expected})"));
    }
    let body = body.trim();
    if body == "none" {
        return Ok(Entry::default());
    }
    let mut boxes = Vec::new();
    for part in body.split('|') {
        let mut b = vec![Interval::ANY; fields.len()];
        let toks: Vec<&str> = part.split_whitespace().collect();
        if toks != ["*"] {
            if !toks.len().is_multiple_of(2) {
                return Err(format!("expected `fN VALUE` pairs in `{}`", part.trim()));
            }
            for pair in toks.chunks(2) {
                let f: usize = pair[0]
                    .strip_prefix('f')
                    .and_then(|n| n.parse().ok())
                    .filter(|&n: &usize| n < fields.len())
                    .ok_or_else(|| format!("unknown field `{}`", pair[0]))?;
                b[f] = parse_interval(pair[1])?;
            }
        }
        boxes.push(b);
    }
    Ok(Entry { boxes })
}

fn parse_interval(s: &str) -> PResult<Interval> {
    let num = |t: &str| -> PResult<u64> {
        if t == "absent" {
            return Ok(ABSENT);
        }
        let h = t.strip_prefix("0x").ok_or_else(|| format!("expected a hex value, found `{t}`"))?;
        u64::from_str_radix(h, 16).ok().filter(|&v| v <= ABSENT).ok_or_else(|| format!("bad value `{t}`"))
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let v = num(s)?;
            (v, v)
        }
    };
    if lo > hi {
        return Err(format!("empty range `{s}`"));
    }
    Ok(Interval { lo, hi })
}
