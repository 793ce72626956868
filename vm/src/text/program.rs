//! Whole programs as text: declarations of tables, chains, named sets and objects, then
//! one block per rule in the `nft --debug=netlink` layout.
//!
//! (`<TAB>` stands for a tab character.)
//!
//! ```text
//! table ip filter
//! chain ip filter input type filter hook input priority 0 policy drop
//! chain ip filter web
//! set ip filter blocked flags 0x0 key 4n
//! <TAB>element 0a000001<TAB>element 0a000002
//! set ip filter ports flags 0x8 key 2n data verdict
//! set ip filter seen flags 0x20 key 4n size 65535 expr [ counter pkts 0 bytes 0 ]
//! object ip filter cnt counter pkts 0 bytes 0
//! flowtable ip filter ft hook ingress priority 0 device eth0 device eth1 counter
//! classifier ip filter __classify0 chain web first 0
//! <TAB>recipe 4 [ payload load 4b @ network header + 12 => reg 1 ]
//! <TAB>…
//!
//! # tcp dport 22 accept
//! ip filter input
//!   [ meta load l4proto => reg 1 ]
//!   …
//! ```
//!
//! A set's key and data are field lists `LEN` + `n` (network order) or `h` (host order),
//! joined by `.` for concatenations (`4n.2n`); data is a field list, `verdict` or
//! `object TYPE`. A set's own element expressions (`counter` in an nft set declaration, which
//! `nft --debug=netlink` does not print) end its line as `expr [ … ]` clauses, as a dynset's.
//! Anonymous sets are declared inside the rule block that uses them.
//! Classifiers (`crate::classify::text`) come last; their trees are built once the rules
//! are read.

use crate::data::{ByteOrder, Field};
use crate::expr::{connlimit::Connlimit, counter::Counter, limit::Limit, quota::Quota, synproxy::Synproxy};
use crate::flowtable::Flowtable;
use crate::keys::{Family, Hook};
use crate::object::{CtExpect, Object, ObjectKind};
use crate::program::{BaseChain, ChainKind, Policy, Program, SourceId, TableId};
use crate::set::{Set, SetData};
use crate::text::asm::Asm;
use crate::text::cursor::{Cursor, PResult};
use crate::text::{block, elements};
use std::fmt::Write;

/// An assembler error with the 1-based line it refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for AsmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AsmError {}

/// Assembles program text. Rules get source ids 0, 1, 2 … in text order.
pub fn assemble(text: &str) -> Result<Program, AsmError> {
    let mut prog = Program::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut block: Vec<&str> = Vec::new();
    let mut block_start = 0;
    let mut next_source = 0u32;
    let err = |line: usize, message: String| AsmError { line: line + 1, message };
    while i <= lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let word = line.split_whitespace().next().unwrap_or("");
        let is_decl = !line.starts_with(char::is_whitespace)
            && matches!(word, "table" | "chain" | "set" | "object" | "flowtable" | "classifier")
            && block.iter().all(|l| l.starts_with('#'));
        if line.trim().is_empty() || i == lines.len() || is_decl {
            if block.iter().any(|l| !l.starts_with('#')) {
                rule_block(&mut prog, &block, SourceId(next_source)).map_err(|m| err(block_start, m))?;
                next_source += 1;
            }
            block.clear();
            if is_decl {
                let mut elem_lines = Vec::new();
                while lines.get(i + 1).is_some_and(|l| l.starts_with('\t')) {
                    elem_lines.push(lines[i + 1]);
                    i += 1;
                }
                declaration(&mut prog, line, &elem_lines).map_err(|m| err(i, m))?;
            }
            i += 1;
            continue;
        }
        if block.is_empty() {
            block_start = i;
        }
        block.push(line);
        i += 1;
    }
    build_classifiers(&mut prog);
    Ok(prog)
}

/// Builds the trees of the classifiers declared in the text (they depend on the rules).
fn build_classifiers(prog: &mut Program) {
    let mut cls = std::mem::take(&mut prog.classifiers);
    for c in &mut cls {
        c.build(prog);
    }
    prog.classifiers = cls;
}

fn rule_block(prog: &mut Program, lines: &[&str], source: SourceId) -> PResult<()> {
    let raw = block::split(lines)?;
    let h = raw.header.as_ref().ok_or("rule block without a `family table chain` line")?;
    let [f, t, c] = h.as_slice() else { return Err("rule header must be `family table chain`".into()) };
    let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
    let table = prog.find_table(family, t).ok_or_else(|| format!("unknown table {f} {t}"))?;
    let chain = prog.find_chain(table, c).ok_or_else(|| format!("unknown chain `{c}`"))?;
    block::resolve(prog, &raw, table, chain, false, source)?;
    Ok(())
}

fn table_of(prog: &Program, c: &mut Cursor) -> PResult<TableId> {
    let f = c.next()?;
    let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
    let t = c.next()?;
    prog.find_table(family, t).ok_or_else(|| format!("unknown table {f} {t}"))
}

fn declaration(prog: &mut Program, line: &str, elem_lines: &[&str]) -> PResult<()> {
    let mut c = Cursor::new(line);
    match c.next()? {
        "table" => {
            let f = c.next()?;
            let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
            prog.add_table(family, c.next()?);
        }
        "chain" => {
            let table = table_of(prog, &mut c)?;
            let name = c.next()?;
            let base = if c.eat("type") {
                let k = c.next()?;
                let kind = ChainKind::from_name(k).ok_or_else(|| format!("unknown chain type `{k}`"))?;
                c.expect("hook")?;
                let h = c.next()?;
                let hook = Hook::from_name(h).ok_or_else(|| format!("unknown hook `{h}`"))?;
                let device = if c.eat("device") { Some(c.next()?.to_string()) } else { None };
                c.expect("priority")?;
                let priority = c.num()?;
                c.expect("policy")?;
                let policy = match c.next()? {
                    "accept" => Policy::Accept,
                    "drop" => Policy::Drop,
                    p => return Err(format!("unknown policy `{p}`")),
                };
                Some(BaseChain { kind, hook, priority, policy, device })
            } else {
                None
            };
            prog.add_chain(table, name, base);
        }
        "set" => {
            let table = table_of(prog, &mut c)?;
            let name = c.next()?;
            let mut set = Set::new(name, table, 0, Vec::new());
            // The element expressions (`expr [ counter … ]`) come last and need the assembler.
            let mut exprs = None;
            while let Some(w) = c.peek() {
                c.next()?;
                match w {
                    "expr" => {
                        exprs = c.raw().find("expr [").map(|at| &c.raw()[at..]);
                        c.rest();
                    }
                    "flags" => set.flags = c.hex()? as u32,
                    "key" => set.key = parse_fields(c.next()?)?,
                    "keytype" => set.key_type = c.num()?,
                    "data" => {
                        set.data = match c.next()? {
                            "verdict" => SetData::Verdict,
                            "object" => SetData::Object { obj_type: c.num()? },
                            spec => SetData::Value { data_type: 0, fields: parse_fields(spec)? },
                        }
                    }
                    "datatype" => {
                        if let SetData::Value { data_type, .. } = &mut set.data {
                            *data_type = c.num()?;
                        }
                    }
                    "timeout" => set.timeout_ms = Some(c.num_suffix("ms")?),
                    "gc_interval" => set.gc_interval_ms = Some(c.num_suffix("ms")?),
                    "policy" => set.policy = Some(c.num()?),
                    "size" => set.size = Some(c.num()?),
                    other => return Err(format!("unknown set attribute `{other}`")),
                }
            }
            let family = prog.table(table).map_or(Family::Ip, |t| t.family);
            let id = prog.add_set(set);
            let mut a = Asm::new(prog, table, family, false);
            for l in elem_lines {
                elements::parse_elements(l, id, &mut a)?;
            }
            if let Some(raw) = exprs {
                let exprs = crate::expr::dynset::parse_clauses(raw, &mut a)?;
                if let Some(s) = prog.sets.get_mut(id.index()) {
                    s.exprs = exprs;
                }
            }
        }
        "object" => {
            let table = table_of(prog, &mut c)?;
            let name = c.next()?.to_string();
            let kind_word = c.next()?;
            let rest: Vec<&str> = c.rest();
            let body = rest.join(" ");
            let mut bc = Cursor::new(&body);
            let mut dummy = Program::new();
            let dt = dummy.add_table(Family::Ip, "");
            let mut a = Asm::new(&mut dummy, dt, Family::Ip, true);
            let kind = match kind_word {
                "counter" => ObjectKind::Counter(Counter::parse(&mut bc, &mut a)?),
                "quota" => ObjectKind::Quota(Quota::parse(&mut bc, &mut a)?),
                "limit" => ObjectKind::Limit(Limit::parse(&mut bc, &mut a)?),
                "connlimit" => ObjectKind::Connlimit(Connlimit::parse(&mut bc, &mut a)?),
                "synproxy" => ObjectKind::Synproxy(Synproxy::parse(&mut bc, &mut a)?),
                "ct_helper" => {
                    let helper = bc.next()?.to_string();
                    let l3proto = bc.keyed_num("l3proto")?;
                    ObjectKind::CtHelper { helper, l3proto, l4proto: bc.keyed_num("l4proto")? }
                }
                "ct_expect" => ObjectKind::CtExpect(CtExpect {
                    l3proto: bc.keyed_num("l3proto")?,
                    l4proto: bc.keyed_num("l4proto")?,
                    dport: bc.keyed_num("dport")?,
                    timeout_ms: bc.keyed_num("timeout")?,
                    size: bc.keyed_num("size")?,
                }),
                "type" => {
                    let type_number = bc.num()?;
                    ObjectKind::Other { type_number, args: bc.rest().join(" ") }
                }
                k => return Err(format!("unknown object kind `{k}`")),
            };
            bc.done()?;
            prog.add_object(Object { name, table, kind });
        }
        "flowtable" => {
            let table = table_of(prog, &mut c)?;
            let name = c.next()?.to_string();
            if prog.find_flowtable(table, &name).is_some() {
                return Err(format!("flowtable `{name}` declared twice"));
            }
            c.expect("hook")?;
            c.expect("ingress")?;
            c.expect("priority")?;
            let priority = c.num()?;
            let mut devices = Vec::new();
            while c.eat("device") {
                devices.push(c.next()?.to_string());
            }
            let counter = c.eat("counter");
            prog.add_flowtable(Flowtable { name, table, priority, devices, counter });
        }
        "classifier" => {
            let c = crate::classify::text::parse(prog, line, elem_lines)?;
            if prog.find_classifier(&c.name).is_some() {
                return Err(format!("classifier `{}` declared twice", c.name));
            }
            prog.add_classifier(c);
        }
        w => return Err(format!("unknown declaration `{w}`")),
    }
    Ok(())
}

/// `4n.2h` → fields.
pub fn parse_fields(spec: &str) -> PResult<Vec<Field>> {
    spec.split('.')
        .map(|f| {
            let (len, order) = match f.as_bytes().last() {
                Some(b'n') => (&f[..f.len() - 1], ByteOrder::Network),
                Some(b'h') => (&f[..f.len() - 1], ByteOrder::Host),
                _ => return Err(format!("field `{f}` must end in n (network) or h (host)")),
            };
            let len: u8 = len.parse().map_err(|_| format!("bad field length in `{f}`"))?;
            if len == 0 || len > 64 {
                return Err(format!("field length {len} out of range"));
            }
            Ok(Field::new(len, order))
        })
        .collect()
}

fn fields_spec(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| format!("{}{}", f.len, if f.order == ByteOrder::Host { 'h' } else { 'n' }))
        .collect::<Vec<_>>()
        .join(".")
}

/// Disassembles a program: declarations, then one block per rule.
pub fn disassemble(p: &Program) -> String {
    let mut o = String::new();
    for t in &p.tables {
        let _ = writeln!(o, "table {} {}", t.family, t.name);
    }
    let tname = |id: TableId| {
        p.table(id).map_or(("?".to_string(), "?".to_string()), |t| (t.family.to_string(), t.name.clone()))
    };
    for c in &p.chains {
        let (f, t) = tname(c.table);
        let _ = write!(o, "chain {f} {t} {}", c.name);
        if let Some(b) = &c.base {
            let _ = write!(o, " type {} hook {}", b.kind.name(), b.hook);
            if let Some(d) = &b.device {
                let _ = write!(o, " device {d}");
            }
            let _ = write!(o, " priority {} policy {}", b.priority, b.policy.name());
        }
        o.push('\n');
    }
    for ob in &p.objects {
        let (f, t) = tname(ob.table);
        let _ = write!(o, "object {f} {t} {} ", ob.name);
        let mut body = String::new();
        match &ob.kind {
            ObjectKind::Counter(x) => {
                o.push_str("counter ");
                x.print(p, &mut body)
            }
            ObjectKind::Quota(x) => {
                o.push_str("quota ");
                x.print(p, &mut body)
            }
            ObjectKind::Limit(x) => {
                o.push_str("limit ");
                x.print(p, &mut body)
            }
            ObjectKind::Connlimit(x) => {
                o.push_str("connlimit ");
                x.print(p, &mut body)
            }
            ObjectKind::Synproxy(x) => {
                o.push_str("synproxy ");
                x.print(p, &mut body)
            }
            ObjectKind::CtHelper { helper, l3proto, l4proto } => {
                let _ = write!(body, "ct_helper {helper} l3proto {l3proto} l4proto {l4proto}");
            }
            ObjectKind::CtExpect(e) => {
                let _ = write!(
                    body,
                    "ct_expect l3proto {} l4proto {} dport {} timeout {} size {}",
                    e.l3proto, e.l4proto, e.dport, e.timeout_ms, e.size
                );
            }
            ObjectKind::Other { type_number, args } => {
                let _ = write!(body, "type {type_number} {args}");
            }
        }
        o.push_str(body.trim_end());
        o.push('\n');
    }
    for ft in &p.flowtables {
        let (f, t) = tname(ft.table);
        let _ = write!(o, "flowtable {f} {t} {} hook ingress priority {}", ft.name, ft.priority);
        for d in &ft.devices {
            let _ = write!(o, " device {d}");
        }
        o.push_str(if ft.counter { " counter\n" } else { "\n" });
    }
    for s in p.sets.iter().filter(|s| !s.is_anonymous()) {
        let (f, t) = tname(s.table);
        let _ = write!(o, "set {f} {t} {} flags 0x{:x} key {}", s.name, s.flags, fields_spec(&s.key));
        if s.key_type != 0 {
            let _ = write!(o, " keytype {}", s.key_type);
        }
        match &s.data {
            SetData::None => {}
            SetData::Verdict => o.push_str(" data verdict"),
            SetData::Object { obj_type } => {
                let _ = write!(o, " data object {obj_type}");
            }
            SetData::Value { data_type, fields } => {
                let _ = write!(o, " data {}", fields_spec(fields));
                if *data_type != 0 {
                    let _ = write!(o, " datatype {data_type}");
                }
            }
        }
        if let Some(v) = s.timeout_ms {
            let _ = write!(o, " timeout {v}ms");
        }
        if let Some(v) = s.gc_interval_ms {
            let _ = write!(o, " gc_interval {v}ms");
        }
        if let Some(v) = s.policy {
            let _ = write!(o, " policy {v}");
        }
        if let Some(v) = s.size {
            let _ = write!(o, " size {v}");
        }
        crate::expr::dynset::print_clauses(p, &s.exprs, &mut o);
        o.push('\n');
        if !s.elements.is_empty() {
            o.push_str(&elements::elements_line(p, s));
            o.push('\n');
        }
    }
    for c in &p.classifiers {
        o.push_str(&crate::classify::text::print(p, c));
    }
    for (ci, c) in p.chains.iter().enumerate() {
        for r in &c.rules {
            o.push('\n');
            block::print(p, crate::program::ChainId(ci as u32), r, None, None, &mut o);
        }
    }
    o
}
