//! `-m bpf --bytecode`: the kernel's xt match itself (xt_bpf), as iptables-nft loads it — a
//! classic BPF filter over the packet from its network header. Both engines run it; a
//! program the kernel's checker refuses, or one that reads ancillary data, is refused here.
//! `--object-pinned` names an eBPF program in the kernel, which nftvm cannot load.

use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::u32bpf::Bpf;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::bpf::BpfMatch;
use nftvm_vm::expr::xt::XtMatch;

pub fn bpf(b: &Bpf, _cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    if let Some(path) = &b.pinned {
        return Err(Unsupported::new(format!("bpf --object-pinned {path}: eBPF programs cannot be loaded")));
    }
    let m = BpfMatch { program: b.program.clone() };
    m.validate().map_err(Unsupported::new)?;
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Bpf(m)))])
}
