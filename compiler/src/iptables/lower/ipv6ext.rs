//! IPv6 extension headers: `frag`, `rt`, `hbh`/`dst`, `mh` (nft expressions), and `hbh`/`dst`
//! option lists (the kernel's xt match, which nftvm runs too).

use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipv6opts::{ANY_LEN, OptsMatch};
use nftvm_vm::expr::xt::XtMatch;

const FULL32: u64 = u32::MAX as u64;

fn eq(words: &str, v: u128, cx: &Mcx<'_>) -> LResult<Stmt> {
    let left = sel(words, cx.fam)?;
    let right = num(&left, v)?;
    Ok(cmp(left, false, right))
}

/// `exthdr NAME exists`.
fn exists(name: &str, cx: &Mcx<'_>) -> LResult<Stmt> {
    eq(&format!("exthdr {name}"), 1, cx)
}

/// `NAME hdrlength [!=] L` for a length in bytes (the field holds 8-octet units minus one).
/// A length no header can have never matches; negated, it matches every such header.
fn hdrlen(name: &str, bytes: u32, invert: bool, cx: &Mcx<'_>) -> LResult<Stmt> {
    if !bytes.is_multiple_of(8) || !(8..=2048).contains(&bytes) {
        return if invert { exists(name, cx) } else { super::expr::never(cx.fam) };
    }
    let left = sel(&format!("{name} hdrlength"), cx.fam)?;
    let right = num(&left, u128::from(bytes / 8 - 1))?;
    Ok(cmp(left, invert, right))
}

pub fn frag(f: &Frag, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    let id = &f.id;
    if !(id.value.lo == 0 && id.value.hi == FULL32 && !id.invert) {
        out.push(cmp_range(sel("frag id", cx.fam)?, id.invert, id.value.lo.into(), id.value.hi.into())?);
    }
    if f.res {
        // Both reserved fields zero.
        out.push(eq("frag reserved", 0, cx)?);
        out.push(eq("frag reserved2", 0, cx)?);
    }
    if f.first {
        out.push(eq("frag frag-off", 0, cx)?);
    }
    if f.more {
        out.push(eq("frag more-fragments", 1, cx)?);
    }
    if f.last {
        out.push(eq("frag more-fragments", 0, cx)?);
    }
    if out.is_empty() {
        out.push(exists("frag", cx)?);
    }
    Ok(out)
}

pub fn rt(r: &Rt, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    if r.res0 || !r.addrs.is_empty() || r.not_strict {
        return Err(Unsupported::new("rt: type-0 reserved field and address tests cannot be expressed"));
    }
    let mut out = Vec::new();
    if let Some(t) = &r.rt_type {
        out.push(cmp_range(sel("rt type", cx.fam)?, t.invert, t.value.into(), t.value.into())?);
    }
    let s = &r.segsleft;
    if !(s.value.lo == 0 && s.value.hi == FULL32 && !s.invert) {
        let hi = s.value.hi.min(255);
        out.push(cmp_range(sel("rt seg-left", cx.fam)?, s.invert, s.value.lo.into(), hi.into())?);
    }
    if let Some(l) = &r.len {
        out.push(hdrlen("rt", l.value, l.invert, cx)?);
    }
    if out.is_empty() {
        out.push(exists("rt", cx)?);
    }
    Ok(out)
}

pub fn opts(o: &Opts, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let name = if o.dst { "dst" } else { "hbh" };
    if let Some(opts) = &o.opts {
        // nft's exthdr cannot test a list of options in order: the kernel's xt match does.
        let m = OptsMatch {
            dst: o.dst,
            len: o.len.as_ref().map(|l| (l.value, l.invert)),
            opts: Some(opts.iter().map(|s| (s.opt_type, s.len.unwrap_or(ANY_LEN))).collect()),
        };
        return Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Opts(m)))]);
    }
    match &o.len {
        Some(l) => Ok(vec![hdrlen(name, l.value, l.invert, cx)?]),
        None => Ok(vec![exists(name, cx)?]),
    }
}

pub fn mh(m: &Mh, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let (lo, hi) = m.types.value;
    if lo == 0 && hi == 0xFF && !m.types.invert {
        return Ok(vec![exists("mh", cx)?]);
    }
    Ok(vec![cmp_range(sel("mh type", cx.fam)?, m.types.invert, lo.into(), hi.into())?])
}
