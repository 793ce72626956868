//! Other matches: `owner`, `rpfilter`, `socket`, `time`, `tcpmss`.

use super::expr::{cmp, cmp_range, num, sel, set_of, value_or_range};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::misc::{Rpfilter, Socket, TcpmssMatch};
use crate::iptables::matches::owner::Owner;
use crate::iptables::matches::time::{ALL_MONTHDAYS, ALL_WEEKDAYS, MAX_DAYTIME, Time};
use crate::ir::{MatchOp, Stmt, StmtKind, Write};
use nftvm_vm::expr::time_match::TimeMatch;
use nftvm_vm::expr::xt::XtMatch;

pub fn owner(o: &Owner, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    if o.socket_exists.is_some() || o.suppl_groups {
        return Err(Unsupported::new("owner: --socket-exists and --suppl-groups cannot be expressed"));
    }
    let mut out = Vec::new();
    for (words, id) in [("meta skuid", &o.uid), ("meta skgid", &o.gid)] {
        if let Some(id) = id {
            out.push(cmp_range(sel(words, cx.fam)?, id.invert, id.value.0.into(), id.value.1.into())?);
        }
    }
    Ok(out)
}

pub fn rpfilter(r: &Rpfilter, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    if r.accept_local {
        if !r.invert {
            return Err(Unsupported::new(
                "rpfilter --accept-local (local source OR valid path) cannot be expressed",
            ));
        }
        let left = sel("fib saddr type", cx.fam)?;
        let right = num(&left, 2)?; // RTN_LOCAL
        out.push(cmp(left, true, right));
    }
    let mut words = String::from("fib saddr");
    if r.validmark {
        words.push_str(" . mark");
    }
    if !r.loose {
        words.push_str(" . iif");
    }
    words.push_str(" oif");
    let left = sel(&words, cx.fam)?;
    let zero = num(&left, 0)?;
    out.push(cmp(left, !r.invert, zero));
    Ok(out)
}

pub fn socket(s: &Socket, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    if s.nowildcard && !s.transparent && !s.restore_skmark {
        let left = sel("socket wildcard", cx.fam)?;
        let one = num(&left, 1)?;
        return Ok(vec![Stmt::matches(left, MatchOp::Le, one)]);
    }
    if !s.nowildcard {
        let left = sel("socket wildcard", cx.fam)?;
        let zero = num(&left, 0)?;
        out.push(cmp(left, false, zero));
    }
    if s.transparent {
        let left = sel("socket transparent", cx.fam)?;
        let one = num(&left, 1)?;
        out.push(cmp(left, false, one));
    }
    if s.restore_skmark {
        let target = sel("meta mark", cx.fam)?;
        let value = sel("socket mark", cx.fam)?;
        out.push(Stmt::new(StmtKind::Write(Write { target, value })));
    }
    Ok(out)
}

pub fn time(t: &Time, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    let wraps = t.daytime_start > t.daytime_stop;
    if t.monthdays != ALL_MONTHDAYS || wraps && t.contiguous && t.weekdays != ALL_WEEKDAYS {
        // No nft expression reads the day of the month, or moves the weekday back for the
        // early hours of a contiguous range: the kernel's match itself.
        let m = TimeMatch {
            date_start: t.date_start,
            date_stop: t.date_stop,
            daytime_start: t.daytime_start,
            daytime_stop: t.daytime_stop,
            monthdays: t.monthdays,
            weekdays: t.weekdays,
            local_tz: t.kernel_tz,
            contiguous: t.contiguous,
        };
        return Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Time(m)))]);
    }
    if t.date_start != 0 || t.date_stop != i32::MAX as u32 {
        const NS: u128 = 1_000_000_000;
        let left = sel("meta time", cx.fam)?;
        let (lo, hi) = (u128::from(t.date_start) * NS, u128::from(t.date_stop) * NS + NS - 1);
        out.push(cmp_range(left, false, lo, hi)?);
    }
    let (start, stop) = (t.daytime_start, t.daytime_stop);
    if start != 0 || stop != MAX_DAYTIME {
        let left = sel("meta hour", cx.fam)?;
        if start <= stop {
            out.push(cmp_range(left, false, start.into(), stop.into())?);
        } else if stop + 1 < start {
            // Wraps around midnight: anything but (stop, start).
            out.push(cmp_range(left, true, (stop + 1).into(), (start - 1).into())?);
        }
    }
    if t.weekdays != ALL_WEEKDAYS {
        let left = sel("meta day", cx.fam)?;
        let mut keys = Vec::new();
        for i in 1..=7u8 {
            if t.weekdays & (1 << i) != 0 {
                keys.push(num(&left, u128::from(i % 7))?);
            }
        }
        let right = match keys.len() {
            0 => return Err(Unsupported::new("time: no weekday left")),
            1 => keys.remove(0),
            _ => set_of(&left, keys),
        };
        out.push(cmp(left, false, right));
    }
    Ok(out)
}

pub fn tcpmss(m: &TcpmssMatch, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let left = sel("tcp option maxseg size", cx.fam)?;
    let right = value_or_range(&left, m.range.lo.into(), m.range.hi.into())?;
    Ok(vec![cmp(left, m.invert, right)])
}
