//! Which IR each target becomes. Targets the IR cannot express yet are [`Unsupported`].

use super::expr::{addr_value, num, sel, value_or_range};
use super::header::tos_field;
use super::rule::Mcx;
use super::{LResult, Unsupported, chain_registration};
use crate::iptables::targets::Target;
use crate::iptables::targets::ct::{Ct, ZoneDir};
use crate::iptables::targets::header::{Classify, DscpTarget, TosTarget, TtlMode, TtlTarget};
use crate::iptables::targets::log::{DEFAULT_LOG_LEVEL, Log as XtLog, Nflog};
use crate::iptables::targets::mark::{ConnmarkMode, ConnmarkTarget, MarkTarget, ShiftDir};
use crate::iptables::targets::misc::{Hmark, Nfqueue, Npt, Synproxy as XtSynproxy, Tee, Tproxy as XtTproxy};
use crate::iptables::targets::nat::{Nat as XtNat, NatKind as XtNatKind, Netmap};
use crate::iptables::targets::reject::{Reject as XtReject, RejectWith};
use crate::iptables::targets::tcpmss::{MssAction, Tcpmss};
use crate::iptables::values::addr::Addr;
use crate::ir::{
    BinOp, Expr, ExprKind, Family, Hook, Log, Nat, NatKind, Queue, Reject, RejectKind, Stmt, StmtKind,
    Synproxy, Tproxy, Verdict, Write,
};
use crate::types::{ByteOrder, Type};
use nftvm_vm::expr::connmark::Connmark as VmConnmark;
use nftvm_vm::expr::ct_template::{CtTemplate, RUN_HELPERS};
use nftvm_vm::expr::ecn::Ecn as VmEcn;
use nftvm_vm::expr::hmark::Hmark as VmHmark;
use nftvm_vm::expr::npt::{Npt as VmNpt, Prefix};
use nftvm_vm::expr::tcpmss::Tcpmss as VmTcpmss;
use nftvm_vm::expr::ttl::Ttl as VmTtl;
use nftvm_vm::expr::xt_nat::XtNat as VmXtNat;
use nftvm_vm::expr::xt_target::XtTarget;
use nftvm_vm::interp::NatKind as VmNatKind;
use std::net::IpAddr;

pub fn lower_target(name: &str, t: &Target, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    match t {
        Target::Reject(r) => Ok(vec![reject(r)]),
        Target::Log(l) => Ok(vec![log(l)]),
        Target::Nflog(n) => Ok(vec![nflog(n)]),
        Target::Audit(_) => Ok(vec![Stmt::new(StmtKind::Log(Log { level: Some(8), ..Log::default() }))]),
        Target::Mark(m) => mark(m, cx),
        Target::Connmark(c) => connmark(c, cx),
        Target::Ct(c) => ct(c, cx),
        Target::Notrack(_) => Ok(vec![Stmt::new(StmtKind::Notrack)]),
        Target::Nat(n) => nat(n, cx),
        Target::Netmap(n) => netmap(n, cx),
        Target::Tcpmss(m) => Ok(vec![tcpmss(m)]),
        Target::Ttl(t) => ttl(t, cx),
        Target::Dscp(d) => dscp(d, cx),
        Target::Tos(t) => tos(t, cx),
        Target::Classify(c) => classify(c, cx),
        Target::Trace(_) => write("meta nftrace", 1, cx),
        Target::Set(s) => super::ipset::set_target(s, cx),
        Target::Nfqueue(q) => Ok(vec![nfqueue(q)?]),
        Target::Synproxy(s) => synproxy(s),
        Target::Tee(t) => tee(t, cx),
        Target::Tproxy(t) => tproxy(t, cx),
        Target::Tcpoptstrip(s) => s
            .options
            .iter()
            .map(|k| Ok(Stmt::new(StmtKind::OptStrip(sel(&format!("tcp option {k}"), cx.fam)?))))
            .collect(),
        Target::Checksum(_) | Target::Idletimer(_) | Target::Led(_) | Target::Rateest(_) => {
            cx.notes.push(format!(
                "target `{name}' does not change packets or verdicts in nftvm (no partial checksums, timers, LEDs or rate estimators); it is left out"
            ));
            Ok(vec![])
        }
        Target::Ecn(x) => Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Ecn(VmEcn {
            ip_ect: x.set_ip_ect,
            ece: x.set_ece,
            cwr: x.set_cwr,
        })))]),
        Target::Hmark(h) => hmark(h, cx),
        Target::Npt(n) => npt(n),
        Target::Secmark(_) | Target::Connsecmark(_) => {
            Err(Unsupported::new(format!("target `{name}' has no equivalent in the engines yet")))
        }
    }
}

fn reject(r: &XtReject) -> Stmt {
    use RejectWith::*;
    let (kind, code) = match r.with {
        IcmpNetUnreachable => (RejectKind::Icmp, 0),
        IcmpHostUnreachable => (RejectKind::Icmp, 1),
        IcmpProtoUnreachable => (RejectKind::Icmp, 2),
        IcmpPortUnreachable => (RejectKind::Icmp, 3),
        IcmpNetProhibited => (RejectKind::Icmp, 9),
        IcmpHostProhibited => (RejectKind::Icmp, 10),
        IcmpAdminProhibited => (RejectKind::Icmp, 13),
        Icmp6NoRoute => (RejectKind::Icmpv6, 0),
        Icmp6AdmProhibited => (RejectKind::Icmpv6, 1),
        Icmp6AddrUnreachable => (RejectKind::Icmpv6, 3),
        Icmp6PortUnreachable => (RejectKind::Icmpv6, 4),
        Icmp6PolicyFail => (RejectKind::Icmpv6, 5),
        Icmp6RejectRoute => (RejectKind::Icmpv6, 6),
        TcpReset => (RejectKind::TcpReset, 0),
    };
    // nft marks a code written out as such; only the defaults are written without one.
    let verbose =
        !matches!((kind, code), (RejectKind::Icmp, 3) | (RejectKind::Icmpv6, 4) | (RejectKind::TcpReset, _));
    Stmt::new(StmtKind::Reject(Reject { kind, code, verbose }))
}

fn log(l: &XtLog) -> Stmt {
    Stmt::new(StmtKind::Log(Log {
        prefix: (!l.prefix.is_empty()).then(|| l.prefix.clone()),
        level: (l.level != DEFAULT_LOG_LEVEL).then_some(u32::from(l.level)),
        flags: u32::from(l.flags),
        ..Log::default()
    }))
}

fn nflog(n: &Nflog) -> Stmt {
    Stmt::new(StmtKind::Log(Log {
        prefix: (!n.prefix.is_empty()).then(|| n.prefix.clone()),
        group: Some(n.group),
        snaplen: n.size,
        queue_threshold: (n.threshold != 0).then_some(n.threshold),
        ..Log::default()
    }))
}

/// `target set value` with a constant.
fn write(target: &str, value: u128, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let t = sel(target, cx.fam)?;
    let v = num(&t, value)?;
    Ok(vec![Stmt::new(StmtKind::Write(Write { target: t, value: v }))])
}

/// `(load & ~mask) ^ value` in the simplest nft form: the value alone (full mask), `load &
/// ~mask`, `load | value`, `load ^ value`.
fn xmark(load: Expr, value: u32, mask: u32) -> LResult<Expr> {
    Ok(if mask == u32::MAX {
        num(&load, value.into())?
    } else if value == 0 {
        let m = num(&load, (!mask).into())?;
        load.binary(BinOp::And, m)
    } else if value == mask {
        let v = num(&load, value.into())?;
        load.binary(BinOp::Or, v)
    } else if mask == 0 {
        let v = num(&load, value.into())?;
        load.binary(BinOp::Xor, v)
    } else {
        let m = num(&load, (!mask).into())?;
        let v = num(&load, value.into())?;
        load.binary(BinOp::And, m).binary(BinOp::Xor, v)
    })
}

fn mark(m: &MarkTarget, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let target = sel("meta mark", cx.fam)?;
    let value = xmark(target.clone(), m.mark, m.mask)?;
    Ok(vec![Stmt::new(StmtKind::Write(Write { target, value }))])
}

fn shifted(e: Expr, c: &ConnmarkTarget) -> LResult<Expr> {
    if c.shift_bits == 0 {
        return Ok(e);
    }
    let n = num(&e, c.shift_bits.into())?;
    Ok(e.binary(if c.shift_dir == ShiftDir::Right { BinOp::Shr } else { BinOp::Shl }, n))
}

/// CONNMARK as nft statements where one mark is written from a constant or from the other
/// masked on one side; where bits of both marks merge (`--save-mark --ctmask`,
/// `--restore-mark --nfmask`, a shifted `--set-xmark`) the kernel's xt target, as
/// iptables-nft loads it.
fn connmark(c: &ConnmarkTarget, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let merges = match c.mode {
        ConnmarkMode::Set => c.shift_bits != 0,
        ConnmarkMode::Save => c.ctmask != u32::MAX,
        ConnmarkMode::Restore => c.nfmask != u32::MAX,
    };
    if merges {
        let target = VmConnmark {
            mode: c.mode,
            ctmark: c.ctmark,
            ctmask: c.ctmask,
            nfmask: c.nfmask,
            shift_right: c.shift_dir == ShiftDir::Right,
            shift_bits: c.shift_bits,
        };
        return Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Connmark(target)))]);
    }
    let ctmark = sel("ct mark", cx.fam)?;
    let mark = sel("meta mark", cx.fam)?;
    let (target, value) = match c.mode {
        ConnmarkMode::Set => (ctmark.clone(), xmark(ctmark, c.ctmark, c.ctmask)?),
        ConnmarkMode::Save => {
            let src = if c.nfmask == u32::MAX {
                mark
            } else {
                let m = num(&mark, c.nfmask.into())?;
                mark.binary(BinOp::And, m)
            };
            (ctmark, shifted(src, c)?)
        }
        ConnmarkMode::Restore => {
            let src = if c.ctmask == u32::MAX {
                ctmark
            } else {
                let m = num(&ctmark, c.ctmask.into())?;
                ctmark.binary(BinOp::And, m)
            };
            (mark, shifted(src, c)?)
        }
    };
    Ok(vec![Stmt::new(StmtKind::Write(Write { target, value }))])
}

fn ct(c: &Ct, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    if c.notrack {
        return Ok(vec![Stmt::new(StmtKind::Notrack)]);
    }
    if !c.timeout.is_empty() {
        // The policy is a cttimeout object made with `nfct add timeout`, not part of the ruleset.
        return Err(Unsupported::new("CT --timeout (a policy made with nfct) cannot be expressed yet"));
    }
    let events = c.ct_events != 0 || c.exp_events != 0;
    if events {
        cx.notes.push(
            "CT --ctevents/--expevents: nftvm reports no conntrack events, so the masks filter nothing \
             (packets are handled as without them, as in the kernel)"
                .into(),
        );
    }
    let mut out = Vec::new();
    if let Some(z) = &c.zone {
        if z.from_mark || z.dir != ZoneDir::Both {
            return Err(Unsupported::new("CT --zone mark and directional zones cannot be expressed yet"));
        }
        out.extend(write("ct zone", z.id.into(), cx)?);
    }
    if !c.helper.is_empty() {
        // The kernel's xt_CT (a template connection; nft's `ct helper set` is not the same
        // before conntrack), which looks the helper up for the rule's protocol.
        if cx.proto().is_none() {
            return Err(Unsupported::new("CT --helper needs the rule's protocol (-p tcp or -p udp)"));
        }
        if !RUN_HELPERS.contains(&c.helper.as_str()) {
            let (last, rest) = RUN_HELPERS.split_last().unwrap_or((&"", &[]));
            cx.notes.push(format!(
                "CT --helper {}: nftvm runs the {} and {last} helpers only, so this one attaches nothing \
                 and its related connections are not recognised",
                c.helper,
                rest.join(", ")
            ));
        }
        let target = CtTemplate { helper: c.helper.clone() };
        out.push(Stmt::new(StmtKind::XtTarget(XtTarget::Ct(target))));
    }
    if out.is_empty() {
        if !events {
            return Err(Unsupported::new(
                "CT without --notrack, --zone, --helper or event masks does nothing nftvm can express",
            ));
        }
        // A template with no helper: it changes nothing, but lists as the kernel's does.
        out.push(Stmt::new(StmtKind::XtTarget(XtTarget::Ct(CtTemplate::default()))));
    }
    Ok(out)
}

fn addr_shape(fam: Family) -> Expr {
    let ty = if fam == Family::Ip6 { Type::Ipv6Addr } else { Type::Ipv4Addr };
    Expr::new(ExprKind::CatchAll, ty, ty.bits(), ty.order())
}

fn port_shape() -> Expr {
    Expr::new(ExprKind::CatchAll, Type::InetService, 16, ByteOrder::Network)
}

fn nat(n: &XtNat, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let r = &n.range;
    if let Some(base) = r.base_port {
        return shifted_nat(n, base, cx);
    }
    let shape = addr_shape(cx.fam);
    let addr = match &r.addrs {
        None => None,
        Some((lo, hi)) => {
            let (l, h) = (addr_value(&shape, lo)?, addr_value(&shape, hi)?);
            Some(match (l.kind, h.kind) {
                (ExprKind::Value(l), ExprKind::Value(h)) if l == h => shape.constant(l),
                (ExprKind::Value(l), ExprKind::Value(h)) => shape.range(l, h),
                _ => return Err(Unsupported::new("internal: nat address")),
            })
        }
    };
    let port = match &r.ports {
        None => None,
        Some(p) => Some(value_or_range(&port_shape(), p.lo.into(), p.hi.into())?),
    };
    let kind = match n.kind {
        XtNatKind::Snat => NatKind::Snat,
        XtNatKind::Dnat => NatKind::Dnat,
        XtNatKind::Masquerade => NatKind::Masquerade,
        XtNatKind::Redirect => NatKind::Redirect,
    };
    Ok(vec![Stmt::new(StmtKind::Nat(Nat {
        kind,
        family: None,
        addr,
        port,
        random: r.random,
        fully_random: r.random_fully,
        persistent: r.persistent,
        prefix: false,
        concat: false,
    }))])
}

/// SNAT/DNAT with a shifted port map (`a-b/base`) as the kernel's xt target, which
/// iptables-nft loads for it (nft's nat has no base port).
fn shifted_nat(n: &XtNat, base: u16, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let r = &n.range;
    let kind = match n.kind {
        XtNatKind::Snat => VmNatKind::Snat,
        XtNatKind::Dnat => VmNatKind::Dnat,
        _ => return Err(Unsupported::new("a shifted port map needs SNAT or DNAT")),
    };
    let Some(ports) = r.ports else { return Err(Unsupported::new("a shifted port map needs a port range")) };
    let flag = |on: bool, bit: u32| if on { bit } else { 0 };
    let target = VmXtNat {
        kind,
        family: if cx.fam == Family::Ip6 { Family::Ip6 } else { Family::Ip },
        addrs: r.addrs.map(|(lo, hi)| (IpAddr::from(lo), IpAddr::from(hi))),
        ports: (ports.lo, ports.hi),
        base,
        flags: flag(r.random, 0x4) | flag(r.persistent, 0x8) | flag(r.random_fully, 0x10),
    };
    Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Nat(target)))])
}

fn netmap(n: &Netmap, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let hook = chain_registration(cx.table, cx.chain).map(|r| r.hook);
    let kind = match hook {
        Some(Hook::Prerouting | Hook::Output) => NatKind::Dnat,
        Some(Hook::Input | Hook::Postrouting) => NatKind::Snat,
        _ => {
            return Err(Unsupported::new(
                "NETMAP in a user-defined chain: its direction depends on the calling hook",
            ));
        }
    };
    let Some(len) = n.to.prefix_len() else {
        return Err(Unsupported::new("NETMAP with a non-prefix mask cannot be expressed"));
    };
    let shape = addr_shape(cx.fam);
    let ExprKind::Value(v) = addr_value(&shape, &n.to.addr)?.kind else {
        return Err(Unsupported::new("internal: netmap"));
    };
    let addr = shape.prefix(v, u32::from(len));
    Ok(vec![Stmt::new(StmtKind::Nat(Nat {
        kind,
        family: None,
        addr: Some(addr),
        port: None,
        random: false,
        fully_random: false,
        persistent: false,
        prefix: true,
        concat: false,
    }))])
}

/// TCPMSS as the kernel's xt target, as iptables-nft loads it: like the translation's
/// `tcp option maxseg size set` it never raises an MSS, but it adds the option to a segment
/// without one and clamps to both routes' MTU, which the translation does not (the
/// `--clamp-mss-to-pmtu` hook check stays with the target's `check_load`).
fn tcpmss(m: &Tcpmss) -> Stmt {
    let mss = match m.action {
        MssAction::ClampToPmtu => None,
        MssAction::Set(v) => Some(v),
    };
    Stmt::new(StmtKind::XtTarget(XtTarget::Tcpmss(VmTcpmss { mss })))
}

/// `--ttl-set` is nft's `ip ttl set`; counting up or down (nft has no arithmetic on a
/// field) is the kernel's xt target, as iptables-nft loads it.
fn ttl(t: &TtlTarget, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let field = if cx.fam == Family::Ip6 { "ip6 hoplimit" } else { "ip ttl" };
    if t.mode == TtlMode::Set {
        return write(field, t.value.into(), cx);
    }
    let target = VmTtl { ipv6: cx.fam == Family::Ip6, mode: t.mode, value: t.value };
    Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Ttl(target)))])
}

/// SNPT/DNPT as the kernel's xt target (nft has no stateless prefix translation). The
/// parser has checked both prefixes as the kernel does (present, at most /64, no host bits).
fn npt(n: &Npt) -> LResult<Vec<Stmt>> {
    let prefix = |p: Option<(Addr, u8)>| match p {
        Some((a, len)) => Ok(Prefix { addr: std::net::Ipv6Addr::from(a.to_u128()), len }),
        None => Err(Unsupported::new("SNPT/DNPT: both --src-pfx and --dst-pfx are needed")),
    };
    let target = VmNpt { destination: n.destination, from: prefix(n.src_pfx)?, to: prefix(n.dst_pfx)? };
    Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Npt(target)))])
}

/// HMARK as the kernel's xt target (nft's `jhash` hashes other words in another order).
fn hmark(h: &Hmark, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    if h.spi.is_some() && (h.sport.is_some() || h.dport.is_some()) {
        return Err(Unsupported::new("HMARK: spi-set and port-set can't be combined"));
    }
    let mask = |prefix: Option<u8>| Addr::prefix_mask(cx.ipt, prefix.unwrap_or(0)).to_u128();
    let pair = |a: Option<u16>, b: Option<u16>| u32::from(a.unwrap_or(0)) << 16 | u32::from(b.unwrap_or(0));
    let target = VmHmark {
        ct: h.ct,
        src_mask: mask(h.src_prefix),
        dst_mask: mask(h.dst_prefix),
        port_mask: h.spi_mask.unwrap_or_else(|| pair(h.sport_mask, h.dport_mask)),
        port_set: h.spi.unwrap_or_else(|| pair(h.sport, h.dport)),
        proto_mask: h.proto_mask.unwrap_or(0),
        rnd: h.rnd.unwrap_or(0),
        modulus: h.modulus.unwrap_or(1),
        offset: h.offset.unwrap_or(0),
    };
    Ok(vec![Stmt::new(StmtKind::XtTarget(XtTarget::Hmark(target)))])
}

fn dscp(d: &DscpTarget, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    write(&format!("{} dscp", cx.ip_word()), d.dscp.into(), cx)
}

fn tos(t: &TosTarget, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let target = tos_field(cx.fam)?;
    let value = if t.mask == 0xFF {
        num(&target, t.value.into())?
    } else {
        let m = num(&target, (!t.mask).into())?;
        let v = num(&target, t.value.into())?;
        target.clone().binary(BinOp::And, m).binary(BinOp::Xor, v)
    };
    Ok(vec![Stmt::new(StmtKind::Write(Write { target, value }))])
}

fn classify(c: &Classify, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    write("meta priority", c.priority.into(), cx)
}

fn nfqueue(q: &Nfqueue) -> LResult<Stmt> {
    let shape = Expr::new(ExprKind::CatchAll, Type::Integer, 16, ByteOrder::Host);
    let first = u128::from(q.queue_num);
    let last = if q.queues_total > 1 { first + u128::from(q.queues_total) - 1 } else { first };
    let num = value_or_range(&shape, first, last)?;
    Ok(Stmt::new(StmtKind::Queue(Queue { num: Some(num), bypass: q.bypass, fanout: q.cpu_fanout })))
}

fn synproxy(s: &XtSynproxy) -> LResult<Vec<Stmt>> {
    if s.ecn {
        return Err(Unsupported::new("SYNPROXY --ecn cannot be expressed"));
    }
    Ok(vec![Stmt::new(StmtKind::Synproxy(Synproxy {
        mss: s.mss.map(|m| m as u16),
        wscale: s.wscale.map(|w| w as u8),
        timestamp: s.timestamp,
        sack_perm: s.sack_perm,
    }))])
}

fn tee(t: &Tee, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let addr = addr_value(&addr_shape(cx.fam), &t.gateway)?;
    let dev = match &t.oif {
        None => None,
        Some(o) => {
            let shape = Expr::new(ExprKind::CatchAll, Type::IfName, 128, ByteOrder::Host);
            Some(super::expr::string(&shape, o)?)
        }
    };
    Ok(vec![Stmt::new(StmtKind::Dup { addr: Some(addr), dev })])
}

fn tproxy(t: &XtTproxy, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let addr = match &t.addr {
        Addr::V4(a) if !a.is_unspecified() => Some(addr_value(&addr_shape(cx.fam), &t.addr)?),
        Addr::V6(a) if !a.is_unspecified() => Some(addr_value(&addr_shape(cx.fam), &t.addr)?),
        _ => None,
    };
    let port = if t.port != 0 || addr.is_none() { Some(num(&port_shape(), t.port.into())?) } else { None };
    let mut out = vec![Stmt::new(StmtKind::Tproxy(Tproxy { family: None, addr, port }))];
    if t.mask != 0 || t.mark != 0 {
        let target = sel("meta mark", cx.fam)?;
        let value = xmark(target.clone(), t.mark, t.mask)?;
        out.push(Stmt::new(StmtKind::Write(Write { target, value })));
    }
    out.push(Stmt::verdict(Verdict::Accept));
    Ok(out)
}
