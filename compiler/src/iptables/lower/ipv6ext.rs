//! IPv6 extension headers: `frag`, `rt`, `hbh`/`dst`, `mh`.

use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};
use crate::ir::Stmt;

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

/// A header length in bytes as the 8-octet-units-minus-one field holds it.
fn len_field(bytes: u32, what: &str) -> LResult<u128> {
    if bytes % 8 != 0 || bytes == 0 {
        return Err(Unsupported::new(format!("{what}: a header length of {bytes} bytes cannot occur")));
    }
    Ok(u128::from(bytes / 8 - 1))
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
        let left = sel("rt hdrlength", cx.fam)?;
        let right = num(&left, len_field(l.value, "rt")?)?;
        out.push(cmp(left, l.invert, right));
    }
    if out.is_empty() {
        out.push(exists("rt", cx)?);
    }
    Ok(out)
}

pub fn opts(o: &Opts, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let name = if o.dst { "dst" } else { "hbh" };
    if o.opts.is_some() {
        return Err(Unsupported::new(format!("{name}: option tests cannot be expressed")));
    }
    match &o.len {
        Some(l) => {
            let left = sel(&format!("{name} hdrlength"), cx.fam)?;
            let right = num(&left, len_field(l.value, name)?)?;
            Ok(vec![cmp(left, l.invert, right)])
        }
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
