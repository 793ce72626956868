//! One rule in the `nft --debug=netlink` layout: an optional `# source` comment, the
//! anonymous sets it declares (declaration line, element header line, element list), the
//! `family table chain` header and one `  [ … ]` line per expression.

use crate::data::ByteOrder;
use crate::expr::Expr;
use crate::keys::Family;
use crate::program::{ChainId, Program, Rule, SetId, SourceId};
use crate::set::Set;
use crate::text::asm::{Asm, Fix};
use crate::text::cursor::PResult;
use crate::text::elements::{self, Decl};

/// How one anonymous set of a block was written.
#[derive(Clone, Debug, PartialEq)]
pub struct AnonLines {
    pub set: SetId,
    /// The declaration line was present (absent in a few hand-edited `.payload` blocks).
    pub decl: bool,
    /// The element header line (`NAME TABLE 0`) as written, if present. It carries no
    /// information (nft prints the element message's set with flags 0).
    pub elem_header: Option<String>,
}

/// The pieces of a rule block before they are resolved.
#[derive(Debug, Default)]
pub struct RawBlock<'a> {
    pub comment: Option<String>,
    pub sets: Vec<(Option<Decl>, Option<String>, Vec<&'a str>)>,
    pub header: Option<Vec<String>>,
    pub exprs: Vec<&'a str>,
}

/// Splits a block's lines into their roles.
pub fn split<'a>(lines: &[&'a str]) -> PResult<RawBlock<'a>> {
    let mut b = RawBlock::default();
    for &line in lines {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            // (Trailing white space is not kept: a comment ending in `\r` lost one at each
            // trip through the text, whose line ends may be `\r\n`.)
            b.comment = Some(c.strip_prefix(' ').unwrap_or(c).trim_end().to_string());
        } else if line.starts_with('\t') || t.starts_with("element ") {
            match b.sets.last_mut() {
                Some(s) => s.2.push(line),
                None => b.sets.push((None, None, vec![line])),
            }
        } else if t.starts_with('[') {
            b.exprs.push(line);
        } else {
            let toks: Vec<&str> = t.split_whitespace().collect();
            let is_header = b.header.is_none()
                && toks.len() <= 3
                && toks.first().is_some_and(|f| Family::from_name(f).is_some())
                && !toks.first().is_some_and(|f| f.starts_with("__"));
            if is_header {
                b.header = Some(toks.iter().map(|s| s.to_string()).collect());
                continue;
            }
            let parsed = elements::parse_decl(t);
            if let Some(last) = b.sets.last_mut() {
                let same = last.0.as_ref().is_some_and(|p| Some(&p.name.as_str()) == toks.first());
                let header_like = toks.len() == 3 && (toks[2] == "0" || parsed.is_err());
                if same && last.1.is_none() && last.2.is_empty() && header_like {
                    last.1 = Some(toks.join(" "));
                    continue;
                }
            }
            b.sets.push((Some(parsed?), None, Vec::new()));
        }
    }
    Ok(b)
}

/// Resolves a split block into `prog`: declares its anonymous sets in `table`, parses its
/// expressions and appends the rule to `chain`. Returns how the sets were written.
pub fn resolve(
    prog: &mut Program,
    raw: &RawBlock,
    table: crate::program::TableId,
    chain: ChainId,
    lenient: bool,
    source: SourceId,
) -> PResult<Vec<AnonLines>> {
    let family = prog.table(table).map_or(Family::Ip, |t| t.family);
    let mut lines_info = Vec::new();
    let mut anon = Vec::new();
    for (decl, elem_header, _) in &raw.sets {
        let name = decl.as_ref().map_or("__set%d", |d| d.name.as_str());
        // A declaration may name another table than the rule's header (hand-edited files).
        let set_table = match decl {
            Some(d) if prog.table(table).is_some_and(|t| t.name != d.table) => {
                prog.add_table(family, &d.table)
            }
            _ => table,
        };
        let mut set = Set::new(name, set_table, decl.as_ref().map_or(0, |d| d.flags), Vec::new());
        if let Some(d) = decl {
            set.timeout_ms = d.timeout_ms;
            set.gc_interval_ms = d.gc_interval_ms;
            set.policy = d.policy;
            set.size = d.size;
        }
        let id = prog.add_set(set);
        anon.push(id);
        lines_info.push(AnonLines { set: id, decl: decl.is_some(), elem_header: elem_header.clone() });
    }
    let mut a = Asm::new(prog, table, family, lenient);
    a.anon = anon.clone();
    for ((_, _, elem_lines), id) in raw.sets.iter().zip(&anon) {
        for l in elem_lines {
            elements::parse_elements(l, *id, &mut a)?;
        }
    }
    let mut exprs = Vec::with_capacity(raw.exprs.len());
    for (i, l) in raw.exprs.iter().enumerate() {
        a.expr_index = i;
        let e = Expr::parse_line(l, &mut a).map_err(|m| format!("{m} in `{}`", l.trim()))?;
        exprs.push(e);
    }
    let fixes = std::mem::take(&mut a.fixes);
    for f in fixes {
        match f {
            Fix::Expr(i, order) => {
                if let Some(e) = exprs.get_mut(i) {
                    e.reinterpret(order);
                }
            }
            Fix::SetData(s, order) => {
                if let Some(set) = prog.sets.get_mut(s.index()) {
                    elements::set_data_order(set, order);
                }
            }
        }
    }
    let rule = Rule { exprs, source, comment: raw.comment.clone() };
    prog.add_rule(chain, rule).ok_or("rule for a missing chain")?;
    Ok(lines_info)
}

/// Anonymous sets a rule refers to, in order of first reference.
pub fn rule_anon_sets(p: &Program, rule: &Rule) -> Vec<SetId> {
    let mut out = Vec::new();
    for e in &rule.exprs {
        let id = match e {
            Expr::Lookup(l) => Some(l.set),
            Expr::Dynset(d) => Some(d.set),
            Expr::Objref(crate::expr::objref::Objref::Map { set, .. }) => Some(*set),
            _ => None,
        };
        if let Some(id) = id
            && p.set(id).is_some_and(|s| s.is_anonymous())
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// Prints a rule block. `sets` says how each anonymous set is written (all lines when the
/// rule comes from a program); `header` overrides the `family table chain` line.
pub fn print(
    p: &Program,
    chain: ChainId,
    rule: &Rule,
    sets: Option<&[AnonLines]>,
    header: Option<&Option<Vec<String>>>,
    out: &mut String,
) {
    if let Some(c) = &rule.comment {
        out.push_str("# ");
        out.push_str(c);
        out.push('\n');
    }
    let default_sets: Vec<AnonLines>;
    let sets = match sets {
        Some(s) => s,
        None => {
            default_sets = rule_anon_sets(p, rule)
                .into_iter()
                .map(|set| AnonLines {
                    set,
                    decl: true,
                    elem_header: p.set(set).filter(|s| !s.elements.is_empty()).map(|s| {
                        let table = p.table(s.table).map_or("?", |t| t.name.as_str());
                        format!("{} {table} 0", s.name)
                    }),
                })
                .collect();
            &default_sets
        }
    };
    for al in sets {
        let Some(s) = p.set(al.set) else { continue };
        if al.decl {
            out.push_str(&elements::decl_line(p, s));
            out.push('\n');
        }
        if let Some(h) = &al.elem_header {
            out.push_str(h);
            out.push('\n');
        }
        if !s.elements.is_empty() {
            out.push_str(&elements::elements_line(p, s));
            out.push('\n');
        }
    }
    match header {
        Some(Some(h)) => {
            out.push_str(&h.join(" "));
            out.push('\n');
        }
        Some(None) => {}
        None => {
            if let Some(c) = p.chain(chain) {
                let t = p.table(c.table);
                let fam = t.map_or("?", |t| t.family.name());
                let tn = t.map_or("?", |t| t.name.as_str());
                out.push_str(&format!("{fam} {tn} {}\n", c.name));
            }
        }
    }
    for e in &rule.exprs {
        out.push_str(&e.line(p));
        out.push('\n');
    }
}

/// Default byte order used for values whose order is unknown.
pub const DEFAULT_ORDER: ByteOrder = ByteOrder::Network;

#[cfg(test)]
mod tests {
    use crate::text::{assemble, disassemble};

    /// Found by the `vm_asm` fuzz target: a comment ending in carriage returns (the last line,
    /// no line end) printed as is, then read back one `\r` shorter.
    #[test]
    fn a_comment_with_trailing_carriage_returns_reads_back_as_printed() {
        let text = "table netdev t\nchain netdev t c\n\n# note \r\r\nnetdev t c\n  [ immediate reg 0 accept ]\n\n#x\r\r";
        let once = disassemble(&assemble(text).expect("assembles"));
        let again = disassemble(&assemble(&once).expect("its disassembly assembles"));
        assert_eq!(again, once);
        assert!(once.contains("# note\n"), "{once:?}");
    }
}
