//! Rate and volume matches: `limit`, `hashlimit`, `quota`, `statistic` (libxt_limit,
//! libxt_hashlimit, libxt_quota, libxt_statistic).

use super::buf::{Xl, xadd};
use super::{Cx, NoXlate, XResult};
use crate::iptables::Family;
use crate::iptables::matches::hashlimit::{Hashlimit, SCALE as HL_SCALE, byte_rate_unit, hl_mode, size_unit};
use crate::iptables::matches::limit::{LIMIT_SCALE, Limit, rate_per_unit};
use crate::iptables::matches::misc::{Quota, Statistic, StatisticMode};
use crate::ir::LimitUnit;

/// `N/unit` for a packet interval `period > 0` in `1/scale` s, as nft names the unit.
fn rate(period: u64, scale: u64) -> String {
    let (count, unit) = rate_per_unit(period, scale);
    format!("{count}/{}", LimitUnit::word_of(unit))
}

pub fn limit(l: &Limit, xl: &mut Xl) -> XResult {
    xl.add("limit rate");
    if l.avg == 0 {
        xl.add(" inf");
    } else {
        xadd!(xl, " {}", rate(u64::from(l.avg), u64::from(LIMIT_SCALE)));
    }
    if l.burst != 0 {
        xadd!(xl, " burst {} packets", l.burst);
    }
    Ok(())
}

/// ` and 255.255.255.0` / ` and ffff:ffff:ff00:0000:…` (libxt_hashlimit's own format).
fn subnet(xl: &mut Xl, mut nsub: u32, family: Family) {
    let (sep, blocks, bits) = match family {
        Family::Ipv4 => ('.', 4, 8),
        Family::Ipv6 => (':', 8, 16),
    };
    xl.add(" and ");
    for b in 0..blocks {
        let mut acc: u32 = 0;
        for _ in 0..bits {
            acc <<= 1;
            if nsub > 0 {
                acc += 1;
                nsub -= 1;
            }
        }
        match family {
            Family::Ipv4 => xl.add_nospc(&acc.to_string()),
            Family::Ipv6 => xl.add_nospc(&format!("{acc:04x}")),
        }
        if b + 1 < blocks {
            xl.add(&sep.to_string());
        }
    }
}

pub fn hashlimit(h: &Hashlimit, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let family = cx.family;
    let full = u32::from(family.addr_bits());
    let (daddr, saddr) = match family {
        Family::Ipv4 => ("ip daddr", "ip saddr"),
        Family::Ipv6 => ("ip6 daddr", "ip6 saddr"),
    };
    xadd!(xl, "meter {} {{", h.name);
    let mut keyed = false;
    for (bit, key) in [
        (hl_mode::HASH_DIP, daddr),
        (hl_mode::HASH_DPT, "tcp dport"),
        (hl_mode::HASH_SIP, saddr),
        (hl_mode::HASH_SPT, "tcp sport"),
    ] {
        if h.mode & bit == 0 {
            continue;
        }
        xl.add(if keyed { " . " } else { " " });
        keyed = true;
        xl.add(key);
        if bit == hl_mode::HASH_DIP && u32::from(h.dstmask) != full {
            subnet(xl, u32::from(h.dstmask), family);
        } else if bit == hl_mode::HASH_SIP && u32::from(h.srcmask) != full {
            subnet(xl, u32::from(h.srcmask), family);
        }
    }
    if h.mode & (hl_mode::HASH_DPT | hl_mode::HASH_SPT) != 0 && cx.ip.positive_proto() != Some(6) {
        xl.note(
            "iptables-translate keys hashlimit's port modes on `tcp dport`/`tcp sport` whatever the protocol",
        );
    }
    if h.expire != 1000 {
        xadd!(xl, " timeout {}s", h.expire / 1000);
    }
    xl.add(" limit rate");
    if h.mode & hl_mode::INVERT != 0 {
        xl.add(" over");
    }
    if h.mode & hl_mode::BYTES != 0 {
        bytes_rate(xl, h.avg, h.burst);
    } else {
        if h.avg == 0 {
            return Err(NoXlate::new("hashlimit: a zero rate has no nft translation"));
        }
        xadd!(xl, " {} ", rate(h.avg, HL_SCALE));
        if h.burst != 5 {
            xadd!(xl, "burst {} packets", h.burst);
        }
    }
    xl.add("}");
    if !keyed {
        return Err(NoXlate::new("hashlimit: without --hashlimit-mode there is no nft translation"));
    }
    Ok(())
}

/// ` 20 kbytes/second burst 1 mbytes`.
fn bytes_rate(xl: &mut Xl, avg: u64, burst: u64) {
    let (r, (prefix, unit)) = byte_rate_unit(avg);
    xadd!(xl, " {} {prefix}bytes/second", r / unit);
    if burst > 0 {
        let total = r.wrapping_mul(burst);
        let (burst_prefix, burst_unit) = size_unit(total);
        xadd!(xl, " burst {} {burst_prefix}bytes", total / burst_unit);
    }
}

pub fn quota(q: &Quota, xl: &mut Xl) -> XResult {
    xadd!(xl, "quota {}{} bytes", if q.invert { "over " } else { "" }, q.quota);
    Ok(())
}

pub fn statistic(s: &Statistic, xl: &mut Xl) -> XResult {
    match s.mode {
        StatisticMode::Random => {
            xadd!(xl, "meta random & {} {} {}", i32::MAX, if s.invert { ">=" } else { "<" }, s.probability)
        }
        StatisticMode::Nth => {
            xadd!(xl, "numgen inc mod {} {}{}", s.every, if s.invert { "!= " } else { "" }, s.packet)
        }
    }
    Ok(())
}
