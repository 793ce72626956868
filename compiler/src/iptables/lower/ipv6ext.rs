//! IPv6 extension headers: `frag`, `rt`, `hbh`/`dst`, `mh` (nft expressions), and `hbh`/`dst`
//! option lists (the kernel's xt match, which nftvm runs too).

use super::LResult;
use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipv6opts::{ANY_LEN, OptsMatch};
use nftvm_vm::expr::rtmatch::RtMatch;
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

/// `-m rt`: the kernel's match itself (see `nftvm_vm::expr::rtmatch`), as ip6tables-nft
/// loads it — nft's `rt type`/`rt seg-left` cannot test type-0 fields, and know nothing of
/// the match's answers for headers cut short.
pub fn rt(r: &Rt, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    use nftvm_vm::expr::rtmatch::test_bits as bits;
    let s = &r.segsleft;
    let mut m = RtMatch {
        segsleft: (s.value.lo.min(u64::from(u32::MAX)) as u32, s.value.hi.min(u64::from(u32::MAX)) as u32),
        addrs: r.addrs.clone(),
        ..RtMatch::default()
    };
    m.tests.inverted |= if s.invert { bits::SEGSLEFT } else { 0 };
    if s.invert || s.value.lo != 0 || s.value.hi != FULL32 {
        m.tests.made |= bits::SEGSLEFT;
    }
    if let Some(t) = &r.rt_type {
        m.tests.make(bits::TYPE, t.invert);
        m.rt_type = t.value;
    }
    if let Some(l) = &r.len {
        m.tests.make(bits::LEN, l.invert);
        m.hdrlen = l.value;
    }
    if r.res0 {
        m.tests.made |= bits::RES;
    }
    if !r.addrs.is_empty() {
        m.tests.made |= if r.not_strict { bits::ADDRS_NOT_STRICT } else { bits::ADDRS };
    }
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Rt(m)))])
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
