//! IPv6 extension headers: `frag`, `rt`, `hbh`/`dst` and `mh`, each the kernel's xt match
//! (which nftvm runs too), as ip6tables-nft loads them.

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::ipv6ext::{Frag, Mh, Opts, Rt};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::fragmatch::FragMatch;
use nftvm_vm::expr::ipv6opts::{ANY_LEN, OptsMatch};
use nftvm_vm::expr::mhmatch::MhMatch;
use nftvm_vm::expr::rtmatch::RtMatch;
use nftvm_vm::expr::xt::XtMatch;

const FULL32: u64 = u32::MAX as u64;

/// `-m frag`: the kernel's match itself (see `nftvm_vm::expr::fragmatch`), as ip6tables-nft
/// loads it — it drops packets whose fragment header (or a header before it) is cut short,
/// which nft's `frag` expressions would only not match.
pub fn frag(f: &Frag, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let clamp = |v: u64| v.min(FULL32) as u32;
    let m = FragMatch {
        ids: (clamp(f.id.value.lo), clamp(f.id.value.hi)),
        invert_ids: f.id.invert,
        len: f.len.as_ref().map(|l| l.value),
        res: f.res,
        first: f.first,
        more: f.more,
        last: f.last,
    };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Frag(m)))])
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
