//! Stateful objects (`counter`, `quota`, `limit`, `ct helper`, `ct timeout`,
//! `ct expectation`, `synproxy`, `secmark`, `tunnel`) and flowtables: their generic
//! property blocks read into typed IR, with nft's checks.

use super::ct_helpers::Lookup;
use super::rule::RuleCx;
use super::{EEXIST, ENOENT, Evaluator};
use crate::ir::{
    CtExpect, CtHelper, CtTimeout, Family, Flowtable, Hook, Object, ObjectKind, ObjectType, Synproxy,
};
use nftvm_grammar::Span;
use nftvm_grammar::nft::ast::{self, Atom, Verb};

/// The words of a property block, flattened, plus properties with `= value` / blocks.
struct Props<'a> {
    words: Vec<&'a Atom>,
    pos: usize,
    block: &'a ast::PropertyBlock,
}

impl<'a> Props<'a> {
    fn new(block: &'a ast::PropertyBlock) -> Props<'a> {
        let words = block
            .props
            .iter()
            .filter(|p| p.value.is_none() && p.block.is_none())
            .flat_map(|p| p.words.iter())
            .collect();
        Props { words, pos: 0, block }
    }

    fn next(&mut self) -> Option<&'a Atom> {
        let w = self.words.get(self.pos).copied();
        self.pos += 1;
        w
    }

    fn peek(&self) -> Option<&'a Atom> {
        self.words.get(self.pos).copied()
    }

    fn valued(&self, name: &str) -> Option<&'a ast::Property> {
        self.block.props.iter().find(|p| p.value.is_some() && p.words.first().is_some_and(|w| w.text == name))
    }
}

impl Evaluator {
    pub(super) fn object_command(
        &mut self,
        verb: Verb,
        kind: &ast::ObjectKind,
        spec: &ast::Spec,
        body: Option<&ast::PropertyBlock>,
        span: Span,
    ) {
        let Some(key) = self.find_table(spec) else { return };
        let words: Vec<&str> = kind.words.iter().map(|w| w.name.as_str()).collect();
        let Some(ty) = ObjectType::from_name(&words.join(" ")) else {
            self.error(kind.span, format!("unknown object type {}", words.join(" ")));
            return;
        };
        let Some(name) = &spec.name else {
            if let (Some(h), Verb::Delete | Verb::Destroy) = (&spec.handle, verb)
                && let Some(t) = self.table_mut(&key)
            {
                let n = h.number();
                t.objects.retain(|o| Some(o.handle) != n);
            }
            return;
        };
        match verb {
            Verb::Block | Verb::Add | Verb::Create => {
                self.declare_object(&key, kind, name, body, span, verb == Verb::Create)
            }
            Verb::Delete | Verb::Destroy => {
                let exists = self.table_ref(&key).is_some_and(|t| t.object(ty, &name.name).is_some());
                if !exists {
                    if verb == Verb::Delete {
                        self.error(name.span, ENOENT);
                    }
                    return;
                }
                if let Some(t) = self.table_mut(&key) {
                    t.objects.retain(|o| !(o.kind.object_type() == ty && o.name == name.name));
                }
            }
            Verb::Reset => {
                if let Some(o) = self.table_mut(&key).and_then(|t| {
                    t.objects.iter_mut().find(|o| o.kind.object_type() == ty && o.name == name.name)
                }) {
                    match &mut o.kind {
                        ObjectKind::Counter(c) => *c = Default::default(),
                        ObjectKind::Quota(q) => q.used = 0,
                        _ => {}
                    }
                }
            }
            _ => self.error(span, "syntax error"),
        }
    }

    pub(super) fn declare_object(
        &mut self,
        key: &(Family, String),
        kind: &ast::ObjectKind,
        name: &ast::Ident,
        body: Option<&ast::PropertyBlock>,
        span: Span,
        create: bool,
    ) {
        let words: Vec<&str> = kind.words.iter().map(|w| w.name.as_str()).collect();
        let Some(ty) = ObjectType::from_name(&words.join(" ")) else {
            self.error(kind.span, format!("unknown object type {}", words.join(" ")));
            return;
        };
        let Some(table) = self.table_ref(key) else { return };
        if table.object(ty, &name.name).is_some() {
            if create {
                self.error(span, format!("Could not process rule: {EEXIST}"));
            }
            return;
        }
        let mut cx = RuleCx::new(table, None, 0);
        let empty = ast::PropertyBlock { props: Vec::new(), span };
        let obj = cx.object(ty, body.unwrap_or(&empty), span);
        let diags = std::mem::take(&mut cx.diags);
        drop(cx);
        self.diags.extend(diags);
        let Some((kind, comment)) = obj else { return };
        let handle = self.next_handle(key.0, &key.1);
        let o = Object { name: name.name.clone(), kind, comment, span, handle };
        if let Some(t) = self.table_mut(key) {
            t.objects.push(o);
        }
    }

    pub(super) fn flowtable_command(
        &mut self,
        verb: Verb,
        spec: &ast::Spec,
        body: Option<&ast::PropertyBlock>,
        span: Span,
    ) {
        let Some(key) = self.find_table(spec) else { return };
        let Some(name) = &spec.name else { return };
        match verb {
            Verb::Block | Verb::Add | Verb::Create => {
                self.declare_flowtable(&key, name, body, span, verb == Verb::Create)
            }
            Verb::Delete | Verb::Destroy => {
                let exists = self.table_ref(&key).is_some_and(|t| t.flowtable(&name.name).is_some());
                if !exists {
                    if verb == Verb::Delete {
                        self.error(name.span, ENOENT);
                    }
                    return;
                }
                if let Some(t) = self.table_mut(&key) {
                    t.flowtables.retain(|f| f.name != name.name);
                }
            }
            _ => {}
        }
    }

    pub(super) fn declare_flowtable(
        &mut self,
        key: &(Family, String),
        name: &ast::Ident,
        body: Option<&ast::PropertyBlock>,
        span: Span,
        create: bool,
    ) {
        let exists = self.table_ref(key).is_some_and(|t| t.flowtable(&name.name).is_some());
        if exists {
            if create {
                self.error(span, format!("Could not process rule: {EEXIST}"));
            }
            // Re-declaration may add devices.
            if let Some(b) = body
                && let Some(ft) = self.flowtable_body(name, b, span)
                && let Some(cur) =
                    self.table_mut(key).and_then(|t| t.flowtables.iter_mut().find(|f| f.name == name.name))
            {
                for d in ft.devices {
                    if !cur.devices.contains(&d) {
                        cur.devices.push(d);
                    }
                }
            }
            return;
        }
        let Some(b) = body else {
            self.error(span, "missing hook and priority in flowtable declaration");
            return;
        };
        let Some(mut ft) = self.flowtable_body(name, b, span) else { return };
        ft.handle = self.next_handle(key.0, &key.1);
        if let Some(t) = self.table_mut(key) {
            t.flowtables.push(ft);
        }
    }

    fn flowtable_body(&mut self, name: &ast::Ident, b: &ast::PropertyBlock, span: Span) -> Option<Flowtable> {
        let mut ft = Flowtable {
            name: name.name.clone(),
            hook: Hook::Ingress,
            priority: 0,
            devices: Vec::new(),
            offload: false,
            counter: false,
            span,
            handle: 0,
        };
        let mut have_hook = false;
        for p in &b.props {
            let words: Vec<&str> = p.words.iter().map(|w| w.text.as_str()).collect();
            match words.as_slice() {
                ["hook", hook, rest @ ..] => {
                    if *hook != "ingress" {
                        self.error(p.words[1].span, "unknown chain hook");
                        return None;
                    }
                    have_hook = true;
                    match rest {
                        ["priority", prio @ ..] => {
                            ft.priority = self.flowtable_priority(prio, &p.words[3..], p.span)?;
                        }
                        [] => {}
                        _ => {
                            self.error(p.span, "syntax error in flowtable hook");
                            return None;
                        }
                    }
                }
                ["devices"] => {
                    if let Some(v) = &p.value {
                        ft.devices = self.device_list(v)?;
                    }
                }
                ["counter"] => ft.counter = true,
                ["flags", "offload"] => ft.offload = true,
                _ => {
                    self.error(p.span, format!("syntax error, unexpected {}", words.join(" ")));
                    return None;
                }
            }
        }
        if !have_hook {
            self.error(span, "missing hook and priority in flowtable declaration");
            return None;
        }
        Some(ft)
    }

    /// Flowtables hook at netdev ingress: only `filter` (0) names a priority there.
    fn flowtable_priority(&mut self, words: &[&str], atoms: &[Atom], span: Span) -> Option<i32> {
        let parse = |s: &str| s.parse::<i64>().ok();
        let v = match words {
            [n] if parse(n).is_some() => parse(n),
            ["-", n] => parse(n).map(|x| -x),
            ["filter"] => Some(0),
            ["filter", "+", n] => parse(n),
            ["filter", "-", n] => parse(n).map(|x| -x),
            _ => None,
        };
        match v.and_then(|v| i32::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                let at = atoms.first().map_or(span, |a| a.span);
                self.error(at, "invalid priority expression value in this context.");
                None
            }
        }
    }
}

impl RuleCx<'_> {
    /// An object's body.
    fn object(
        &mut self,
        ty: ObjectType,
        b: &ast::PropertyBlock,
        span: Span,
    ) -> Option<(ObjectKind, Option<String>)> {
        let mut comment = None;
        let mut p = Props::new(b);
        // A `comment "…"` anywhere among the words.
        let mut words = Vec::new();
        while let Some(w) = p.next() {
            if w.text == "comment"
                && let Some(c) = p.peek()
            {
                comment = Some(c.text.clone());
                p.next();
                continue;
            }
            words.push(w);
        }
        let mut p = Props { words, pos: 0, block: b };
        let kind = match ty {
            ObjectType::Counter => {
                let mut c = crate::ir::Counter::default();
                while let Some(w) = p.next() {
                    let Some(n) = p.next() else { return self.fail(w.span, "syntax error") };
                    let v = n.number().or_else(|| self.fail(n.span, "expected a number"))?;
                    match w.text.as_str() {
                        "packets" => c.packets = v,
                        "bytes" => c.bytes = v,
                        _ => return self.fail(w.span, format!("syntax error, unexpected {}", w.text)),
                    }
                }
                ObjectKind::Counter(c)
            }
            ObjectType::Quota => {
                let mut mode = None;
                if p.peek().is_some_and(|w| w.text == "over" || w.text == "until") {
                    mode = p.next();
                }
                let Some(amount) = p.next() else { return self.fail(span, "quota needs an amount") };
                let unit = p.next();
                let mut used = None;
                if p.peek().is_some_and(|w| w.text == "used") {
                    p.next();
                    let n = p.next();
                    let u = p.next();
                    if let Some(n) = n {
                        used = Some((n.clone(), u.cloned()));
                    }
                }
                let q = self.quota(mode, amount, unit, used.as_ref())?;
                ObjectKind::Quota(q)
            }
            ObjectType::Limit => {
                if p.peek().is_some_and(|w| w.text == "rate") {
                    p.next();
                }
                let over = if p.peek().is_some_and(|w| w.text == "over") {
                    p.next();
                    true
                } else {
                    false
                };
                let Some(amount) = p.next() else { return self.fail(span, "limit needs a rate") };
                let mut bu = None;
                if p.peek().is_some_and(|w| w.text != "/") {
                    bu = p.next();
                }
                if p.peek().is_some_and(|w| w.text == "/") {
                    p.next();
                }
                let Some(per) = p.next() else { return self.fail(span, "limit needs a time unit") };
                let mut burst = None;
                if p.peek().is_some_and(|w| w.text == "burst") {
                    p.next();
                    if let Some(n) = p.next() {
                        burst = Some((n.clone(), p.next().cloned()));
                    }
                }
                let mut l = self.limit(over, amount, bu, per, burst.as_ref())?;
                if burst.is_none() && !l.bytes {
                    l.burst = 5;
                }
                ObjectKind::Limit(l)
            }
            ObjectType::CtHelper => {
                let mut helper = None;
                let mut l4 = None;
                let mut l3 = None;
                while let Some(w) = p.next() {
                    match w.text.as_str() {
                        "type" => {
                            helper = p.next().map(|a| a.text.clone());
                            if p.peek().is_some_and(|x| x.text == "protocol") {
                                p.next();
                                l4 = Some(self.l4proto(p.next(), span)?);
                            }
                        }
                        "protocol" => l4 = Some(self.l4proto(p.next(), span)?),
                        "l3proto" => l3 = Some(self.l3proto(p.next(), span)?),
                        other => return self.fail(w.span, format!("syntax error, unexpected {other}")),
                    }
                }
                let (Some(helper), Some(l4proto)) = (helper, l4) else {
                    return self.fail(span, "ct helper needs a type and a protocol");
                };
                let l3proto = l3.unwrap_or(self.family);
                if self.family != Family::Inet && l3proto != self.family {
                    return self.fail(span, "conflicting protocols specified: ip vs ip6");
                }
                let l3proto = match super::ct_helpers::lookup(&helper, l4proto, l3proto) {
                    Lookup::Found(family) => family,
                    Lookup::Unknown => l3proto,
                    Lookup::Refused => {
                        let proto = crate::types::protocol_name(l4proto).unwrap_or("this protocol");
                        return self.fail(
                            span,
                            format!(
                                "Could not process rule: {ENOENT} (the kernel has no \"{helper}\" helper \
                                 for {proto} in family {l3proto})"
                            ),
                        );
                    }
                };
                ObjectKind::CtHelper(CtHelper { helper, l4proto, l3proto })
            }
            ObjectType::CtTimeout => {
                let mut l4 = None;
                let mut l3 = None;
                while let Some(w) = p.next() {
                    match w.text.as_str() {
                        "protocol" => l4 = Some(self.l4proto(p.next(), span)?),
                        "l3proto" => l3 = Some(self.l3proto(p.next(), span)?),
                        other => return self.fail(w.span, format!("syntax error, unexpected {other}")),
                    }
                }
                let Some(l4proto) = l4 else { return self.fail(span, "ct timeout needs a protocol") };
                let defaults = crate::ir::object::default_timeouts(l4proto);
                let mut timeouts: Vec<(&'static str, u32)> = defaults.to_vec();
                if let Some(pol) = p.valued("policy").and_then(|pp| pp.value.as_ref()) {
                    let Some([ast::Item { kind: ast::ItemKind::Set(elems), .. }]) = pol.as_run() else {
                        return self.fail(pol.span, "policy must be a set of state : timeout");
                    };
                    for e in elems {
                        let state = match e.key.as_run() {
                            Some([ast::Item { kind: ast::ItemKind::Atom(a), .. }]) => a,
                            _ => return self.fail(e.span, "expected a state name"),
                        };
                        let Some(slot) = timeouts.iter_mut().find(|(n, _)| *n == state.text) else {
                            return self.fail(state.span, "invalid state for this protocol");
                        };
                        let val = match e.data.as_ref().and_then(|d| d.as_run()) {
                            Some([ast::Item { kind: ast::ItemKind::Atom(a), .. }]) => a,
                            _ => return self.fail(e.span, "expected a timeout"),
                        };
                        let ms = self.time_ms(val)?;
                        slot.1 = u32::try_from(ms / 1000).unwrap_or(u32::MAX);
                    }
                }
                ObjectKind::CtTimeout(CtTimeout { l4proto, l3proto: l3.unwrap_or(self.family), timeouts })
            }
            ObjectType::CtExpect => {
                let (mut l4, mut l3, mut dport, mut timeout, mut size) = (None, None, None, None, None);
                while let Some(w) = p.next() {
                    match w.text.as_str() {
                        "protocol" => l4 = Some(self.l4proto(p.next(), span)?),
                        "l3proto" => l3 = Some(self.l3proto(p.next(), span)?),
                        "dport" => {
                            dport = p.next().and_then(|a| a.number()).and_then(|n| u16::try_from(n).ok())
                        }
                        "timeout" => {
                            let Some(a) = p.next() else { return self.fail(w.span, "expected a timeout") };
                            timeout = Some(self.time_ms(a)?);
                        }
                        "size" => size = p.next().and_then(|a| a.number()).and_then(|n| u8::try_from(n).ok()),
                        other => return self.fail(w.span, format!("syntax error, unexpected {other}")),
                    }
                }
                let (Some(l4proto), Some(dport), Some(timeout), Some(size)) = (l4, dport, timeout, size)
                else {
                    return self.fail(span, "missing options");
                };
                ObjectKind::CtExpect(CtExpect {
                    l4proto,
                    dport,
                    timeout,
                    size,
                    l3proto: l3.unwrap_or(self.family),
                })
            }
            ObjectType::Synproxy => {
                let mut s = Synproxy::default();
                while let Some(w) = p.next() {
                    match w.text.as_str() {
                        "mss" => {
                            s.mss = p.next().and_then(|a| a.number()).and_then(|n| u16::try_from(n).ok())
                        }
                        "wscale" => {
                            s.wscale = p.next().and_then(|a| a.number()).and_then(|n| u8::try_from(n).ok())
                        }
                        "timestamp" => s.timestamp = true,
                        "sack-perm" => s.sack_perm = true,
                        other => return self.fail(w.span, format!("syntax error, unexpected {other}")),
                    }
                }
                ObjectKind::Synproxy(s)
            }
            ObjectType::Secmark => {
                let Some(ctx) = p.next() else { return self.fail(span, "secmark needs a context string") };
                ObjectKind::Secmark(ctx.text.clone())
            }
            ObjectType::Tunnel => {
                let lines = b
                    .props
                    .iter()
                    .map(|pp| pp.words.iter().map(|w| w.text.clone()).collect::<Vec<_>>().join(" "))
                    .collect();
                ObjectKind::Tunnel(lines)
            }
        };
        Some((kind, comment))
    }

    fn l4proto(&mut self, a: Option<&Atom>, span: Span) -> Option<u8> {
        let Some(a) = a else { return self.fail(span, "expected a protocol") };
        match crate::types::protocol_number(&a.text).or_else(|| a.number().and_then(|n| u8::try_from(n).ok()))
        {
            Some(n) => Some(n),
            None => self.fail(a.span, format!("unknown protocol `{}`", a.text)),
        }
    }

    fn l3proto(&mut self, a: Option<&Atom>, span: Span) -> Option<Family> {
        let Some(a) = a else { return self.fail(span, "expected a family") };
        match a.text.as_str() {
            "ip" => Some(Family::Ip),
            "ip6" => Some(Family::Ip6),
            "inet" => Some(Family::Inet),
            other => self.fail(a.span, format!("unknown family `{other}`")),
        }
    }
}
