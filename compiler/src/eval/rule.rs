//! Rules: statement by statement, from atom runs to IR. Matches (`tcp dport 22`, `ct state
//! established,related`, `ip saddr . tcp dport { … }`, `tcp flags & (syn | ack) == syn`),
//! assignments (`meta mark set 1`), verdicts and verdict maps are built here; the other
//! statements are in [`super::stmt`], constants in [`super::value`].

use super::Evaluator;
use super::runs::{Segments, Sel, segment, selector_at, starts_selector};
use crate::ir::build;
use crate::ir::{
    BaseChain, BinOp, Chain, Expr, ExprKind, Family, Match, MatchOp, Rule, Stmt, StmtKind, Table, Verdict,
};
use crate::proto::Proto;
use crate::proto::deps::ProtoCtx;
use crate::proto::selector::Selector;
use crate::types::{ByteOrder, Type};
use nftvm_grammar::nft::ast::{self, HashItem, Item, ItemKind, NumgenItem, RelOp};
use nftvm_grammar::{Diagnostic, Span};
use nftvm_vm::keys::{MetaKey, PayloadBase};

/// State while one rule is evaluated.
pub(crate) struct RuleCx<'t> {
    pub family: Family,
    pub table: &'t Table,
    /// The base chain registration of the chain the rule goes into (None: regular chain).
    pub base: Option<&'t BaseChain>,
    /// What is known about the packet's headers so far (types `ct saddr`, `rt nexthop`).
    pub proto: ProtoCtx,
    pub stmts: Vec<Stmt>,
    pub diags: Vec<Diagnostic>,
    pub failed: bool,
    pub comment: Option<String>,
    /// Anonymous chains (`jump { … }`) created by this rule, in creation order.
    pub bindings: Vec<Chain>,
    pub next_binding: u32,
    /// Reading a `typeof` declaration: expressions only give types, no context checks.
    pub in_typeof: bool,
    /// Some transport protocol is known without saying which (`meta l4proto @protos`).
    pub transport_any: bool,
}

/// IR binary operator of an AST one.
pub(crate) fn binop(op: ast::BinOp) -> BinOp {
    match op {
        ast::BinOp::And => BinOp::And,
        ast::BinOp::Or => BinOp::Or,
        ast::BinOp::Xor => BinOp::Xor,
        ast::BinOp::Shl => BinOp::Shl,
        ast::BinOp::Shr => BinOp::Shr,
    }
}

impl Evaluator {
    /// Evaluate a rule for chain `chain` of table `key`; None after errors (reported). The
    /// rule's anonymous chains are added to the table.
    pub(super) fn eval_rule(&mut self, key: &(Family, String), chain: &str, r: &ast::Rule) -> Option<Rule> {
        let table = self.ruleset.table(key.0, &key.1)?;
        let base = table.chain(chain).and_then(|c| c.base.as_ref());
        let mut cx = RuleCx::new(table, base, self.next_binding);
        for s in &super::resplit::rejoin_selector_values(&r.stmts) {
            cx.stmt(s);
        }
        let RuleCx { stmts, diags, failed, comment, bindings, next_binding, .. } = cx;
        self.next_binding = next_binding;
        self.diags.extend(diags);
        if failed {
            return None;
        }
        let mut rule = Rule { stmts, comment, span: r.span, handle: 0 };
        let env = crate::check::RuleEnv::of(table, base);
        let check_diags = crate::check::rule(&env, &mut rule);
        let bad = check_diags.iter().any(Diagnostic::is_error);
        self.diags.extend(check_diags);
        if bad {
            return None;
        }
        // A 10K-rule ruleset keeps every rule: no growth slack.
        rule.stmts.shrink_to_fit();
        for mut b in bindings {
            b.handle = self.next_handle(key.0, &key.1);
            if let Some(t) = self.table_mut(key) {
                t.chains.push(b);
            }
        }
        Some(rule)
    }
}

impl<'t> RuleCx<'t> {
    pub(crate) fn new(table: &'t Table, base: Option<&'t BaseChain>, next_binding: u32) -> RuleCx<'t> {
        RuleCx {
            family: table.family,
            table,
            base,
            proto: ProtoCtx::new(table.family),
            stmts: Vec::new(),
            diags: Vec::new(),
            failed: false,
            comment: None,
            bindings: Vec::new(),
            next_binding,
            in_typeof: false,
            transport_any: false,
        }
    }

    /// As nft refuses it: a shift (`op`) of `left` by a constant `amount` (written at `span`)
    /// of the whole width of `left`'s type (in bytes) or more — or, in a statement, of the
    /// width of its target (`stmt_bits`; `meta mark set ip dscp << 26` is fine), whichever
    /// is wider. `None` once reported.
    fn shift_fits(
        &mut self,
        op: BinOp,
        left: &Expr,
        stmt_bits: u32,
        amount: &Expr,
        span: Span,
    ) -> Option<()> {
        if !matches!(op, BinOp::Shl | BinOp::Shr) {
            return Some(());
        }
        let type_bits = (left.bits.div_ceil(8) * 8).max(stmt_bits);
        match amount.as_value().and_then(crate::types::Value::to_u64) {
            Some(n) if n >= u64::from(type_bits) => {
                let dir = if op == BinOp::Shl { "Left" } else { "Right" };
                self.fail(
                    span,
                    format!("{dir} shift of {n} bits is undefined for type of {type_bits} bits width"),
                )
            }
            _ => Some(()),
        }
    }

    /// Report an error and fail the rule.
    pub(super) fn fail<T>(&mut self, span: Span, message: impl Into<String>) -> Option<T> {
        self.diags.push(Diagnostic::error(span, message));
        self.failed = true;
        None
    }

    /// Report an error with a related place (underlined with `~`), as nft's binary errors.
    pub(super) fn fail_related<T>(
        &mut self,
        span: Span,
        related: Span,
        message: impl Into<String>,
    ) -> Option<T> {
        let mut d = Diagnostic::error(span, message);
        if related != Span::default() && related != span {
            d = d.with_secondary(related);
        }
        self.fail_diag(d)
    }

    pub(super) fn fail_diag<T>(&mut self, d: Diagnostic) -> Option<T> {
        self.diags.push(d);
        self.failed = true;
        None
    }

    /// Whether some transport protocol is known at this point of the rule.
    pub(super) fn transport_known(&self) -> bool {
        self.transport_any || self.proto.get(PayloadBase::Transport).is_some()
    }

    /// The network protocol known at this point of the rule.
    pub(super) fn network(&self) -> Option<Family> {
        match self.proto.get(PayloadBase::Network) {
            Some(Proto::Ip) => Some(Family::Ip),
            Some(Proto::Ip6) => Some(Family::Ip6),
            _ => match self.family {
                Family::Ip => Some(Family::Ip),
                Family::Ip6 => Some(Family::Ip6),
                _ => None,
            },
        }
    }

    /// Append a statement, learning protocol facts from it.
    pub(super) fn push(&mut self, stmt: Stmt) {
        if let StmtKind::Match(m) = &stmt.kind {
            self.learn(m);
        }
        self.stmts.push(stmt);
    }

    /// Track the protocol context the way nft's evaluation does (for typing only; the
    /// dependencies themselves are inserted by the checker).
    fn learn(&mut self, m: &Match) {
        let mut loads = Vec::new();
        m.left.walk(&mut |e| {
            if let ExprKind::Payload(p) = &e.kind
                && p.inner.is_none()
                && let Some(proto) = p.proto
            {
                loads.push(proto);
            }
        });
        for p in loads {
            let _ = self.proto.dependencies(p);
        }
        if !matches!(m.op, MatchOp::Eq) {
            return;
        }
        if matches!(m.left.kind, ExprKind::Meta(MetaKey::L4proto))
            && matches!(m.right.kind, ExprKind::SetRef(_))
        {
            self.transport_any = true;
        }
        let v = match &m.right.kind {
            ExprKind::Value(v) => v.to_u64(),
            // `ip protocol { tcp, udp }`: some transport is known (nft keeps the last).
            ExprKind::Set(s) => s.elems.last().and_then(|e| e.key.as_value()).and_then(|v| v.to_u64()),
            _ => None,
        };
        let Some(v) = v else { return };
        match &m.left.kind {
            ExprKind::Meta(k) => self.proto.learn_meta(*k, v as u32),
            ExprKind::Payload(p) if p.inner.is_none() => {
                if let Some(proto) = p.proto
                    && crate::check::hide::is_protocol_key(proto, p.field.name)
                {
                    match proto {
                        Proto::Ip | Proto::Ip6 => self.proto.learn_meta(MetaKey::L4proto, v as u32),
                        _ => self.proto.learn(proto, v as u32),
                    }
                }
            }
            _ => {}
        }
    }

    /// One statement.
    pub(super) fn stmt(&mut self, s: &ast::Stmt) {
        let _ = match &s.kind {
            ast::StmtKind::Match(rel) => self.relation(rel, s.span),
            ast::StmtKind::Set { target, value } => self.assignment(target, value, s.span),
            ast::StmtKind::Verdict(v) => self.verdict(v).map(|v| self.push(Stmt::verdict(v).at(s.span))),
            ast::StmtKind::Comment(c) => {
                self.comment = Some(c.text.clone());
                Some(())
            }
            _ => self.other_stmt(s),
        };
    }

    /// A verdict; `jump { … }` creates an anonymous chain.
    pub(super) fn verdict(&mut self, v: &ast::Verdict) -> Option<Verdict> {
        Some(match &v.kind {
            ast::VerdictKind::Accept => Verdict::Accept,
            ast::VerdictKind::Drop => Verdict::Drop,
            ast::VerdictKind::Continue => Verdict::Continue,
            ast::VerdictKind::Return => Verdict::Return,
            ast::VerdictKind::Jump(t) => Verdict::Jump(self.jump_target(t)?),
            ast::VerdictKind::Goto(t) => Verdict::Goto(self.jump_target(t)?),
        })
    }

    fn jump_target(&mut self, t: &ast::JumpTarget) -> Option<String> {
        match t {
            ast::JumpTarget::Chain(a) => {
                if a.text.len() > 255 {
                    return self.fail(a.span, "chain name too long");
                }
                Some(a.text.clone())
            }
            ast::JumpTarget::Anonymous(body) => {
                let name = format!("__chain{}", self.next_binding);
                self.next_binding += 1;
                let mut chain = Chain::new(name.clone());
                chain.binding = true;
                chain.span = body.span;
                for item in &body.items {
                    if let ast::ChainItem::Rule(r) = item {
                        let mut sub = RuleCx::new(self.table, None, self.next_binding);
                        for s in &super::resplit::rejoin_selector_values(&r.stmts) {
                            sub.stmt(s);
                        }
                        self.next_binding = sub.next_binding;
                        self.diags.append(&mut sub.diags);
                        if sub.failed {
                            self.failed = true;
                            return None;
                        }
                        let mut rule =
                            Rule { stmts: sub.stmts, comment: sub.comment, span: r.span, handle: 0 };
                        let env = crate::check::RuleEnv::of(self.table, self.base);
                        let d = crate::check::rule(&env, &mut rule);
                        if d.iter().any(Diagnostic::is_error) {
                            self.failed = true;
                        }
                        self.diags.extend(d);
                        self.bindings.append(&mut sub.bindings);
                        chain.rules.push(rule);
                    }
                }
                self.bindings.push(chain);
                Some(name)
            }
        }
    }

    /// The IR expression a selector reads.
    pub(super) fn load(&mut self, sel: &Sel<'_>) -> Option<Expr> {
        let mut e = match build::from_selector(&sel.selector, self.network()) {
            Ok(e) => e,
            Err(msg) => return self.fail(sel.span, msg),
        };
        // Parameters the grammar read for special selectors.
        if let Some(first) = sel.items.first() {
            match (&first.kind, &mut e.kind) {
                (ItemKind::Numgen(item), ExprKind::Numgen(n)) => {
                    let NumgenItem { modulus, offset, .. } = &**item;
                    n.modulus = self.u32_atom(modulus)?;
                    n.offset = match offset {
                        Some(o) => self.u32_atom(o)?,
                        None => 0,
                    };
                    if n.modulus == 0 {
                        return self.fail(modulus.span, "Numgen modulus cannot be zero");
                    }
                }
                (ItemKind::Hash(item), ExprKind::Hash(h)) => {
                    let HashItem { expr, modulus, seed, offset, .. } = &**item;
                    h.modulus = self.u32_atom(modulus)?;
                    if h.modulus == 0 {
                        return self.fail(modulus.span, "hash modulus cannot be zero");
                    }
                    h.seed = match seed {
                        Some(s) => Some(self.u32_atom(s)?),
                        None => None,
                    };
                    h.offset = match offset {
                        Some(o) => self.u32_atom(o)?,
                        None => 0,
                    };
                    if let Some(x) = expr {
                        let (prefix, key) = self.lhs(x)?;
                        for p in prefix {
                            self.push(p);
                        }
                        h.expr = Some(Box::new(key));
                    }
                }
                _ => {}
            }
        }
        self.check_family(sel, &e)?;
        if let ExprKind::Payload(p) = &e.kind
            && p.inner.is_none()
            && let Some(proto) = p.proto
        {
            let _ = self.proto.dependencies(proto);
        }
        Some(e.at(sel.span))
    }

    /// Loads that cannot work in this table's family.
    fn check_family(&mut self, sel: &Sel<'_>, e: &Expr) -> Option<()> {
        if self.in_typeof {
            return Some(());
        }
        match (&sel.selector, &e.kind) {
            (Selector::Meta(m), _) if m.key == MetaKey::Nfproto && self.family != Family::Inet => {
                self.fail(sel.span, "meta nfproto is only useful in the inet family".to_string())
            }
            (Selector::Meta(m), _) if !m.allowed_in(self.family, None) => self.fail(
                sel.span,
                format!("meta {} is not supported in {} family", m.token, self.family.name()),
            ),
            (Selector::Inner { tunnel, .. }, _)
                if matches!(tunnel, Proto::Vxlan | Proto::Geneve)
                    && self.proto.get(nftvm_vm::keys::PayloadBase::Transport) != Some(Proto::Udp) =>
            {
                self.fail(sel.span, format!("{} needs a udp dport match before it", tunnel.name()))
            }
            (Selector::Payload { proto: t @ (Proto::Vxlan | Proto::Geneve), .. }, _)
                if self.proto.get(nftvm_vm::keys::PayloadBase::Transport) != Some(Proto::Udp) =>
            {
                self.fail(sel.span, format!("{} needs a udp dport match before it", t.name()))
            }
            (Selector::Rt { key, family }, ExprKind::Rt(k))
                if key.needs_nfproto
                    && matches!(k, crate::proto::rt::RtKey::Nexthop4 | crate::proto::rt::RtKey::Nexthop6) =>
            {
                let want = if *k == crate::proto::rt::RtKey::Nexthop6 { Family::Ip6 } else { Family::Ip };
                match (family, self.network()) {
                    (_, Some(net)) if net != want => self.fail(
                        sel.span,
                        format!("conflicting protocols specified: {} vs. {}", net.name(), want.name()),
                    ),
                    (None, None) => self.fail(
                        sel.span,
                        "cannot determine ip protocol version, use \"ip nexthop\" or \"ip6 nexthop\" instead",
                    ),
                    _ => Some(()),
                }
            }
            (Selector::Ct { key, .. }, _) => {
                if let (Some(kf), Some(net)) = (key.family, self.network())
                    && kf != net
                {
                    return self.fail(
                        sel.span,
                        format!(
                            "conflicting protocols specified: {} vs. {}",
                            if net == Family::Ip { "ip" } else { "ip6" },
                            if kf == Family::Ip { "ip" } else { "ip6" }
                        ),
                    );
                }
                Some(())
            }
            _ => Some(()),
        }
    }

    pub(super) fn u32_atom(&mut self, a: &ast::Atom) -> Option<u32> {
        match a.number().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => self.fail(a.span, format!("expected a number, got `{}`", a.text)),
        }
    }

    /// A left-hand side: complete matches before it, then the expression itself.
    pub(super) fn lhs(&mut self, e: &ast::Expr) -> Option<(Vec<Stmt>, Expr)> {
        match &e.kind {
            ast::ExprKind::Run(items) => {
                let seg = self.segment(items, false)?;
                let mut prefix = Vec::new();
                for (sel, value) in &seg.pairs {
                    prefix.push(self.pair_match(sel, value, None)?);
                }
                let Some(tail) = seg.tail else {
                    return self.fail(e.span, "syntax error, expected a selector before the operator");
                };
                let left = self.load(&tail)?;
                Some((prefix, left))
            }
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let (prefix, left) = self.lhs(lhs)?;
                let op = binop(*op);
                let right = self.operand(rhs, &left, op)?;
                self.shift_fits(op, &left, 0, &right, rhs.span)?;
                let mut b = left.binary(op, right).at(e.span);
                if matches!(op, BinOp::Shl | BinOp::Shr) {
                    b.ty = Type::XInteger;
                }
                Some((prefix, b))
            }
            ast::ExprKind::Concat(parts) => {
                let mut prefix = Vec::new();
                let mut members = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    let (pre, m) = self.lhs(p)?;
                    if i > 0 && !pre.is_empty() {
                        return self.fail(p.span, "syntax error, unexpected value in concatenation");
                    }
                    prefix.extend(pre);
                    members.push(m);
                }
                Some((prefix, build::concat(members).at(e.span)))
            }
            ast::ExprKind::Map { kind, key, data } => {
                let (prefix, k) = self.lhs(key)?;
                let (m, rest) = self.map_lookup(*kind, k, data, None, e.span)?;
                if let Some(r) = rest.first() {
                    return self.fail(r.span, "syntax error, unexpected value after map");
                }
                Some((prefix, m))
            }
        }
    }

    /// The right operand of a binary operator on a non-constant left side (a single value;
    /// shifts take a plain number).
    fn operand(&mut self, e: &ast::Expr, left: &Expr, op: BinOp) -> Option<Expr> {
        let shape = match op {
            BinOp::Shl | BinOp::Shr => Expr::new(ExprKind::CatchAll, Type::Integer, 32, ByteOrder::Host),
            _ => left.clone(),
        };
        if let Some(items) = e.as_run()
            && starts_selector(items)
            && !items.first().is_some_and(|i| self.parses_as_value(i, &shape))
        {
            let (pre, x) = self.lhs(e)?;
            if !pre.is_empty() {
                return self.fail(e.span, "syntax error, unexpected value");
            }
            return Some(x);
        }
        self.value_expr(e, &shape)
    }

    fn parses_as_value(&self, item: &Item, shape: &Expr) -> bool {
        match &item.kind {
            ItemKind::Atom(a) => shape.ty.parse_as(&a.text, shape.bits, shape.order).is_ok(),
            ItemKind::Fib(_) | ItemKind::Numgen(_) | ItemKind::Hash(_) => false,
            _ => true,
        }
    }

    fn segment<'a>(&mut self, items: &'a [Item], lead: bool) -> Option<Segments<'a>> {
        match segment(items, lead) {
            Ok(s) => Some(s),
            Err(d) => self.fail_diag(d),
        }
    }

    /// A match from a selector and one value item.
    pub(super) fn pair_match(
        &mut self,
        sel: &Sel<'_>,
        value: &Item,
        op: Option<(RelOp, Span)>,
    ) -> Option<Stmt> {
        let mut left = self.load(sel)?;
        // `fib daddr oif exists` is the presence check `fib daddr check exists`.
        if let ExprKind::Fib(f) = &mut left.kind
            && let ItemKind::Atom(a) = &value.kind
            && matches!(a.text.as_str(), "exists" | "missing")
            && f.result != crate::proto::fib::FibResult::AddrType
        {
            f.result = crate::proto::fib::FibResult::Check;
            f.flags |= crate::proto::fib::flags::PRESENT;
            left.ty = Type::Boolean;
            left.bits = 1;
            left.order = ByteOrder::Host;
        }
        self.relation_of(left, value_src(value), op, sel.span.to(value.span))
    }

    /// `left op right` once the left side is known.
    fn relation_of(
        &mut self,
        left: Expr,
        right: ValueSrc<'_>,
        op: Option<(RelOp, Span)>,
        span: Span,
    ) -> Option<Stmt> {
        // `tcp flags syn / fin,syn,rst,ack`: a flag mask.
        if let ValueSrc::Item(Item { kind: ItemKind::Mask(l, r), span: mspan }) = right
            && left.ty.is_flag_set()
        {
            let value = self.flags_of(l, &left, *mspan)?;
            let mask = self.flags_of(r, &left, *mspan)?;
            let masked = left.binary(BinOp::And, mask);
            let op = match op.map(|o| o.0) {
                None | Some(RelOp::Eq) => MatchOp::Eq,
                Some(RelOp::Ne) => MatchOp::Ne,
                Some(_) => return self.fail(*mspan, "Relational expression is undefined for flag masks"),
            };
            return Some(Stmt::matches(masked, op, value).at(span));
        }
        let rhs = match right {
            ValueSrc::Item(i) => self.value_item(i, &left)?,
            ValueSrc::Expr(e) => self.value_expr(e, &left)?,
        };
        if !rhs.is_constant() {
            return self.fail(rhs.span, "Right hand side of relational expression must be constant");
        }
        if let Some(max) = self.selector_max(&left)
            && let Some(v) = rhs.as_value().and_then(|v| v.to_u128())
            && v > max
        {
            return self.fail(rhs.span, format!("Value {v} exceeds valid range 0-{max}"));
        }
        // nft's `binop_transfer`: `x ^ c == v` is `x == v ^ c`, `x << n == v` is
        // `x == v >> n` (when no bits are lost).
        let (left, mut rhs) = transfer_binop(left, rhs);
        let is_concat = matches!(left.kind, ExprKind::Concat(_));
        let implicit_op = op.is_none();
        // `meta hour "21:00"-"02:00"` crosses midnight (in UTC): nft matches the
        // complement `!= "02:00"-"21:00"`.
        let mut cross_day = false;
        if let (ExprKind::Meta(MetaKey::TimeHour), ExprKind::Range { low, high }) =
            (&left.kind, &mut rhs.kind)
            && low.to_u128() > high.to_u128()
        {
            std::mem::swap(low, high);
            cross_day = true;
        }
        let mut op = match op.map(|o| o.0) {
            None => match &rhs.kind {
                ExprKind::Value(_)
                    if left.ty.is_flag_set() && !matches!(left.kind, ExprKind::Binary { .. }) =>
                {
                    MatchOp::Flags
                }
                _ => MatchOp::Eq,
            },
            Some(RelOp::Eq) => MatchOp::Eq,
            Some(RelOp::Ne) => MatchOp::Ne,
            Some(RelOp::Lt) => MatchOp::Lt,
            Some(RelOp::Gt) => MatchOp::Gt,
            Some(RelOp::Le) => MatchOp::Le,
            Some(RelOp::Ge) => MatchOp::Ge,
            Some(RelOp::Not) => {
                if matches!(left.kind, ExprKind::Binary { .. }) {
                    return self.fail(span, "cannot combine negation with binary expression");
                }
                if !(rhs.as_value().is_some() && left.ty.is_flag_set()) {
                    return self.fail(
                        span,
                        "negation can only be used with singleton bitmask values.  Did you mean \"!=\"?",
                    );
                }
                MatchOp::NoFlags
            }
        };
        if cross_day {
            op = match op {
                MatchOp::Eq => MatchOp::Ne,
                MatchOp::Ne => MatchOp::Eq,
                o => o,
            };
        }
        // A one-element anonymous set is a plain comparison.
        if !is_concat
            && matches!(op, MatchOp::Eq | MatchOp::Ne | MatchOp::Flags)
            && let ExprKind::Set(lit) = &rhs.kind
            && lit.elems.len() == 1
            && lit.elems[0].stmts.is_empty()
            && lit.elems[0].data.is_none()
            && matches!(lit.elems[0].key.kind, ExprKind::Value(_))
            && !lit.elems[0].key.ty.is_string()
            && lit.elems[0].key.ty != Type::IfIndex
        {
            rhs = lit.elems[0].key.clone();
            if implicit_op && left.ty == Type::CtState && rhs.as_value().is_some() {
                op = MatchOp::Flags;
            }
        }
        match (&rhs.kind, op) {
            (
                ExprKind::Set(_) | ExprKind::SetRef(_),
                MatchOp::Lt | MatchOp::Gt | MatchOp::Le | MatchOp::Ge,
            ) => {
                return self.fail(span, "Relational expression is undefined for set expressions");
            }
            (ExprKind::Concat(_), _) if is_concat => {
                return self.fail(rhs.span, "Use concatenations with sets and maps, not singleton values");
            }
            (ExprKind::Set(_) | ExprKind::SetRef(_), _) if matches!(&left.kind, ExprKind::Ct(c) if matches!(c.key, nftvm_vm::keys::CtKey::Src | nftvm_vm::keys::CtKey::Dst)) =>
            {
                return self.fail(left.span, "specify either ip or ip6 for address matching");
            }
            _ => {}
        }
        if is_concat
            && matches!(rhs.kind, ExprKind::Set(_) | ExprKind::SetRef(_))
            && let Some(ct) = unqualified_ct_addr(&left)
        {
            return self.fail(ct, "specify either ip or ip6 for address matching");
        }
        // Values a datatype allows below its width.
        if left.ty == Type::Day
            && let Some(v) = rhs.as_value().and_then(|v| v.to_u128())
            && v > 6
        {
            return self.fail(rhs.span, format!("Value {v} exceeds valid range 0-6"));
        }
        if is_concat && matches!(op, MatchOp::Lt | MatchOp::Gt | MatchOp::Le | MatchOp::Ge) {
            return self.fail(span, "Relational expression is undefined for concat expressions");
        }
        Some(Stmt::matches(left, op, rhs).at(span))
    }

    /// The largest value a selector allows below its width (`socket transparent`: 1).
    fn selector_max(&self, left: &Expr) -> Option<u128> {
        match &left.kind {
            ExprKind::Socket { key, .. } => {
                crate::proto::socket::SOCKET_KEYS.iter().find(|k| k.key == *key).and_then(|k| k.max_value)
            }
            _ => None,
        }
    }

    /// The OR of flag atoms (`fin,syn,rst`).
    fn flags_of(&mut self, atoms: &[ast::Atom], shape: &Expr, span: Span) -> Option<Expr> {
        let mut acc: Option<crate::types::Value> = None;
        for a in atoms {
            let v = self.atom_value(a, shape)?;
            let Some(v) = v.as_value().cloned() else {
                return self.fail(a.span, "expected a flag");
            };
            acc = Some(match acc {
                Some(x) => x.or(&v).unwrap_or(x),
                None => v,
            });
        }
        match acc {
            Some(v) => Some(shape.constant(v).at(span)),
            None => self.fail(span, "expected a flag"),
        }
    }

    /// A match statement.
    fn relation(&mut self, rel: &ast::Relation, span: Span) -> Option<()> {
        match (&rel.op, &rel.rhs) {
            (None, _) => self.implicit(&rel.lhs, span),
            (Some(op), Some(rhs)) => {
                let lhs = match super::resplit::split_concat_match(&rel.lhs) {
                    Some((m, rest)) => {
                        self.implicit(&m, m.span)?;
                        rest
                    }
                    None => rel.lhs.clone(),
                };
                let (prefix, left) = self.lhs(&lhs)?;
                for p in prefix {
                    self.push(p);
                }
                let (rhs, after) = match super::resplit::split_concat_value(rhs, |_| 1) {
                    Some((value, m)) => (value, Some(m)),
                    None => (rhs.clone(), None),
                };
                let (value, rest) = self.rhs_split(&rhs)?;
                let stmt = self.relation_of(left, value, Some(*op), span)?;
                self.push(stmt);
                self.trailing(&rest)?;
                match after {
                    Some(m) => self.implicit(&m, m.span),
                    None => Some(()),
                }
            }
            (Some((_, s)), None) => self.fail(*s, "syntax error, expected a value after the operator"),
        }
    }

    /// Split a right-hand side into its value and the matches after it.
    fn rhs_split<'a>(&mut self, rhs: &'a ast::Expr) -> Option<(ValueSrc<'a>, Vec<&'a Item>)> {
        match &rhs.kind {
            ast::ExprKind::Run(items) => match items.split_first() {
                Some((first, rest)) => Some((ValueSrc::Item(first), rest.iter().collect())),
                None => self.fail(rhs.span, "expected a value"),
            },
            _ => Some((ValueSrc::Expr(rhs), Vec::new())),
        }
    }

    /// Matches that follow the value of a statement (`… set 1 tcp dport 22`).
    fn trailing(&mut self, rest: &[&Item]) -> Option<()> {
        if rest.is_empty() {
            return Some(());
        }
        let owned: Vec<Item> = rest.iter().map(|i| (*i).clone()).collect();
        self.implicit_items(&owned)
    }

    /// A run of complete matches.
    fn implicit_items(&mut self, items: &[Item]) -> Option<()> {
        if let Some(n) = self.ct_count(items) {
            return if n < items.len() { self.implicit_items(&items[n..]) } else { Some(()) };
        }
        // `… tcp dport 22 ct count over 4`: the matches before a `ct count` end at it.
        if let Some(at) = (1..items.len()).find(|&i| starts_ct_count(&items[i..])) {
            self.implicit_items(&items[..at])?;
            return self.implicit_items(&items[at..]);
        }
        let seg = self.segment(items, false)?;
        for (sel, value) in &seg.pairs {
            let st = self.pair_match(sel, value, None)?;
            self.push(st);
        }
        if let Some(t) = seg.tail {
            return self
                .fail(t.span, format!("syntax error, expected a value after `{}`", t.selector.canonical()));
        }
        Some(())
    }

    /// `ct count [over] N` at the start of a run: pushes the statement and returns the number
    /// of items it used (None when the run does not start with it).
    fn ct_count(&mut self, items: &[Item]) -> Option<usize> {
        let word = |i: usize| match items.get(i).map(|x| &x.kind) {
            Some(ItemKind::Atom(a)) => Some(a),
            _ => None,
        };
        if !starts_ct_count(items) {
            return None;
        }
        let over = word(2).is_some_and(|a| a.text == "over");
        let at = if over { 3 } else { 2 };
        let Some(n) = word(at) else {
            let span = items[0].span.to(items[items.len() - 1].span);
            self.fail::<()>(span, "syntax error, expected a connection count");
            return Some(items.len());
        };
        let count = match n.number().and_then(|v| u32::try_from(v).ok()) {
            Some(c) => c,
            None => {
                self.fail::<()>(n.span, format!("expected a number, got `{}`", n.text));
                return Some(items.len());
            }
        };
        let span = items[0].span.to(n.span);
        self.push(Stmt::new(StmtKind::ConnLimit(crate::ir::ConnLimit { count, over })).at(span));
        Some(at + 1)
    }

    /// A relation without operator: matches, a binary expression with its implicit value,
    /// a concatenation against a set, or a verdict map.
    fn implicit(&mut self, lhs: &ast::Expr, span: Span) -> Option<()> {
        match &lhs.kind {
            ast::ExprKind::Run(items) => self.implicit_items(items),
            ast::ExprKind::Binary { op, lhs: l, rhs: r } => {
                let (prefix, left) = self.lhs(l)?;
                for p in prefix {
                    self.push(p);
                }
                let op = binop(*op);
                let Some(items) = r.as_run() else {
                    let operand = self.operand(r, &left, op)?;
                    return self.fail(operand.span, "syntax error, expected a value after the expression");
                };
                let Some((first, rest)) = items.split_first() else {
                    return self.fail(r.span, "expected a value");
                };
                let shape = match op {
                    BinOp::Shl | BinOp::Shr => {
                        Expr::new(ExprKind::CatchAll, Type::Integer, 32, ByteOrder::Host)
                    }
                    _ => left.clone(),
                };
                let operand = self.value_item(first, &shape)?;
                self.shift_fits(op, &left, 0, &operand, first.span)?;
                let mut combined = left.binary(op, operand).at(l.span.to(first.span));
                if matches!(op, BinOp::Shl | BinOp::Shr) {
                    combined.ty = Type::XInteger;
                }
                let Some((value, more)) = rest.split_first() else {
                    return self.fail(first.span, "syntax error, expected a value after the expression");
                };
                let st = self.relation_of(combined, ValueSrc::Item(value), None, span)?;
                self.push(st);
                let more: Vec<&Item> = more.iter().collect();
                self.trailing(&more)
            }
            ast::ExprKind::Concat(parts) => self.implicit_concat(parts, span),
            ast::ExprKind::Map { kind, key, data } => {
                let (prefix, k) = self.lhs(key)?;
                for p in prefix {
                    self.push(p);
                }
                if *kind != ast::MapKind::Vmap {
                    return self.fail(lhs.span, "map expression used as a statement; did you mean vmap?");
                }
                let (m, rest) = self.map_lookup(*kind, k, data, None, lhs.span)?;
                self.push(Stmt::new(StmtKind::VerdictMap(m)).at(span));
                let rest: Vec<&Item> = rest.iter().collect();
                self.trailing(&rest)
            }
        }
    }

    /// `a . b . c <value>`: selectors first, then (possibly in the same runs) the values or
    /// a set.
    fn implicit_concat(&mut self, parts: &[ast::Expr], span: Span) -> Option<()> {
        if let Some(done) = self.concat_with_constants(parts, span) {
            return done;
        }
        let mut members: Vec<Expr> = Vec::new();
        let mut values: Vec<ValueSrc<'_>> = Vec::new();
        let mut trailing: Vec<&Item> = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if !values.is_empty() {
                // Value phase: each part is one value (the last may carry more matches).
                match p.as_run() {
                    Some(items) if last => {
                        let Some((first, rest)) = items.split_first() else {
                            return self.fail(p.span, "expected a value");
                        };
                        values.push(ValueSrc::Item(first));
                        trailing.extend(rest);
                    }
                    _ => values.push(ValueSrc::Expr(p)),
                }
                continue;
            }
            let ast::ExprKind::Run(items) = &p.kind else {
                let (pre, m) = self.lhs(p)?;
                if !pre.is_empty() {
                    return self.fail(p.span, "syntax error, unexpected value in concatenation");
                }
                members.push(m);
                continue;
            };
            let seg = self.segment(items, false)?;
            let mut pairs = seg.pairs.into_iter();
            if i == 0 {
                // Complete matches before the concatenation.
                let n = pairs.len();
                let mut pre = Vec::new();
                for _ in 0..n {
                    if let Some((sel, value)) = pairs.next() {
                        pre.push((sel, value));
                    }
                }
                match seg.tail {
                    Some(t) => {
                        for (sel, value) in pre {
                            let st = self.pair_match(&sel, value, None)?;
                            self.push(st);
                        }
                        let m = self.load(&t)?;
                        members.push(m);
                    }
                    None => return self.fail(p.span, "syntax error, expected a selector before `.`"),
                }
                continue;
            }
            match (pairs.next(), seg.tail) {
                (None, Some(t)) => {
                    let m = self.load(&t)?;
                    members.push(m);
                }
                (Some((sel, value)), None) => {
                    let m = self.load(&sel)?;
                    members.push(m);
                    values.push(ValueSrc::Item(value));
                    // Matches after a set (`… . tcp dport { … } counter`) or after the last value.
                    let idx = items.iter().position(|x| std::ptr::eq(x, value)).unwrap_or(items.len());
                    trailing.extend(items[idx + 1..].iter());
                }
                _ => return self.fail(p.span, "syntax error in concatenation"),
            }
        }
        let at = members_span(&members).unwrap_or(span);
        let left = build::concat(members).at(at);
        let st = match values.as_slice() {
            [] => return self.fail(span, "syntax error, expected a value after the concatenation"),
            [one] => self.relation_of(left, *one, None, span)?,
            many => {
                let ExprKind::Concat(ms) = &left.kind else { return None };
                if ms.len() != many.len() {
                    return self.fail(span, "datatype mismatch in concatenation");
                }
                let mut vs = Vec::new();
                for (v, m) in many.iter().zip(ms) {
                    vs.push(match v {
                        ValueSrc::Item(i) => self.value_item(i, m)?,
                        ValueSrc::Expr(e) => self.value_expr(e, m)?,
                    });
                }
                let rhs = build::concat(vs);
                return self
                    .fail(rhs.span.to(span), "Use concatenations with sets and maps, not singleton values");
            }
        };
        self.push(st);
        self.trailing(&trailing)
    }

    /// `ip saddr . 1.2.3.4 . 80 @s`: a lookup whose key mixes loads and constants (typed by
    /// the named set's key). None when the concatenation is not of that form.
    fn concat_with_constants(&mut self, parts: &[ast::Expr], span: Span) -> Option<Option<()>> {
        let last = parts.last()?.as_run()?;
        let ref_pos = last
            .iter()
            .position(|i| matches!(&i.kind, ItemKind::Atom(a) if a.kind == ast::AtomKind::SetRef))?;
        let ItemKind::Atom(set_atom) = &last[ref_pos].kind else { return None };
        let set = self.table.set(&set_atom.text)?;
        if set.key.len() != parts.len() || ref_pos == 0 {
            return None;
        }
        let is_const = |items: &[Item]| !starts_selector(items);
        let member_items: Vec<&[Item]> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let items = p.as_run().unwrap_or(&[]);
                if i + 1 == parts.len() { &items[..ref_pos] } else { items }
            })
            .collect();
        if !member_items.iter().skip(1).any(|m| is_const(m)) {
            return None;
        }
        let key = set.key.clone();
        let mut members = Vec::new();
        for (i, items) in member_items.iter().enumerate() {
            if i == 0 {
                let seg = self.segment(items, false)?;
                for (sel, value) in &seg.pairs {
                    let st = self.pair_match(sel, value, None)?;
                    self.push(st);
                }
                let Some(t) = seg.tail else {
                    return Some(self.fail(parts[0].span, "syntax error in concatenation"));
                };
                members.push(self.load(&t)?);
                continue;
            }
            match items {
                [one] if is_const(items) => {
                    let shape = super::set::shape_of(std::slice::from_ref(&key[i]));
                    members.push(self.value_item(one, &shape)?);
                }
                _ => {
                    let sel = match selector_at(items) {
                        Ok(s) if s.items.len() == items.len() => s,
                        _ => return Some(self.fail(parts[i].span, "syntax error in concatenation")),
                    };
                    members.push(self.load(&sel)?);
                }
            }
        }
        let at = members_span(&members).unwrap_or(parts[0].span.to(parts[parts.len() - 1].span));
        let left = build::concat(members).at(at);
        let st = self.relation_of(left, ValueSrc::Item(&last[ref_pos]), None, span)?;
        self.push(st);
        let rest: Vec<&Item> = last[ref_pos + 1..].iter().collect();
        Some(self.trailing(&rest))
    }

    /// `key map|vmap data`: the map (anonymous or `@name`) and the items after it. `data`
    /// types the result for value maps (None: taken from the named map).
    pub(super) fn map_lookup<'a>(
        &mut self,
        kind: ast::MapKind,
        key: Expr,
        data: &'a ast::Expr,
        data_shape: Option<&Expr>,
        span: Span,
    ) -> Option<(Expr, &'a [Item])> {
        if let Some(ct) = unqualified_ct_addr(&key) {
            return self.fail(ct, "specify either ip or ip6 for address matching");
        }
        let Some(items) = data.as_run() else {
            return self.fail(data.span, "expected a map after map/vmap");
        };
        let Some((first, rest)) = items.split_first() else {
            return self.fail(data.span, "expected a map");
        };
        let verdict_shape = Expr::new(ExprKind::CatchAll, Type::Verdict, 32, ByteOrder::Host);
        let (map, ty, bits, order) = match &first.kind {
            ItemKind::Set(elems) => {
                let shape = match (kind, data_shape) {
                    (ast::MapKind::Vmap, _) => verdict_shape,
                    (ast::MapKind::Map, Some(s)) => s.clone(),
                    (ast::MapKind::Map, None) => {
                        return self.fail(first.span, "map data type is unknown here");
                    }
                };
                let lit = self.set_lit(elems, &key, Some(&shape), first.span)?;
                (lit, shape.ty, shape.bits, shape.order)
            }
            ItemKind::Atom(a) if a.kind == ast::AtomKind::SetRef => {
                let Some(set) = self.table.set(&a.text) else {
                    return self.fail(a.span, super::ENOENT);
                };
                let fields = match &set.data {
                    Some(crate::ir::SetData::Value { fields, .. }) => fields.clone(),
                    Some(crate::ir::SetData::Object(_)) => {
                        vec![crate::ir::KeyField::new(Type::String, 256 * 8, ByteOrder::Host)]
                    }
                    None => return self.fail(a.span, "set is not a map"),
                };
                if let Some((expr, wanted)) = super::value::key_mismatch(&key, &set.key) {
                    return self.fail_related(
                        a.span,
                        key.span,
                        format!(
                            "datatype mismatch, map expects {wanted}, mapping expression has type {expr}"
                        ),
                    );
                }
                let Some(f) = fields.first() else { return self.fail(a.span, "map has no mapping data") };
                if kind == ast::MapKind::Vmap && f.ty != Type::Verdict {
                    return self.fail(a.span, "map is not a verdict map");
                }
                let (ty, bits, order) = if fields.len() == 1 {
                    (f.ty, f.bits, f.order)
                } else {
                    (Type::Invalid, fields.iter().map(|f| f.bits.div_ceil(32) * 32).sum(), ByteOrder::Network)
                };
                let r = Expr::new(ExprKind::SetRef(a.text.clone()), key.ty, key.bits, key.order).at(a.span);
                (r, ty, bits, order)
            }
            _ => return self.fail(first.span, "expected a set or map after map/vmap"),
        };
        Some((key.map(map, ty, bits, order).at(span), rest))
    }

    /// `target set value` (`meta mark set 1`, `ct helper set "ftp"`, …).
    fn assignment(&mut self, target: &ast::Expr, value: &ast::Expr, span: Span) -> Option<()> {
        let split = super::resplit::split_concat_match(target);
        let target = match &split {
            Some((m, rest)) => {
                self.implicit(m, m.span)?;
                rest
            }
            None => target,
        };
        let Some(items) = target.as_run() else {
            return self.fail(target.span, "syntax error, expected a selector before `set`");
        };
        // Object references: `ct helper set`, `ct timeout set`, `ct expectation set`,
        // `meta secmark set`, `synproxy name`.
        if let Some(st) = self.objref_assignment(items, value, span) {
            return st;
        }
        let seg = self.segment(items, false)?;
        for (sel, v) in &seg.pairs {
            let st = self.pair_match(sel, v, None)?;
            self.push(st);
        }
        let Some(tail) = seg.tail else {
            return self.fail(target.span, "syntax error, expected a selector before `set`");
        };
        let target = self.load(&tail)?;
        let selector_words = |items: &[Item]| match selector_at(items) {
            Ok(sel)
                if sel.items.len() > 1
                    || items.first().is_some_and(|i| !self.parses_as_value(i, &target)) =>
            {
                sel.items.len()
            }
            _ => 1,
        };
        let split = super::resplit::split_concat_value(value, selector_words);
        let (value, after) = match &split {
            Some((v, m)) => (v, Some(m)),
            None => (value, None),
        };
        let (val, rest) = self.assigned_value(value, &target)?;
        let st = self.write(target, val, span)?;
        self.push(st);
        let rest: Vec<&Item> = rest.iter().collect();
        self.trailing(&rest)?;
        match after {
            Some(m) => self.implicit(m, m.span),
            None => Some(()),
        }
    }

    /// The value of an assignment (or a NAT address, dup target, map data): a constant or
    /// an expression (`ct mark`, `ct mark and 0xff`, `ip dscp << 2 | 0x10`, `tcp dport map
    /// { … }`, `jhash ip saddr mod 2`), and the items after it (matches that follow).
    ///
    /// Constants inside binary expressions take the type of the expression on their left
    /// (`ip dscp & 0x3c` lists as `ip dscp & af33`), at the target's width; shifts yield
    /// plain integers (listed in hex).
    pub(super) fn assigned_value<'a>(
        &mut self,
        value: &'a ast::Expr,
        target: &Expr,
    ) -> Option<(Expr, &'a [Item])> {
        match &value.kind {
            ast::ExprKind::Run(items) => {
                let Some(first) = items.first() else { return self.fail(value.span, "expected a value") };
                if let ItemKind::Group(inner) = &first.kind {
                    let (e, r) = self.assigned_value(inner, target)?;
                    if let Some(x) = r.first() {
                        return self.fail(x.span, "syntax error, unexpected value");
                    }
                    return Some((e, &items[1..]));
                }
                let multi_word = selector_at(items).is_ok_and(|s| s.items.len() > 1);
                if starts_selector(items) && (multi_word || !self.parses_as_value(first, target)) {
                    let sel = match selector_at(items) {
                        Ok(s) => s,
                        Err(d) => return self.fail_diag(d),
                    };
                    let n = sel.items.len();
                    let e = self.load(&sel)?;
                    return Some((e, &items[n..]));
                }
                let v = self.value_item(first, target)?;
                Some((v, &items[1..]))
            }
            ast::ExprKind::Map { kind, key, data } => {
                let (prefix, k) = self.lhs(key)?;
                for p in prefix {
                    self.push(p);
                }
                self.map_lookup(*kind, k, data, Some(target), value.span)
            }
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let op = binop(*op);
                let (l, lrest) = self.assigned_value(lhs, target)?;
                if let Some(x) = lrest.first() {
                    return self.fail(x.span, "syntax error, unexpected value");
                }
                let width = l.bits.max(target.bits);
                let shape = match op {
                    BinOp::Shl | BinOp::Shr => {
                        Expr::new(ExprKind::CatchAll, Type::Integer, 32, ByteOrder::Host)
                    }
                    _ if l.is_constant() => target.clone(),
                    _ => Expr::new(ExprKind::CatchAll, l.ty, width, l.order),
                };
                let (r, rest) = self.assigned_value(rhs, &shape)?;
                if l.is_constant() && r.is_constant() {
                    return Some((self.fold(op, l, r, value.span)?, rest));
                }
                self.shift_fits(op, &l, target.bits, &r, rhs.span)?;
                // Commutative operators list with the expression first (`ct mark | 0x1`).
                let (l, r) = if l.is_constant() && matches!(op, BinOp::And | BinOp::Or | BinOp::Xor) {
                    let r2 = r.constant(
                        l.as_value()
                            .cloned()
                            .and_then(|v| v.resized(r.bits.max(target.bits)).ok())
                            .unwrap_or_else(|| {
                                l.as_value().cloned().unwrap_or_else(|| crate::types::Value::raw_string(""))
                            }),
                    );
                    (r, r2)
                } else {
                    (l, r)
                };
                let (ty, order) = match op {
                    BinOp::Shl | BinOp::Shr => (Type::XInteger, l.order),
                    _ if l.is_constant() => (r.ty, r.order),
                    _ => (l.ty, l.order),
                };
                let bits = if l.is_constant() { r.bits.max(target.bits) } else { width };
                let e =
                    Expr::new(ExprKind::Binary { op, lhs: Box::new(l), rhs: Box::new(r) }, ty, bits, order)
                        .at(value.span);
                Some((e, rest))
            }
            ast::ExprKind::Concat(parts) => {
                let members: Vec<Expr> = match &target.kind {
                    ExprKind::Concat(m) if m.len() == parts.len() => m.clone(),
                    _ => {
                        vec![Expr::new(ExprKind::CatchAll, Type::Invalid, 0, ByteOrder::Network); parts.len()]
                    }
                };
                let mut out = Vec::new();
                let mut rest: &[Item] = &[];
                for (i, (p, m)) in parts.iter().zip(&members).enumerate() {
                    let (x, r) = if m.ty == Type::Invalid {
                        let (pre, x) = self.lhs(p)?;
                        if !pre.is_empty() {
                            return self.fail(p.span, "syntax error, unexpected value");
                        }
                        (x, &[][..])
                    } else {
                        self.assigned_value(p, m)?
                    };
                    if i + 1 < parts.len() {
                        if let Some(x) = r.first() {
                            return self.fail(x.span, "syntax error, unexpected value");
                        }
                    } else {
                        rest = r;
                    }
                    out.push(x);
                }
                Some((build::concat(out).at(value.span), rest))
            }
        }
    }
}

/// The span of a `ct saddr`/`ct daddr` without `ip`/`ip6` inside a set or map key.
fn unqualified_ct_addr(key: &Expr) -> Option<Span> {
    let mut found = None;
    key.walk(&mut |e| {
        if let ExprKind::Ct(c) = &e.kind
            && matches!(c.key, nftvm_vm::keys::CtKey::Src | nftvm_vm::keys::CtKey::Dst)
        {
            found = Some(e.span);
        }
    });
    found
}

/// Move a constant xor / left shift from the left side of a comparison to its value.
fn transfer_binop(left: Expr, rhs: Expr) -> (Expr, Expr) {
    let ExprKind::Binary { op, lhs, rhs: operand } = &left.kind else { return (left, rhs) };
    let (Some(c), Some(v)) = (operand.as_value(), rhs.as_value()) else { return (left, rhs) };
    if !lhs.is_load() {
        return (left, rhs);
    }
    let moved = match op {
        BinOp::Xor => c.resized(v.bits()).ok().and_then(|c| v.xor(&c.with_order(v.order())).ok()),
        BinOp::Shl => {
            let n = c.to_u64().unwrap_or(0).min(128) as u32;
            match v.to_u128() {
                Some(x) if x.trailing_zeros() >= n || x == 0 => v.shr(n).ok(),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(nv) = moved.and_then(|nv| nv.resized(lhs.bits).ok()) else { return (left, rhs) };
    let span = rhs.span;
    let new_left = (**lhs).clone();
    let new_rhs = new_left.constant(nv.with_order(new_left.order)).at(span);
    (new_left, new_rhs)
}

/// Where a relation's value comes from: one item, or a whole expression (`syn | ack`).
#[derive(Clone, Copy)]
pub(super) enum ValueSrc<'a> {
    Item(&'a Item),
    Expr(&'a ast::Expr),
}

fn value_src(i: &Item) -> ValueSrc<'_> {
    ValueSrc::Item(i)
}

impl RuleCx<'_> {
    /// `target set value`, checked: the target must be writable and the value typed like it.
    fn write(&mut self, target: Expr, value: Expr, span: Span) -> Option<Stmt> {
        let writable = match &target.kind {
            ExprKind::Payload(_) | ExprKind::Exthdr(_) => true,
            ExprKind::Meta(k) => crate::proto::meta::info(*k).settable,
            ExprKind::Ct(c) => crate::proto::ct::info(c.key).settable,
            _ => false,
        };
        if !writable {
            return self.fail(target.span, "syntax error, this expression cannot be set");
        }
        if let ExprKind::Payload(p) = &target.kind
            && p.inner.is_some()
        {
            return self.fail(target.span, "inner header fields cannot be set");
        }
        if matches!(value.kind, ExprKind::Set(_) | ExprKind::SetRef(_)) {
            return self.fail(value.span, "Set expression cannot be used as a value to set");
        }
        if let ExprKind::Meta(MetaKey::Nftrace) = target.kind
            && let Some(v) = value.as_value().and_then(|v| v.to_u128())
            && v > 1
        {
            return self.fail(value.span, format!("Value {v} exceeds valid range 0-1"));
        }
        Some(Stmt::new(StmtKind::Write(crate::ir::Write { target, value })).at(span))
    }
}

/// Does the run start with `ct count`?
fn starts_ct_count(items: &[Item]) -> bool {
    let word = |i: usize| match items.get(i).map(|x| &x.kind) {
        Some(ItemKind::Atom(a)) => Some(a.text.as_str()),
        _ => None,
    };
    word(0) == Some("ct") && word(1) == Some("count")
}

/// Where a concatenation of `members` stands: from its first member to its last (the parts'
/// runs it was read from also hold what follows it, a set's name or a verdict).
fn members_span(members: &[Expr]) -> Option<Span> {
    Some(members.first()?.span.to(members.last()?.span))
}
