//! IPsec: `esp`, `ah`, `ipcomp`, `policy`.

use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::ipsec::{AhMatch, Esp, Ipcomp, SpiRange};
use crate::iptables::matches::policy::{Policy, PolicyElem};
use crate::ir::Stmt;

fn spi(words: &str, s: &SpiRange, cx: &Mcx<'_>, out: &mut Vec<Stmt>) -> LResult<()> {
    if !s.is_default() {
        out.push(cmp_range(sel(words, cx.fam)?, s.invert, s.range.lo.into(), s.range.hi.into())?);
    }
    Ok(())
}

pub fn esp(e: &Esp, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    spi("esp spi", &e.spi, cx, &mut out)?;
    Ok(out)
}

pub fn ah(a: &AhMatch, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    spi("ah spi", &a.ah.spi, cx, &mut out)?;
    if let Some((len, inv)) = a.ah.len {
        // ip6t_ah compares the header length in bytes, (hdrlength + 2) * 4.
        if !len.is_multiple_of(4) || !(8..=1028).contains(&len) {
            // No AH header has that length.
            if !inv {
                out.push(super::expr::never(cx.fam)?);
            }
        } else {
            let left = sel("ah hdrlength", cx.fam)?;
            let right = num(&left, u128::from(len / 4 - 2))?;
            out.push(cmp(left, inv, right));
        }
    }
    if a.ah.res {
        let left = sel("ah reserved", cx.fam)?;
        let right = num(&left, 0)?;
        out.push(cmp(left, false, right));
    }
    Ok(out)
}

pub fn ipcomp(c: &Ipcomp, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let mut out = Vec::new();
    if !c.spi.is_default() {
        if c.spi.range.lo > 0xFFFF {
            return Err(Unsupported::new("ipcomp: a CPI above 65535 cannot occur"));
        }
        let hi = c.spi.range.hi.min(0xFFFF);
        out.push(cmp_range(sel("comp cpi", cx.fam)?, c.spi.invert, c.spi.range.lo.into(), hi.into())?);
    }
    Ok(out)
}

pub fn policy(p: &Policy, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    if p.dir_in != Some(true) || p.elems.iter().any(|e| *e != PolicyElem::default()) {
        return Err(Unsupported::new("policy: only `--dir in` with no policy elements can be expressed"));
    }
    let left = sel("meta secpath", cx.fam)?;
    let right = num(&left, u128::from(!p.pol_none))?;
    Ok(vec![cmp(left, false, right)])
}
