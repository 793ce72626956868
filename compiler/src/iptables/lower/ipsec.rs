//! IPsec: `esp` and `ah` (the kernel's xt matches), `ipcomp`, `policy`.

use super::expr::{cmp, cmp_range, num, sel};
use super::rule::Mcx;
use super::{LResult, Unsupported};
use crate::iptables::matches::ipsec::{AhMatch, Esp, Ipcomp, SpiRange};
use crate::iptables::matches::policy::{IpsecMode, Policy, PolicyElem};
use crate::iptables::values::addr::AddrMask;
use crate::ir::{Stmt, StmtKind};
use nftvm_vm::expr::ipsecmatch::{AhMatch as XtAh, EspMatch, Spis};
use nftvm_vm::expr::policy::{Policy as XtPolicy, PolicyElem as XtPolicyElem, test_bits};
use nftvm_vm::expr::xt::XtMatch;
use std::net::IpAddr;

/// The SPI range as the kernel's matches keep it.
fn spis(s: &SpiRange) -> Spis {
    let clamp = |v: u64| v.min(u64::from(u32::MAX)) as u32;
    Spis { range: (clamp(s.range.lo), clamp(s.range.hi)), invert: s.invert }
}

/// `-m esp`: the kernel's match itself (see `nftvm_vm::expr::ipsecmatch`), as iptables-nft
/// loads it — it drops packets whose ESP header is cut short, which `esp spi` would only
/// not match.
pub fn esp(e: &Esp, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let m = EspMatch { spis: spis(&e.spi) };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Esp(m)))])
}

/// `-m ah`: the kernel's match itself (`ipt_ah`, `ip6t_ah`), as iptables-nft loads it — it
/// drops packets whose AH header (or, in IPv6, a header before it) is cut short.
pub fn ah(a: &AhMatch, _cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let m = XtAh { spis: spis(&a.ah.spi), len: a.ah.len.unwrap_or((0, false)), res: a.ah.res };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Ah(m)))])
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

/// `--dir in` without elements is nft's `meta secpath exists|missing`; anything else is the
/// kernel's xt match itself (see `nftvm_vm::expr::policy`), which keeps the elements.
pub fn policy(p: &Policy, cx: &Mcx<'_>) -> LResult<Vec<Stmt>> {
    let dir_in = p.dir_in == Some(true);
    if dir_in && p.elems.iter().all(|e| *e == PolicyElem::default()) && !p.strict {
        let left = sel("meta secpath", cx.fam)?;
        let right = num(&left, u128::from(!p.pol_none))?;
        return Ok(vec![cmp(left, false, right)]);
    }
    let elems = p.elems.iter().map(xt_elem).collect();
    let m = XtPolicy { dir_in, none: p.pol_none, strict: p.strict, elems };
    Ok(vec![Stmt::new(StmtKind::XtMatch(XtMatch::Policy(m)))])
}

/// One element as the kernel's match keeps it.
fn xt_elem(e: &PolicyElem) -> XtPolicyElem {
    let mut x = XtPolicyElem::default();
    let addr = |a: &AddrMask| (IpAddr::from(a.addr), IpAddr::from(a.mask));
    if let Some(a) = &e.tunnel_src {
        x.tests.make(test_bits::SADDR, a.invert);
        x.saddr = Some(addr(&a.value));
    }
    if let Some(a) = &e.tunnel_dst {
        x.tests.make(test_bits::DADDR, a.invert);
        x.daddr = Some(addr(&a.value));
    }
    if let Some(v) = &e.proto {
        x.tests.make(test_bits::PROTO, v.invert);
        x.proto = v.value;
    }
    if let Some(v) = &e.mode {
        x.tests.make(test_bits::MODE, v.invert);
        x.mode = u8::from(v.value == IpsecMode::Tunnel);
    }
    if let Some(v) = &e.spi {
        x.tests.make(test_bits::SPI, v.invert);
        x.spi = v.value;
    }
    if let Some(v) = &e.reqid {
        x.tests.make(test_bits::REQID, v.invert);
        x.reqid = v.value;
    }
    x
}
