//! `-m ipv6header`: the kernel's xt match itself, as iptables-nft loads it (nft's `exthdr`
//! tests one header at a time; this compares the whole chain's set of headers, and drops
//! packets whose chain is cut short). Both engines run it.

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::ipv6ext::Ipv6header;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipv6header::Ipv6Header;
use nftvm_vm::expr::xt::XtMatch;

pub fn ipv6header(m: &Ipv6header, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let x = Ipv6Header { headers: m.headers, invert: if m.invert { 0xff } else { 0 }, soft: m.soft };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Ipv6Header(x)))])
}
