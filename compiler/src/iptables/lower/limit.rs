//! Rates and volumes: `limit`, `hashlimit`, `quota`, `statistic`.

use super::expr::{num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::hashlimit::{Hashlimit, SCALE as HL_SCALE, byte_rate_unit, hl_mode, size_unit};
use crate::iptables::matches::limit::{LIMIT_SCALE, Limit as XtLimit, rate_per_unit};
use crate::iptables::matches::misc::{Quota as XtQuota, Statistic, StatisticMode};
use crate::iptables::values::addr::Addr;
use crate::ir::build::concat;
use crate::ir::{BinOp, ExprKind, Limit, MatchOp, Meter, Quota, Stmt, StmtKind};

pub fn limit(l: &XtLimit) -> LResult<Vec<Stmt>> {
    if l.avg == 0 {
        return Err(Unsupported::new("limit: an infinite rate cannot be expressed"));
    }
    let (n, unit) = rate_per_unit(l.avg.into(), LIMIT_SCALE.into());
    Ok(vec![Stmt::new(StmtKind::Limit(Limit { rate: n, unit, burst: l.burst, bytes: false, over: false }))])
}

pub fn hashlimit(h: &Hashlimit, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let over = h.mode & hl_mode::INVERT != 0;
    let lim = if h.mode & hl_mode::BYTES != 0 {
        let (per_sec, burst) = byte_rate(h.avg, h.burst);
        Limit { rate: per_sec, unit: 1, burst: u32::try_from(burst).unwrap_or(u32::MAX), bytes: true, over }
    } else {
        if h.avg == 0 {
            return Err(Unsupported::new("hashlimit: a zero interval cannot be expressed"));
        }
        let (n, unit) = rate_per_unit(h.avg, HL_SCALE);
        Limit { rate: n, unit, burst: u32::try_from(h.burst).unwrap_or(u32::MAX), bytes: false, over }
    };
    let limit = Stmt::new(StmtKind::Limit(lim));
    let ipw = cx.ip_word();
    let port_proto = match cx.proto() {
        Some(6) => "tcp",
        Some(17) => "udp",
        Some(132) => "sctp",
        Some(33) => "dccp",
        Some(136) => "udplite",
        _ => "th",
    };
    let mut parts = Vec::new();
    for (bit, words, mask) in [
        (hl_mode::HASH_DIP, format!("{ipw} daddr"), Some(h.dstmask)),
        (hl_mode::HASH_DPT, format!("{port_proto} dport"), None),
        (hl_mode::HASH_SIP, format!("{ipw} saddr"), Some(h.srcmask)),
        (hl_mode::HASH_SPT, format!("{port_proto} sport"), None),
    ] {
        if h.mode & bit == 0 {
            continue;
        }
        let mut e = sel(&words, cx.fam)?;
        if let Some(len) = mask
            && len != cx.ipt.addr_bits()
        {
            let m = super::expr::addr_value(&e, &Addr::prefix_mask(cx.ipt, len))?;
            e = e.binary(BinOp::And, m);
        }
        parts.push(e);
    }
    if parts.is_empty() {
        // One bucket for every packet.
        return Ok(vec![limit]);
    }
    let key = if parts.len() == 1 { parts.remove(0) } else { concat(parts) };
    let size = if h.size == 0 { 65535 } else { h.size };
    Ok(vec![Stmt::new(StmtKind::Meter(Meter { name: h.name.clone(), size, key, stmt: Box::new(limit) }))])
}

/// A byte rate and burst as iptables states them (`20kb/s`, burst `1mb`): the kernel's
/// per-byte cost rounded to the unit that reproduces it.
fn byte_rate(avg: u64, burst: u64) -> (u64, u64) {
    let (r, (_, unit)) = byte_rate_unit(avg);
    let total = r.saturating_mul(burst);
    let (_, burst_unit) = size_unit(total);
    (r / unit * unit, total / burst_unit * burst_unit)
}

pub fn quota(q: &XtQuota) -> LResult<Vec<Stmt>> {
    Ok(vec![Stmt::new(StmtKind::Quota(Quota { bytes: q.quota, used: 0, over: q.invert }))])
}

pub fn statistic(s: &Statistic, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    match s.mode {
        StatisticMode::Random => {
            // Match when (random & 0x7fffffff) < probability (scaled by 2^31).
            let r = sel("meta random", cx.fam)?;
            let mask = num(&r, 0x7fff_ffff)?;
            let p = num(&r, s.probability.into())?;
            let op = if s.invert { MatchOp::Ge } else { MatchOp::Lt };
            Ok(vec![Stmt::matches(r.binary(BinOp::And, mask), op, p)])
        }
        StatisticMode::Nth => {
            if s.every == 0 {
                return Err(Unsupported::new("statistic: --every 0"));
            }
            let mut g = sel("numgen inc", cx.fam)?;
            if let ExprKind::Numgen(n) = &mut g.kind {
                n.modulus = s.every;
            }
            // The kernel counter runs 1, 2, …, every-1, 0; numgen inc runs 0, 1, ….
            let phase = (u64::from(s.packet) + u64::from(s.every) - 1) % u64::from(s.every);
            let v = num(&g, phase.into())?;
            Ok(vec![super::expr::cmp(g, s.invert, v)])
        }
    }
}
