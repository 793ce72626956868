//! IPv6 extension headers: `frag`, `rt`, `hbh`/`dst`, `mh` (nft expressions), and `hbh`/`dst`
//! option lists (the kernel's xt match, which nftvm runs too).

use super::LResult;
use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipv6opts::{ANY_LEN, OptsMatch};
use nftvm_vm::expr::mhmatch::MhMatch;
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
    if s.invert || s.value.lo != 0 || s.value.hi != FULL32 {
        m.tests.make(bits::SEGSLEFT, s.invert);
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

/// `-m hbh`/`-m dst`: the kernel's match itself (see `nftvm_vm::expr::ipv6opts`), as
/// ip6tables-nft loads it — nft's exthdr cannot test a list of options in order, and does
/// not drop a packet whose header claims more bytes than it has, as the match does.
pub fn opts(o: &Opts, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let m = OptsMatch {
        dst: o.dst,
        len: o.len.as_ref().map(|l| (l.value, l.invert)),
        opts: o
            .opts
            .as_ref()
            .map(|opts| opts.iter().map(|s| (s.opt_type, s.len.unwrap_or(ANY_LEN))).collect()),
    };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Opts(m)))])
}

/// `-m mh`: the kernel's match itself (see `nftvm_vm::expr::mhmatch`), as ip6tables-nft
/// loads it — it drops Mobility Headers cut short or with a payload protocol, which nft's
/// `mh type` would match.
pub fn mh(m: &Mh, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let m = MhMatch { types: m.types.value, invert: m.types.invert };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Mh(m)))])
}
