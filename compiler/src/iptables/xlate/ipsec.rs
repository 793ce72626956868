//! IPsec: `esp`, `ah`, `ipcomp` and `policy` (libxt_esp, libipt_ah, libip6t_ah, libxt_ipcomp,
//! libxt_policy).

use super::buf::{Xl, xadd};
use super::portproto::range_text;
use super::{Cx, NoXlate, XResult};
use crate::iptables::Family;
use crate::iptables::matches::ipsec::{AhMatch, Esp, Ipcomp, SpiRange};
use crate::iptables::matches::policy::{Policy, PolicyElem};

/// Is this the match-everything SPI range (`0:4294967295`, not negated)?
fn skip(s: &SpiRange) -> bool {
    s.is_default()
}

pub fn esp(e: &Esp, cx: &Cx<'_>, xl: &mut Xl) -> XResult {
    if !skip(&e.spi) {
        xadd!(xl, "esp spi{}", if e.spi.invert { " !=" } else { "" });
        xadd!(xl, " {}", range_text(e.spi.range.lo, e.spi.range.hi));
    } else {
        xl.add(match cx.family {
            Family::Ipv4 => "meta l4proto esp",
            Family::Ipv6 => "exthdr esp exists",
        });
    }
    Ok(())
}

pub fn ah(a: &AhMatch, xl: &mut Xl) -> XResult {
    let ah = &a.ah;
    let spi = |xl: &mut Xl| {
        xadd!(xl, "ah spi{} ", if ah.spi.invert { " !=" } else { "" });
        xl.add(&range_text(ah.spi.range.lo, ah.spi.range.hi));
    };
    match a.family {
        Family::Ipv4 => {
            if !skip(&ah.spi) {
                spi(xl);
            } else {
                xl.add("meta l4proto ah");
            }
        }
        Family::Ipv6 => {
            let mut space = "";
            if !skip(&ah.spi) {
                spi(xl);
                space = " ";
            }
            if let Some((len, inv)) = ah.len
                && (len != 0 || inv)
            {
                xadd!(xl, "{space}ah hdrlength{} {len}", if inv { " !=" } else { "" });
                space = " ";
            }
            if ah.res {
                xadd!(xl, "{space}ah reserved 1");
                space = " ";
            }
            if space.is_empty() {
                xl.add("exthdr ah exists");
            }
        }
    }
    Ok(())
}

pub fn ipcomp(c: &Ipcomp, xl: &mut Xl) -> XResult {
    xadd!(xl, "comp cpi {}", if c.spi.invert { "!= " } else { "" });
    xl.add(&range_text(c.spi.range.lo, c.spi.range.hi));
    Ok(())
}

pub fn policy(p: &Policy, xl: &mut Xl) -> XResult {
    if p.dir_in != Some(true) {
        return Err(NoXlate::new("policy: only `--dir in' has an nft translation"));
    }
    if p.elems.len() > 1 || p.elems.iter().any(|e| *e != PolicyElem::default()) {
        return Err(NoXlate::new(
            "policy: policy elements (--reqid, --spi, --proto, --mode, --tunnel-*) have no nft translation",
        ));
    }
    xl.add("meta secpath ");
    xl.add(if p.pol_none { "missing" } else { "exists" });
    Ok(())
}
