//! NAT targets: `SNAT`, `DNAT`, `MASQUERADE`, `REDIRECT` (libxt_NAT). `NETMAP` has no
//! translation in iptables.

use super::buf::{Xl, xadd};
use super::{Cx, NoXlate, XResult};
use crate::iptables::Family;
use crate::iptables::targets::nat::{Nat, NatKind};

pub fn nat(n: &Nat, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    let r = &n.range;
    if r.base_port.is_some() {
        return Err(NoXlate::new("shifted port maps (`a-b/base`) have no nft translation"));
    }
    let brackets = cx.family == Family::Ipv6 && r.ports.is_some();
    let mut range = String::new();
    if let Some((lo, hi)) = &r.addrs {
        if brackets {
            range.push('[');
        }
        range.push_str(&lo.to_string());
        if lo != hi {
            range.push('-');
            range.push_str(&hi.to_string());
        }
        if brackets {
            range.push(']');
        }
    }
    if let Some(p) = &r.ports {
        range.push_str(&format!(":{}", p.lo));
        if p.hi != p.lo {
            range.push_str(&format!("-{}", p.hi));
        }
    }
    xl.add(match n.kind {
        NatKind::Snat => "snat",
        NatKind::Dnat => "dnat",
        NatKind::Masquerade => "masquerade",
        NatKind::Redirect => "redirect",
    });
    if !range.is_empty() {
        xadd!(xl, " to {range}");
    }
    let mut sep = " ";
    for (on, word) in [(r.random, "random"), (r.random_fully, "fully-random"), (r.persistent, "persistent")] {
        if on {
            xadd!(xl, "{sep}{word}");
            sep = ",";
        }
    }
    Ok(())
}
