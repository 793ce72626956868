//! Header fields and packet metadata: `iprange`, `mac`, `length`, `ttl`, `hl`, `pkttype`,
//! `addrtype`, `dscp`, `tos`, `ecn`, `realm`, `devgroup`, `cpu`, `cgroup`, `mark`.

use super::expr::{addr_value, cmp, cmp_range, flags, masked_cmp, num, sel, set_of};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::addrtype::Addrtype;
use crate::iptables::matches::dscp::{Dscp, Tos};
use crate::iptables::matches::ecn::Ecn;
use crate::iptables::matches::iprange::Iprange;
use crate::iptables::matches::length::Length;
use crate::iptables::matches::mac::Mac;
use crate::iptables::matches::mark::MarkMatch;
use crate::iptables::matches::misc::{Cgroup, Cpu, Devgroup, Realm};
use crate::iptables::matches::pkttype::Pkttype;
use crate::iptables::matches::ttl::{CmpMode, TtlCmp};
use crate::ir::{Expr, ExprKind, Family, MatchOp, Stmt};
use crate::types::Value;

pub fn iprange(r: &Iprange, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    for (dir, range) in [("saddr", &r.src), ("daddr", &r.dst)] {
        if let Some(range) = range {
            let left = sel(&format!("{} {dir}", cx.ip_word()), cx.fam)?;
            let (lo, hi) = (addr_value(&left, &range.value.from)?, addr_value(&left, &range.value.to)?);
            let right = match (lo.kind, hi.kind) {
                (ExprKind::Value(l), ExprKind::Value(h)) if l == h => left.constant(l),
                (ExprKind::Value(l), ExprKind::Value(h)) => left.range(l, h),
                _ => return Err(Unsupported::new("internal: iprange")),
            };
            out.push(cmp(left, range.invert, right));
        }
    }
    Ok(out)
}

pub fn mac(m: &Mac, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let left = sel("ether saddr", cx.fam)?;
    let v =
        Value::from_bytes(left.bits, left.order, &m.addr).map_err(|e| Unsupported::new(format!("{e:?}")))?;
    let right = left.constant(v);
    Ok(vec![cmp(left, m.invert, right)])
}

pub fn length(l: &Length, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![cmp_range(sel("meta length", cx.fam)?, l.invert, l.range.lo.into(), l.range.hi.into())?])
}

/// `ip ttl` / `ip6 hoplimit` compared.
pub fn ttl_cmp(c: &TtlCmp, words: &str, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let left = sel(words, cx.fam)?;
    let right = num(&left, c.value.into())?;
    let op = match c.mode {
        CmpMode::Eq => MatchOp::Eq,
        CmpMode::Ne => MatchOp::Ne,
        CmpMode::Lt => MatchOp::Lt,
        CmpMode::Gt => MatchOp::Gt,
    };
    Ok(vec![Stmt::matches(left, op, right)])
}

pub fn pkttype(p: &Pkttype, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let left = sel("meta pkttype", cx.fam)?;
    let right = num(&left, p.pkttype.into())?;
    Ok(vec![cmp(left, p.invert, right)])
}

pub fn addrtype(a: &Addrtype, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    let iface = if a.limit_iface_in {
        " . iif"
    } else if a.limit_iface_out {
        " . oif"
    } else {
        ""
    };
    for (dir, t) in [("saddr", a.src), ("daddr", a.dst)] {
        let Some((mask, invert)) = t else { continue };
        let left = sel(&format!("fib {dir}{iface} type"), cx.fam)?;
        let mut keys = Vec::new();
        for i in 0..16u16 {
            if mask & (1 << i) != 0 {
                keys.push(num(&left, i.into())?);
            }
        }
        let right = match keys.len() {
            0 => return Err(Unsupported::new("addrtype: empty type list")),
            1 => keys.remove(0),
            _ => set_of(&left, keys),
        };
        out.push(cmp(left, invert, right));
    }
    Ok(out)
}

pub fn dscp(d: &Dscp, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![cmp_range(
        sel(&format!("{} dscp", cx.ip_word()), cx.fam)?,
        d.invert,
        d.dscp.into(),
        d.dscp.into(),
    )?])
}

/// The whole TOS / traffic class byte as a raw network-header field (`@nh,8,8`; IPv6's
/// traffic class straddles bytes 0 and 1: `@nh,4,8`).
pub fn tos_field(fam: Family) -> LResult<Expr> {
    sel(if fam == Family::Ip6 { "@nh,4,8" } else { "@nh,8,8" }, fam)
}

pub fn tos(t: &Tos, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![masked_cmp(tos_field(cx.fam)?, t.mask.into(), t.value.into(), t.invert)?])
}

pub fn ecn(e: &Ecn, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    if let Some(inv) = e.tcp_ece {
        out.push(flags(sel("tcp flags", cx.fam)?, 0x40, inv)?);
    }
    if let Some(inv) = e.tcp_cwr {
        out.push(flags(sel("tcp flags", cx.fam)?, 0x80, inv)?);
    }
    if let Some((ect, inv)) = e.ip_ect {
        out.push(cmp_range(sel(&format!("{} ecn", cx.ip_word()), cx.fam)?, inv, ect.into(), ect.into())?);
    }
    Ok(out)
}

pub fn realm(r: &Realm, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![masked_cmp(sel("meta rtclassid", cx.fam)?, r.mask.into(), r.id.into(), r.invert)?])
}

pub fn devgroup(d: &Devgroup, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    for (meta, g) in [("meta iifgroup", &d.src), ("meta oifgroup", &d.dst)] {
        if let Some(g) = g {
            let (id, mask) = g.value;
            out.push(masked_cmp(sel(meta, cx.fam)?, mask.into(), id.into(), g.invert)?);
        }
    }
    Ok(out)
}

pub fn cpu(c: &Cpu, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![cmp_range(sel("meta cpu", cx.fam)?, c.invert, c.cpu.into(), c.cpu.into())?])
}

pub fn cgroup(c: &Cgroup, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    if c.path.is_some() {
        return Err(Unsupported::new("cgroup --path (cgroup v2) cannot be expressed yet"));
    }
    let mut out = Vec::new();
    if let Some(id) = &c.classid {
        out.push(cmp_range(sel("meta cgroup", cx.fam)?, id.invert, id.value.into(), id.value.into())?);
    }
    Ok(out)
}

pub fn mark(m: &MarkMatch, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![masked_cmp(sel("meta mark", cx.fam)?, m.mask.into(), m.mark.into(), m.invert)?])
}
