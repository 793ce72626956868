//! `-m string`: the kernel's xt match itself, as iptables-nft loads it (nft has no payload
//! search). Both engines run it (`match name string` in the bytecode).

use super::LResult;
use super::rule::Mcx;
use crate::iptables::matches::string::StringMatch;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::string::StringMatch as VmString;
use nftvm_vm::expr::xt::XtMatch;

pub fn string(m: &StringMatch, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::String(VmString {
        algo: m.algo.clone(),
        from: m.from,
        to: m.to,
        pattern: m.pattern.clone(),
        icase: m.icase,
        invert: m.invert,
    })))])
}
