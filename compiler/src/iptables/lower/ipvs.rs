//! `-m ipvs`: the kernel's xt match itself (xt_ipvs), as iptables-nft loads it. nftvm has no
//! IPVS, so the match answers as the kernel does for packets no IPVS connection handled
//! (see `nftvm_vm::expr::ipvs`); it turns conntrack on, as the kernel's does. Both engines
//! run it.

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::ipvs::{Ipvs, IpvsMethod};
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipvs::{Ipvs as XtIpvs, test_bits};
use nftvm_vm::expr::xt::XtMatch;
use std::net::IpAddr;

/// The kernel's `IP_VS_CONN_F_*` number of a forwarding method.
fn method_number(m: IpvsMethod) -> u32 {
    match m {
        IpvsMethod::Masq => 0,
        IpvsMethod::Ipip => 2,
        IpvsMethod::Gate => 3,
    }
}

pub fn ipvs(p: &Ipvs, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut m = XtIpvs::default();
    if let Some(invert) = p.ipvs {
        m.tests.make(test_bits::IPVS_PROPERTY, invert);
    }
    if let Some(v) = &p.vproto {
        m.tests.make(test_bits::PROTO, v.invert);
        m.l4proto = v.value;
    }
    if let Some(v) = &p.vaddr {
        m.tests.make(test_bits::VADDR, v.invert);
        m.vaddr = Some((IpAddr::from(v.value.addr), IpAddr::from(v.value.mask)));
    }
    if let Some(v) = &p.vport {
        m.tests.make(test_bits::VPORT, v.invert);
        m.vport = v.value;
    }
    // `--vdir REPLY` is the direction test inverted, as libxt_ipvs stores it.
    if let Some(reply) = p.vdir_reply {
        m.tests.make(test_bits::DIR, reply);
    }
    if let Some(v) = &p.vmethod {
        m.tests.make(test_bits::METHOD, v.invert);
        m.method = method_number(v.value);
    }
    if let Some(v) = &p.vportctl {
        m.tests.make(test_bits::VPORTCTL, v.invert);
        m.vportctl = v.value;
    }
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Ipvs(m)))])
}
