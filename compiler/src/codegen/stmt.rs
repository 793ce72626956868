//! Statements: the dispatcher, and the ones that are a single expression — verdicts,
//! `counter`, `limit`, `quota`, `last`, `ct count`, `log`, `reject`, `queue`, `notrack`,
//! object references, `dup`, `fwd`, `synproxy`, option stripping.

use super::error::LResult;
use super::expr::is_concat;
use super::lookup::MapKind;
use super::program::Cx;
use super::regs::reg;
use super::rule::{Gen, Mode};
use crate::ir::{self, Expr, ExprKind, ObjRef, RejectKind, Stmt, StmtKind};
use crate::types::Type;
use nftvm_vm::Expr as VmExpr;
use nftvm_vm::expr::immediate::{ImmValue, Immediate};
use nftvm_vm::expr::{
    connlimit::Connlimit, counter::Counter, dup::Dup, exthdr, flow_offload::FlowOffload, fwd::Fwd,
    last::Last, limit, log::Log, notrack::Notrack, objref::Objref, queue, quota::Quota, reject::Reject,
    synproxy::Synproxy,
};
use nftvm_vm::{Reg, Verdict};

/// An IR verdict as the VM's (jump targets resolved in table `t`).
pub(crate) fn vm_verdict(cx: &Cx<'_>, t: usize, v: &ir::Verdict) -> LResult<Verdict> {
    Ok(match v {
        ir::Verdict::Accept => Verdict::Accept,
        ir::Verdict::Drop => Verdict::Drop,
        ir::Verdict::Continue => Verdict::Continue,
        ir::Verdict::Return => Verdict::Return,
        ir::Verdict::Jump(c) => Verdict::Jump(cx.chain_id(t, c)?),
        ir::Verdict::Goto(c) => Verdict::Goto(cx.chain_id(t, c)?),
    })
}

/// `limit` from its IR form (also for limit objects).
pub(crate) fn limit(l: &ir::Limit) -> limit::Limit {
    limit::Limit {
        rate: l.rate,
        unit: l.unit,
        burst: l.burst,
        kind: if l.bytes { limit::LimitKind::Bytes } else { limit::LimitKind::Packets },
        flags: if l.over { limit::F_INV } else { 0 },
        slot: 0,
    }
}

/// `NF_SYNPROXY_OPT_*` bits.
const SYNPROXY_MSS: u32 = 0x1;
const SYNPROXY_WSCALE: u32 = 0x2;
const SYNPROXY_SACK_PERM: u32 = 0x4;
const SYNPROXY_TIMESTAMP: u32 = 0x8;

/// mss, wscale and option flags of a synproxy statement or object.
pub(crate) fn synproxy_params(s: &ir::Synproxy) -> (u16, u8, u32) {
    let mut flags = 0;
    if s.mss.is_some() {
        flags |= SYNPROXY_MSS;
    }
    if s.wscale.is_some() {
        flags |= SYNPROXY_WSCALE;
    }
    if s.sack_perm {
        flags |= SYNPROXY_SACK_PERM;
    }
    if s.timestamp {
        flags |= SYNPROXY_TIMESTAMP;
    }
    (s.mss.unwrap_or(0), s.wscale.unwrap_or(0), flags)
}

/// The stateful expression a counter/limit/quota/last/ct count statement becomes (also
/// inside `dynset` and meters).
pub(crate) fn stateful(s: &Stmt) -> Option<VmExpr> {
    Some(match &s.kind {
        StmtKind::Counter(c) => VmExpr::Counter(Counter { packets: c.packets, bytes: c.bytes, slot: 0 }),
        StmtKind::Limit(l) => VmExpr::Limit(limit(l)),
        StmtKind::Quota(q) => {
            VmExpr::Quota(Quota { bytes: q.bytes, consumed: q.used, flags: u32::from(q.over), slot: 0 })
        }
        StmtKind::Last(l) => VmExpr::Last(Last { msecs: l.used, slot: 0 }),
        StmtKind::ConnLimit(c) => {
            VmExpr::Connlimit(Connlimit { count: c.count, flags: u32::from(c.over), slot: 0 })
        }
        StmtKind::XtMatch(m) => VmExpr::Match(m.clone()),
        _ => return None,
    })
}

impl Gen<'_, '_> {
    /// Lower one statement.
    pub fn stmt(&mut self, s: &Stmt) -> LResult<()> {
        if let Some(e) = stateful(s) {
            self.emit(e);
            return Ok(());
        }
        match &s.kind {
            StmtKind::Match(m) => self.gen_match(m),
            StmtKind::Verdict(v) => {
                let v = vm_verdict(self.cx, self.t, v)?;
                self.emit(VmExpr::Immediate(Immediate { dreg: Reg::VERDICT, value: ImmValue::Verdict(v) }));
                Ok(())
            }
            StmtKind::VerdictMap(e) => self.vmap(e),
            StmtKind::Log(l) => {
                self.emit(VmExpr::Log(log(l)));
                Ok(())
            }
            StmtKind::Reject(r) => {
                let kind = match r.kind {
                    RejectKind::Icmp | RejectKind::Icmpv6 => 0,
                    RejectKind::TcpReset => 1,
                    RejectKind::Icmpx => 2,
                };
                self.emit(VmExpr::Reject(Reject { kind, code: r.code }));
                Ok(())
            }
            StmtKind::Nat(n) => self.nat(n),
            StmtKind::Queue(q) => self.queue(q),
            StmtKind::XtTarget(t) => {
                self.emit(VmExpr::Target(t.clone()));
                Ok(())
            }
            StmtKind::Notrack => {
                self.emit(VmExpr::Notrack(Notrack));
                Ok(())
            }
            StmtKind::Write(w) => self.write(w),
            StmtKind::DynSet(d) => self.dynset(d),
            StmtKind::Meter(m) => self.meter(m),
            StmtKind::ObjRef(o) => self.objref(o),
            StmtKind::Dup { addr, dev } => self.dup(addr.as_ref(), dev.as_ref()),
            StmtKind::Fwd { family, addr, dev } => self.fwd(*family, addr.as_ref(), dev),
            StmtKind::Tproxy(t) => self.tproxy(t),
            StmtKind::Synproxy(s) => {
                let (mss, wscale, flags) = synproxy_params(s);
                self.emit(VmExpr::Synproxy(Synproxy { mss, wscale, flags }));
                Ok(())
            }
            StmtKind::OptStrip(e) => {
                let ExprKind::Exthdr(x) = &e.kind else {
                    return Err("reset of something not an option".into());
                };
                self.emit(VmExpr::Exthdr(exthdr::Exthdr {
                    op: x.op as u8,
                    kind: u8::try_from(x.kind).map_err(|_| "option kind out of range")?,
                    offset: 0,
                    len: 0,
                    flags: 0,
                    action: exthdr::ExthdrAction::Reset,
                }));
                Ok(())
            }
            StmtKind::FlowOffload { flowtable } => {
                let table = self.cx.table_id(self.t);
                let id = self
                    .cx
                    .prog
                    .find_flowtable(table, flowtable)
                    .ok_or_else(|| format!("unknown flowtable `@{flowtable}`"))?;
                self.emit(VmExpr::FlowOffload(FlowOffload { flowtable: id }));
                Ok(())
            }
            StmtKind::Xt(text) => Err(format!("xt extension `{text}` cannot be lowered")),
            StmtKind::Counter(_)
            | StmtKind::Limit(_)
            | StmtKind::Quota(_)
            | StmtKind::Last(_)
            | StmtKind::ConnLimit(_)
            | StmtKind::XtMatch(_) => Ok(()),
        }
    }

    /// Generate a statement argument into a fresh register; returns the register word.
    /// The register stays allocated until [`Gen::release_arg`].
    pub(crate) fn arg(&mut self, e: &Expr) -> LResult<u32> {
        let word = self.regs.get_for(is_concat(e), e.bits)?;
        self.expr_into(e, word, Mode::Value)?;
        Ok(word)
    }

    pub(crate) fn release_arg(&mut self, e: &Expr) {
        self.regs.release_for(is_concat(e), e.bits);
    }

    fn queue(&mut self, q: &ir::Queue) -> LResult<()> {
        let target = match q.num.as_ref().map(|e| (e, &e.kind)) {
            None => queue::QueueTarget::Num { num: 0, total: 1 },
            Some((_, ExprKind::Value(v))) => {
                queue::QueueTarget::Num { num: v.to_u64().unwrap_or(0) as u16, total: 1 }
            }
            Some((_, ExprKind::Range { low, high })) => {
                let (lo, hi) = (low.to_u64().unwrap_or(0) as u16, high.to_u64().unwrap_or(0) as u16);
                queue::QueueTarget::Num { num: lo, total: hi.wrapping_sub(lo).wrapping_add(1) }
            }
            Some((e, _)) => {
                let word = self.arg(e)?;
                self.release_arg(e);
                queue::QueueTarget::Reg(reg(word))
            }
        };
        let flags = u16::from(q.bypass) * queue::FLAG_BYPASS + u16::from(q.fanout) * queue::FLAG_CPU_FANOUT;
        self.emit(VmExpr::Queue(queue::Queue { target, flags: (flags != 0).then_some(flags) }));
        Ok(())
    }

    fn objref(&mut self, o: &ObjRef) -> LResult<()> {
        let ty = o.ty as u32;
        match &o.name.kind {
            ExprKind::Value(v) => {
                let obj = self.cx.object_id(self.t, ty, &v.to_str_lossy())?;
                self.emit(VmExpr::Objref(Objref::Imm { obj_type: ty, obj }));
            }
            ExprKind::Map(m) => {
                let concat = is_concat(&m.key);
                let word = self.regs.get_for(concat, m.key.bits)?;
                let r = self.map_key(&m.key, &m.map, word, &o.name, MapKind::Object(ty));
                self.regs.release_for(concat, m.key.bits);
                let (l, set) = r?;
                self.emit(VmExpr::Objref(Objref::Map { sreg: l.reg(), set }));
            }
            _ => return Err("object reference by something that is not a name or a map".into()),
        }
        Ok(())
    }

    fn dup(&mut self, addr: Option<&Expr>, dev: Option<&Expr>) -> LResult<()> {
        let dev = dev.map(device).transpose()?;
        let dev = dev.as_ref();
        let mut d = Dup { addr: None, dev: None };
        if let Some(a) = addr {
            let word = self.arg(a)?;
            if a.ty == Type::IfIndex {
                d.dev = Some(reg(word));
            } else {
                d.addr = Some(reg(word));
            }
        }
        if let Some(dev) = dev {
            let word = self.arg(dev)?;
            d.dev = Some(reg(word));
            self.release_arg(dev);
        }
        if let Some(a) = addr {
            self.release_arg(a);
        }
        self.emit(VmExpr::Dup(d));
        Ok(())
    }

    fn fwd(&mut self, family: Option<ir::Family>, addr: Option<&Expr>, dev: &Expr) -> LResult<()> {
        let dev = &device(dev)?;
        let dword = self.arg(dev)?;
        let mut f = Fwd { dev: Some(reg(dword)), addr: None, nfproto: family.map(|f| f.number()) };
        if let Some(a) = addr {
            let aword = self.arg(a)?;
            f.addr = Some(reg(aword));
            self.release_arg(a);
        }
        self.release_arg(dev);
        self.emit(VmExpr::Fwd(f));
        Ok(())
    }
}

/// A device named by a string (`device "lo"`) as the interface index the expression takes,
/// resolved when the rule is added, as nft does.
fn device(e: &Expr) -> LResult<Expr> {
    match &e.kind {
        ExprKind::Value(v) if e.ty.is_string() => {
            let name = v.to_str_lossy();
            let index =
                Type::IfIndex.parse(&name).map_err(|_| format!("Interface does not exist: {name}"))?;
            let bits = Type::IfIndex.bits();
            Ok(Expr::new(ExprKind::Value(index), Type::IfIndex, bits, Type::IfIndex.order()).at(e.span))
        }
        _ => Ok(e.clone()),
    }
}

/// `log` from its IR form.
fn log(l: &ir::Log) -> Log {
    match l.group {
        Some(g) => Log {
            prefix: l.prefix.clone(),
            group: Some(g),
            snaplen: l.snaplen.unwrap_or(0),
            qthreshold: l.queue_threshold.unwrap_or(0),
            level: None,
            flags: None,
        },
        None => Log {
            prefix: l.prefix.clone(),
            group: None,
            snaplen: 0,
            qthreshold: 0,
            level: l.level,
            flags: (l.flags != 0).then_some(l.flags),
        },
    }
}
