//! Set declaration and element lines: `__set%d test-ip4 7 size 2`, `__set%d test-ip4 0`,
//! and the tab-separated `element 0a000000 . 000a - … : accept flags 1` list.

use crate::data::{ByteOrder, Data, Field};
use crate::expr::immediate::print_verdict;
use crate::program::Program;
use crate::set::{ElemData, Element, Set, SetData, Udata};
use crate::text::asm::Asm;
use crate::text::cursor::{PResult, parse_hex};
use crate::verdict::Verdict;
use std::fmt::Write;

/// `NAME TABLE FLAGS [timeout Nms] [gc_interval Nms] [policy N] [size N]`.
pub fn decl_line(p: &Program, s: &Set) -> String {
    let table = p.table(s.table).map_or("?", |t| t.name.as_str());
    let mut o = format!("{} {table} {:x}", s.name, s.flags);
    if let Some(t) = s.timeout_ms {
        let _ = write!(o, " timeout {t}ms");
    }
    if let Some(g) = s.gc_interval_ms {
        let _ = write!(o, " gc_interval {g}ms");
    }
    if let Some(pol) = s.policy {
        let _ = write!(o, " policy {pol}");
    }
    if let Some(size) = s.size {
        let _ = write!(o, " size {size}");
    }
    o
}

/// The parsed attributes of a declaration line.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: String,
    pub table: String,
    pub flags: u32,
    pub timeout_ms: Option<u64>,
    pub gc_interval_ms: Option<u32>,
    pub policy: Option<u32>,
    pub size: Option<u32>,
}

pub fn parse_decl(line: &str) -> PResult<Decl> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() < 3 {
        return Err(format!("set declaration needs NAME TABLE FLAGS: `{line}`"));
    }
    let flags = u32::from_str_radix(t[2], 16).map_err(|_| format!("bad set flags `{}`", t[2]))?;
    let mut d = Decl {
        name: t[0].to_string(),
        table: t[1].to_string(),
        flags,
        timeout_ms: None,
        gc_interval_ms: None,
        policy: None,
        size: None,
    };
    let mut i = 3;
    while i < t.len() {
        let v = t.get(i + 1).copied().ok_or_else(|| format!("`{}` needs a value", t[i]))?;
        let ms = |v: &str| v.strip_suffix("ms").and_then(|n| n.parse::<u64>().ok());
        match t[i] {
            "timeout" => d.timeout_ms = Some(ms(v).ok_or("bad timeout")?),
            "gc_interval" => d.gc_interval_ms = Some(ms(v).ok_or("bad gc_interval")? as u32),
            "policy" => d.policy = Some(v.parse().map_err(|_| "bad policy")?),
            "size" => d.size = Some(v.parse().map_err(|_| "bad size")?),
            w => return Err(format!("unknown set attribute `{w}`")),
        }
        i += 2;
    }
    Ok(d)
}

/// The elements as one line of `\telement …` items (empty string for no elements).
pub fn elements_line(p: &Program, s: &Set) -> String {
    let mut o = String::new();
    for e in &s.elements {
        o.push('\t');
        o.push_str(&element_text(p, s, e));
    }
    o
}

pub fn element_text(p: &Program, s: &Set, e: &Element) -> String {
    let mut o = String::from("element ");
    e.key.write_fields(&mut o, &s.key);
    if let Some(end) = &e.key_end {
        o.push_str(" - ");
        end.write_fields(&mut o, &s.key);
    }
    if let Some(d) = &e.data {
        o.push_str(" : ");
        match d {
            ElemData::Value(v) => v.write_fields(&mut o, s.data_fields()),
            ElemData::Verdict(v) => print_verdict(*v, p, &mut o),
            ElemData::Object(id) => o.push_str(p.object_name(*id)),
        }
    }
    if e.flags != 0 {
        let _ = write!(o, " flags {}", e.flags);
    }
    if let Some(t) = e.timeout_ms {
        let _ = write!(o, " timeout {t}ms");
    }
    if let Some(t) = e.expires_ms {
        let _ = write!(o, " expires {t}ms");
    }
    if let Some(u) = e.udata {
        let _ = write!(o, "  userdata len {} sum 0x{:x}", u.len, u.sum);
    }
    o
}

/// Parses a `\telement …\telement …` line into `set`: elements are read with the key and
/// data orders the set has (network for fields not yet known); field lengths of a set
/// without fields are taken from the first element.
pub fn parse_elements(line: &str, set_id: crate::program::SetId, a: &mut Asm) -> PResult<()> {
    for item in line.split('\t').map(str::trim).filter(|s| !s.is_empty()) {
        let text =
            item.strip_prefix("element").ok_or_else(|| format!("expected `element`, found `{item}`"))?;
        let e = parse_element(text, set_id, a)?;
        if let Some(s) = a.prog.sets.get_mut(set_id.index()) {
            s.elements.push(e);
        }
    }
    Ok(())
}

fn is_value_token(t: &str) -> bool {
    t == "."
        || (!t.is_empty()
            && t.len().is_multiple_of(2)
            && t.len() <= 8
            && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_element(text: &str, set_id: crate::program::SetId, a: &mut Asm) -> PResult<Element> {
    let (main, udata) = match text.find(" userdata len ") {
        Some(i) => (&text[..i], Some(&text[i + " userdata len ".len()..])),
        None => (text, None),
    };
    let toks: Vec<&str> = main.split_whitespace().collect();
    let mut i = 0;
    let take_value = |i: &mut usize| {
        let start = *i;
        while *i < toks.len() && is_value_token(toks[*i]) {
            *i += 1;
        }
        toks[start..*i].join(" ")
    };
    let key_text = take_value(&mut i);
    let set = a.prog.sets.get(set_id.index()).ok_or("missing set")?;
    let key_orders: Vec<ByteOrder> = set.key.iter().map(|f| f.order).collect();
    let (key, lens) = if key_text.is_empty() {
        (Data::default(), Vec::new())
    } else {
        Data::parse_fields(&key_text, &key_orders)?
    };
    let mut e = Element::new(key);
    if toks.get(i) == Some(&"-") {
        i += 1;
        let end_text = take_value(&mut i);
        e.key_end = Some(Data::parse_fields(&end_text, &key_orders)?.0);
    }
    let mut data_fields = None;
    if toks.get(i) == Some(&":") {
        i += 1;
        let first = toks.get(i).copied().ok_or("element data missing")?;
        if let Some(v) = Verdict::from_simple_name(first) {
            i += 1;
            e.data = Some(ElemData::Verdict(v));
        } else if first == "jump" || first == "goto" {
            if toks.get(i + 1) != Some(&"->") {
                return Err("expected `->` after jump/goto".into());
            }
            let chain = a.chain_ref(toks.get(i + 2).ok_or("jump target missing")?)?;
            i += 3;
            e.data = Some(ElemData::Verdict(if first == "jump" {
                Verdict::Jump(chain)
            } else {
                Verdict::Goto(chain)
            }));
        } else if is_value_token(first) && !first.contains('.') {
            let set = a.prog.sets.get(set_id.index()).ok_or("missing set")?;
            let orders: Vec<ByteOrder> = set.data_fields().iter().map(|f| f.order).collect();
            let (d, lens) = Data::parse_fields(&take_value(&mut i), &orders)?;
            e.data = Some(ElemData::Value(d));
            data_fields = Some(lens);
        } else {
            let obj_type = match &a.prog.sets[set_id.index()].data {
                SetData::Object { obj_type } => *obj_type,
                _ => 0,
            };
            let id = a.object_ref(first, obj_type)?;
            i += 1;
            e.data = Some(ElemData::Object(id));
        }
    }
    while i < toks.len() {
        let v = toks.get(i + 1).copied().ok_or_else(|| format!("`{}` needs a value", toks[i]))?;
        let ms = |v: &str| v.strip_suffix("ms").and_then(|n| n.parse::<u64>().ok());
        match toks[i] {
            "flags" => e.flags = v.parse().map_err(|_| format!("bad element flags `{v}`"))?,
            "timeout" => e.timeout_ms = Some(ms(v).ok_or("bad timeout")?),
            "expires" => e.expires_ms = Some(ms(v).ok_or("bad expires")?),
            w => return Err(format!("unexpected `{w}` in element")),
        }
        i += 2;
    }
    if let Some(u) = udata {
        let t: Vec<&str> = u.split_whitespace().collect();
        match t.as_slice() {
            [len, "sum", sum] => {
                e.udata = Some(Udata {
                    len: len.parse().map_err(|_| "bad userdata length")?,
                    sum: parse_hex(sum)? as u32,
                })
            }
            _ => return Err(format!("bad userdata summary `{u}`")),
        }
    }
    // Learn the set's shape from its first element.
    if let Some(s) = a.prog.sets.get_mut(set_id.index()) {
        if s.key.is_empty() && !lens.is_empty() {
            s.key = lens.iter().map(|l| Field::new(*l, ByteOrder::Network)).collect();
        }
        match (&e.data, &s.data) {
            (Some(ElemData::Verdict(_)), SetData::None) => s.data = SetData::Verdict,
            (Some(ElemData::Value(_)), SetData::None) => {
                let fields = data_fields
                    .unwrap_or_default()
                    .iter()
                    .map(|l| Field::new(*l, ByteOrder::Network))
                    .collect();
                s.data = SetData::Value { data_type: 0, fields };
            }
            (Some(ElemData::Object(_)), SetData::None) => s.data = SetData::Object { obj_type: 0 },
            _ => {}
        }
    }
    Ok(e)
}

/// Gives the key fields of `s` the byte orders `orders`, re-reading its elements (their
/// printed digits stay the same).
pub fn set_key_orders(s: &mut Set, orders: &[ByteOrder]) {
    let mut off = 0usize;
    let single = s.key.len() == 1;
    for (i, f) in s.key.iter_mut().enumerate() {
        let Some(&want) = orders.get(i) else { break };
        let len = f.len as usize;
        if f.order != want {
            for e in &mut s.elements {
                if e.is_catchall() {
                    continue;
                }
                flip(&mut e.key, off, len);
                if let Some(k) = &mut e.key_end {
                    flip(k, off, len);
                }
            }
            f.order = want;
        }
        off += if single { len } else { crate::data::round_up4(len) };
    }
}

/// Gives all data fields of map `s` the byte order `order`.
pub fn set_data_order(s: &mut Set, order: ByteOrder) {
    let SetData::Value { fields, .. } = &mut s.data else { return };
    let single = fields.len() == 1;
    let mut off = 0usize;
    for f in fields.iter_mut() {
        let len = f.len as usize;
        if f.order != order {
            for e in &mut s.elements {
                if let Some(ElemData::Value(d)) = &mut e.data {
                    flip(d, off, len);
                }
            }
            f.order = order;
        }
        off += if single { len } else { crate::data::round_up4(len) };
    }
}

fn flip(d: &mut Data, off: usize, len: usize) {
    if let Some(b) = d.bytes_mut().get_mut(off..off + len) {
        b.reverse();
    }
}
