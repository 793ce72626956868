//! `nft list ruleset`: tables with their objects, sets, flowtables and chains, tab
//! indented, in creation order (objects, then sets, then flowtables, then chains, as nft
//! prints them), separated by blank lines.

use super::ListOpts;
use super::expr::Printer;
use crate::ir::{
    Chain, Family, Flowtable, Hook, Object, ObjectKind, Rule, Ruleset, Set, SetData, SetKind, Table,
};
use std::fmt::Write as _;

/// The whole ruleset.
pub fn ruleset(rs: &Ruleset, opts: &ListOpts) -> String {
    rs.tables.iter().map(|t| table(t, opts)).collect()
}

/// One rule, as it appears inside its chain (no indentation, no newline).
pub fn rule(table: &Table, r: &Rule, opts: &ListOpts) -> String {
    let p = Printer { opts: *opts, table: Some(table), interval_data: false };
    super::stmt::rule_text(&p, r)
}

/// One table block.
pub fn table(t: &Table, opts: &ListOpts) -> String {
    let mut out = String::new();
    let _ = write!(out, "table {} {} {{", t.family.name(), t.name);
    if opts.handles || t.flags.owner {
        out.push_str(" #");
    }
    if opts.handles {
        let _ = write!(out, " handle {}", t.handle);
    }
    if t.flags.owner {
        out.push_str(" progname nft");
    }
    out.push('\n');
    let mut delim = "";
    if !t.flags.is_empty() {
        let _ = writeln!(out, "\tflags {}", t.flags.words().join(","));
        delim = "\n";
    }
    if let Some(c) = &t.comment {
        let _ = writeln!(out, "\tcomment \"{c}\"");
    }
    let p = Printer { opts: *opts, table: Some(t), interval_data: false };
    for o in &t.objects {
        out.push_str(delim);
        out.push_str(&object(o, opts));
        delim = "\n";
    }
    for s in &t.sets {
        out.push_str(delim);
        out.push_str(&set(&p, s));
        delim = "\n";
    }
    for f in &t.flowtables {
        out.push_str(delim);
        out.push_str(&flowtable(f, opts));
        delim = "\n";
    }
    for c in t.chains.iter().filter(|c| !c.binding) {
        out.push_str(delim);
        out.push_str(&chain(&p, t.family, c));
        delim = "\n";
    }
    out.push_str("}\n");
    out
}

/// A priority with its standard name when nft would use one (`filter`, `srcnat + 10`).
pub fn priority(family: Family, hook: Hook, prio: i32, numeric: bool) -> String {
    if !numeric {
        for &(name, v) in crate::ir::chain::std_priorities(family) {
            let off = i64::from(prio) - i64::from(v);
            if off.abs() <= 10 {
                if !crate::ir::chain::std_prio_compat(v, family, hook) {
                    break;
                }
                return match off {
                    0 => name.to_string(),
                    o if o > 0 => format!("{name} + {o}"),
                    o => format!("{name} - {}", -o),
                };
            }
        }
    }
    prio.to_string()
}

fn chain(p: &Printer, family: Family, c: &Chain) -> String {
    let mut out = String::new();
    let _ = write!(out, "\tchain {} {{", c.name);
    if p.opts.handles {
        let _ = write!(out, " # handle {}", c.handle);
    }
    if let Some(cm) = &c.comment {
        let _ = write!(out, "\n\t\tcomment \"{cm}\"");
    }
    out.push('\n');
    if let Some(b) = &c.base {
        let _ = write!(out, "\t\ttype {} hook {}", b.chain_type.name(), b.hook.name());
        match b.devices.as_slice() {
            [] => {}
            [d] => {
                let _ = write!(out, " device \"{d}\"");
            }
            many => {
                let list: Vec<String> = many.iter().map(|d| format!("\"{d}\"")).collect();
                let _ = write!(out, " devices = {{ {} }}", list.join(", "));
            }
        }
        let _ = write!(out, " priority {};", priority(family, b.hook, b.priority, p.opts.numeric_priority));
        let _ = write!(out, " policy {};", b.policy.name());
        if b.offload {
            out.push_str(" flags offload;");
        }
        out.push('\n');
    }
    for r in &c.rules {
        out.push_str("\t\t");
        out.push_str(&super::stmt::rule_text(p, r));
        out.push('\n');
    }
    out.push_str("\t}\n");
    out
}

/// The element delimiter nft uses after `count` elements of a set of this key type.
fn delim(set: &Set, count: &mut usize, force_newline: bool) -> &'static str {
    const NEWLINE: &str = ",\n\t\t\t     ";
    const SINGLE: &str = ", ";
    if force_newline {
        return NEWLINE;
    }
    // By the key's `TYPE_*` number (aliases such as the mptcp subtype count as integer).
    let id = if set.key.len() == 1 { set.key[0].ty.netlink_id() } else { 0 };
    let per_line = match id {
        2 | 4 | 11 | 12 | 13 | 15 | 16 | 19 | 20 | 23 | 24 | 25 | 27 => 5,
        7 | 26 | 28 | 31 => 2,
        _ => return NEWLINE,
    };
    if *count < per_line {
        return SINGLE;
    }
    *count = 0;
    NEWLINE
}

fn key_text(p: &Printer, fields: &[crate::ir::KeyField], typeof_: bool) -> String {
    fields
        .iter()
        .map(|f| match (&f.expr, typeof_) {
            (Some(e), true) => p.load(e),
            _ => f.ty.name().to_string(),
        })
        .collect::<Vec<_>>()
        .join(" . ")
}

fn set(p: &Printer, s: &Set) -> String {
    let mut out = String::new();
    let kw = match s.kind {
        SetKind::Meter => "meter",
        _ if s.is_map() => "map",
        _ => "set",
    };
    let _ = write!(out, "\t{kw} {} {{", s.name);
    if p.opts.handles {
        let _ = write!(out, " # handle {}", s.handle);
    }
    out.push_str("\n\t\t");
    out.push_str(if s.key_typeof { "typeof " } else { "type " });
    out.push_str(&key_text(p, &s.key, s.key_typeof));
    match &s.data {
        Some(SetData::Value { fields, interval }) => {
            out.push_str(" : ");
            if *interval {
                out.push_str("interval ");
            }
            out.push_str(&key_text(p, fields, s.key_typeof && fields.iter().all(|f| f.expr.is_some())));
        }
        Some(SetData::Object(t)) => {
            let _ = write!(out, " : {}", t.name());
        }
        None => {}
    }
    out.push('\n');
    if !s.flags.constant {
        if let Some(pol) = s.policy
            && pol != crate::ir::SetPolicy::Performance
        {
            let _ = writeln!(out, "\t\tpolicy {}", pol.name());
        }
        if let Some(sz) = s.size {
            let _ = write!(out, "\t\tsize {sz}");
            if !s.elems.is_empty() {
                let n = super::expr::order_elems(&s.elems, s.flags.interval, s.auto_merge).len();
                let _ = write!(out, "\t# count {n}");
            }
            out.push('\n');
        }
    }
    let mut flags = Vec::new();
    if s.flags.constant {
        flags.push("constant");
    }
    if s.flags.dynamic {
        flags.push("dynamic");
    }
    if s.flags.interval {
        flags.push("interval");
    }
    if s.flags.timeout && (s.timeout.is_none() || !flags.is_empty()) {
        flags.push("timeout");
    }
    if !flags.is_empty() {
        let _ = writeln!(out, "\t\tflags {}", flags.join(","));
    }
    if !s.stmts.is_empty() {
        let sp =
            Printer { opts: ListOpts { stateless: true, ..p.opts }, table: p.table, interval_data: false };
        let texts: Vec<String> =
            s.stmts.iter().map(|x| super::stmt::stmt_text(&sp, x, &Rule::new(Vec::new()))).collect();
        let _ = writeln!(out, "\t\t{}", texts.join(" "));
    }
    if s.auto_merge {
        out.push_str("\t\tauto-merge\n");
    }
    if let Some(t) = s.timeout {
        let _ = writeln!(out, "\t\ttimeout {}", crate::types::format_relative_ms(t, &p.opts.values));
    }
    if let Some(g) = s.gc_interval {
        let _ = writeln!(out, "\t\tgc-interval {}", crate::types::format_relative_ms(g, &p.opts.values));
    }
    if let Some(c) = &s.comment {
        let _ = writeln!(out, "\t\tcomment \"{c}\"");
    }
    if !(s.elems.is_empty() || s.kind == SetKind::Meter && p.opts.stateless) {
        let force = s.timeout.is_some()
            || s.elems.iter().any(|e| e.comment.is_some())
            || s.is_map()
            || s.flags.timeout
            || s.key.len() > 1
            || !s.stmts.is_empty();
        let ip = Printer {
            interval_data: matches!(s.data, Some(SetData::Value { interval: true, ref fields }) if fields.len() == 1),
            ..*p
        };
        let items = ip.set_items(&s.elems, s.flags.interval, s.auto_merge);
        out.push_str("\t\telements = { ");
        let mut count = 0;
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                // delimiter computed after the previous element
            }
            out.push_str(it);
            count += 1;
            if i + 1 < items.len() {
                out.push_str(delim(s, &mut count, force));
            }
        }
        out.push_str(" }\n");
    }
    out.push_str("\t}\n");
    out
}

fn object(o: &Object, opts: &ListOpts) -> String {
    let mut out = String::new();
    let ty = o.kind.object_type();
    let _ = write!(out, "\t{} {} {{", ty.name(), o.name);
    if opts.handles {
        let _ = write!(out, " # handle {}", o.handle);
    }
    let comment = |out: &mut String| {
        if let Some(c) = &o.comment {
            let _ = write!(out, "\n\t\tcomment \"{c}\"");
        }
    };
    comment(&mut out);
    let proto_name =
        |n: u8| crate::types::protocol_name(n).map(str::to_string).unwrap_or_else(|| n.to_string());
    match &o.kind {
        ObjectKind::Counter(c) => {
            if opts.stateless {
                out.push('\n');
            } else {
                let _ = writeln!(out, "\n\t\tpackets {} bytes {}", c.packets, c.bytes);
            }
        }
        ObjectKind::Quota(q) => {
            let (b, u) = super::stmt::rate(q.bytes);
            let _ = write!(out, "\n\t\t{}{b} {u}", if q.over { "over " } else { "" });
            if !opts.stateless && q.used != 0 {
                let (ub, uu) = super::stmt::rate(q.used);
                let _ = write!(out, " used {ub} {uu}");
            }
            out.push('\n');
        }
        ObjectKind::Secmark(ctx) => {
            let _ = writeln!(out, "\n\t\t\"{ctx}\"");
        }
        ObjectKind::CtHelper(h) => {
            let _ = writeln!(out, "\n\t\ttype \"{}\" protocol {}", h.helper, proto_name(h.l4proto));
            let _ = writeln!(out, "\t\tl3proto {}", h.l3proto.name());
        }
        ObjectKind::CtTimeout(t) => {
            let _ = writeln!(out, "\n\t\tprotocol {}", proto_name(t.l4proto));
            let _ = writeln!(out, "\t\tl3proto {}", t.l3proto.name());
            let defaults = crate::ir::object::default_timeouts(t.l4proto);
            let parts: Vec<String> = t
                .timeouts
                .iter()
                .filter(|(n, v)| defaults.iter().find(|(dn, _)| dn == n).is_none_or(|(_, dv)| dv != v))
                .map(|(n, v)| {
                    format!("{n} : {}", crate::types::format_relative_ms(u64::from(*v) * 1000, &opts.values))
                })
                .collect();
            let _ = writeln!(out, "\t\tpolicy = {{ {} }}", parts.join(", "));
        }
        ObjectKind::CtExpect(e) => {
            let _ = writeln!(out, "\n\t\tprotocol {}", proto_name(e.l4proto));
            let _ = writeln!(out, "\t\tdport {}", e.dport);
            let _ =
                writeln!(out, "\t\ttimeout {}", crate::types::format_relative_ms(e.timeout, &opts.values));
            let _ = writeln!(out, "\t\tsize {}", e.size);
            let _ = writeln!(out, "\t\tl3proto {}", e.l3proto.name());
        }
        ObjectKind::Limit(l) => {
            let over = if l.over { "over " } else { "" };
            let unit = crate::ir::LimitUnit::word_of(l.unit);
            if l.bytes {
                let (r, u) = super::stmt::rate(l.rate);
                let _ = write!(out, "\n\t\trate {over}{r} {u}/{unit}");
                if l.burst > 0 {
                    let (b, bu) = super::stmt::rate(u64::from(l.burst));
                    let _ = write!(out, " burst {b} {bu}");
                }
            } else {
                let _ = write!(out, "\n\t\trate {over}{}/{unit}", l.rate);
                if l.burst > 0 && l.burst != 5 {
                    let _ = write!(out, " burst {} packets", l.burst);
                }
            }
            out.push('\n');
        }
        ObjectKind::Synproxy(s) => {
            if let Some(m) = s.mss {
                let _ = write!(out, "\n\t\tmss {m}");
            }
            if let Some(w) = s.wscale {
                let _ = write!(out, "\n\t\twscale {w}");
            }
            if s.timestamp || s.sack_perm {
                let ts = if s.timestamp { "timestamp" } else { "" };
                let sack = if s.sack_perm { "sack-perm" } else { "" };
                let _ = write!(out, "\n\t\t{ts} {sack}");
            }
            out.push('\n');
        }
        ObjectKind::Tunnel(lines) => {
            for l in lines {
                let _ = write!(out, "\n\t\t{l}");
            }
            out.push('\n');
        }
    }
    out.push_str("\t}\n");
    out
}

fn flowtable(f: &Flowtable, opts: &ListOpts) -> String {
    let mut out = String::new();
    let _ = write!(out, "\tflowtable {} {{", f.name);
    if opts.handles {
        let _ = write!(out, " # handle {}", f.handle);
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "\t\thook {} priority {}",
        f.hook.name(),
        priority(Family::Netdev, f.hook, f.priority, opts.numeric_priority)
    );
    if !f.devices.is_empty() {
        let list: Vec<String> = f.devices.iter().map(|d| format!("\"{d}\"")).collect();
        let _ = writeln!(out, "\t\tdevices = {{ {} }}", list.join(", "));
    }
    if f.counter {
        out.push_str("\t\tcounter\n");
    }
    if f.offload {
        out.push_str("\t\tflags offload\n");
    }
    out.push_str("\t}\n");
    out
}
