//! Named sets and maps: declarations (`type`/`typeof`, flags, timeout, size, policy,
//! per-element statements, `elements = { … }`) and element commands.

use super::rule::RuleCx;
use super::{EEXIST, ENOENT, Evaluator};
use crate::ir::{Expr, ExprKind, Family, KeyField, ObjectType, Set, SetData, SetElem, SetKind, SetPolicy};
use crate::types::{ByteOrder, Type};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{self, Verb};

/// The expression shape values of these key fields are parsed against.
pub(crate) fn shape_of(fields: &[KeyField]) -> Expr {
    let one = |f: &KeyField| match &f.expr {
        Some(e) => e.clone(),
        None => Expr::new(ExprKind::CatchAll, f.ty, f.bits, f.order),
    };
    match fields {
        [f] => one(f),
        many => crate::ir::build::concat(many.iter().map(one).collect()),
    }
}

impl Evaluator {
    pub(super) fn set_command(
        &mut self,
        verb: Verb,
        kind: ast::SetKind,
        spec: &ast::Spec,
        body: Option<&ast::SetBody>,
        span: Span,
    ) {
        let Some(key) = self.find_table(spec) else { return };
        let Some(name) = &spec.name else {
            if let (Some(h), Verb::Delete | Verb::Destroy) = (&spec.handle, verb) {
                let n = h.number();
                if let Some(t) = self.table_mut(&key) {
                    let before = t.sets.len();
                    t.sets.retain(|s| Some(s.handle) != n);
                    if before == t.sets.len() && verb == Verb::Delete {
                        self.error(h.span, format!("Could not process rule: {ENOENT}"));
                    }
                }
            }
            return;
        };
        match verb {
            Verb::Block | Verb::Add | Verb::Create => {
                self.declare_set(&key, kind, name, body, span, verb == Verb::Create)
            }
            Verb::Delete | Verb::Destroy => {
                let Some(t) = self.table_ref(&key) else { return };
                if t.set(&name.name).is_none() {
                    if verb == Verb::Delete {
                        self.error(name.span, ENOENT);
                    }
                    return;
                }
                let used = t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        r.stmts.iter().any(|s| {
                            let mut found = false;
                            crate::check::visit_exprs(s, &mut |e| {
                                if matches!(&e.kind, ExprKind::SetRef(n) if *n == name.name) {
                                    found = true;
                                }
                            });
                            found
                        })
                    })
                });
                if used {
                    self.error(span, format!("Could not process rule: {}", super::EBUSY));
                    return;
                }
                if let Some(t) = self.table_mut(&key) {
                    t.sets.retain(|s| s.name != name.name);
                }
            }
            Verb::Flush | Verb::Reset => match self.table_mut(&key).and_then(|t| t.set_mut(&name.name)) {
                Some(s) => {
                    if verb == Verb::Flush {
                        s.elems.clear();
                    }
                }
                None => self.error(name.span, ENOENT),
            },
            Verb::Insert | Verb::Replace => self.error(span, "syntax error"),
        }
    }

    /// Declare a set or map (or re-declare an identical one).
    pub(super) fn declare_set(
        &mut self,
        key: &(Family, String),
        kind: ast::SetKind,
        name: &ast::Ident,
        body: Option<&ast::SetBody>,
        span: Span,
        create: bool,
    ) {
        let Some(table) = self.table_ref(key) else { return };
        let exists = table.set(&name.name).is_some();
        if exists && create {
            self.error(span, format!("Could not process rule: {EEXIST}"));
            return;
        }
        let Some(body) = body else {
            if !exists {
                self.error(span, format!("{} definition does not specify key", kind_word(kind)));
            }
            return;
        };
        if name.name.len() > 255 {
            self.error(name.span, "set name too long");
            return;
        }
        let mut cx = RuleCx::new(table, None, 0);
        cx.in_typeof = true;
        let decl = cx.set_decl(kind, name, body, span);
        let diags = std::mem::take(&mut cx.diags);
        let failed = cx.failed;
        drop(cx);
        self.diags.extend(diags);
        let Some(mut decl) = decl else { return };
        if failed {
            return;
        }
        if exists {
            let Some(cur) = self.table_mut(key).and_then(|t| t.set_mut(&name.name)) else { return };
            if cur.key.iter().map(|k| (k.ty, k.bits)).ne(decl.key.iter().map(|k| (k.ty, k.bits)))
                || cur.flags.interval != decl.flags.interval
                || cur.is_map() != decl.is_map()
            {
                let what = kind_word(kind);
                self.error(
                    span,
                    format!("Cannot merge {what} with incompatible existing {what} of same name"),
                );
                return;
            }
            let new_elems = std::mem::take(&mut decl.elems);
            let diags = add_elements(cur, new_elems, false);
            self.diags.extend(diags);
            return;
        }
        decl.handle = self.next_handle(key.0, &key.1);
        let elems = std::mem::take(&mut decl.elems);
        let diags = add_elements(&mut decl, elems, false);
        self.diags.extend(diags);
        if let Some(t) = self.table_mut(key) {
            t.sets.push(decl);
        }
    }

    pub(super) fn element_command(
        &mut self,
        verb: Verb,
        spec: &ast::Spec,
        elements: &[ast::SetElem],
        span: Span,
    ) {
        let Some(key) = self.find_table(spec) else { return };
        let Some(name) = &spec.name else {
            self.error(spec.span, "missing set name");
            return;
        };
        let Some(table) = self.table_ref(&key) else { return };
        let Some(set) = table.set(&name.name) else {
            let near = super::closest(&name.name, table.sets.iter().map(|s| s.name.as_str()));
            let msg = match near {
                Some(n) => format!("{ENOENT}; did you mean set '{n}' in table {} '{}'?", key.0.name(), key.1),
                None => ENOENT.to_string(),
            };
            self.error(name.span, msg);
            return;
        };
        let shape = shape_of(&set.key);
        let data_shape = match &set.data {
            Some(SetData::Value { fields, .. }) => Some(shape_of(fields)),
            Some(SetData::Object(_)) => {
                Some(Expr::new(ExprKind::CatchAll, Type::String, 256 * 8, ByteOrder::Host))
            }
            None => None,
        };
        let obj_ty = match &set.data {
            Some(SetData::Object(t)) => Some(*t),
            _ => None,
        };
        let mut cx = RuleCx::new(table, None, 0);
        let mut parsed = Vec::new();
        for el in elements {
            let _ = cx.set_elem(el, &shape, data_shape.as_ref(), &mut parsed);
        }
        if let Some(t) = obj_ty {
            for e in &parsed {
                if let Some(d) = e.data.as_ref().and_then(|d| d.as_value()) {
                    let n = d.to_str_lossy();
                    if table.object(t, &n).is_none() {
                        cx.diags.push(nftvm_grammar::Diagnostic::error(
                            e.data.as_ref().map_or(span, |d| d.span),
                            format!("Could not process rule: {ENOENT}"),
                        ));
                        cx.failed = true;
                    }
                }
            }
        }
        let diags = std::mem::take(&mut cx.diags);
        let failed = cx.failed;
        drop(cx);
        self.diags.extend(diags);
        if failed {
            return;
        }
        let Some(set) = self.table_mut(&key).and_then(|t| t.set_mut(&name.name)) else { return };
        match verb {
            Verb::Delete | Verb::Destroy => {
                let mut missing = Vec::new();
                for e in parsed {
                    match set.elems.iter().position(|x| x.key.same_key(&e.key)) {
                        Some(i) => {
                            set.elems.remove(i);
                        }
                        None => missing.push(e.span),
                    }
                }
                if verb == Verb::Delete {
                    for s in missing {
                        self.error(s, format!("Could not process rule: {ENOENT}"));
                    }
                }
            }
            Verb::Add | Verb::Block | Verb::Create => {
                let diags = add_elements(set, parsed, verb == Verb::Create);
                self.diags.extend(diags);
            }
            _ => {}
        }
    }
}

fn kind_word(kind: ast::SetKind) -> &'static str {
    match kind {
        ast::SetKind::Set => "set",
        ast::SetKind::Map => "map",
    }
}

/// Add elements to a set, with the kernel's duplicate and interval rules.
fn add_elements(set: &mut Set, elems: Vec<SetElem>, create: bool) -> Vec<nftvm_grammar::Diagnostic> {
    let mut diags = Vec::new();
    for e in elems {
        let is_interval_elem = match &e.key.kind {
            ExprKind::Range { .. } | ExprKind::Prefix { .. } => !e.key.ty.is_string(),
            ExprKind::Concat(m) => {
                m.iter().any(|x| matches!(x.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }))
            }
            _ => false,
        };
        if is_interval_elem && !set.flags.interval {
            let what = if set.is_map() { "map" } else { "set" };
            let kind = if matches!(e.key.kind, ExprKind::Prefix { .. }) { "prefix" } else { "range" };
            diags.push(nftvm_grammar::Diagnostic::error(
                e.span,
                format!("You must add 'flags interval' to your {what} declaration if you want to add {kind} elements"),
            ));
            continue;
        }
        if set.flags.interval
            && !set.auto_merge
            && set.key.len() == 1
            && let Some((lo, hi)) = crate::ir::set::key_bounds(&e.key)
            && set.elems.iter().any(|x| {
                !x.key.same_key(&e.key)
                    && crate::ir::set::key_bounds(&x.key).is_some_and(|(a, b)| a <= hi && lo <= b)
            })
        {
            diags.push(nftvm_grammar::Diagnostic::error(e.span, "conflicting intervals specified"));
            continue;
        }
        if let Some(i) = set.elems.iter().position(|x| x.key.same_key(&e.key)) {
            if create || (set.is_map() && set.elems[i].data != e.data) {
                diags.push(nftvm_grammar::Diagnostic::error(
                    e.span,
                    format!("Could not process rule: {EEXIST}"),
                ));
            }
            continue;
        }
        set.elems.push(e);
    }
    diags
}

impl RuleCx<'_> {
    /// A set declaration's body.
    pub(super) fn set_decl(
        &mut self,
        kind: ast::SetKind,
        name: &ast::Ident,
        body: &ast::SetBody,
        span: Span,
    ) -> Option<Set> {
        let mut set = Set::new(name.name.clone(), Vec::new());
        set.span = span;
        set.kind = match kind {
            ast::SetKind::Set => SetKind::Set,
            ast::SetKind::Map => SetKind::Map,
        };
        let mut elements: Option<&ast::Expr> = None;
        let mut have_key = false;
        for p in &body.props {
            match p {
                ast::SetProp::Type { key, data, span } => {
                    set.key = self.type_fields(key)?;
                    have_key = true;
                    if let Some(d) = data {
                        set.data = Some(self.data_type(d, *span)?);
                    }
                }
                ast::SetProp::Typeof { key, data, .. } => {
                    set.key = self.typeof_fields(key)?;
                    set.key_typeof = true;
                    have_key = true;
                    if let Some(d) = data {
                        set.data = Some(self.typeof_data(d)?);
                    }
                }
                ast::SetProp::Flags { flags, .. } => {
                    for f in flags {
                        match f.text.as_str() {
                            "constant" => set.flags.constant = true,
                            "interval" => set.flags.interval = true,
                            "timeout" => set.flags.timeout = true,
                            "dynamic" => set.flags.dynamic = true,
                            other => return self.fail(f.span, format!("unknown set flag `{other}`")),
                        }
                    }
                }
                ast::SetProp::Elements { elements: e, .. } => elements = Some(e),
                ast::SetProp::Size { size, .. } => set.size = Some(self.u32_atom(size)?),
                ast::SetProp::Timeout { timeout, .. } => set.timeout = Some(self.time_ms(timeout)?),
                ast::SetProp::GcInterval { interval, .. } => set.gc_interval = Some(self.time_ms(interval)?),
                ast::SetProp::Policy { policy, .. } => {
                    set.policy = Some(match policy.text.as_str() {
                        "performance" => SetPolicy::Performance,
                        "memory" => SetPolicy::Memory,
                        other => return self.fail(policy.span, format!("unknown set policy `{other}`")),
                    })
                }
                ast::SetProp::AutoMerge { .. } => set.auto_merge = true,
                ast::SetProp::Comment { text, .. } => set.comment = Some(text.text.clone()),
                ast::SetProp::Stmts(stmts) => {
                    for s in stmts {
                        let st = self.stateful_stmt(s)?;
                        set.stmts.push(st);
                    }
                }
                ast::SetProp::Define(_) => {}
            }
        }
        if !have_key {
            return self.fail(span, format!("{} definition does not specify key", kind_word(kind)));
        }
        if kind == ast::SetKind::Map && set.data.is_none() {
            return self.fail(span, "map definition does not specify mapping data type");
        }
        if kind == ast::SetKind::Set && set.data.is_some() {
            return self.fail(span, "set definition cannot specify mapping data type; use a map");
        }
        if set.auto_merge && !set.flags.interval {
            return self.fail(span, "auto-merge only works with interval sets");
        }
        if let Some(SetData::Value { interval: true, .. }) = &set.data
            && !set.flags.interval
        {
            set.flags.interval = true;
        }
        if set.timeout.is_some() {
            set.flags.timeout = true;
        }
        if let Some(e) = elements {
            let shape = shape_of(&set.key);
            let data_shape = match &set.data {
                Some(SetData::Value { fields, .. }) => Some(shape_of(fields)),
                Some(SetData::Object(_)) => {
                    Some(Expr::new(ExprKind::CatchAll, Type::String, 256 * 8, ByteOrder::Host))
                }
                None => None,
            };
            let items = match e.as_run() {
                Some([ast::Item { kind: ast::ItemKind::Set(elems), .. }]) => elems,
                _ => {
                    return self
                        .fail(e.span, format!("Set {}: Unexpected initial type, missing {{ }}?", set.name));
                }
            };
            let mut out = Vec::new();
            let mut ok = true;
            for el in items {
                if self.set_elem(el, &shape, data_shape.as_ref(), &mut out).is_none() {
                    ok = false;
                }
            }
            if !ok {
                return None;
            }
            set.elems = out;
        }
        Some(set)
    }

    /// `type a . b`.
    fn type_fields(&mut self, names: &[ast::TypeName]) -> Option<Vec<KeyField>> {
        let mut out = Vec::new();
        for n in names {
            let words: Vec<&str> = n.words.iter().map(|w| w.name.as_str()).collect();
            let word = words.join(" ");
            let Some(ty) = Type::from_name(&word) else {
                return self.fail(n.span, format!("unknown datatype {word}"));
            };
            if ty.bits() == 0 && !ty.is_string() && ty != Type::Verdict {
                return self.fail(n.span, format!("unqualified type {} specified in map definition. Try \"typeof expression\" instead of \"type datatype\".", ty.name()));
            }
            let bits = if ty.is_string() && ty.bits() == 0 { 128 } else { ty.bits() };
            out.push(KeyField::new(ty, bits, ty.order()));
        }
        Some(out)
    }

    /// Map data: `verdict`, `interval ipv4_addr`, `counter`, `ct helper`, a concatenation.
    fn data_type(&mut self, names: &[ast::TypeName], span: Span) -> Option<SetData> {
        if let [one] = names {
            let words: Vec<&str> = one.words.iter().map(|w| w.name.as_str()).collect();
            let joined = words.join(" ");
            if let Some(t) = ObjectType::from_name(&joined) {
                return Some(SetData::Object(t));
            }
            if words.first() == Some(&"interval") && words.len() > 1 {
                let rest = words[1..].join(" ");
                let Some(ty) = Type::from_name(&rest) else {
                    return self.fail(one.span, format!("unknown datatype {rest}"));
                };
                return Some(SetData::Value { fields: vec![KeyField::of(ty)], interval: true });
            }
        }
        let mut interval = false;
        let mut fixed = Vec::new();
        for n in names {
            let mut n = n.clone();
            if n.words.first().map(|w| w.name.as_str()) == Some("interval") {
                interval = true;
                n.words.remove(0);
            }
            fixed.push(n);
        }
        let fields = self.type_fields(&fixed)?;
        if fields.is_empty() {
            return self.fail(span, "map definition does not specify mapping data type");
        }
        Some(SetData::Value { fields, interval })
    }

    /// `typeof … : <data>`: an expression, `verdict`, `queue`, or an object type
    /// (`counter`, `ct expectation`, …).
    fn typeof_data(&mut self, d: &ast::Expr) -> Option<SetData> {
        // `interval a . b`: the word sits at the start of the first member.
        if let ast::ExprKind::Concat(parts) = &d.kind
            && let Some([ast::Item { kind: ast::ItemKind::Atom(w), .. }, rest @ ..]) =
                parts.first().and_then(|p| p.as_run())
            && w.text == "interval"
        {
            let mut parts = parts.clone();
            parts[0] = ast::Expr { kind: ast::ExprKind::Run(rest.to_vec()), span: parts[0].span };
            let inner = ast::Expr { kind: ast::ExprKind::Concat(parts), span: d.span };
            let fields = self.typeof_fields(&inner)?;
            return Some(SetData::Value { fields, interval: true });
        }
        if let Some(items) = d.as_run() {
            let words: Vec<&str> = items
                .iter()
                .map(|i| match &i.kind {
                    ast::ItemKind::Atom(a) => a.text.as_str(),
                    _ => "",
                })
                .collect();
            let joined = words.join(" ");
            if joined == "verdict" {
                return Some(SetData::Value { fields: vec![KeyField::of(Type::Verdict)], interval: false });
            }
            if joined == "queue" {
                return Some(SetData::Value { fields: vec![KeyField::of(Type::Queue)], interval: false });
            }
            if let Some(t) = ObjectType::from_name(&joined) {
                return Some(SetData::Object(t));
            }
            if joined.starts_with("interval ") {
                let inner = ast::Expr { kind: ast::ExprKind::Run(items[1..].to_vec()), span: d.span };
                let fields = self.typeof_fields(&inner)?;
                return Some(SetData::Value { fields, interval: true });
            }
        }
        let fields = self.typeof_fields(d)?;
        Some(SetData::Value { fields, interval: false })
    }

    /// `typeof ip saddr . tcp dport`.
    fn typeof_fields(&mut self, e: &ast::Expr) -> Option<Vec<KeyField>> {
        let (pre, x) = self.lhs(e)?;
        if !pre.is_empty() {
            return self.fail(e.span, "syntax error in typeof expression");
        }
        let members = match x.kind {
            ExprKind::Concat(m) => m,
            _ => vec![x],
        };
        Some(
            members
                .into_iter()
                .map(|m| {
                    let (ty, bits, order) = (m.ty, m.bits, m.order);
                    KeyField { ty, bits, order, expr: Some(m) }
                })
                .collect(),
        )
    }
}
