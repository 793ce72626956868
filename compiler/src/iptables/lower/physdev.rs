//! `-m physdev`: the kernel's xt match itself (xt_physdev), as iptables-nft loads it. nftvm
//! bridges no packet, so the match answers as the kernel does for routed packets (see
//! `nftvm_vm::expr::physdev`). Both engines run it.

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::physdev::Physdev;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::physdev::{Physdev as XtPhysdev, test_bits};
use nftvm_vm::expr::xt::XtMatch;

pub fn physdev(p: &Physdev, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut m = XtPhysdev::default();
    if let Some(i) = &p.physdev_in {
        m.tests.make(test_bits::IN, i.invert);
    }
    if let Some(o) = &p.physdev_out {
        m.tests.make(test_bits::OUT, o.invert);
    }
    for (which, given) in
        [(test_bits::IS_IN, p.is_in), (test_bits::IS_OUT, p.is_out), (test_bits::BRIDGED, p.is_bridged)]
    {
        if let Some(invert) = given {
            m.tests.make(which, invert);
        }
    }
    m.port_in = p.physdev_in.as_ref().map(|i| i.value.clone()).unwrap_or_default();
    m.port_out = p.physdev_out.as_ref().map(|o| o.value.clone()).unwrap_or_default();
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Physdev(m)))])
}
