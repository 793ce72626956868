//! Connection tracking matches: `conntrack`, `state`, `helper`, `connbytes`, `connlabel`,
//! `connlimit`, `connmark`, `cluster`.

use super::expr::{addr_match, cmp, cmp_range, flags, masked_cmp, num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::conn::{Cluster, Connbytes, ConnbytesDir, ConnbytesMode, Connlabel};
use crate::iptables::matches::connlimit::Connlimit;
use crate::iptables::matches::conntrack::{Conntrack, CtDir, State, ct_state};
use crate::iptables::matches::helper::Helper;
use crate::iptables::matches::mark::Connmark;
use crate::ir::{BinOp, MatchOp, Stmt, StmtKind, Write};
use nftvm_vm::expr::cluster::Cluster as XtCluster;
use nftvm_vm::expr::xt::XtMatch;
use nftvm_vm::expr::xt_connlimit::XtConnlimit;
use nftvm_vm::expr::xt_helper::XtHelper;
use nftvm_vm::keys::{ct_state as nft_state, ct_status};

/// xt state bits → nft `ct state` bits; the NAT bits are `ct status` bits.
fn split_states(xt: u16) -> (u32, u32) {
    let mut state = 0;
    let mut status = 0;
    for (x, n) in [
        (ct_state::INVALID, nft_state::INVALID),
        (ct_state::ESTABLISHED, nft_state::ESTABLISHED),
        (ct_state::RELATED, nft_state::RELATED),
        (ct_state::NEW, nft_state::NEW),
        (ct_state::UNTRACKED, nft_state::UNTRACKED),
    ] {
        if xt & x != 0 {
            state |= n;
        }
    }
    if xt & ct_state::SNAT != 0 {
        status |= ct_status::SRC_NAT;
    }
    if xt & ct_state::DNAT != 0 {
        status |= ct_status::DST_NAT;
    }
    (state, status)
}

/// `ct state …` (or `ct status snat|dnat` for the NAT pseudo-states).
fn state_test(cx: &Mcx<'_>, xt: u16, invert: bool) -> LResult<Stmt> {
    match split_states(xt) {
        (state, 0) => flags(sel("ct state", cx.fam)?, state.into(), invert),
        (0, status) => flags(sel("ct status", cx.fam)?, status.into(), invert),
        _ => Err(Unsupported::new("a --ctstate list mixing SNAT/DNAT with other states cannot be expressed")),
    }
}

pub fn state(s: &State, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![state_test(cx, s.states.value, s.states.invert)?])
}

pub fn conntrack(c: &Conntrack, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    let fam = cx.fam;
    if let Some(s) = &c.state {
        out.push(state_test(cx, s.value, s.invert)?);
    }
    if let Some(p) = &c.proto {
        out.push(cmp_range(sel("ct original protocol", fam)?, p.invert, p.value.into(), p.value.into())?);
    }
    for (words, a) in [
        ("ct original saddr", &c.orig_src),
        ("ct original daddr", &c.orig_dst),
        ("ct reply saddr", &c.repl_src),
        ("ct reply daddr", &c.repl_dst),
    ] {
        if let Some(a) = a {
            out.push(addr_match(sel(words, fam)?, a)?);
        }
    }
    for (words, p) in [
        ("ct original proto-src", &c.orig_src_port),
        ("ct original proto-dst", &c.orig_dst_port),
        ("ct reply proto-src", &c.repl_src_port),
        ("ct reply proto-dst", &c.repl_dst_port),
    ] {
        if let Some(p) = p {
            out.push(cmp_range(sel(words, fam)?, p.invert, p.value.lo.into(), p.value.hi.into())?);
        }
    }
    if let Some(st) = &c.status {
        out.push(flags(sel("ct status", fam)?, st.value.into(), st.invert)?);
    }
    if let Some(e) = &c.expire {
        // Seconds left, truncated, in [lo, hi]: milliseconds in [lo*1000, hi*1000+999].
        let left = sel("ct expiration", fam)?;
        let max = u128::from(u32::MAX);
        let lo = (u128::from(e.value.lo) * 1000).min(max);
        let hi = (u128::from(e.value.hi) * 1000 + 999).min(max);
        out.push(cmp_range(left, e.invert, lo, hi)?);
    }
    if let Some(d) = c.dir {
        let left = sel("ct direction", fam)?;
        let right = num(&left, u128::from(d == CtDir::Reply))?;
        out.push(cmp(left, false, right));
    }
    Ok(out)
}

/// The kernel's xt_helper (iptables-nft loads `-m helper` as it): the master's helper,
/// the name a prefix match, `!` also taking packets without one — not nft's `ct helper`.
pub fn helper(h: &Helper, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let m = XtHelper { name: h.name.clone(), invert: h.invert };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Helper(m)))])
}

pub fn connmark(m: &Connmark, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![masked_cmp(sel("ct mark", cx.fam)?, m.0.mask.into(), m.0.mark.into(), m.0.invert)?])
}

pub fn connbytes(c: &Connbytes, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let what = match c.mode {
        ConnbytesMode::Packets => "packets",
        ConnbytesMode::Bytes => "bytes",
        ConnbytesMode::AvgPkt => "avgpkt",
    };
    let words = match c.dir {
        ConnbytesDir::Original => format!("ct original {what}"),
        ConnbytesDir::Reply => format!("ct reply {what}"),
        ConnbytesDir::Both => format!("ct {what}"),
    };
    let left = sel(&words, cx.fam)?;
    let (from, to, invert) = c.range();
    if to == u64::MAX && from != to {
        let right = num(&left, from.into())?;
        return Ok(vec![Stmt::matches(left, if invert { MatchOp::Lt } else { MatchOp::Ge }, right)]);
    }
    Ok(vec![cmp_range(left, invert, from.into(), to.into())?])
}

pub fn connlabel(c: &Connlabel, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let left = sel("ct label", cx.fam)?;
    let bit = 1u128.checked_shl(c.bit).ok_or_else(|| Unsupported::new("connlabel bit out of range"))?;
    let mut out = Vec::new();
    if c.set {
        let value = num(&left, bit)?;
        out.push(Stmt::new(StmtKind::Write(Write { target: left.clone(), value })));
    }
    if c.invert {
        // As iptables-translate writes it (`ct label and 41 != 41`): one label is one bit,
        // so this is the same test as "bit clear".
        let mask = num(&left, bit)?;
        out.push(Stmt::matches(left.binary(BinOp::And, mask.clone()), MatchOp::Ne, mask));
    } else {
        out.push(flags(left, bit, false)?);
    }
    Ok(out)
}

/// `-m connlimit`: the kernel's xt match itself (see `nftvm_vm::expr::xt_connlimit`), which
/// counts as nft's per-element `ct count` (what iptables-translate writes) does for new
/// connections but also counts an established one the first time it sees its address
/// group, and drops a packet whose group then counts nothing.
pub fn connlimit(c: &Connlimit) -> LResult<Vec<Stmt>> {
    let m = XtConnlimit { limit: c.limit, upto: c.upto, daddr: c.daddr, mask_len: c.mask_len, slot: 0 };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Connlimit(m)))])
}

/// `-m cluster`: the kernel's xt match itself (see `nftvm_vm::expr::cluster`); nft's
/// `jhash ct original saddr` rule that iptables-translate writes hashes the address
/// differently for an expected connection (not its master's) and cannot invert.
pub fn cluster(c: &Cluster) -> LResult<Vec<Stmt>> {
    let m = XtCluster {
        total_nodes: c.total_nodes,
        node_mask: c.node_mask,
        hash_seed: c.hash_seed,
        invert: c.invert,
    };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Cluster(m)))])
}
