//! `-m recent`: the kernel's xt match itself, as iptables-nft loads it (nft has no
//! equivalent: a rate limit forgets which packets it counted, a meter keeps no times).
//! Both engines run it (`match name recent` in the bytecode).

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::recent::{Recent, RecentOp};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::recent::{Recent as VmRecent, RecentCmd};
use nftvm_vm::expr::xt::XtMatch;

pub fn recent(r: &Recent, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut mask = [0u8; 16];
    for (m, b) in mask.iter_mut().zip(r.mask.octets()) {
        *m = b;
    }
    let cmd = match r.op {
        RecentOp::Set => RecentCmd::Set,
        RecentOp::Rcheck => RecentCmd::Check,
        RecentOp::Update => RecentCmd::Update,
        RecentOp::Remove => RecentCmd::Remove,
    };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Recent(VmRecent {
        list: r.name.clone(),
        cmd,
        seconds: r.seconds,
        hitcount: r.hitcount,
        reap: r.reap,
        ttl: r.rttl,
        dest: !r.source,
        mask,
        invert: r.invert,
    })))])
}
