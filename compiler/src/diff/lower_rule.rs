//! Lowering one rule's statements into executor steps: matches become tests (after the
//! implicit tests of their loads: not a non-first fragment for a transport load, the header
//! there for an extension header's field), verdicts and terminal statements become
//! verdict steps, `… set …` becomes a write, maps become lookups into a temporary, limiters
//! become free inputs, and everything else that changes what happens to a packet becomes a
//! compared effect. Statements with no effect on the fate (counters, logs) are dropped;
//! statements the engine cannot model are reported.

mod tcpmss;

use super::error::{Res, Side, Undecidable};
use super::interval::{Interval, IntervalSet, max_of};
use super::lower::Lowering;
use super::operand::{self, Header, Load, MOBILITY_HEADER, Piece};
use super::program::{
    Datum, Effect, LookupStep, NatArg, NatStep, QueueFate, RejectFate, Step, TestStep, UnmodelledStep,
    ValueExpr, VerdictStep, WriteStep,
};
use super::storage::{Ctx, Storage};
use super::test::{self, Member, Test};
use crate::iptables::lower::xt_model;
use crate::ir::build;
use crate::ir::{
    BinOp, Expr, ExprKind, MapLookup, Nat, ObjectType, Reject, RejectKind, Rule, Stmt, StmtKind, Verdict,
};
use crate::proto::exthdr::ExthdrOp;
use nftvm_grammar::Span;
use nftvm_vm::keys::MetaKey;

/// Lowering of one rule.
pub struct RuleLowering<'l, 'a> {
    lw: &'l mut Lowering<'a>,
    table: usize,
    pos: (usize, usize, usize),
    steps: Vec<Step>,
    /// The implicit tests already made (each once per rule).
    implied: Vec<Implied>,
    temps: u8,
}

/// An implicit test of the loads a rule makes: a load that fails ends the rule, as a test
/// that fails does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Implied {
    /// Not a non-first fragment (a transport load).
    NotFragment,
    /// `meta l4proto` is this (a Mobility Header field: the header is the transport).
    L4proto(u32),
    /// The extension header / option / chunk is there (a field of it).
    Present(Header),
}

impl<'l, 'a> RuleLowering<'l, 'a> {
    pub fn new(lw: &'l mut Lowering<'a>, table: usize, chain: usize, rule: usize) -> Self {
        RuleLowering {
            lw,
            table,
            pos: (table, chain, rule),
            steps: Vec::new(),
            implied: Vec::new(),
            temps: 0,
        }
    }

    fn side(&self) -> Side {
        self.lw.side
    }

    /// The rule's steps, up to its first terminal statement.
    pub fn lower(&mut self, rule: &Rule) -> Result<Vec<Step>, Undecidable> {
        for (si, stmt) in rule.stmts.iter().enumerate() {
            if self.stmt(si, stmt)? {
                break;
            }
        }
        Ok(std::mem::take(&mut self.steps))
    }

    fn at<T>(&self, r: Res<T>, span: Span) -> Result<T, Undecidable> {
        r.map_err(|e| e.at(self.side(), span))
    }

    /// Lower one statement; true when it ends the rule.
    fn stmt(&mut self, si: usize, stmt: &Stmt) -> Result<bool, Undecidable> {
        let span = stmt.span;
        let table = &self.lw.rs.tables[self.table];
        if let StmtKind::XtMatch(m) = &stmt.kind
            && let Some(model) = xt_model::as_nft(m, table.family)
        {
            let model =
                model.map_err(|e| self.unsupported(format!("xt match `{}`: {e:?}", m.name()), span))?;
            for s in model {
                self.stmt(si, &Stmt { span, ..s })?;
            }
            return Ok(false);
        }
        match &stmt.kind {
            StmtKind::Match(m) => {
                let t = test::from_match(m, table, self.lw.point, self.lw.uni);
                let t = self.at(t, span)?;
                self.push_test(t, span)?;
                Ok(false)
            }
            StmtKind::Verdict(v) => {
                let v = self.verdict(v, span)?;
                let terminal = v != VerdictStep::Continue;
                self.steps.push(Step::Verdict(v, span));
                Ok(terminal)
            }
            StmtKind::VerdictMap(e) => {
                let ExprKind::Map(m) = &e.kind else {
                    return Err(self.unsupported("a verdict map that is not a lookup", span));
                };
                let temp = self.lookup(m, span)?;
                self.steps.push(Step::Verdict(VerdictStep::FromTemp(temp), span));
                Ok(true)
            }
            StmtKind::Counter(_) | StmtKind::Last(_) | StmtKind::Log(_) => Ok(false),
            StmtKind::Limit(_)
            | StmtKind::Quota(_)
            | StmtKind::ConnLimit(_)
            | StmtKind::XtMatch(_)
            | StmtKind::FlowOffload { .. } => {
                let over = match &stmt.kind {
                    StmtKind::Limit(l) => l.over,
                    StmtKind::Quota(q) => q.over,
                    StmtKind::ConnLimit(c) => c.over,
                    _ => false,
                };
                let (ti, ci, ri) = self.pos;
                let Some(id) = self.lw.limiters.id(self.side(), (ti, ci, ri, si), span) else {
                    return Err(Undecidable::new("internal: unregistered limiter", self.side(), span));
                };
                let storage = match &stmt.kind {
                    StmtKind::FlowOffload { .. } => Storage::Offload(id),
                    _ => Storage::Limiter(id),
                };
                self.limiter(storage, id, over, span)?;
                Ok(false)
            }
            StmtKind::Reject(r) => {
                let fate = self.reject(r);
                self.steps.push(Step::Verdict(VerdictStep::Reject(fate), span));
                Ok(true)
            }
            StmtKind::Queue(q) => {
                let num = match &q.num {
                    None => Interval::point(0),
                    Some(e) => self.single_interval(e, span)?,
                };
                let fate = QueueFate { num, bypass: q.bypass, fanout: q.fanout };
                self.steps.push(Step::Verdict(VerdictStep::Queue(fate), span));
                Ok(true)
            }
            StmtKind::Nat(n) => {
                let step = self.nat(n, span)?;
                self.steps.push(Step::Nat(step, span));
                Ok(true)
            }
            StmtKind::Notrack => {
                self.steps.push(Step::Effect(Effect::Notrack));
                Ok(false)
            }
            StmtKind::Write(w) => {
                self.write(&w.target, &w.value, span)?;
                Ok(false)
            }
            StmtKind::ObjRef(o) => {
                self.objref(o.ty, &o.name, span)?;
                Ok(false)
            }
            StmtKind::Dup { addr, dev } => {
                let mut text = String::from("dup");
                if let Some(a) = addr {
                    text.push_str(&format!(" to {:?}", self.single_interval(a, span)?));
                }
                if let Some(d) = dev {
                    text.push_str(&format!(" device {:?}", self.single_interval(d, span)?));
                }
                self.steps.push(Step::Effect(Effect::Other(text)));
                Ok(false)
            }
            StmtKind::Fwd { addr, dev, .. } => {
                let mut text = format!("fwd device {:?}", self.single_interval(dev, span)?);
                if let Some(a) = addr {
                    text.push_str(&format!(" to {:?}", self.single_interval(a, span)?));
                }
                self.steps.push(Step::Verdict(VerdictStep::Stolen(text), span));
                Ok(true)
            }
            StmtKind::OptStrip(e) => {
                self.steps.push(Step::Effect(Effect::Other(format!("reset {}", operand::load_name(e)))));
                Ok(false)
            }
            StmtKind::DynSet(d) => Err(self.unsupported(
                format!("'{} @{}' (a set updated from the packet path)", d.op.name(), d.set),
                span,
            )),
            StmtKind::Meter(m) => Err(self.unsupported(format!("meter {} (per-key state)", m.name), span)),
            StmtKind::Tproxy(_) => Err(self.unsupported("tproxy (depends on local sockets)", span)),
            StmtKind::Synproxy(_) => Err(self.unsupported("synproxy", span)),
            StmtKind::Xt(name) => {
                Err(self.unsupported(format!("xt {name} (an untranslated iptables extension)"), span))
            }
            StmtKind::XtTarget(nftvm_vm::expr::xt_target::XtTarget::Ct(t)) => {
                // The helper goes to the connection the packet starts: an effect, like
                // `ct helper set` (which, unlike it, does nothing before conntrack). A
                // template without one (`-j CT --ctevents …`) changes nothing.
                if !t.helper.is_empty() {
                    self.steps
                        .push(Step::Effect(Effect::Other(format!("CT --helper {} template", t.helper))));
                }
                Ok(false)
            }
            StmtKind::XtTarget(nftvm_vm::expr::xt_target::XtTarget::Tcpmss(t)) => {
                self.tcpmss(t, span)?;
                Ok(false)
            }
            StmtKind::XtTarget(t) => Err(self.unsupported(
                format!("xt target \"{}\" (marks or TTLs computed from two values)", t.name()),
                span,
            )),
        }
    }

    fn unsupported(&self, what: impl Into<String>, span: Span) -> Undecidable {
        Undecidable::new(what, self.side(), span)
    }

    fn push_test(&mut self, t: Test, span: Span) -> Result<(), Undecidable> {
        for m in &t.members {
            self.precondition(&m.load, span)?;
        }
        let negate = t.negate;
        self.steps.push(Step::Test(TestStep::new(t, negate, span)));
        Ok(())
    }

    /// What reading `load` implies (tested before the step that reads it, once per rule):
    /// transport loads fail on non-first fragments, a header's fields are read only when it
    /// is there — and a Mobility Header is there only as the packet's transport.
    fn precondition(&mut self, load: &Load, span: Span) -> Result<(), Undecidable> {
        if load.transport {
            self.imply(Implied::NotFragment, span)?;
        }
        if let Some(h) = load.header {
            if h.op == ExthdrOp::Ipv6 && h.kind == MOBILITY_HEADER {
                self.imply(Implied::NotFragment, span)?;
                self.imply(Implied::L4proto(MOBILITY_HEADER), span)?;
            }
            self.imply(Implied::Present(h), span)?;
        }
        Ok(())
    }

    fn imply(&mut self, what: Implied, span: Span) -> Result<(), Undecidable> {
        if self.implied.contains(&what) {
            return Ok(());
        }
        self.implied.push(what);
        let test = match what {
            Implied::NotFragment => {
                let piece = operand::not_fragment(self.lw.point, self.lw.uni);
                match self.at(piece, span)? {
                    Some(p) => test::is_value(p, 0),
                    None => return Ok(()),
                }
            }
            Implied::L4proto(p) => {
                let load = operand::resolve(&build::meta(MetaKey::L4proto), self.lw.point, self.lw.uni);
                let load = self.at(load, span)?;
                let mask = max_of(load.width);
                Test {
                    members: vec![Member { load, mask }],
                    elems: vec![vec![IntervalSet::point(u128::from(p))]],
                    negate: false,
                }
            }
            Implied::Present(h) => self.present(h, span)?,
        };
        self.steps.push(Step::Test(TestStep::new(test, false, span)));
        Ok(())
    }

    /// The test that header `h` is there.
    fn present(&mut self, h: Header, span: Span) -> Result<Test, Undecidable> {
        let piece = operand::present(h, self.lw.uni);
        Ok(test::is_value(self.at(piece, span)?, 1))
    }

    /// Limiter `id`, whose outcome bit lives in `storage`: the rule goes on when it is `over`.
    fn limiter(&mut self, storage: Storage, id: u32, over: bool, span: Span) -> Result<(), Undecidable> {
        let sid = self.lw.uni.storage(storage, Some(1));
        let sid = self.at(sid, span)?;
        let r = self.lw.uni.note_range(sid, 0, 1);
        self.at(r, span)?;
        let load = Load {
            pieces: vec![Piece::Bits { storage: sid, off: 0, len: 1 }],
            width: 1,
            transport: false,
            header: None,
            ty: crate::types::Type::Boolean,
            order: crate::types::ByteOrder::Host,
        };
        let set = IntervalSet::point(u128::from(over));
        let test = Test { members: vec![Member { load, mask: 1 }], elems: vec![vec![set]], negate: false };
        self.steps.push(Step::Limiter { id, test: TestStep::new(test, false, span) });
        Ok(())
    }

    fn verdict(&mut self, v: &Verdict, span: Span) -> Result<VerdictStep, Undecidable> {
        Ok(match v {
            Verdict::Accept => VerdictStep::Accept,
            Verdict::Drop => VerdictStep::Drop,
            Verdict::Continue => VerdictStep::Continue,
            Verdict::Return => VerdictStep::Return,
            Verdict::Jump(c) => VerdictStep::Jump(self.lw.chain_index(self.table, c, span)?),
            Verdict::Goto(c) => VerdictStep::Goto(self.lw.chain_index(self.table, c, span)?),
        })
    }

    fn reject(&self, r: &Reject) -> RejectFate {
        let ctx = self.lw.point.ctx;
        match r.kind {
            RejectKind::TcpReset => RejectFate { with: 0, code: 0 },
            RejectKind::Icmp => RejectFate { with: 4, code: r.code },
            RejectKind::Icmpv6 => RejectFate { with: 6, code: r.code },
            RejectKind::Icmpx => match ctx {
                Ctx::Ipv4 => {
                    let code = match r.code {
                        0 => 0,
                        1 => 3,
                        2 => 1,
                        3 => 13,
                        c => c,
                    };
                    RejectFate { with: 4, code }
                }
                Ctx::Ipv6 => {
                    let code = match r.code {
                        0 => 0,
                        1 => 4,
                        2 => 3,
                        3 => 1,
                        c => c,
                    };
                    RejectFate { with: 6, code }
                }
                _ => RejectFate { with: 255, code: r.code },
            },
        }
    }

    /// A constant that is one interval (value, range or prefix).
    fn single_interval(&self, e: &Expr, span: Span) -> Result<Interval, Undecidable> {
        let set = self.at(test::const_set(e, e.bits.min(128)), span)?;
        match set.parts() {
            [iv] => Ok(*iv),
            _ => Err(self.unsupported("a non-constant argument", span)),
        }
    }

    fn datum(&mut self, e: &Expr, span: Span) -> Result<Datum, Undecidable> {
        match &e.kind {
            ExprKind::Verdict(v) => Ok(Datum::Verdict(self.verdict(v, span)?)),
            ExprKind::Concat(parts) => {
                let ivs =
                    parts.iter().map(|p| self.single_interval(p, span)).collect::<Result<Vec<_>, _>>()?;
                Ok(Datum::Values(ivs))
            }
            _ => Ok(Datum::Values(vec![self.single_interval(e, span)?])),
        }
    }

    /// Lower a map lookup into a temporary; returns the temporary.
    fn lookup(&mut self, m: &MapLookup, span: Span) -> Result<u8, Undecidable> {
        let key = test::members(&m.key, self.lw.point, self.lw.uni);
        let key = self.at(key, span)?;
        let widths: Vec<u32> = key.iter().map(|x| x.load.width).collect();
        let table = &self.lw.rs.tables[self.table];
        let elems = self.at(test::set_elems(&m.map, table), span)?;
        let mut out = Vec::new();
        let mut default = None;
        for e in elems {
            let Some(data) = &e.data else {
                return Err(self.unsupported("a map element without data", span));
            };
            let d = self.datum(data, span)?;
            if matches!(e.key.kind, ExprKind::CatchAll) {
                default = Some(d);
                continue;
            }
            let sets = self.at(test::key_sets(&e.key, &widths), span)?;
            out.push((sets, d));
        }
        for m in &key {
            self.precondition(&m.load, span)?;
        }
        let temp = self.temps;
        self.temps = self.temps.checked_add(1).ok_or_else(|| self.unsupported("too many lookups", span))?;
        self.steps.push(Step::Lookup(LookupStep { key, elems: out, default, temp, conds: Vec::new(), span }));
        Ok(temp)
    }

    fn nat_arg(&mut self, e: &Expr, span: Span) -> Result<NatArg, Undecidable> {
        match &e.kind {
            ExprKind::Map(m) => Ok(NatArg::Temp { temp: self.lookup(m, span)?, member: 0 }),
            _ => Ok(NatArg::Const(self.single_interval(e, span)?)),
        }
    }

    fn nat(&mut self, n: &Nat, span: Span) -> Result<NatStep, Undecidable> {
        let (addr, port) = if n.concat {
            let Some(ExprKind::Map(m)) = n.addr.as_ref().map(|a| &a.kind) else {
                return Err(self.unsupported("address . port translation without a map", span));
            };
            let temp = self.lookup(m, span)?;
            (Some(NatArg::Temp { temp, member: 0 }), Some(NatArg::Temp { temp, member: 1 }))
        } else {
            let addr = match &n.addr {
                Some(a) => Some(self.nat_arg(a, span)?),
                None => None,
            };
            let port = match &n.port {
                Some(p) => Some(self.nat_arg(p, span)?),
                None => None,
            };
            (addr, port)
        };
        let flags = u8::from(n.random)
            | (u8::from(n.fully_random) << 1)
            | (u8::from(n.persistent) << 2)
            | (u8::from(n.prefix) << 3);
        Ok(NatStep { kind: n.kind, family: n.family, addr, port, flags })
    }

    fn objref(&mut self, ty: ObjectType, name: &Expr, span: Span) -> Result<(), Undecidable> {
        match ty {
            ObjectType::Counter => Ok(()),
            ObjectType::CtHelper | ObjectType::CtTimeout | ObjectType::CtExpect | ObjectType::Secmark => {
                let ExprKind::Value(v) = &name.kind else {
                    return Err(self.unsupported(format!("{} chosen by a map", ty.name()), span));
                };
                let name = v.to_str_lossy();
                self.steps.push(Step::Effect(Effect::Object { ty: ty.name().to_string(), name }));
                Ok(())
            }
            other => Err(self.unsupported(format!("named {} object", other.name()), span)),
        }
    }

    fn value_expr(&mut self, e: &Expr, width: u32, span: Span) -> Result<ValueExpr, Undecidable> {
        match &e.kind {
            ExprKind::Value(v) => {
                let n = self.at(operand::number(v, e.ty, width), span)?;
                Ok(ValueExpr::Const(n & max_of(width)))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let inner = self.value_expr(lhs, width, span)?;
                let ExprKind::Value(c) = &rhs.kind else {
                    return Err(self.unsupported("a computed value with a non-constant operand", span));
                };
                let c = self.at(operand::number(c, rhs.ty, width), span)?;
                match op {
                    BinOp::And => Ok(ValueExpr::And(Box::new(inner), c)),
                    BinOp::Or => Ok(ValueExpr::Or(Box::new(inner), c)),
                    BinOp::Xor => Ok(ValueExpr::Xor(Box::new(inner), c)),
                    BinOp::Shl | BinOp::Shr => Err(self.unsupported("a shifted value in a write", span)),
                }
            }
            ExprKind::Map(m) => Ok(ValueExpr::Temp(self.lookup(m, span)?, 0)),
            _ if e.is_load() => {
                let load = operand::resolve(e, self.lw.point, self.lw.uni);
                let load = self.at(load, span)?;
                if load.width != width {
                    return Err(self.unsupported("a copy between fields of different widths", span));
                }
                self.precondition(&load, span)?;
                Ok(ValueExpr::Load(load))
            }
            _ => Err(self.unsupported("this value in a write", span)),
        }
    }

    /// Register the cuts a write needs: masks on the target, copies between source and target.
    fn note_value(&mut self, v: &ValueExpr, target: &Load) -> Res<()> {
        match v {
            ValueExpr::Const(_) | ValueExpr::Temp(..) => Ok(()),
            ValueExpr::And(inner, c) | ValueExpr::Or(inner, c) | ValueExpr::Xor(inner, c) => {
                let mut at = 0;
                for p in &target.pieces {
                    if let Piece::Bits { storage, off, len } = p {
                        let m = super::universe::Universe::bits_of(*c, target.width, at, *len);
                        self.lw.uni.note_mask(*storage, *off, *len, m)?;
                    }
                    at += p.len();
                }
                self.note_value(inner, target)
            }
            ValueExpr::Load(src) => {
                let mut cuts: Vec<u32> = vec![0, target.width];
                let mut acc = 0;
                for p in &src.pieces {
                    acc += p.len();
                    cuts.push(acc);
                }
                acc = 0;
                for p in &target.pieces {
                    acc += p.len();
                    cuts.push(acc);
                }
                cuts.sort_unstable();
                cuts.dedup();
                for w in cuts.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let s = locate(&src.pieces, a);
                    let t = locate(&target.pieces, a);
                    if let (Some((ss, so)), Some((ts, to))) = (s, t) {
                        self.lw.uni.note_link((ss, so), (ts, to), b - a)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn write(&mut self, target: &Expr, value: &Expr, span: Span) -> Result<(), Undecidable> {
        if matches!(target.kind, ExprKind::Meta(MetaKey::Nftrace)) {
            return Ok(());
        }
        let t = operand::resolve(target, self.lw.point, self.lw.uni);
        let t = self.at(t, span)?;
        if t.pieces.iter().any(|p| matches!(p, Piece::Const { .. })) {
            return Err(self.unsupported(format!("writing {}", operand::load_name(target)), span));
        }
        if t.transport {
            self.imply(Implied::NotFragment, span)?;
        }
        let v = self.value_expr(value, t.width, span)?;
        // Writing a header's field where the header is not does nothing (the rule goes on):
        // not a test of the rule, the write's own guard. An MSS option's size is written
        // only where that lowers it.
        let guard = match t.header {
            Some(h) => {
                let there = self.present(h, span)?;
                let test = match (is_mss_size(target), &v) {
                    (false, _) => there,
                    (true, ValueExpr::Const(mss)) => tcpmss::all_of(vec![there, tcpmss::above(&t, *mss)]),
                    (true, _) => {
                        // Lowered where the value is smaller: a comparison of two values the
                        // engine does not model (`rt mtu` is a free input anyway).
                        let what = format!(
                            "{} set to a value that is not a constant (it only ever lowers the MSS)",
                            operand::load_name(target)
                        );
                        self.steps.push(Step::Unmodelled(UnmodelledStep {
                            guard: TestStep::new(there, false, span),
                            what,
                            span,
                        }));
                        return Ok(());
                    }
                };
                Some(Box::new(TestStep::new(test, false, span)))
            }
            None => None,
        };
        let r = self.note_value(&v, &t);
        self.at(r, span)?;
        self.steps.push(Step::Write(WriteStep { target: t, value: v, guard, slots: Vec::new(), span }));
        Ok(())
    }
}

/// The storage bit at position `at` of a piece list (None for constant pieces).
pub fn locate(pieces: &[Piece], at: u32) -> Option<(super::universe::StorageId, u32)> {
    let mut start = 0;
    for p in pieces {
        let len = p.len();
        if at < start + len {
            return match p {
                Piece::Bits { storage, off, .. } => Some((*storage, off + (at - start))),
                Piece::Const { .. } => None,
            };
        }
        start += len;
    }
    None
}

/// Is `e` the size of the TCP MSS option (which a write only ever lowers)?
fn is_mss_size(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Exthdr(x)
        if x.op == ExthdrOp::TcpOpt && x.kind == u32::from(nftvm_vm::expr::exthdr::TCPOPT_MSS) && x.field.as_ref().is_some_and(|f| f.len == 16))
}
