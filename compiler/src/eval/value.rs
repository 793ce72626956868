//! Constants: parsing value items (symbols, numbers, addresses, strings, ranges, prefixes,
//! flag lists, anonymous sets, named-set references, verdicts) against the type of the
//! expression they are compared with or assigned to, and folding constant operators.

use super::rule::RuleCx;
use crate::ir::{Expr, ExprKind, SetElem, SetLit, Verdict};
use crate::types::{StringMatch, Type, Value, string_match};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{self, Atom, AtomKind, Item, ItemKind};

/// The basetype nft compares datatypes by (`ct_state` → bitmask → integer; `ifname` →
/// string).
pub(crate) fn basetype(t: Type) -> Type {
    let chain = t.base_chain();
    chain.last().copied().unwrap_or(t)
}

/// Whether a value of type `b` may be compared with an expression of type `a`.
pub(crate) fn types_compatible(a: Type, b: Type) -> bool {
    a == b || a == Type::Invalid || b == Type::Invalid || {
        // integer-typed selectors take any integer-based constant (raw payloads, `th`).
        (matches!(a, Type::Integer | Type::XInteger) || matches!(b, Type::Integer | Type::XInteger))
            && basetype(a) == basetype(b)
    }
}

/// A key expression's fields: a concatenation's members, else the expression itself.
fn key_members(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Concat(members) => members.iter().collect(),
        _ => vec![e],
    }
}

/// How nft names a key of these types: the type, or `concatenation of (a, b)`.
fn key_desc(types: &[Type]) -> String {
    match types {
        [t] => t.desc().to_string(),
        _ => format!("concatenation of ({})", types.iter().map(|t| t.desc()).collect::<Vec<_>>().join(", ")),
    }
}

/// Does `key` fit a named set's key `fields` — as many fields, each of a compatible type and
/// taking as many register words? (Else the lookup would read bytes the key never wrote.)
/// The descriptions of both keys, for nft's "datatype mismatch" message, when not.
pub(super) fn key_mismatch(key: &Expr, fields: &[crate::ir::KeyField]) -> Option<(String, String)> {
    let members = key_members(key);
    let fits = members.len() == fields.len()
        && members
            .iter()
            .zip(fields)
            .all(|(m, f)| types_compatible(m.ty, f.ty) && m.bits.div_ceil(32) == f.bits.div_ceil(32));
    if fits {
        return None;
    }
    let expr_types: Vec<Type> = members.iter().map(|m| m.ty).collect();
    let set_types: Vec<Type> = fields.iter().map(|f| f.ty).collect();
    Some((key_desc(&expr_types), key_desc(&set_types)))
}

impl RuleCx<'_> {
    /// Parse text as a constant of `shape`'s type and width.
    pub(super) fn parse_text(&mut self, text: &str, span: Span, shape: &Expr) -> Option<Expr> {
        if shape.ty.is_string() {
            return match string_match(text) {
                StringMatch::Prefix(head) => {
                    let len = (head.len() * 8) as u32;
                    let bytes = (shape.bits / 8).max(1) as usize;
                    match Value::padded_string(&head, bytes.max(head.len() + 1)) {
                        Ok(v) if !head.is_empty() || text == "*" => Some(shape.prefix(v, len).at(span)),
                        Ok(_) => self.fail(span, "Empty string is not allowed"),
                        Err(e) => self.fail(span, e.to_string()),
                    }
                }
                StringMatch::Exact(e) => match shape.ty.parse_as(&e, shape.bits, shape.order) {
                    Ok(v) => Some(shape.constant(v).at(span)),
                    Err(err) => self.fail(span, err.message),
                },
            };
        }
        match shape.ty.parse_as(text, shape.bits, shape.order) {
            Ok(v) => Some(shape.constant(v).at(span)),
            Err(e) => self.fail(span, e.message),
        }
    }

    /// A constant from one atom.
    pub(super) fn atom_value(&mut self, a: &Atom, shape: &Expr) -> Option<Expr> {
        match a.kind {
            AtomKind::SetRef => self.set_ref(a, shape),
            AtomKind::Asterisk => {
                Some(Expr::new(ExprKind::CatchAll, shape.ty, shape.bits, shape.order).at(a.span))
            }
            AtomKind::Wildcard if shape.ty.is_string() => self.parse_text(&a.text, a.span, shape),
            AtomKind::Quoted if shape.ty == Type::Verdict => {
                self.fail(a.span, "Could not parse netfilter verdict")
            }
            _ if shape.ty == Type::Invalid => self.fail(a.span, "expression has no type"),
            _ => self.parse_text(&a.text, a.span, shape),
        }
    }

    /// `@name` against an expression: the named set must exist and have a compatible key.
    pub(super) fn set_ref(&mut self, a: &Atom, shape: &Expr) -> Option<Expr> {
        let Some(set) = self.table.set(&a.text) else {
            let near = super::closest(&a.text, self.table.sets.iter().map(|s| s.name.as_str()));
            let msg = match near.and_then(|n| self.table.set(n)) {
                Some(s) => format!(
                    "{}; did you mean {} '{}' in table {} '{}'?",
                    super::ENOENT,
                    if s.is_map() { "map" } else { "set" },
                    s.name,
                    self.table.family.name(),
                    self.table.name
                ),
                None => super::ENOENT.to_string(),
            };
            return self.fail(a.span, msg);
        };
        if let Some((expr, key)) = key_mismatch(shape, &set.key) {
            return self.fail_related(
                a.span,
                shape.span,
                format!("datatype mismatch, expected {expr}, expression has type {key}"),
            );
        }
        Some(Expr::new(ExprKind::SetRef(a.text.clone()), shape.ty, shape.bits, shape.order).at(a.span))
    }

    /// A constant from one value item (not a flag mask: see the match builder).
    pub(super) fn value_item(&mut self, item: &Item, shape: &Expr) -> Option<Expr> {
        if let ExprKind::Concat(members) = &shape.kind
            && !matches!(item.kind, ItemKind::Set(_) | ItemKind::Group(_))
            && !matches!(&item.kind, ItemKind::Atom(a) if matches!(a.kind, AtomKind::SetRef | AtomKind::Asterisk))
        {
            if members.len() == 1 {
                let v = self.value_item(item, &members[0])?;
                return Some(crate::ir::build::concat(vec![v]));
            }
            return self.fail(item.span, "expected a concatenation of values");
        }
        match &item.kind {
            ItemKind::Atom(a) => self.atom_value(a, shape),
            ItemKind::Range(lo, hi) => self.range(lo, hi, item.span, shape),
            ItemKind::Mask(l, r) => self.prefix(l, r, item.span, shape),
            ItemKind::List(atoms) => self.flag_list(atoms, shape),
            ItemKind::Set(elems) => self.set_lit(elems, shape, None, item.span),
            ItemKind::Group(e) => self.value_expr(e, shape),
            ItemKind::Verdict(v) => {
                if shape.ty != Type::Verdict {
                    return self.fail(
                        item.span,
                        format!(
                            "datatype mismatch, expected {}, expression has type netfilter verdict",
                            shape.ty.desc()
                        ),
                    );
                }
                let v = self.verdict(v)?;
                Some(Expr::verdict(v).at(item.span))
            }
            _ => self.fail(item.span, "expected a value"),
        }
    }

    /// `low-high`.
    fn range(&mut self, lo: &Atom, hi: &Atom, span: Span, shape: &Expr) -> Option<Expr> {
        let l = self.atom_value(lo, shape)?;
        let h = self.atom_value(hi, shape)?;
        let (Some(lv), Some(hv)) = (l.as_value().cloned(), h.as_value().cloned()) else {
            return self.fail(span, format!("Range expression is undefined for {} types", shape.ty.desc()));
        };
        if shape.ty.is_string() {
            return self.fail(span, format!("Range expression is undefined for {} types", shape.ty.desc()));
        }
        let hour = matches!(shape.kind, ExprKind::Meta(nftvm_vm::keys::MetaKey::TimeHour));
        match lv.to_u128().zip(hv.to_u128()) {
            // Cross-day hour ranges are fine (see the relation builder).
            Some((a, b)) if a > b && !hour => self.fail(span, "Range negative size"),
            Some((a, b)) if a == b => Some(shape.constant(lv).at(span)),
            _ => Some(shape.range(lv, hv).at(span)),
        }
    }

    /// `addr/len` (a prefix); host bits are cleared as nft does.
    fn prefix(&mut self, l: &[Atom], r: &[Atom], span: Span, shape: &Expr) -> Option<Expr> {
        let ([base], [len]) = (l, r) else {
            return self.fail(span, format!("Prefix expression is undefined for {} types", shape.ty.desc()));
        };
        let b = self.atom_value(base, shape)?;
        let Some(v) = b.as_value().cloned() else {
            return self.fail(span, "Prefix expression is undefined for non-constant expressions");
        };
        let Some(n) = len.number().and_then(|n| u32::try_from(n).ok()) else {
            return self.fail(len.span, "expected a prefix length");
        };
        if basetype(shape.ty) != Type::Integer {
            return self.fail(span, format!("Prefix expression is undefined for {} types", shape.ty.desc()));
        }
        if n > shape.bits {
            return self
                .fail(span, format!("Prefix length {n} is invalid for type of {} bits width", shape.bits));
        }
        let mask = match Value::prefix_mask(v.bits(), v.order(), n) {
            Ok(m) => m,
            Err(e) => return self.fail(span, e.to_string()),
        };
        let masked = v.and(&mask).unwrap_or(v);
        if n == shape.bits && shape.ty.takes_prefix() {
            return Some(shape.constant(masked).at(span));
        }
        Some(shape.prefix(masked, n).at(span))
    }

    /// `a,b,c` outside braces: the OR of bitmask flags.
    fn flag_list(&mut self, atoms: &[Atom], shape: &Expr) -> Option<Expr> {
        let mut acc: Option<Value> = None;
        for a in atoms {
            if !shape.ty.is_flag_set() {
                return self.fail(a.span, format!("Basetype of type {} is not bitmask", shape.ty.desc()));
            }
            let v = self.atom_value(a, shape)?;
            let Some(v) = v.as_value().cloned() else {
                return self.fail(a.span, "List member must be a constant value");
            };
            acc = Some(match acc {
                Some(x) => x.or(&v).unwrap_or(x),
                None => v,
            });
        }
        let span = atoms.first().map(|a| a.span).unwrap_or_default();
        let span = atoms.last().map_or(span, |a| span.to(a.span));
        Some(shape.constant(acc?).at(span))
    }

    /// A constant expression: a single item, `a | b`, `0x0f << 1`, `a . b`, `(…)`.
    pub(super) fn value_expr(&mut self, e: &ast::Expr, shape: &Expr) -> Option<Expr> {
        match &e.kind {
            ast::ExprKind::Run(items) => match items.as_slice() {
                [one] => self.value_item(one, shape),
                [] => self.fail(e.span, "expected a value"),
                [_, extra, ..] => self.fail(extra.span, "syntax error, unexpected value"),
            },
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let l = self.value_expr(lhs, shape)?;
                let op = super::rule::binop(*op);
                let r = match op {
                    crate::ir::BinOp::Shl | crate::ir::BinOp::Shr => {
                        let int = Expr::new(ExprKind::CatchAll, Type::Integer, shape.bits, shape.order);
                        self.value_expr(rhs, &int)?
                    }
                    _ => self.value_expr(rhs, shape)?,
                };
                self.fold(op, l, r, e.span)
            }
            ast::ExprKind::Concat(parts) => {
                let ExprKind::Concat(members) = &shape.kind else {
                    return self.fail(e.span, "Use concatenations with sets and maps, not singleton values");
                };
                if parts.len() != members.len() {
                    return self.fail(
                        e.span,
                        format!(
                            "datatype mismatch, expected concatenation of {} values, got {}",
                            members.len(),
                            parts.len()
                        ),
                    );
                }
                let mut out = Vec::new();
                for (p, m) in parts.iter().zip(members) {
                    out.push(self.value_expr(p, m)?);
                }
                Some(crate::ir::build::concat(out).at(e.span))
            }
            ast::ExprKind::Map { .. } => self.fail(e.span, "expected a constant value"),
        }
    }

    /// Fold `l op r` on constants.
    pub(super) fn fold(&mut self, op: crate::ir::BinOp, l: Expr, r: Expr, span: Span) -> Option<Expr> {
        use crate::ir::BinOp;
        let (Some(a), Some(b)) = (l.as_value(), r.as_value()) else {
            return self.fail(span, "Binary operation is undefined for non-constant expressions");
        };
        let res = match op {
            BinOp::And => a.and(b),
            BinOp::Or => a.or(b),
            BinOp::Xor => a.xor(b),
            BinOp::Shl | BinOp::Shr => {
                let n = b.to_u64().unwrap_or(u64::MAX).min(1024) as u32;
                if op == BinOp::Shl { a.shl(n) } else { a.shr(n) }
            }
        };
        match res {
            Ok(v) => Some(l.constant(v).at(span)),
            Err(e) => self.fail(span, e.to_string()),
        }
    }

    /// An anonymous set (or map when `data` is given) keyed like `shape`.
    pub(super) fn set_lit(
        &mut self,
        elems: &[ast::SetElem],
        shape: &Expr,
        data: Option<&Expr>,
        span: Span,
    ) -> Option<Expr> {
        let mut out = Vec::new();
        let mut ok = true;
        for el in elems {
            match self.set_elem(el, shape, data, &mut out) {
                Some(()) => {}
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if out.is_empty() {
            return self.fail(span, "Set is empty");
        }
        let interval =
            out.iter().any(|e| matches!(e.key.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }))
                || out.iter().any(|e| match &e.key.kind {
                    ExprKind::Concat(m) => {
                        m.iter().any(|x| matches!(x.kind, ExprKind::Range { .. } | ExprKind::Prefix { .. }))
                    }
                    _ => false,
                });
        if interval
            && data.is_some()
            && let Some((_, b)) = crate::ir::set::first_overlap(&out)
        {
            return self.fail(out[b].span, "conflicting intervals specified");
        }
        let lit = SetLit { elems: out, interval };
        Some(Expr::new(ExprKind::Set(Box::new(lit)), shape.ty, shape.bits, shape.order).at(span))
    }

    /// One element (nested sets are flattened into `out`).
    pub(super) fn set_elem(
        &mut self,
        el: &ast::SetElem,
        shape: &Expr,
        data: Option<&Expr>,
        out: &mut Vec<SetElem>,
    ) -> Option<()> {
        // `{ { 1, 2 }, 3 }`: nested anonymous sets merge into the outer one.
        if let Some([Item { kind: ItemKind::Set(inner), .. }]) = el.key.as_run()
            && el.data.is_none()
        {
            for i in inner {
                self.set_elem(i, shape, data, out)?;
            }
            return Some(());
        }
        if let Some([Item { kind: ItemKind::Atom(a), .. }]) = el.key.as_run()
            && a.kind == AtomKind::SetRef
        {
            return self.fail(a.span, "Set reference cannot be part of another set");
        }
        let key = self.value_expr(&el.key, shape)?;
        let mut elem = SetElem::new(key);
        elem.span = el.span;
        self.elem_options(&el.key_options, &mut elem)?;
        match (&el.data, data) {
            (Some(d), Some(shape_d)) => {
                elem.data = Some(self.map_data(d, shape_d)?);
                self.elem_options(&el.data_options, &mut elem)?;
            }
            (Some(d), None) => return self.fail(d.span, "set is not a map"),
            (None, Some(_)) => return self.fail(el.span, "map has no mapping data"),
            (None, None) => {}
        }
        out.push(elem);
        Some(())
    }

    /// Map data: a value, a verdict (`jump c`), or a concatenation.
    fn map_data(&mut self, d: &ast::Expr, shape: &Expr) -> Option<Expr> {
        if shape.ty == Type::Verdict
            && let Some([Item { kind: ItemKind::Atom(a), span }]) = d.as_run()
        {
            let v = match a.text.as_str() {
                "accept" => Verdict::Accept,
                "drop" => Verdict::Drop,
                "continue" => Verdict::Continue,
                "return" => Verdict::Return,
                _ => return self.fail(*span, format!("Could not parse netfilter verdict `{}`", a.text)),
            };
            return Some(Expr::verdict(v).at(*span));
        }
        self.value_expr(d, shape)
    }

    /// `timeout`, `expires`, `comment`, `counter …` on an element.
    pub(super) fn elem_options(&mut self, opts: &[ast::ElemOption], elem: &mut SetElem) -> Option<()> {
        for o in opts {
            match o {
                ast::ElemOption::Timeout(a) => elem.timeout = Some(self.time_ms(a)?),
                ast::ElemOption::Expires(a) => elem.expires = Some(self.time_ms(a)?),
                ast::ElemOption::Comment(a) => elem.comment = Some(a.text.clone()),
                ast::ElemOption::Stmt(s) => {
                    let st = self.stateful_stmt(s)?;
                    elem.stmts.push(st);
                }
            }
        }
        Some(())
    }

    /// A time (`30s`, `1h2m`, a number of seconds, `never`) in milliseconds.
    pub(super) fn time_ms(&mut self, a: &Atom) -> Option<u64> {
        if a.text == "never" {
            return Some(u64::MAX);
        }
        match crate::types::parse_relative_ms(&a.text) {
            Ok(ms) => Some(ms),
            Err(e) => self.fail(a.span, e.message),
        }
    }
}
