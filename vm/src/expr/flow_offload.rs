//! `flow_offload`: hand the packet's connection to a flowtable (nft_flow_offload.c,
//! `flow add @f`), whose devices then forward its packets from their ingress hook
//! ([`crate::flowtable`]). The runtime decides whether the connection qualifies — TCP
//! established and assured or UDP, confirmed, no helper, not offloaded yet — and when it
//! does not, the rule breaks (the kernel's `NFT_BREAK`), so what follows in the rule only
//! runs for packets that offloaded their connection.

use crate::interp::Eval;
use crate::keys::Hook;
use crate::program::{FlowtableId, Program};
use crate::text::{asm::Asm, cursor::Cursor, cursor::PResult};
use crate::verify::Check;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub struct FlowOffload {
    pub flowtable: FlowtableId,
}

impl FlowOffload {
    pub(crate) fn print(&self, p: &Program, o: &mut String) {
        let name = p.flowtable(self.flowtable).map_or("?", |f| f.name.as_str());
        let _ = write!(o, "flowtable {name}");
    }

    pub(crate) fn parse(c: &mut Cursor, a: &mut Asm) -> PResult<FlowOffload> {
        c.expect("flowtable")?;
        let name = c.next()?;
        let flowtable = a.flowtable_ref(name)?;
        Ok(FlowOffload { flowtable })
    }

    /// The forward hook only (`nft_flow_offload_validate`), a flowtable of the rule's table.
    pub(crate) fn check(&self, c: &mut Check) -> Result<(), String> {
        let f = c
            .prog
            .flowtable(self.flowtable)
            .ok_or_else(|| format!("reference to missing flowtable #{}", self.flowtable.0))?;
        let own = c.prog.chain(c.chain).map(|ch| ch.table);
        if own != Some(f.table) {
            return Err(format!("flowtable `{}` belongs to another table", f.name));
        }
        c.require_base(&[], &[Hook::Forward], "flow offload")
    }

    pub(crate) fn eval(&self, e: &mut Eval) {
        if !e.env.flow_offload(self.flowtable) {
            e.brk();
        }
    }
}
