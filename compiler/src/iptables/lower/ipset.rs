//! `-m set [!] --match-set NAME FLAGS`: a lookup in the named nft set that
//! [`crate::ipset::to_nft`] makes of the ipset, declared in the rule's table.

use super::expr::never;
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::ipset::to_nft::{Lookup, lookup};
use crate::iptables::matches::set::SetMatch;
use crate::ir::{Expr, ExprKind, MatchOp, Stmt};

pub fn set_match(m: &SetMatch, cx: &mut Mcx<'_>) -> LResult<Vec<Stmt>> {
    if m.packets.is_some() || m.bytes.is_some() {
        return Err(Unsupported::new("--packets-*/--bytes-* (ipset entry counters) are not supported yet"));
    }
    let ipsets = std::sync::Arc::clone(&cx.lw.ipsets);
    let set = ipsets.get(&m.name).ok_or_else(|| {
        Unsupported::new(format!("Set {} doesn't exist (give the ipset file with --ipset FILE)", m.name))
    })?;
    let turned = m.return_nomatch && set.ty.dims.contains(&crate::ipset::Dim::Net);
    match lookup(set, &m.dims, cx.fam, m.return_nomatch).map_err(Unsupported::new)? {
        Lookup::Never(why) => {
            cx.notes.push(format!("{why}: `--match-set {}` never matches, as in the kernel", m.name));
            if m.invert { Ok(vec![]) } else { Ok(vec![never(cx.fam)?]) }
        }
        Lookup::Member { key, mut set } => {
            // With --return-nomatch the entries turn around: other members, another name.
            if turned {
                set.name = format!("{}.return-nomatch", set.name);
            }
            let name = set.name.clone();
            if !cx.lw.extra_sets.iter().any(|s| s.name == name) {
                cx.lw.extra_sets.push(*set);
            }
            let right = Expr::new(ExprKind::SetRef(name), key.ty, key.bits, key.order);
            Ok(vec![Stmt::matches(key, if m.invert { MatchOp::Ne } else { MatchOp::Eq }, right)])
        }
    }
}
